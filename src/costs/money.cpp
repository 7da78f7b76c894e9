#include "costs/money.h"

namespace tollgate::costs {
namespace {

__extension__ using uint128 = unsigned __int128;

// numerator / denominator as a decimal with up to `decimals` digits after the point, trailing zeros dropped.
std::string format_quotient(bool negative, uint128 numerator, uint128 denominator, int decimals) {
  uint128 whole = numerator / denominator;
  uint128 rest = numerator % denominator;
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(whole % 10)));
    whole /= 10;
  } while (whole > 0);
  std::string fraction;
  for (int i = 0; i < decimals && rest != 0; ++i) {
    rest *= 10;
    fraction += static_cast<char>('0' + static_cast<int>(rest / denominator));
    rest %= denominator;
  }
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  std::string out = fraction.empty() ? digits : digits + "." + fraction;
  return negative && out != "0" ? "-" + out : out;
}

uint128 magnitude(int64_t value) {
  return value < 0 ? static_cast<uint128>(-(value + 1)) + 1 : static_cast<uint128>(value);  // INT64_MIN too
}

}  // namespace

std::string format_usd(int64_t nano_usd) {
  return format_quotient(nano_usd < 0, magnitude(nano_usd), 1'000'000'000, 9);
}

std::string format_usd_per_unit(int64_t nano_usd, int64_t units, int decimals) {
  if (units <= 0) return "0";
  return format_quotient(nano_usd < 0, magnitude(nano_usd), static_cast<uint128>(units) * 1'000'000'000, decimals);
}

}  // namespace tollgate::costs
