// The Bedrock provider against a fake Bedrock: tollgate's own http::Server on 127.0.0.1:0 whose
// handler verifies every request's SigV4 signature with auth::Authenticator (service "bedrock", the
// same credentials), checks the model-id label encoding, records what it received, and answers
// canned Bedrock responses chosen by the model id. The provider runs on a private io_context.
#include "provider/bedrock/bedrock.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <thread>
#include <variant>

#include "auth/authenticator.h"
#include "auth/sigv4.h"
#include "core/base64.h"
#include "eventstream/eventstream.h"
#include "http/server.h"
#include "provider/bedrock/errors.h"
#include "provider/bedrock/request.h"
#include "provider/bedrock/usage.h"

namespace tollgate::provider::bedrock {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr std::string_view kAccessKey = "AKIDBEDROCKUPSTREAM1";
constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kHaiku = "anthropic.claude-3-haiku-20240307-v1:0";
constexpr std::string_view kProfileArn =
    "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0";
// Odd bytes on purpose: the body must arrive unchanged.
const std::string kConverseBody =
    "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Gr\xC3\xBC\xC3\x9F  dich\\n\\t\"}]}] ,\"x\":1}";
const std::string kConverseAnswer =
    R"({"output":{"message":{"role":"assistant","content":[{"text":"Hello!"}]}},"stopReason":"end_turn",)"
    R"("usage":{"inputTokens":12,"outputTokens":5,"totalTokens":17,"cacheReadInputTokens":3,)"
    R"("cacheWriteInputTokens":4},"metrics":{"latencyMs":412}})";
const std::string kInvokeAnswer = R"({"id":"msg_1","type":"message","content":[{"type":"text","text":"Hi"}]})";

TimePoint test_time() { return std::chrono::sys_days(std::chrono::year(2025) / 3 / 14) + 12h; }

// ---------------------------------------------------------------------------
// The fake Bedrock.

struct Received {
  std::string path;
  std::string body;
  std::vector<http::Header> headers;
  std::string region;   // of the credential scope
  std::string service;  // of the credential scope

  size_t count(std::string_view name) const {
    size_t n = 0;
    for (const auto& h : headers) n += http::header_name_equals(h.name, name) ? 1 : 0;
    return n;
  }
  std::string header(std::string_view name) const {
    for (const auto& h : headers) {
      if (http::header_name_equals(h.name, name)) return h.value;
    }
    return {};
  }
};

// A streamed answer: the pieces written one by one, then the end of the chunked body (or, without
// finish, the connection dropped).
struct StreamScript {
  std::vector<std::string> pieces;
  bool finish = true;
  std::chrono::milliseconds delay{0};  // before the headers
};
using Answer = std::variant<http::Response, StreamScript>;

http::Response json_response(int status, std::string body) {
  http::Response res;
  res.status = status;
  res.set_header("Content-Type", "application/json");
  res.body = std::move(body);
  return res;
}

http::Response error_response(int status, std::string error_type, std::string body) {
  http::Response res = json_response(status, std::move(body));
  if (!error_type.empty()) res.set_header("x-amzn-ErrorType", std::move(error_type));
  return res;
}

std::string frame(std::string_view type, std::string payload) {
  return eventstream::encode(eventstream::event(type, std::move(payload)));
}

std::string chunk(std::string_view inner_json) {
  return frame("chunk", R"({"bytes":")" + base64_encode(inner_json) + R"(","p":"abcdefgh"})");
}

std::vector<std::string> converse_frames() {
  return {frame("messageStart", R"({"role":"assistant"})"),
          frame("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hel"}})"),
          frame("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"lo"}})"),
          frame("contentBlockStop", R"({"contentBlockIndex":0})"),
          frame("messageStop", R"({"stopReason":"end_turn"})"),
          frame("metadata", R"({"usage":{"inputTokens":7,"outputTokens":3,"totalTokens":10,)"
                            R"("cacheReadInputTokens":1,"cacheWriteInputTokens":2},"metrics":{"latencyMs":9}})")};
}

std::vector<std::string> invoke_stream_frames() {
  return {chunk(R"({"type":"message_start","message":{"id":"msg_1"}})"),
          chunk(R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})"),
          chunk(R"({"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":15,)"
                R"("outputTokenCount":4,"invocationLatency":100,"firstByteLatency":50,)"
                R"("cacheReadInputTokenCount":2,"cacheWriteInputTokenCount":1}})")};
}

// Frames split unevenly: one frame across two pieces, several frames in one piece.
StreamScript uneven(std::vector<std::string> frames) {
  StreamScript script;
  std::string all;
  for (const auto& f : frames) all += f;
  size_t first = frames[0].size() + frames[1].size() / 2;
  script.pieces = {all.substr(0, first), all.substr(first, 7), all.substr(first + 7)};
  return script;
}

