// The openai provider against a fake OpenAI-compatible server (tollgate's own
// Beast server on 127.0.0.1:0, scripted per test); the provider runs on a
// private io_context.
#include "provider/openai/openai_provider.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include "core/base64.h"
#include "http/server.h"
#include "io/async.h"

namespace tollgate::provider::openai {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using End = StreamOutcome::End;

constexpr std::string_view kConverse = R"({
  "system": [{"text": "Be brief."}],
  "messages": [
    {"role": "user", "content": [{"text": "Weather in Paris?"}]},
    {"role": "assistant", "content": [{"toolUse": {"toolUseId": "call_1", "name": "get_weather",
                                                    "input": {"city": "Paris"}}}]},
    {"role": "user", "content": [{"toolResult": {"toolUseId": "call_1", "content": [{"text": "21C"}]}}]}],
  "toolConfig": {"tools": [{"toolSpec": {"name": "get_weather",
                                         "inputSchema": {"json": {"type": "object"}}}}],
                 "toolChoice": {"any": {}}},
  "inferenceConfig": {"maxTokens": 100, "temperature": 0.2}})";

constexpr std::string_view kAnswer = R"({"id":"chatcmpl-1","object":"chat.completion","model":"served-model",
  "choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"It is 21C in Paris."}}],
  "usage":{"prompt_tokens":30,"completion_tokens":8,"total_tokens":38}})";

std::string sse(std::string_view data) { return "data: " + std::string(data) + "\n\n"; }

const std::vector<std::string> kStreamChunks = {
    sse(R"({"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})"),
    sse(R"({"choices":[{"index":0,"delta":{"content":"It is"}}]})"),
    sse(R"({"choices":[{"index":0,"delta":{"content":" 21C."}}]})"),
    sse(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_2","type":"function",)"
        R"("function":{"name":"get_weather","arguments":"{\"city\":"}}]}}]})"),
    sse(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Lyon\"}"}}]}}]})"),
    sse(R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})"),
    sse(R"({"choices":[],"usage":{"prompt_tokens":30,"completion_tokens":12,"total_tokens":42,)"
        R"("prompt_tokens_details":{"cached_tokens":10}}})"),
    sse("[DONE]"),
};

// The fake upstream: records each request and answers with the current script.
class FakeOpenAi final : public http::RequestHandler {
 public:
  using Script = std::function<Task<void>(http::Request&, http::ResponseWriter&)>;

  size_t body_limit(const http::Request&) const override { return 1 << 20; }
  Task<void> handle(http::Request& request, http::ResponseWriter& writer) override {
    Script script;
    {
      std::lock_guard lock(mu);
      received.push_back(request);
      script = this->script;
    }
    co_await script(request, writer);
  }
  http::Response reject(const http::Request&, const Error& error) override {
    http::Response res;
    res.status = error.http_status();
    res.body = error.message();
    return res;
  }

  std::mutex mu;
  Script script;                        // guarded by mu
  std::vector<http::Request> received;  // guarded by mu
};

Task<void> answer(http::ResponseWriter& writer, int status, std::string body) {
  http::Response res;
  res.status = status;
  res.set_header("Content-Type", "application/json");
  res.body = std::move(body);
  co_await writer.send(std::move(res));
}

// SSE pieces `gap` apart; with `cut`, the connection drops before the end.
// Returns false once the client is gone.
Task<bool> stream_sse(http::ResponseWriter& writer, const std::vector<std::string>& pieces,
                      std::chrono::milliseconds gap = 0ms, bool cut = false) {
  std::vector<http::Header> headers{http::Header{"Content-Type", "text/event-stream"}};
  if (!co_await writer.begin(200, std::move(headers))) co_return false;
  for (const auto& piece : pieces) {
    if (gap.count() > 0) co_await sleep_for(gap);
    if (!co_await writer.write(piece)) co_return false;
  }
  if (cut) throw std::runtime_error("cut");  // the server closes without the last chunk
  co_return co_await writer.end();
}

class RecordingSink final : public EventSink {
 public:
  Task<bool> on_event(StreamEvent event) override {
    events.push_back(std::move(event));
    co_return events.size() < accept;
  }
  std::vector<std::string> types() const {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.event_type);
    return out;
  }
  std::vector<StreamEvent> events;
  size_t accept = SIZE_MAX;  // refuses (client gone) the event after this many
};

