#include "app/bypass_report.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>

#include "app/usage_command.h"
#include "core/arn.h"
#include "core/error.h"
#include "core/time_format.h"
#include "govern/authorization.h"
#include "meter/price_book.h"

namespace tollgate::app {
namespace {

namespace json = boost::json;

std::string kind_of(const std::string& resource_arn) {
  auto arn = parse_arn(resource_arn);
  return arn && arn->resource_type == "inference-profile" ? "system-profile" : "foundation-model";
}

// "foundation-model/anthropic.claude-3-haiku-20240307-v1:0": the ARN's resource part, enough in a table.
std::string short_arn(const std::string& text) {
  auto arn = parse_arn(text);
  return arn ? arn->resource_type + "/" + arn->resource_id : text;
}

void add(BypassByPrincipal& row, const ledger::UsageRecord& r) {
  ++row.calls;
  row.input_tokens += r.tokens.input;
  row.output_tokens += r.tokens.output;
  row.cost_nano_usd += r.costs.total_nano_usd();
  auto it = std::find_if(row.resources.begin(), row.resources.end(),
                         [&](const BypassResource& res) { return res.arn == r.resource_arn; });
  if (it == row.resources.end()) {
    row.resources.push_back({r.resource_arn, kind_of(r.resource_arn), 1});
  } else {
    ++it->calls;
  }
}

json::object row_json(const BypassByPrincipal& row) {
  json::array resources;
  for (const auto& res : row.resources) {
    resources.push_back(json::object{{"resourceArn", res.arn}, {"kind", res.kind}, {"calls", res.calls}});
  }
  return json::object{{"principal", row.principal},       {"calls", row.calls},
                      {"inputTokens", row.input_tokens},  {"outputTokens", row.output_tokens},
                      {"costNanoUsd", row.cost_nano_usd}, {"costUsd", meter::format_usd(row.cost_nano_usd)},
                      {"resources", std::move(resources)}};
}

void print_table(const std::vector<BypassByPrincipal>& rows, const std::string& window, std::ostream& out) {
  out << "Usage that did not go through an application inference profile" << window << "\n";
  if (rows.empty()) {
    out << "none: every call named an application inference profile\n";
    return;
  }
  out << fmt::format("{:<48} {:>7} {:>10} {:>10} {:>14}  {}\n", "PRINCIPAL", "CALLS", "IN", "OUT", "COST USD",
                     "RESOURCES NAMED (CALLS)");
  int64_t calls = 0;
  for (const auto& row : rows) {
    std::string named;
    for (const auto& res : row.resources) {
      named += (named.empty() ? "" : ", ") + short_arn(res.arn) + " (" + std::to_string(res.calls) + ")";
    }
    out << fmt::format("{:<48} {:>7} {:>10} {:>10} {:>14}  {}\n", row.principal, row.calls, row.input_tokens,
                       row.output_tokens, meter::format_usd(row.cost_nano_usd), named);
    calls += row.calls;
  }
  out << calls << " call(s) by " << rows.size() << " principal(s)\n";
}

}  // namespace

std::vector<BypassByPrincipal> bypass_by_principal(const std::vector<ledger::UsageRecord>& records) {
  std::map<std::string, BypassByPrincipal> by_principal;
  for (const auto& r : records) {
    if (govern::is_application_profile_arn(r.resource_arn)) continue;
    BypassByPrincipal& row = by_principal[r.principal];
    row.principal = r.principal;
    add(row, r);
  }
  std::vector<BypassByPrincipal> rows;
  for (auto& [name, row] : by_principal) {
    std::stable_sort(row.resources.begin(), row.resources.end(),
                     [](const BypassResource& a, const BypassResource& b) { return a.calls > b.calls; });
    rows.push_back(std::move(row));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const BypassByPrincipal& a, const BypassByPrincipal& b) {
    if (a.cost_nano_usd != b.cost_nano_usd) return a.cost_nano_usd > b.cost_nano_usd;
    return a.calls > b.calls;
  });
  return rows;
}

int print_bypass_report(const BypassReportOptions& options, std::ostream& out, const Clock& clock) {
  check_table_or_json(options.format);
  ledger::UsageQuery query;
  if (options.since) query.since = parse_since(*options.since, clock.now());
  query.limit = std::numeric_limits<size_t>::max();
  auto ledger = open_ledger_for_reading(options.data_dir);
  auto records = ledger->query(query);
  if (!records.ok()) throw StartupError("cannot read the ledger: " + records.error().detail());
  std::vector<BypassByPrincipal> rows = bypass_by_principal(*records);

  if (options.format == "json") {
    json::array items;
    for (const auto& row : rows) items.push_back(row_json(row));
    json::object report{{"principals", std::move(items)}};
    if (query.since) report["since"] = format_iso8601(*query.since);
    out << json::serialize(report) << "\n";
  } else {
    print_table(rows, query.since ? " since " + format_iso8601(*query.since) : "", out);
  }
  return 0;
}

}  // namespace tollgate::app
