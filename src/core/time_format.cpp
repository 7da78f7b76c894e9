#include "core/time_format.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <string>

namespace tollgate {

using namespace std::chrono;

std::string format_iso8601(TimePoint t) {
  auto ms = time_point_cast<milliseconds>(t);
  auto day = floor<days>(ms);
  year_month_day ymd{day};
  hh_mm_ss hms{ms - day};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%03ldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
                static_cast<long>(hms.seconds().count()), static_cast<long>(hms.subseconds().count()));
  return buf;
}

namespace {

// `t` to the second (floored) through a printf format taking year, month, day, hours, minutes, seconds.
std::string format_seconds(TimePoint t, const char* format) {
  auto s = floor<seconds>(t);
  auto day = floor<days>(s);
  year_month_day ymd{day};
  hh_mm_ss hms{s - day};
  char buf[64];
  std::snprintf(buf, sizeof buf, format, static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<long>(hms.hours().count()),
                static_cast<long>(hms.minutes().count()), static_cast<long>(hms.seconds().count()));
  return buf;
}

}  // namespace

std::string format_date_time(TimePoint t) { return format_seconds(t, "%04d-%02u-%02uT%02ld:%02ld:%02ldZ"); }

std::string format_date(TimePoint t) { return format_date_time(t).substr(0, 10); }

std::optional<TimePoint> parse_date_or_date_time(std::string_view text) {
  int y, mo, d, h = 0, mi = 0, s = 0;
  char tail = 0;
  std::string copy(text);
  if (text.size() == 10) {
    if (std::sscanf(copy.c_str(), "%4d-%2d-%2d%c", &y, &mo, &d, &tail) != 3) return std::nullopt;
  } else if (text.size() == 20 && text[10] == 'T' && text[19] == 'Z') {
    if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ", &y, &mo, &d, &h, &mi, &s) != 6) return std::nullopt;
  } else {
    return std::nullopt;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    const bool separator = i == 4 || i == 7 || i == 10 || i == 13 || i == 16 || i == 19;
    if (!separator && !std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
  }
  if (text[4] != '-' || text[7] != '-') return std::nullopt;
  if (text.size() == 20 && (text[13] != ':' || text[16] != ':')) return std::nullopt;
  year_month_day date{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
  // TimePoint (nanoseconds) spans 1677-2262; usage is recorded from 1970 on.
  if (!date.ok() || y < 1970 || y > 2200 || h > 23 || mi > 59 || s > 59) return std::nullopt;
  return sys_days(date) + hours(h) + minutes(mi) + seconds(s);
}

std::string format_amz_date(TimePoint t) { return format_seconds(t, "%04d%02u%02uT%02ld%02ld%02ldZ"); }

std::optional<TimePoint> parse_amz_date(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  auto digits = [&](size_t pos, size_t n) -> int {
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return -1;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  int y = digits(0, 4), mo = digits(4, 2), d = digits(6, 2);
  int h = digits(9, 2), mi = digits(11, 2), s = digits(13, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0) return std::nullopt;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  return sys_days{ymd} + hours{h} + minutes{mi} + seconds{s};
}

}  // namespace tollgate