class OpenAiProviderTest : public ::testing::Test {
 protected:
  OpenAiProviderTest() {
    http::ServerOptions options;
    options.io_threads = 1;
    options.shutdown_grace = 200ms;
    server_ = std::make_unique<http::Server>(options, fake_);
    server_->listen();
    thread_ = std::thread([this] { server_->run(false); });
  }
  ~OpenAiProviderTest() override {
    server_->stop();
    thread_.join();
  }

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/v1/"; }

  std::unique_ptr<Provider> provider(std::string model = "served-model", std::chrono::milliseconds timeout = 5s) {
    return make_openai({base_url(), "sk-test", std::move(model), timeout}, client_);
  }

  void script(FakeOpenAi::Script s) {
    std::lock_guard lock(fake_.mu);
    fake_.script = std::move(s);
  }
  std::vector<http::Request> received() {
    std::lock_guard lock(fake_.mu);
    return fake_.received;
  }
  json::value last_body() {
    auto all = received();
    return all.empty() ? json::value() : json::parse(all.back().body);
  }

  template <class T>
  T run(Task<T> task) {
    std::optional<T> result;
    asio::co_spawn(
        io_, [&]() -> Task<void> { result.emplace(co_await std::move(task)); }, asio::detached);
    io_.restart();
    io_.run();
    return std::move(*result);
  }

  static Invocation invocation(Operation op, std::string_view body) {
    Invocation inv;
    inv.operation = op;
    inv.model_id = "meta.llama3-8b-instruct-v1:0";
    inv.region = "us-east-1";
    inv.body = std::string(body);
    return inv;
  }

  Result<Reply> invoke(Provider& p, Operation op, std::string_view body) { return run(p.invoke(invocation(op, body))); }
  Result<StreamOutcome> stream(Provider& p, Operation op, std::string_view body, RecordingSink& sink) {
    auto inv = invocation(op, body);
    return run(p.stream(inv, sink));
  }

  FakeOpenAi fake_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  asio::io_context io_;  // before client_: destroyed after its pooled connections
  http::HttpClient client_;
};

TEST_F(OpenAiProviderTest, ConverseSendsTheTranslatedRequestAndTranslatesTheAnswer) {
  script([](http::Request&, http::ResponseWriter& w) { return answer(w, 200, std::string(kAnswer)); });
  auto p = provider();
  auto reply = invoke(*p, Operation::Converse, kConverse);
  ASSERT_TRUE(reply.ok()) << reply.error().message() << " " << reply.error().detail();

  auto requests = received();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/v1/chat/completions");
  EXPECT_EQ(requests[0].header("Authorization").value(), "Bearer sk-test");
  EXPECT_EQ(requests[0].header("Content-Type").value(), "application/json");
  EXPECT_EQ(last_body(), json::parse(R"({
    "model": "served-model",
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "21C"}],
    "max_tokens": 100, "temperature": 0.2,
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
    "tool_choice": "required"})"));

  auto body = json::parse(reply->body).as_object();
  EXPECT_EQ(body.at("output"),
            json::parse(R"({"message":{"role":"assistant","content":[{"text":"It is 21C in Paris."}]}})"));
  EXPECT_EQ(body.at("stopReason"), json::value("end_turn"));
  EXPECT_EQ(body.at("usage"), json::parse(R"({"inputTokens":30,"outputTokens":8,"totalTokens":38})"));
  EXPECT_TRUE(body.at("metrics").at("latencyMs").is_int64());
  EXPECT_EQ(reply->usage, (ledger::TokenCounts{30, 8, 0, 0}));
  EXPECT_EQ(reply->content_type, "application/json");
}

TEST_F(OpenAiProviderTest, TheUpstreamModelDefaultsToTheBedrockModelIdAndNoKeyMeansNoAuthorization) {
  script([](http::Request&, http::ResponseWriter& w) { return answer(w, 200, std::string(kAnswer)); });
  auto p = make_openai({base_url(), "", "", 5s}, client_);
  ASSERT_TRUE(invoke(*p, Operation::Converse, R"({"messages":[{"role":"user","content":[{"text":"hi"}]}]})").ok());
  EXPECT_EQ(last_body().at("model"), json::value("meta.llama3-8b-instruct-v1:0"));
  EXPECT_FALSE(received().back().header("Authorization").has_value());
}