class FakeBedrock final : public http::RequestHandler {
 public:
  explicit FakeBedrock(const Clock& clock)
      : auth_({auth::AccessKeyCredential{std::string(kAccessKey), std::string(kSecret), "123456789012", "gateway"}},
              {}, clock, "us-east-1") {}

  size_t body_limit(const http::Request&) const override { return 1 << 20; }

  Task<void> handle(http::Request& request, http::ResponseWriter& writer) override {
    Answer answer = answer_for(request);
    if (auto* whole = std::get_if<http::Response>(&answer)) {
      http::Response response = std::move(*whole);
      co_await writer.send(std::move(response));
      co_return;
    }
    StreamScript script = std::get<StreamScript>(std::move(answer));
    co_await pause(script.delay);
    std::vector<http::Header> headers{{"Content-Type", "application/vnd.amazon.eventstream"}};
    bool ok = co_await writer.begin(200, std::move(headers));
    for (const auto& piece : script.pieces) {
      if (!ok) co_return;
      ok = co_await writer.write(piece);
    }
    if (!ok || !script.finish) co_return;  // without end() the server drops the connection
    std::vector<http::Header> no_trailers;
    co_await writer.end(std::move(no_trailers));
  }

  http::Response reject(const http::Request&, const Error& error) override {
    return error_response(error.http_status(), std::string(error.aws_name()), R"({"message":"refused"})");
  }

  std::vector<Received> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  int refused() const {
    std::lock_guard lock(mu_);
    return refused_;
  }

 private:
  static Task<void> pause(std::chrono::milliseconds delay) {
    if (delay.count() == 0) co_return;
    asio::steady_timer timer(co_await asio::this_coro::executor, delay);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }

  Answer answer_for(const http::Request& request) {
    auto context = auth_.authenticate(request, "bedrock", false);
    if (!context.ok()) {
      std::lock_guard lock(mu_);
      ++refused_;
      const Error& e = context.error();
      return error_response(e.http_status(), std::string(e.aws_name()),
                            boost::json::serialize(boost::json::object{{"message", e.message()}}));
    }
    {
      std::lock_guard lock(mu_);
      received_.push_back({request.path, request.body, request.headers, context->region, context->service});
    }
    // /model/{label}/{operation}, the label encoded exactly as the SDKs do.
    std::string_view path = request.path;
    size_t slash = path.rfind('/');
    if (!path.starts_with("/model/") || slash <= 7) return error_response(404, "UnknownOperationException", "{}");
    std::string_view label = path.substr(7, slash - 7);
    std::optional<std::string> model = http::percent_decode(label);
    if (!model || auth::sigv4::uri_encode(*model, false) != label) {
      return error_response(400, "ValidationException", R"({"message":"badly encoded model id label"})");
    }
    return canned(*model, path.substr(slash + 1), request);
  }

  static Answer canned(const std::string& model, std::string_view operation, const http::Request& request) {
    if (model == "test.throttled") {
      return error_response(429, "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
                            R"({"message":"Too many requests, please wait before trying again."})");
    }
    if (model == "test.model-error") {
      return error_response(424, "", R"({"__type":"com.amazon.bedrock#ModelErrorException",)"
                                     R"("message":"The model failed.","originalStatusCode":500})");
    }
    if (model == "test.quota") {
      return error_response(400, "ServiceQuotaExceededException", R"({"Message":"Quota exceeded."})");
    }
    if (model == "test.slow") return StreamScript{{}, true, 1500ms};
    if (operation == "converse") return json_response(200, kConverseAnswer);
    if (operation == "count-tokens") return json_response(200, R"({"inputTokens":42})");
    if (operation == "invoke") return invoke_answer(request);
    if (operation == "converse-stream") return converse_stream(model);
    if (operation == "invoke-with-response-stream") return uneven(invoke_stream_frames());
    return error_response(404, "UnknownOperationException", "{}");
  }

  static http::Response invoke_answer(const http::Request& request) {
    http::Response res = json_response(200, kInvokeAnswer);
    res.set_header("Content-Type", std::string(request.header("Accept").value_or("none")));
    res.set_header("X-Amzn-Bedrock-Input-Token-Count", "21");
    res.set_header("X-Amzn-Bedrock-Output-Token-Count", "9");
    res.set_header("X-Amzn-Bedrock-Cache-Read-Input-Token-Count", "5");
    res.set_header("X-Amzn-Bedrock-Cache-Write-Input-Token-Count", "6");
    res.set_header("X-Amzn-Bedrock-Invocation-Latency", "321");
    res.set_header("x-amzn-RequestId", "11111111-2222-3333-4444-555555555555");
    return res;
  }

