#include "app/costs_command.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

#include "api/ce/cost_explorer.h"
#include "app/usage_command.h"
#include "catalog/catalog.h"
#include "core/arn.h"
#include "core/time_format.h"
#include "costs/cost_allocation_tags.h"
#include "costs/credits.h"
#include "costs/export.h"
#include "costs/money.h"
#include "meter/price_book.h"
#include "store/sqlite/sqlite_profile_store.h"

namespace tollgate::app {
namespace {

namespace json = boost::json;
using std::chrono::days;

// "TAG:team" -> {"Type": "TAG", "Key": "team"}
json::object group_definition(const std::string& text, const std::string& option) {
  auto colon = text.find(':');
  std::string type = colon == std::string::npos ? "" : text.substr(0, colon);
  if (type != "TAG" && type != "DIMENSION") {
    throw StartupError(option + " '" + text +
                       "' must be TAG:<tag key> or DIMENSION:<name>, e.g. TAG:team or "
                       "DIMENSION:REGION");
  }
  return json::object{{"Type", type}, {"Key", text.substr(colon + 1)}};
}

// "TAG:team=growth,search" or "DIMENSION:REGION=us-east-1" or a JSON Expression.
json::object filter_expression(const std::string& text) {
  if (!text.empty() && text.front() == '{') {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) throw StartupError("--filter '" + text + "' is not a JSON object (an Expression)");
    return v.as_object();
  }
  auto colon = text.find(':');
  auto equals = text.find('=');
  std::string kind = colon == std::string::npos ? "" : text.substr(0, colon);
  if ((kind != "TAG" && kind != "DIMENSION") || equals == std::string::npos || equals < colon) {
    throw StartupError("--filter '" + text +
                       "' must be TAG:<key>=<value>[,<value>...], DIMENSION:<name>=<value>[,...] "
                       "or a Cost Explorer Expression in JSON");
  }
  json::array values;
  std::string list = text.substr(equals + 1);
  for (size_t i = 0; i <= list.size();) {
    size_t comma = std::min(list.find(',', i), list.size());
    values.emplace_back(list.substr(i, comma - i));
    i = comma + 1;
  }
  return json::object{
      {kind == "TAG" ? "Tags" : "Dimensions",
       json::object{{"Key", text.substr(colon + 1, equals - colon - 1)}, {"Values", std::move(values)}}}};
}

struct Reader {
  std::unique_ptr<ledger::sqlite::SqliteLedger> ledger;
  std::unique_ptr<costs::CostAllocationTags> tags;
  std::unique_ptr<costs::CreditStore> credits;
  catalog::Catalog catalog = catalog::Catalog::embedded();
};

Reader open_reader(const std::string& data_dir) {
  Reader r;
  r.ledger = open_ledger_for_reading(data_dir);
  const std::string billing = (std::filesystem::path(data_dir) / "billing.db").string();
  r.tags = costs::CostAllocationTags::open(billing, true);
  r.credits = costs::CreditStore::open(billing, true);
  return r;
}

// Every page of GetCostAndUsage(WithResources), merged into one answer.
json::object cost_and_usage(Reader& reader, const Clock& clock, json::object request, bool with_resources) {
  api::ce::CostExplorerOptions options;
  options.page_size = 100'000;
  api::ce::CostExplorer ce(*reader.ledger, *reader.tags, reader.catalog, clock, options, reader.credits.get());
  json::object merged;
  while (true) {
    auto page = ce.get_cost_and_usage(request, std::nullopt, with_resources);
    if (!page.ok()) throw StartupError(std::string(page.error().aws_name()) + ": " + page.error().message());
    if (merged.empty()) {
      merged = *page;
    } else {
      auto& results = merged["ResultsByTime"].as_array();
      for (auto& result : (*page)["ResultsByTime"].as_array()) {
        auto same = std::find_if(results.begin(), results.end(),
                                 [&](const json::value& r) { return r.at("TimePeriod") == result.at("TimePeriod"); });
        if (same == results.end()) {
          results.push_back(result);
        } else {
          for (auto& g : result.at("Groups").as_array()) same->as_object()["Groups"].as_array().push_back(g);
        }
      }
    }
    const json::value* token = page->if_contains("NextPageToken");
    if (!token) break;
    request["NextPageToken"] = *token;
  }
  merged.erase("NextPageToken");
  return merged;
}

// An answer's amount ("0.00003225", "-4.4" for credits) in nano-USD, exactly: the price book's parser of
// decimal USD texts, and the sign.
int64_t nano_of(const json::value& metrics, std::string_view metric) {
  std::string_view amount = metrics.at(metric).at("Amount").as_string();
  const bool negative = amount.starts_with('-');
  auto nano = meter::parse_usd_per_million(negative ? amount.substr(1) : amount);
  if (!nano.ok()) throw StartupError("unexpected amount in the answer: " + nano.error().message());
  return negative ? -*nano : *nano;
}

// A group key as a person reads it: "team$growth" -> "growth", "team$" -> "(untagged)"; the credits' empty
// IAM_PRINCIPAL -> "(credits: no principal)".
std::string readable_key(const json::value& definition, std::string_view key, bool csv) {
  if (definition.at("Type") != "TAG") {
    const bool credits = key.empty() && definition.at("Key") == "IAM_PRINCIPAL";
    return credits && !csv ? "(credits: no principal)" : std::string(key);
  }
  std::string value(key.substr(key.find('$') + 1));
  return value.empty() && !csv ? "(untagged)" : value;
}

// A CSV field, quoted when it must be (RFC 4180).
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

// The data directory's profile store, for profile names; null when it has none.
std::unique_ptr<store::ProfileStore> open_profiles(const std::string& data_dir) {
  auto path = std::filesystem::path(data_dir) / "tollgate.db";
  return std::filesystem::exists(path) ? store::sqlite::open_profile_store(path.string()) : nullptr;
}

// The name of the application profile `arn`; empty when the resource is not an application profile or the
// store no longer has it (a deleted profile keeps its usage).
std::string profile_name(store::ProfileStore* profiles, std::string_view arn) {
  auto parsed = parse_arn(arn);
  if (!profiles || !parsed || parsed->resource_type != "application-inference-profile") return "";
  auto found = profiles->find(store::ProfileKey{parsed->account, parsed->region, parsed->resource_id});
  return found.ok() && found->has_value() ? (*found)->name : "";
}

std::string period_label(const json::value& period) {
  std::string start(period.at("Start").as_string()), end(period.at("End").as_string());
  return start + " .. " + end;
}

}  // namespace

