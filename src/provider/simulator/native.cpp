// InvokeModel / InvokeModelWithResponseStream in the model families' native formats: which
// format a (model, body) speaks, how each reads its request and renders the answer as a body and
// as chunks. The last chunk of every stream carries "amazon-bedrock-invocationMetrics".
#include "provider/simulator/native.h"

#include <boost/json/parse.hpp>

#include "provider/simulator/reply.h"

namespace tollgate::provider::simulator {
namespace {

namespace json = boost::json;

std::string index_path(const std::string& path, size_t index) { return path + "/" + std::to_string(index); }

// The common shape of prompt-completion families: no head, one chunk per piece, a final chunk.
class PromptFormat : public Format {
 public:
  std::string body(const Answer& answer, const Timing&) const override { return json_text(whole(answer)); }
  std::vector<StreamEvent> head(const Answer&) const override { return {}; }
  StreamEvent delta(const Answer& answer, size_t index, std::string_view piece, int64_t so_far) const override {
    return chunk_event(piece_chunk(answer, index, piece, so_far));
  }
  std::vector<StreamEvent> tail(const Answer& answer, const Timing& timing) const override {
    json::object last = last_chunk(answer);
    last["amazon-bedrock-invocationMetrics"] = invocation_metrics(answer, timing);
    std::vector<StreamEvent> events;
    events.push_back(chunk_event(last));
    return events;
  }

 protected:
  explicit PromptFormat(Parsed parsed) { parsed_ = std::move(parsed); }
  virtual json::object whole(const Answer& answer) const = 0;
  virtual json::object piece_chunk(const Answer& answer, size_t index, std::string_view piece,
                                   int64_t so_far) const = 0;
  virtual json::object last_chunk(const Answer& answer) const = 0;
};

// A body whose text is one required key (prompt, inputText, message), counted.
Result<Parsed> read_prompt(const Fields& fields, std::string_view key, std::string_view limit_key,
                           const ModelInfo& model) {
  auto prompt = fields.string(key);
  TOLLGATE_TRY(prompt);
  Parsed parsed;
  count_input(parsed, *prompt);
  auto limit = read_limit(fields, limit_key, model);
  TOLLGATE_TRY(limit);
  parsed.max_tokens = *limit;
  return parsed;
}

// ---- anthropic: Messages API ----

Status read_anthropic_blocks(const json::array& blocks, const std::string& path, Parsed& parsed) {
  for (size_t j = 0; j < blocks.size(); ++j) {
    std::string block_path = index_path(path, j);
    const json::object* block = blocks[j].if_object();
    if (!block)
      return malformed(block_path + ": expected type: JSONObject, found: " + std::string(json_type_name(blocks[j])));
    Fields b(*block, block_path);
    auto type = b.string("type");
    TOLLGATE_TRY(type);
    if (*type == "text") {
      auto text = b.string("text");
      TOLLGATE_TRY(text);
      count_input(parsed, *text);
    } else if (*type == "tool_use") {
      if (const json::value* input = b.find("input")) count_input(parsed, json_text(*input));
    } else if (*type == "tool_result") {
      const json::value* content = b.find("content");
      if (content && content->is_string()) count_input(parsed, content->get_string());
      if (content && content->is_array())
        TOLLGATE_TRY(read_anthropic_blocks(content->get_array(), b.child("content"), parsed));
    }
  }
  return {};
}

Status read_anthropic_content(const json::value& content, const std::string& path, Parsed& parsed) {
  if (content.is_string()) {
    count_input(parsed, content.get_string());
    return {};
  }
  if (!content.is_array())
    return malformed(path + ": expected type: String or JSONArray, found: " + std::string(json_type_name(content)));
  return read_anthropic_blocks(content.get_array(), path, parsed);
}

Status read_anthropic_messages(const json::array& messages, Parsed& parsed) {
  if (messages.empty()) return malformed("#/messages: expected minimum item count: 1, found: 0");
  for (size_t i = 0; i < messages.size(); ++i) {
    std::string path = index_path("#/messages", i);
    const json::object* message = messages[i].if_object();
    if (!message)
      return malformed(path + ": expected type: JSONObject, found: " + std::string(json_type_name(messages[i])));
    Fields m(*message, path);
    auto role = m.string("role");
    TOLLGATE_TRY(role);
    if (*role != "user" && *role != "assistant")
      return malformed(m.child("role") + ": " + std::string(*role) + " is not a valid enum value");
    const json::value* content = m.find("content");
    if (!content) return m.missing("content");
    TOLLGATE_TRY(read_anthropic_content(*content, m.child("content"), parsed));
    parsed.input_tokens += 3;
  }
  return {};
}

Result<std::vector<ToolWanted>> read_anthropic_tools(const Fields& body, Parsed& parsed) {
  std::vector<ToolWanted> tools;
  auto list = body.optional_array("tools");
  TOLLGATE_TRY(list);
  if (!*list) return tools;
  for (size_t i = 0; i < (*list)->size(); ++i) {
    const json::object* tool = (**list)[i].if_object();
    if (!tool) return malformed(index_path("#/tools", i) + ": expected type: JSONObject");
    Fields t(*tool, index_path("#/tools", i));
    auto name = t.string("name");
    TOLLGATE_TRY(name);
    count_input(parsed, *name);
    auto description = t.optional_string("description");
    TOLLGATE_TRY(description);
    if (*description) count_input(parsed, **description);
    auto schema = t.optional_object("input_schema");
    TOLLGATE_TRY(schema);
    if (!*schema) return t.missing("input_schema");
    count_input(parsed, json_text(**schema));
    tools.push_back(ToolWanted{std::string(*name), **schema});
  }
  return tools;
}

Status read_anthropic_tool_choice(const Fields& body, const std::vector<ToolWanted>& tools, Parsed& parsed) {
  auto choice = body.optional_object("tool_choice");
  TOLLGATE_TRY(choice);
  if (!*choice) return {};
  Fields c(**choice, "#/tool_choice");
  auto type = c.string("type");
  TOLLGATE_TRY(type);
  if (*type == "any") {
    if (tools.empty()) return malformed("#/tool_choice: type any needs at least one tool in #/tools");
    parsed.tool = tools.front();
  } else if (*type == "tool") {
    auto name = c.string("name");
    TOLLGATE_TRY(name);
    for (const ToolWanted& tool : tools) {
      if (tool.name == *name) parsed.tool = tool;
    }
    if (!parsed.tool)
      return malformed("#/tool_choice/name: " + std::string(*name) + " is not the name of a tool in #/tools");
  }
  return {};
}

class AnthropicMessages final : public Format {
 public:
  explicit AnthropicMessages(Parsed parsed) { parsed_ = std::move(parsed); }

