#include "provider/openai/openai_provider.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "core/base64.h"
#include "provider/openai/chat_stream.h"
#include "provider/openai/chat_translation.h"
#include "provider/openai/sse_parser.h"

namespace tollgate::provider::openai {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr size_t kMaxErrorBody = 64 * 1024;

int64_t elapsed_ms(SteadyClock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - since).count();
}

bool success(int status) { return status >= 200 && status < 300; }

// A failed upstream call (the HTTP client's neutral codes) as a Bedrock error;
// where the upstream is and what failed go to the log only.
Error transport_error(const Error& failure) {
  switch (failure.code()) {
    case ErrorCode::RequestTimeout:
      return Error(ErrorCode::ModelTimeout, "The model server did not answer in time; try again later.",
                   failure.message());
    case ErrorCode::ServiceUnavailable:
      return Error(ErrorCode::ServiceUnavailable, "The model server cannot be reached; try again later.",
                   failure.message());
    default:
      return Error(ErrorCode::InternalServer,
                   "The openai provider is misconfigured; an administrator must check its base_url.",
                   failure.message());
  }
}

// One InvokeModelWithResponseStream event: the upstream chunk, base64 in "bytes".
StreamEvent chunk_event(std::string_view data) {
  boost::json::object payload;
  payload["bytes"] = base64_encode(data);
  return {"chunk", boost::json::serialize(payload)};
}

// The state of one streamed call, shared by the body callback and the ending.
struct StreamRun {
  explicit StreamRun(EventSink& events) : sink(events) {}
  EventSink& sink;
  bool converse = true;  // ConverseStream (else InvokeModelWithResponseStream)
  SteadyClock::time_point started = SteadyClock::now();
  int status = 0;
  std::string error_body;  // of a non-2xx answer
  SseParser sse;
  ChatStreamTranslator translator;
  bool done = false;             // "[DONE]" arrived
  bool client_gone = false;      // the sink refused an event
  std::optional<Error> failure;  // an error event or an unreadable chunk
  size_t delivered = 0;          // events the sink accepted
};

Task<bool> deliver(StreamRun& run, std::vector<StreamEvent> events) {
  for (auto& event : events) {
    if (!co_await run.sink.on_event(std::move(event))) {
      run.client_gone = true;
      co_return false;
    }
    ++run.delivered;
  }
  co_return true;
}

// One SSE data payload. Returns whether to keep reading.
Task<bool> on_data(StreamRun& run, const std::string& data) {
  if (data == "[DONE]") {
    run.done = true;
    if (!run.converse) co_return true;
    std::vector<StreamEvent> last;
    run.translator.finish(elapsed_ms(run.started), last);
    co_return co_await deliver(run, std::move(last));
  }
  std::vector<StreamEvent> events;
  Status read = run.translator.on_chunk(data, events);
  if (!read) {
    run.failure = read.error();
    co_return false;
  }
  if (!run.converse) {
    events.clear();
    events.push_back(chunk_event(data));
  }
  co_return co_await deliver(run, std::move(events));
}

// A piece of the upstream body. Returns whether to keep reading.
Task<bool> on_piece(StreamRun& run, std::string_view piece) {
  if (!success(run.status)) {
    run.error_body.append(piece.substr(0, kMaxErrorBody - std::min(kMaxErrorBody, run.error_body.size())));
    co_return run.error_body.size() < kMaxErrorBody;
  }
  if (run.done) co_return true;  // read to the end so that the connection can be reused
  auto payloads = run.sse.feed(piece);
  if (!payloads) {
    run.failure = payloads.error();
    co_return false;
  }
  for (const auto& data : *payloads) {
    if (run.done) break;
    if (!co_await on_data(run, data)) co_return false;
  }
  co_return true;
}

StreamOutcome ended(StreamRun& run, StreamOutcome::End end, std::optional<Error> error = std::nullopt) {
  StreamOutcome outcome;
  outcome.end = end;
  outcome.usage = run.translator.usage();
  outcome.error = std::move(error);
  if (end != StreamOutcome::End::Complete && !run.translator.usage_reported()) {
    spdlog::warn(
        "openai: stream ended early before the upstream reported usage; recording an estimate of {} output "
        "tokens (one per content chunk) and 0 input tokens",
        outcome.usage.output);
  }
  return outcome;
}

// How a stream ended, from what was read and what the HTTP client returned.
Task<Result<StreamOutcome>> conclude(StreamRun& run, const Result<int>& read) {
  using End = StreamOutcome::End;
  if (run.client_gone) co_return ended(run, End::ClientGone);
  if (run.status != 0 && !success(run.status)) co_return upstream_error(run.status, run.error_body);
  if (run.done) co_return ended(run, End::Complete);
  if (run.failure) {
    if (run.delivered == 0) co_return Error(ErrorCode::ModelError, run.failure->message(), run.failure->detail());
    spdlog::warn("openai: upstream stream failed: {} {}", run.failure->message(), run.failure->detail());
    co_return ended(run, End::UpstreamCut, *run.failure);
  }
  if (!read.ok()) {
    if (run.delivered == 0) co_return transport_error(read.error());
    spdlog::warn("openai: upstream stream cut: {}", read.error().message());
    bool timeout = read.error().code() == ErrorCode::RequestTimeout;
    co_return ended(run, End::UpstreamCut,
                    Error(ErrorCode::ModelStreamError,
                          std::string("The model server's stream broke off before it finished (") +
                              (timeout ? "it stopped sending" : "the connection was lost") + "); try again.",
                          read.error().message()));
  }
  // The body ended cleanly without "[DONE]": complete if the answer did finish.
  if (run.translator.finished()) {
    if (run.converse) {
      std::vector<StreamEvent> last;
      run.translator.finish(elapsed_ms(run.started), last);
      if (!co_await deliver(run, std::move(last))) co_return ended(run, End::ClientGone);
    }
    co_return ended(run, End::Complete);
  }
  if (run.delivered == 0) {
    co_return Error(ErrorCode::ModelError, "The model server ended the stream without an answer.");
  }
  co_return ended(
      run, End::UpstreamCut,
      Error(ErrorCode::ModelStreamError, "The model server ended the stream before it finished; try again."));
}

