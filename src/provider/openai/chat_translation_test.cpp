// The pure parts of the openai provider: request/response translation, the SSE
// parser and the stream translator, without any I/O.
#include "provider/openai/chat_translation.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "provider/openai/chat_stream.h"
#include "provider/openai/sse_parser.h"

namespace tollgate::provider::openai {
namespace {

namespace json = boost::json;

json::value chat_of(std::string_view converse, bool stream = false) {
  auto body = converse_to_chat(converse, "upstream-model", stream);
  EXPECT_TRUE(body.ok()) << body.error().message();
  return body.ok() ? json::parse(*body) : json::value();
}

TEST(ConverseToChat, TranslatesSystemMultiTurnAndInferenceConfig) {
  auto chat = chat_of(R"({
    "system": [{"text": "Be brief."}, {"cachePoint": {"type": "default"}}, {"text": "Answer in French."}],
    "messages": [
      {"role": "user", "content": [{"text": "Hello"}, {"text": "there"}]},
      {"role": "assistant", "content": [{"text": "Bonjour"}]},
      {"role": "user", "content": [{"text": "How are you?"}]}],
    "inferenceConfig": {"maxTokens": 256, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]}})");
  EXPECT_EQ(chat, json::parse(R"({
    "model": "upstream-model",
    "messages": [
      {"role": "system", "content": "Be brief.\nAnswer in French."},
      {"role": "user", "content": "Hello\nthere"},
      {"role": "assistant", "content": "Bonjour"},
      {"role": "user", "content": "How are you?"}],
    "max_tokens": 256, "temperature": 0.5, "top_p": 0.9, "stop": ["END"]})"));
}

TEST(ConverseToChat, TranslatesToolsToolUseAndToolResults) {
  auto chat = chat_of(R"({
    "messages": [
      {"role": "user", "content": [{"text": "Weather in Paris?"}]},
      {"role": "assistant", "content": [{"text": "Let me check."},
        {"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {"city": "Paris"}}}]},
      {"role": "user", "content": [
        {"toolResult": {"toolUseId": "call_1", "content": [{"json": {"temp": 21}}, {"text": "sunny"}]}},
        {"text": "And tomorrow?"}]}],
    "toolConfig": {
      "tools": [{"toolSpec": {"name": "get_weather", "description": "Weather by city",
                              "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}}}},
                {"cachePoint": {"type": "default"}}],
      "toolChoice": {"tool": {"name": "get_weather"}}}})");
  EXPECT_EQ(chat.at("messages"), json::parse(R"([
      {"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": "Let me check.", "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\":21}\nsunny"},
      {"role": "user", "content": "And tomorrow?"}])"));
  EXPECT_EQ(chat.at("tools"), json::parse(R"([{"type": "function", "function": {"name": "get_weather",
      "description": "Weather by city",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])"));
  EXPECT_EQ(chat.at("tool_choice"), json::parse(R"({"type": "function", "function": {"name": "get_weather"}})"));
}

TEST(ConverseToChat, MapsToolChoices) {
  struct Case {
    const char* choice;
    const char* expected;
  };
  for (const Case& c : {Case{R"({"auto":{}})", R"("auto")"}, Case{R"({"any":{}})", R"("required")"}}) {
    std::string body = std::string(R"({"messages":[{"role":"user","content":[{"text":"x"}]}],)") +
                       R"("toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{}}}}],"toolChoice":)" +
                       c.choice + "}}";
    EXPECT_EQ(chat_of(body).at("tool_choice"), json::parse(c.expected)) << c.choice;
  }
}

TEST(ConverseToChat, StreamsAskForTheUsageChunkAndAdditionalFieldsPassThrough) {
  auto chat = chat_of(R"({"messages": [{"role": "user", "content": [{"text": "x"}]}],
                          "additionalModelRequestFields": {"top_k": 40, "stream": false, "model": "other"}})",
                      true);
  EXPECT_EQ(chat.at("stream"), json::value(true));
  EXPECT_EQ(chat.at("stream_options"), json::parse(R"({"include_usage": true})"));
  EXPECT_EQ(chat.at("top_k"), json::value(40));
  EXPECT_EQ(chat.at("model"), json::value("upstream-model"));
}

TEST(ConverseToChat, ImagesBecomeDataUrlParts) {
  auto chat = chat_of(R"({"messages": [{"role": "user", "content": [
      {"text": "What is this?"}, {"image": {"format": "png", "source": {"bytes": "iVBORw0K"}}}]}]})");
  EXPECT_EQ(chat.at("messages").at(0).at("content"), json::parse(R"([
      {"type": "text", "text": "What is this?"},
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}}])"));
}

