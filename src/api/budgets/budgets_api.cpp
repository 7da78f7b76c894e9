#include "api/budgets/budgets_api.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "api/ce/expression.h"
#include "api/json_body.h"
#include "budgets/budget_period.h"
#include "core/base64.h"
#include "core/time_format.h"
#include "costs/cost_query.h"
#include "costs/facts.h"
#include "costs/forecast.h"
#include "costs/money.h"

namespace tollgate::api::budgets {
namespace {

namespace json = boost::json;
using std::chrono::days;
using tollgate::budgets::StoredBudget;

constexpr size_t kMaxNotifications = 10;
constexpr size_t kMaxSubscribers = 11;
constexpr size_t kMaxResourceTags = 200;
constexpr double kMaxThreshold = 15'000'000'000'000.0;  // the model's bound
// AWS's default end of a budget without one: 2087-06-15T00:00:00Z.
constexpr int64_t kDefaultEndSeconds = 3'706'473'600;

Error invalid(std::string message) { return Error(ErrorCode::InvalidParameter, std::move(message)); }

// Budgets answers bad input with InvalidParameterException where Cost Explorer says ValidationException.
template <typename T>
Result<T> as_parameter_error(Result<T> result) {
  if (!result.ok() && result.error().code() == ErrorCode::Validation) return invalid(result.error().message());
  return result;
}

const json::value* member(const json::object& obj, std::string_view field) {
  const auto* v = obj.if_contains(field);
  return (v && !v->is_null()) ? v : nullptr;
}

Result<const json::object*> required_object(const json::object& obj, std::string_view field) {
  const json::value* v = member(obj, field);
  if (!v) return invalid("The request needs " + std::string(field) + ".");
  if (!v->is_object()) return invalid(std::string(field) + " must be an object.");
  return &v->as_object();
}

Result<std::string> required_text(const json::object& obj, std::string_view field) {
  return as_parameter_error(required_string(obj, field));
}

Result<std::string> enum_value(const json::object& obj, std::string_view field,
                               std::initializer_list<std::string_view> allowed, std::optional<std::string> fallback) {
  auto text = as_parameter_error(optional_string(obj, field));
  TOLLGATE_TRY(text);
  if (!text->has_value()) {
    if (fallback) return *fallback;
    return invalid("The request needs " + std::string(field) + ".");
  }
  std::string list;
  for (auto a : allowed) {
    if (**text == a) return std::move(**text);
    list += (list.empty() ? "" : ", ") + std::string(a);
  }
  return invalid(std::string(field) + " '" + **text + "' is not one of " + list + ".");
}

// A timestamp of the json protocol: epoch seconds (boto3, the JS SDK), or an ISO 8601 text.
Result<TimePoint> timestamp(const json::value& v, std::string_view field) {
  if (v.is_number()) {
    double seconds = v.to_number<double>();
    if (!std::isfinite(seconds) || seconds < 0 || seconds > 7'258'118'400.0) {  // up to 2200-01-01
      return invalid(std::string(field) + " is out of range.");
    }
    return TimePoint(std::chrono::seconds(static_cast<int64_t>(seconds)));
  }
  if (v.is_string()) {
    std::string text(v.as_string());
    if (text.size() == 20 || text.size() == 10) {
      if (auto t = parse_date_or_date_time(text)) return *t;
    }
  }
  return invalid(std::string(field) + " must be a timestamp (epoch seconds or YYYY-MM-DDTHH:MM:SSZ).");
}

double epoch_seconds(TimePoint t) {
  return static_cast<double>(std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count());
}

// ---- a budget's definition ----

// "12.5" -> 12,500,000,000 nano-USD; the model's NumericValue pattern ([0-9]*\.)?[0-9]+.
Result<int64_t> spend_amount(const json::object& spend, std::string_view field) {
  auto amount = required_text(spend, "Amount");
  TOLLGATE_TRY(amount);
  auto unit = required_text(spend, "Unit");
  TOLLGATE_TRY(unit);
  if (*unit != "USD") return invalid(std::string(field) + ".Unit must be USD for a COST budget.");
  const std::string& a = *amount;
  size_t dot = a.find('.');
  std::string whole = a.substr(0, dot), fraction = dot == std::string::npos ? "" : a.substr(dot + 1);
  auto digits = [](const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (a.empty() || !digits(whole) || !digits(fraction) || (dot != std::string::npos && fraction.empty()) ||
      whole.size() > 9 || fraction.size() > 9) {
    return invalid(std::string(field) + ".Amount '" + a +
                   "' must be a decimal number such as 100 or 12.50 (below "
                   "one billion, at most 9 decimals).");
  }
  fraction.resize(9, '0');
  return (whole.empty() ? 0 : std::stoll(whole)) * 1'000'000'000 + std::stoll(fraction);
}

// CostFilters (the legacy map) as an Expression: every key must hold, any of a key's values.
Result<std::optional<costs::Expression>> cost_filters_expression(const json::object& filters) {
  static const std::map<std::string, std::string, std::less<>> kKeys = {
      {"Service", "SERVICE"},       {"Region", "REGION"},
      {"UsageType", "USAGE_TYPE"},  {"LinkedAccount", "LINKED_ACCOUNT"},
      {"Operation", "OPERATION"},   {"RecordType", "RECORD_TYPE"},
      {"ResourceId", "RESOURCE_ID"}};
  costs::Expression all;
  all.kind = costs::Expression::Kind::And;
  for (const auto& [key, value] : filters) {
    if (!value.is_array() || value.as_array().empty()) {
      return invalid("CostFilters." + std::string(key) + " must be a non-empty list of values.");
    }
    std::vector<std::string> values;
    for (const auto& v : value.as_array()) {
      if (!v.is_string()) return invalid("CostFilters." + std::string(key) + " must be a list of strings.");
      values.emplace_back(v.as_string());
    }
    if (key == "TagKeyValue") {
      // "user:team$growth" (the user: prefix optional); values of one key OR together, keys AND.
      std::map<std::string, std::vector<std::string>> by_key;
      for (const auto& v : values) {
        std::string_view text = v;
        if (text.starts_with("user:")) text.remove_prefix(5);
        size_t dollar = text.find('$');
        if (dollar == std::string_view::npos || dollar == 0) {
          return invalid("CostFilters.TagKeyValue '" + v + "' must read user:<key>$<value>, e.g. user:team$growth.");
        }
        by_key[std::string(text.substr(0, dollar))].emplace_back(text.substr(dollar + 1));
      }
      for (auto& [tag_key, tag_values] : by_key) {
        costs::Expression tag;
        tag.kind = costs::Expression::Kind::Tag;
        tag.tag_key = tag_key;
        tag.match.values = std::move(tag_values);
        all.operands.push_back(std::move(tag));
      }
      continue;
    }
    auto dimension = kKeys.find(std::string_view(key));
    if (dimension == kKeys.end()) {
      std::string known;
      for (const auto& [k, d] : kKeys) known += (known.empty() ? "" : ", ") + k;
      return invalid("CostFilters key '" + std::string(key) + "' does not apply to tollgate's Bedrock usage; use " +
                     known + " or TagKeyValue.");
    }
    costs::Expression d;
    d.kind = costs::Expression::Kind::Dimension;
    d.dimension = *costs::parse_dimension(dimension->second);
    d.match.values = std::move(values);
    all.operands.push_back(std::move(d));
  }
  if (all.operands.empty()) return std::optional<costs::Expression>();
  if (all.operands.size() == 1) return std::optional<costs::Expression>(std::move(all.operands.front()));
  return std::optional<costs::Expression>(std::move(all));
}

Result<std::optional<costs::Expression>> budget_filter(const json::object& budget) {
  const json::value* filters = member(budget, "CostFilters");
  const json::value* expression = member(budget, "FilterExpression");
  if (filters && expression) return invalid("Give CostFilters or FilterExpression, not both.");
  if (expression) {
    auto e = as_parameter_error(ce::parse_expression(*expression, "FilterExpression", true));
    TOLLGATE_TRY(e);
    return std::optional<costs::Expression>(std::move(e).value());
  }
  if (filters) {
    if (!filters->is_object()) return invalid("CostFilters must be a map of filter names to lists of values.");
    return cost_filters_expression(filters->as_object());
  }
  return std::optional<costs::Expression>();
}

// PlannedBudgetLimits: MONTHLY or QUARTERLY budgets; keys are period starts (epoch seconds), from the current
// period (or a later one) on, at most 12 months or 4 quarters; values are Spend.
Status check_planned_limits(const json::value& value, const std::string& unit, TimePoint now) {
  if (unit != "MONTHLY" && unit != "QUARTERLY") {
    return invalid("PlannedBudgetLimits is for MONTHLY and QUARTERLY budgets, not " + unit + ".");
  }
  const size_t most = unit == "MONTHLY" ? 12 : 4;
  if (!value.is_object() || value.as_object().empty() || value.as_object().size() > most) {
    return invalid("PlannedBudgetLimits maps each period's start (epoch seconds) to its limit, with 1 to " +
                   std::to_string(most) + " entries for a " + unit + " budget.");
  }
  const TimePoint current = costs::month_start(now);
  for (const auto& [key, spend] : value.as_object()) {
    const std::string k(key);
    const bool numeric = !k.empty() && k.size() <= 12 && std::all_of(k.begin(), k.end(), ::isdigit);
    const TimePoint start = numeric ? TimePoint(std::chrono::seconds(std::stoll(k))) : TimePoint{};
    const std::chrono::year_month_day date{std::chrono::floor<days>(start)};
    const bool quarter_start = (static_cast<unsigned>(date.month()) - 1) % 3 == 0;
    if (!numeric || costs::month_start(start) != start || (unit == "QUARTERLY" && !quarter_start)) {
      return invalid("PlannedBudgetLimits key '" + k + "' must be the start of a " +
                     (unit == "MONTHLY" ? "month" : "calendar quarter") + ", UTC, in epoch seconds (e.g. " +
                     std::to_string(std::chrono::floor<std::chrono::seconds>(current.time_since_epoch()).count()) +
                     ").");
    }
    if (start < costs::month_start(current, unit == "QUARTERLY" ? -2 : 0)) {
      return invalid("PlannedBudgetLimits starts from the current period; " + format_date_time(start) +
                     " is in the past.");
    }
    if (!spend.is_object()) return invalid("Each PlannedBudgetLimits value is a Spend {Amount, Unit}.");
    TOLLGATE_TRY(spend_amount(spend.as_object(), "PlannedBudgetLimits[" + k + "]"));
  }
  return {};
}

// The budget's limits (PlannedBudgetLimits or BudgetLimit; checked when stored).
tollgate::budgets::BudgetLimits limits_of(const json::object& budget) {
  tollgate::budgets::BudgetLimits limits;
  if (const json::value* planned = budget.if_contains("PlannedBudgetLimits")) {
    for (const auto& [key, spend] : planned->as_object()) {
      limits.planned_nano_usd[TimePoint(std::chrono::seconds(std::stoll(std::string(key))))] =
          *spend_amount(spend.as_object(), "PlannedBudgetLimits");
    }
  } else {
    limits.fixed_nano_usd = *spend_amount(budget.at("BudgetLimit").as_object(), "BudgetLimit");
  }
  return limits;
}

json::object usd_spend(int64_t nano_usd) {
  return json::object{{"Amount", costs::format_usd(nano_usd)}, {"Unit", "USD"}};
}

// The budget of a request, checked and normalised: what is stored (no CalculatedSpend, LastUpdatedTime or
// HealthStatus: those are computed when the budget is described).
Result<json::object> checked_budget(const json::value& value, TimePoint now) {
  if (!value.is_object()) return invalid("Budget must be an object.");
  json::object budget = value.as_object();
  auto name = required_text(budget, "BudgetName");
  TOLLGATE_TRY(name);
  if (name->empty() || name->size() > 100 || name->find_first_of(":\\") != std::string::npos) {
    return invalid("BudgetName must be 1 to 100 characters without ':' or '\\'.");
  }
  auto type = enum_value(
      budget, "BudgetType",
      {"USAGE", "COST", "RI_UTILIZATION", "RI_COVERAGE", "SAVINGS_PLANS_UTILIZATION", "SAVINGS_PLANS_COVERAGE"},
      std::nullopt);
  TOLLGATE_TRY(type);
  if (*type != "COST") return invalid("tollgate keeps COST budgets; BudgetType " + *type + " is not supported.");
  auto unit = enum_value(budget, "TimeUnit", {"DAILY", "MONTHLY", "QUARTERLY", "ANNUALLY", "CUSTOM"}, std::nullopt);
  TOLLGATE_TRY(unit);
  for (std::string_view unsupported : {"AutoAdjustData", "BillingViewArn"}) {
    if (member(budget, unsupported)) {
      return invalid(std::string(unsupported) +
                     " is not supported by tollgate; give a BudgetLimit or PlannedBudgetLimits.");
    }
  }
  if (const json::value* planned = member(budget, "PlannedBudgetLimits")) {
    if (member(budget, "BudgetLimit")) return invalid("Give BudgetLimit or PlannedBudgetLimits, not both.");
    TOLLGATE_TRY(check_planned_limits(*planned, *unit, now));
  } else {
    auto limit = required_object(budget, "BudgetLimit");
    TOLLGATE_TRY(limit);
    TOLLGATE_TRY(spend_amount(**limit, "BudgetLimit"));
  }
  TOLLGATE_TRY(budget_filter(budget));
  if (const json::value* metrics = member(budget, "Metrics")) {
    if (!metrics->is_array() || metrics->as_array().size() > 1) return invalid("Metrics holds at most one metric.");
    for (const auto& m : metrics->as_array()) {
      if (!m.is_string() ||
          (m.as_string() != "UnblendedCost" && m.as_string() != "BlendedCost" && m.as_string() != "AmortizedCost" &&
           m.as_string() != "NetUnblendedCost" && m.as_string() != "NetAmortizedCost")) {
        return invalid(
            "A COST budget's metric is UnblendedCost, BlendedCost, AmortizedCost, NetUnblendedCost or "
            "NetAmortizedCost.");
      }
    }
  }
  if (const json::value* types = member(budget, "CostTypes"); types && !types->is_object()) {
    return invalid("CostTypes must be an object of flags.");
  }
  // TimePeriod: CUSTOM needs both ends; otherwise the start defaults to the current period's.
  json::object period;
  if (const json::value* given = member(budget, "TimePeriod")) {
    if (!given->is_object()) return invalid("TimePeriod must be an object {Start, End}.");
    period = given->as_object();
  }
  TimePoint start = costs::month_start(now), end = TimePoint(std::chrono::seconds(kDefaultEndSeconds));
  if (const json::value* s = member(period, "Start")) {
    auto t = timestamp(*s, "TimePeriod.Start");
    TOLLGATE_TRY(t);
    start = *t;
  } else if (*unit == "CUSTOM") {
    return invalid("A CUSTOM budget needs TimePeriod.Start and TimePeriod.End.");
  } else if (*unit == "DAILY") {
    start = std::chrono::floor<days>(now);
  }
  if (const json::value* e = member(period, "End")) {
    auto t = timestamp(*e, "TimePeriod.End");
    TOLLGATE_TRY(t);
    end = *t;
  } else if (*unit == "CUSTOM") {
    return invalid("A CUSTOM budget needs TimePeriod.Start and TimePeriod.End.");
  }
  if (start >= end) return invalid("TimePeriod.Start must be before TimePeriod.End.");
  budget["TimePeriod"] = json::object{{"Start", epoch_seconds(start)}, {"End", epoch_seconds(end)}};
  budget.erase("CalculatedSpend");
  budget.erase("LastUpdatedTime");
  budget.erase("HealthStatus");
  return budget;
}

TimePoint epoch_time(const json::value& seconds) {
  return TimePoint(std::chrono::seconds(static_cast<int64_t>(seconds.to_number<double>())));
}

// The stored budget's period rule (TimeUnit and TimePeriod were checked when it was stored).
tollgate::budgets::PeriodRule period_rule(const json::object& budget) {
  const auto& period = budget.at("TimePeriod").as_object();
  return {*tollgate::budgets::parse_time_unit(budget.at("TimeUnit").as_string()), epoch_time(period.at("Start")),
          epoch_time(period.at("End"))};
}

// The period of the budget that `now` falls in, [start, end).
std::pair<TimePoint, TimePoint> current_period(const json::object& budget, TimePoint now) {
  auto period = tollgate::budgets::current_period(period_rule(budget), now);
  return {period.start, period.end};
}

// ---- notifications ----

Result<json::object> checked_notification(const json::value& value) {
  if (!value.is_object()) return invalid("Notification must be an object.");
  const json::object& n = value.as_object();
  auto type = enum_value(n, "NotificationType", {"ACTUAL", "FORECASTED"}, std::nullopt);
  TOLLGATE_TRY(type);
  auto op = enum_value(n, "ComparisonOperator", {"GREATER_THAN", "LESS_THAN", "EQUAL_TO"}, std::nullopt);
  TOLLGATE_TRY(op);
  auto threshold_type = enum_value(n, "ThresholdType", {"PERCENTAGE", "ABSOLUTE_VALUE"}, "PERCENTAGE");
  TOLLGATE_TRY(threshold_type);
  const json::value* threshold = member(n, "Threshold");
  if (!threshold || !threshold->is_number()) return invalid("Notification.Threshold must be a number.");
  double t = threshold->to_number<double>();
  if (!std::isfinite(t) || t < 0 || t > kMaxThreshold) {
    return invalid("Notification.Threshold must be between 0 and 15000000000000.");
  }
  if (*threshold_type == "PERCENTAGE" && t > 1'000'000) {
    return invalid("A PERCENTAGE threshold must be between 0 and 1000000 (percent of the budget's limit).");
  }
  return json::object{
      {"NotificationType", *type}, {"ComparisonOperator", *op}, {"Threshold", t}, {"ThresholdType", *threshold_type}};
}

Result<json::object> checked_subscriber(const json::value& value) {
  if (!value.is_object()) return invalid("Subscriber must be an object.");
  auto type = enum_value(value.as_object(), "SubscriptionType", {"SNS", "EMAIL"}, std::nullopt);
  TOLLGATE_TRY(type);
  auto address = required_text(value.as_object(), "Address");
  TOLLGATE_TRY(address);
  if (address->empty() || address->size() > 2147) return invalid("Subscriber.Address must be 1 to 2147 characters.");
  const std::string_view a = *address;
  if (*type == "EMAIL" && a.find('@') == std::string_view::npos) {
    return invalid("An EMAIL subscriber's Address is an e-mail address; '" + *address + "' is not.");
  }
  if (*type == "SNS" && !a.starts_with("arn:aws:sns:") && !a.starts_with("http://") && !a.starts_with("https://") &&
      !(a.starts_with("file:///") && a.size() > 8)) {
    return invalid(
        "An SNS subscriber's Address is an SNS topic ARN, a webhook URL (http:// or https://, which "
        "tollgate POSTs the alert to) or a file:///absolute/path (which tollgate appends the alert to); '" +
        *address + "' is none of these.");
  }
  return json::object{{"SubscriptionType", *type}, {"Address", *address}};
}

Result<json::array> checked_subscribers(const json::value* value) {
  if (!value || !value->is_array() || value->as_array().empty() || value->as_array().size() > kMaxSubscribers) {
    return invalid("Subscribers must hold 1 to 11 subscribers.");
  }
  json::array out;
  for (const auto& s : value->as_array()) {
    auto subscriber = checked_subscriber(s);
    TOLLGATE_TRY(subscriber);
    if (std::find(out.begin(), out.end(), json::value(*subscriber)) != out.end()) {
      return Error(ErrorCode::DuplicateRecord,
                   "The subscriber " + std::string(subscriber->at("Address").as_string()) + " is listed twice.");
    }
    out.push_back(std::move(subscriber).value());
  }
  return out;
}

// The stored document: {"Budget": {...}, "Notifications": [{"Notification": {...}, "Subscribers": [...]}]}.
json::object parse_document(const std::string& text) { return json::parse(text).as_object(); }

// (at(), not operator[]: Boost.JSON's operator[] may rehash the object even for an existing key, which would
// invalidate references into it, such as the budget's.)
json::array& notifications_of(json::object& document) { return document.at("Notifications").as_array(); }

// The entry of `notification` (its type, operator, threshold and threshold type) in the document.
json::object* find_notification(json::object& document, const json::object& notification) {
  for (auto& entry : notifications_of(document)) {
    if (entry.at("Notification") == notification) return &entry.as_object();
  }
  return nullptr;
}

Error notification_not_found(const json::object& n) {
  return Error(ErrorCode::NotFound, "The budget has no " + std::string(n.at("NotificationType").as_string()) + " " +
                                        std::string(n.at("ComparisonOperator").as_string()) + " " +
                                        json::serialize(n.at("Threshold")) + " " +
                                        std::string(n.at("ThresholdType").as_string()) + " notification.");
}

Result<std::string> caller_account(const json::object& request, const std::string& caller) {
  auto account = required_text(request, "AccountId");
  TOLLGATE_TRY(account);
  if (account->size() != 12 ||
      !std::all_of(account->begin(), account->end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return invalid("AccountId must be 12 digits.");
  }
  if (*account != caller) {
    return Error(ErrorCode::AccessDenied, "The caller's credentials are of account " + caller +
                                              "; they cannot manage the budgets of account " + *account + ".");
  }
  return account;
}

Error budget_not_found(const std::string& account, const std::string& name) {
  return Error(ErrorCode::NotFound, "Account " + account + " has no budget named '" + name + "'.");
}

// (AccountId, BudgetName) of a request about one budget.
Result<std::pair<std::string, std::string>> budget_key(const json::object& request, const std::string& caller) {
  auto account = caller_account(request, caller);
  TOLLGATE_TRY(account);
  auto name = required_text(request, "BudgetName");
  TOLLGATE_TRY(name);
  return std::pair{std::move(account).value(), std::move(name).value()};
}

Result<json::object> notification_member(const json::object& request, std::string_view field) {
  const json::value* n = member(request, field);
  if (!n) return invalid("The request needs " + std::string(field) + ".");
  return checked_notification(*n);
}

Result<size_t> max_results(const json::object& request, size_t fallback) {
  auto value = as_parameter_error(optional_integer(request, "MaxResults"));
  TOLLGATE_TRY(value);
  if (!value->has_value()) return fallback;
  if (**value < 1 || **value > 1000) return invalid("MaxResults must be between 1 and 1000.");
  return static_cast<size_t>(**value);
}

// ResourceTags: at most 200 {Key, Value}, keys 1–128 characters without the reserved aws: prefix, values
// at most 256; tollgate:enforcement, if present, is block or throttle.
Result<json::array> checked_resource_tags(const json::value& value) {
  if (!value.is_array() || value.as_array().size() > kMaxResourceTags) {
    return invalid("ResourceTags must be a list of at most 200 {Key, Value} tags.");
  }
  for (const auto& tag : value.as_array()) {
    const json::object* t = tag.if_object();
    const json::value* key = t ? t->if_contains("Key") : nullptr;
    const json::value* v = t ? t->if_contains("Value") : nullptr;
    if (!key || !key->is_string() || !v || !v->is_string())
      return invalid("Each resource tag needs a Key and a Value.");
    const std::string_view k = key->get_string();
    if (k.empty() || k.size() > 128) return invalid("A resource tag key has 1 to 128 characters.");
    if (k.starts_with("aws:")) return invalid("Resource tag keys starting with aws: are reserved for AWS.");
    if (v->get_string().size() > 256) return invalid("A resource tag value has at most 256 characters.");
    if (k == tollgate::budgets::kEnforcementTag && !tollgate::budgets::parse_enforcement(v->get_string())) {
      return invalid("The tag " + std::string(tollgate::budgets::kEnforcementTag) +
                     " is block (refuse requests that would cross the limit with AccessDeniedException) or "
                     "throttle (refuse them with ThrottlingException); '" +
                     std::string(v->get_string()) + "' is neither.");
    }
  }
  return value.as_array();
}

const json::array& resource_tags_of(const json::object& document) {
  static const json::array kNone;
  const json::value* tags = document.if_contains("ResourceTags");
  return tags && tags->is_array() ? tags->get_array() : kNone;
}

// arn:aws:budgets::ACCOUNT:budget/NAME → (ACCOUNT, NAME), the caller's account only.
Result<std::pair<std::string, std::string>> budget_of_arn(const json::object& request, const std::string& caller) {
  auto arn = required_text(request, "ResourceARN");
  TOLLGATE_TRY(arn);
  constexpr std::string_view kPrefix = "arn:aws:budgets::";
  const std::string_view text = *arn;
  const size_t colon = text.find(':', kPrefix.size());
  if (!text.starts_with(kPrefix) || colon == std::string_view::npos || text.substr(colon + 1, 7) != "budget/" ||
      text.size() == colon + 8) {
    return invalid("ResourceARN '" + *arn + "' is not a budget's ARN: arn:aws:budgets::<account>:budget/<name>.");
  }
  std::string account(text.substr(kPrefix.size(), colon - kPrefix.size()));
  std::string name(text.substr(colon + 8));
  if (name.find('/') != std::string::npos) {
    return invalid("tollgate has no budget actions; ResourceARN must name a budget: " + *arn + ".");
  }
  if (account != caller) {
    return Error(ErrorCode::AccessDenied, "The caller's credentials are of account " + caller +
                                              "; they cannot tag the budgets of account " + account + ".");
  }
  return std::pair{std::move(account), std::move(name)};
}

}  // namespace

struct BudgetsApi::Spend {
  int64_t actual_nano_usd = 0;
  std::optional<int64_t> forecasted_nano_usd;  // none with too little history
  int64_t limit_nano_usd = 0;
};

bool BudgetsApi::in_alarm(const json::object& n, const Spend& spend) {
  const double threshold = n.at("Threshold").to_number<double>();
  const double watched_nano = n.at("NotificationType") == "ACTUAL"
                                  ? static_cast<double>(spend.actual_nano_usd)
                                  : static_cast<double>(spend.forecasted_nano_usd.value_or(0));
  const double watched = watched_nano / 1e9;
  const double limit = static_cast<double>(spend.limit_nano_usd) / 1e9;
  const double bound = n.at("ThresholdType") == "PERCENTAGE" ? limit * threshold / 100 : threshold;
  const std::string_view op = n.at("ComparisonOperator").as_string();
  return op == "GREATER_THAN" ? watched > bound : op == "LESS_THAN" ? watched < bound : watched == bound;
}

BudgetsApi::BudgetsApi(tollgate::budgets::BudgetStore& store, ledger::Ledger& ledger, costs::CostAllocationTags& tags,
                       const catalog::Catalog& catalog, const Clock& clock, size_t body_limit,
                       tollgate::budgets::Enforcer* enforcer)
    : store_(store),
      ledger_(ledger),
      tags_(tags),
      catalog_(catalog),
      clock_(clock),
      body_limit_(body_limit),
      enforcer_(enforcer) {}

Result<BudgetsApi::Spend> BudgetsApi::calculated_spend(const json::object& budget, const std::string& account) {
  const TimePoint now = clock_.now();
  auto [start, end] = current_period(budget, now);
  auto filter = budget_filter(budget);
  TOLLGATE_TRY(filter);
  auto timeline = tags_.timeline();
  TOLLGATE_TRY(timeline);
  costs::FactSource source(ledger_, catalog_, std::move(timeline).value());
  Spend spend;
  spend.limit_nano_usd = limits_of(budget).at(start);
  const TimePoint today = std::chrono::floor<days>(now);
  const TimePoint history_start = today - days(90);
  std::vector<double> daily(90, 0.0);
  std::optional<size_t> first_day;
  double today_actual = 0;  // nano-USD
  // One scan: the period's actual spend, and the daily history a forecast needs.
  const TimePoint scan_start = std::min(start, history_start);
  const TimePoint scan_end = std::max(std::min(end, now + std::chrono::hours(1)), today);
  if (scan_start < scan_end) {
    TOLLGATE_TRY(source.scan(scan_start, scan_end, account, [&](const costs::Fact& fact) {
      if (*filter && !(*filter)->matches(fact)) return;
      if (fact.hour >= start && fact.hour < end) {
        spend.actual_nano_usd += fact.cost_nano_usd;
        if (fact.hour >= today) today_actual += static_cast<double>(fact.cost_nano_usd);
      }
      if (fact.hour >= history_start && fact.hour < today) {
        size_t day = static_cast<size_t>(std::chrono::floor<days>(fact.hour - history_start).count());
        daily[day] += static_cast<double>(fact.cost_nano_usd) / 1e9;
        if (fact.cost_nano_usd > 0) first_day = std::min(first_day.value_or(day), day);
      }
    }));
  }
  // Forecast: the actual spend so far, plus the trend's mean for the rest of today (what today's forecast
  // exceeds today's spend so far by) and for the period's days after today.
  if (end <= today) {
    spend.forecasted_nano_usd = spend.actual_nano_usd;
  } else {
    std::vector<double> history(daily.begin() + static_cast<std::ptrdiff_t>(first_day.value_or(daily.size())),
                                daily.end());
    const TimePoint from = std::max(today, start);
    const auto offset = static_cast<size_t>(std::chrono::floor<days>(from - today).count());
    const auto count = static_cast<size_t>(std::chrono::ceil<days>(end - from).count());
    auto f = costs::forecast(history, offset, {{0, 1}, {1, count - 1}}, 80);
    if (f.ok()) {
      const double rest_of_today =
          from == today ? std::max(0.0, f->periods[0].mean - today_actual / 1e9) : f->periods[0].mean;
      spend.forecasted_nano_usd =
          spend.actual_nano_usd + static_cast<int64_t>(std::llround((rest_of_today + f->periods[1].mean) * 1e9));
    }
  }
  return spend;
}

Result<json::object> BudgetsApi::budget_view(const StoredBudget& stored) {
  json::object document = parse_document(stored.document);
  json::object budget = document.at("Budget").as_object();
  auto spend = calculated_spend(budget, stored.account_id);
  TOLLGATE_TRY(spend);
  json::object calculated{{"ActualSpend", usd_spend(spend->actual_nano_usd)}};
  if (spend->forecasted_nano_usd) {
    calculated["ForecastedSpend"] = usd_spend(*spend->forecasted_nano_usd);
  }
  budget["CalculatedSpend"] = std::move(calculated);
  // A planned budget also shows the current period's limit as its BudgetLimit, as AWS does.
  if (budget.contains("PlannedBudgetLimits")) budget["BudgetLimit"] = usd_spend(spend->limit_nano_usd);
  budget["LastUpdatedTime"] = epoch_seconds(stored.updated_at);
  return budget;
}

Result<json::object> BudgetsApi::create_budget(const json::object& request, const std::string& caller) {
  auto account = caller_account(request, caller);
  TOLLGATE_TRY(account);
  const json::value* given = member(request, "Budget");
  if (!given) return invalid("The request needs Budget.");
  const TimePoint now = clock_.now();
  auto budget = checked_budget(*given, now);
  TOLLGATE_TRY(budget);
  json::array notifications;
  if (const json::value* list = member(request, "NotificationsWithSubscribers")) {
    if (!list->is_array() || list->as_array().size() > kMaxNotifications) {
      return invalid("NotificationsWithSubscribers holds at most 10 notifications.");
    }
    for (const auto& entry : list->as_array()) {
      if (!entry.is_object()) return invalid("Each NotificationsWithSubscribers entry must be an object.");
      const json::value* n = member(entry.as_object(), "Notification");
      if (!n) return invalid("Each NotificationsWithSubscribers entry needs a Notification.");
      auto notification = checked_notification(*n);
      TOLLGATE_TRY(notification);
      auto subscribers = checked_subscribers(member(entry.as_object(), "Subscribers"));
      TOLLGATE_TRY(subscribers);
      for (const auto& existing : notifications) {
        if (existing.at("Notification") == json::value(*notification)) {
          return Error(ErrorCode::DuplicateRecord, "The same notification is listed twice.");
        }
      }
      notifications.push_back(json::object{{"Notification", *notification}, {"Subscribers", *subscribers}});
    }
  }
  json::object document{{"Budget", *budget}, {"Notifications", std::move(notifications)}};
  if (const json::value* tags = member(request, "ResourceTags")) {
    auto checked = checked_resource_tags(*tags);
    TOLLGATE_TRY(checked);
    document["ResourceTags"] = std::move(checked).value();
  }
  StoredBudget stored{*account, std::string(budget->at("BudgetName").as_string()), json::serialize(document), now, now};
  TOLLGATE_TRY(store_.insert(stored));
  TOLLGATE_TRY(sync_enforcement(stored.account_id, stored.name));
  return json::object{};
}

Result<json::object> BudgetsApi::load(const std::string& account, const std::string& name) {
  auto stored = store_.find(account, name);
  TOLLGATE_TRY(stored);
  if (!stored->has_value()) return budget_not_found(account, name);
  return parse_document((*stored)->document);
}

Result<json::object> BudgetsApi::change(const std::string& account, const std::string& name,
                                        const std::function<Status(json::object& document)>& edit) {
  auto updated = store_.update(
      account, name,
      [&](const std::string& text) -> Result<std::string> {
        json::object document = parse_document(text);
        TOLLGATE_TRY(edit(document));
        return json::serialize(document);
      },
      clock_.now());
  TOLLGATE_TRY(updated);
  return json::object{};
}

Result<json::object> BudgetsApi::describe_budget(const json::object& request, const std::string& caller) {
  auto key = budget_key(request, caller);
  TOLLGATE_TRY(key);
  auto stored = store_.find(key->first, key->second);
  TOLLGATE_TRY(stored);
  if (!stored->has_value()) return budget_not_found(key->first, key->second);
  auto budget = budget_view(**stored);
  TOLLGATE_TRY(budget);
  return json::object{{"Budget", std::move(budget).value()}};
}

Result<json::object> BudgetsApi::describe_budgets(const json::object& request, const std::string& caller) {
  auto account = caller_account(request, caller);
  TOLLGATE_TRY(account);
  auto limit = max_results(request, 100);
  TOLLGATE_TRY(limit);
  auto token = as_parameter_error(optional_string(request, "NextToken"));
  TOLLGATE_TRY(token);
  std::string after;
  if (token->has_value()) {
    auto decoded = base64_decode(**token);
    if (!decoded || !decoded->starts_with("budget:")) {
      return Error(ErrorCode::InvalidNextToken, "The NextToken is not one DescribeBudgets gave.");
    }
    after = decoded->substr(7);
  }
  auto page = store_.list(*account, after, *limit + 1);
  TOLLGATE_TRY(page);
  json::array budgets;
  for (size_t i = 0; i < page->size() && i < *limit; ++i) {
    auto budget = budget_view((*page)[i]);
    TOLLGATE_TRY(budget);
    budgets.push_back(std::move(budget).value());
  }
  json::object response{{"Budgets", std::move(budgets)}};
  if (page->size() > *limit) response["NextToken"] = base64_encode("budget:" + (*page)[*limit - 1].name);
  return response;
}

Result<json::object> BudgetsApi::update_budget(const json::object& request, const std::string& caller) {
  auto account = caller_account(request, caller);
  TOLLGATE_TRY(account);
  const json::value* given = member(request, "NewBudget");
  if (!given) return invalid("The request needs NewBudget.");
  auto budget = checked_budget(*given, clock_.now());
  TOLLGATE_TRY(budget);
  const std::string name(budget->at("BudgetName").as_string());
  TOLLGATE_TRY(change(*account, name, [&](json::object& document) -> Status {
    json::object& old = document.at("Budget").as_object();
    // A NewBudget without a TimePeriod keeps the budget's own.
    if (!member(given->as_object(), "TimePeriod")) (*budget)["TimePeriod"] = old.at("TimePeriod");
    old = *budget;
    return {};
  }));
  TOLLGATE_TRY(sync_enforcement(*account, name));
  return json::object{};
}

Result<json::object> BudgetsApi::delete_budget(const json::object& request, const std::string& caller) {
  auto key = budget_key(request, caller);
  TOLLGATE_TRY(key);
  TOLLGATE_TRY(store_.remove(key->first, key->second));
  if (enforcer_) enforcer_->remove(key->first, key->second);
  return json::object{};
}

Result<json::object> BudgetsApi::create_notification(const json::object& request, const std::string& caller) {
  auto key = budget_key(request, caller);
  TOLLGATE_TRY(key);
  auto notification = notification_member(request, "Notification");
  TOLLGATE_TRY(notification);
  auto subscribers = checked_subscribers(member(request, "Subscribers"));
  TOLLGATE_TRY(subscribers);
  return change(key->first, key->second, [&](json::object& document) -> Status {
    if (find_notification(document, *notification)) {
      return Error(ErrorCode::DuplicateRecord, "The budget already has this notification.");
    }
    if (notifications_of(document).size() >= kMaxNotifications) {
      return Error(ErrorCode::CreationLimitExceeded, "A budget has at most 10 notifications.");
    }
    notifications_of(document).push_back(json::object{{"Notification", *notification}, {"Subscribers", *subscribers}});
    return {};
  });
}

Result<json::object> BudgetsApi::describe_notifications_for_budget(const json::object& request,
                                                                   const std::string& caller) {
  auto key = budget_key(request, caller);
  TOLLGATE_TRY(key);
  auto limit = max_results(request, 100);
  TOLLGATE_TRY(limit);
  auto document = load(key->first, key->second);
  TOLLGATE_TRY(document);
  auto spend = calculated_spend(document->at("Budget").as_object(), key->first);
  TOLLGATE_TRY(spend);
  json::array out;
  for (const auto& entry : notifications_of(*document)) {
    json::object n = entry.at("Notification").as_object();
    n["NotificationState"] = in_alarm(n, *spend) ? "ALARM" : "OK";
    out.push_back(std::move(n));
    if (out.size() == *limit) break;
  }
  return json::object{{"Notifications", std::move(out)}};
}

Result<json::object> BudgetsApi::update_notification(const json::object& request, const std::string& caller) {
  auto key = budget_key(request, caller);
  TOLLGATE_TRY(key);
  auto old_notification = notification_member(request, "OldNotification");
  TOLLGATE_TRY(old_notification);
  auto new_notification = notification_member(request, "NewNotification");
  TOLLGATE_TRY(new_notification);
  return change(key->first, key->second, [&](json::object& document) -> Status {
    json::object* entry = find_notification(document, *old_notification);
    if (!entry) return notification_not_found(*old_notification);
    if (*old_notification != *new_notification && find_notification(document, *new_notification)) {
      return Error(ErrorCode::DuplicateRecord, "The budget already has the new notification.");
    }
    (*entry)["Notification"] = *new_notification;
    return {};
  });
}

Result<json::object> BudgetsApi::delete_notification(const json::object& request, const std::string& caller) {
  auto key = budget_key(request, caller);
  TOLLGATE_TRY(key);
  auto notification = notification_member(request, "Notification");
  TOLLGATE_TRY(notification);
  return change(key->first, key->second, [&](json::object& document) -> Status {
    auto& list = notifications_of(document);
    auto it = std::find_if(list.begin(), list.end(),
                           [&](const json::value& e) { return e.at("Notification") == json::value(*notification); });
    if (it == list.end()) return notification_not_found(*notification);
    list.erase(it);
    return {};
  });
}

Result<json::object> BudgetsApi::create_subscriber(const json::object& request, const std::string& caller) {
  return change_subscribers(request, caller, [](json::array& subscribers, const json::object& subscriber) -> Status {
    if (std::find(subscribers.begin(), subscribers.end(), json::value(subscriber)) != subscribers.end()) {
      return Error(ErrorCode::DuplicateRecord, "The notification already has this subscriber.");
    }
    if (subscribers.size() >= kMaxSubscribers) {
      return Error(ErrorCode::CreationLimitExceeded, "A notification has at most 11 subscribers.");
    }
    subscribers.push_back(subscriber);
    return {};
  });
}

Result<json::object> BudgetsApi::describe_subscribers_for_notification(const json::object& request,
                                                                       const std::string& caller) {
  auto key = budget_key(request, caller);
  TOLLGATE_TRY(key);
  auto notification = notification_member(request, "Notification");
  TOLLGATE_TRY(notification);
  auto document = load(key->first, key->second);
  TOLLGATE_TRY(document);
  json::object* entry = find_notification(*document, *notification);
  if (!entry) return notification_not_found(*notification);
  return json::object{{"Subscribers", entry->at("Subscribers")}};
}

Result<json::object> BudgetsApi::delete_subscriber(const json::object& request, const std::string& caller) {
  return change_subscribers(request, caller, [](json::array& subscribers, const json::object& subscriber) -> Status {
    auto it = std::find(subscribers.begin(), subscribers.end(), json::value(subscriber));
    if (it == subscribers.end()) return Error(ErrorCode::NotFound, "The notification has no such subscriber.");
    if (subscribers.size() == 1) {
      return invalid("A notification keeps at least one subscriber; delete the notification instead.");
    }
    subscribers.erase(it);
    return {};
  });
}

Result<json::object> BudgetsApi::change_subscribers(
    const json::object& request, const std::string& caller,
    const std::function<Status(json::array& subscribers, const json::object& subscriber)>& edit) {
  auto key = budget_key(request, caller);
  TOLLGATE_TRY(key);
  auto notification = notification_member(request, "Notification");
  TOLLGATE_TRY(notification);
  const json::value* s = member(request, "Subscriber");
  if (!s) return invalid("The request needs Subscriber.");
  auto subscriber = checked_subscriber(*s);
  TOLLGATE_TRY(subscriber);
  return change(key->first, key->second, [&](json::object& document) -> Status {
    json::object* entry = find_notification(document, *notification);
    if (!entry) return notification_not_found(*notification);
    return edit((*entry)["Subscribers"].as_array(), *subscriber);
  });
}

Result<std::vector<BudgetsApi::Alert>> BudgetsApi::take_alerts() {
  auto all = store_.list_all();
  TOLLGATE_TRY(all);
  const TimePoint now = clock_.now();
  std::vector<Alert> alerts;
  for (const auto& stored : *all) {
    json::object document = parse_document(stored.document);
    const json::object& budget = document.at("Budget").as_object();
    if (notifications_of(document).empty()) continue;
    auto spend = calculated_spend(budget, stored.account_id);
    TOLLGATE_TRY(spend);
    const auto [start, end] = current_period(budget, now);
    const double period_start = epoch_seconds(start);
    std::vector<json::object> due;
    for (const auto& entry : notifications_of(document)) {
      const json::object& n = entry.at("Notification").as_object();
      const json::value* fired = entry.as_object().if_contains("FiredPeriodStart");
      if (!in_alarm(n, *spend) || (fired && fired->to_number<double>() == period_start)) continue;
      due.push_back(n);
    }
    if (due.empty()) continue;
    // Mark them fired first (in a transaction, against the document as it is now), then report them.
    auto marked = store_.update(
        stored.account_id, stored.name,
        [&](const std::string& text) -> Result<std::string> {
          json::object current = parse_document(text);
          for (const auto& n : due) {
            if (json::object* entry = find_notification(current, n)) (*entry)["FiredPeriodStart"] = period_start;
          }
          return json::serialize(current);
        },
        now);
    if (!marked.ok()) {
      if (marked.error().code() == ErrorCode::NotFound) continue;  // deleted meanwhile
      return std::move(marked).error();
    }
    for (auto& n : due) {
      Alert alert;
      alert.account_id = stored.account_id;
      alert.budget_name = stored.name;
      const json::object* entry = find_notification(document, n);
      alert.subscribers = entry ? entry->at("Subscribers").as_array() : json::array{};
      alert.notification = std::move(n);
      alert.notification["NotificationState"] = "ALARM";
      alert.actual_spend = costs::format_usd(spend->actual_nano_usd);
      if (spend->forecasted_nano_usd) alert.forecasted_spend = costs::format_usd(*spend->forecasted_nano_usd);
      alert.budget_limit = costs::format_usd(spend->limit_nano_usd);
      alert.period_start = start;
      alert.period_end = end;
      alerts.push_back(std::move(alert));
    }
  }
  return alerts;
}

std::string BudgetsApi::alert_json(const Alert& alert, TimePoint now) {
  json::object out{{"time", format_date_time(now)},
                   {"accountId", alert.account_id},
                   {"budgetName", alert.budget_name},
                   {"notification", alert.notification},
                   {"actualSpend", alert.actual_spend},
                   {"budgetLimit", alert.budget_limit},
                   {"periodStart", format_date_time(alert.period_start)},
                   {"periodEnd", format_date_time(alert.period_end)},
                   {"subscribers", alert.subscribers}};
  if (!alert.forecasted_spend.empty()) out["forecastedSpend"] = alert.forecasted_spend;
  return json::serialize(out);
}

Result<json::object> BudgetsApi::describe_budget_performance_history(const json::object& request,
                                                                     const std::string& caller) {
  auto key = budget_key(request, caller);
  TOLLGATE_TRY(key);
  auto limit = max_results(request, 100);
  TOLLGATE_TRY(limit);
  auto document = load(key->first, key->second);
  TOLLGATE_TRY(document);
  const json::object& budget = document->at("Budget").as_object();
  if (budget.at("TimeUnit") == "ANNUALLY") {
    return invalid("Performance history is not available for ANNUALLY budgets, as in AWS Budgets.");
  }
  const TimePoint now = clock_.now();
  // The periods asked for (by default the last 12 and the current one), within the budget's own.
  TimePoint from = current_period(budget, now).first, to = current_period(budget, now).second;
  for (int i = 0; i < 12; ++i) from = current_period(budget, from - std::chrono::seconds(1)).first;
  if (const json::value* period = member(request, "TimePeriod")) {
    if (!period->is_object()) return invalid("TimePeriod must be an object {Start, End}.");
    if (const json::value* s = member(period->as_object(), "Start")) {
      auto t = timestamp(*s, "TimePeriod.Start");
      TOLLGATE_TRY(t);
      from = *t;
    }
    if (const json::value* e = member(period->as_object(), "End")) {
      auto t = timestamp(*e, "TimePeriod.End");
      TOLLGATE_TRY(t);
      to = *t;
    }
    if (from >= to) return invalid("TimePeriod.Start must be before TimePeriod.End.");
  }
  std::vector<std::pair<TimePoint, TimePoint>> periods;
  for (auto p = current_period(budget, from); p.first < to && periods.size() < 1000;
       p = current_period(budget, p.second)) {
    if (!periods.empty() && p.first == periods.back().first) break;  // a CUSTOM budget has one period
    periods.push_back(p);
  }
  auto filter = budget_filter(budget);
  TOLLGATE_TRY(filter);
  auto timeline = tags_.timeline();
  TOLLGATE_TRY(timeline);
  costs::FactSource source(ledger_, catalog_, std::move(timeline).value());
  std::vector<int64_t> actual(periods.size(), 0);
  if (!periods.empty()) {
    TOLLGATE_TRY(source.scan(periods.front().first, periods.back().second, key->first, [&](const costs::Fact& fact) {
      if (*filter && !(*filter)->matches(fact)) return;
      auto it = std::upper_bound(periods.begin(), periods.end(), fact.hour,
                                 [](TimePoint t, const auto& p) { return t < p.first; });
      if (it != periods.begin() && fact.hour < std::prev(it)->second)
        actual[static_cast<size_t>(it - periods.begin() - 1)] += fact.cost_nano_usd;
    }));
  }
  auto offset = as_parameter_error(optional_string(request, "NextToken"));
  TOLLGATE_TRY(offset);
  size_t first = 0;
  if (offset->has_value()) {
    auto decoded = base64_decode(**offset);
    if (!decoded || !decoded->starts_with("period:")) {
      return Error(ErrorCode::InvalidNextToken, "The NextToken is not one DescribeBudgetPerformanceHistory gave.");
    }
    first = std::strtoull(decoded->c_str() + 7, nullptr, 10);
  }
  const tollgate::budgets::BudgetLimits limits = limits_of(budget);
  json::array amounts;
  for (size_t i = first; i < periods.size() && amounts.size() < *limit; ++i) {
    amounts.push_back(json::object{{"BudgetedAmount", usd_spend(limits.at(periods[i].first))},
                                   {"ActualAmount", usd_spend(actual[i])},
                                   {"TimePeriod", json::object{{"Start", epoch_seconds(periods[i].first)},
                                                               {"End", epoch_seconds(periods[i].second)}}}});
  }
  json::object history{{"BudgetName", budget.at("BudgetName")},
                       {"BudgetType", budget.at("BudgetType")},
                       {"TimeUnit", budget.at("TimeUnit")},
                       {"BudgetedAndActualAmountsList", std::move(amounts)}};
  for (std::string_view field : {"CostFilters", "FilterExpression", "CostTypes", "Metrics"}) {
    if (const json::value* v = member(budget, field)) history[field] = *v;
  }
  json::object response{{"BudgetPerformanceHistory", std::move(history)}};
  if (first < periods.size() && periods.size() - first > *limit) {
    response["NextToken"] = base64_encode("period:" + std::to_string(first + *limit));
  }
  return response;
}

Result<json::object> BudgetsApi::tag_resource(const json::object& request, const std::string& caller) {
  auto key = budget_of_arn(request, caller);
  TOLLGATE_TRY(key);
  const json::value* given = member(request, "ResourceTags");
  if (!given) return invalid("The request needs ResourceTags.");
  auto tags = checked_resource_tags(*given);
  TOLLGATE_TRY(tags);
  TOLLGATE_TRY(change(key->first, key->second, [&](json::object& document) -> Status {
    json::array merged = resource_tags_of(document);
    for (const auto& tag : *tags) {
      auto same_key = [&](const json::value& t) { return t.at("Key") == tag.at("Key"); };
      auto existing = std::find_if(merged.begin(), merged.end(), same_key);
      if (existing != merged.end()) {
        *existing = tag;
      } else {
        merged.push_back(tag);
      }
    }
    if (merged.size() > kMaxResourceTags) {
      return Error(ErrorCode::ServiceQuotaExceeded, "A budget has at most 200 resource tags.");
    }
    document["ResourceTags"] = std::move(merged);
    return {};
  }));
  TOLLGATE_TRY(sync_enforcement(key->first, key->second));
  return json::object{};
}

Result<json::object> BudgetsApi::untag_resource(const json::object& request, const std::string& caller) {
  auto key = budget_of_arn(request, caller);
  TOLLGATE_TRY(key);
  const json::value* keys = member(request, "ResourceTagKeys");
  if (!keys || !keys->is_array() || keys->as_array().size() > kMaxResourceTags ||
      !std::all_of(keys->as_array().begin(), keys->as_array().end(),
                   [](const json::value& k) { return k.is_string(); })) {
    return invalid("ResourceTagKeys must be a list of at most 200 tag keys.");
  }
  TOLLGATE_TRY(change(key->first, key->second, [&](json::object& document) -> Status {
    json::array kept;
    for (const auto& tag : resource_tags_of(document)) {
      const auto& removed = keys->as_array();
      if (std::find(removed.begin(), removed.end(), tag.at("Key")) == removed.end()) kept.push_back(tag);
    }
    document["ResourceTags"] = std::move(kept);
    return {};
  }));
  TOLLGATE_TRY(sync_enforcement(key->first, key->second));
  return json::object{};
}

Result<json::object> BudgetsApi::list_tags_for_resource(const json::object& request, const std::string& caller) {
  auto key = budget_of_arn(request, caller);
  TOLLGATE_TRY(key);
  auto document = load(key->first, key->second);
  TOLLGATE_TRY(document);
  return json::object{{"ResourceTags", resource_tags_of(*document)}};
}

Result<std::optional<tollgate::budgets::BlockingBudget>> BudgetsApi::blocking_budget(const StoredBudget& stored) {
  const json::object document = parse_document(stored.document);
  std::optional<tollgate::budgets::Enforcement> mode;
  for (const auto& tag : resource_tags_of(document)) {
    if (tag.at("Key").as_string() == tollgate::budgets::kEnforcementTag) {
      mode = tollgate::budgets::parse_enforcement(tag.at("Value").as_string());
    }
  }
  if (!mode) return std::optional<tollgate::budgets::BlockingBudget>();
  const json::object& budget = document.at("Budget").as_object();
  auto filter = budget_filter(budget);
  TOLLGATE_TRY(filter);
  tollgate::budgets::BlockingBudget blocking;
  blocking.account_id = stored.account_id;
  blocking.name = stored.name;
  blocking.mode = *mode;
  blocking.limits = limits_of(budget);
  blocking.time_unit = budget.at("TimeUnit").as_string();
  blocking.period = period_rule(budget);
  blocking.filter = std::move(filter).value();
  return std::optional(std::move(blocking));
}

Status BudgetsApi::sync_enforcement(const std::string& account, const std::string& name) {
  if (!enforcer_) return {};
  auto stored = store_.find(account, name);
  TOLLGATE_TRY(stored);
  if (!stored->has_value()) {
    enforcer_->remove(account, name);
    return {};
  }
  auto blocking = blocking_budget(**stored);
  TOLLGATE_TRY(blocking);
  if (!blocking->has_value()) {
    enforcer_->remove(account, name);
    return {};
  }
  return enforcer_->install(std::move(**blocking));
}

Status BudgetsApi::install_blocking_budgets() {
  if (!enforcer_) return {};
  auto all = store_.list_all();
  TOLLGATE_TRY(all);
  for (const auto& stored : *all) {
    auto blocking = blocking_budget(stored);
    TOLLGATE_TRY(blocking);
    if (blocking->has_value()) TOLLGATE_TRY(enforcer_->install(std::move(**blocking)));
  }
  return {};
}

std::span<const std::pair<std::string_view, BudgetsApi::Handler>> BudgetsApi::operations() {
  static const std::pair<std::string_view, Handler> kOperations[] = {
      {"CreateBudget", &BudgetsApi::create_budget},
      {"DescribeBudget", &BudgetsApi::describe_budget},
      {"DescribeBudgets", &BudgetsApi::describe_budgets},
      {"UpdateBudget", &BudgetsApi::update_budget},
      {"DeleteBudget", &BudgetsApi::delete_budget},
      {"CreateNotification", &BudgetsApi::create_notification},
      {"DescribeNotificationsForBudget", &BudgetsApi::describe_notifications_for_budget},
      {"UpdateNotification", &BudgetsApi::update_notification},
      {"DeleteNotification", &BudgetsApi::delete_notification},
      {"CreateSubscriber", &BudgetsApi::create_subscriber},
      {"DescribeSubscribersForNotification", &BudgetsApi::describe_subscribers_for_notification},
      {"DeleteSubscriber", &BudgetsApi::delete_subscriber},
      {"DescribeBudgetPerformanceHistory", &BudgetsApi::describe_budget_performance_history},
      {"TagResource", &BudgetsApi::tag_resource},
      {"UntagResource", &BudgetsApi::untag_resource},
      {"ListTagsForResource", &BudgetsApi::list_tags_for_resource},
  };
  return kOperations;
}

void BudgetsApi::register_operations(Gateway& gateway) {
  for (const auto& [name, method] : operations()) {
    gateway.add_json("AWSBudgetServiceGateway." + std::string(name),
                     Operation{std::string(name), Protocol::AwsJson11, "budgets", false, body_limit_,
                               [this, method = method](const Call& call) -> Result<http::Response> {
                                 auto body = as_parameter_error(parse_json_object(call.request.body));
                                 TOLLGATE_TRY(body);
                                 auto response = (this->*method)(*body, call.auth.principal.account_id);
                                 TOLLGATE_TRY(response);
                                 return Gateway::json_response(200, json::serialize(*response), Protocol::AwsJson11);
                               }});
  }
}

}  // namespace tollgate::api::budgets
