// A Cost Explorer query over the usage facts: a time period cut into hours, days or months, a filter
// expression over dimensions and (active) tags, up to two group-by keys; the answer is, per period, the
// cost and usage of each group, summed exactly in nano-USD and tokens. The JSON of Cost Explorer is not
// here (api/ce parses and writes it); the CLI runs the same queries.
//
// Thread-safety: pure functions over a FactSource (one scan at a time).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "costs/facts.h"

namespace tollgate::costs {

enum class Granularity { Hourly, Daily, Monthly };

// The Cost Explorer dimensions tollgate's usage has. IamPrincipal ("IAM_PRINCIPAL", the caller's IAM ARN) is
// tollgate's extension: Cost Explorer's enum has no such dimension (AWS shows the caller in CUR 2.0's
// line_item_iam_principal); a Credit fact has none (the empty value), as it has no resource in the exports.
enum class Dimension {
  Service,
  ServiceCode,
  Region,
  UsageType,
  Operation,
  LinkedAccount,
  RecordType,
  ResourceId,
  IamPrincipal
};
// True for the dimensions tollgate adds to Cost Explorer's enum.
bool is_extension(Dimension dimension);
std::optional<Dimension> parse_dimension(std::string_view name);  // "SERVICE", "REGION", ...
std::string_view to_string(Dimension dimension);
std::string_view dimension_value(Dimension dimension, const Fact& fact);
// The names parse_dimension accepts, for error messages: "SERVICE, SERVICE_CODE, ...".
std::string dimension_names();

enum class MatchMode { Equals, StartsWith, EndsWith, Contains, Absent };
struct Match {
  MatchMode mode = MatchMode::Equals;
  bool case_insensitive = false;
  std::vector<std::string> values;
  // An absent value (a tag key the usage does not carry, or carries inactive) is the empty string, except
  // for Absent, which matches only it.
  bool matches(std::optional<std::string_view> value) const;
};

struct Expression {
  enum class Kind { And, Or, Not, Dimension, Tag };
  Kind kind = Kind::And;
  std::vector<Expression> operands;  // And, Or: two or more; Not: one
  Dimension dimension = Dimension::Service;
  std::string tag_key;
  Match match;

  bool matches(const Fact& fact) const;
};

// The value of a tag key on a fact: its value if the usage carried the key and the key was active, else none.
std::optional<std::string_view> tag_value(const Fact& fact, std::string_view key);

struct GroupKey {
  bool is_tag = false;
  Dimension dimension = Dimension::Service;
  std::string tag_key;
  // A group's key text: the dimension value, or "<tag key>$<value>" ("team$" for usage without it).
  std::string key_of(const Fact& fact) const;
};

struct CostQuery {
  TimePoint start, end;  // [start, end): whole hours
  Granularity granularity = Granularity::Monthly;
  std::optional<Expression> filter;
  std::vector<GroupKey> group_by;  // at most two
  std::optional<std::string> account;
};

struct Amounts {
  int64_t cost_nano_usd = 0;      // usage charges (UnblendedCost): credits left out
  int64_t usage_quantity = 0;     // tokens
  int64_t net_cost_nano_usd = 0;  // usage charges less the credits applied to them (NetUnblendedCost)
  Amounts& operator+=(const Amounts& other) {
    cost_nano_usd += other.cost_nano_usd;
    usage_quantity += other.usage_quantity;
    net_cost_nano_usd += other.net_cost_nano_usd;
    return *this;
  }
  int64_t credits_nano_usd() const { return net_cost_nano_usd - cost_nano_usd; }  // ≤ 0
};
// What one fact adds: a usage fact its cost and tokens, a Credit fact only its (negative) net cost.
inline Amounts amounts_of(const Fact& fact) {
  if (fact.credit) return Amounts{0, 0, fact.cost_nano_usd};
  return Amounts{fact.cost_nano_usd, fact.tokens, fact.cost_nano_usd};
}

struct CostGroup {
  std::vector<std::string> keys;
  Amounts amounts;
};

struct CostPeriod {
  TimePoint start, end;
  Amounts total;                  // of every fact the filter keeps
  std::vector<CostGroup> groups;  // with group_by: the non-empty groups, sorted by keys
};

// The boundaries of the periods of [start, end): start, each hour/midnight/first of a month in between, end.
std::vector<TimePoint> period_boundaries(TimePoint start, TimePoint end, Granularity granularity);

Result<std::vector<CostPeriod>> run_cost_query(FactSource& source, const CostQuery& query);

}  // namespace tollgate::costs
