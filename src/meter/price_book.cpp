// Price book loading (JSON → validated, sorted entries), lookups and the integer cost arithmetic. See
// price_book.h; the format is specified in doc/pricing.md.
#include "meter/price_book.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "core/error.h"
#include "meter/embedded_prices.h"

namespace tollgate::meter {
namespace {

namespace json = boost::json;

__extension__ typedef unsigned __int128 uint128;  // -Wpedantic: __int128 is a GNU extension

constexpr std::string_view kUnits = "nano-USD per 1000000 tokens";
constexpr int64_t kTokensPerPriceUnit = 1'000'000;
constexpr int64_t kNanoPerUsd = 1'000'000'000;
constexpr int kMaxFractionDigits = 9;

// Splits `text` on '-' and checks every part (index, is-last); no std::regex for two tiny grammars.
template <class Check>
bool dash_parts(std::string_view text, Check check) {
  size_t index = 0;
  for (size_t i = 0; i <= text.size(); ++index) {  // runs at least once: "" is one empty part
    size_t end = text.find('-', i);
    if (end == std::string_view::npos) end = text.size();
    if (!check(text.substr(i, end - i), index, end == text.size())) return false;
    i = end + 1;
  }
  return true;
}

bool all_of(std::string_view s, bool (*pred)(char)) { return !s.empty() && std::all_of(s.begin(), s.end(), pred); }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// [a-z]{2}(-[a-z]+)+-[0-9]{1,2}, e.g. "us-gov-west-1" (the catalog's Region pattern).
bool is_region(std::string_view text) {
  size_t parts = 0;
  return dash_parts(text,
                    [&](std::string_view part, size_t index, bool last) {
                      ++parts;
                      if (index == 0) return part.size() == 2 && all_of(part, is_lower);
                      if (last) return parts >= 3 && part.size() <= 2 && all_of(part, is_digit);
                      return all_of(part, is_lower);
                    }) &&
         parts >= 3;
}

// [a-z]+(-[a-z]+)*, e.g. "us", "us-gov".
bool is_geography(std::string_view text) {
  return dash_parts(text, [](std::string_view part, size_t, bool) { return all_of(part, is_lower); });
}

[[noreturn]] void fail(const std::string& where, std::string_view what) {
  throw StartupError("price book: " + where + ": " + std::string(what));
}

// The four token types, in one list: JSON field ↔ TokenPrices member.
struct TokenField {
  std::string_view json_name;
  std::optional<int64_t> TokenPrices::*member;
};
constexpr std::array kTokenFields = {
    TokenField{"input", &TokenPrices::input},
    TokenField{"output", &TokenPrices::output},
    TokenField{"cacheRead", &TokenPrices::cache_read},
    TokenField{"cacheWrite", &TokenPrices::cache_write},
};

int64_t price_value(const json::value& v, const std::string& where) {
  if (v.is_int64() && v.get_int64() >= 0) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= uint64_t(std::numeric_limits<int64_t>::max())) {
    return static_cast<int64_t>(v.get_uint64());
  }
  fail(where, "expected a non-negative integer (nano-USD per 1000000 tokens)");
}

std::string optional_string(const json::object& obj, std::string_view key, const std::string& where) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr) return {};
  if (!v->is_string() || v->get_string().empty()) fail(where + "." + std::string(key), "expected a non-empty string");
  return std::string(v->get_string());
}

struct ParsedEntry {
  std::string model_id, region, geography;
  TokenPrices prices;
};

ParsedEntry parse_entry(const json::value& v, const std::string& where) {
  if (!v.is_object()) fail(where, "expected an object");
  const json::object& obj = v.get_object();
  ParsedEntry e;
  const json::value* model = obj.if_contains("model");
  if (model == nullptr || !model->is_string() || model->get_string().empty()) {
    fail(where + ".model", "expected a non-empty string");
  }
  e.model_id = std::string(model->get_string());
  const std::string at = where + " (" + e.model_id + ")";
  e.region = optional_string(obj, "region", at);
  if (!e.region.empty() && !is_region(e.region)) {
    fail(at + ".region", "\"" + e.region + "\" is not a Region name");
  }
  e.geography = optional_string(obj, "geography", at);
  if (!e.geography.empty() && !is_geography(e.geography)) {
    fail(at + ".geography", "\"" + e.geography + "\" is not a geography prefix");
  }
  bool any = false;
  for (const auto& [key, value] : obj) {
    if (key == "model" || key == "region" || key == "geography") continue;
    auto field = std::find_if(kTokenFields.begin(), kTokenFields.end(),
                              [&](const TokenField& f) { return f.json_name == std::string_view(key); });
    if (field == kTokenFields.end()) fail(at, "unknown field \"" + std::string(key) + "\"");
    e.prices.*(field->member) = price_value(value, at + "." + std::string(key));
    any = true;
  }
  if (!any) fail(at, "has no price (input, output, cacheRead or cacheWrite)");
  return e;
}