  static StreamScript converse_stream(const std::string& model) {
    std::vector<std::string> frames = converse_frames();
    if (model == "test.stream-exception") {
      return StreamScript{{frames[0], frames[1] + eventstream::encode(eventstream::exception(
                                                      "throttlingException", R"({"message":"Slow down."})"))}};
    }
    if (model == "test.stream-error") {
      return StreamScript{{frames[0], eventstream::encode(eventstream::error("InternalFailure", "It broke."))}};
    }
    if (model == "test.stream-cut") return StreamScript{{frames[0], frames[1], frames[2].substr(0, 20)}, false};
    if (model == "test.stream-partial") return StreamScript{{frames[0], frames[1].substr(0, 30)}};
    if (model == "test.stream-short") return StreamScript{{frames[0], frames[1], frames[4]}};
    if (model == "test.stream-garbage") return StreamScript{{std::string(64, 'x')}};
    if (model == "test.stream-empty") return StreamScript{};
    return uneven(frames);
  }

  auth::Authenticator auth_;
  mutable std::mutex mu_;
  std::vector<Received> received_;  // guarded by mu_
  int refused_ = 0;                 // guarded by mu_
};

// ---------------------------------------------------------------------------
// Fixture.

class CollectingSink final : public EventSink {
 public:
  explicit CollectingSink(size_t accept = std::numeric_limits<size_t>::max()) : accept_(accept) {}
  Task<bool> on_event(StreamEvent event) override {
    events.push_back(std::move(event));
    co_return events.size() < accept_;
  }
  std::vector<StreamEvent> events;

 private:
  size_t accept_;
};

