#include "provider/openai/chat_translation.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "provider/openai/chat_json.h"

namespace tollgate::provider::openai {
namespace {

using namespace detail;

constexpr std::string_view kExampleMessage = R"({"role":"user","content":[{"text":"Hello"}]})";
constexpr std::string_view kExampleChat = R"({"messages":[{"role":"user","content":"Hello"}]})";

Error invalid(std::string message) { return Error(ErrorCode::Validation, std::move(message)); }

std::string at(std::string_view base, size_t index) { return std::string(base) + "." + std::to_string(index); }

Result<json::object> parse_request(std::string_view body) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec) return invalid("The request body is not valid JSON: " + ec.message() + ".");
  if (!value.is_object()) return invalid("The request body must be a JSON object.");
  return std::move(value.get_object());
}

Error unsupported(const std::string& path, std::string_view kind) {
  return invalid(path + ": the openai provider does not support " + std::string(kind) +
                 " blocks; send text, image, toolUse or toolResult blocks.");
}

// The text of a guardContent block ({"text":{"text":"..."}}).
std::optional<std::string> guard_text(const json::value& guard) {
  const json::object* g = guard.if_object();
  const json::value* text = g ? member(*g, "text") : nullptr;
  auto inner = text && text->is_object() ? string_member(text->get_object(), "text") : std::nullopt;
  return inner ? std::optional<std::string>(*inner) : std::nullopt;
}

// The text of a text or guardContent block.
std::optional<std::string> block_text(std::string_view kind, const json::value& value) {
  if (kind == "guardContent") return guard_text(value);
  if (!value.is_string()) return std::nullopt;
  return std::string(value.get_string());
}

void append_line(std::string& text, std::string_view piece) {
  if (!text.empty()) text += '\n';
  text += piece;
}

Result<std::string> system_text(const json::object& request) {
  const json::value* system = member(request, "system");
  if (!system) return std::string();
  if (!system->is_array()) return invalid(R"(system must be a list of blocks such as [{"text":"Answer briefly."}].)");
  std::string text;
  const json::array& blocks = system->get_array();
  for (size_t i = 0; i < blocks.size(); ++i) {
    const json::object* block = blocks[i].if_object();
    if (!block || block->size() != 1)
      return invalid(at("system", i) + R"( must be a block such as {"text":"Be brief."}.)");
    std::string_view kind = block->begin()->key();
    if (kind == "cachePoint") continue;
    if (kind != "text" && kind != "guardContent") return unsupported(at("system", i), kind);
    auto piece = block_text(kind, block->begin()->value());
    if (!piece) return invalid(at("system", i) + "." + std::string(kind) + " must hold text.");
    append_line(text, *piece);
  }
  return text;
}

json::object image_part(std::string_view format, std::string_view bytes) {
  json::object url;
  url["url"] = "data:image/" + std::string(format) + ";base64," + std::string(bytes);
  json::object part;
  part["type"] = "image_url";
  part["image_url"] = std::move(url);
  return part;
}

Result<json::object> read_image(const json::value& image, const std::string& path) {
  const json::object* i = image.if_object();
  auto format = i ? string_member(*i, "format") : std::nullopt;
  const json::value* source = i ? member(*i, "source") : nullptr;
  auto bytes = source && source->is_object() ? string_member(source->get_object(), "bytes") : std::nullopt;
  if (!format || !bytes) {
    return invalid(path +
                   " needs a format (png, jpeg, gif or webp) and source.bytes (base64); the openai provider "
                   "cannot read images from s3Location.");
  }
  return image_part(*format, *bytes);
}

// A toolResult's content as the text of a "tool" message: text items as they are,
// json items serialised, one per line.
Result<std::string> tool_result_text(const json::object& result, const std::string& path) {
  const json::value* content = member(result, "content");
  if (!content || !content->is_array()) return invalid(path + R"(.content must be a list such as [{"text":"42"}].)");
  std::string text;
  const json::array& items = content->get_array();
  for (size_t j = 0; j < items.size(); ++j) {
    const json::object* item = items[j].if_object();
    if (auto t = item ? string_member(*item, "text") : std::nullopt) {
      append_line(text, *t);
    } else if (const json::value* doc = item ? member(*item, "json") : nullptr) {
      append_line(text, json::serialize(*doc));
    } else {
      return invalid(at(path + ".content", j) + ": the openai provider passes on text and json tool results only.");
    }
  }
  return text;
}

