// Converse / ConverseStream: validation of the request (the subset that gives clear
// ValidationExceptions), the input count, and the rendering of the answer. The native Nova format
// (messages-v1) shares the conversation shapes and the rendering, wrapped in chunks.
#include <boost/json/parse.hpp>

#include <cmath>
#include <limits>

#include "provider/simulator/format.h"

namespace tollgate::provider::simulator {
namespace {

namespace json = boost::json;

constexpr std::string_view kExampleMessage = R"({"role":"user","content":[{"text":"Hello"}]})";
constexpr std::string_view kExampleTool =
    R"({"toolSpec":{"name":"get_weather","inputSchema":{"json":{"type":"object"}}}})";
constexpr std::string_view kToolChoices = R"({"auto":{}}, {"any":{}} or {"tool":{"name":"..."}})";

Error invalid(std::string message) { return Error(ErrorCode::Validation, std::move(message)); }

std::string at(std::string_view base, size_t index) { return std::string(base) + "." + std::to_string(index); }

const json::value* member(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  return v && !v->is_null() ? v : nullptr;
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

std::optional<double> as_number(const json::value& v) {
  if (v.is_number()) return v.to_number<double>();
  return std::nullopt;
}

bool valid_tool_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status read_tool_result(const json::value& result, const std::string& path, Parsed& parsed) {
  const json::object* r = result.if_object();
  const json::value* content = r ? member(*r, "content") : nullptr;
  if (!content || !content->is_array()) return invalid(path + ".content must be a list such as [{\"text\":\"42\"}].");
  for (const json::value& item : content->get_array()) {
    const json::object* i = item.if_object();
    if (!i) continue;
    if (const json::value* text = member(*i, "text"); text && text->is_string())
      count_input(parsed, text->get_string());
    if (const json::value* doc = member(*i, "json")) count_input(parsed, json_text(*doc));
  }
  return {};
}

Status read_block(const json::value& block, const std::string& path, Parsed& parsed, bool& uses_tools) {
  const json::object* b = block.if_object();
  if (!b || b->empty()) {
    return invalid(path + " must be a content block with one member, e.g. {\"text\":\"Hello\"}.");
  }
  if (const json::value* text = b->if_contains("text")) {
    if (!text->is_string()) return invalid(path + ".text must be a string.");
    count_input(parsed, text->get_string());
  } else if (const json::value* use = b->if_contains("toolUse")) {
    uses_tools = true;
    const json::object* u = use->if_object();
    if (!u || !u->contains("toolUseId") || !u->contains("name") || !u->contains("input")) {
      return invalid(path + ".toolUse needs toolUseId, name and input.");
    }
    count_input(parsed, json_text(u->at("input")));
  } else if (const json::value* result = b->if_contains("toolResult")) {
    uses_tools = true;
    return read_tool_result(*result, path + ".toolResult", parsed);
  }
  return {};
}

Status read_role(const json::object& message, const std::string& path, size_t index) {
  const json::value* role = member(message, "role");
  if (!role) return invalid(path + ".role is required: use \"user\" or \"assistant\".");
  if (!role->is_string() || (role->get_string() != "user" && role->get_string() != "assistant")) {
    return invalid(path + ".role " + json_text(*role) + " is not valid: use \"user\" or \"assistant\".");
  }
  if (index == 0 && role->get_string() != "user") {
    return invalid(
        "A conversation must start with a user message. Try again with a conversation that starts with "
        "a user message.");
  }
  return {};
}

Status read_message(const json::value& value, size_t index, Parsed& parsed, bool& uses_tools) {
  std::string path = at("messages", index);
  const json::object* message = value.if_object();
  if (!message)
    return invalid(path + " must be an object with a role and content, e.g. " + std::string(kExampleMessage));
  TOLLGATE_TRY(read_role(*message, path, index));
  const json::value* content = member(*message, "content");
  if (!content || !content->is_array()) {
    return invalid(path + ".content is required: a list of content blocks such as [{\"text\":\"Hello\"}].");
  }
  if (content->get_array().empty()) {
    return invalid("The content field in the Message object at " + path +
                   " is empty. Add a ContentBlock object to the content field and try again.");
  }
  const json::array& blocks = content->get_array();
  for (size_t j = 0; j < blocks.size(); ++j) {
    TOLLGATE_TRY(read_block(blocks[j], at(path + ".content", j), parsed, uses_tools));
  }
  parsed.input_tokens += 3;
  return {};
}

Status read_messages(const json::object& request, Parsed& parsed, bool& uses_tools) {
  const json::value* messages = member(request, "messages");
  if (!messages) {
    return invalid("The messages field is required: send at least one message, e.g. \"messages\":[" +
                   std::string(kExampleMessage) + "].");
  }
  if (!messages->is_array() || messages->get_array().empty()) {
    return invalid("messages must be a non-empty list of messages, e.g. [" + std::string(kExampleMessage) + "].");
  }
  const json::array& list = messages->get_array();
  for (size_t i = 0; i < list.size(); ++i) TOLLGATE_TRY(read_message(list[i], i, parsed, uses_tools));
  return {};
}

Status read_system(const json::object& request, Parsed& parsed) {
  const json::value* system = member(request, "system");
  if (!system) return {};
  if (!system->is_array()) {
    return invalid("system must be a list of system content blocks such as [{\"text\":\"Answer briefly.\"}].");
  }
  const json::array& blocks = system->get_array();
  for (size_t i = 0; i < blocks.size(); ++i) {
    const json::object* block = blocks[i].if_object();
    if (!block || block->empty())
      return invalid(at("system", i) + " must be a block such as {\"text\":\"Answer briefly.\"}.");
    const json::value* text = block->if_contains("text");
    if (!text) continue;
    if (!text->is_string() || text->get_string().empty())
      return invalid(at("system", i) + ".text must be a non-empty string.");
    count_input(parsed, text->get_string());
  }
  return {};
}

Result<ToolWanted> read_tool_spec(const json::object& spec, const std::string& path, Parsed& parsed) {
  const json::value* name = member(spec, "name");
  if (!name || !name->is_string() || !valid_tool_name(name->get_string())) {
    return invalid(path + ".name is required: 1-64 letters, digits, '_' or '-', e.g. \"get_weather\".");
  }
  const json::value* schema_union = member(spec, "inputSchema");
  const json::value* schema =
      schema_union && schema_union->is_object() ? member(schema_union->get_object(), "json") : nullptr;
  if (!schema || !schema->is_object()) {
    return invalid(path +
                   ".inputSchema.json is required: the JSON schema of the tool's input, e.g. {\"type\":\"object\"}.");
  }
  count_input(parsed, name->get_string());
  if (const json::value* description = member(spec, "description")) {
    if (!description->is_string()) return invalid(path + ".description must be a string.");
    count_input(parsed, description->get_string());
  }
  count_input(parsed, json_text(*schema));
  return ToolWanted{std::string(name->get_string()), schema->get_object()};
}

Status read_tool_choice(const json::object& config, const std::vector<ToolWanted>& specs, Parsed& parsed) {
  const json::value* choice = member(config, "toolChoice");
  if (!choice) return {};
  const json::object* c = choice->if_object();
  if (!c || c->size() != 1)
    return invalid("toolConfig.toolChoice must have exactly one member: " + std::string(kToolChoices) + ".");
  if (c->contains("auto")) return {};
  if (c->contains("any")) {
    if (specs.empty()) return invalid("toolConfig.toolChoice {\"any\":{}} needs a toolSpec in toolConfig.tools.");
    parsed.tool = specs.front();
    return {};
  }
  const json::value* tool = c->if_contains("tool");
  if (!tool) return invalid("toolConfig.toolChoice must be one of " + std::string(kToolChoices) + ".");
  const json::value* name = tool->is_object() ? member(tool->get_object(), "name") : nullptr;
  if (!name || !name->is_string()) return invalid("toolConfig.toolChoice.tool.name is required: the name of a tool.");
  for (const ToolWanted& spec : specs) {
    if (spec.name == name->get_string()) {
      parsed.tool = spec;
      return {};
    }
  }
  return invalid("toolConfig.toolChoice.tool.name " + json_text(*name) + " does not name a tool in toolConfig.tools.");
}

Status read_tool_config(const json::object& request, Parsed& parsed, bool uses_tools) {
  const json::value* config = member(request, "toolConfig");
  if (!config) {
    if (!uses_tools) return {};
    return invalid("The toolConfig field must be defined when using toolUse and toolResult content blocks.");
  }
  const json::value* tools = config->is_object() ? member(config->get_object(), "tools") : nullptr;
  if (!tools || !tools->is_array() || tools->get_array().empty()) {
    return invalid("toolConfig.tools must be a non-empty list of tools such as " + std::string(kExampleTool) + ".");
  }
  std::vector<ToolWanted> specs;
  const json::array& list = tools->get_array();
  for (size_t i = 0; i < list.size(); ++i) {
    const json::object* tool = list[i].if_object();
    if (!tool || tool->empty())
      return invalid(at("toolConfig.tools", i) + " must be a tool such as " + std::string(kExampleTool) + ".");
    const json::value* spec = member(*tool, "toolSpec");
    if (!spec) continue;  // cachePoint, systemTool: nothing to count
    if (!spec->is_object()) return invalid(at("toolConfig.tools", i) + ".toolSpec must be an object.");
    auto wanted = read_tool_spec(spec->get_object(), at("toolConfig.tools", i) + ".toolSpec", parsed);
    TOLLGATE_TRY(wanted);
    specs.push_back(std::move(*wanted));
  }
  return read_tool_choice(config->get_object(), specs, parsed);
}

Status check_unit_interval(const json::object& config, std::string_view key) {
  const json::value* v = member(config, key);
  if (!v) return {};
  std::optional<double> number = as_number(*v);
  if (!number || *number < 0 || *number > 1) {
    return invalid("inferenceConfig." + std::string(key) + " must be a number from 0 to 1 (got " + json_text(*v) +
                   ").");
  }
  return {};
}

Status read_inference_config(const json::object& request, const ModelInfo& model, Parsed& parsed) {
  const json::value* config = member(request, "inferenceConfig");
  if (!config) return {};
  if (!config->is_object())
    return invalid("inferenceConfig must be an object, e.g. {\"maxTokens\":512,\"temperature\":0.5}.");
  const json::object& c = config->get_object();
  if (const json::value* max = member(c, "maxTokens")) {
    std::optional<int64_t> value = as_integer(*max);
    if (!value)
      return invalid("inferenceConfig.maxTokens must be an integer of at least 1 (got " + json_text(*max) + ").");
    TOLLGATE_TRY(check_max_tokens("inferenceConfig.maxTokens", *value, model));
    parsed.max_tokens = *value;
  }
  TOLLGATE_TRY(check_unit_interval(c, "temperature"));
  TOLLGATE_TRY(check_unit_interval(c, "topP"));
  if (const json::value* stops = member(c, "stopSequences")) {
    bool ok = stops->is_array();
    if (ok) {
      for (const json::value& s : stops->get_array()) ok = ok && s.is_string() && !s.get_string().empty();
    }
    if (!ok) return invalid("inferenceConfig.stopSequences must be a list of non-empty strings.");
  }
  return {};
}

class ConverseFormat final : public Format {
 public:
  ConverseFormat(Parsed parsed, bool nova) : nova_(nova) { parsed_ = std::move(parsed); }

  std::string body(const Answer& answer, const Timing& timing) const override {
    json::object message;
    message["role"] = "assistant";
    message["content"] = content(answer);
    json::object output;
    output["message"] = std::move(message);
    json::object out;
    out["output"] = std::move(output);
    out["stopReason"] = stop_reason(answer);
    out["usage"] = usage(answer);
    if (!nova_) out["metrics"] = latency(timing);
    return json_text(out);
  }

  std::vector<StreamEvent> head(const Answer& answer) const override {
    json::object start;
    start["role"] = "assistant";
    std::vector<StreamEvent> events{event("messageStart", start)};
    if (answer.tool) {
      json::object tool_start;
      tool_start["toolUseId"] = answer.tool->id;
      tool_start["name"] = answer.tool->name;
      json::object block;
      block["contentBlockIndex"] = 0;
      block["start"] = json::object{{"toolUse", tool_start}};
      events.push_back(event("contentBlockStart", block));
    }
    return events;
  }

  StreamEvent delta(const Answer& answer, size_t, std::string_view piece, int64_t) const override {
    json::object delta;
    if (answer.tool) {
      delta["toolUse"] = json::object{{"input", piece}};
    } else {
      delta["text"] = piece;
    }
    json::object payload;
    payload["contentBlockIndex"] = 0;
    payload["delta"] = std::move(delta);
    return event("contentBlockDelta", payload);
  }

  std::vector<StreamEvent> tail(const Answer& answer, const Timing& timing) const override {
    std::vector<StreamEvent> events;
    events.push_back(event("contentBlockStop", json::object{{"contentBlockIndex", 0}}));
    events.push_back(event("messageStop", json::object{{"stopReason", stop_reason(answer)}}));
    json::object metadata;
    metadata["usage"] = usage(answer);
    if (!nova_) {
      metadata["metrics"] = latency(timing);
      events.push_back(json_event("metadata", metadata));
      return events;
    }
    metadata["metrics"] = json::object();
    metadata["trace"] = json::object();
    json::object last;
    last["metadata"] = std::move(metadata);
    last["amazon-bedrock-invocationMetrics"] = invocation_metrics(answer, timing);
    events.push_back(chunk_event(last));
    return events;
  }

 private:
  StreamEvent event(std::string type, const json::object& payload) const {
    if (!nova_) return json_event(std::move(type), payload);
    json::object chunk;
    chunk[type] = payload;
    return chunk_event(chunk);
  }

  static json::array content(const Answer& answer) {
    json::object block;
    if (answer.tool) {
      json::object use;
      use["toolUseId"] = answer.tool->id;
      use["name"] = answer.tool->name;
      use["input"] = json::parse(answer.tool->input_json);
      block["toolUse"] = std::move(use);
    } else {
      block["text"] = answer.text;
    }
    json::array content;
    content.push_back(std::move(block));
    return content;
  }

  static std::string_view stop_reason(const Answer& answer) {
    if (answer.tool) return "tool_use";
    return answer.cut_by_limit ? "max_tokens" : "end_turn";
  }

  static json::object usage(const Answer& answer) {
    json::object usage;
    usage["inputTokens"] = answer.input_tokens;
    usage["outputTokens"] = answer.output_tokens;
    usage["totalTokens"] = answer.input_tokens + answer.output_tokens;
    return usage;
  }

  static json::object latency(const Timing& timing) { return json::object{{"latencyMs", timing.total_ms}}; }

  bool nova_;
};

}  // namespace

Status check_max_tokens(std::string_view field, int64_t value, const ModelInfo& model) {
  if (value < 1) return invalid(std::string(field) + " must be at least 1 (got " + std::to_string(value) + ").");
  if (model.max_output_tokens && value > *model.max_output_tokens) {
    std::string max = std::to_string(*model.max_output_tokens);
    return invalid(std::string(field) + " " + std::to_string(value) + " exceeds the limit of " + max +
                   " output tokens of model " + model.id + "; use at most " + max + ".");
  }
  return {};
}

Status read_conversation(const json::object& request, Parsed& parsed) {
  bool uses_tools = false;
  TOLLGATE_TRY(read_messages(request, parsed, uses_tools));
  TOLLGATE_TRY(read_system(request, parsed));
  return read_tool_config(request, parsed, uses_tools);
}

FormatPtr make_converse_format(Parsed parsed, bool nova_native) {
  return std::make_unique<ConverseFormat>(std::move(parsed), nova_native);
}

Result<FormatPtr> parse_converse(const json::object& request, const ModelInfo& model) {
  Parsed parsed;
  TOLLGATE_TRY(read_conversation(request, parsed));
  TOLLGATE_TRY(read_inference_config(request, model, parsed));
  return make_converse_format(std::move(parsed), false);
}

}  // namespace tollgate::provider::simulator