int print_costs(const CostsOptions& options, std::ostream& out, const Clock& clock) {
  if (options.format != "table" && options.format != "csv" && options.format != "json") {
    throw StartupError("--format must be table, csv or json, not '" + options.format + "'");
  }
  if (options.group_by.size() > 2) throw StartupError("at most two --group-by (Cost Explorer's limit)");
  const TimePoint now = clock.now();
  json::object request{
      {"TimePeriod", json::object{{"Start", options.from.empty() ? format_date(costs::month_start(now)) : options.from},
                                  {"End", options.to.empty() ? format_date(now + days(1)) : options.to}}},
      {"Granularity", options.granularity},
      {"Metrics", json::array{"UnblendedCost", "NetUnblendedCost", "UsageQuantity"}}};
  json::array group_by;
  for (const auto& g : options.group_by) group_by.push_back(group_definition(g, "--group-by"));
  if (!group_by.empty()) request["GroupBy"] = group_by;
  if (options.filters.size() == 1) {
    request["Filter"] = filter_expression(options.filters.front());
  } else if (options.filters.size() > 1) {
    json::array all;
    for (const auto& f : options.filters) all.push_back(filter_expression(f));
    request["Filter"] = json::object{{"And", std::move(all)}};
  }
  Reader reader = open_reader(options.data_dir);
  json::object answer = cost_and_usage(reader, clock, request, false);
  if (options.format == "json") {
    out << json::serialize(answer) << "\n";
    return 0;
  }
  const bool csv = options.format == "csv";
  std::vector<std::string> headers;
  for (const auto& g : group_by) headers.emplace_back(g.at("Key").as_string());
  // One row per period and group (or per period without grouping).
  struct Row {
    std::string start, end, label;
    std::vector<std::string> keys;
    int64_t gross, net;  // before and after credits
    int64_t tokens;
  };
  std::vector<Row> rows;
  int64_t total_gross = 0, total_net = 0, total_tokens = 0;
  bool estimated = false;
  for (const auto& result : answer.at("ResultsByTime").as_array()) {
    const auto& period = result.at("TimePeriod");
    estimated = estimated || result.at("Estimated").as_bool();
    auto add = [&](std::vector<std::string> keys, const json::value& metrics) {
      Row row{std::string(period.at("Start").as_string()),
              std::string(period.at("End").as_string()),
              period_label(period),
              std::move(keys),
              nano_of(metrics, "UnblendedCost"),
              nano_of(metrics, "NetUnblendedCost"),
              std::stoll(std::string(metrics.at("UsageQuantity").at("Amount").as_string()))};
      total_gross += row.gross;
      total_net += row.net;
      total_tokens += row.tokens;
      rows.push_back(std::move(row));
    };
    if (group_by.empty()) {
      add({}, result.at("Total"));
      continue;
    }
    for (const auto& group : result.at("Groups").as_array()) {
      std::vector<std::string> keys;
      const auto& group_keys = group.at("Keys").as_array();
      for (size_t i = 0; i < group_keys.size(); ++i) {
        keys.push_back(readable_key(group_by[i], group_keys[i].as_string(), csv));
      }
      add(std::move(keys), group.at("Metrics"));
    }
  }
  if (csv) {
    out << "period_start,period_end";
    for (const auto& h : headers) out << "," << h;
    out << ",gross_usd,credits_usd,net_usd,usage_quantity\n";
    for (const auto& r : rows) {
      out << r.start << "," << r.end;
      for (const auto& k : r.keys) out << "," << csv_field(k);
      out << "," << costs::format_usd(r.gross) << "," << costs::format_usd(r.net - r.gross) << ","
          << costs::format_usd(r.net) << "," << r.tokens << "\n";
    }
    return 0;
  }
  std::vector<size_t> widths;
  for (size_t i = 0; i < headers.size(); ++i) {
    size_t w = headers[i].size();
    for (const auto& r : rows) w = std::max(w, r.keys[i].size());
    widths.push_back(w);
  }
  out << fmt::format("{:<26}", "PERIOD (UTC)");
  for (size_t i = 0; i < headers.size(); ++i) out << fmt::format("{:<{}}  ", headers[i], widths[i]);
  out << fmt::format("{:>16} {:>16} {:>16} {:>14}\n", "GROSS (USD)", "CREDITS (USD)", "NET (USD)", "TOKENS");
  std::string last_period;
  for (const auto& r : rows) {
    out << fmt::format("{:<26}", r.label == last_period ? "" : r.label);
    last_period = r.label;
    for (size_t i = 0; i < r.keys.size(); ++i) out << fmt::format("{:<{}}  ", r.keys[i], widths[i]);
    out << fmt::format("{:>16} {:>16} {:>16} {:>14}\n", costs::format_usd(r.gross), costs::format_usd(r.net - r.gross),
                       costs::format_usd(r.net), r.tokens);
  }
  size_t pad = 26;
  for (size_t w : widths) pad += w + 2;
  out << fmt::format("{:<{}}{:>16} {:>16} {:>16} {:>14}\n", "TOTAL", pad, costs::format_usd(total_gross),
                     costs::format_usd(total_net - total_gross), costs::format_usd(total_net), total_tokens);
  if (estimated) out << "The last period has not ended: its amounts will still grow.\n";
  return 0;
}