// A user message: its toolResult blocks become "tool" messages (first, since they
// answer the assistant's tool calls), the rest one "user" message.
Status add_user_message(const json::array& blocks, const std::string& path, json::array& out) {
  json::array parts;  // text and image parts, in order
  bool has_image = false;
  for (size_t j = 0; j < blocks.size(); ++j) {
    std::string block_path = at(path + ".content", j);
    const json::object* block = blocks[j].if_object();
    if (!block || block->size() != 1) {
      return invalid(block_path + R"( must be a content block with one member, e.g. {"text":"Hello"}.)");
    }
    std::string_view kind = block->begin()->key();
    const json::value& value = block->begin()->value();
    if (kind == "text" || kind == "guardContent") {
      auto text = block_text(kind, value);
      if (!text) return invalid(block_path + "." + std::string(kind) + " must hold text.");
      json::object part;
      part["type"] = "text";
      part["text"] = *text;
      parts.push_back(std::move(part));
    } else if (kind == "image") {
      auto part = read_image(value, block_path + ".image");
      if (!part) return std::move(part).error();
      parts.push_back(std::move(*part));
      has_image = true;
    } else if (kind == "toolResult") {
      const json::object* result = value.if_object();
      auto id = result ? string_member(*result, "toolUseId") : std::nullopt;
      if (!id || id->empty()) return invalid(block_path + ".toolResult.toolUseId is required.");
      auto text = tool_result_text(*result, block_path + ".toolResult");
      if (!text) return std::move(text).error();
      json::object tool;
      tool["role"] = "tool";
      tool["tool_call_id"] = *id;
      tool["content"] = std::move(*text);
      out.push_back(std::move(tool));
    } else if (kind != "cachePoint") {
      return unsupported(block_path, kind);
    }
  }
  if (parts.empty()) return {};
  json::object message;
  message["role"] = "user";
  if (has_image) {
    message["content"] = std::move(parts);
  } else {
    std::string text;
    for (const auto& part : parts) append_line(text, part.get_object().at("text").get_string());
    message["content"] = std::move(text);
  }
  out.push_back(std::move(message));
  return {};
}

Result<json::object> tool_call(const json::value& value, const std::string& path) {
  const json::object* use = value.if_object();
  auto id = use ? string_member(*use, "toolUseId") : std::nullopt;
  auto name = use ? string_member(*use, "name") : std::nullopt;
  const json::value* input = use ? use->if_contains("input") : nullptr;
  if (!id || !name || !input) return invalid(path + " needs toolUseId, name and input.");
  json::object function;
  function["name"] = *name;
  function["arguments"] = json::serialize(*input);
  json::object call;
  call["id"] = *id;
  call["type"] = "function";
  call["function"] = std::move(function);
  return call;
}

// An assistant message: text joined, toolUse blocks as tool_calls; reasoning is not sent back.
Status add_assistant_message(const json::array& blocks, const std::string& path, json::array& out) {
  std::string text;
  json::array calls;
  for (size_t j = 0; j < blocks.size(); ++j) {
    std::string block_path = at(path + ".content", j);
    const json::object* block = blocks[j].if_object();
    if (!block || block->size() != 1) {
      return invalid(block_path + R"( must be a content block with one member, e.g. {"text":"Hello"}.)");
    }
    std::string_view kind = block->begin()->key();
    const json::value& value = block->begin()->value();
    if (kind == "text" || kind == "guardContent") {
      auto piece = block_text(kind, value);
      if (!piece) return invalid(block_path + "." + std::string(kind) + " must hold text.");
      append_line(text, *piece);
    } else if (kind == "toolUse") {
      auto call = tool_call(value, block_path + ".toolUse");
      if (!call) return std::move(call).error();
      calls.push_back(std::move(*call));
    } else if (kind != "reasoningContent" && kind != "cachePoint") {
      return unsupported(block_path, kind);
    }
  }
  json::object message;
  message["role"] = "assistant";
  if (calls.empty()) {
    message["content"] = std::move(text);
  } else {
    message["content"] = text.empty() ? json::value(nullptr) : json::value(std::move(text));
    message["tool_calls"] = std::move(calls);
  }
  out.push_back(std::move(message));
  return {};
}

