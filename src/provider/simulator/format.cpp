#include "provider/simulator/format.h"

#include <boost/json/serialize.hpp>

#include "core/base64.h"
#include "provider/simulator/reply.h"
#include "provider/simulator/simulator.h"

namespace tollgate::provider::simulator {
namespace {

namespace json = boost::json;

std::string_view schema_type(const json::value& property) {
  const json::object* p = property.if_object();
  if (!p) return "";
  const json::value* type = p->if_contains("type");
  if (type && type->is_string()) return type->get_string();
  if (type && type->is_array() && !type->get_array().empty() && type->get_array()[0].is_string()) {
    return type->get_array()[0].get_string();
  }
  return "";
}

json::value property_value(const json::value& property, Rng& rng) {
  if (const json::object* p = property.if_object()) {
    const json::value* values = p->if_contains("enum");
    if (values && values->is_array() && !values->get_array().empty()) return values->get_array()[0];
  }
  std::string_view type = schema_type(property);
  if (type == "integer" || type == "number") return rng.between(1, 100);
  if (type == "boolean") return rng.between(0, 1) == 1;
  if (type == "array") return json::array();
  if (type == "object") return json::object();
  if (type == "null") return nullptr;
  return json::string(filler_word(rng));
}

// The properties a tool call fills: the schema's "required" ones if it lists any, else all.
std::vector<std::string> filled_properties(const json::object& schema, const json::object& properties) {
  std::vector<std::string> keys;
  if (const json::value* required = schema.if_contains("required"); required && required->is_array()) {
    for (const json::value& key : required->get_array()) {
      if (key.is_string() && properties.contains(key.get_string())) keys.emplace_back(key.get_string());
    }
  }
  if (keys.empty()) {
    for (const auto& entry : properties) keys.emplace_back(entry.key());
  }
  return keys;
}

}  // namespace

std::string Format::tool_use_id(uint64_t seed) const { return "tooluse_" + seeded_id(seed, 22); }

std::string json_text(const json::value& value) { return json::serialize(value); }

StreamEvent chunk_event(const json::object& chunk) {
  json::object payload;
  payload["bytes"] = base64_encode(json::serialize(chunk));
  return StreamEvent{"chunk", json::serialize(payload)};
}

StreamEvent json_event(std::string event_type, const json::object& payload) {
  return StreamEvent{std::move(event_type), json::serialize(payload)};
}

json::object invocation_metrics(const Answer& answer, const Timing& timing) {
  json::object metrics;
  metrics["inputTokenCount"] = answer.input_tokens;
  metrics["outputTokenCount"] = answer.output_tokens;
  metrics["invocationLatency"] = timing.total_ms;
  metrics["firstByteLatency"] = timing.first_byte_ms;
  return metrics;
}

void count_input(Parsed& parsed, std::string_view text) {
  parsed.input_tokens += count_tokens(text);
  parsed.seed_text.append(text).push_back('\x1f');
}

json::object tool_input(const json::object& schema, uint64_t seed) {
  json::object input;
  const json::value* properties = schema.if_contains("properties");
  if (!properties || !properties->is_object()) return input;
  Rng rng(seed ^ 0x7001ull);
  for (const std::string& key : filled_properties(schema, properties->get_object())) {
    input[key] = property_value(properties->get_object().at(key), rng);
  }
  return input;
}

}  // namespace tollgate::provider::simulator