template <class T>
auto lower_bound_by_id(T& models, std::string_view model_id) {
  return std::lower_bound(models.begin(), models.end(), model_id,
                          [](const auto& m, std::string_view id) { return m.model_id < id; });
}

// 0 = base, 1 = geography, 2 = region, 3 = region + geography: higher wins.
int specificity(const std::string& region, const std::string& geography) {
  return (region.empty() ? 0 : 2) + (geography.empty() ? 0 : 1);
}

int64_t cost_of_one(int64_t tokens, const std::optional<int64_t>& price, bool& missing) {
  if (tokens <= 0) return 0;
  if (!price.has_value()) {
    missing = true;
    return 0;
  }
  // tokens < 2^63 and price < 2^63, so the product and the added half fit in 128 bits.
  uint128 nano = uint128(uint64_t(tokens)) * uint64_t(std::max<int64_t>(*price, 0));
  nano = (nano + kTokensPerPriceUnit / 2) / kTokensPerPriceUnit;
  constexpr auto kMax = uint128(uint64_t(std::numeric_limits<int64_t>::max()));
  return nano > kMax ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(nano);
}

Error bad_price(std::string_view text, std::string_view why) {
  return Error(ErrorCode::Validation,
               "Invalid price \"" + std::string(text) + "\": " + std::string(why) +
                   ". Expected a decimal number of USD per million tokens such as \"0.25\", \"15\" or \"3.125\": "
                   "digits, optionally a point and 1 to 9 fraction digits, no sign or exponent.");
}

}  // namespace

PriceBook PriceBook::embedded() { return from_json(detail::embedded_prices_json()); }

PriceBook PriceBook::from_json(std::string_view text) {
  boost::system::error_code ec;
  json::value doc = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) fail("JSON", ec.message());
  if (!doc.is_object()) fail("top level", "expected an object");
  const json::object& root = doc.get_object();

  const json::value* units = root.if_contains("units");
  if (units == nullptr || !units->is_string() ||
      units->get_string() != json::string_view(kUnits.data(), kUnits.size())) {
    fail("units", "must be \"" + std::string(kUnits) + "\"");
  }

  PriceBook book;
  const json::value* prices = root.if_contains("prices");
  if (prices == nullptr || !prices->is_array()) fail("prices", "expected an array");
  const json::array& list = prices->get_array();
  for (size_t i = 0; i < list.size(); ++i) {
    std::string where = "prices[" + std::to_string(i) + "]";
    ParsedEntry e = parse_entry(list[i], where);
    auto it = lower_bound_by_id(book.models_, e.model_id);
    if (it != book.models_.end() && it->model_id == e.model_id) {
      for (const Entry& existing : it->entries) {
        if (existing.region == e.region && existing.geography == e.geography) {
          fail(where + " (" + e.model_id + ")", "duplicate price for the same model, region and geography");
        }
      }
    }
    book.set(std::move(e.model_id), std::move(e.region), std::move(e.geography), e.prices);
  }

  if (const json::value* unpriced = root.if_contains("unpriced")) {
    if (!unpriced->is_array()) fail("unpriced", "expected an array");
    const json::array& items = unpriced->get_array();
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string where = "unpriced[" + std::to_string(i) + "]";
      if (!items[i].is_object()) fail(where, "expected an object");
      const json::value* model = items[i].get_object().if_contains("model");
      if (model == nullptr || !model->is_string() || model->get_string().empty()) {
        fail(where + ".model", "expected a non-empty string");
      }
      book.unpriced_.emplace_back(model->get_string());
    }
    std::sort(book.unpriced_.begin(), book.unpriced_.end());
    book.unpriced_.erase(std::unique(book.unpriced_.begin(), book.unpriced_.end()), book.unpriced_.end());
  }
  return book;
}