Status add_messages(const json::object& request, json::array& out) {
  const json::value* messages = member(request, "messages");
  if (!messages || !messages->is_array() || messages->get_array().empty()) {
    return invalid("messages is required: a non-empty list such as [" + std::string(kExampleMessage) + "].");
  }
  const json::array& list = messages->get_array();
  for (size_t i = 0; i < list.size(); ++i) {
    std::string path = at("messages", i);
    const json::object* message = list[i].if_object();
    auto role = message ? string_member(*message, "role") : std::nullopt;
    if (!role || (*role != "user" && *role != "assistant")) {
      return invalid(path + R"(.role is required: "user" or "assistant".)");
    }
    const json::value* content = member(*message, "content");
    if (!content || !content->is_array() || content->get_array().empty()) {
      return invalid(path + R"(.content is required: a non-empty list of blocks such as [{"text":"Hello"}].)");
    }
    Status added = *role == "user" ? add_user_message(content->get_array(), path, out)
                                   : add_assistant_message(content->get_array(), path, out);
    if (!added) return added;
  }
  return {};
}

Status add_inference_config(const json::object& request, json::object& chat) {
  const json::value* config = member(request, "inferenceConfig");
  if (!config) return {};
  if (!config->is_object()) return invalid(R"(inferenceConfig must be an object such as {"maxTokens":512}.)");
  const json::object& c = config->get_object();
  if (const json::value* max_tokens = member(c, "maxTokens")) {
    auto n = as_integer(*max_tokens);
    if (!n || *n < 1) return invalid("inferenceConfig.maxTokens must be an integer of at least 1.");
    chat["max_tokens"] = *n;
  }
  for (auto [from, to] : {std::pair{"temperature", "temperature"}, std::pair{"topP", "top_p"}}) {
    const json::value* v = member(c, from);
    if (!v) continue;
    if (!v->is_number()) return invalid("inferenceConfig." + std::string(from) + " must be a number from 0 to 1.");
    chat[to] = *v;
  }
  if (const json::value* stops = member(c, "stopSequences")) {
    bool strings = stops->is_array();
    for (const auto& s : strings ? stops->get_array() : json::array()) strings = strings && s.is_string();
    if (!strings) return invalid("inferenceConfig.stopSequences must be a list of strings.");
    if (!stops->get_array().empty()) chat["stop"] = *stops;
  }
  return {};
}

Result<json::object> function_tool(const json::object& spec, const std::string& path) {
  auto name = string_member(spec, "name");
  if (!name || name->empty()) return invalid(path + R"(.name is required, e.g. "get_weather".)");
  json::object function;
  function["name"] = *name;
  if (auto description = string_member(spec, "description")) function["description"] = *description;
  const json::value* schema_union = member(spec, "inputSchema");
  const json::value* schema =
      schema_union && schema_union->is_object() ? member(schema_union->get_object(), "json") : nullptr;
  if (schema) {
    function["parameters"] = *schema;
  } else {
    function["parameters"] = json::parse(R"({"type":"object","properties":{}})");
  }
  if (const json::value* strict = member(spec, "strict"); strict && strict->is_bool()) function["strict"] = *strict;
  json::object tool;
  tool["type"] = "function";
  tool["function"] = std::move(function);
  return tool;
}

