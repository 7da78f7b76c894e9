#include "budgets/budget_period.h"

#include <algorithm>
#include <chrono>

#include "costs/cost_allocation_tags.h"

namespace tollgate::budgets {

std::optional<TimeUnit> parse_time_unit(std::string_view text) {
  if (text == "DAILY") return TimeUnit::Daily;
  if (text == "MONTHLY") return TimeUnit::Monthly;
  if (text == "QUARTERLY") return TimeUnit::Quarterly;
  if (text == "ANNUALLY") return TimeUnit::Annually;
  if (text == "CUSTOM") return TimeUnit::Custom;
  return std::nullopt;
}

Period current_period(const PeriodRule& rule, TimePoint now) {
  using std::chrono::days;
  if (rule.unit == TimeUnit::Custom) return {rule.start, rule.end};
  const TimePoint at = std::max(now, rule.start);
  if (rule.unit == TimeUnit::Daily) {
    const TimePoint day = std::chrono::floor<days>(at);
    return {day, day + days(1)};
  }
  const TimePoint month = costs::month_start(at);
  if (rule.unit == TimeUnit::Monthly) return {month, costs::month_start(month, 1)};
  const std::chrono::year_month_day date{std::chrono::floor<days>(month)};
  const int month_index = static_cast<int>(static_cast<unsigned>(date.month())) - 1;
  const bool quarterly = rule.unit == TimeUnit::Quarterly;
  const TimePoint start = costs::month_start(month, -(quarterly ? month_index % 3 : month_index));
  return {start, costs::month_start(start, quarterly ? 3 : 12)};
}

int64_t BudgetLimits::at(TimePoint period_start) const {
  if (planned_nano_usd.empty()) return fixed_nano_usd;
  auto after = planned_nano_usd.upper_bound(period_start);
  return after == planned_nano_usd.begin() ? after->second : std::prev(after)->second;
}

}  // namespace tollgate::budgets