TEST(ConverseToChat, RefusesWhatItCannotTranslate) {
  struct Case {
    const char* body;
    const char* message_part;
  };
  const Case cases[] = {
      {"not json", "not valid JSON"},
      {"{}", "messages is required"},
      {R"({"messages": [{"role": "robot", "content": [{"text": "x"}]}]})", "messages.0.role"},
      {R"({"messages": [{"role": "user", "content": []}]})", "messages.0.content is required"},
      {R"({"messages": [{"role": "user", "content": [{"video": {}}]}]})",
       "messages.0.content.0: the openai provider does not support video blocks"},
      {R"({"messages": [{"role": "user", "content": [{"image": {"format": "png", "source": {"s3Location": {}}}}]}]})",
       "s3Location"},
      {R"({"messages": [{"role": "user", "content": [{"text": "x"}]}], "inferenceConfig": {"maxTokens": 0}})",
       "maxTokens"},
      {R"({"messages": [{"role": "user", "content": [{"text": "x"}]}], "toolConfig": {"tools": [{"systemTool": {}}]}})",
       "toolSpec tools only"},
  };
  for (const Case& c : cases) {
    auto body = converse_to_chat(c.body, "m", false);
    ASSERT_FALSE(body.ok()) << c.body;
    EXPECT_EQ(body.error().code(), ErrorCode::Validation);
    EXPECT_NE(body.error().message().find(c.message_part), std::string::npos) << body.error().message();
  }
}

TEST(ForwardChatBody, SubstitutesTheModelAndSetsStreaming) {
  auto plain =
      forward_chat_body(R"({"model":"x","messages":[{"role":"user","content":"hi"}],"stream":true})", "m", false);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(json::parse(*plain), json::parse(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})"));
  auto streamed = forward_chat_body(
      R"({"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"stream_options":{"x":1}})", "m", true);
  ASSERT_TRUE(streamed.ok());
  auto value = json::parse(*streamed);
  EXPECT_EQ(value.at("stream"), json::value(true));
  EXPECT_EQ(value.at("stream_options"), json::parse(R"({"x":1,"include_usage":true})"));
}

TEST(ForwardChatBody, RefusesOtherFormats) {
  for (const char* body :
       {R"({"anthropic_version":"bedrock-2023-05-31","messages":[{"role":"user","content":"x"}]})",
        R"({"messages":[{"role":"user","content":[{"text":"converse-style"}]}]})", R"({"inputText":"titan"})", "[]"}) {
    auto out = forward_chat_body(body, "m", false);
    ASSERT_FALSE(out.ok()) << body;
    EXPECT_EQ(out.error().code(), ErrorCode::Validation);
    EXPECT_NE(out.error().message().find("serves InvokeModel only for OpenAI chat-format bodies"), std::string::npos);
    EXPECT_NE(out.error().message().find("use Converse"), std::string::npos);
  }
}

TEST(ChatToConverse, TranslatesTextToolCallsStopReasonAndUsage) {
  auto answer = chat_to_converse(R"({"id":"c1","choices":[{"index":0,"finish_reason":"tool_calls","message":{
      "role":"assistant","content":"Checking.","tool_calls":[{"id":"call_9","type":"function",
      "function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}}],
      "usage":{"prompt_tokens":100,"completion_tokens":20,"total_tokens":120,
               "prompt_tokens_details":{"cached_tokens":60}}})",
                                 42);
  ASSERT_TRUE(answer.ok()) << answer.error().message();
  EXPECT_EQ(json::parse(answer->body), json::parse(R"({
      "output": {"message": {"role": "assistant", "content": [
        {"text": "Checking."},
        {"toolUse": {"toolUseId": "call_9", "name": "get_weather", "input": {"city": "Paris"}}}]}},
      "stopReason": "tool_use",
      "usage": {"inputTokens": 40, "outputTokens": 20, "totalTokens": 120, "cacheReadInputTokens": 60},
      "metrics": {"latencyMs": 42}})"));
  EXPECT_EQ(answer->usage, (ledger::TokenCounts{40, 20, 60, 0}));
}

