// Cost reports over a large ledger (bench/RESULTS.md, "Cost reports"): GetCostAndUsage for one month
// grouped by two tags, through the same code as the API (JSON in, JSON out), timed over several runs and
// checked against the ledger's records to the nano-dollar; side by side, the same sums computed by SQLite
// straight from the records. And `export`: a month's CUR 2.0 export, with the process's peak RSS.
//
//   tollgate generate-usage --data DIR --records 10000000 --from 2026-11-01 --to 2026-12-01 --activate team,cost-center
//   build/bench/cost_report_bench query DIR [runs]
//   build/bench/cost_report_bench export DIR OUT
#include <boost/json/value.hpp>
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <vector>

#include "api/ce/cost_explorer.h"
#include "costs/export.h"
#include "costs/money.h"
#include "ledger/sqlite/sqlite_ledger.h"
#include "store/sqlite/sqlite_database.h"

namespace {

using namespace tollgate;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kStart = "2026-11-01", kEnd = "2026-12-01";

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// A line of /proc/self/status, e.g. "RssAnon" (anonymous memory: the heap; the mapped database file is
// RssFile), in KiB.
long status_kib(std::string_view field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with(field) && line.size() > field.size() && line[field.size()] == ':') {
      return std::stol(line.substr(field.size() + 1));
    }
  }
  return -1;
}

int64_t nano_of(const json::value& metric) {
  std::string amount(metric.at("Amount").as_string());
  auto dot = amount.find('.');
  std::string fraction = dot == std::string::npos ? "" : amount.substr(dot + 1);
  fraction.resize(9, '0');
  return std::stoll(amount.substr(0, dot)) * 1'000'000'000 + std::stoll(fraction);
}

// The month's cost per (team, cost-center) straight from the records, by SQLite: the reference.
std::map<std::string, int64_t> sql_by_tag_set(const std::string& ledger_path, int64_t& total, int64_t& records) {
  store::sqlite::DatabaseOptions options;
  options.read_only = true;
  store::sqlite::Database db(ledger_path, options);
  auto guard = db.lock();
  auto stmt = db.prepare(
      "SELECT (SELECT text FROM ledger_strings WHERE id = tags_sid), COUNT(*), SUM(input_cost_nano_usd + "
      "output_cost_nano_usd + cache_read_cost_nano_usd + cache_write_cost_nano_usd) FROM usage_records "
      "WHERE start_time_ms >= ? AND start_time_ms < ? GROUP BY tags_sid");
  int64_t from = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::sys_days{std::chrono::year(2026) / 11 / 1}.time_since_epoch())
                     .count();
  stmt->bind(1, from).bind(2, from + int64_t{30} * 86'400'000);
  std::map<std::string, int64_t> out;
  total = records = 0;
  while (*stmt->step()) {
    out[stmt->text(0)] += stmt->integer(2);
    records += stmt->integer(1);
    total += stmt->integer(2);
  }
  return out;
}

// A data directory's ledger and cost-allocation tags, read-only, as `tollgate costs` opens them.
struct DataDir {
  explicit DataDir(const std::string& dir)
      : ledger_path((std::filesystem::path(dir) / "ledger.db").string()),
        ledger(ledger::sqlite::SqliteLedgerOptions{ledger_path, false, 1024, std::chrono::milliseconds(2), true}),
        tags(costs::CostAllocationTags::open((std::filesystem::path(dir) / "billing.db").string(), true)) {}
  std::string ledger_path;
  ledger::sqlite::SqliteLedger ledger;
  std::unique_ptr<costs::CostAllocationTags> tags;
  catalog::Catalog catalog = catalog::Catalog::embedded();
};

