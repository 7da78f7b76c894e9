#include "provider/simulator/simulator.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>

#include "core/base64.h"
#include "io/async.h"
#include "provider/simulator/reply.h"

namespace tollgate::provider::simulator {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::milliseconds;
using End = StreamOutcome::End;

constexpr char kHaiku[] = "anthropic.claude-3-haiku-20240307-v1:0";
constexpr char kHello[] = R"({"messages":[{"role":"user","content":[{"text":"Hello there"}]}]})";
// system "Be brief." = 4 tokens; "Hello there" = 4 + 3 for the message.
constexpr char kHelloSystem[] =
    R"({"system":[{"text":"Be brief."}],"messages":[{"role":"user","content":[{"text":"Hello there"}]}]})";
constexpr char kWeatherTool[] =
    R"({"toolSpec":{"name":"get_weather","description":"Weather now.","inputSchema":{"json":{"type":"object",)"
    R"("properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}}}})";

// ---- running coroutines on a private io_context ----

template <class T>
Task<void> store(Task<T> task, std::optional<T>* out) {
  out->emplace(co_await std::move(task));
}

const auto rethrow = [](std::exception_ptr error) {
  if (error) std::rethrow_exception(error);
};

template <class T>
T run(Task<T> task) {
  asio::io_context io;
  std::optional<T> out;
  asio::co_spawn(io, store(std::move(task), &out), rethrow);
  io.run();
  return std::move(*out);
}

Task<void> tick(std::vector<std::string>* log, milliseconds after) {
  co_await sleep_for(after);
  log->push_back("tick");
}

// Records events; the client is gone when event number `gone_at` (1-based) arrives.
class Recorder final : public EventSink {
 public:
  explicit Recorder(size_t gone_at = std::numeric_limits<size_t>::max(), std::vector<std::string>* log = nullptr)
      : gone_at_(gone_at), log_(log) {}

  Task<bool> on_event(StreamEvent event) override {
    if (log_) log_->push_back(event.event_type);
    events.push_back(std::move(event));
    co_return events.size() < gone_at_;
  }

  std::vector<StreamEvent> events;

 private:
  size_t gone_at_;
  std::vector<std::string>* log_;
};

json::object object_of(std::string_view text) {
  json::value v = json::parse(text);
  EXPECT_TRUE(v.is_object()) << text;
  return v.is_object() ? v.get_object() : json::object();
}

json::object decode_chunk(const StreamEvent& event) {
  EXPECT_EQ(event.event_type, "chunk");
  json::object payload = object_of(event.payload);
  auto bytes = base64_decode(payload.at("bytes").as_string());
  EXPECT_TRUE(bytes.has_value());
  return object_of(bytes.value_or("{}"));
}

int64_t int_at(const json::value& v) { return v.to_number<int64_t>(); }

class SimulatorTest : public ::testing::Test {
 protected:
  SimulatorTest() : catalog_(catalog::Catalog::embedded()), sim_(make_simulator({}, catalog_)) {}

  static Invocation invocation(Operation op, std::string model, std::string body) {
    Invocation inv;
    inv.operation = op;
    inv.model_id = std::move(model);
    inv.region = "us-east-1";
    inv.body = std::move(body);
    return inv;
  }

  Result<Reply> invoke(Operation op, std::string model, std::string body) {
    Invocation inv = invocation(op, std::move(model), std::move(body));
    return run(sim_->invoke(inv));
  }

  Reply invoke_ok(Operation op, std::string model, std::string body) {
    auto reply = invoke(op, std::move(model), std::move(body));
    EXPECT_TRUE(reply.ok()) << (reply.ok() ? "" : reply.error().message());
    return reply.ok() ? *reply : Reply{};
  }

  Reply converse(std::string body, std::string model = kHaiku) {
    return invoke_ok(Operation::Converse, std::move(model), std::move(body));
  }

  Result<StreamOutcome> stream(Operation op, std::string model, std::string body, Recorder& sink) {
    Invocation inv = invocation(op, std::move(model), std::move(body));
    return run(sim_->stream(inv, sink));
  }

  StreamOutcome stream_ok(Operation op, std::string model, std::string body, Recorder& sink) {
    auto outcome = stream(op, std::move(model), std::move(body), sink);
    EXPECT_TRUE(outcome.ok()) << (outcome.ok() ? "" : outcome.error().message());
    return outcome.ok() ? *outcome : StreamOutcome{};
  }

  // The chunks of an InvokeModelWithResponseStream that completes.
  std::vector<json::object> chunks(std::string model, std::string body, StreamOutcome* outcome = nullptr) {
    Recorder sink;
    StreamOutcome out = stream_ok(Operation::InvokeModelWithResponseStream, std::move(model), std::move(body), sink);
    EXPECT_EQ(out.end, End::Complete);
    if (outcome) *outcome = out;
    std::vector<json::object> decoded;
    for (const StreamEvent& e : sink.events) decoded.push_back(decode_chunk(e));
    return decoded;
  }

  Error error_of(Operation op, std::string model, std::string body) {
    auto reply = invoke(op, std::move(model), std::move(body));
    EXPECT_FALSE(reply.ok());
    return reply.ok() ? Error(ErrorCode::InternalServer, "no error") : reply.error();
  }

  catalog::Catalog catalog_;
  std::unique_ptr<Provider> sim_;
};

std::string text_of_converse(const json::object& body) {
  return std::string(body.at("output").at("message").at("content").at(0).at("text").as_string());
}

// ---- counting rule ----

TEST(CountTokens, FollowsTheDocumentedRule) {
  struct Case {
    std::string_view text;
    int64_t tokens;
  };
  const Case cases[] = {
      {"", 0},
      {"a", 1},
      {"abcd", 1},
      {"abcde", 2},
      {"abcdefgh", 2},
      {"abcdefghi", 3},
      {"hello world", 4},
      {" \t\r\n\v\f", 0},
      {"a,b", 3},
      {"Hello, world!", 6},
      {"{\"a\":1}", 7},
      {"x1y2z3w4q", 3},
      {"caf\xC3\xA9", 2},               // "caf" 1 + "é" (2 bytes) 1
      {"\xE6\x97\xA5\xE6\x9C\xAC", 2},  // two CJK code points
      {"\xF0\x9F\x98\x80", 1},          // an emoji: one code point of four bytes
      {"\xC2\xA0", 1},                  // non-ASCII whitespace (U+00A0) counts as a code point
      {"a-b_c", 5},
  };
  for (const Case& c : cases) EXPECT_EQ(count_tokens(c.text), c.tokens) << "\"" << c.text << "\"";
}

TEST(CountTokens, TruncationHitsEveryCountExactly) {
  std::string text = "Simulated reply from Claude 3.5 Sonnet v2. The \xC3\xA9t\xC3\xA9 lamp, the road: 1234567890!";
  int64_t total = count_tokens(text);
  for (int64_t limit = 0; limit <= total + 2; ++limit) {
    std::string_view cut = truncate_to_tokens(text, limit);
    EXPECT_EQ(count_tokens(cut), std::min(limit, total)) << limit;
    EXPECT_EQ(text.substr(0, cut.size()), cut);
  }
}