int print_chargeback(const ChargebackOptions& options, std::ostream& out, const Clock& clock) {
  if (options.format != "table" && options.format != "csv" && options.format != "json") {
    throw StartupError("--format must be table, csv or json, not '" + options.format + "'");
  }
  const TimePoint start =
      options.month.empty() ? costs::month_start(clock.now()) : parse_month(options.month, "--month");
  const TimePoint end = costs::month_start(start, 1);
  json::object owner = group_definition(options.by, "--by");
  json::object request{
      {"TimePeriod", json::object{{"Start", format_date(start)}, {"End", format_date(end)}}},
      {"Granularity", "MONTHLY"},
      {"Metrics", json::array{"UnblendedCost", "UsageQuantity"}},
      {"Filter",
       json::object{{"Dimensions", json::object{{"Key", "SERVICE"}, {"Values", json::array{"Amazon Bedrock"}}}}}},
      {"GroupBy", json::array{owner, json::object{{"Type", "DIMENSION"}, {"Key", "RESOURCE_ID"}}}}};
  Reader reader = open_reader(options.data_dir);
  json::object answer = cost_and_usage(reader, clock, request, true);
  auto profiles = open_profiles(options.data_dir);

  struct Line {
    std::string resource;
    std::string name;  // the application profile's name, when the profile store still has it
    int64_t cost = 0, tokens = 0;
  };
  struct Owner {
    std::vector<Line> lines;
    int64_t cost = 0, tokens = 0;
  };
  std::map<std::string, Owner> owners;
  bool estimated = false;
  for (const auto& result : answer.at("ResultsByTime").as_array()) {
    estimated = estimated || result.at("Estimated").as_bool();
    for (const auto& group : result.at("Groups").as_array()) {
      const auto& keys = group.at("Keys").as_array();
      Owner& o = owners[readable_key(owner, keys[0].as_string(), true)];
      Line line{std::string(keys[1].as_string()), profile_name(profiles.get(), keys[1].as_string()),
                nano_of(group.at("Metrics"), "UnblendedCost"),
                std::stoll(std::string(group.at("Metrics").at("UsageQuantity").at("Amount").as_string()))};
      o.cost += line.cost;
      o.tokens += line.tokens;
      o.lines.push_back(std::move(line));
    }
  }
  // Owners by cost, largest first; the untagged remainder last.
  std::vector<std::pair<std::string, Owner*>> order;
  for (auto& [name, o] : owners) {
    std::sort(o.lines.begin(), o.lines.end(), [](const Line& a, const Line& b) { return a.cost > b.cost; });
    order.emplace_back(name, &o);
  }
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    if (a.first.empty() != b.first.empty()) return b.first.empty();
    return a.second->cost > b.second->cost;
  });
  const std::string key(owner.at("Key").as_string());
  const bool is_tag = owner.at("Type") == "TAG";
  const std::string untagged =
      is_tag ? "untagged (usage without an active '" + key + "' cost-allocation tag)" : "(no " + key + ")";
  int64_t total_cost = 0, total_tokens = 0;
  for (const auto& [name, o] : order) {
    total_cost += o->cost;
    total_tokens += o->tokens;
  }
  const std::string month_text = format_date(start).substr(0, 7);
  if (options.format == "json") {
    json::array list;
    for (const auto& [name, o] : order) {
      json::array resources;
      for (const auto& l : o->lines) {
        json::object resource{{"resource", l.resource}, {"costUsd", costs::format_usd(l.cost)}, {"tokens", l.tokens}};
        if (!l.name.empty()) resource["name"] = l.name;
        resources.push_back(std::move(resource));
      }
      list.push_back(json::object{{"owner", name},
                                  {"untagged", name.empty()},
                                  {"costUsd", costs::format_usd(o->cost)},
                                  {"tokens", o->tokens},
                                  {"resources", std::move(resources)}});
    }
    out << json::serialize(json::object{{"month", month_text},
                                        {"by", options.by},
                                        {"estimated", estimated},
                                        {"owners", std::move(list)},
                                        {"totalCostUsd", costs::format_usd(total_cost)},
                                        {"totalTokens", total_tokens}})
        << "\n";
    return 0;
  }
  if (options.format == "csv") {
    out << "month,owner,resource,name,cost_usd,tokens\n";
    for (const auto& [name, o] : order) {
      for (const auto& l : o->lines) {
        out << month_text << "," << csv_field(name) << "," << l.resource << "," << csv_field(l.name) << ","
            << costs::format_usd(l.cost) << "," << l.tokens << "\n";
      }
    }
    return 0;
  }
  out << "Chargeback for " << month_text << " by " << options.by << (estimated ? " (month to date)" : "") << "\n\n";
  for (const auto& [name, o] : order) {
    out << fmt::format("{:<92} {:>16} {:>14}\n", name.empty() ? untagged : key + " = " + name, "COST (USD)", "TOKENS");
    for (const auto& l : o->lines) {
      out << fmt::format("  {:<90} {:>16} {:>14}\n", l.name.empty() ? l.resource : l.name + "  " + l.resource,
                         costs::format_usd(l.cost), l.tokens);
    }
    out << fmt::format("  {:<90} {:>16} {:>14}\n\n", "subtotal", costs::format_usd(o->cost), o->tokens);
  }
  if (order.empty()) out << "No usage in " << month_text << ".\n\n";
  out << fmt::format("{:<92} {:>16} {:>14}\n", "TOTAL", costs::format_usd(total_cost), total_tokens);
  if (is_tag) {
    out << "\nA tag counts only where its key was an active cost-allocation tag when the usage happened\n"
           "(aws ce list-cost-allocation-tags / update-cost-allocation-tags-status; a backfill re-applies it).\n";
  }
  return 0;
}

