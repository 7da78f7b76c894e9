#include "app/usage_command.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <filesystem>

#include "core/time_format.h"
#include "ledger/sqlite/sqlite_ledger.h"
#include "meter/price_book.h"

namespace tollgate::app {
namespace {

namespace json = boost::json;

json::object record_json(const ledger::UsageRecord& r) {
  json::array tags;
  for (const auto& t : r.tags) tags.push_back(json::object{{"key", t.key}, {"value", t.value}});
  return json::object{
      {"requestId", r.request_id},
      {"startTime", format_iso8601(r.start_time)},
      {"endTime", format_iso8601(r.end_time)},
      {"accountId", r.account_id},
      {"principal", r.principal},
      {"operation", r.operation},
      {"resourceArn", r.resource_arn},
      {"profileArn", r.profile_arn},
      {"modelId", r.model_id},
      {"billingRegion", r.billing_region},
      {"servedRegion", r.served_region},
      {"inputTokens", r.tokens.input},
      {"outputTokens", r.tokens.output},
      {"cacheReadInputTokens", r.tokens.cache_read},
      {"cacheWriteInputTokens", r.tokens.cache_write},
      {"costNanoUsd", json::object{{"input", r.costs.input_nano_usd},
                                   {"output", r.costs.output_nano_usd},
                                   {"cacheRead", r.costs.cache_read_nano_usd},
                                   {"cacheWrite", r.costs.cache_write_nano_usd},
                                   {"total", r.costs.total_nano_usd()}}},
      {"costUsd", meter::format_usd(r.costs.total_nano_usd())},
      {"priceMissing", r.price_missing},
      {"tags", std::move(tags)},
      {"status", ledger::to_string(r.status)},
      {"latencyMs", r.latency_ms},
  };
}

std::string short_resource(const std::string& arn) {
  size_t slash = arn.rfind('/');
  return slash == std::string::npos ? arn : arn.substr(slash + 1);
}

void print_table(const std::vector<ledger::UsageRecord>& records, std::ostream& out) {
  out << fmt::format("{:<24} {:<29} {:<40} {:<42} {:>8} {:>8} {:>14} {:<16} {:>7}\n", "START (UTC)", "OPERATION",
                     "MODEL", "VIA", "IN", "OUT", "COST USD", "STATUS", "MS");
  for (const auto& r : records) {
    std::string via = r.profile_arn.empty() ? "(model)" : short_resource(r.profile_arn);
    std::string cost = meter::format_usd(r.costs.total_nano_usd()) + (r.price_missing ? "*" : "");
    out << fmt::format("{:<24} {:<29} {:<40} {:<42} {:>8} {:>8} {:>14} {:<16} {:>7}\n", format_iso8601(r.start_time),
                       r.operation, r.model_id, via, r.tokens.input, r.tokens.output, cost,
                       ledger::to_string(r.status), r.latency_ms);
  }
  if (std::any_of(records.begin(), records.end(), [](const auto& r) { return r.price_missing; })) {
    out << "* no price known for the model: recorded at $0\n";
  }
  out << records.size() << " record(s)\n";
}

}  // namespace

TimePoint parse_since(const std::string& text, TimePoint now) {
  auto fail = [&] {
    return StartupError("--since '" + text + "' is not a time: use 2026-11-22, 2026-11-22T10:00:00Z, or a duration "
                        "back from now such as 90m, 24h or 7d");
  };
  if (text.size() >= 2 && std::isdigit(static_cast<unsigned char>(text.front())) &&
      std::string_view("smhd").find(text.back()) != std::string_view::npos &&
      text.find_first_not_of("0123456789") == text.size() - 1) {
    int64_t n = std::stoll(text.substr(0, text.size() - 1));
    int64_t unit_seconds = text.back() == 's' ? 1 : text.back() == 'm' ? 60 : text.back() == 'h' ? 3600 : 86400;
    return now - std::chrono::seconds(n * unit_seconds);
  }
  std::string compact;
  for (char c : text) {
    if (c != '-' && c != ':') compact.push_back(c);
  }
  if (compact.size() == 8) compact += "T000000Z";
  auto parsed = parse_amz_date(compact);
  if (!parsed) throw fail();
  return *parsed;
}

std::unique_ptr<ledger::sqlite::SqliteLedger> open_ledger_for_reading(const std::string& data_dir) {
  std::filesystem::path path = std::filesystem::path(data_dir) / "ledger.db";
  if (!std::filesystem::exists(path)) {
    throw StartupError("no ledger at " + path.string() + ": run `tollgate serve --data " + data_dir +
                       "` first, or pass the data directory the gateway uses with --data");
  }
  ledger::sqlite::SqliteLedgerOptions options;
  options.path = path.string();
  options.read_only = true;  // no writer thread; safe beside a running gateway
  return std::make_unique<ledger::sqlite::SqliteLedger>(options);
}

void check_table_or_json(const std::string& format) {
  if (format != "table" && format != "json") throw StartupError("--format must be table or json, not '" + format + "'");
}

int list_usage(const UsageOptions& options, std::ostream& out, const Clock& clock) {
  check_table_or_json(options.format);
  auto ledger = open_ledger_for_reading(options.data_dir);
  ledger::UsageQuery query;
  if (options.since) query.since = parse_since(*options.since, clock.now());
  query.profile_arn = options.profile_arn;
  query.limit = options.limit;
  auto records = ledger->query(query);
  if (!records.ok()) throw StartupError("cannot read the ledger: " + records.error().detail());
  if (options.format == "json") {
    json::array items;
    for (const auto& r : *records) items.push_back(record_json(r));
    out << json::serialize(json::object{{"usageRecords", std::move(items)}}) << "\n";
  } else {
    print_table(*records, out);
  }
  return 0;
}

}  // namespace tollgate::app