TEST_F(OpenAiProviderTest, ToolCallsInTheAnswerBecomeToolUseBlocks) {
  script([](http::Request&, http::ResponseWriter& w) {
    return answer(w, 200, R"({"choices":[{"finish_reason":"tool_calls","message":{"role":"assistant","content":null,
      "tool_calls":[{"id":"call_7","type":"function",
                     "function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]}}],
      "usage":{"prompt_tokens":5,"completion_tokens":3}})");
  });
  auto p = provider();
  auto reply = invoke(*p, Operation::Converse, kConverse);
  ASSERT_TRUE(reply.ok());
  auto body = json::parse(reply->body);
  EXPECT_EQ(body.at("stopReason"), json::value("tool_use"));
  EXPECT_EQ(body.at("output").at("message").at("content"),
            json::parse(R"([{"toolUse":{"toolUseId":"call_7","name":"get_weather","input":{"city":"Oslo"}}}])"));
}

TEST_F(OpenAiProviderTest, ConverseStreamEmitsBedrockEventsInOrderWithTheUpstreamUsage) {
  script([](http::Request&, http::ResponseWriter& w) -> Task<void> { co_await stream_sse(w, kStreamChunks, 5ms); });
  auto p = provider();
  RecordingSink sink;
  auto outcome = stream(*p, Operation::ConverseStream, kConverse, sink);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message() << " " << outcome.error().detail();
  EXPECT_EQ(outcome->end, End::Complete);
  EXPECT_EQ(outcome->usage, (ledger::TokenCounts{20, 12, 10, 0}));

  auto sent = last_body();
  EXPECT_EQ(sent.at("stream"), json::value(true));
  EXPECT_EQ(sent.at("stream_options"), json::parse(R"({"include_usage":true})"));
  EXPECT_EQ(received().back().header("Accept").value(), "text/event-stream");

  EXPECT_EQ(sink.types(),
            (std::vector<std::string>{"messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockStop",
                                      "contentBlockStart", "contentBlockDelta", "contentBlockDelta", "contentBlockStop",
                                      "messageStop", "metadata"}));
  const auto& e = sink.events;
  EXPECT_EQ(json::parse(e[0].payload), json::parse(R"({"role":"assistant"})"));
  EXPECT_EQ(json::parse(e[1].payload), json::parse(R"({"contentBlockIndex":0,"delta":{"text":"It is"}})"));
  EXPECT_EQ(json::parse(e[2].payload), json::parse(R"({"contentBlockIndex":0,"delta":{"text":" 21C."}})"));
  EXPECT_EQ(json::parse(e[4].payload),
            json::parse(R"({"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"call_2","name":"get_weather"}}})"));
  EXPECT_EQ(json::parse(e[5].payload),
            json::parse(R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\":"}}})"));
  EXPECT_EQ(json::parse(e[8].payload), json::parse(R"({"stopReason":"tool_use"})"));
  auto metadata = json::parse(e[9].payload);
  EXPECT_EQ(metadata.at("usage"),
            json::parse(R"({"inputTokens":20,"outputTokens":12,"totalTokens":42,"cacheReadInputTokens":10})"));
  EXPECT_TRUE(metadata.at("metrics").at("latencyMs").is_int64());
}

TEST_F(OpenAiProviderTest, AStreamedConnectionIsReusedAfterDone) {
  script([](http::Request&, http::ResponseWriter& w) -> Task<void> { co_await stream_sse(w, kStreamChunks); });
  auto p = provider();
  for (int i = 0; i < 2; ++i) {
    RecordingSink sink;
    auto outcome = stream(*p, Operation::ConverseStream, kConverse, sink);
    ASSERT_TRUE(outcome.ok());
    EXPECT_EQ(outcome->end, End::Complete);
  }
  auto requests = received();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].remote_address, requests[1].remote_address);
}

TEST_F(OpenAiProviderTest, WhenTheClientIsGoneItStopsReadingAndReportsAnEstimate) {
  std::atomic<bool> upstream_noticed{false};
  script([&upstream_noticed](http::Request&, http::ResponseWriter& w) -> Task<void> {
    std::vector<std::string> many(200, sse(R"({"choices":[{"index":0,"delta":{"content":"tok "}}]})"));
    if (!co_await stream_sse(w, many, 10ms)) upstream_noticed = true;
  });
  auto p = provider();
  RecordingSink sink;
  sink.accept = 4;  // messageStart and three deltas, then gone
  auto started = std::chrono::steady_clock::now();
  auto outcome = stream(*p, Operation::ConverseStream, kConverse, sink);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->end, End::ClientGone);
  EXPECT_EQ(outcome->usage, (ledger::TokenCounts{0, 3, 0, 0}));  // no usage from upstream: one per content chunk read
  EXPECT_FALSE(outcome->error.has_value());
  for (int i = 0; i < 100 && !upstream_noticed; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(upstream_noticed.load()) << "the upstream connection should have been closed";
}