TimePoint parse_month(const std::string& text, const std::string& option) {
  auto month = text.size() == 7 ? parse_date_or_date_time(text + "-01") : std::nullopt;
  if (!month) throw StartupError(option + " '" + text + "' must be YYYY-MM, e.g. 2026-11");
  return *month;
}

int run_export(const ExportOptions& options, std::ostream& out, std::ostream& progress, const Clock& clock) {
  costs::ExportRequest request;
  if (options.format == "cur") {
    request.format = costs::ExportFormat::Cur2;
  } else if (options.format == "focus") {
    request.format = costs::ExportFormat::Focus12;
  } else {
    throw StartupError("the export format must be cur (CUR 2.0) or focus (FOCUS 1.2), not '" + options.format + "'");
  }
  if (options.out_dir.empty()) throw StartupError("--out DIR is required: the directory to write the export into");
  request.month = options.month.empty() ? costs::month_start(clock.now()) : parse_month(options.month, "--month");
  request.directory = options.out_dir;
  Reader reader = open_reader(options.data_dir);
  auto timeline = reader.tags->timeline();
  if (!timeline.ok()) throw StartupError("cannot read the cost-allocation tags: " + timeline.error().message());
  costs::FactSource source(*reader.ledger, reader.catalog, std::move(timeline).value());
  auto grants = reader.credits->grants();
  if (!grants.ok()) throw StartupError("cannot read the credits: " + grants.error().message());
  source.set_credits(std::move(grants).value());
  const std::string month = format_date(request.month).substr(0, 7);
  size_t last_day = 0;
  request.progress = [&](const costs::ExportProgress& p) {
    size_t day = (p.hours_done + 23) / 24;
    if (day == last_day) return;
    last_day = day;
    progress << fmt::format("exporting {} {}: day {}/{} of the month, {} rows\n", options.format, month, day,
                            (p.hours_total + 23) / 24, p.rows)
             << std::flush;
  };
  auto result = costs::write_export(source, request, clock.now());
  if (!result.ok()) throw StartupError("export failed: " + result.error().message());
  out << fmt::format("wrote {} rows ({} USD of usage, {} USD of credits, {} tokens) for {} into {}\n", result->rows,
                     costs::format_usd(result->cost_nano_usd), costs::format_usd(result->credits_nano_usd),
                     result->usage_quantity, month, result->period_directory);
  for (const auto& f : result->files) out << "  " << f << "\n";
  out << "  " << result->manifest << "\n";
  return 0;
}

}  // namespace tollgate::app