class BedrockTest : public ::testing::Test {
 protected:
  BedrockTest() {
    http::ServerOptions options;
    options.io_threads = 1;
    options.shutdown_grace = 200ms;
    server_ = std::make_unique<http::Server>(options, fake_);
    server_->listen();
    thread_ = std::thread([this] { server_->run(false); });
  }
  ~BedrockTest() override {
    server_->stop();
    thread_.join();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  BedrockOptions options(std::string secret = std::string(kSecret)) const {
    BedrockOptions o;
    o.endpoint = endpoint();
    o.access_key_id = kAccessKey;
    o.secret_access_key = std::move(secret);
    o.timeout = 5s;
    return o;
  }

  std::unique_ptr<Provider> provider(BedrockOptions o) { return make_bedrock(std::move(o), client_, clock_); }
  std::unique_ptr<Provider> provider() { return provider(options()); }

  static Invocation invocation(Operation op, std::string_view model = kHaiku) {
    Invocation inv;
    inv.operation = op;
    inv.model_id = std::string(model);
    inv.region = "us-west-2";
    inv.body = kConverseBody;
    return inv;
  }

  // Runs one coroutine on the private io_context to completion.
  template <class T>
  T run(asio::awaitable<T> task) {
    std::optional<T> result;
    asio::co_spawn(io_, [&]() -> asio::awaitable<void> { result.emplace(co_await std::move(task)); }, asio::detached);
    io_.restart();
    io_.run();
    return std::move(*result);
  }

  Result<Reply> invoke(Provider& p, const Invocation& inv) { return run(p.invoke(inv)); }
  Result<StreamOutcome> stream(Provider& p, const Invocation& inv, EventSink& sink) {
    return run(p.stream(inv, sink));
  }

  Received last() const {
    auto all = fake_.received();
    EXPECT_FALSE(all.empty());
    return all.empty() ? Received{} : all.back();
  }

  static Error expect_error(const Result<Reply>& r, ErrorCode code) {
    EXPECT_FALSE(r.ok());
    if (r.ok()) return Error(ErrorCode::InternalServer, "unexpected success");
    EXPECT_EQ(r.error().code(), code) << r.error().message() << " / " << r.error().detail();
    return r.error();
  }

  // A stream that delivered events and was cut: the outcome's error.
  static Error expect_cut(const Result<StreamOutcome>& r, ErrorCode code) {
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
    if (!r.ok()) return r.error();
    EXPECT_EQ(r->end, StreamOutcome::End::UpstreamCut);
    EXPECT_TRUE(r->error.has_value());
    if (!r->error) return Error(ErrorCode::InternalServer, "no error");
    EXPECT_EQ(r->error->code(), code) << r->error->message() << " / " << r->error->detail();
    return *r->error;
  }

  ManualClock clock_{test_time()};
  FakeBedrock fake_{clock_};
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  asio::io_context io_;
  http::HttpClient client_;  // after io_: destroyed first
};

// ---------------------------------------------------------------------------
// Whole answers.

TEST_F(BedrockTest, ConverseIsForwardedSignedAndUnchangedAndItsUsageRead) {
  auto p = provider();
  Invocation inv = invocation(Operation::Converse);
  inv.bedrock_headers = {{"X-Amzn-Bedrock-Trace", "ENABLED"}};
  auto reply = invoke(*p, inv);
  ASSERT_TRUE(reply.ok()) << reply.error().message() << " / " << reply.error().detail();
  EXPECT_EQ(reply->body, kConverseAnswer);
  EXPECT_EQ(reply->content_type, "application/json");
  EXPECT_EQ(reply->usage, (ledger::TokenCounts{12, 5, 3, 4}));

  Received got = last();
  EXPECT_EQ(got.path, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse");
  EXPECT_EQ(got.body, kConverseBody);
  EXPECT_EQ(got.service, "bedrock");
  EXPECT_EQ(got.region, "us-west-2");
  EXPECT_EQ(got.header("Host"), "127.0.0.1:" + std::to_string(server_->port()));
  EXPECT_EQ(got.header("Content-Type"), "application/json");
  EXPECT_EQ(got.header("X-Amzn-Bedrock-Trace"), "ENABLED");
  EXPECT_EQ(got.header("X-Amz-Date"), "20250314T120000Z");
  EXPECT_NE(got.header("Authorization").find("x-amzn-bedrock-trace"), std::string::npos);
  EXPECT_EQ(got.count("X-Amz-Security-Token"), 0u);
  EXPECT_EQ(p->name(), "bedrock");
}

TEST_F(BedrockTest, InvokeModelPassesAcceptAndReadsTheTokenCountHeaders) {
  auto p = provider();
  Invocation inv = invocation(Operation::InvokeModel);
  inv.content_type = "application/json";
  inv.accept = "application/x-test-answer";
  auto reply = invoke(*p, inv);
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(reply->body, kInvokeAnswer);
  EXPECT_EQ(reply->content_type, "application/x-test-answer");
  EXPECT_EQ(reply->usage, (ledger::TokenCounts{21, 9, 5, 6}));
  std::vector<std::string> names;
  for (const auto& h : reply->headers) names.push_back(h.name);
  EXPECT_EQ(names, (std::vector<std::string>{"X-Amzn-Bedrock-Input-Token-Count", "X-Amzn-Bedrock-Output-Token-Count",
                                             "X-Amzn-Bedrock-Cache-Read-Input-Token-Count",
                                             "X-Amzn-Bedrock-Cache-Write-Input-Token-Count",
                                             "X-Amzn-Bedrock-Invocation-Latency"}));
  Received got = last();
  EXPECT_EQ(got.path, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke");
  EXPECT_EQ(got.header("Accept"), "application/x-test-answer");
  EXPECT_EQ(got.body, kConverseBody);
}

TEST_F(BedrockTest, AnArnModelIdIsOneEncodedLabel) {
  auto p = provider();
  auto reply = invoke(*p, invocation(Operation::Converse, kProfileArn));
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(last().path,
            "/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Ainference-profile%2F"
            "us.anthropic.claude-3-haiku-20240307-v1%3A0/converse");
}

TEST_F(BedrockTest, CountTokensHasNoUsage) {
  auto p = provider();
  auto reply = invoke(*p, invocation(Operation::CountTokens));
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(reply->body, R"({"inputTokens":42})");
  EXPECT_EQ(reply->usage, ledger::TokenCounts{});
  EXPECT_EQ(last().path, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/count-tokens");
}

TEST_F(BedrockTest, ASessionTokenIsSentAndSigned) {
  BedrockOptions o = options();
  o.session_token = "FwoGZXIvYXdzEXAMPLETOKEN";
  auto p = provider(std::move(o));
  auto reply = invoke(*p, invocation(Operation::Converse));
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  Received got = last();
  EXPECT_EQ(got.header("X-Amz-Security-Token"), "FwoGZXIvYXdzEXAMPLETOKEN");
  EXPECT_NE(got.header("Authorization").find("x-amz-security-token"), std::string::npos);
}

TEST_F(BedrockTest, AWrongSecretIsRefusedAndReportedAsTheGatewaysCredentials) {
  auto p = provider(options("not-the-secret"));
  auto reply = invoke(*p, invocation(Operation::Converse));
  Error e = expect_error(reply, ErrorCode::InternalServer);
  EXPECT_EQ(fake_.refused(), 1);
  EXPECT_TRUE(fake_.received().empty());
  EXPECT_NE(e.message().find("upstream credentials"), std::string::npos) << e.message();
  EXPECT_NE(e.detail().find("InvalidSignatureException"), std::string::npos) << e.detail();
  EXPECT_NE(e.detail().find("signature we calculated does not match"), std::string::npos) << e.detail();
}

TEST_F(BedrockTest, ThrottlingIsReadFromTheErrorTypeHeader) {
  auto p = provider();
  Error e = expect_error(invoke(*p, invocation(Operation::Converse, "test.throttled")), ErrorCode::Throttling);
  EXPECT_EQ(e.message(), "Too many requests, please wait before trying again.");
}

TEST_F(BedrockTest, AModelErrorIsReadFromTheBodyType) {
  auto p = provider();
  Error e = expect_error(invoke(*p, invocation(Operation::InvokeModel, "test.model-error")), ErrorCode::ModelError);
  EXPECT_EQ(e.message(), "The model failed.");
}

TEST_F(BedrockTest, AServiceQuotaErrorKeepsItsNameAndCapitalisedMessage) {
  auto p = provider();
  Error e = expect_error(invoke(*p, invocation(Operation::InvokeModel, "test.quota")),
                         ErrorCode::ServiceQuotaExceeded);
  EXPECT_EQ(e.message(), "Quota exceeded.");
}

TEST_F(BedrockTest, NoAnswerWithinTheTimeoutIsAModelTimeout) {
  BedrockOptions o = options();
  o.timeout = 300ms;
  auto p = provider(std::move(o));
  auto started = std::chrono::steady_clock::now();
  expect_error(invoke(*p, invocation(Operation::Converse, "test.slow")), ErrorCode::ModelTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1400ms);
}

TEST_F(BedrockTest, AnUnreachableEndpointIsServiceUnavailable) {
  uint16_t closed_port = 0;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    closed_port = acceptor.local_endpoint().port();
  }
  BedrockOptions o = options();
  o.endpoint = "http://127.0.0.1:" + std::to_string(closed_port);
  auto p = provider(std::move(o));
  expect_error(invoke(*p, invocation(Operation::Converse)), ErrorCode::ServiceUnavailable);
  CollectingSink sink;
  auto outcome = stream(*p, invocation(Operation::ConverseStream), sink);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code(), ErrorCode::ServiceUnavailable);
}

// ---------------------------------------------------------------------------
// Streams.

TEST_F(BedrockTest, ConverseStreamDeliversEveryEventUnchangedAndTheMetadataUsage) {
  auto p = provider();
  CollectingSink sink;
  auto outcome = stream(*p, invocation(Operation::ConverseStream), sink);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message() << " / " << outcome.error().detail();
  EXPECT_EQ(outcome->end, StreamOutcome::End::Complete);
  EXPECT_FALSE(outcome->error.has_value());
  EXPECT_EQ(outcome->usage, (ledger::TokenCounts{7, 3, 1, 2}));
  std::vector<std::string> expected = converse_frames();
  ASSERT_EQ(sink.events.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    auto message = eventstream::decode(expected[i]);
    ASSERT_TRUE(message.ok());
    EXPECT_EQ(sink.events[i].event_type, *message->string_header(":event-type"));
    EXPECT_EQ(sink.events[i].payload, message->payload);
  }
  Received got = last();
  EXPECT_EQ(got.path, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream");
  EXPECT_EQ(got.body, kConverseBody);
}

TEST_F(BedrockTest, InvokeModelWithResponseStreamReadsTheInvocationMetrics) {
  auto p = provider();
  Invocation inv = invocation(Operation::InvokeModelWithResponseStream);
  inv.accept = "application/json";
  inv.bedrock_headers = {{"X-Amzn-Bedrock-Accept", "application/json"},
                         {"X-Amzn-Bedrock-PerformanceConfig-Latency", "standard"}};
  CollectingSink sink;
  auto outcome = stream(*p, inv, sink);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message();
  EXPECT_EQ(outcome->end, StreamOutcome::End::Complete);
  EXPECT_EQ(outcome->usage, (ledger::TokenCounts{15, 4, 2, 1}));
  ASSERT_EQ(sink.events.size(), 3u);
  for (const auto& e : sink.events) EXPECT_EQ(e.event_type, "chunk");
  Received got = last();
  EXPECT_EQ(got.path, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream");
  EXPECT_EQ(got.count("X-Amzn-Bedrock-Accept"), 1u);
  EXPECT_EQ(got.count("Accept"), 0u);
  EXPECT_EQ(got.header("X-Amzn-Bedrock-PerformanceConfig-Latency"), "standard");
}

TEST_F(BedrockTest, AnErrorStatusOnAStreamIsAnOrdinaryErrorWithNoEvents) {
  auto p = provider();
  CollectingSink sink;
  auto outcome = stream(*p, invocation(Operation::ConverseStream, "test.throttled"), sink);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code(), ErrorCode::Throttling);
  EXPECT_EQ(outcome.error().message(), "Too many requests, please wait before trying again.");
  EXPECT_TRUE(sink.events.empty());
}

TEST_F(BedrockTest, AnInStreamExceptionEndsTheStreamAsUpstreamCut) {
  auto p = provider();
  CollectingSink sink;
  auto outcome = stream(*p, invocation(Operation::ConverseStream, "test.stream-exception"), sink);
  Error e = expect_cut(outcome, ErrorCode::Throttling);
  EXPECT_EQ(e.message(), "Slow down.");
  EXPECT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(outcome->usage, ledger::TokenCounts{});
}

TEST_F(BedrockTest, AnInStreamErrorMessageEndsTheStreamAsUpstreamCut) {
  auto p = provider();
  CollectingSink sink;
  auto outcome = stream(*p, invocation(Operation::ConverseStream, "test.stream-error"), sink);
  Error e = expect_cut(outcome, ErrorCode::InternalServer);
  EXPECT_EQ(e.message(), "It broke.");
  EXPECT_NE(e.detail().find("InternalFailure"), std::string::npos);
  EXPECT_EQ(sink.events.size(), 1u);
}

TEST_F(BedrockTest, AConnectionCutMidFrameIsAModelStreamError) {
  auto p = provider();
  CollectingSink sink;
  auto outcome = stream(*p, invocation(Operation::ConverseStream, "test.stream-cut"), sink);
  expect_cut(outcome, ErrorCode::ModelStreamError);
  EXPECT_EQ(sink.events.size(), 2u);
}

TEST_F(BedrockTest, ABodyEndingMidFrameIsAModelStreamError) {
  auto p = provider();
  CollectingSink sink;
  auto outcome = stream(*p, invocation(Operation::ConverseStream, "test.stream-partial"), sink);
  Error e = expect_cut(outcome, ErrorCode::ModelStreamError);
  EXPECT_NE(e.message().find("middle of an event"), std::string::npos) << e.message();
  EXPECT_EQ(sink.events.size(), 1u);
}

TEST_F(BedrockTest, ABodyEndingBeforeTheFinalEventIsAModelStreamError) {
  auto p = provider();
  CollectingSink sink;
  auto outcome = stream(*p, invocation(Operation::ConverseStream, "test.stream-short"), sink);
  Error e = expect_cut(outcome, ErrorCode::ModelStreamError);
  EXPECT_NE(e.message().find("before its final event"), std::string::npos) << e.message();
  EXPECT_EQ(sink.events.size(), 3u);
}

TEST_F(BedrockTest, AStreamThatFailsBeforeAnyEventIsAnOrdinaryError) {
  auto p = provider();
  for (std::string_view model : {"test.stream-garbage", "test.stream-empty"}) {
    CollectingSink sink;
    auto outcome = stream(*p, invocation(Operation::ConverseStream, model), sink);
    ASSERT_FALSE(outcome.ok()) << model;
    EXPECT_EQ(outcome.error().code(), ErrorCode::ModelStreamError) << model;
    EXPECT_TRUE(sink.events.empty());
  }
}

TEST_F(BedrockTest, AGoneClientStopsTheStreamAtOnce) {
  auto p = provider();
  CollectingSink sink(2);
  auto outcome = stream(*p, invocation(Operation::ConverseStream), sink);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message();
  EXPECT_EQ(outcome->end, StreamOutcome::End::ClientGone);
  EXPECT_FALSE(outcome->error.has_value());
  EXPECT_EQ(sink.events.size(), 2u);
  // The provider still works afterwards (the dropped connection is not reused).
  CollectingSink again;
  auto next = stream(*p, invocation(Operation::ConverseStream), again);
  ASSERT_TRUE(next.ok()) << next.error().message();
  EXPECT_EQ(next->end, StreamOutcome::End::Complete);
}

TEST_F(BedrockTest, EntryPointsRefuseTheOtherKindOfOperation) {
  auto p = provider();
  expect_error(invoke(*p, invocation(Operation::ConverseStream)), ErrorCode::InternalServer);
  CollectingSink sink;
  auto outcome = stream(*p, invocation(Operation::Converse), sink);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code(), ErrorCode::InternalServer);
}

// ---------------------------------------------------------------------------
// Configuration.

// Sets environment variables for one scope, restoring the previous values.
class ScopedEnv {
 public:
  ScopedEnv(std::vector<std::pair<std::string, std::optional<std::string>>> values) {
    for (auto& [name, value] : values) {
      const char* old = std::getenv(name.c_str());
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      set(name, value);
    }
  }
  ~ScopedEnv() {
    for (auto& [name, value] : saved_) set(name, value);
  }

 private:
  static void set(const std::string& name, const std::optional<std::string>& value) {
    if (value) {
      ::setenv(name.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name.c_str());
    }
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST_F(BedrockTest, CredentialsComeFromTheEnvironmentWhenNotConfigured) {
  ScopedEnv env({{"AWS_ACCESS_KEY_ID", std::string(kAccessKey)},
                 {"AWS_SECRET_ACCESS_KEY", std::string(kSecret)},
                 {"AWS_SESSION_TOKEN", std::string("env-token")}});
  BedrockOptions o = options();
  o.access_key_id.clear();
  o.secret_access_key.clear();
  auto p = provider(std::move(o));
  auto reply = invoke(*p, invocation(Operation::Converse));
  ASSERT_TRUE(reply.ok()) << reply.error().message() << " / " << reply.error().detail();
  EXPECT_EQ(last().header("X-Amz-Security-Token"), "env-token");
}

TEST_F(BedrockTest, AConfiguredKeyPairIgnoresTheEnvironmentsSessionToken) {
  ScopedEnv env({{"AWS_SESSION_TOKEN", std::string("env-token")}});
  auto p = provider();
  ASSERT_TRUE(invoke(*p, invocation(Operation::Converse)).ok());
  EXPECT_EQ(last().count("X-Amz-Security-Token"), 0u);
}

TEST_F(BedrockTest, MissingCredentialsOrABadEndpointFailAtStartUp) {
  ScopedEnv env({{"AWS_ACCESS_KEY_ID", std::nullopt}, {"AWS_SECRET_ACCESS_KEY", std::nullopt}});
  BedrockOptions none = options();
  none.access_key_id.clear();
  none.secret_access_key.clear();
  EXPECT_THROW(provider(none), StartupError);
  BedrockOptions half = options();
  half.secret_access_key.clear();
  EXPECT_THROW(provider(half), StartupError);
  BedrockOptions bad_url = options();
  bad_url.endpoint = "ftp://example.com";
  EXPECT_THROW(provider(bad_url), StartupError);
  BedrockOptions no_timeout = options();
  no_timeout.timeout = 0ms;
  EXPECT_THROW(provider(no_timeout), StartupError);
}

// ---------------------------------------------------------------------------
// Pure pieces.

TEST(BedrockRequest, TheRegionalEndpointIsSignedForTheServedRegion) {
  Invocation inv;
  inv.operation = Operation::ConverseStream;
  inv.model_id = std::string(kHaiku);
  inv.region = "eu-central-1";
  inv.body = "{}";
  Credentials credentials{std::string(kAccessKey), std::string(kSecret), ""};
  auto request = build_request(inv, nullptr, credentials, test_time(), 7s);
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->url,
            "https://bedrock-runtime.eu-central-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/"
            "converse-stream");
  EXPECT_EQ(request->timeout, 7s);

  http::Request as_received;
  as_received.method = request->method;
  as_received.path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream";
  as_received.headers = request->headers;
  as_received.body = request->body;
  EXPECT_EQ(as_received.header("Host"), "bedrock-runtime.eu-central-1.amazonaws.com");
  ManualClock clock(test_time());
  auth::Authenticator verifier({{std::string(kAccessKey), std::string(kSecret), "123456789012", "gw"}}, {}, clock,
                               "us-east-1");
  auto context = verifier.authenticate(as_received, "bedrock", false);
  ASSERT_TRUE(context.ok()) << context.error().message() << "\n" << context.error().detail();
  EXPECT_EQ(context->region, "eu-central-1");

  inv.region = "eu-central-1/../x";
  auto bad = build_request(inv, nullptr, credentials, test_time(), 7s);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::InternalServer);
}

TEST(BedrockRequest, EndpointsKeepThePortOnlyWhenNotTheDefault) {
  auto plain = parse_endpoint("http://127.0.0.1:9000");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->host_header, "127.0.0.1:9000");
  EXPECT_EQ(plain->origin, "http://127.0.0.1:9000");
  EXPECT_EQ(plain->base_path, "");
  auto https = parse_endpoint("HTTPS://bedrock.example.com:443/prefix/");
  ASSERT_TRUE(https.ok());
  EXPECT_EQ(https->host_header, "bedrock.example.com");
  EXPECT_EQ(https->base_path, "/prefix");
  auto v6 = parse_endpoint("http://[::1]:8080");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host_header, "[::1]:8080");
  EXPECT_FALSE(parse_endpoint("http://h/?q=1").ok());
  EXPECT_FALSE(parse_endpoint("not a url").ok());
  EXPECT_EQ(model_path("a b/c:d~e", Operation::InvokeModel), "/model/a%20b%2Fc%3Ad~e/invoke");
}