TEST_F(OpenAiProviderTest, AnUpstreamCutAfterEventsEndsUpstreamCut) {
  script([](http::Request&, http::ResponseWriter& w) -> Task<void> {
    std::vector<std::string> part(kStreamChunks.begin(), kStreamChunks.begin() + 3);
    co_await stream_sse(w, part, 0ms, true);
  });
  auto p = provider();
  RecordingSink sink;
  auto outcome = stream(*p, Operation::ConverseStream, kConverse, sink);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message();
  EXPECT_EQ(outcome->end, End::UpstreamCut);
  ASSERT_TRUE(outcome->error.has_value());
  EXPECT_EQ(outcome->error->code(), ErrorCode::ModelStreamError);
  EXPECT_EQ(sink.types(), (std::vector<std::string>{"messageStart", "contentBlockDelta", "contentBlockDelta"}));
  EXPECT_EQ(outcome->usage, (ledger::TokenCounts{0, 2, 0, 0}));
}

TEST_F(OpenAiProviderTest, AnErrorEventMidStreamEndsUpstreamCutWithItsMessage) {
  script([](http::Request&, http::ResponseWriter& w) -> Task<void> {
    std::vector<std::string> part{kStreamChunks[1], sse(R"({"error":{"message":"CUDA out of memory","code":500}})")};
    co_await stream_sse(w, part);
  });
  auto p = provider();
  RecordingSink sink;
  auto outcome = stream(*p, Operation::ConverseStream, kConverse, sink);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->end, End::UpstreamCut);
  ASSERT_TRUE(outcome->error.has_value());
  EXPECT_EQ(outcome->error->code(), ErrorCode::ModelStreamError);
  EXPECT_NE(outcome->error->message().find("CUDA out of memory"), std::string::npos);
}

TEST_F(OpenAiProviderTest, ACutBeforeAnyEventIsAnOrdinaryError) {
  script([](http::Request&, http::ResponseWriter& w) -> Task<void> {
    std::vector<std::string> nothing;
    co_await stream_sse(w, nothing, 0ms, true);
  });
  auto p = provider();
  RecordingSink sink;
  auto outcome = stream(*p, Operation::ConverseStream, kConverse, sink);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code(), ErrorCode::ServiceUnavailable);
  EXPECT_TRUE(sink.events.empty());
}

TEST_F(OpenAiProviderTest, UpstreamHttpErrorsMapToBedrockErrors) {
  struct Case {
    int status;
    ErrorCode code;
  };
  const Case cases[] = {
      {400, ErrorCode::Validation},         {401, ErrorCode::InternalServer},     {404, ErrorCode::ModelError},
      {408, ErrorCode::ModelTimeout},       {429, ErrorCode::Throttling},         {500, ErrorCode::ModelError},
      {502, ErrorCode::ServiceUnavailable}, {503, ErrorCode::ServiceUnavailable}, {504, ErrorCode::ModelTimeout},
  };
  auto p = provider();
  for (const Case& c : cases) {
    int status = c.status;
    script([status](http::Request&, http::ResponseWriter& w) {
      return answer(w, status, R"({"object":"error","message":"upstream says no","type":"BadRequestError"})");
    });
    auto reply = invoke(*p, Operation::Converse, kConverse);
    ASSERT_FALSE(reply.ok()) << status;
    EXPECT_EQ(reply.error().code(), c.code) << status;
    EXPECT_NE(reply.error().message().find(std::to_string(status)), std::string::npos) << reply.error().message();
    RecordingSink sink;
    auto streamed = stream(*p, Operation::ConverseStream, kConverse, sink);
    ASSERT_FALSE(streamed.ok()) << status;
    EXPECT_EQ(streamed.error().code(), c.code) << status;
    EXPECT_TRUE(sink.events.empty());
  }
  script([](http::Request&, http::ResponseWriter& w) {
    return answer(w, 400, R"({"object":"error","message":"This model's maximum context length is 8192 tokens"})");
  });
  auto reply = invoke(*p, Operation::Converse, kConverse);
  ASSERT_FALSE(reply.ok());
  EXPECT_NE(reply.error().message().find("maximum context length is 8192"), std::string::npos);
}

TEST_F(OpenAiProviderTest, ASilentUpstreamIsAModelTimeoutWithinTheTimeout) {
  script([](http::Request&, http::ResponseWriter& w) -> Task<void> {
    co_await sleep_for(3s);
    co_await answer(w, 200, std::string(kAnswer));
  });
  auto p = provider("served-model", 300ms);
  auto started = std::chrono::steady_clock::now();
  auto reply = invoke(*p, Operation::Converse, kConverse);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code(), ErrorCode::ModelTimeout);
}