  static Result<FormatPtr> parse(const json::object& body, const ModelInfo& model) {
    Fields f(body, "#");
    TOLLGATE_TRY(f.string("anthropic_version"));
    auto max = f.integer("max_tokens");
    TOLLGATE_TRY(max);
    auto messages = f.array("messages");
    TOLLGATE_TRY(messages);
    Parsed parsed;
    auto limit = read_limit(f, "max_tokens", model);
    TOLLGATE_TRY(limit);
    parsed.max_tokens = *limit;
    TOLLGATE_TRY(read_anthropic_messages(**messages, parsed));
    if (const json::value* system = f.find("system")) TOLLGATE_TRY(read_anthropic_content(*system, "#/system", parsed));
    auto tools = read_anthropic_tools(f, parsed);
    TOLLGATE_TRY(tools);
    TOLLGATE_TRY(read_anthropic_tool_choice(f, *tools, parsed));
    return FormatPtr(std::make_unique<AnthropicMessages>(std::move(parsed)));
  }

  std::string tool_use_id(uint64_t seed) const override { return "toolu_bdrk_" + seeded_id(seed, 24); }

  std::string body(const Answer& answer, const Timing&) const override {
    json::object out = message(answer);
    json::array content;
    content.push_back(content_block(answer, true));
    out["content"] = std::move(content);
    out["stop_reason"] = stop_reason(answer);
    out["stop_sequence"] = nullptr;
    out["usage"] = usage(answer, answer.output_tokens);
    return json_text(out);
  }

  std::vector<StreamEvent> head(const Answer& answer) const override {
    json::object msg = message(answer);
    msg["content"] = json::array();
    msg["stop_reason"] = nullptr;
    msg["stop_sequence"] = nullptr;
    msg["usage"] = usage(answer, 0);
    json::object start;
    start["type"] = "message_start";
    start["message"] = std::move(msg);
    json::object block;
    block["type"] = "content_block_start";
    block["index"] = 0;
    block["content_block"] = content_block(answer, false);
    std::vector<StreamEvent> events;
    events.push_back(chunk_event(start));
    events.push_back(chunk_event(block));
    return events;
  }

  StreamEvent delta(const Answer& answer, size_t, std::string_view piece, int64_t) const override {
    json::object delta;
    if (answer.tool) {
      delta["type"] = "input_json_delta";
      delta["partial_json"] = piece;
    } else {
      delta["type"] = "text_delta";
      delta["text"] = piece;
    }
    json::object chunk;
    chunk["type"] = "content_block_delta";
    chunk["index"] = 0;
    chunk["delta"] = std::move(delta);
    return chunk_event(chunk);
  }

