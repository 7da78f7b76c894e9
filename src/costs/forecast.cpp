#include "costs/forecast.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace tollgate::costs {

double normal_quantile_two_sided(int level) {
  // P(|Z| <= z) = erf(z / sqrt 2) = level / 100; erf is increasing, so bisect.
  const double target = level / 100.0;
  double lo = 0, hi = 10;
  for (int i = 0; i < 100; ++i) {
    double mid = (lo + hi) / 2;
    (std::erf(mid / std::sqrt(2.0)) < target ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

Result<Forecast> forecast(const std::vector<double>& history, size_t offset, const std::vector<ForecastPeriod>& periods,
                          int prediction_interval_level) {
  const size_t n = history.size();
  if (n < kMinForecastHistoryDays) {
    return Error(ErrorCode::DataUnavailable,
                 "Insufficient amount of historical data. A forecast needs " + std::to_string(kMinForecastHistoryDays) +
                     " days of usage history before today; the ledger has " + std::to_string(n) + ".");
  }
  double mean_t = (n - 1) / 2.0, mean_y = 0;
  for (double y : history) mean_y += y;
  mean_y /= n;
  double sxx = 0, sxy = 0;
  for (size_t t = 0; t < n; ++t) {
    sxx += (t - mean_t) * (t - mean_t);
    sxy += (t - mean_t) * (history[t] - mean_y);
  }
  const double slope = sxy / sxx;
  const double intercept = mean_y - slope * mean_t;
  double residuals = 0;
  for (size_t t = 0; t < n; ++t) {
    double r = history[t] - (intercept + slope * t);
    residuals += r * r;
  }
  const double s2 = residuals / static_cast<double>(n - 2);
  const double z = normal_quantile_two_sided(prediction_interval_level);

  Forecast out;
  double total_variance = 0;
  for (const auto& p : periods) {
    double mean = 0, variance = 0;
    for (size_t d = p.first_day; d < p.first_day + p.day_count; ++d) {
      const double t = static_cast<double>(n + offset + d);
      mean += std::max(0.0, intercept + slope * t);
      variance += s2 * (1 + 1.0 / n + (t - mean_t) * (t - mean_t) / sxx);
    }
    const double half = z * std::sqrt(variance);
    out.periods.push_back({mean, std::max(0.0, mean - half), mean + half});
    out.total.mean += mean;
    total_variance += variance;
  }
  const double half = z * std::sqrt(total_variance);
  out.total.lower = std::max(0.0, out.total.mean - half);
  out.total.upper = out.total.mean + half;
  return out;
}

}  // namespace tollgate::costs
