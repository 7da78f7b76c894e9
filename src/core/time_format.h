// UTC time text in the forms the AWS wire formats use.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace tollgate {

// "2024-10-01T12:00:00.123Z" (iso8601 with milliseconds, as Bedrock returns timestamps).
std::string format_iso8601(TimePoint t);

// "2026-11-03T10:00:00Z" (to the second, floored), as Cost Explorer, CUR and FOCUS write times.
std::string format_date_time(TimePoint t);
// "2026-11-03": the UTC day of `t`.
std::string format_date(TimePoint t);

// "2026-11-03" or "2026-11-03T10:00:00Z" (Cost Explorer's YearMonthDay), years 1970 to 2200; nullopt when
// malformed or not a real date and time.
std::optional<TimePoint> parse_date_or_date_time(std::string_view text);

// "20150830T123600Z" (X-Amz-Date). Returns nullopt unless exactly that form and a valid time.
std::optional<TimePoint> parse_amz_date(std::string_view text);
std::string format_amz_date(TimePoint t);

}  // namespace tollgate
