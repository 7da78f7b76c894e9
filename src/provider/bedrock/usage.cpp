#include "provider/bedrock/usage.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>

#include "core/base64.h"

namespace tollgate::provider::bedrock {
namespace {

namespace json = boost::json;

std::optional<json::value> parse_json(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec) return std::nullopt;
  return value;
}

int64_t count(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  if (!v) return 0;
  if (v->is_int64()) return std::max<int64_t>(0, v->get_int64());
  if (v->is_uint64()) {
    return static_cast<int64_t>(std::min<uint64_t>(v->get_uint64(), std::numeric_limits<int64_t>::max()));
  }
  if (v->is_double() && v->get_double() >= 0 && v->get_double() < 9e18) {
    return static_cast<int64_t>(std::trunc(v->get_double()));
  }
  return 0;
}

const json::object* object_member(const json::value& value, std::string_view key) {
  if (!value.is_object()) return nullptr;
  const json::value* member = value.get_object().if_contains(key);
  return member && member->is_object() ? &member->get_object() : nullptr;
}

// Converse's TokenUsage shape.
std::optional<ledger::TokenCounts> converse_usage(std::string_view document) {
  std::optional<json::value> value = parse_json(document);
  if (!value) return std::nullopt;
  const json::object* usage = object_member(*value, "usage");
  if (!usage) return std::nullopt;
  return ledger::TokenCounts{count(*usage, "inputTokens"), count(*usage, "outputTokens"),
                             count(*usage, "cacheReadInputTokens"), count(*usage, "cacheWriteInputTokens")};
}

int64_t header_count(const std::vector<http::Header>& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (!http::header_name_equals(h.name, name)) continue;
    std::string_view text = h.value;
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    return ec == std::errc() && end == text.data() + text.size() && n > 0 ? n : 0;
  }
  return 0;
}

}  // namespace

ledger::TokenCounts usage_from_headers(const std::vector<http::Header>& headers) {
  return ledger::TokenCounts{header_count(headers, "X-Amzn-Bedrock-Input-Token-Count"),
                             header_count(headers, "X-Amzn-Bedrock-Output-Token-Count"),
                             header_count(headers, "X-Amzn-Bedrock-Cache-Read-Input-Token-Count"),
                             header_count(headers, "X-Amzn-Bedrock-Cache-Write-Input-Token-Count")};
}

ledger::TokenCounts usage_from_converse_body(std::string_view body) {
  return converse_usage(body).value_or(ledger::TokenCounts{});
}

std::optional<ledger::TokenCounts> usage_from_metadata_event(std::string_view payload) {
  return converse_usage(payload);
}

std::optional<ledger::TokenCounts> usage_from_chunk_event(std::string_view payload) {
  std::optional<json::value> chunk = parse_json(payload);
  if (!chunk || !chunk->is_object()) return std::nullopt;
  const json::value* bytes = chunk->get_object().if_contains("bytes");
  if (!bytes || !bytes->is_string()) return std::nullopt;
  std::optional<std::string> decoded = base64_decode(bytes->get_string());
  // Most chunks are deltas without metrics: a substring search spares parsing them.
  if (!decoded || decoded->find("amazon-bedrock-invocationMetrics") == std::string::npos) return std::nullopt;
  std::optional<json::value> inner = parse_json(*decoded);
  if (!inner) return std::nullopt;
  const json::object* metrics = object_member(*inner, "amazon-bedrock-invocationMetrics");
  if (!metrics) return std::nullopt;
  return ledger::TokenCounts{count(*metrics, "inputTokenCount"), count(*metrics, "outputTokenCount"),
                             count(*metrics, "cacheReadInputTokenCount"), count(*metrics, "cacheWriteInputTokenCount")};
}

}  // namespace tollgate::provider::bedrock