TEST(ChatToConverse, MapsFinishReasons) {
  struct Case {
    const char* choice_tail;
    const char* stop_reason;
  };
  const Case cases[] = {
      {R"("finish_reason":"stop")", "end_turn"},
      {R"("finish_reason":"length")", "max_tokens"},
      {R"("finish_reason":"content_filter")", "content_filtered"},
      {R"("finish_reason":"stop","stop_reason":"END")", "stop_sequence"},
      {R"("finish_reason":null)", "end_turn"},
  };
  for (const Case& c : cases) {
    std::string body =
        std::string(R"({"choices":[{"message":{"role":"assistant","content":"x"},)") + c.choice_tail + "}]}";
    auto answer = chat_to_converse(body, 1);
    ASSERT_TRUE(answer.ok()) << body;
    EXPECT_EQ(json::parse(answer->body).at("stopReason"), json::value(c.stop_reason)) << body;
  }
}

TEST(ChatToConverse, MalformedToolArgumentsAreKeptAsText) {
  auto answer = chat_to_converse(R"({"choices":[{"finish_reason":"tool_calls","message":{"tool_calls":[
      {"id":"bad id!","function":{"name":"f","arguments":"{not json"}}]}}]})",
                                 1);
  ASSERT_TRUE(answer.ok());
  auto body = json::parse(answer->body);
  EXPECT_EQ(body.at("stopReason"), json::value("malformed_tool_use"));
  auto use = body.at("output").at("message").at("content").at(0).at("toolUse");
  EXPECT_EQ(use.at("input"), json::value("{not json"));
  EXPECT_EQ(use.at("toolUseId"), json::value("bad_id_"));
}

TEST(ChatToConverse, AnUnreadableAnswerIsAModelError) {
  for (const char* body : {"<html>", R"({"choices":[]})", R"({"choices":[{"index":0}]})"}) {
    auto answer = chat_to_converse(body, 1);
    ASSERT_FALSE(answer.ok()) << body;
    EXPECT_EQ(answer.error().code(), ErrorCode::ModelError);
  }
}

TEST(UpstreamError, MapsStatusesToBedrockErrors) {
  struct Case {
    int status;
    ErrorCode code;
  };
  const Case cases[] = {
      {400, ErrorCode::Validation},         {422, ErrorCode::Validation},   {401, ErrorCode::InternalServer},
      {403, ErrorCode::InternalServer},     {404, ErrorCode::ModelError},   {408, ErrorCode::ModelTimeout},
      {429, ErrorCode::Throttling},         {500, ErrorCode::ModelError},   {502, ErrorCode::ServiceUnavailable},
      {503, ErrorCode::ServiceUnavailable}, {504, ErrorCode::ModelTimeout}, {507, ErrorCode::ModelError},
  };
  for (const Case& c : cases) {
    Error e = upstream_error(c.status, R"({"error":{"message":"why"}})");
    EXPECT_EQ(e.code(), c.code) << c.status;
    EXPECT_NE(e.detail().find("why"), std::string::npos);
    EXPECT_NE(e.message().find(std::to_string(c.status)), std::string::npos) << e.message();
  }
  EXPECT_NE(
      upstream_error(400, R"({"object":"error","message":"context too long"})").message().find("context too long"),
      std::string::npos);
}

TEST(UpstreamMessage, ReadsTheCommonErrorShapes) {
  EXPECT_EQ(upstream_message(R"({"error":{"message":"a"}})"), "a");
  EXPECT_EQ(upstream_message(R"({"error":"b"})"), "b");
  EXPECT_EQ(upstream_message(R"({"message":"c"})"), "c");
  EXPECT_EQ(upstream_message(R"({"detail":"d"})"), "d");
  EXPECT_EQ(upstream_message("  plain text\n"), "plain text");
  EXPECT_EQ(upstream_message(std::string(400, 'x')), std::string(300, 'x') + "...");
}

TEST(SseParser, HandlesPiecesCutAnywhereAndEveryLineEnding) {
  std::string stream =
      ": comment\r\n"
      "event: message\r\n"
      "data: {\"a\":1}\r\n\r\n"
      "data:{\"b\":2}\n\n"
      "data: line1\rdata: line2\r\r"
      "id: 7\n\n"  // no data: no event
      "data: [DONE]\n\n";
  const std::vector<std::string> expected{"{\"a\":1}", "{\"b\":2}", "line1\nline2", "[DONE]"};
  for (size_t step : {1u, 2u, 3u, 7u, 1000u}) {
    SseParser parser;
    std::vector<std::string> events;
    for (size_t i = 0; i < stream.size(); i += step) {
      auto got = parser.feed(std::string_view(stream).substr(i, step));
      ASSERT_TRUE(got.ok());
      events.insert(events.end(), got->begin(), got->end());
    }
    EXPECT_EQ(events, expected) << "step " << step;
  }
}

