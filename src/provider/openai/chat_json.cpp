#include "provider/openai/chat_json.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/ids.h"

namespace tollgate::provider::openai::detail {

const json::value* member(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  return v && !v->is_null() ? v : nullptr;
}

std::optional<std::string_view> string_member(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string_view(v->get_string());
}

std::optional<int64_t> as_integer(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return static_cast<int64_t>(v.get_uint64());
  }
  if (v.is_double() && std::trunc(v.get_double()) == v.get_double() && std::abs(v.get_double()) < 9e18) {
    return static_cast<int64_t>(v.get_double());
  }
  return std::nullopt;
}

ledger::TokenCounts usage_from_json(const json::value& usage) {
  ledger::TokenCounts counts;
  const json::object* u = usage.if_object();
  if (!u) return counts;
  auto count = [](const json::object& o, std::string_view key) -> int64_t {
    const json::value* v = member(o, key);
    auto n = v ? as_integer(*v) : std::nullopt;
    return n && *n > 0 ? *n : 0;
  };
  int64_t prompt = count(*u, "prompt_tokens");
  int64_t cached = 0;
  if (const json::value* details = member(*u, "prompt_tokens_details"); details && details->is_object()) {
    cached = std::min(count(details->get_object(), "cached_tokens"), prompt);
  }
  counts.input = prompt - cached;
  counts.output = count(*u, "completion_tokens");
  counts.cache_read = cached;
  return counts;
}

json::object usage_to_json(const ledger::TokenCounts& usage) {
  json::object out;
  out["inputTokens"] = usage.input;
  out["outputTokens"] = usage.output;
  out["totalTokens"] = usage.input + usage.output + usage.cache_read + usage.cache_write;
  if (usage.cache_read > 0) out["cacheReadInputTokens"] = usage.cache_read;
  if (usage.cache_write > 0) out["cacheWriteInputTokens"] = usage.cache_write;
  return out;
}

std::string tool_use_id(std::string_view upstream_id) {
  if (upstream_id.empty()) return "tooluse_" + new_resource_id(22);
  std::string id(upstream_id.substr(0, 64));
  for (char& c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == ':' || c == '-';
    if (!ok) c = '_';
  }
  return id;
}

}  // namespace tollgate::provider::openai::detail