  std::vector<StreamEvent> tail(const Answer& answer, const Timing& timing) const override {
    json::object stop;
    stop["type"] = "content_block_stop";
    stop["index"] = 0;
    json::object delta;
    delta["stop_reason"] = stop_reason(answer);
    delta["stop_sequence"] = nullptr;
    json::object message_delta;
    message_delta["type"] = "message_delta";
    message_delta["delta"] = std::move(delta);
    message_delta["usage"] = json::object{{"output_tokens", answer.output_tokens}};
    json::object message_stop;
    message_stop["type"] = "message_stop";
    message_stop["amazon-bedrock-invocationMetrics"] = invocation_metrics(answer, timing);
    std::vector<StreamEvent> events;
    events.push_back(chunk_event(stop));
    events.push_back(chunk_event(message_delta));
    events.push_back(chunk_event(message_stop));
    return events;
  }

 private:
  static json::object message(const Answer& answer) {
    json::object out;
    out["id"] = "msg_bdrk_" + seeded_id(answer.seed ^ 0x3E55ull, 24);
    out["type"] = "message";
    out["role"] = "assistant";
    out["model"] = answer.model_id;
    return out;
  }

  static json::object content_block(const Answer& answer, bool complete) {
    json::object block;
    if (answer.tool) {
      block["type"] = "tool_use";
      block["id"] = answer.tool->id;
      block["name"] = answer.tool->name;
      block["input"] = complete ? json::parse(answer.tool->input_json) : json::value(json::object());
    } else {
      block["type"] = "text";
      block["text"] = complete ? answer.text : std::string();
    }
    return block;
  }

  static std::string_view stop_reason(const Answer& answer) {
    if (answer.tool) return "tool_use";
    return answer.cut_by_limit ? "max_tokens" : "end_turn";
  }

  static json::object usage(const Answer& answer, int64_t output_tokens) {
    json::object usage;
    usage["input_tokens"] = answer.input_tokens;
    usage["output_tokens"] = output_tokens;
    return usage;
  }
};

// ---- anthropic: legacy Text Completions ----

class AnthropicCompletion final : public PromptFormat {
 public:
  using PromptFormat::PromptFormat;
  static Result<FormatPtr> parse(const json::object& body, const ModelInfo& model) {
    Fields f(body, "#");
    if (!f.has("max_tokens_to_sample")) return f.missing("max_tokens_to_sample");
    auto parsed = read_prompt(f, "prompt", "max_tokens_to_sample", model);
    TOLLGATE_TRY(parsed);
    return FormatPtr(new AnthropicCompletion(std::move(*parsed)));
  }

 protected:
  json::object whole(const Answer& a) const override { return completion(a.text, &a); }
  json::object piece_chunk(const Answer&, size_t, std::string_view piece, int64_t) const override {
    return completion(piece, nullptr);
  }
  json::object last_chunk(const Answer& a) const override { return completion("", &a); }

 private:
  static json::object completion(std::string_view text, const Answer* finished) {
    json::object out;
    out["type"] = "completion";
    out["completion"] = text;
    out["stop_reason"] = nullptr;
    out["stop"] = nullptr;
    if (finished && finished->cut_by_limit) out["stop_reason"] = "max_tokens";
    if (finished && !finished->cut_by_limit) {
      out["stop_reason"] = "stop_sequence";
      out["stop"] = "\n\nHuman:";
    }
    return out;
  }
};

// ---- amazon.nova: messages-v1 (Converse shapes) ----

Result<FormatPtr> parse_nova(const json::object& body, const ModelInfo& model) {
  Fields f(body, "#");
  if (!f.has("messages")) return f.missing("messages");
  Parsed parsed;
  Status conversation = read_conversation(body, parsed);
  if (!conversation.ok())
    return Error(ErrorCode::Validation, "Malformed input request: " + conversation.error().message());
  auto config = f.optional_object("inferenceConfig");
  TOLLGATE_TRY(config);
  if (*config) {
    Fields c(**config, "#/inferenceConfig");
    auto limit = read_limit(c, c.has("max_new_tokens") ? "max_new_tokens" : "maxTokens", model);
    TOLLGATE_TRY(limit);
    parsed.max_tokens = *limit;
  }
  return make_converse_format(std::move(parsed), true);
}

// ---- amazon.titan-text ----

class TitanText final : public PromptFormat {
 public:
  using PromptFormat::PromptFormat;
  static Result<FormatPtr> parse(const json::object& body, const ModelInfo& model) {
    Fields f(body, "#");
    auto text = f.string("inputText");
    TOLLGATE_TRY(text);
    Parsed parsed;
    count_input(parsed, *text);
    auto config = f.optional_object("textGenerationConfig");
    TOLLGATE_TRY(config);
    if (*config) {
      auto limit = read_limit(Fields(**config, "#/textGenerationConfig"), "maxTokenCount", model);
      TOLLGATE_TRY(limit);
      parsed.max_tokens = *limit;
    }
    return FormatPtr(new TitanText(std::move(parsed)));
  }