TEST_F(OpenAiProviderTest, AnUnreachableUpstreamIsServiceUnavailable) {
  uint16_t port = server_->port();
  server_->stop();
  thread_.join();
  auto p = make_openai({"http://127.0.0.1:" + std::to_string(port) + "/v1", "", "m", 2s}, client_);
  auto reply = invoke(*p, Operation::Converse, kConverse);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code(), ErrorCode::ServiceUnavailable);
  EXPECT_NE(reply.error().detail().find("127.0.0.1"), std::string::npos);
  // Leave a server for the fixture to stop.
  server_ = std::make_unique<http::Server>(http::ServerOptions{}, fake_);
  server_->listen();
  thread_ = std::thread([this] { server_->run(false); });
}

TEST_F(OpenAiProviderTest, InvokeModelForwardsChatBodiesWithTheModelSubstituted) {
  script([](http::Request&, http::ResponseWriter& w) { return answer(w, 200, std::string(kAnswer)); });
  auto p = provider();
  auto reply = invoke(*p, Operation::InvokeModel,
                      R"({"model":"whatever","messages":[{"role":"user","content":"hi"}],"max_tokens":5})");
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(last_body(), json::parse(R"({"model":"served-model","messages":[{"role":"user","content":"hi"}],
                                         "max_tokens":5})"));
  EXPECT_EQ(reply->body, kAnswer);
  EXPECT_EQ(reply->usage, (ledger::TokenCounts{30, 8, 0, 0}));
}

TEST_F(OpenAiProviderTest, InvokeModelRefusesOtherBodiesWithoutCallingTheUpstream) {
  auto p = provider();
  auto reply = invoke(*p, Operation::InvokeModel, R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":5,
                                                      "messages":[{"role":"user","content":"hi"}]})");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code(), ErrorCode::Validation);
  EXPECT_NE(reply.error().message().find("use Converse"), std::string::npos);
  EXPECT_TRUE(received().empty());
}

TEST_F(OpenAiProviderTest, InvokeModelWithResponseStreamPassesChunksOnAsBase64) {
  script([](http::Request&, http::ResponseWriter& w) -> Task<void> { co_await stream_sse(w, kStreamChunks); });
  auto p = provider();
  RecordingSink sink;
  auto outcome =
      stream(*p, Operation::InvokeModelWithResponseStream, R"({"messages":[{"role":"user","content":"hi"}]})", sink);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message();
  EXPECT_EQ(outcome->end, End::Complete);
  EXPECT_EQ(outcome->usage, (ledger::TokenCounts{20, 12, 10, 0}));
  auto sent = last_body();
  EXPECT_EQ(sent.at("stream"), json::value(true));
  EXPECT_EQ(sent.at("model"), json::value("served-model"));
  ASSERT_EQ(sink.events.size(), kStreamChunks.size() - 1);  // every chunk but [DONE]
  for (size_t i = 0; i < sink.events.size(); ++i) {
    EXPECT_EQ(sink.events[i].event_type, "chunk");
    auto bytes = base64_decode(json::parse(sink.events[i].payload).at("bytes").as_string());
    ASSERT_TRUE(bytes.has_value());
    EXPECT_EQ(sse(*bytes), kStreamChunks[i]);
  }
}

TEST_F(OpenAiProviderTest, CountTokensIsRefused) {
  auto p = provider();
  auto reply = invoke(*p, Operation::CountTokens, R"({"input":{"converse":{"messages":[]}}})");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code(), ErrorCode::Validation);
  EXPECT_NE(reply.error().message().find("cannot count tokens"), std::string::npos);
  EXPECT_TRUE(received().empty());
}

TEST_F(OpenAiProviderTest, ABaseUrlThatIsNotHttpIsAStartupError) {
  EXPECT_THROW(make_openai({"127.0.0.1:8000/v1", "", "", 1s}, client_), StartupError);
}

}  // namespace
}  // namespace tollgate::provider::openai