TEST(SseParser, RefusesAnOversizedEvent) {
  SseParser parser(16);
  auto got = parser.feed("data: " + std::string(100, 'x'));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), ErrorCode::ModelStreamError);
}

std::vector<std::string> types(const std::vector<StreamEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.event_type);
  return out;
}

TEST(ChatStreamTranslator, TextThenToolCallsThenUsage) {
  ChatStreamTranslator t;
  std::vector<StreamEvent> events;
  for (const char* chunk : {
           R"({"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})",
           R"({"choices":[{"index":0,"delta":{"content":"Let me"}}]})",
           R"({"choices":[{"index":0,"delta":{"content":" check."}}]})",
           R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function",)"
           R"("function":{"name":"get_weather","arguments":""}}]}}]})",
           R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}}]})",
           R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}}]})",
           R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})",
           R"({"choices":[],"usage":{"prompt_tokens":50,"completion_tokens":9,"total_tokens":59}})",
       }) {
    ASSERT_TRUE(t.on_chunk(chunk, events).ok()) << chunk;
  }
  EXPECT_TRUE(t.finished());
  t.finish(77, events);
  EXPECT_EQ(types(events),
            (std::vector<std::string>{"messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockStop",
                                      "contentBlockStart", "contentBlockDelta", "contentBlockDelta", "contentBlockStop",
                                      "messageStop", "metadata"}));
  EXPECT_EQ(json::parse(events[1].payload), json::parse(R"({"contentBlockIndex":0,"delta":{"text":"Let me"}})"));
  EXPECT_EQ(json::parse(events[3].payload), json::parse(R"({"contentBlockIndex":0})"));
  EXPECT_EQ(json::parse(events[4].payload),
            json::parse(R"({"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"call_1","name":"get_weather"}}})"));
  EXPECT_EQ(json::parse(events[5].payload),
            json::parse(R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\":"}}})"));
  EXPECT_EQ(json::parse(events[8].payload), json::parse(R"({"stopReason":"tool_use"})"));
  EXPECT_EQ(
      json::parse(events[9].payload),
      json::parse(R"({"usage":{"inputTokens":50,"outputTokens":9,"totalTokens":59},"metrics":{"latencyMs":77}})"));
  EXPECT_EQ(t.usage(), (ledger::TokenCounts{50, 9, 0, 0}));
}

TEST(ChatStreamTranslator, ReasoningAndParallelToolCalls) {
  ChatStreamTranslator t;
  std::vector<StreamEvent> events;
  for (
      const char* chunk : {
          R"({"choices":[{"index":0,"delta":{"reasoning_content":"Think"}}]})",
          R"({"choices":[{"index":0,"delta":{"tool_calls":[)"
          R"({"index":0,"id":"a","function":{"name":"f","arguments":"{}"}},)"
          R"({"index":1,"id":"b","function":{"name":"g","arguments":"{}"}}]}}]})",
          R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})",
      }) {
    ASSERT_TRUE(t.on_chunk(chunk, events).ok()) << chunk;
  }
  t.finish(1, events);
  EXPECT_EQ(types(events),
            (std::vector<std::string>{"messageStart", "contentBlockDelta", "contentBlockStop", "contentBlockStart",
                                      "contentBlockDelta", "contentBlockStop", "contentBlockStart", "contentBlockDelta",
                                      "contentBlockStop", "messageStop", "metadata"}));
  EXPECT_EQ(json::parse(events[1].payload),
            json::parse(R"({"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"Think"}}})"));
  EXPECT_EQ(json::parse(events[6].payload).at("contentBlockIndex"), json::value(2));
  EXPECT_EQ(json::parse(events[9].payload), json::parse(R"({"stopReason":"tool_use"})"));
  // No usage chunk: an estimate, one output token per content chunk.
  EXPECT_FALSE(t.usage_reported());
  EXPECT_EQ(t.usage(), (ledger::TokenCounts{0, 2, 0, 0}));
}

TEST(ChatStreamTranslator, AnErrorChunkIsAModelStreamError) {
  ChatStreamTranslator t;
  std::vector<StreamEvent> events;
  Status s = t.on_chunk(R"({"error":{"message":"out of memory","code":500}})", events);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::ModelStreamError);
  EXPECT_NE(s.error().message().find("out of memory"), std::string::npos);
  EXPECT_TRUE(events.empty());
  EXPECT_FALSE(t.on_chunk("{oops", events).ok());
}

}  // namespace
}  // namespace tollgate::provider::openai
