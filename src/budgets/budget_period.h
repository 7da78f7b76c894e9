// A budget's periods: DAILY, MONTHLY, QUARTERLY and ANNUALLY budgets reset on UTC calendar boundaries
// (days, months, quarters from January, years); a CUSTOM budget has one period, its TimePeriod. A budget
// applies only inside its TimePeriod [start, end).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>

#include "core/clock.h"

namespace tollgate::budgets {

enum class TimeUnit { Daily, Monthly, Quarterly, Annually, Custom };
std::optional<TimeUnit> parse_time_unit(std::string_view text);  // "DAILY", "MONTHLY", ...

struct PeriodRule {
  TimeUnit unit = TimeUnit::Monthly;
  TimePoint start, end;  // the budget's TimePeriod
};

struct Period {
  TimePoint start, end;  // [start, end)
  bool contains(TimePoint t) const { return t >= start && t < end; }
};

// The period `now` falls in; before the budget's start, its first period.
Period current_period(const PeriodRule& rule, TimePoint now);

// A budget's limits: fixed, or planned per period (PlannedBudgetLimits, keyed by period start). A period
// without a planned limit takes the latest planned one before it (after the plan: its last one, as AWS
// does), or the first for a period before the plan.
struct BudgetLimits {
  int64_t fixed_nano_usd = 0;
  std::map<TimePoint, int64_t> planned_nano_usd;
  int64_t at(TimePoint period_start) const;
};

}  // namespace tollgate::budgets
