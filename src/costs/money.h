// Amounts as text. Money is integer nano-USD inside tollgate; Cost Explorer and the exports write decimal
// strings, exact to the nano-dollar.
#pragma once

#include <cstdint>
#include <string>

namespace tollgate::costs {

// 1234567890 -> "1.23456789", 0 -> "0", -5 -> "-0.000000005": every digit, no trailing zeros, no exponent.
std::string format_usd(int64_t nano_usd);

// The USD per unit of `nano_usd` spread over `units` (> 0), with up to `decimals` digits after the point
// (truncated), trailing zeros dropped: a rate per token, e.g. (250, 1) -> "0.00000025".
std::string format_usd_per_unit(int64_t nano_usd, int64_t units, int decimals = 15);

}  // namespace tollgate::costs