 protected:
  json::object whole(const Answer& a) const override {
    json::object result;
    result["tokenCount"] = a.output_tokens;
    result["outputText"] = a.text;
    result["completionReason"] = reason(a);
    json::object out;
    out["inputTextTokenCount"] = a.input_tokens;
    out["results"] = json::array{result};
    return out;
  }
  json::object piece_chunk(const Answer& a, size_t, std::string_view piece, int64_t so_far) const override {
    return chunk(a, piece, so_far, nullptr);
  }
  json::object last_chunk(const Answer& a) const override { return chunk(a, "", a.output_tokens, reason(a)); }

 private:
  static const char* reason(const Answer& a) { return a.cut_by_limit ? "LENGTH" : "FINISH"; }
  static json::object chunk(const Answer& a, std::string_view text, int64_t so_far, const char* reason) {
    json::object out;
    out["outputText"] = text;
    out["index"] = 0;
    out["totalOutputTextTokenCount"] = so_far;
    out["completionReason"] = reason ? json::value(reason) : json::value(nullptr);
    out["inputTextTokenCount"] = a.input_tokens;
    return out;
  }
};

// ---- meta.llama ----

class Llama final : public PromptFormat {
 public:
  using PromptFormat::PromptFormat;
  static Result<FormatPtr> parse(const json::object& body, const ModelInfo& model) {
    auto parsed = read_prompt(Fields(body, "#"), "prompt", "max_gen_len", model);
    TOLLGATE_TRY(parsed);
    return FormatPtr(new Llama(std::move(*parsed)));
  }

 protected:
  json::object whole(const Answer& a) const override {
    return generation(a.text, a.input_tokens, a.output_tokens, reason(a));
  }
  json::object piece_chunk(const Answer& a, size_t index, std::string_view piece, int64_t so_far) const override {
    return generation(piece, index == 0 ? json::value(a.input_tokens) : json::value(nullptr), so_far, nullptr);
  }
  json::object last_chunk(const Answer& a) const override {
    return generation("", nullptr, a.output_tokens, reason(a));
  }

 private:
  static const char* reason(const Answer& a) { return a.cut_by_limit ? "length" : "stop"; }
  static json::object generation(std::string_view text, json::value prompt_tokens, int64_t tokens, const char* reason) {
    json::object out;
    out["generation"] = text;
    out["prompt_token_count"] = std::move(prompt_tokens);
    out["generation_token_count"] = tokens;
    out["stop_reason"] = reason ? json::value(reason) : json::value(nullptr);
    return out;
  }
};

// ---- prompt families whose answer is a list of {text, stop_reason}: mistral, deepseek ----

class TextList final : public PromptFormat {
 public:
  // `list_key`: "outputs" (mistral) or "choices" (deepseek).
  TextList(Parsed parsed, std::string list_key) : PromptFormat(std::move(parsed)), list_key_(std::move(list_key)) {}
  static Result<FormatPtr> parse(const json::object& body, const ModelInfo& model, std::string list_key) {
    auto parsed = read_prompt(Fields(body, "#"), "prompt", "max_tokens", model);
    TOLLGATE_TRY(parsed);
    return FormatPtr(std::make_unique<TextList>(std::move(*parsed), std::move(list_key)));
  }

 protected:
  json::object whole(const Answer& a) const override { return list(a.text, reason(a)); }
  json::object piece_chunk(const Answer&, size_t, std::string_view piece, int64_t) const override {
    return list(piece, nullptr);
  }
  json::object last_chunk(const Answer& a) const override { return list("", reason(a)); }

 private:
  static const char* reason(const Answer& a) { return a.cut_by_limit ? "length" : "stop"; }
  json::object list(std::string_view text, const char* reason) const {
    json::object item;
    item["text"] = text;
    item["stop_reason"] = reason ? json::value(reason) : json::value(nullptr);
    json::object out;
    out[list_key_] = json::array{item};
    return out;
  }
  std::string list_key_;
};

// ---- cohere.command (generate) and cohere.command-r (chat) ----

class CohereGenerate final : public PromptFormat {
 public:
  CohereGenerate(Parsed parsed, std::string prompt) : PromptFormat(std::move(parsed)), prompt_(std::move(prompt)) {}
  static Result<FormatPtr> parse(const json::object& body, const ModelInfo& model) {
    Fields f(body, "#");
    auto parsed = read_prompt(f, "prompt", "max_tokens", model);
    TOLLGATE_TRY(parsed);
    std::string prompt(f.find("prompt")->get_string());
    return FormatPtr(std::make_unique<CohereGenerate>(std::move(*parsed), std::move(prompt)));
  }