TEST(CountTokens, PiecesAddUpToTheWhole) {
  for (uint64_t seed = 1; seed < 40; ++seed) {
    ReplyText reply = reply_text("Claude 3 Haiku", seed, std::nullopt);
    std::vector<std::string> pieces = text_pieces(reply.text, seed);
    std::string joined;
    int64_t tokens = 0;
    for (const std::string& p : pieces) {
      joined += p;
      tokens += count_tokens(p);
    }
    EXPECT_EQ(joined, reply.text);
    EXPECT_EQ(tokens, reply.tokens);
    EXPECT_GE(reply.tokens, 20);
    EXPECT_LE(reply.tokens, 60);
    EXPECT_EQ(reply.text.back(), '.') << reply.text;  // a natural end finishes its sentence
    EXPECT_FALSE(reply.cut_by_limit);
  }
  // A name that leaves less room than a sentence, or more than the natural length, is still exact.
  const std::string_view names[] = {"Claude 3.5 Sonnet v2 (2024-10-22)", "a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-s-t"};
  for (std::string_view name : names) {
    for (uint64_t seed = 1; seed < 20; ++seed) {
      ReplyText reply = reply_text(name, seed, std::nullopt);
      EXPECT_EQ(count_tokens(reply.text), reply.tokens);
      EXPECT_GE(reply.tokens, 20);
      EXPECT_LE(reply.tokens, 60);
      EXPECT_EQ(reply_text(name, seed, 3).tokens, 3);
    }
  }
}

// ---- Converse ----

TEST_F(SimulatorTest, NamesItselfAsSimulated) {
  EXPECT_EQ(sim_->name(), "simulator");
  EXPECT_TRUE(sim_->simulated());
}

TEST_F(SimulatorTest, ConverseAnswersInBedrockShapeWithMatchingUsage) {
  Reply reply = converse(kHelloSystem);
  json::object body = object_of(reply.body);
  std::string text = text_of_converse(body);
  EXPECT_EQ(text.rfind("Simulated reply from Claude 3 Haiku.", 0), 0u) << text;
  EXPECT_EQ(body.at("output").at("message").at("role"), "assistant");
  EXPECT_EQ(body.at("stopReason"), "end_turn");
  const json::value& usage = body.at("usage");
  EXPECT_EQ(int_at(usage.at("inputTokens")), 11);
  EXPECT_EQ(int_at(usage.at("outputTokens")), count_tokens(text));
  EXPECT_EQ(int_at(usage.at("totalTokens")), 11 + count_tokens(text));
  EXPECT_GE(count_tokens(text), 20);
  EXPECT_LE(count_tokens(text), 60);
  EXPECT_EQ(int_at(body.at("metrics").at("latencyMs")), 0);
  EXPECT_EQ(reply.usage.input, 11);
  EXPECT_EQ(reply.usage.output, count_tokens(text));
  EXPECT_EQ(reply.usage.cache_read, 0);
}

TEST_F(SimulatorTest, ConverseIsDeterministic) {
  EXPECT_EQ(converse(kHello).body, converse(kHello).body);
  std::string other = R"({"messages":[{"role":"user","content":[{"text":"Something else entirely"}]}]})";
  EXPECT_NE(text_of_converse(object_of(converse(kHello).body)), text_of_converse(object_of(converse(other).body)));
  std::string sonnet = "anthropic.claude-3-5-sonnet-20240620-v1:0";
  EXPECT_NE(converse(kHello).body, converse(kHello, sonnet).body);
}

TEST_F(SimulatorTest, CountsToolsToolUseAndToolResultsInTheInput) {
  std::string body =
      std::string(R"({"messages":[)") + R"({"role":"user","content":[{"text":"Weather?"}]},)" +
      R"({"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"get_weather",)" +
      R"("input":{"city":"Oslo"}}}]},)" + R"({"role":"user","content":[{"toolResult":{"toolUseId":"t1",)" +
      R"("content":[{"text":"Sunny"},{"json":{"c":21}}]}}]}],)" + R"("toolConfig":{"tools":[)" + kWeatherTool + "]}}";
  int64_t expected =
      count_tokens("Weather?") + count_tokens(R"({"city":"Oslo"})") + count_tokens("Sunny") +
      count_tokens(R"({"c":21})") + 3 * 3 + count_tokens("get_weather") + count_tokens("Weather now.") +
      count_tokens(R"({"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},)"
                   R"("required":["city"]})");
  Reply reply = converse(body);
  EXPECT_EQ(reply.usage.input, expected);
  EXPECT_EQ(int_at(object_of(reply.body).at("usage").at("inputTokens")), expected);
}

TEST_F(SimulatorTest, MaxTokensCutsTheSameAnswer) {
  std::string full = text_of_converse(object_of(converse(kHello).body));
  std::string body =
      R"({"messages":[{"role":"user","content":[{"text":"Hello there"}]}],"inferenceConfig":{"maxTokens":5}})";
  Reply reply = converse(body);
  json::object out = object_of(reply.body);
  std::string cut = text_of_converse(out);
  EXPECT_EQ(out.at("stopReason"), "max_tokens");
  EXPECT_EQ(count_tokens(cut), 5);
  EXPECT_EQ(reply.usage.output, 5);
  EXPECT_EQ(full.rfind(cut, 0), 0u) << cut << " | " << full;

  std::string roomy =
      R"({"messages":[{"role":"user","content":[{"text":"Hello there"}]}],"inferenceConfig":{"maxTokens":4000}})";
  EXPECT_EQ(object_of(converse(roomy).body).at("stopReason"), "end_turn");
}

TEST_F(SimulatorTest, ConverseToolChoiceAnswersWithAToolUse) {
  std::string body = std::string(kHello).substr(0, std::string(kHello).size() - 1) + R"(,"toolConfig":{"tools":[)" +
                     kWeatherTool + R"(],"toolChoice":{"any":{}}}})";
  Reply reply = converse(body);
  json::object out = object_of(reply.body);
  EXPECT_EQ(out.at("stopReason"), "tool_use");
  const json::object& use = out.at("output").at("message").at("content").at(0).at("toolUse").as_object();
  EXPECT_EQ(use.at("name"), "get_weather");
  EXPECT_EQ(std::string(use.at("toolUseId").as_string()).rfind("tooluse_", 0), 0u);
  const json::object& input = use.at("input").as_object();
  EXPECT_TRUE(input.at("city").is_string());
  EXPECT_FALSE(input.contains("days"));  // only the required properties
  EXPECT_EQ(reply.usage.output, count_tokens(json::serialize(input)));
  EXPECT_EQ(reply.body, converse(body).body);

  std::string named = std::string(kHello).substr(0, std::string(kHello).size() - 1) + R"(,"toolConfig":{"tools":[)" +
                      kWeatherTool + R"(],"toolChoice":{"tool":{"name":"get_weather"}}}})";
  EXPECT_EQ(object_of(converse(named).body).at("stopReason"), "tool_use");
  std::string automatic = std::string(kHello).substr(0, std::string(kHello).size() - 1) +
                          R"(,"toolConfig":{"tools":[)" + kWeatherTool + R"(],"toolChoice":{"auto":{}}}})";
  EXPECT_EQ(object_of(converse(automatic).body).at("stopReason"), "end_turn");
}