TEST(BedrockErrors, NamesAreCleanedAsBotocoreDoes) {
  EXPECT_EQ(clean_error_name("ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"),
            "ValidationException");
  EXPECT_EQ(clean_error_name("com.amazonaws.bedrock#ThrottlingException"), "ThrottlingException");
  EXPECT_EQ(clean_error_name(""), "");
}

TEST(BedrockErrors, EveryBedrockNameMapsOntoItsCode) {
  const std::vector<std::pair<std::string, ErrorCode>> cases = {
      {"ValidationException", ErrorCode::Validation},
      {"AccessDeniedException", ErrorCode::AccessDenied},
      {"ResourceNotFoundException", ErrorCode::ResourceNotFound},
      {"ThrottlingException", ErrorCode::Throttling},
      {"ModelTimeoutException", ErrorCode::ModelTimeout},
      {"ModelErrorException", ErrorCode::ModelError},
      {"ModelNotReadyException", ErrorCode::ModelNotReady},
      {"ServiceQuotaExceededException", ErrorCode::ServiceQuotaExceeded},
      {"InternalServerException", ErrorCode::InternalServer},
      {"ServiceUnavailableException", ErrorCode::ServiceUnavailable},
      {"UnrecognizedClientException", ErrorCode::InternalServer},
      {"ExpiredTokenException", ErrorCode::InternalServer},
  };
  for (const auto& [name, code] : cases) {
    Error e = error_from_response(400, {{"X-Amzn-ErrorType", name}}, R"({"message":"m"})");
    EXPECT_EQ(e.code(), code) << name;
  }
  // Unknown names fall back on the status; no message becomes a sentence.
  Error unknown = error_from_response(503, {}, "<html>busy</html>");
  EXPECT_EQ(unknown.code(), ErrorCode::ServiceUnavailable);
  EXPECT_FALSE(unknown.message().empty());
  EXPECT_EQ(error_from_response(418, {}, "{}").code(), ErrorCode::Validation);
  EXPECT_EQ(error_from_response(502, {}, "{}").code(), ErrorCode::InternalServer);
  // In-stream names are lowerCamel.
  EXPECT_EQ(error_from_stream_exception("modelStreamErrorException", R"({"message":"x"})").code(),
            ErrorCode::ModelStreamError);
  EXPECT_EQ(error_from_stream_exception("serviceUnavailableException", R"({"message":"x"})").code(),
            ErrorCode::ServiceUnavailable);
  EXPECT_EQ(error_from_stream_exception("somethingNewException", "{}").code(), ErrorCode::ModelStreamError);
  EXPECT_EQ(error_from_stream_error("ThrottlingException", "slow").code(), ErrorCode::Throttling);
}