 protected:
  json::object whole(const Answer& a) const override {
    json::object generation;
    generation["id"] = seeded_id(a.seed ^ 0xC0ull, 32);
    generation["text"] = a.text;
    generation["finish_reason"] = a.cut_by_limit ? "MAX_TOKENS" : "COMPLETE";
    json::object out;
    out["id"] = seeded_id(a.seed ^ 0xC1ull, 32);
    out["generations"] = json::array{generation};
    out["prompt"] = prompt_;
    return out;
  }
  json::object piece_chunk(const Answer&, size_t, std::string_view piece, int64_t) const override {
    json::object out;
    out["text"] = piece;
    out["is_finished"] = false;
    return out;
  }
  json::object last_chunk(const Answer& a) const override {
    json::object out;
    out["is_finished"] = true;
    out["finish_reason"] = a.cut_by_limit ? "MAX_TOKENS" : "COMPLETE";
    return out;
  }

 private:
  std::string prompt_;
};

class CohereChat final : public PromptFormat {
 public:
  CohereChat(Parsed parsed, std::string message) : PromptFormat(std::move(parsed)), message_(std::move(message)) {}
  static Result<FormatPtr> parse(const json::object& body, const ModelInfo& model) {
    Fields f(body, "#");
    auto parsed = read_prompt(f, "message", "max_tokens", model);
    TOLLGATE_TRY(parsed);
    auto preamble = f.optional_string("preamble");
    TOLLGATE_TRY(preamble);
    if (*preamble) count_input(*parsed, **preamble);
    auto history = f.optional_array("chat_history");
    TOLLGATE_TRY(history);
    for (size_t i = 0; *history && i < (*history)->size(); ++i) {
      const json::object* turn = (**history)[i].if_object();
      const json::value* text = turn ? turn->if_contains("message") : nullptr;
      if (!text || !text->is_string())
        return malformed(index_path("#/chat_history", i) + ": required key [message] not found");
      count_input(*parsed, text->get_string());
    }
    std::string message(f.find("message")->get_string());
    return FormatPtr(std::make_unique<CohereChat>(std::move(*parsed), std::move(message)));
  }

 protected:
  json::object whole(const Answer& a) const override {
    json::object user;
    user["role"] = "USER";
    user["message"] = message_;
    json::object bot;
    bot["role"] = "CHATBOT";
    bot["message"] = a.text;
    json::object out;
    out["response_id"] = seeded_id(a.seed ^ 0xC2ull, 32);
    out["text"] = a.text;
    out["generation_id"] = seeded_id(a.seed ^ 0xC3ull, 32);
    out["finish_reason"] = reason(a);
    out["chat_history"] = json::array{user, bot};
    return out;
  }
  json::object piece_chunk(const Answer&, size_t, std::string_view piece, int64_t) const override {
    json::object out;
    out["event_type"] = "text-generation";
    out["is_finished"] = false;
    out["text"] = piece;
    return out;
  }
  json::object last_chunk(const Answer& a) const override {
    json::object out;
    out["event_type"] = "stream-end";
    out["is_finished"] = true;
    out["finish_reason"] = reason(a);
    return out;
  }

 private:
  static const char* reason(const Answer& a) { return a.cut_by_limit ? "MAX_TOKENS" : "COMPLETE"; }
  std::string message_;
};

// ---- ai21.j2 ----

class Jurassic final : public PromptFormat {
 public:
  Jurassic(Parsed parsed, std::string prompt) : PromptFormat(std::move(parsed)), prompt_(std::move(prompt)) {}
  static Result<FormatPtr> parse(const json::object& body, const ModelInfo& model) {
    Fields f(body, "#");
    auto parsed = read_prompt(f, "prompt", "maxTokens", model);
    TOLLGATE_TRY(parsed);
    std::string prompt(f.find("prompt")->get_string());
    return FormatPtr(std::make_unique<Jurassic>(std::move(*parsed), std::move(prompt)));
  }

 protected:
  json::object whole(const Answer& a) const override {
    json::object out;
    out["id"] = static_cast<int64_t>(a.seed % 100000);
    out["prompt"] = json::object{{"text", prompt_}};
    out["completions"] = json::array{completion(a.text, reason(a))};
    return out;
  }
  json::object piece_chunk(const Answer&, size_t, std::string_view piece, int64_t) const override {
    json::object out;
    out["completions"] = json::array{completion(piece, nullptr)};
    return out;
  }
  json::object last_chunk(const Answer& a) const override {
    json::object out;
    out["completions"] = json::array{completion("", reason(a))};
    return out;
  }