TEST_F(SimulatorTest, ConverseValidationSaysWhatToFix) {
  struct Case {
    std::string body;
    std::string message_part;
  };
  std::string msg = R"({"role":"user","content":[{"text":"Hi"}]})";
  const std::vector<Case> cases = {
      {"not json", "not valid JSON"},
      {"[1,2]", "must be a JSON object"},
      {"{}", "messages field is required"},
      {R"({"messages":[]})", "non-empty list"},
      {R"({"messages":[{"content":[{"text":"Hi"}]}]})", "messages.0.role is required"},
      {R"({"messages":[{"role":"user"}]})", "messages.0.content is required"},
      {R"({"messages":[{"role":"user","content":[]}]})",
       "The content field in the Message object at messages.0 is empty"},
      {R"({"messages":[{"role":"robot","content":[{"text":"Hi"}]}]})", "\"robot\" is not valid"},
      {R"({"messages":[{"role":"assistant","content":[{"text":"Hi"}]}]})", "must start with a user message"},
      {R"({"messages":[)" + msg + R"(],"inferenceConfig":{"maxTokens":0}})", "maxTokens must be at least 1"},
      {R"({"messages":[)" + msg + R"(],"inferenceConfig":{"maxTokens":"ten"}})", "maxTokens must be an integer"},
      {R"({"messages":[)" + msg + R"(],"inferenceConfig":{"maxTokens":5000}})", "exceeds the limit of 4096"},
      {R"({"messages":[)" + msg + R"(],"inferenceConfig":{"temperature":1.5}})",
       "temperature must be a number from 0 to 1"},
      {R"({"messages":[)" + msg + R"(],"inferenceConfig":{"topP":-0.1}})", "topP must be a number from 0 to 1"},
      {R"({"messages":[)" + msg + R"(],"toolConfig":{"tools":[]}})", "toolConfig.tools must be a non-empty list"},
      {R"({"messages":[)" + msg + R"(],"toolConfig":{"tools":[)" + kWeatherTool +
           R"(],"toolChoice":{"tool":{"name":"nope"}}}})",
       "\"nope\" does not name a tool"},
      {R"({"messages":[{"role":"user","content":[{"toolResult":{"toolUseId":"t","content":[{"text":"x"}]}}]}]})",
       "toolConfig field must be defined"},
  };
  for (const Case& c : cases) {
    Error e = error_of(Operation::Converse, kHaiku, c.body);
    EXPECT_EQ(e.code(), ErrorCode::Validation) << c.body;
    EXPECT_NE(e.message().find(c.message_part), std::string::npos) << c.body << " -> " << e.message();
  }
}

TEST_F(SimulatorTest, ConverseRefusesModelsWithoutTextOutput) {
  Error e = error_of(Operation::Converse, "amazon.titan-embed-text-v2:0", kHello);
  EXPECT_EQ(e.code(), ErrorCode::Validation);
  EXPECT_NE(e.message().find("supported text or chat model"), std::string::npos);
}

// ---- ConverseStream ----

TEST_F(SimulatorTest, ConverseStreamEventsInOrderWithMatchingUsage) {
  Recorder sink;
  StreamOutcome outcome = stream_ok(Operation::ConverseStream, kHaiku, kHelloSystem, sink);
  ASSERT_GE(sink.events.size(), 5u);
  EXPECT_EQ(outcome.end, End::Complete);
  EXPECT_EQ(sink.events.front().event_type, "messageStart");
  EXPECT_EQ(object_of(sink.events.front().payload).at("role"), "assistant");
  std::string text;
  size_t n = sink.events.size();
  for (size_t i = 1; i + 3 < n; ++i) {
    ASSERT_EQ(sink.events[i].event_type, "contentBlockDelta");
    json::object delta = object_of(sink.events[i].payload);
    EXPECT_EQ(int_at(delta.at("contentBlockIndex")), 0);
    text += delta.at("delta").at("text").as_string();
  }
  EXPECT_EQ(sink.events[n - 3].event_type, "contentBlockStop");
  EXPECT_EQ(sink.events[n - 2].event_type, "messageStop");
  EXPECT_EQ(object_of(sink.events[n - 2].payload).at("stopReason"), "end_turn");
  EXPECT_EQ(sink.events[n - 1].event_type, "metadata");
  json::object metadata = object_of(sink.events[n - 1].payload);
  EXPECT_EQ(int_at(metadata.at("usage").at("inputTokens")), outcome.usage.input);
  EXPECT_EQ(int_at(metadata.at("usage").at("outputTokens")), outcome.usage.output);
  EXPECT_EQ(int_at(metadata.at("usage").at("totalTokens")), outcome.usage.input + outcome.usage.output);
  EXPECT_TRUE(metadata.at("metrics").at("latencyMs").is_number());
  EXPECT_EQ(outcome.usage.input, 11);
  EXPECT_EQ(outcome.usage.output, count_tokens(text));
  // The stream says what Converse says.
  EXPECT_EQ(text, text_of_converse(object_of(converse(kHelloSystem).body)));
}

TEST_F(SimulatorTest, ConverseStreamToolUse) {
  std::string body = std::string(kHello).substr(0, std::string(kHello).size() - 1) + R"(,"toolConfig":{"tools":[)" +
                     kWeatherTool + R"(],"toolChoice":{"tool":{"name":"get_weather"}}}})";
  Recorder sink;
  StreamOutcome outcome = stream_ok(Operation::ConverseStream, kHaiku, body, sink);
  ASSERT_GE(sink.events.size(), 6u);
  EXPECT_EQ(sink.events[1].event_type, "contentBlockStart");
  json::object start = object_of(sink.events[1].payload);
  EXPECT_EQ(start.at("start").at("toolUse").at("name"), "get_weather");
  std::string input;
  for (const StreamEvent& e : sink.events) {
    if (e.event_type == "contentBlockDelta")
      input += object_of(e.payload).at("delta").at("toolUse").at("input").as_string();
  }
  json::object whole = object_of(converse(body).body);
  EXPECT_EQ(json::parse(input), whole.at("output").at("message").at("content").at(0).at("toolUse").at("input"));
  EXPECT_EQ(object_of(sink.events[sink.events.size() - 2].payload).at("stopReason"), "tool_use");
  EXPECT_EQ(outcome.usage.output, count_tokens(input));
}