void PriceBook::set(std::string model_id, std::string region, std::string geography, TokenPrices prices) {
  if (model_id.empty()) throw StartupError("price book: a price needs a model id");
  if (!region.empty() && !is_region(region)) {
    throw StartupError("price book: " + model_id + ": \"" + region + "\" is not a Region name");
  }
  if (!geography.empty() && !is_geography(geography)) {
    throw StartupError("price book: " + model_id + ": \"" + geography + "\" is not a geography prefix");
  }
  for (const TokenField& f : kTokenFields) {
    const std::optional<int64_t>& p = prices.*(f.member);
    if (p.has_value() && *p < 0) {
      throw StartupError("price book: " + model_id + ": negative " + std::string(f.json_name) + " price");
    }
  }
  auto it = lower_bound_by_id(models_, model_id);
  if (it == models_.end() || it->model_id != model_id) it = models_.insert(it, Model{std::move(model_id), {}});
  for (Entry& e : it->entries) {
    if (e.region == region && e.geography == geography) {
      e.prices = prices;
      return;
    }
  }
  it->entries.push_back(Entry{std::move(region), std::move(geography), prices});
}

const TokenPrices* PriceBook::find(std::string_view model_id, std::string_view billing_region,
                                   std::string_view geography) const {
  auto it = lower_bound_by_id(models_, model_id);
  if (it == models_.end() || it->model_id != model_id) return nullptr;
  const TokenPrices* best = nullptr;
  int best_rank = -1;
  for (const Entry& e : it->entries) {
    if (!e.region.empty() && e.region != billing_region) continue;
    if (!e.geography.empty() && e.geography != geography) continue;
    const int rank = specificity(e.region, e.geography);
    if (rank > best_rank) {
      best = &e.prices;
      best_rank = rank;
    }
  }
  return best;
}

std::size_t PriceBook::size() const {
  std::size_t n = 0;
  for (const Model& m : models_) n += m.entries.size();
  return n;
}

ledger::TokenCosts cost_of(const TokenPrices* prices, const ledger::TokenCounts& tokens, bool& missing) {
  missing = false;
  static const TokenPrices kNone;
  const TokenPrices& p = prices != nullptr ? *prices : kNone;
  ledger::TokenCosts costs;
  costs.input_nano_usd = cost_of_one(tokens.input, p.input, missing);
  costs.output_nano_usd = cost_of_one(tokens.output, p.output, missing);
  costs.cache_read_nano_usd = cost_of_one(tokens.cache_read, p.cache_read, missing);
  costs.cache_write_nano_usd = cost_of_one(tokens.cache_write, p.cache_write, missing);
  return costs;
}

Result<int64_t> parse_usd_per_million(std::string_view text) {
  if (text.empty()) return bad_price(text, "it is empty");
  if (text.front() == '-') return bad_price(text, "it is negative");
  size_t i = 0;
  int64_t whole = 0;
  constexpr int64_t kMaxWhole = std::numeric_limits<int64_t>::max() / kNanoPerUsd;  // 9223372036
  while (i < text.size() && is_digit(text[i])) {
    whole = whole * 10 + (text[i] - '0');
    if (whole > kMaxWhole) return bad_price(text, "it is too large (at most 9223372036.854775807)");
    ++i;
  }
  if (i == 0) return bad_price(text, "it does not start with a digit");
  int64_t fraction = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    int digits = 0;
    while (i < text.size() && is_digit(text[i])) {
      if (++digits > kMaxFractionDigits)
        return bad_price(text, "it has more than 9 fraction digits (below 1 nano-USD)");
      fraction = fraction * 10 + (text[i] - '0');
      ++i;
    }
    if (digits == 0) return bad_price(text, "a point must be followed by digits");
    for (; digits < kMaxFractionDigits; ++digits) fraction *= 10;
  }
  if (i != text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte > 0x20 && byte < 0x7f) return bad_price(text, "unexpected '" + std::string(1, text[i]) + "'");
    static constexpr char kHex[] = "0123456789abcdef";
    return bad_price(text, std::string("unexpected byte 0x") + kHex[byte >> 4] + kHex[byte & 0xf]);
  }
  if (whole == kMaxWhole && fraction > std::numeric_limits<int64_t>::max() % kNanoPerUsd) {
    return bad_price(text, "it is too large (at most 9223372036.854775807)");
  }
  return whole * kNanoPerUsd + fraction;
}

std::string format_usd(int64_t nano_usd) {
  // Unsigned magnitude: -INT64_MIN does not fit in int64_t.
  const uint64_t magnitude = nano_usd < 0 ? 0 - uint64_t(nano_usd) : uint64_t(nano_usd);
  std::string fraction = std::to_string(magnitude % uint64_t(kNanoPerUsd));
  std::string out = nano_usd < 0 ? "-" : "";
  out += std::to_string(magnitude / uint64_t(kNanoPerUsd));
  out += '.';
  out.append(kMaxFractionDigits - fraction.size(), '0');
  out += fraction;
  return out;
}

}  // namespace tollgate::meter