TEST(BedrockErrors, TransportFailuresBecomeBedrockErrors) {
  EXPECT_EQ(error_from_transport(Error(ErrorCode::RequestTimeout, "t")).code(), ErrorCode::ModelTimeout);
  EXPECT_EQ(error_from_transport(Error(ErrorCode::ServiceUnavailable, "u")).code(), ErrorCode::ServiceUnavailable);
  EXPECT_EQ(error_from_transport(Error(ErrorCode::InternalServer, "bad url")).code(), ErrorCode::InternalServer);
}

TEST(BedrockUsage, CountsAreReadDefensively) {
  EXPECT_EQ(usage_from_headers({{"x-amzn-bedrock-input-token-count", " 12 "},
                                {"X-Amzn-Bedrock-Output-Token-Count", "-3"},
                                {"X-Amzn-Bedrock-Cache-Read-Input-Token-Count", "abc"}}),
            (ledger::TokenCounts{12, 0, 0, 0}));
  EXPECT_EQ(usage_from_converse_body("not json"), ledger::TokenCounts{});
  EXPECT_EQ(usage_from_converse_body(R"({"usage":{"inputTokens":2.0,"outputTokens":"7"}})"),
            (ledger::TokenCounts{2, 0, 0, 0}));
  EXPECT_FALSE(usage_from_metadata_event(R"({"metrics":{"latencyMs":1}})").has_value());
  EXPECT_FALSE(usage_from_chunk_event(R"({"bytes":"not base64!"})").has_value());
  std::string inner = R"({"amazon-bedrock-invocationMetrics":{"inputTokenCount":1,"outputTokenCount":2}})";
  EXPECT_EQ(usage_from_chunk_event(R"({"bytes":")" + base64_encode(inner) + "\"}"), (ledger::TokenCounts{1, 2, 0, 0}));
}

}  // namespace
}  // namespace tollgate::provider::bedrock