TEST_F(SimulatorTest, ClientGoneStopsEarlyWithPartialUsage) {
  Recorder full_sink;
  StreamOutcome full = stream_ok(Operation::ConverseStream, kHaiku, kHello, full_sink);
  Recorder sink(3);  // messageStart, two deltas; the client is gone at the second delta
  StreamOutcome outcome = stream_ok(Operation::ConverseStream, kHaiku, kHello, sink);
  EXPECT_EQ(outcome.end, End::ClientGone);
  EXPECT_EQ(sink.events.size(), 3u);
  int64_t produced = 0;
  for (size_t i = 1; i < 3; ++i)
    produced += count_tokens(object_of(sink.events[i].payload).at("delta").at("text").as_string());
  EXPECT_EQ(outcome.usage.output, produced);
  EXPECT_LT(outcome.usage.output, full.usage.output);
  EXPECT_EQ(outcome.usage.input, full.usage.input);

  Recorder gone_at_start(1);
  StreamOutcome early = stream_ok(Operation::ConverseStream, kHaiku, kHello, gone_at_start);
  EXPECT_EQ(early.end, End::ClientGone);
  EXPECT_EQ(early.usage.output, 0);
}

// ---- faults ----

std::string with_marker(std::string_view marker) {
  return std::string(R"({"messages":[{"role":"user","content":[{"text":"Hello )") + std::string(marker) + R"("}]}]})";
}

TEST_F(SimulatorTest, FaultMarkersFailWholeAnswers) {
  struct Case {
    std::string_view marker;
    ErrorCode code;
  };
  const Case cases[] = {
      {"[[tollgate:throttle]]", ErrorCode::Throttling},    {"[[tollgate:unavailable]]", ErrorCode::ServiceUnavailable},
      {"[[tollgate:error]]", ErrorCode::InternalServer},   {"[[tollgate:timeout]]", ErrorCode::ModelTimeout},
      {"[[tollgate:model-error]]", ErrorCode::ModelError}, {"[[tollgate:cut]]", ErrorCode::InternalServer},
  };
  for (const Case& c : cases) {
    Error e = error_of(Operation::Converse, kHaiku, with_marker(c.marker));
    EXPECT_EQ(e.code(), c.code) << c.marker;
    EXPECT_NE(e.message().find(c.marker), std::string::npos) << e.message();
    std::string native = R"({"prompt":"Hello )" + std::string(c.marker) + R"("})";
    EXPECT_EQ(error_of(Operation::InvokeModel, "meta.llama3-8b-instruct-v1:0", native).code(), c.code);
  }
}

TEST_F(SimulatorTest, FaultMarkersFailStreamsBeforeAnyEvent) {
  const std::string_view markers[] = {"[[tollgate:throttle]]", "[[tollgate:unavailable]]", "[[tollgate:error]]",
                                      "[[tollgate:timeout]]", "[[tollgate:model-error]]"};
  for (std::string_view marker : markers) {
    Recorder sink;
    auto outcome = stream(Operation::ConverseStream, kHaiku, with_marker(marker), sink);
    EXPECT_FALSE(outcome.ok()) << marker;
    EXPECT_TRUE(sink.events.empty()) << marker;
  }
}

TEST_F(SimulatorTest, CutMarkerEndsTheStreamAfterHalfTheDeltas) {
  std::string body = with_marker("[[tollgate:cut]]");
  Recorder sink;
  StreamOutcome outcome = stream_ok(Operation::ConverseStream, kHaiku, body, sink);
  EXPECT_EQ(outcome.end, End::UpstreamCut);
  ASSERT_TRUE(outcome.error.has_value());
  EXPECT_EQ(outcome.error->code(), ErrorCode::ModelStreamError);

  // The answer the stream would have given in full (its seed is the request's text).
  uint64_t seed = seed_of(kHaiku, "Hello [[tollgate:cut]]\x1f");
  size_t all_deltas = text_pieces(reply_text("Claude 3 Haiku", seed, std::nullopt).text, seed).size();
  size_t deltas = 0;
  int64_t produced = 0;
  for (const StreamEvent& e : sink.events) {
    EXPECT_NE(e.event_type, "messageStop");
    if (e.event_type != "contentBlockDelta") continue;
    ++deltas;
    produced += count_tokens(object_of(e.payload).at("delta").at("text").as_string());
  }
  EXPECT_EQ(deltas, std::max<size_t>(1, all_deltas / 2));
  EXPECT_EQ(outcome.usage.output, produced);
  EXPECT_GT(outcome.usage.input, 0);
}

TEST_F(SimulatorTest, SlowMarkerDelaysTheAnswer) {
  asio::io_context io;
  std::vector<std::string> log;
  std::optional<Result<Reply>> reply;
  Invocation inv = invocation(Operation::Converse, kHaiku, with_marker("[[tollgate:slow=60]]"));
  asio::co_spawn(io, store(sim_->invoke(inv), &reply), rethrow);
  asio::co_spawn(io, tick(&log, milliseconds(5)), rethrow);
  io.run();
  ASSERT_TRUE(reply.has_value() && reply->ok());
  log.push_back("reply");
  EXPECT_EQ(log, (std::vector<std::string>{"tick", "reply"}));
  EXPECT_EQ(int_at(object_of((*reply)->body).at("metrics").at("latencyMs")), 60);
}

// ---- latency and pacing (ordering, not timings) ----

TEST(SimulatorPacing, LatencyComesBeforeTheFirstEvent) {
  catalog::Catalog catalog = catalog::Catalog::embedded();
  SimulatorOptions options;
  options.latency = milliseconds(40);
  auto sim = make_simulator(options, catalog);
  asio::io_context io;
  std::vector<std::string> log;
  Recorder sink(std::numeric_limits<size_t>::max(), &log);
  std::optional<Result<StreamOutcome>> outcome;
  Invocation inv;
  inv.operation = Operation::ConverseStream;
  inv.model_id = kHaiku;
  inv.body = kHello;
  asio::co_spawn(io, store(sim->stream(inv, sink), &outcome), rethrow);
  asio::co_spawn(io, tick(&log, milliseconds(5)), rethrow);
  io.run();
  ASSERT_TRUE(outcome.has_value() && outcome->ok());
  ASSERT_GE(log.size(), 2u);
  EXPECT_EQ(log[0], "tick");
  EXPECT_EQ(log[1], "messageStart");
  EXPECT_EQ(int_at(object_of(sink.events.back().payload).at("metrics").at("latencyMs")), 40);
}

TEST(SimulatorPacing, TimeToFirstTokenAndTokensPerSecondPaceTheDeltas) {
  catalog::Catalog catalog = catalog::Catalog::embedded();
  SimulatorOptions options;
  options.time_to_first_token = milliseconds(30);
  options.tokens_per_second = 100;  // 10 ms per token
  auto sim = make_simulator(options, catalog);
  asio::io_context io;
  std::vector<std::string> log;
  Recorder sink(std::numeric_limits<size_t>::max(), &log);
  std::optional<Result<StreamOutcome>> outcome;
  Invocation inv;
  inv.operation = Operation::ConverseStream;
  inv.model_id = kHaiku;
  inv.body = R"({"messages":[{"role":"user","content":[{"text":"Hello there"}]}],"inferenceConfig":{"maxTokens":12}})";
  asio::co_spawn(io, store(sim->stream(inv, sink), &outcome), rethrow);
  asio::co_spawn(io, tick(&log, milliseconds(5)), rethrow);
  io.run();
  ASSERT_TRUE(outcome.has_value() && outcome->ok());
  ASSERT_GE(log.size(), 4u);
  EXPECT_EQ(log[0], "messageStart");  // no latency: the first event goes out at once
  EXPECT_EQ(log[1], "tick");          // the first delta waits for time_to_first_token
  EXPECT_EQ(log[2], "contentBlockDelta");
  // Simulated latency: time to first token + 10 ms per token after the first delta.
  std::vector<std::string> deltas;
  for (const StreamEvent& e : sink.events) {
    if (e.event_type == "contentBlockDelta")
      deltas.emplace_back(object_of(e.payload).at("delta").at("text").as_string());
  }
  int64_t paced = 12 - count_tokens(deltas.front());
  EXPECT_EQ(int_at(object_of(sink.events.back().payload).at("metrics").at("latencyMs")), 30 + paced * 10);
}

// ---- InvokeModel: native formats ----

TEST_F(SimulatorTest, AnthropicMessagesRoundTrip) {
  std::string body = R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":200,"system":"Be brief.",)"
                     R"("messages":[{"role":"user","content":"Hello there"}]})";
  Reply reply = invoke_ok(Operation::InvokeModel, kHaiku, body);
  json::object out = object_of(reply.body);
  EXPECT_EQ(std::string(out.at("id").as_string()).rfind("msg_bdrk_", 0), 0u);
  EXPECT_EQ(out.at("type"), "message");
  EXPECT_EQ(out.at("role"), "assistant");
  EXPECT_EQ(out.at("model"), kHaiku);
  EXPECT_EQ(out.at("content").at(0).at("type"), "text");
  std::string text(out.at("content").at(0).at("text").as_string());
  EXPECT_EQ(text.rfind("Simulated reply from Claude 3 Haiku.", 0), 0u);
  EXPECT_EQ(out.at("stop_reason"), "end_turn");
  EXPECT_TRUE(out.at("stop_sequence").is_null());
  EXPECT_EQ(int_at(out.at("usage").at("input_tokens")), 11);
  EXPECT_EQ(int_at(out.at("usage").at("output_tokens")), count_tokens(text));
  EXPECT_EQ(reply.usage.input, 11);
  EXPECT_EQ(reply.usage.output, count_tokens(text));

  StreamOutcome outcome;
  std::vector<json::object> c = chunks(kHaiku, body, &outcome);
  ASSERT_GE(c.size(), 6u);
  EXPECT_EQ(c[0].at("type"), "message_start");
  EXPECT_EQ(int_at(c[0].at("message").at("usage").at("input_tokens")), 11);
  EXPECT_EQ(c[1].at("type"), "content_block_start");
  std::string streamed;
  for (size_t i = 2; i + 3 < c.size(); ++i) {
    EXPECT_EQ(c[i].at("type"), "content_block_delta");
    EXPECT_EQ(c[i].at("delta").at("type"), "text_delta");
    streamed += c[i].at("delta").at("text").as_string();
  }
  EXPECT_EQ(streamed, text);
  size_t n = c.size();
  EXPECT_EQ(c[n - 3].at("type"), "content_block_stop");
  EXPECT_EQ(c[n - 2].at("type"), "message_delta");
  EXPECT_EQ(c[n - 2].at("delta").at("stop_reason"), "end_turn");
  EXPECT_EQ(int_at(c[n - 2].at("usage").at("output_tokens")), outcome.usage.output);
  EXPECT_EQ(c[n - 1].at("type"), "message_stop");
  const json::value& metrics = c[n - 1].at("amazon-bedrock-invocationMetrics");
  EXPECT_EQ(int_at(metrics.at("inputTokenCount")), outcome.usage.input);
  EXPECT_EQ(int_at(metrics.at("outputTokenCount")), outcome.usage.output);
  EXPECT_TRUE(metrics.at("invocationLatency").is_number());
  EXPECT_TRUE(metrics.at("firstByteLatency").is_number());
  EXPECT_EQ(outcome.usage, reply.usage);
}

TEST_F(SimulatorTest, AnthropicMessagesToolUse) {
  std::string body =
      R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":200,)"
      R"("messages":[{"role":"user","content":[{"type":"text","text":"Weather in Oslo?"}]}],)"
      R"("tools":[{"name":"get_weather","description":"Weather now.","input_schema":{"type":"object",)"
      R"("properties":{"city":{"type":"string","enum":["Oslo","Bergen"]}}}}],"tool_choice":{"type":"any"}})";
  Reply reply = invoke_ok(Operation::InvokeModel, kHaiku, body);
  json::object out = object_of(reply.body);
  EXPECT_EQ(out.at("stop_reason"), "tool_use");
  const json::value& block = out.at("content").at(0);
  EXPECT_EQ(block.at("type"), "tool_use");
  EXPECT_EQ(std::string(block.at("id").as_string()).rfind("toolu_bdrk_", 0), 0u);
  EXPECT_EQ(block.at("input").at("city"), "Oslo");
  EXPECT_EQ(reply.usage.output, count_tokens(json::serialize(block.at("input"))));

  std::vector<json::object> c = chunks(kHaiku, body);
  EXPECT_EQ(c[1].at("content_block").at("type"), "tool_use");
  std::string partial;
  for (const json::object& chunk : c) {
    if (chunk.at("type") == "content_block_delta") partial += chunk.at("delta").at("partial_json").as_string();
  }
  EXPECT_EQ(json::parse(partial), block.at("input"));
}

TEST_F(SimulatorTest, AnthropicLegacyCompletionRoundTrip) {
  std::string model = "anthropic.claude-v2:1";
  std::string body = R"({"prompt":"\n\nHuman: Hello there\n\nAssistant:","max_tokens_to_sample":300})";
  Reply reply = invoke_ok(Operation::InvokeModel, model, body);
  json::object out = object_of(reply.body);
  std::string text(out.at("completion").as_string());
  EXPECT_EQ(out.at("stop_reason"), "stop_sequence");
  EXPECT_EQ(out.at("stop"), "\n\nHuman:");
  EXPECT_EQ(reply.usage.input, count_tokens("\n\nHuman: Hello there\n\nAssistant:"));
  EXPECT_EQ(reply.usage.output, count_tokens(text));

  StreamOutcome outcome;
  std::vector<json::object> c = chunks(model, body, &outcome);
  std::string streamed;
  for (const json::object& chunk : c) streamed += chunk.at("completion").as_string();
  EXPECT_EQ(streamed, text);
  EXPECT_EQ(c.back().at("stop_reason"), "stop_sequence");
  EXPECT_EQ(int_at(c.back().at("amazon-bedrock-invocationMetrics").at("outputTokenCount")), outcome.usage.output);
  EXPECT_EQ(outcome.usage, reply.usage);
}

TEST_F(SimulatorTest, NovaRoundTripWithMaxNewTokens) {
  std::string model = "amazon.nova-micro-v1:0";
  std::string body =
      R"({"schemaVersion":"messages-v1","system":[{"text":"Be brief."}],)"
      R"("messages":[{"role":"user","content":[{"text":"Hello there"}]}],"inferenceConfig":{"max_new_tokens":5}})";
  Reply reply = invoke_ok(Operation::InvokeModel, model, body);
  json::object out = object_of(reply.body);
  EXPECT_EQ(out.at("stopReason"), "max_tokens");
  EXPECT_FALSE(out.contains("metrics"));
  std::string text = text_of_converse(out);
  EXPECT_EQ(count_tokens(text), 5);
  EXPECT_EQ(int_at(out.at("usage").at("inputTokens")), 11);
  EXPECT_EQ(int_at(out.at("usage").at("outputTokens")), 5);
  EXPECT_EQ(int_at(out.at("usage").at("totalTokens")), 16);
  EXPECT_EQ(reply.usage.input, 11);
  EXPECT_EQ(reply.usage.output, 5);

  StreamOutcome outcome;
  std::vector<json::object> c = chunks(model, body, &outcome);
  ASSERT_GE(c.size(), 5u);
  EXPECT_TRUE(c.front().contains("messageStart"));
  std::string streamed;
  for (size_t i = 1; i + 3 < c.size(); ++i) streamed += c[i].at("contentBlockDelta").at("delta").at("text").as_string();
  EXPECT_EQ(streamed, text);
  size_t n = c.size();
  EXPECT_TRUE(c[n - 3].contains("contentBlockStop"));
  EXPECT_EQ(c[n - 2].at("messageStop").at("stopReason"), "max_tokens");
  EXPECT_EQ(int_at(c[n - 1].at("metadata").at("usage").at("outputTokens")), 5);
  EXPECT_EQ(int_at(c[n - 1].at("amazon-bedrock-invocationMetrics").at("inputTokenCount")), 11);
  EXPECT_EQ(outcome.usage, reply.usage);
}

TEST_F(SimulatorTest, TitanTextRoundTrip) {
  std::string model = "amazon.titan-text-express-v1";
  std::string body = R"({"inputText":"Hello there","textGenerationConfig":{"maxTokenCount":8}})";
  Reply reply = invoke_ok(Operation::InvokeModel, model, body);
  json::object out = object_of(reply.body);
  EXPECT_EQ(int_at(out.at("inputTextTokenCount")), 4);
  const json::value& result = out.at("results").at(0);
  EXPECT_EQ(int_at(result.at("tokenCount")), 8);
  EXPECT_EQ(result.at("completionReason"), "LENGTH");
  EXPECT_EQ(count_tokens(result.at("outputText").as_string()), 8);
  EXPECT_EQ(reply.usage.input, 4);
  EXPECT_EQ(reply.usage.output, 8);

  StreamOutcome outcome;
  std::vector<json::object> c = chunks(model, body, &outcome);
  std::string streamed;
  for (const json::object& chunk : c) {
    streamed += chunk.at("outputText").as_string();
    EXPECT_EQ(int_at(chunk.at("inputTextTokenCount")), 4);
    EXPECT_EQ(chunk.at("index"), 0);
  }
  EXPECT_EQ(streamed, result.at("outputText").as_string());
  EXPECT_TRUE(c.front().at("completionReason").is_null());
  EXPECT_EQ(c.back().at("completionReason"), "LENGTH");
  EXPECT_EQ(int_at(c.back().at("totalOutputTextTokenCount")), 8);
  EXPECT_EQ(int_at(c.back().at("amazon-bedrock-invocationMetrics").at("outputTokenCount")), 8);
  EXPECT_EQ(outcome.usage, reply.usage);
}

TEST_F(SimulatorTest, LlamaRoundTrip) {
  std::string model = "meta.llama3-8b-instruct-v1:0";
  std::string body = R"({"prompt":"Hello there","max_gen_len":512})";
  Reply reply = invoke_ok(Operation::InvokeModel, model, body);
  json::object out = object_of(reply.body);
  std::string text(out.at("generation").as_string());
  EXPECT_EQ(int_at(out.at("prompt_token_count")), 4);
  EXPECT_EQ(int_at(out.at("generation_token_count")), count_tokens(text));
  EXPECT_EQ(out.at("stop_reason"), "stop");
  EXPECT_EQ(reply.usage.output, count_tokens(text));

  StreamOutcome outcome;
  std::vector<json::object> c = chunks(model, body, &outcome);
  ASSERT_GE(c.size(), 3u);
  EXPECT_EQ(int_at(c[0].at("prompt_token_count")), 4);
  EXPECT_TRUE(c[1].at("prompt_token_count").is_null());
  std::string streamed;
  int64_t last_count = 0;
  for (const json::object& chunk : c) {
    streamed += chunk.at("generation").as_string();
    EXPECT_GE(int_at(chunk.at("generation_token_count")), last_count);
    last_count = int_at(chunk.at("generation_token_count"));
  }
  EXPECT_EQ(streamed, text);
  EXPECT_EQ(c.back().at("stop_reason"), "stop");
  EXPECT_EQ(last_count, outcome.usage.output);
  EXPECT_TRUE(c.back().contains("amazon-bedrock-invocationMetrics"));
  EXPECT_EQ(outcome.usage, reply.usage);

  json::object cut = object_of(invoke_ok(Operation::InvokeModel, model, R"({"prompt":"Hi","max_gen_len":3})").body);
  EXPECT_EQ(cut.at("stop_reason"), "length");
  EXPECT_EQ(int_at(cut.at("generation_token_count")), 3);
}

TEST_F(SimulatorTest, MistralTextAndChatRoundTrip) {
  std::string model = "mistral.mistral-7b-instruct-v0:2";
  std::string body = R"({"prompt":"<s>[INST] Hello [/INST]","max_tokens":3})";
  Reply reply = invoke_ok(Operation::InvokeModel, model, body);
  json::object out = object_of(reply.body);
  EXPECT_EQ(out.at("outputs").at(0).at("stop_reason"), "length");
  EXPECT_EQ(count_tokens(out.at("outputs").at(0).at("text").as_string()), 3);
  EXPECT_EQ(reply.usage.input, 12);
  StreamOutcome outcome;
  std::vector<json::object> c = chunks(model, body, &outcome);
  EXPECT_TRUE(c.front().at("outputs").at(0).at("stop_reason").is_null());
  EXPECT_EQ(c.back().at("outputs").at(0).at("stop_reason"), "length");
  EXPECT_TRUE(c.back().contains("amazon-bedrock-invocationMetrics"));
  EXPECT_EQ(outcome.usage, reply.usage);

  std::string large = "mistral.mistral-large-2407-v1:0";
  Reply chat = invoke_ok(Operation::InvokeModel, large, R"({"messages":[{"role":"user","content":"Hello there"}]})");
  json::object choice = object_of(chat.body).at("choices").at(0).as_object();
  EXPECT_EQ(choice.at("finish_reason"), "stop");
  EXPECT_EQ(choice.at("stop_reason"), "stop");
  EXPECT_EQ(chat.usage.output, count_tokens(choice.at("message").at("content").as_string()));
}

TEST_F(SimulatorTest, OpenAiChatRoundTrip) {
  std::string model = "openai.gpt-oss-20b-1:0";
  std::string body = R"({"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello there"}],)"
                     R"("max_completion_tokens":100})";
  Reply reply = invoke_ok(Operation::InvokeModel, model, body);
  json::object out = object_of(reply.body);
  EXPECT_EQ(out.at("object"), "chat.completion");
  EXPECT_EQ(int_at(out.at("created")), 0);
  EXPECT_EQ(out.at("model").as_string(), model);
  const json::value& choice = out.at("choices").at(0);
  EXPECT_EQ(int_at(choice.at("index")), 0);
  EXPECT_EQ(choice.at("message").at("role"), "assistant");
  EXPECT_EQ(choice.at("finish_reason"), "stop");
  std::string text(choice.at("message").at("content").as_string());
  EXPECT_EQ(int_at(out.at("usage").at("prompt_tokens")), 14);
  EXPECT_EQ(int_at(out.at("usage").at("completion_tokens")), count_tokens(text));
  EXPECT_EQ(int_at(out.at("usage").at("total_tokens")), 14 + count_tokens(text));
  EXPECT_EQ(reply.usage.input, 14);

  StreamOutcome outcome;
  std::vector<json::object> c = chunks(model, body, &outcome);
  std::string streamed;
  for (const json::object& chunk : c) {
    EXPECT_EQ(chunk.at("object"), "chat.completion.chunk");
    const json::value& delta = chunk.at("choices").at(0).at("delta");
    if (const json::value* content = delta.as_object().if_contains("content")) streamed += content->as_string();
  }
  EXPECT_EQ(streamed, text);
  EXPECT_EQ(c.front().at("choices").at(0).at("delta").at("role"), "assistant");
  EXPECT_EQ(c.back().at("choices").at(0).at("finish_reason"), "stop");
  EXPECT_EQ(int_at(c.back().at("usage").at("completion_tokens")), outcome.usage.output);
  EXPECT_EQ(int_at(c.back().at("amazon-bedrock-invocationMetrics").at("inputTokenCount")), 14);
  EXPECT_EQ(outcome.usage, reply.usage);
}

TEST_F(SimulatorTest, OpenAiChatToolCall) {
  std::string model = "qwen.qwen3-32b-v1:0";
  std::string body = R"({"messages":[{"role":"user","content":"Weather?"}],"tool_choice":"required",)"
                     R"("tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object",)"
                     R"("properties":{"city":{"type":"string"}}}}}]})";
  Reply reply = invoke_ok(Operation::InvokeModel, model, body);
  json::value choice = object_of(reply.body).at("choices").at(0);
  EXPECT_EQ(choice.at("finish_reason"), "tool_calls");
  const json::value& call = choice.at("message").at("tool_calls").at(0);
  EXPECT_EQ(call.at("function").at("name"), "get_weather");
  std::string arguments(call.at("function").at("arguments").as_string());
  EXPECT_TRUE(json::parse(arguments).at("city").is_string());
  EXPECT_EQ(reply.usage.output, count_tokens(arguments));
}

TEST_F(SimulatorTest, OtherTextFamiliesRoundTrip) {
  struct Case {
    std::string model, body;
    std::vector<std::string> text_path;  // keys / indexes to the reply text
  };
  const std::vector<Case> cases = {
      {"deepseek.r1-v1:0", R"({"prompt":"Hello there","max_tokens":50})", {"choices", "0", "text"}},
      {"cohere.command-text-v14", R"({"prompt":"Hello there"})", {"generations", "0", "text"}},
      {"cohere.command-r-v1:0",
       R"({"message":"Hello there","chat_history":[{"role":"USER","message":"Hi"}]})",
       {"text"}},
      {"ai21.j2-mid-v1", R"({"prompt":"Hello there","maxTokens":10})", {"completions", "0", "data", "text"}},
      {"writer.palmyra-x5-v1:0",
       R"({"messages":[{"role":"user","content":"Hello there"}]})",
       {"choices", "0", "message", "content"}},
  };
  for (const Case& c : cases) {
    Reply reply = invoke_ok(Operation::InvokeModel, c.model, c.body);
    json::value v = json::parse(reply.body);
    const json::value* at = &v;
    for (const std::string& key : c.text_path) {
      at = at->is_array() ? &at->as_array().at(std::stoul(key)) : &at->as_object().at(key);
    }
    EXPECT_EQ(reply.usage.output, count_tokens(at->as_string())) << c.model;
    EXPECT_GT(reply.usage.input, 0) << c.model;
    StreamOutcome outcome;
    std::vector<json::object> c_chunks = chunks(c.model, c.body, &outcome);
    EXPECT_TRUE(c_chunks.back().contains("amazon-bedrock-invocationMetrics")) << c.model;
    EXPECT_EQ(outcome.usage, reply.usage) << c.model;
  }
}

TEST_F(SimulatorTest, EmbeddingsAreDeterministicUnitVectors) {
  std::string titan = "amazon.titan-embed-text-v2:0";
  Reply reply = invoke_ok(Operation::InvokeModel, titan, R"({"inputText":"Hello there","dimensions":256})");
  json::object out = object_of(reply.body);
  const json::array& vector = out.at("embedding").as_array();
  EXPECT_EQ(vector.size(), 256u);
  double norm = 0;
  for (const json::value& v : vector) norm += v.to_number<double>() * v.to_number<double>();
  EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-3);
  EXPECT_EQ(int_at(out.at("inputTextTokenCount")), 4);
  EXPECT_EQ(reply.usage.input, 4);
  EXPECT_EQ(reply.usage.output, 0);
  EXPECT_EQ(reply.body,
            invoke_ok(Operation::InvokeModel, titan, R"({"inputText":"Hello there","dimensions":256})").body);
  EXPECT_EQ(object_of(invoke_ok(Operation::InvokeModel, titan, R"({"inputText":"x"})").body)
                .at("embedding")
                .as_array()
                .size(),
            1024u);

  Reply cohere = invoke_ok(Operation::InvokeModel, "cohere.embed-english-v3",
                           R"({"texts":["Hello there","abc"],"input_type":"search_document"})");
  json::object c = object_of(cohere.body);
  EXPECT_EQ(c.at("embeddings").as_array().size(), 2u);
  EXPECT_EQ(c.at("embeddings").at(0).as_array().size(), 1024u);
  EXPECT_EQ(c.at("response_type"), "embeddings_floats");
  EXPECT_EQ(c.at("texts").at(1), "abc");
  EXPECT_EQ(cohere.usage.input, 5);

  Reply nova =
      invoke_ok(Operation::InvokeModel, "amazon.nova-2-multimodal-embeddings-v1:0",
                R"({"taskType":"SINGLE_EMBEDDING","singleEmbeddingParams":{"embeddingPurpose":"GENERIC_INDEX",)"
                R"("embeddingDimension":384,"text":{"truncationMode":"END","value":"Hello there"}}})");
  json::object n = object_of(nova.body);
  EXPECT_EQ(n.at("embeddings").at(0).at("embeddingType"), "TEXT");
  EXPECT_EQ(n.at("embeddings").at(0).at("embedding").as_array().size(), 384u);
  EXPECT_EQ(nova.usage.input, 4);

  Recorder sink;
  auto streamed = stream(Operation::InvokeModelWithResponseStream, titan, R"({"inputText":"Hello"})", sink);
  ASSERT_FALSE(streamed.ok());
  EXPECT_NE(streamed.error().message().find("unsupported for streaming"), std::string::npos);
}

