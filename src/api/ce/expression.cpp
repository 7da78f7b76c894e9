#include "api/ce/expression.h"

#include <algorithm>
#include <array>
#include <vector>

#include "api/json_body.h"

namespace tollgate::api::ce {
namespace {

namespace json = boost::json;
using costs::Dimension;
using costs::Expression;

constexpr int kMaxExpressionDepth = 16;

// Cost Explorer's whole Dimension enum (the service model's), for the error an unknown name gets.
constexpr std::array<std::string_view, 35> kAwsDimensions = {"AZ",
                                                             "INSTANCE_TYPE",
                                                             "LINKED_ACCOUNT",
                                                             "PAYER_ACCOUNT",
                                                             "LINKED_ACCOUNT_NAME",
                                                             "OPERATION",
                                                             "PURCHASE_TYPE",
                                                             "REGION",
                                                             "SERVICE",
                                                             "SERVICE_CODE",
                                                             "USAGE_TYPE",
                                                             "USAGE_TYPE_GROUP",
                                                             "RECORD_TYPE",
                                                             "OPERATING_SYSTEM",
                                                             "TENANCY",
                                                             "SCOPE",
                                                             "PLATFORM",
                                                             "SUBSCRIPTION_ID",
                                                             "LEGAL_ENTITY_NAME",
                                                             "DEPLOYMENT_OPTION",
                                                             "DATABASE_ENGINE",
                                                             "CACHE_ENGINE",
                                                             "INSTANCE_TYPE_FAMILY",
                                                             "BILLING_ENTITY",
                                                             "RESERVATION_ID",
                                                             "RESOURCE_ID",
                                                             "RIGHTSIZING_TYPE",
                                                             "SAVINGS_PLANS_TYPE",
                                                             "SAVINGS_PLAN_ARN",
                                                             "PAYMENT_OPTION",
                                                             "AGREEMENT_END_DATE_TIME_AFTER",
                                                             "AGREEMENT_END_DATE_TIME_BEFORE",
                                                             "INVOICING_ENTITY",
                                                             "ANOMALY_TOTAL_IMPACT_ABSOLUTE",
                                                             "ANOMALY_TOTAL_IMPACT_PERCENTAGE"};

// tollgate's own dimensions (costs::is_extension), named after AWS's enum in the error an unknown name gets.
constexpr std::string_view kExtensionNote = " (tollgate adds IAM_PRINCIPAL, the caller's IAM ARN)";

Error invalid(std::string message) { return Error(ErrorCode::Validation, std::move(message)); }

const json::value* member(const json::object& obj, std::string_view field) {
  const auto* v = obj.if_contains(field);
  return (v && !v->is_null()) ? v : nullptr;
}

std::string join(const std::array<std::string_view, 35>& items) {
  std::string out;
  for (auto item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

Result<costs::Match> parse_match(const json::object& obj, std::string_view where, bool is_tag) {
  costs::Match match;
  auto values = optional_string_list(obj, "Values", false);
  TOLLGATE_TRY(values);
  match.values = std::move(values).value();
  auto options = optional_string_list(obj, "MatchOptions", false);
  TOLLGATE_TRY(options);
  int modes = 0;
  for (const auto& option : *options) {
    if (option == "CASE_SENSITIVE") continue;
    if (option == "CASE_INSENSITIVE") {
      match.case_insensitive = true;
      continue;
    }
    ++modes;
    if (option == "EQUALS") {
      match.mode = costs::MatchMode::Equals;
    } else if (option == "STARTS_WITH") {
      match.mode = costs::MatchMode::StartsWith;
    } else if (option == "ENDS_WITH") {
      match.mode = costs::MatchMode::EndsWith;
    } else if (option == "CONTAINS") {
      match.mode = costs::MatchMode::Contains;
    } else if (option == "ABSENT" && is_tag) {
      match.mode = costs::MatchMode::Absent;
    } else if (option == "ABSENT" || option == "GREATER_THAN_OR_EQUAL") {
      return invalid("The match option " + option + " does not apply to " + std::string(where) + ".");
    } else {
      return enum_error(option, std::string(where) + ".matchOptions",
                        "EQUALS, ABSENT, STARTS_WITH, ENDS_WITH, CONTAINS, CASE_SENSITIVE, CASE_INSENSITIVE, "
                        "GREATER_THAN_OR_EQUAL");
    }
  }
  if (modes > 1) {
    return invalid("MatchOptions of " + std::string(where) +
                   " may hold one of EQUALS, ABSENT, STARTS_WITH, ENDS_WITH or CONTAINS, plus a case option.");
  }
  if (match.values.empty() && match.mode != costs::MatchMode::Absent) {
    // Tags with a key and no values: the usage without that key (Cost Explorer's rule).
    if (!is_tag) return invalid("Dimensions in a filter need at least one value in Values.");
    match.mode = costs::MatchMode::Absent;
  }
  return match;
}

Result<Expression> parse_expression_at(const json::value& value, const std::string& where, int depth,
                                       bool with_resources) {
  if (depth > kMaxExpressionDepth) {
    return invalid("The filter nests deeper than " + std::to_string(kMaxExpressionDepth) + " levels.");
  }
  if (!value.is_object()) return invalid("The member '" + where + "' must be an object (an Expression).");
  const json::object& obj = value.as_object();
  std::vector<std::string_view> present;
  for (std::string_view field : {"And", "Or", "Not", "Dimensions", "Tags", "CostCategories"}) {
    if (member(obj, field)) present.push_back(field);
  }
  if (present.size() != 1) {
    return invalid("The Expression at '" + where +
                   "' must hold exactly one of And, Or, Not, Dimensions, Tags or CostCategories.");
  }
  std::string_view kind = present.front();
  const json::value& inner = *member(obj, kind);
  Expression e;
  if (kind == "CostCategories") {
    return invalid("tollgate has no cost categories: filter with Dimensions or Tags instead of CostCategories.");
  }
  if (kind == "And" || kind == "Or") {
    e.kind = kind == "And" ? Expression::Kind::And : Expression::Kind::Or;
    if (!inner.is_array() || inner.as_array().size() < 2) {
      return invalid("'" + where + "." + std::string(kind) + "' must be a list of at least two Expressions.");
    }
    for (size_t i = 0; i < inner.as_array().size(); ++i) {
      auto operand =
          parse_expression_at(inner.as_array()[i], where + "." + std::string(kind) + "[" + std::to_string(i) + "]",
                              depth + 1, with_resources);
      TOLLGATE_TRY(operand);
      e.operands.push_back(std::move(operand).value());
    }
    return e;
  }
  if (kind == "Not") {
    e.kind = Expression::Kind::Not;
    auto operand = parse_expression_at(inner, where + ".Not", depth + 1, with_resources);
    TOLLGATE_TRY(operand);
    e.operands.push_back(std::move(operand).value());
    return e;
  }
  if (!inner.is_object()) return invalid("The member '" + where + "." + std::string(kind) + "' must be an object.");
  const json::object& values = inner.as_object();
  if (kind == "Dimensions") {
    e.kind = Expression::Kind::Dimension;
    auto key = required_string(values, "Key", where + ".Dimensions.Key");
    TOLLGATE_TRY(key);
    auto dimension = parse_dimension(*key, "filter.dimensions.key", with_resources);
    TOLLGATE_TRY(dimension);
    e.dimension = *dimension;
    auto match = parse_match(values, where + ".Dimensions", false);
    TOLLGATE_TRY(match);
    e.match = std::move(match).value();
    return e;
  }
  e.kind = Expression::Kind::Tag;
  auto key = optional_string(values, "Key", where + ".Tags.Key");
  TOLLGATE_TRY(key);
  if (!key->has_value() || (*key)->empty()) {
    return invalid("Tags in a filter need a Key (the tag key, e.g. \"team\").");
  }
  e.tag_key = **key;
  auto match = parse_match(values, where + ".Tags", true);
  TOLLGATE_TRY(match);
  e.match = std::move(match).value();
  return e;
}

}  // namespace

Error enum_error(std::string_view value, std::string_view where, std::string_view allowed) {
  return invalid("1 validation error detected: Value '" + std::string(value) + "' at '" + std::string(where) +
                 "' failed to satisfy constraint: Member must satisfy enum value set: [" + std::string(allowed) + "]");
}

Result<Dimension> parse_dimension(std::string_view name, std::string_view where, bool with_resources) {
  auto dimension = costs::parse_dimension(name);
  const bool extension = dimension && costs::is_extension(*dimension);
  if (!extension && std::find(kAwsDimensions.begin(), kAwsDimensions.end(), name) == kAwsDimensions.end()) {
    return invalid(enum_error(name, where, join(kAwsDimensions)).message() + std::string(kExtensionNote));
  }
  if (!dimension) {
    return invalid("The dimension " + std::string(name) + " does not apply to tollgate's Bedrock usage; use one of " +
                   costs::dimension_names() + ".");
  }
  if (*dimension == Dimension::ResourceId && !with_resources) {
    return invalid("RESOURCE_ID is available through GetCostAndUsageWithResources only.");
  }
  return *dimension;
}

Result<Expression> parse_expression(const json::value& value, const std::string& where, bool with_resources) {
  return parse_expression_at(value, where, 0, with_resources);
}

}  // namespace tollgate::api::ce
