#include "api/ce/cost_explorer.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "api/ce/expression.h"
#include "api/json_body.h"
#include "core/base64.h"
#include "core/time_format.h"
#include "costs/cost_query.h"
#include "costs/facts.h"
#include "costs/forecast.h"
#include "costs/money.h"
#include "ledger/tag_set.h"

namespace tollgate::api::ce {
namespace {

namespace json = boost::json;
using costs::Dimension;
using costs::Expression;
using costs::GroupKey;
using std::chrono::days;
using std::chrono::hours;

// Results per request at most (AWS bounds hourly data to 14 days): a period of centuries by the hour would
// otherwise be millions of empty results.
constexpr int64_t kMaxPeriods = 10'000;

// The metrics of GetCostAndUsage. tollgate has no reservations, savings plans, discounts or blended rates,
// so every cost metric is the unblended cost.
constexpr std::array<std::string_view, 6> kMetrics = {"AmortizedCost",    "BlendedCost",   "NetAmortizedCost",
                                                      "NetUnblendedCost", "UnblendedCost", "UsageQuantity"};

Error invalid(std::string message) { return Error(ErrorCode::Validation, std::move(message)); }

template <size_t N>
std::string join(const std::array<std::string_view, N>& items) {
  std::string out;
  for (auto item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

const json::value* member(const json::object& obj, std::string_view field) {
  const auto* v = obj.if_contains(field);
  return (v && !v->is_null()) ? v : nullptr;
}

Result<const json::object*> optional_object(const json::object& obj, std::string_view field) {
  const auto* v = member(obj, field);
  if (!v) return static_cast<const json::object*>(nullptr);
  if (!v->is_object()) return invalid("The member '" + std::string(field) + "' must be an object.");
  return &v->as_object();
}

Result<const json::object*> required_object(const json::object& obj, std::string_view field) {
  auto o = optional_object(obj, field);
  TOLLGATE_TRY(o);
  if (!*o) {
    return invalid("1 validation error detected: Value null at '" + std::string(field) +
                   "' failed to satisfy constraint: Member must not be null");
  }
  return *o;
}

// ---- times ----

struct Period {
  TimePoint start, end;
  bool with_time;  // the request gave times, so the answer does too
};

Result<Period> parse_time_period(const json::object& request) {
  auto period = required_object(request, "TimePeriod");
  TOLLGATE_TRY(period);
  auto start_text = required_string(**period, "Start", "TimePeriod.Start");
  TOLLGATE_TRY(start_text);
  auto end_text = required_string(**period, "End", "TimePeriod.End");
  TOLLGATE_TRY(end_text);
  auto start = parse_date_or_date_time(*start_text);
  auto end = parse_date_or_date_time(*end_text);
  for (auto [parsed, text] : {std::pair{&start, &*start_text}, std::pair{&end, &*end_text}}) {
    if (!*parsed) {
      return invalid("Invalid date '" + *text +
                     "' in TimePeriod: use YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ for hours (years 1970 to 2200).");
    }
    if (std::chrono::floor<hours>(**parsed) != **parsed) {
      return invalid("TimePeriod times must be whole hours (minutes and seconds 00); got '" + *text + "'.");
    }
  }
  if (*start >= *end) return invalid("Start date (and hour) should be before end date (and hour)");
  return Period{*start, *end, start_text->size() > 10 || end_text->size() > 10};
}

Status check_period_count(const Period& period, costs::Granularity granularity) {
  const auto span = period.end - period.start;
  int64_t count = 0;
  switch (granularity) {
    case costs::Granularity::Hourly:
      count = std::chrono::ceil<hours>(span).count();
      break;
    case costs::Granularity::Daily:
      count = std::chrono::ceil<days>(span).count() + 1;
      break;
    case costs::Granularity::Monthly:
      count = std::chrono::ceil<days>(span).count() / 28 + 2;
      break;
  }
  if (count > kMaxPeriods) {
    return invalid("The TimePeriod holds more than " + std::to_string(kMaxPeriods) +
                   " periods at this Granularity: narrow the TimePeriod or use a coarser Granularity.");
  }
  return {};
}

Result<costs::Granularity> parse_granularity(const json::object& request, bool hourly_allowed = true) {
  auto text = required_string(request, "Granularity");
  TOLLGATE_TRY(text);
  if (*text == "DAILY") return costs::Granularity::Daily;
  if (*text == "MONTHLY") return costs::Granularity::Monthly;
  if (*text == "HOURLY") {
    if (!hourly_allowed) return invalid("GetCostForecast supports DAILY and MONTHLY granularity, not HOURLY.");
    return costs::Granularity::Hourly;
  }
  return enum_error(*text, "granularity", "DAILY, MONTHLY, HOURLY");
}

// ---- filter expressions and group-by ----

Result<std::optional<Expression>> parse_filter(const json::object& request, bool required, bool with_resources) {
  const json::value* filter = member(request, "Filter");
  if (!filter) {
    if (required) {
      return invalid(
          "1 validation error detected: Value null at 'filter' failed to satisfy constraint: Member "
          "must not be null");
    }
    return std::optional<Expression>();
  }
  auto e = parse_expression(*filter, "Filter", with_resources);
  TOLLGATE_TRY(e);
  return std::optional<Expression>(std::move(e).value());
}

Result<std::vector<GroupKey>> parse_group_by(const json::object& request, bool with_resources) {
  const json::value* v = member(request, "GroupBy");
  std::vector<GroupKey> out;
  if (!v) return out;
  if (!v->is_array()) return invalid("The member 'GroupBy' must be a list of GroupDefinitions.");
  if (v->as_array().size() > 2) return invalid("Only two values for GroupBy are allowed");
  for (const auto& item : v->as_array()) {
    if (!item.is_object()) return invalid("Each GroupBy entry must be an object with Type and Key.");
    auto type = optional_string(item.as_object(), "Type", "GroupBy.Type");
    TOLLGATE_TRY(type);
    auto key = optional_string(item.as_object(), "Key", "GroupBy.Key");
    TOLLGATE_TRY(key);
    if (!type->has_value() || !key->has_value() || (*type)->empty() || (*key)->empty()) {
      return invalid("Group Definition is invalid. Both type an key need to be set to a non-empty value.");
    }
    GroupKey group;
    if (**type == "TAG") {
      group.is_tag = true;
      group.tag_key = **key;
    } else if (**type == "DIMENSION") {
      auto dimension = costs::parse_dimension(**key);
      if (!dimension || (*dimension == Dimension::ResourceId && !with_resources) ||
          *dimension == Dimension::ServiceCode) {
        return invalid(
            "Group Definition dimension is invalid. Valid values are LINKED_ACCOUNT, OPERATION, "
            "RECORD_TYPE, REGION, SERVICE, USAGE_TYPE" +
            std::string(with_resources ? ", RESOURCE_ID" : "") +
            " (the ones tollgate's usage has) and tollgate's IAM_PRINCIPAL.");
      }
      group.dimension = *dimension;
    } else if (**type == "COST_CATEGORY") {
      return invalid("tollgate has no cost categories: group by DIMENSION or TAG instead of COST_CATEGORY.");
    } else {
      return invalid("Group Definition type is invalid.");
    }
    out.push_back(std::move(group));
  }
  return out;
}

Result<std::vector<std::string>> parse_metrics(const json::object& request) {
  auto metrics = optional_string_list(request, "Metrics", true);
  TOLLGATE_TRY(metrics);
  if (metrics->empty()) return invalid("Metrics must name at least one metric, e.g. [\"UnblendedCost\"].");
  std::vector<std::string> out;
  for (const auto& m : *metrics) {
    if (m == "NormalizedUsageAmount") {
      return invalid(
          "NormalizedUsageAmount applies to reservations, which tollgate does not have; use "
          "UsageQuantity for tokens.");
    }
    if (std::find(kMetrics.begin(), kMetrics.end(), m) == kMetrics.end()) {
      return invalid("Invalid metric '" + m + "': use one of " + join(kMetrics) + ".");
    }
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
  }
  return out;
}

Status refuse_billing_view(const json::object& request) {
  if (member(request, "BillingViewArn")) {
    return invalid("tollgate has one billing view, the ledger's: leave BillingViewArn out.");
  }
  return {};
}

json::object metrics_json(const std::vector<std::string>& metrics, const costs::Amounts& amounts) {
  json::object out;
  for (const auto& m : metrics) {
    if (m == "UsageQuantity") {
      out[m] = json::object{{"Amount", std::to_string(amounts.usage_quantity)}, {"Unit", "N/A"}};
    } else if (m == "NetUnblendedCost" || m == "NetAmortizedCost") {
      out[m] = json::object{{"Amount", costs::format_usd(amounts.net_cost_nano_usd)}, {"Unit", "USD"}};
    } else {
      out[m] = json::object{{"Amount", costs::format_usd(amounts.cost_nano_usd)}, {"Unit", "USD"}};
    }
  }
  return out;
}

// ---- page tokens: an offset bound to the request it continues ----

uint64_t fingerprint(const json::object& request, std::string_view token_field) {
  json::object copy = request;
  copy.erase(token_field);
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : json::serialize(copy)) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string make_token(size_t offset, uint64_t print) {
  return base64_encode(fmt::format("tollgate-page:{}:{:016x}", offset, print));
}

Result<size_t> page_offset(const json::object& request, std::string_view token_field) {
  auto token = optional_string(request, token_field);
  TOLLGATE_TRY(token);
  if (!token->has_value()) return size_t{0};
  auto bad =
      Error(ErrorCode::InvalidNextToken,
            "The " + std::string(token_field) +
                " is not one this request was given: pass the token of the previous page with the same request.");
  auto text = base64_decode(**token);
  if (!text) return bad;
  size_t offset = 0;
  unsigned long long print = 0;
  int used = 0;
  if (std::sscanf(text->c_str(), "tollgate-page:%zu:%16llx%n", &offset, &print, &used) != 2 ||
      static_cast<size_t>(used) != text->size() || print != fingerprint(request, token_field)) {
    return bad;
  }
  return offset;
}

Result<size_t> max_results(const json::object& request, std::string_view field, int64_t fallback, int64_t max) {
  auto value = optional_integer(request, field);
  TOLLGATE_TRY(value);
  if (!value->has_value()) return static_cast<size_t>(fallback);
  if (**value < 1 || **value > max) {
    return invalid(std::string(field) + " must be between 1 and " + std::to_string(max) + ".");
  }
  return static_cast<size_t>(**value);
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A list of values with their amounts, as GetDimensionValues and GetTags return them: SearchString,
// SortBy, then a page.
struct ValueList {
  std::vector<std::pair<std::string, costs::Amounts>> values;
  size_t total = 0;
  std::optional<std::string> next_token;
};

Result<ValueList> page_of_values(std::map<std::string, costs::Amounts> all, const json::object& request) {
  auto search = optional_string(request, "SearchString");
  TOLLGATE_TRY(search);
  std::vector<std::pair<std::string, costs::Amounts>> values;
  for (auto& [value, amounts] : all) {
    if (search->has_value() && lower(value).find(lower(**search)) == std::string::npos) continue;
    values.emplace_back(value, amounts);
  }
  if (const json::value* sort = member(request, "SortBy")) {
    if (!sort->is_array() || sort->as_array().size() > 1 ||
        (!sort->as_array().empty() && !sort->as_array()[0].is_object())) {
      return invalid("SortBy must be a list of one SortDefinition {Key, SortOrder}.");
    }
    if (!sort->as_array().empty()) {
      const auto& definition = sort->as_array()[0].as_object();
      auto key = required_string(definition, "Key", "SortBy.Key");
      TOLLGATE_TRY(key);
      auto order = optional_string(definition, "SortOrder", "SortBy.SortOrder");
      TOLLGATE_TRY(order);
      if (std::find(kMetrics.begin(), kMetrics.end(), *key) == kMetrics.end()) {
        return invalid("SortBy.Key must be one of " + join(kMetrics) + ".");
      }
      if (order->has_value() && **order != "ASCENDING" && **order != "DESCENDING") {
        return enum_error(**order, "sortBy.sortOrder", "ASCENDING, DESCENDING");
      }
      const bool descending = order->value_or("ASCENDING") == "DESCENDING";
      const bool by_usage = *key == "UsageQuantity";
      std::stable_sort(values.begin(), values.end(), [&](const auto& a, const auto& b) {
        int64_t x = by_usage ? a.second.usage_quantity : a.second.cost_nano_usd;
        int64_t y = by_usage ? b.second.usage_quantity : b.second.cost_nano_usd;
        return descending ? x > y : x < y;
      });
    }
  }
  auto offset = page_offset(request, "NextPageToken");
  TOLLGATE_TRY(offset);
  auto limit = max_results(request, "MaxResults", 1000, 10000);
  TOLLGATE_TRY(limit);
  ValueList out;
  out.total = values.size();
  size_t begin = std::min(*offset, values.size());
  size_t end = std::min(begin + *limit, values.size());
  out.values.assign(values.begin() + static_cast<std::ptrdiff_t>(begin),
                    values.begin() + static_cast<std::ptrdiff_t>(end));
  if (end < values.size()) out.next_token = make_token(end, fingerprint(request, "NextPageToken"));
  return out;
}

// Sums per value of one group key over [start, end).
Result<std::map<std::string, costs::Amounts>> totals_by(costs::FactSource& source, const Period& period,
                                                        const std::optional<std::string>& account,
                                                        std::optional<Expression> filter, GroupKey key) {
  TOLLGATE_TRY(check_period_count(period, costs::Granularity::Monthly));
  costs::CostQuery query;
  query.start = period.start;
  query.end = period.end;
  query.granularity = costs::Granularity::Monthly;
  query.filter = std::move(filter);
  query.group_by = {std::move(key)};
  query.account = account;
  auto periods = costs::run_cost_query(source, query);
  TOLLGATE_TRY(periods);
  std::map<std::string, costs::Amounts> out;
  for (const auto& p : *periods) {
    for (const auto& g : p.groups) out[g.keys.front()] += g.amounts;
  }
  return out;
}

std::optional<TimePoint> parse_zoned_date_time(std::string_view text) {
  if (text.size() == 20) return parse_date_or_date_time(text);
  if (text.size() != 25 || (text[19] != '+' && text[19] != '-')) return std::nullopt;
  auto local = parse_date_or_date_time(std::string(text.substr(0, 19)) + "Z");
  int oh = 0, om = 0;
  if (!local || std::sscanf(std::string(text.substr(20)).c_str(), "%2d:%2d", &oh, &om) != 2) return std::nullopt;
  auto offset = hours(oh) + std::chrono::minutes(om);
  return text[19] == '+' ? *local - offset : *local + offset;
}

}  // namespace

CostExplorer::CostExplorer(ledger::Ledger& ledger, costs::CostAllocationTags& tags, const catalog::Catalog& catalog,
                           const Clock& clock, CostExplorerOptions options, costs::CreditStore* credits)
    : ledger_(ledger), tags_(tags), catalog_(catalog), clock_(clock), options_(options), credits_(credits) {}

Result<std::unique_ptr<costs::FactSource>> CostExplorer::fact_source(bool with_credits) {
  auto timeline = tags_.timeline();
  TOLLGATE_TRY(timeline);
  auto source = std::make_unique<costs::FactSource>(ledger_, catalog_, std::move(timeline).value());
  if (with_credits && credits_) {
    auto grants = credits_->grants();
    TOLLGATE_TRY(grants);
    source->set_credits(std::move(grants).value());
  }
  return source;
}

Result<json::object> CostExplorer::get_cost_and_usage(const json::object& request,
                                                      const std::optional<std::string>& account, bool with_resources) {
  TOLLGATE_TRY(refuse_billing_view(request));
  auto period = parse_time_period(request);
  TOLLGATE_TRY(period);
  auto granularity = parse_granularity(request);
  TOLLGATE_TRY(granularity);
  TOLLGATE_TRY(check_period_count(*period, *granularity));
  auto filter = parse_filter(request, with_resources, with_resources);
  TOLLGATE_TRY(filter);
  auto group_by = parse_group_by(request, with_resources);
  TOLLGATE_TRY(group_by);
  auto metrics = parse_metrics(request);
  TOLLGATE_TRY(metrics);
  auto offset = page_offset(request, "NextPageToken");
  TOLLGATE_TRY(offset);

  auto source = fact_source(true);
  TOLLGATE_TRY(source);
  costs::CostQuery query{period->start, period->end, *granularity, std::move(filter).value(), *group_by, account};
  auto periods = costs::run_cost_query(**source, query);
  TOLLGATE_TRY(periods);

  const TimePoint now = clock_.now();
  const bool with_time = period->with_time || *granularity == costs::Granularity::Hourly;
  auto period_json = [&](const costs::CostPeriod& p) {
    json::object out;
    out["TimePeriod"] = json::object{{"Start", with_time ? format_date_time(p.start) : format_date(p.start)},
                                     {"End", with_time ? format_date_time(p.end) : format_date(p.end)}};
    out["Total"] = group_by->empty() ? metrics_json(*metrics, p.total) : json::object{};
    out["Groups"] = json::array{};
    out["Estimated"] = p.end > now;
    return out;
  };
  json::array results;
  std::optional<std::string> next_token;
  if (group_by->empty()) {
    for (const auto& p : *periods) results.push_back(period_json(p));
  } else {
    // Each period is as many items as it has groups (one if none); a page holds page_size items.
    size_t item = 0;
    const size_t begin = *offset, end = begin + std::min(options_.page_size, SIZE_MAX - begin);
    for (const auto& p : *periods) {
      const size_t items = std::max<size_t>(1, p.groups.size());
      if (item + items > begin && item < end) {
        json::object entry = period_json(p);
        json::array groups;
        for (size_t g = 0; g < p.groups.size(); ++g) {
          if (item + g < begin || item + g >= end) continue;
          json::array keys;
          for (const auto& k : p.groups[g].keys) keys.emplace_back(k);
          groups.push_back(
              json::object{{"Keys", std::move(keys)}, {"Metrics", metrics_json(*metrics, p.groups[g].amounts)}});
        }
        entry["Groups"] = std::move(groups);
        results.push_back(std::move(entry));
      }
      item += items;
    }
    if (item > end) next_token = make_token(end, fingerprint(request, "NextPageToken"));
  }
  json::object response;
  if (next_token) response["NextPageToken"] = *next_token;
  json::array definitions;
  for (const auto& g : *group_by) {
    definitions.push_back(json::object{{"Type", g.is_tag ? "TAG" : "DIMENSION"},
                                       {"Key", g.is_tag ? g.tag_key : std::string(costs::to_string(g.dimension))}});
  }
  response["GroupDefinitions"] = std::move(definitions);
  response["ResultsByTime"] = std::move(results);
  response["DimensionValueAttributes"] = json::array{};
  return response;
}

Result<json::object> CostExplorer::get_dimension_values(const json::object& request,
                                                        const std::optional<std::string>& account) {
  TOLLGATE_TRY(refuse_billing_view(request));
  auto period = parse_time_period(request);
  TOLLGATE_TRY(period);
  auto name = required_string(request, "Dimension");
  TOLLGATE_TRY(name);
  auto dimension = parse_dimension(*name, "dimension", true);
  TOLLGATE_TRY(dimension);
  auto context = optional_string(request, "Context");
  TOLLGATE_TRY(context);
  if (context->has_value() && **context != "COST_AND_USAGE") {
    if (**context == "RESERVATIONS" || **context == "SAVINGS_PLANS") {
      return invalid("tollgate has no reservations or savings plans: use Context COST_AND_USAGE.");
    }
    return enum_error(**context, "context", "COST_AND_USAGE, RESERVATIONS, SAVINGS_PLANS");
  }
  auto filter = parse_filter(request, false, true);
  TOLLGATE_TRY(filter);
  auto source = fact_source(true);
  TOLLGATE_TRY(source);
  auto totals = totals_by(**source, *period, account, std::move(filter).value(), GroupKey{false, *dimension, ""});
  TOLLGATE_TRY(totals);
  totals->erase("");  // no value is not a value (a credit's principal, say)
  auto page = page_of_values(std::move(totals).value(), request);
  TOLLGATE_TRY(page);
  json::array values;
  for (const auto& [value, amounts] : page->values) {
    values.push_back(json::object{{"Value", value}, {"Attributes", json::object{}}});
  }
  json::object response{
      {"DimensionValues", std::move(values)}, {"ReturnSize", page->values.size()}, {"TotalSize", page->total}};
  if (page->next_token) response["NextPageToken"] = *page->next_token;
  return response;
}

Result<json::object> CostExplorer::get_tags(const json::object& request, const std::optional<std::string>& account) {
  TOLLGATE_TRY(refuse_billing_view(request));
  auto period = parse_time_period(request);
  TOLLGATE_TRY(period);
  auto tag_key = optional_string(request, "TagKey");
  TOLLGATE_TRY(tag_key);
  auto filter = parse_filter(request, false, false);
  TOLLGATE_TRY(filter);
  auto timeline = tags_.timeline();
  TOLLGATE_TRY(timeline);
  costs::FactSource source(ledger_, catalog_, std::move(timeline).value());
  std::map<std::string, costs::Amounts> totals;
  if (tag_key->has_value()) {
    auto by_value = totals_by(source, *period, account, std::move(filter).value(), GroupKey{true, {}, **tag_key});
    TOLLGATE_TRY(by_value);
    for (auto& [key, amounts] : *by_value) {
      std::string value = key.substr(key.find('$') + 1);
      if (!value.empty()) totals[value] += amounts;  // usage without the key has no value to list
    }
  } else {
    TOLLGATE_TRY(source.scan(period->start, period->end, account, [&](const costs::Fact& fact) {
      if (*filter && !(*filter)->matches(fact)) return;
      for (const auto& tag : *fact.tags) totals[tag.key] += costs::Amounts{fact.cost_nano_usd, fact.tokens};
    }));
  }
  auto page = page_of_values(std::move(totals), request);
  TOLLGATE_TRY(page);
  json::array tags;
  for (const auto& [value, amounts] : page->values) tags.emplace_back(value);
  json::object response{{"Tags", std::move(tags)}, {"ReturnSize", page->values.size()}, {"TotalSize", page->total}};
  if (page->next_token) response["NextPageToken"] = *page->next_token;
  return response;
}

Result<json::object> CostExplorer::get_cost_forecast(const json::object& request,
                                                     const std::optional<std::string>& account) {
  TOLLGATE_TRY(refuse_billing_view(request));
  auto period = parse_time_period(request);
  if (!period.ok()) {
    // The forecast's own wording for an empty or reversed period.
    if (period.error().message().starts_with("Start date (and hour)")) {
      const auto& tp = request.at("TimePeriod").as_object();
      return invalid("Requested Start: " + std::string(tp.at("Start").as_string()) +
                     " must be before requested End: " + std::string(tp.at("End").as_string()));
    }
    return std::move(period).error();
  }
  auto granularity = parse_granularity(request, false);
  TOLLGATE_TRY(granularity);
  auto metric = required_string(request, "Metric");
  TOLLGATE_TRY(metric);
  static constexpr std::array<std::string_view, 7> kForecastMetrics = {
      "BLENDED_COST",       "UNBLENDED_COST", "AMORTIZED_COST",         "NET_UNBLENDED_COST",
      "NET_AMORTIZED_COST", "USAGE_QUANTITY", "NORMALIZED_USAGE_AMOUNT"};
  if (std::find(kForecastMetrics.begin(), kForecastMetrics.end(), *metric) == kForecastMetrics.end()) {
    return enum_error(*metric, "metric", join(kForecastMetrics));
  }
  if (*metric == "NORMALIZED_USAGE_AMOUNT") {
    return invalid("NORMALIZED_USAGE_AMOUNT applies to reservations, which tollgate does not have.");
  }
  const bool usage = *metric == "USAGE_QUANTITY";
  auto level = optional_integer(request, "PredictionIntervalLevel");
  TOLLGATE_TRY(level);
  const int64_t interval = level->value_or(80);
  if (interval < 51 || interval > 99) return invalid("PredictionIntervalLevel must be between 51 and 99.");
  auto filter = parse_filter(request, false, false);
  TOLLGATE_TRY(filter);

  const TimePoint today = std::chrono::floor<days>(clock_.now());
  if (period->start < today) {
    return invalid("The forecast's TimePeriod.Start must be today (" + format_date(today) +
                   ") or later; the past is in GetCostAndUsage.");
  }
  if (period->end > costs::month_start(today, 13)) {
    return invalid("A forecast reaches at most 12 months past the current month.");
  }
  // History: the last 90 days before today, from the first day with usage.
  const TimePoint history_start = today - days(90);
  std::vector<double> daily(90, 0.0);
  std::optional<size_t> first_day;
  auto timeline = tags_.timeline();
  TOLLGATE_TRY(timeline);
  costs::FactSource source(ledger_, catalog_, std::move(timeline).value());
  TOLLGATE_TRY(source.scan(history_start, today, account, [&](const costs::Fact& fact) {
    if (*filter && !(*filter)->matches(fact)) return;
    size_t day = static_cast<size_t>(std::chrono::floor<days>(fact.hour - history_start).count());
    daily[day] += usage ? static_cast<double>(fact.tokens) : static_cast<double>(fact.cost_nano_usd) / 1e9;
    if (fact.tokens > 0 || fact.cost_nano_usd > 0) first_day = std::min(first_day.value_or(day), day);
  }));
  std::vector<double> history(daily.begin() + static_cast<std::ptrdiff_t>(first_day.value_or(daily.size())),
                              daily.end());
  auto bounds = costs::period_boundaries(period->start, period->end, *granularity);
  std::vector<costs::ForecastPeriod> periods;
  for (size_t i = 0; i + 1 < bounds.size(); ++i) {
    auto first = static_cast<size_t>(std::chrono::floor<days>(bounds[i] - period->start).count());
    auto count = static_cast<size_t>(std::chrono::ceil<days>(bounds[i + 1] - bounds[i]).count());
    periods.push_back({first, count});
  }
  const auto offset = static_cast<size_t>(std::chrono::floor<days>(period->start - today).count());
  auto result = costs::forecast(history, offset, periods, static_cast<int>(interval));
  TOLLGATE_TRY(result);
  auto amount = [&](double v) { return usage ? fmt::format("{:.0f}", v) : fmt::format("{:.10f}", v); };
  json::array by_time;
  for (size_t i = 0; i < periods.size(); ++i) {
    const auto& f = result->periods[i];
    by_time.push_back(json::object{
        {"TimePeriod", json::object{{"Start", format_date(bounds[i])}, {"End", format_date(bounds[i + 1])}}},
        {"MeanValue", amount(f.mean)},
        {"PredictionIntervalLowerBound", amount(f.lower)},
        {"PredictionIntervalUpperBound", amount(f.upper)}});
  }
  return json::object{{"Total", json::object{{"Amount", amount(result->total.mean)}, {"Unit", usage ? "N/A" : "USD"}}},
                      {"ForecastResultsByTime", std::move(by_time)}};
}

Result<std::map<std::string, TimePoint>> CostExplorer::note_keys_from_usage() {
  auto uses = ledger_.tag_set_last_use();
  TOLLGATE_TRY(uses);
  std::map<std::string, TimePoint> last_used;
  for (const auto& use : *uses) {
    std::vector<Tag> tags;
    ledger::parse_tag_set(use.tag_set, tags);
    for (auto& tag : tags) {
      auto [it, inserted] = last_used.emplace(std::move(tag.key), use.last_hour);
      if (!inserted) it->second = std::max(it->second, use.last_hour);
    }
  }
  std::vector<std::string> keys;
  for (const auto& [key, hour] : last_used) keys.push_back(key);
  TOLLGATE_TRY(tags_.note_keys(keys, clock_.now()));
  return last_used;
}

Result<json::object> CostExplorer::list_cost_allocation_tags(const json::object& request) {
  auto status = optional_string(request, "Status");
  TOLLGATE_TRY(status);
  if (status->has_value() && **status != "Active" && **status != "Inactive") {
    return enum_error(**status, "status", "Active, Inactive");
  }
  auto type = optional_string(request, "Type");
  TOLLGATE_TRY(type);
  if (type->has_value() && **type != "AWSGenerated" && **type != "UserDefined") {
    return enum_error(**type, "type", "AWSGenerated, UserDefined");
  }
  auto wanted = optional_string_list(request, "TagKeys", false);
  TOLLGATE_TRY(wanted);
  if (member(request, "TagKeys") && (wanted->empty() || wanted->size() > 100)) {
    return invalid("TagKeys must hold 1 to 100 keys.");
  }
  auto limit = max_results(request, "MaxResults", 100, 1000);
  TOLLGATE_TRY(limit);
  auto after = optional_string(request, "NextToken");
  TOLLGATE_TRY(after);
  std::optional<std::string> after_key;
  if (after->has_value()) {
    after_key = base64_decode(**after);
    if (!after_key || !after_key->starts_with("key:")) {
      return Error(ErrorCode::InvalidNextToken, "The NextToken is not one ListCostAllocationTags gave.");
    }
    after_key = after_key->substr(4);
  }

  auto last_used = note_keys_from_usage();
  TOLLGATE_TRY(last_used);
  auto keys = tags_.keys();
  TOLLGATE_TRY(keys);
  json::array out;
  std::optional<std::string> next;
  for (const auto& key : *keys) {
    if (type->has_value() && **type != "UserDefined") break;  // every tollgate key is user-defined
    if (status->has_value() && (**status == "Active") != key.active) continue;
    if (!wanted->empty() && std::find(wanted->begin(), wanted->end(), key.key) == wanted->end()) continue;
    if (after_key && key.key <= *after_key) continue;
    if (out.size() == *limit) {
      next = base64_encode("key:" + std::string(out.back().as_object().at("TagKey").as_string()));
      break;
    }
    json::object entry{{"TagKey", key.key}, {"Type", "UserDefined"}, {"Status", key.active ? "Active" : "Inactive"}};
    if (key.last_updated) entry["LastUpdatedDate"] = format_date_time(*key.last_updated);
    if (auto used = last_used->find(key.key); used != last_used->end()) {
      entry["LastUsedDate"] = format_date_time(used->second);
    }
    out.push_back(std::move(entry));
  }
  json::object response{{"CostAllocationTags", std::move(out)}};
  if (next) response["NextToken"] = *next;
  return response;
}

Result<json::object> CostExplorer::update_cost_allocation_tags_status(const json::object& request) {
  const json::value* list = member(request, "CostAllocationTagsStatus");
  if (!list) {
    return invalid(
        "1 validation error detected: Value null at 'costAllocationTagsStatus' failed to satisfy "
        "constraint: Member must not be null");
  }
  if (!list->is_array()) return invalid("CostAllocationTagsStatus must be a list of {TagKey, Status}.");
  std::vector<costs::StatusUpdate> updates;
  for (const auto& item : list->as_array()) {
    if (!item.is_object()) return invalid("Each CostAllocationTagsStatus entry must be an object {TagKey, Status}.");
    auto key = required_string(item.as_object(), "TagKey", "CostAllocationTagsStatus.TagKey");
    TOLLGATE_TRY(key);
    auto status = required_string(item.as_object(), "Status", "CostAllocationTagsStatus.Status");
    TOLLGATE_TRY(status);
    if (*status != "Active" && *status != "Inactive") {
      return enum_error(*status, "costAllocationTagsStatus.status", "Active, Inactive");
    }
    if (key->empty() || key->size() > 1024) return invalid("A TagKey must be 1 to 1024 characters.");
    updates.push_back({std::move(key).value(), *status == "Active"});
  }
  TOLLGATE_TRY(note_keys_from_usage());
  auto errors = tags_.update(updates, clock_.now());
  TOLLGATE_TRY(errors);
  json::array out;
  for (const auto& e : *errors)
    out.push_back(json::object{{"TagKey", e.key}, {"Code", e.code}, {"Message", e.message}});
  return json::object{{"Errors", std::move(out)}};
}

namespace {

json::object backfill_json(const costs::BackfillRequest& r) {
  json::object out{{"BackfillFrom", format_date_time(r.backfill_from)},
                   {"RequestedAt", format_date_time(r.requested_at)},
                   {"BackfillStatus", r.status},
                   {"LastUpdatedAt", format_date_time(r.last_updated_at)}};
  if (r.completed_at) out["CompletedAt"] = format_date_time(*r.completed_at);
  return out;
}

}  // namespace

Result<json::object> CostExplorer::start_cost_allocation_tag_backfill(const json::object& request) {
  auto from_text = required_string(request, "BackfillFrom");
  TOLLGATE_TRY(from_text);
  auto from = parse_zoned_date_time(*from_text);
  if (!from) {
    return invalid("BackfillFrom '" + *from_text + "' is not a date-time such as 2026-06-01T00:00:00Z.");
  }
  auto result = tags_.start_backfill(*from, clock_.now());
  TOLLGATE_TRY(result);
  return json::object{{"BackfillRequest", backfill_json(*result)}};
}

Result<json::object> CostExplorer::list_cost_allocation_tag_backfill_history(const json::object& request) {
  auto limit = max_results(request, "MaxResults", 100, 1000);
  TOLLGATE_TRY(limit);
  auto offset = page_offset(request, "NextToken");
  TOLLGATE_TRY(offset);
  auto history = tags_.backfills();
  TOLLGATE_TRY(history);
  json::array out;
  for (size_t i = *offset; i < history->size() && out.size() < *limit; ++i) out.push_back(backfill_json((*history)[i]));
  json::object response{{"BackfillRequests", std::move(out)}};
  if (*offset < history->size() && history->size() - *offset > *limit) {
    response["NextToken"] = make_token(*offset + *limit, fingerprint(request, "NextToken"));
  }
  return response;
}

void CostExplorer::register_operations(Gateway& gateway) {
  using Method = Result<json::object> (CostExplorer::*)(const json::object&, const std::optional<std::string>&);
  using Global = Result<json::object> (CostExplorer::*)(const json::object&);
  auto answer = [](Result<json::object> response) -> Result<http::Response> {
    TOLLGATE_TRY(response);
    return Gateway::json_response(200, json::serialize(*response), Protocol::AwsJson11);
  };
  auto add = [&](std::string name, OperationHandler handler) {
    gateway.add_json("AWSInsightsIndexService." + name,
                     Operation{name, Protocol::AwsJson11, "ce", false, options_.body_limit, std::move(handler)});
  };
  auto per_account = [&](std::string name, Method method) {
    add(name, [this, method, answer](const Call& call) -> Result<http::Response> {
      auto body = parse_json_object(call.request.body);
      TOLLGATE_TRY(body);
      return answer((this->*method)(*body, call.auth.principal.account_id));
    });
  };
  auto global = [&](std::string name, Global method) {
    add(name, [this, method, answer](const Call& call) -> Result<http::Response> {
      auto body = parse_json_object(call.request.body);
      TOLLGATE_TRY(body);
      return answer((this->*method)(*body));
    });
  };
  add("GetCostAndUsage", [this, answer](const Call& call) -> Result<http::Response> {
    auto body = parse_json_object(call.request.body);
    TOLLGATE_TRY(body);
    return answer(get_cost_and_usage(*body, call.auth.principal.account_id, false));
  });
  add("GetCostAndUsageWithResources", [this, answer](const Call& call) -> Result<http::Response> {
    auto body = parse_json_object(call.request.body);
    TOLLGATE_TRY(body);
    return answer(get_cost_and_usage(*body, call.auth.principal.account_id, true));
  });
  per_account("GetDimensionValues", &CostExplorer::get_dimension_values);
  per_account("GetTags", &CostExplorer::get_tags);
  per_account("GetCostForecast", &CostExplorer::get_cost_forecast);
  global("ListCostAllocationTags", &CostExplorer::list_cost_allocation_tags);
  global("UpdateCostAllocationTagsStatus", &CostExplorer::update_cost_allocation_tags_status);
  global("StartCostAllocationTagBackfill", &CostExplorer::start_cost_allocation_tag_backfill);
  global("ListCostAllocationTagBackfillHistory", &CostExplorer::list_cost_allocation_tag_backfill_history);
}

}  // namespace tollgate::api::ce
