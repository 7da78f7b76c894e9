#include "costs/cost_query.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <unordered_map>

#include "costs/usage_type.h"

namespace tollgate::costs {
namespace {

constexpr std::array<std::pair<Dimension, std::string_view>, 9> kDimensionNames = {{
    {Dimension::Service, "SERVICE"},
    {Dimension::ServiceCode, "SERVICE_CODE"},
    {Dimension::Region, "REGION"},
    {Dimension::UsageType, "USAGE_TYPE"},
    {Dimension::Operation, "OPERATION"},
    {Dimension::LinkedAccount, "LINKED_ACCOUNT"},
    {Dimension::RecordType, "RECORD_TYPE"},
    {Dimension::ResourceId, "RESOURCE_ID"},
    {Dimension::IamPrincipal, "IAM_PRINCIPAL"},
}};

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool match_one(MatchMode mode, std::string_view value, std::string_view pattern) {
  switch (mode) {
    case MatchMode::Equals:
      return value == pattern;
    case MatchMode::StartsWith:
      return value.starts_with(pattern);
    case MatchMode::EndsWith:
      return value.ends_with(pattern);
    case MatchMode::Contains:
      return value.find(pattern) != std::string_view::npos;
    case MatchMode::Absent:
      return false;
  }
  return false;
}

}  // namespace

std::optional<Dimension> parse_dimension(std::string_view name) {
  for (const auto& [dimension, text] : kDimensionNames) {
    if (text == name) return dimension;
  }
  return std::nullopt;
}

bool is_extension(Dimension dimension) { return dimension == Dimension::IamPrincipal; }

std::string_view to_string(Dimension dimension) {
  for (const auto& [d, text] : kDimensionNames) {
    if (d == dimension) return text;
  }
  return "";
}

std::string dimension_names() {
  std::string out;
  for (const auto& [d, text] : kDimensionNames) {
    if (!out.empty()) out += ", ";
    out += text;
  }
  return out;
}

std::string_view dimension_value(Dimension dimension, const Fact& fact) {
  switch (dimension) {
    case Dimension::Service:
      return kServiceName;
    case Dimension::ServiceCode:
      return kServiceCode;
    case Dimension::Region:
      return fact.dims->billing_region;
    case Dimension::UsageType:
      return fact.usage_type();
    case Dimension::Operation:
      return fact.dims->billing_operation;
    case Dimension::LinkedAccount:
      return fact.dims->account_id;
    case Dimension::RecordType:
      return fact.credit ? kCreditRecordType : kRecordType;
    case Dimension::ResourceId:
      return fact.dims->resource_id;
    case Dimension::IamPrincipal:
      return fact.dims->principal;  // empty for a credit
  }
  return "";
}

bool Match::matches(std::optional<std::string_view> value) const {
  if (mode == MatchMode::Absent) return !value.has_value();
  std::string_view v = value.value_or("");
  const std::string folded = case_insensitive ? lower(v) : std::string();
  for (const auto& pattern : values) {
    if (case_insensitive ? match_one(mode, folded, lower(pattern)) : match_one(mode, v, pattern)) return true;
  }
  return false;
}

std::optional<std::string_view> tag_value(const Fact& fact, std::string_view key) {
  for (const auto& tag : *fact.tags) {
    if (tag.key == key) return std::string_view(tag.value);
  }
  return std::nullopt;
}

bool Expression::matches(const Fact& fact) const {
  switch (kind) {
    case Kind::And:
      return std::all_of(operands.begin(), operands.end(), [&](const Expression& e) { return e.matches(fact); });
    case Kind::Or:
      return std::any_of(operands.begin(), operands.end(), [&](const Expression& e) { return e.matches(fact); });
    case Kind::Not:
      return !operands.front().matches(fact);
    case Kind::Dimension:
      return match.matches(dimension_value(dimension, fact));
    case Kind::Tag:
      return match.matches(tag_value(fact, tag_key));
  }
  return false;
}

std::string GroupKey::key_of(const Fact& fact) const {
  if (!is_tag) return std::string(dimension_value(dimension, fact));
  return tag_key + "$" + std::string(tag_value(fact, tag_key).value_or(""));
}

std::vector<TimePoint> period_boundaries(TimePoint start, TimePoint end, Granularity granularity) {
  using namespace std::chrono;
  std::vector<TimePoint> out{start};
  while (out.back() < end) {
    TimePoint next;
    switch (granularity) {
      case Granularity::Hourly:
        next = floor<hours>(out.back()) + hours(1);
        break;
      case Granularity::Daily:
        next = floor<days>(out.back()) + days(1);
        break;
      case Granularity::Monthly:
        next = month_start(out.back(), 1);
        break;
    }
    out.push_back(std::min(next, end));
  }
  return out;
}

namespace {

// A group's sums in one period; `seen` once any fact was added (a group of zero amounts is still listed).
struct GroupSums {
  Amounts amounts;
  bool seen = false;
};

// What a query does with the facts of one key: keep them or not, and into which group.
struct Decision {
  bool kept;
  size_t group;  // index into the query's group keys
};

}  // namespace

Result<std::vector<CostPeriod>> run_cost_query(FactSource& source, const CostQuery& query) {
  const std::vector<TimePoint> bounds = period_boundaries(query.start, query.end, query.granularity);
  std::vector<CostPeriod> periods;
  for (size_t i = 0; i + 1 < bounds.size(); ++i) periods.push_back(CostPeriod{bounds[i], bounds[i + 1], {}, {}});

  std::unordered_map<FactKey, Decision, FactKeyHash> decisions;  // worked out once per distinct key
  std::vector<std::vector<std::string>> group_keys;
  std::map<std::vector<std::string>, size_t> group_index;
  std::vector<std::vector<GroupSums>> sums(periods.size());  // [period][group]
  const bool grouped = !query.group_by.empty();

  auto decide = [&](const Fact& fact, const FactKey& key) -> const Decision* {
    auto it = decisions.find(key);
    if (it != decisions.end()) return &it->second;  // unordered_map values keep their address
    Decision d{!query.filter || query.filter->matches(fact), 0};
    if (d.kept && grouped) {
      std::vector<std::string> keys;
      for (const auto& g : query.group_by) keys.push_back(g.key_of(fact));
      auto [found, inserted] = group_index.emplace(keys, group_keys.size());
      if (inserted) group_keys.push_back(std::move(keys));
      d.group = found->second;
    }
    return &decisions.emplace(key, d).first->second;
  };

  size_t period = 0;
  auto status = source.scan(query.start, query.end, query.account, [&](const Fact& fact) {
    while (period + 1 < periods.size() && fact.hour >= periods[period].end) ++period;  // facts come in hour order
    // One lookup per fact: consecutive rollup rows differ in their usage type, so they rarely share a key.
    const Decision* decision = decide(fact, key_of(fact));
    if (!decision->kept) return;
    const Amounts amounts = amounts_of(fact);
    periods[period].total += amounts;
    if (!grouped) return;
    auto& period_sums = sums[period];
    if (period_sums.size() <= decision->group) period_sums.resize(group_keys.size());
    period_sums[decision->group].amounts += amounts;
    period_sums[decision->group].seen = true;
  });
  TOLLGATE_TRY(status);
  for (size_t p = 0; p < periods.size(); ++p) {
    for (size_t group = 0; group < sums[p].size(); ++group) {
      if (sums[p][group].seen) periods[p].groups.push_back(CostGroup{group_keys[group], sums[p][group].amounts});
    }
    std::sort(periods[p].groups.begin(), periods[p].groups.end(),
              [](const CostGroup& a, const CostGroup& b) { return a.keys < b.keys; });
  }
  return periods;
}

}  // namespace tollgate::costs