Result<json::value> tool_choice(const json::object& config) {
  const json::value* choice = member(config, "toolChoice");
  if (!choice) return json::value(nullptr);
  const json::object* c = choice->if_object();
  if (c && c->size() == 1 && c->contains("auto")) return json::value("auto");
  if (c && c->size() == 1 && c->contains("any")) return json::value("required");
  const json::value* tool = c && c->size() == 1 ? member(*c, "tool") : nullptr;
  auto name = tool && tool->is_object() ? string_member(tool->get_object(), "name") : std::nullopt;
  if (!name) {
    return invalid(R"(toolConfig.toolChoice must be one of {"auto":{}}, {"any":{}} or {"tool":{"name":"..."}}.)");
  }
  json::object function;
  function["name"] = *name;
  json::object out;
  out["type"] = "function";
  out["function"] = std::move(function);
  return json::value(std::move(out));
}

Status add_tool_config(const json::object& request, json::object& chat) {
  const json::value* config = member(request, "toolConfig");
  if (!config) return {};
  const json::object* c = config->if_object();
  const json::value* tools = c ? member(*c, "tools") : nullptr;
  if (!tools || !tools->is_array()) {
    return invalid(R"(toolConfig.tools must be a list such as [{"toolSpec":{"name":"get_weather",)"
                   R"("inputSchema":{"json":{"type":"object"}}}}].)");
  }
  json::array out;
  const json::array& list = tools->get_array();
  for (size_t i = 0; i < list.size(); ++i) {
    std::string path = at("toolConfig.tools", i);
    const json::object* tool = list[i].if_object();
    if (tool && tool->contains("cachePoint")) continue;
    const json::value* spec = tool ? member(*tool, "toolSpec") : nullptr;
    if (!spec || !spec->is_object()) return invalid(path + ": the openai provider supports toolSpec tools only.");
    auto function = function_tool(spec->get_object(), path + ".toolSpec");
    if (!function) return std::move(function).error();
    out.push_back(std::move(*function));
  }
  auto choice = tool_choice(*c);
  if (!choice) return std::move(choice).error();
  if (out.empty()) return {};
  chat["tools"] = std::move(out);
  if (!choice->is_null()) chat["tool_choice"] = std::move(*choice);
  return {};
}

// additionalModelRequestFields: passed on as top-level request fields (top_k, seed,
// …), except those the translation already set.
Status add_additional_fields(const json::object& request, json::object& chat) {
  const json::value* fields = member(request, "additionalModelRequestFields");
  if (!fields) return {};
  if (!fields->is_object()) return invalid(R"(additionalModelRequestFields must be an object such as {"top_k":40}.)");
  for (const auto& field : fields->get_object()) {
    if (!chat.contains(field.key())) chat[field.key()] = field.value();
  }
  return {};
}

// Whether every message looks like a chat completions message (content a string,
// null or a list of typed parts), not a Converse or Anthropic one.
bool is_chat_messages(const json::value& messages) {
  if (!messages.is_array() || messages.get_array().empty()) return false;
  for (const auto& m : messages.get_array()) {
    const json::object* message = m.if_object();
    if (!message || !string_member(*message, "role")) return false;
    const json::value* content = member(*message, "content");
    if (!content || content->is_string()) continue;
    if (!content->is_array()) return false;
    for (const auto& part : content->get_array()) {
      if (!part.is_object() || !string_member(part.get_object(), "type")) return false;
    }
  }
  return true;
}

}  // namespace

Result<std::string> converse_to_chat(std::string_view converse_body, std::string_view model, bool stream) {
  auto request = parse_request(converse_body);
  if (!request) return std::move(request).error();
  json::array messages;
  auto system = system_text(*request);
  if (!system) return std::move(system).error();
  if (!system->empty()) {
    json::object message;
    message["role"] = "system";
    message["content"] = std::move(*system);
    messages.push_back(std::move(message));
  }
  TOLLGATE_TRY(add_messages(*request, messages));
  json::object chat;
  chat["model"] = model;
  chat["messages"] = std::move(messages);
  TOLLGATE_TRY(add_inference_config(*request, chat));
  TOLLGATE_TRY(add_tool_config(*request, chat));
  if (stream) {
    chat["stream"] = true;
    chat["stream_options"] = json::object{{"include_usage", true}};
  }
  TOLLGATE_TRY(add_additional_fields(*request, chat));
  return json::serialize(chat);
}