TEST_F(SimulatorTest, RerankOrdersByScore) {
  Reply reply = invoke_ok(Operation::InvokeModel, "amazon.rerank-v1:0",
                          R"({"query":"lamp","documents":["a lamp","a road","a tide"],"top_n":2})");
  json::array results = object_of(reply.body).at("results").as_array();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_GE(results[0].at("relevance_score").to_number<double>(), results[1].at("relevance_score").to_number<double>());
  EXPECT_EQ(reply.usage.input, count_tokens("lamp") + 3 * count_tokens("a lamp"));
}

TEST_F(SimulatorTest, NativeBodiesTheFamilyCannotReadAreMalformed) {
  struct Case {
    std::string model, body, message_part;
  };
  const std::vector<Case> cases = {
      {kHaiku, R"({"max_tokens":10,"messages":[]})", "#: required key [anthropic_version] not found"},
      {kHaiku, R"({"anthropic_version":"bedrock-2023-05-31","messages":[]})", "#: required key [max_tokens] not found"},
      {kHaiku, R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"messages":[{"role":"user"}]})",
       "#/messages/0: required key [content] not found"},
      {kHaiku, R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":0,"messages":[]})",
       "#/max_tokens: 0 is not greater or equal to 1"},
      {kHaiku, R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":"x","messages":[]})",
       "#/max_tokens: expected type: Integer, found: String"},
      {"amazon.titan-text-express-v1", R"({"prompt":"hi"})", "#: required key [inputText] not found"},
      {"meta.llama3-8b-instruct-v1:0", R"({"messages":[]})", "#: required key [prompt] not found"},
      {"amazon.nova-micro-v1:0", R"({"prompt":"hi"})", "#: required key [messages] not found"},
      {"openai.gpt-oss-20b-1:0", R"({"prompt":"hi"})", "#: required key [messages] not found"},
      {"cohere.embed-english-v3", R"({"texts":["a"]})", "#: required key [input_type] not found"},
      {"amazon.titan-embed-text-v2:0", R"({"texts":["a"]})", "#: required key [inputText] not found"},
      {"meta.llama3-8b-instruct-v1:0", "prompt=hi", "Malformed input request: the body is not valid JSON"},
      {"meta.llama3-8b-instruct-v1:0", "[]", "#: expected type: JSONObject, found: JSONArray"},
  };
  for (const Case& c : cases) {
    Error e = error_of(Operation::InvokeModel, c.model, c.body);
    EXPECT_EQ(e.code(), ErrorCode::Validation) << c.body;
    EXPECT_EQ(e.message().rfind("Malformed input request: ", 0), 0u) << e.message();
    EXPECT_NE(e.message().find(c.message_part), std::string::npos) << c.body << " -> " << e.message();
  }
  Error too_many = error_of(
      Operation::InvokeModel, kHaiku,
      R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":9000,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_NE(too_many.message().find("exceeds the limit of 4096"), std::string::npos);
}