int query(const std::string& dir, int runs) {
  DataDir data(dir);
  SystemClock clock;
  api::ce::CostExplorer ce(data.ledger, *data.tags, data.catalog, clock, {100'000, 1 << 20});
  auto request = [](std::string_view granularity, bool grouped) {
    json::object r{{"TimePeriod", json::object{{"Start", kStart}, {"End", kEnd}}},
                   {"Granularity", granularity},
                   {"Metrics", json::array{"UnblendedCost", "UsageQuantity"}}};
    if (grouped) {
      r["GroupBy"] = json::array{json::object{{"Type", "TAG"}, {"Key", "team"}},
                                 json::object{{"Type", "TAG"}, {"Key", "cost-center"}}};
    }
    return r;
  };

  int64_t sql_total = 0, records = 0;
  auto sql_start = Clock::now();
  auto reference = sql_by_tag_set(data.ledger_path, sql_total, records);
  const double sql_ms = ms_since(sql_start);
  fmt::print("ledger: {} records in {} .. {}, {} USD; {} tag sets\n", records, kStart, kEnd,
             costs::format_usd(sql_total), reference.size());

  struct Case {
    std::string name;
    json::object request;
  };
  std::vector<Case> cases = {{"MONTHLY, grouped by TAG team + TAG cost-center", request("MONTHLY", true)},
                             {"DAILY, grouped by TAG team + TAG cost-center", request("DAILY", true)},
                             {"MONTHLY, total", request("MONTHLY", false)}};
  std::vector<double> first_case;
  for (const auto& c : cases) {
    std::vector<double> times;
    int64_t answered = 0;
    size_t groups = 0;
    for (int i = 0; i < runs; ++i) {
      auto t = Clock::now();
      auto answer = ce.get_cost_and_usage(c.request, std::nullopt);
      times.push_back(ms_since(t));
      if (!answer.ok()) {
        std::cerr << "GetCostAndUsage failed: " << answer.error().message() << "\n";
        return 1;
      }
      answered = 0;
      groups = 0;
      for (const auto& result : answer->at("ResultsByTime").as_array()) {
        if (c.request.contains("GroupBy")) {
          for (const auto& g : result.at("Groups").as_array()) {
            answered += nano_of(g.at("Metrics").at("UnblendedCost"));
            ++groups;
          }
        } else {
          answered += nano_of(result.at("Total").at("UnblendedCost"));
        }
      }
    }
    std::sort(times.begin(), times.end());
    if (first_case.empty()) first_case = times;
    fmt::print(
        "GetCostAndUsage {}: {} groups; min {:.1f} ms, median {:.1f} ms, max {:.1f} ms ({} runs); "
        "sum {} USD {}\n",
        c.name, groups, times.front(), times[times.size() / 2], times.back(), runs, costs::format_usd(answered),
        answered == sql_total ? "= the records' sum" : "!= THE RECORDS' SUM");
    if (answered != sql_total) return 1;
  }
  fmt::print("SQLite GROUP BY over the records (the same month, per tag set): {:.1f} ms\n", sql_ms);
  fmt::print("ratio: the records' GROUP BY takes {:.1f}x the median grouped GetCostAndUsage (measured in this run)\n",
             sql_ms / first_case[first_case.size() / 2]);
  fmt::print("peak RSS {} MiB\n", peak_rss_kib() / 1024);
  return 0;
}

int export_month(const std::string& dir, const std::string& out) {
  DataDir data(dir);
  auto timeline = data.tags->timeline();
  costs::FactSource source(data.ledger, data.catalog, std::move(timeline).value());
  const long rss_before = peak_rss_kib();
  for (auto format : {costs::ExportFormat::Cur2, costs::ExportFormat::Focus12}) {
    costs::ExportRequest request;
    request.format = format;
    request.month = std::chrono::sys_days{std::chrono::year(2026) / 11 / 1};
    request.directory = out;
    auto t = Clock::now();
    auto result = costs::write_export(source, request, std::chrono::system_clock::now());
    if (!result.ok()) {
      std::cerr << "export failed: " << result.error().message() << "\n";
      return 1;
    }
    uintmax_t bytes = 0;
    for (const auto& f : result->files) bytes += std::filesystem::file_size(f);
    fmt::print(
        "export {}: {} rows, {} USD, {} files, {:.1f} MiB gzip, {:.2f} s; peak RSS {} MiB (before: {} MiB); "
        "now RssAnon {} MiB, RssFile {} MiB (the memory-mapped database)\n",
        costs::to_string(format), result->rows, costs::format_usd(result->cost_nano_usd), result->files.size(),
        bytes / 1048576.0, ms_since(t) / 1000, peak_rss_kib() / 1024, rss_before / 1024, status_kib("RssAnon") / 1024,
        status_kib("RssFile") / 1024);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() >= 2 && args[0] == "query") return query(args[1], args.size() > 2 ? std::stoi(args[2]) : 7);
  if (args.size() == 3 && args[0] == "export") return export_month(args[1], args[2]);
  std::cerr << "usage: cost_report_bench query DATA_DIR [runs] | export DATA_DIR OUT_DIR\n";
  return 2;
}