Result<std::string> forward_chat_body(std::string_view invoke_body, std::string_view model, bool stream) {
  auto refuse = [](std::string_view why) {
    return invalid("The openai provider serves InvokeModel only for OpenAI chat-format bodies such as " +
                   std::string(kExampleChat) + "; use Converse for other shapes (" + std::string(why) + ").");
  };
  boost::system::error_code ec;
  json::value value = json::parse(invoke_body, ec);
  if (ec || !value.is_object()) return refuse("this body is not a JSON object");
  json::object& body = value.get_object();
  if (body.contains("anthropic_version")) return refuse("this body is in Anthropic's format");
  const json::value* messages = member(body, "messages");
  if (!messages || !is_chat_messages(*messages)) {
    return refuse("messages must be a non-empty list of {\"role\", \"content\"} with string or typed-part content");
  }
  body["model"] = model;
  if (stream) {
    body["stream"] = true;
    json::value& options = body["stream_options"];
    if (!options.is_object()) options = json::object();
    options.get_object()["include_usage"] = true;
  } else {
    body.erase("stream");
    body.erase("stream_options");
  }
  return json::serialize(body);
}

std::string_view stop_reason(std::string_view finish_reason, bool stopped_by_sequence) {
  if (finish_reason == "length") return "max_tokens";
  if (finish_reason == "tool_calls" || finish_reason == "function_call") return "tool_use";
  if (finish_reason == "content_filter") return "content_filtered";
  if (finish_reason == "stop" && stopped_by_sequence) return "stop_sequence";
  return "end_turn";
}

namespace {

// The text of a message's content: a string, or a list of {"type":"text","text"} parts.
std::string content_text(const json::value* content) {
  if (!content) return {};
  if (content->is_string()) return std::string(content->get_string());
  std::string text;
  if (content->is_array()) {
    for (const auto& part : content->get_array()) {
      auto piece = part.is_object() ? string_member(part.get_object(), "text") : std::nullopt;
      if (piece) text += *piece;
    }
  }
  return text;
}

// A tool call's arguments as the toolUse input: the parsed JSON, or (malformed)
// the raw text.
json::value tool_input(const json::value* arguments, bool& malformed) {
  if (!arguments) return json::object();
  if (arguments->is_object()) return *arguments;
  if (!arguments->is_string()) {
    malformed = true;
    return *arguments;
  }
  std::string_view text = arguments->get_string();
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object();
  boost::system::error_code ec;
  json::value input = json::parse(text, ec);
  if (ec) {
    malformed = true;
    return json::value(text);
  }
  return input;
}

}  // namespace

