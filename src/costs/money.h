// Amounts as text. Money is integer nano-USD inside tollgate; Cost Explorer and the exports write decimal
// strings, exact to the nano-dollar.
#pragma once

#include <cstdint>
#include <string>

namespace tollgate::costs {

// 1234567890 -> "1.23456789", 0 -> "0", -5 -> "-0.000000005": every digit, no trailing zeros, no exponent.
std::string format_usd(int64_t nano_usd);

// A rate with up to `decimals` digits after the point, trailing zeros dropped: `numerator / denominator`
// USD, exact when the quotient has that many digits (e.g. a price per token from nano-USD per million).
std::string format_ratio(int64_t numerator, int64_t denominator, int decimals);

}  // namespace tollgate::costs