 private:
  static const char* reason(const Answer& a) { return a.cut_by_limit ? "length" : "endoftext"; }
  static json::object completion(std::string_view text, const char* reason) {
    json::object out;
    out["data"] = json::object{{"text", text}};
    if (reason) out["finishReason"] = json::object{{"reason", reason}};
    return out;
  }
  std::string prompt_;
};

// ---- OpenAI-style chat completions (openai, deepseek, qwen, mistral chat and the rest) ----

Status read_chat_content(const json::value& content, const std::string& path, Parsed& parsed) {
  if (content.is_string()) {
    count_input(parsed, content.get_string());
  } else if (content.is_array()) {
    for (const json::value& part : content.get_array()) {
      const json::value* text = part.is_object() ? part.get_object().if_contains("text") : nullptr;
      if (text && text->is_string()) count_input(parsed, text->get_string());
    }
  } else if (!content.is_null()) {
    return malformed(path + ": expected type: String or JSONArray, found: " + std::string(json_type_name(content)));
  }
  return {};
}

Status read_chat_messages(const json::array& messages, Parsed& parsed) {
  if (messages.empty()) return malformed("#/messages: expected minimum item count: 1, found: 0");
  for (size_t i = 0; i < messages.size(); ++i) {
    std::string path = index_path("#/messages", i);
    const json::object* message = messages[i].if_object();
    if (!message)
      return malformed(path + ": expected type: JSONObject, found: " + std::string(json_type_name(messages[i])));
    Fields m(*message, path);
    TOLLGATE_TRY(m.string("role"));
    if (const json::value* content = m.find("content"))
      TOLLGATE_TRY(read_chat_content(*content, m.child("content"), parsed));
    auto calls = m.optional_array("tool_calls");
    TOLLGATE_TRY(calls);
    for (size_t j = 0; *calls && j < (*calls)->size(); ++j) {
      const json::value* function =
          (**calls)[j].is_object() ? (**calls)[j].get_object().if_contains("function") : nullptr;
      const json::value* arguments =
          function && function->is_object() ? function->get_object().if_contains("arguments") : nullptr;
      if (arguments && arguments->is_string()) count_input(parsed, arguments->get_string());
    }
    parsed.input_tokens += 3;
  }
  return {};
}

Result<std::vector<ToolWanted>> read_chat_tools(const Fields& body, Parsed& parsed) {
  std::vector<ToolWanted> tools;
  auto list = body.optional_array("tools");
  TOLLGATE_TRY(list);
  for (size_t i = 0; *list && i < (*list)->size(); ++i) {
    std::string path = index_path("#/tools", i);
    const json::object* tool = (**list)[i].if_object();
    const json::value* function = tool ? tool->if_contains("function") : nullptr;
    if (!function || !function->is_object()) return malformed(path + ": required key [function] not found");
    Fields fn(function->get_object(), path + "/function");
    auto name = fn.string("name");
    TOLLGATE_TRY(name);
    count_input(parsed, *name);
    auto description = fn.optional_string("description");
    TOLLGATE_TRY(description);
    if (*description) count_input(parsed, **description);
    auto schema = fn.optional_object("parameters");
    TOLLGATE_TRY(schema);
    if (*schema) count_input(parsed, json_text(**schema));
    tools.push_back(ToolWanted{std::string(*name), *schema ? **schema : json::object()});
  }
  return tools;
}

Status read_chat_tool_choice(const Fields& body, const std::vector<ToolWanted>& tools, Parsed& parsed) {
  const json::value* choice = body.find("tool_choice");
  if (!choice) return {};
  if (choice->is_string()) {
    if (choice->get_string() != "required") return {};
    if (tools.empty()) return malformed("#/tool_choice: required needs at least one tool in #/tools");
    parsed.tool = tools.front();
    return {};
  }
  const json::value* function = choice->is_object() ? choice->get_object().if_contains("function") : nullptr;
  const json::value* name = function && function->is_object() ? function->get_object().if_contains("name") : nullptr;
  if (!name || !name->is_string()) return malformed("#/tool_choice: required key [function/name] not found");
  for (const ToolWanted& tool : tools) {
    if (tool.name == name->get_string()) parsed.tool = tool;
  }
  if (!parsed.tool)
    return malformed("#/tool_choice/function/name: " + json_text(*name) + " is not the name of a tool in #/tools");
  return {};
}

class Chat final : public Format {
 public:
  Chat(Parsed parsed, bool mistral) : mistral_(mistral) { parsed_ = std::move(parsed); }