Result<ConverseAnswer> chat_to_converse(std::string_view chat_body, int64_t latency_ms) {
  auto unreadable = [&](std::string_view why) {
    return Error(ErrorCode::ModelError, "The model server's answer could not be read: " + std::string(why) + ".",
                 std::string(chat_body.substr(0, 1000)));
  };
  boost::system::error_code ec;
  json::value root = json::parse(chat_body, ec);
  if (ec || !root.is_object()) return unreadable("it is not a JSON object");
  const json::value* choices = member(root.get_object(), "choices");
  if (!choices || !choices->is_array() || choices->get_array().empty() || !choices->get_array()[0].is_object()) {
    return unreadable("it has no choices");
  }
  const json::object& choice = choices->get_array()[0].get_object();
  const json::value* message_value = member(choice, "message");
  if (!message_value || !message_value->is_object()) return unreadable("its choice has no message");
  const json::object& message = message_value->get_object();

  json::array content;
  auto reasoning = string_member(message, "reasoning_content");
  if (!reasoning) reasoning = string_member(message, "reasoning");
  if (reasoning && !reasoning->empty()) {
    json::object text{{"text", *reasoning}};
    content.push_back(json::object{{"reasoningContent", json::object{{"reasoningText", std::move(text)}}}});
  }
  if (std::string text = content_text(member(message, "content")); !text.empty()) {
    content.push_back(json::object{{"text", std::move(text)}});
  }
  bool malformed = false;
  if (const json::value* calls = member(message, "tool_calls"); calls && calls->is_array()) {
    for (const auto& call_value : calls->get_array()) {
      const json::object* call = call_value.if_object();
      const json::value* function = call ? member(*call, "function") : nullptr;
      auto name = function && function->is_object() ? string_member(function->get_object(), "name") : std::nullopt;
      if (!name) return unreadable("a tool call has no function name");
      json::object use;
      use["toolUseId"] = tool_use_id(string_member(*call, "id").value_or(""));
      use["name"] = *name;
      use["input"] = tool_input(member(function->get_object(), "arguments"), malformed);
      content.push_back(json::object{{"toolUse", std::move(use)}});
    }
  }
  if (content.empty()) content.push_back(json::object{{"text", ""}});

  std::string_view finish = string_member(choice, "finish_reason").value_or("stop");
  bool by_sequence = string_member(choice, "stop_reason").has_value();
  ledger::TokenCounts usage;
  if (const json::value* u = member(root.get_object(), "usage")) usage = usage_from_json(*u);

  json::object out;
  json::object output_message{{"role", "assistant"}, {"content", std::move(content)}};
  out["output"] = json::object{{"message", std::move(output_message)}};
  out["stopReason"] = malformed ? std::string_view("malformed_tool_use") : stop_reason(finish, by_sequence);
  out["usage"] = usage_to_json(usage);
  out["metrics"] = json::object{{"latencyMs", latency_ms}};
  return ConverseAnswer{json::serialize(out), usage};
}

ledger::TokenCounts chat_body_usage(std::string_view chat_body) {
  boost::system::error_code ec;
  json::value root = json::parse(chat_body, ec);
  if (ec || !root.is_object()) return {};
  const json::value* usage = member(root.get_object(), "usage");
  return usage ? usage_from_json(*usage) : ledger::TokenCounts{};
}

std::string upstream_message(std::string_view body) {
  boost::system::error_code ec;
  json::value root = json::parse(body, ec);
  if (!ec && root.is_object()) {
    const json::object& o = root.get_object();
    if (const json::value* error = member(o, "error")) {
      if (error->is_string()) return std::string(error->get_string());
      if (auto m = error->is_object() ? string_member(error->get_object(), "message") : std::nullopt) {
        return std::string(*m);
      }
    }
    if (auto m = string_member(o, "message")) return std::string(*m);
    if (const json::value* detail = member(o, "detail")) {
      return detail->is_string() ? std::string(detail->get_string()) : json::serialize(*detail);
    }
  }
  constexpr size_t kMaxText = 300;
  size_t begin = body.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  size_t end = body.find_last_not_of(" \t\r\n") + 1;
  std::string text(body.substr(begin, std::min(end - begin, kMaxText)));
  if (end - begin > kMaxText) text += "...";
  return text;
}

Error upstream_error(int status, std::string_view body) {
  std::string message = upstream_message(body);
  std::string http = "HTTP " + std::to_string(status);
  std::string detail = "upstream " + http + (message.empty() ? "" : ": " + message);
  switch (status) {
    case 400:
    case 413:
    case 422:
      return Error(ErrorCode::Validation,
                   "The model server refused the request (" + http + ")" + (message.empty() ? "." : ": " + message),
                   detail);
    case 401:
    case 403:
      return Error(ErrorCode::InternalServer,
                   "The model server refused the gateway's credentials (" + http +
                       "); an administrator must fix the openai provider's api_key.",
                   detail);
    case 408:
    case 504:
      return Error(ErrorCode::ModelTimeout, "The model server timed out (" + http + "); try again later.", detail);
    case 429:
      return Error(ErrorCode::Throttling, "The model server is busy (" + http + "); slow down and try again.", detail);
    case 502:
    case 503:
      return Error(ErrorCode::ServiceUnavailable, "The model server is unavailable (" + http + "); try again later.",
                   detail);
    default:
      return Error(ErrorCode::ModelError,
                   "The model server failed with " + http + " (original status code " + std::to_string(status) + ").",
                   detail);
  }
}

}  // namespace tollgate::provider::openai