TEST_F(SimulatorTest, ImageModelsAreRefused) {
  Error e = error_of(Operation::InvokeModel, "stability.sd3-large-v1:0", R"({"prompt":"a cat"})");
  EXPECT_EQ(e.code(), ErrorCode::Validation);
  EXPECT_NE(e.message().find("cannot produce IMAGE output"), std::string::npos) << e.message();
}

// ---- CountTokens ----

TEST_F(SimulatorTest, CountTokensMatchesConverseAndInvokeModel) {
  std::string converse_input = R"({"input":{"converse":)" + std::string(kHelloSystem) + "}}";
  Reply count = invoke_ok(Operation::CountTokens, kHaiku, converse_input);
  EXPECT_EQ(int_at(object_of(count.body).at("inputTokens")), converse(kHelloSystem).usage.input);
  EXPECT_EQ(count.usage, ledger::TokenCounts{});

  std::string native = R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":200,"system":"Be brief.",)"
                       R"("messages":[{"role":"user","content":"Hello there"}]})";
  std::string invoke_input = R"({"input":{"invokeModel":{"body":")" + base64_encode(native) + R"("}}})";
  Reply counted = invoke_ok(Operation::CountTokens, kHaiku, invoke_input);
  EXPECT_EQ(int_at(object_of(counted.body).at("inputTokens")),
            invoke_ok(Operation::InvokeModel, kHaiku, native).usage.input);
  EXPECT_EQ(counted.usage, ledger::TokenCounts{});

  EXPECT_EQ(error_of(Operation::CountTokens, kHaiku, R"({"input":{}})").code(), ErrorCode::Validation);
  EXPECT_EQ(error_of(Operation::CountTokens, kHaiku, R"({"input":{"invokeModel":{"body":"%%%"}}})").code(),
            ErrorCode::Validation);
  std::string bad_native = R"({"input":{"invokeModel":{"body":")" + base64_encode(R"({"messages":[]})") + R"("}}})";
  Error malformed_native = error_of(Operation::CountTokens, kHaiku, bad_native);
  EXPECT_NE(malformed_native.message().find("Malformed input request"), std::string::npos);
  std::string throttled =
      R"({"input":{"invokeModel":{"body":")" + base64_encode(R"({"prompt":"x [[tollgate:throttle]]"})") + R"("}}})";
  EXPECT_EQ(error_of(Operation::CountTokens, "meta.llama3-8b-instruct-v1:0", throttled).code(), ErrorCode::Throttling);
}

}  // namespace
}  // namespace tollgate::provider::simulator