  static Result<FormatPtr> parse(const json::object& body, const ModelInfo& model, bool mistral) {
    Fields f(body, "#");
    auto messages = f.array("messages");
    TOLLGATE_TRY(messages);
    Parsed parsed;
    TOLLGATE_TRY(read_chat_messages(**messages, parsed));
    auto limit = read_limit(f, f.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens", model);
    TOLLGATE_TRY(limit);
    parsed.max_tokens = *limit;
    auto tools = read_chat_tools(f, parsed);
    TOLLGATE_TRY(tools);
    TOLLGATE_TRY(read_chat_tool_choice(f, *tools, parsed));
    return FormatPtr(std::make_unique<Chat>(std::move(parsed), mistral));
  }

  std::string tool_use_id(uint64_t seed) const override { return "call_" + seeded_id(seed, 24); }

  std::string body(const Answer& answer, const Timing&) const override {
    json::object message;
    message["role"] = "assistant";
    message["content"] = answer.tool ? json::value(nullptr) : json::value(answer.text);
    if (answer.tool) message["tool_calls"] = json::array{tool_call(answer, answer.tool->input_json, true)};
    json::object out = envelope(answer, "chat.completion", choice(answer, "message", std::move(message), true));
    out["usage"] = usage(answer);
    return json_text(out);
  }

  std::vector<StreamEvent> head(const Answer& answer) const override {
    json::object delta;
    delta["role"] = "assistant";
    delta["content"] = answer.tool ? json::value(nullptr) : json::value("");
    if (answer.tool) delta["tool_calls"] = json::array{tool_call(answer, "", true)};
    std::vector<StreamEvent> events;
    events.push_back(chunk_event(envelope(answer, "chat.completion.chunk", choice(answer, "delta", delta, false))));
    return events;
  }

  StreamEvent delta(const Answer& answer, size_t, std::string_view piece, int64_t) const override {
    json::object delta;
    if (answer.tool) {
      delta["tool_calls"] = json::array{tool_call(answer, piece, false)};
    } else {
      delta["content"] = piece;
    }
    return chunk_event(envelope(answer, "chat.completion.chunk", choice(answer, "delta", std::move(delta), false)));
  }

  std::vector<StreamEvent> tail(const Answer& answer, const Timing& timing) const override {
    json::object last = envelope(answer, "chat.completion.chunk", choice(answer, "delta", json::object(), true));
    last["usage"] = usage(answer);
    last["amazon-bedrock-invocationMetrics"] = invocation_metrics(answer, timing);
    std::vector<StreamEvent> events;
    events.push_back(chunk_event(last));
    return events;
  }

 private:
  static json::object envelope(const Answer& answer, std::string_view object, json::object choice) {
    json::object out;
    out["id"] = "chatcmpl-" + seeded_id(answer.seed ^ 0xC4A7ull, 24);
    out["object"] = object;
    out["created"] = 0;
    out["model"] = answer.model_id;
    out["choices"] = json::array{std::move(choice)};
    return out;
  }

  json::object choice(const Answer& answer, std::string_view key, json::object value, bool finished) const {
    json::value reason = nullptr;
    if (finished) reason = answer.tool ? "tool_calls" : answer.cut_by_limit ? "length" : "stop";
    json::object out;
    out["index"] = 0;
    out[key] = std::move(value);
    out["finish_reason"] = reason;
    if (mistral_) out["stop_reason"] = reason;
    return out;
  }

  static json::object tool_call(const Answer& answer, std::string_view arguments, bool with_name) {
    json::object function;
    if (with_name) function["name"] = answer.tool->name;
    function["arguments"] = arguments;
    json::object call;
    call["index"] = 0;
    if (with_name) {
      call["id"] = answer.tool->id;
      call["type"] = "function";
    }
    call["function"] = std::move(function);
    return call;
  }

  static json::object usage(const Answer& answer) {
    json::object usage;
    usage["prompt_tokens"] = answer.input_tokens;
    usage["completion_tokens"] = answer.output_tokens;
    usage["total_tokens"] = answer.input_tokens + answer.output_tokens;
    return usage;
  }

  bool mistral_;
};

// The family of a text model, by id prefix and, where a family has two formats, by body shape.
Result<FormatPtr> parse_text_family(const json::object& body, const ModelInfo& model) {
  std::string_view id = model.id;
  Fields f(body, "#");
  bool chat = f.has("messages");
  if (starts_with(id, "anthropic.")) {
    return f.has("prompt") && !chat ? AnthropicCompletion::parse(body, model) : AnthropicMessages::parse(body, model);
  }
  if (starts_with(id, "amazon.nova")) return parse_nova(body, model);
  if (starts_with(id, "amazon.titan")) return TitanText::parse(body, model);
  if (id.find("rerank") != std::string_view::npos) return parse_rerank(body, model);
  if (starts_with(id, "meta.")) return Llama::parse(body, model);
  if (starts_with(id, "mistral."))
    return chat ? Chat::parse(body, model, true) : TextList::parse(body, model, "outputs");
  if (starts_with(id, "deepseek.") && f.has("prompt") && !chat) return TextList::parse(body, model, "choices");
  if (starts_with(id, "cohere.command-r") && !chat) return CohereChat::parse(body, model);
  if (starts_with(id, "cohere.command") && !chat) return CohereGenerate::parse(body, model);
  if (starts_with(id, "ai21.j2")) return Jurassic::parse(body, model);
  return Chat::parse(body, model, false);
}

}  // namespace

Error malformed(std::string_view detail) {
  return Error(ErrorCode::Validation,
               "Malformed input request: " + std::string(detail) + ", please reformat your input and try again.");
}

std::string_view json_type_name(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      return "Null";
    case json::kind::bool_:
      return "Boolean";
    case json::kind::int64:
    case json::kind::uint64:
      return "Integer";
    case json::kind::double_:
      return "Number";
    case json::kind::string:
      return "String";
    case json::kind::array:
      return "JSONArray";
    case json::kind::object:
      return "JSONObject";
  }
  return "Unknown";
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

const json::value* Fields::find(std::string_view key) const {
  const json::value* v = object_.if_contains(key);
  return v && !v->is_null() ? v : nullptr;
}

Error Fields::missing(std::string_view key) const {
  return malformed(path_ + ": required key [" + std::string(key) + "] not found");
}

Error Fields::wrong_type(std::string_view key, std::string_view expected, const json::value& found) const {
  return malformed(child(key) + ": expected type: " + std::string(expected) +
                   ", found: " + std::string(json_type_name(found)));
}

Result<std::string_view> Fields::string(std::string_view key) const {
  const json::value* v = find(key);
  if (!v) return missing(key);
  if (!v->is_string()) return wrong_type(key, "String", *v);
  return std::string_view(v->get_string());
}

Result<std::optional<std::string_view>> Fields::optional_string(std::string_view key) const {
  const json::value* v = find(key);
  if (!v) return std::optional<std::string_view>();
  if (!v->is_string()) return wrong_type(key, "String", *v);
  return std::optional<std::string_view>(v->get_string());
}

Result<int64_t> Fields::integer(std::string_view key) const {
  auto v = optional_integer(key);
  TOLLGATE_TRY(v);
  if (!*v) return missing(key);
  return **v;
}

Result<std::optional<int64_t>> Fields::optional_integer(std::string_view key) const {
  const json::value* v = find(key);
  if (!v) return std::optional<int64_t>();
  if (v->is_int64()) return std::optional<int64_t>(v->get_int64());
  if (v->is_double() && v->get_double() == static_cast<double>(static_cast<int64_t>(v->get_double()))) {
    return std::optional<int64_t>(static_cast<int64_t>(v->get_double()));
  }
  return wrong_type(key, "Integer", *v);
}

Result<const json::array*> Fields::array(std::string_view key) const {
  const json::value* v = find(key);
  if (!v) return missing(key);
  if (!v->is_array()) return wrong_type(key, "JSONArray", *v);
  return &v->get_array();
}

Result<const json::object*> Fields::optional_object(std::string_view key) const {
  const json::value* v = find(key);
  if (!v) return static_cast<const json::object*>(nullptr);
  if (!v->is_object()) return wrong_type(key, "JSONObject", *v);
  return &v->get_object();
}

Result<const json::array*> Fields::optional_array(std::string_view key) const {
  const json::value* v = find(key);
  if (!v) return static_cast<const json::array*>(nullptr);
  if (!v->is_array()) return wrong_type(key, "JSONArray", *v);
  return &v->get_array();
}

Result<std::optional<int64_t>> read_limit(const Fields& fields, std::string_view key, const ModelInfo& model) {
  auto limit = fields.optional_integer(key);
  TOLLGATE_TRY(limit);
  if (!*limit) return limit;
  if (**limit < 1)
    return malformed(fields.child(key) + ": " + std::to_string(**limit) + " is not greater or equal to 1");
  TOLLGATE_TRY(check_max_tokens(key, **limit, model));
  return limit;
}

Result<FormatPtr> parse_native(const json::value& body, const ModelInfo& model) {
  if (!body.is_object()) return malformed("#: expected type: JSONObject, found: " + std::string(json_type_name(body)));
  if (model.embedding_output) return parse_embedding(body.get_object(), model);
  return parse_text_family(body.get_object(), model);
}

}  // namespace tollgate::provider::simulator
