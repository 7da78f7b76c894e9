#include "costs/money.h"

namespace tollgate::costs {
namespace {

std::string trim_fraction(std::string text) {
  if (text.find('.') == std::string::npos) return text;
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

}  // namespace

std::string format_usd(int64_t nano_usd) {
  return format_ratio(nano_usd, 1'000'000'000, 9);
}

std::string format_ratio(int64_t numerator, int64_t denominator, int decimals) {
  const bool negative = (numerator < 0) != (denominator < 0) && numerator != 0;
  // Work in unsigned magnitudes (INT64_MIN has no positive counterpart).
  unsigned __int128 n = numerator < 0 ? -static_cast<unsigned __int128>(numerator) : numerator;
  unsigned __int128 d = denominator < 0 ? -static_cast<unsigned __int128>(denominator) : denominator;
  unsigned __int128 whole = n / d;
  unsigned __int128 rest = n % d;
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(whole % 10)));
    whole /= 10;
  } while (whole > 0);
  std::string out = negative ? "-" + digits : digits;
  if (decimals > 0 && rest != 0) {
    out += '.';
    for (int i = 0; i < decimals; ++i) {
      rest *= 10;
      out += static_cast<char>('0' + static_cast<int>(rest / d));
      rest %= d;
    }
  }
  out = trim_fraction(std::move(out));
  return out == "-0" ? "0" : out;
}

}  // namespace tollgate::costs
