// A cost forecast from the ledger's daily history: a least-squares line through the daily amounts of the
// history, extended over the days asked for, with a prediction interval at the level asked for (normal
// errors; the variance of each day's prediction, summed over a period's days). doc/costs.md, "Forecasts".
//
// Thread-safety: pure functions.
#pragma once

#include <vector>

#include "core/result.h"

namespace tollgate::costs {

// Days of history needed (from the first day with usage to yesterday) before a forecast is given.
inline constexpr size_t kMinForecastHistoryDays = 7;

struct ForecastPeriod {
  size_t first_day, day_count;  // days counted from the first forecast day (today = 0 when it starts today)
};

struct ForecastValue {
  double mean = 0, lower = 0, upper = 0;
};

struct Forecast {
  std::vector<ForecastValue> periods;
  ForecastValue total;
};

// `history`: one amount per day, oldest first, ending yesterday; `offset`: days from the day after the
// history's last day to the first forecast day. DataUnavailable with fewer than kMinForecastHistoryDays.
Result<Forecast> forecast(const std::vector<double>& history, size_t offset, const std::vector<ForecastPeriod>& periods,
                          int prediction_interval_level);

// The z value of a two-sided normal interval holding `level` percent (80 -> 1.2816).
double normal_quantile_two_sided(int level);

}  // namespace tollgate::costs