class OpenAiProvider final : public Provider {
 public:
  OpenAiProvider(OpenAiOptions options, http::HttpClient& client)
      : options_(std::move(options)), url_(options_.base_url), client_(client) {
    while (!url_.empty() && url_.back() == '/') url_.pop_back();
    url_ += "/chat/completions";
  }

  std::string_view name() const override { return "openai"; }
  Task<Result<Reply>> invoke(const Invocation& invocation) override;
  Task<Result<StreamOutcome>> stream(const Invocation& invocation, EventSink& sink) override;

 private:
  std::string upstream_model(const Invocation& invocation) const {
    return options_.model.empty() ? invocation.model_id : options_.model;
  }
  Result<std::string> request_body(const Invocation& invocation) const;
  http::ClientRequest chat_request(std::string body, bool stream) const;

  OpenAiOptions options_;
  std::string url_;
  http::HttpClient& client_;
};

Result<std::string> OpenAiProvider::request_body(const Invocation& invocation) const {
  bool stream = is_streaming(invocation.operation);
  if (invocation.operation == Operation::Converse || invocation.operation == Operation::ConverseStream) {
    return converse_to_chat(invocation.body, upstream_model(invocation), stream);
  }
  return forward_chat_body(invocation.body, upstream_model(invocation), stream);
}

http::ClientRequest OpenAiProvider::chat_request(std::string body, bool stream) const {
  http::ClientRequest request;
  request.method = "POST";
  request.url = url_;
  request.body = std::move(body);
  request.timeout = options_.timeout;
  request.headers.push_back({"Content-Type", "application/json"});
  request.headers.push_back({"Accept", stream ? "text/event-stream" : "application/json"});
  if (!options_.api_key.empty()) request.headers.push_back({"Authorization", "Bearer " + options_.api_key});
  return request;
}

Task<Result<Reply>> OpenAiProvider::invoke(const Invocation& invocation) {
  if (invocation.operation == Operation::CountTokens) {
    co_return Error(ErrorCode::Validation,
                    "The openai provider cannot count tokens for " + invocation.model_id +
                        ": OpenAI-compatible servers have no token-counting API. Send the request with Converse "
                        "and read usage.inputTokens instead.");
  }
  if (is_streaming(invocation.operation)) {
    co_return Error(ErrorCode::InternalServer, "The server encountered an internal error.",
                    "openai: invoke() called for a streaming operation");
  }
  auto body = request_body(invocation);
  if (!body) co_return std::move(body).error();
  auto started = SteadyClock::now();
  auto response = co_await client_.request(chat_request(std::move(*body), false));
  if (!response) co_return transport_error(response.error());
  if (!success(response->status)) co_return upstream_error(response->status, response->body);
  Reply reply;
  if (invocation.operation == Operation::InvokeModel) {
    reply.usage = chat_body_usage(response->body);
    reply.body = std::move(response->body);
    co_return reply;
  }
  auto answer = chat_to_converse(response->body, elapsed_ms(started));
  if (!answer) co_return std::move(answer).error();
  reply.body = std::move(answer->body);
  reply.usage = answer->usage;
  co_return reply;
}

Task<Result<StreamOutcome>> OpenAiProvider::stream(const Invocation& invocation, EventSink& sink) {
  if (!is_streaming(invocation.operation)) {
    co_return Error(ErrorCode::InternalServer, "The server encountered an internal error.",
                    "openai: stream() called for a non-streaming operation");
  }
  auto body = request_body(invocation);
  if (!body) co_return std::move(body).error();
  StreamRun run(sink);
  run.converse = invocation.operation == Operation::ConverseStream;
  http::HttpClient::HeadersCallback on_headers = [&run](int status, const std::vector<http::Header>&) -> Task<bool> {
    run.status = status;
    co_return true;
  };
  http::HttpClient::BodyCallback on_body = [&run](std::string_view piece) -> Task<bool> {
    co_return co_await on_piece(run, piece);
  };
  auto read = co_await client_.stream(chat_request(std::move(*body), true), on_headers, on_body);
  co_return co_await conclude(run, read);
}

}  // namespace

std::unique_ptr<Provider> make_openai(OpenAiOptions options, http::HttpClient& client) {
  if (options.base_url.rfind("http://", 0) != 0 && options.base_url.rfind("https://", 0) != 0) {
    throw StartupError("openai provider: base_url '" + options.base_url +
                       "' must be an http:// or https:// URL such as http://127.0.0.1:8000/v1");
  }
  return std::make_unique<OpenAiProvider>(std::move(options), client);
}

}  // namespace tollgate::provider::openai
