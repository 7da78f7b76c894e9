#include "provider/bedrock/bedrock.h"

#include <cstdlib>
#include <optional>
#include <utility>

#include "eventstream/eventstream.h"
#include "provider/bedrock/errors.h"
#include "provider/bedrock/request.h"
#include "provider/bedrock/usage.h"

namespace tollgate::provider::bedrock {
namespace {

// (GCC 12 mishandles co_await inside conditions and on temporaries: every co_await here is a
// statement on named values.)

constexpr size_t kMaxErrorBodyBytes = 1024 * 1024;
constexpr std::string_view kBedrockHeaderPrefix = "x-amzn-bedrock-";

bool is_success(int status) { return status >= 200 && status < 300; }

std::vector<http::Header> bedrock_headers_of(const std::vector<http::Header>& headers) {
  std::vector<http::Header> out;
  for (const auto& h : headers) {
    std::string_view name = h.name;
    if (name.size() > kBedrockHeaderPrefix.size() &&
        http::header_name_equals(name.substr(0, kBedrockHeaderPrefix.size()), kBedrockHeaderPrefix)) {
      out.push_back(h);
    }
  }
  return out;
}

ledger::TokenCounts reply_usage(Operation operation, const http::ClientResponse& response) {
  switch (operation) {
    case Operation::InvokeModel: return usage_from_headers(response.headers);
    case Operation::Converse: return usage_from_converse_body(response.body);
    default: return {};
  }
}

Result<Reply> reply_from(Operation operation, http::ClientResponse response) {
  if (!is_success(response.status)) return error_from_response(response.status, response.headers, response.body);
  Reply reply;
  if (auto type = response.header("Content-Type")) reply.content_type = std::string(*type);
  reply.headers = bedrock_headers_of(response.headers);
  reply.usage = reply_usage(operation, response);
  reply.body = std::move(response.body);
  return reply;
}

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

Credentials resolve_credentials(const BedrockOptions& options) {
  if (!options.access_key_id.empty() || !options.secret_access_key.empty()) {
    if (options.access_key_id.empty() || options.secret_access_key.empty()) {
      throw StartupError("bedrock provider: access_key_id and secret_access_key must be configured together");
    }
    return Credentials{options.access_key_id, options.secret_access_key, options.session_token};
  }
  Credentials credentials{environment("AWS_ACCESS_KEY_ID"), environment("AWS_SECRET_ACCESS_KEY"),
                          options.session_token};
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    throw StartupError(
        "bedrock provider: no AWS credentials: configure access_key_id and secret_access_key, or set "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment");
  }
  if (credentials.session_token.empty()) credentials.session_token = environment("AWS_SESSION_TOKEN");
  return credentials;
}

// One streamed call: takes the upstream's status, headers and body pieces as they arrive, decodes
// the event stream, delivers the events to the sink, and finally says how the stream ended.
class StreamRun {
 public:
  StreamRun(Operation operation, EventSink& sink) : operation_(operation), sink_(sink) {}

  Task<bool> on_headers(int status, const std::vector<http::Header>& headers) {
    status_ = status;
    if (!is_success(status)) headers_ = headers;
    co_return true;
  }

  // Returns false to stop reading: the sink is gone, the stream failed, or an error body is too large.
  Task<bool> on_body(std::string_view piece) {
    if (!is_success(status_)) co_return collect_error_body(piece);
    Result<std::vector<eventstream::Message>> messages = decoder_.feed(piece);
    if (!messages.ok()) {
      cut(Error(ErrorCode::ModelStreamError, "The model stream from Bedrock was malformed.",
                "bedrock: " + messages.error().message()));
      co_return false;
    }
    for (const eventstream::Message& message : *messages) {
      bool more = co_await deliver(message);
      if (!more) co_return false;
    }
    co_return true;
  }

  // After HttpClient::stream() returned `transport`.
  Result<StreamOutcome> finish(const Result<int>& transport) {
    if (end_) return outcome();
    if (!transport.ok()) return transport_failed(transport.error());
    if (!is_success(status_)) return error_from_response(status_, headers_, error_body_);
    if (decoder_.pending_bytes() > 0) {
      cut(Error(ErrorCode::ModelStreamError, "The model stream from Bedrock ended in the middle of an event.",
                "bedrock: " + std::to_string(decoder_.pending_bytes()) + " bytes of an incomplete frame"));
    } else if (!final_seen_) {
      cut(Error(ErrorCode::ModelStreamError, "The model stream from Bedrock ended before its final event.",
                "bedrock: no " + std::string(final_event_name()) + " event"));
    } else {
      end_ = StreamOutcome::End::Complete;
    }
    return outcome();
  }

 private:
  bool collect_error_body(std::string_view piece) {
    size_t room = kMaxErrorBodyBytes - error_body_.size();
    error_body_.append(piece.substr(0, room));
    return piece.size() <= room;
  }

  // Returns whether to go on reading.
  Task<bool> deliver(const eventstream::Message& message) {
    std::optional<std::string_view> kind = message.string_header(":message-type");
    if (kind == "exception") {
      std::string_view type = message.string_header(":exception-type").value_or("");
      stop(StreamOutcome::End::UpstreamCut, error_from_stream_exception(type, message.payload));
      co_return false;
    }
    if (kind == "error") {
      std::string_view code = message.string_header(":error-code").value_or("");
      std::string_view text = message.string_header(":error-message").value_or("");
      stop(StreamOutcome::End::UpstreamCut, error_from_stream_error(code, text));
      co_return false;
    }
    std::optional<std::string_view> event_type = message.string_header(":event-type");
    if (kind != "event" || !event_type) co_return true;  // not an event of the stream's union: skipped
    StreamEvent event{std::string(*event_type), message.payload};
    note_usage(event);
    ++delivered_;
    bool wanted = co_await sink_.on_event(std::move(event));
    if (!wanted) stop(StreamOutcome::End::ClientGone, std::nullopt);
    co_return wanted;
  }

  std::string_view final_event_name() const {
    return operation_ == Operation::ConverseStream ? "metadata" : "chunk with amazon-bedrock-invocationMetrics";
  }

  void note_usage(const StreamEvent& event) {
    std::optional<ledger::TokenCounts> usage;
    if (operation_ == Operation::ConverseStream && event.event_type == "metadata") {
      usage = usage_from_metadata_event(event.payload);
    } else if (operation_ == Operation::InvokeModelWithResponseStream && event.event_type == "chunk") {
      usage = usage_from_chunk_event(event.payload);
    }
    if (!usage) return;
    usage_ = *usage;
    final_seen_ = true;
  }

  void stop(StreamOutcome::End end, std::optional<Error> error) {
    end_ = end;
    error_ = std::move(error);
  }

  // The stream broke on its own: an ordinary error while nothing was delivered, else a cut.
  void cut(Error error) {
    if (delivered_ == 0) {
      failure_ = std::move(error);
      end_ = StreamOutcome::End::UpstreamCut;
      return;
    }
    stop(StreamOutcome::End::UpstreamCut, std::move(error));
  }

  Result<StreamOutcome> transport_failed(const Error& failure) {
    Error mapped = error_from_transport(failure);
    if (delivered_ == 0) return mapped;
    if (mapped.code() != ErrorCode::ModelTimeout) {
      mapped = Error(ErrorCode::ModelStreamError, "The model stream from Bedrock was cut off.", mapped.detail());
    }
    stop(StreamOutcome::End::UpstreamCut, std::move(mapped));
    return outcome();
  }

  Result<StreamOutcome> outcome() {
    if (failure_) return *failure_;
    StreamOutcome out;
    out.end = end_.value_or(StreamOutcome::End::Complete);
    out.usage = usage_;
    out.error = error_;
    return out;
  }

  Operation operation_;
  EventSink& sink_;
  int status_ = 0;
  std::vector<http::Header> headers_;  // of an error answer
  std::string error_body_;
  eventstream::Decoder decoder_;
  size_t delivered_ = 0;
  bool final_seen_ = false;
  ledger::TokenCounts usage_;
  std::optional<StreamOutcome::End> end_;  // set once the run stopped or ended
  std::optional<Error> error_;             // with UpstreamCut
  std::optional<Error> failure_;           // an ordinary error (nothing was delivered)
};

class BedrockProvider final : public Provider {
 public:
  BedrockProvider(BedrockOptions options, http::HttpClient& client, const Clock& clock)
      : credentials_(resolve_credentials(options)), timeout_(options.timeout), client_(client), clock_(clock) {
    if (timeout_.count() <= 0) throw StartupError("bedrock provider: the timeout must be positive");
    if (options.endpoint.empty()) return;
    Result<Endpoint> endpoint = parse_endpoint(options.endpoint);
    if (!endpoint.ok()) throw StartupError("bedrock provider: " + endpoint.error().message());
    endpoint_ = std::move(*endpoint);
  }

  std::string_view name() const override { return "bedrock"; }

  Task<Result<Reply>> invoke(const Invocation& invocation) override {
    if (is_streaming(invocation.operation)) co_return wrong_entry(invocation.operation);
    Result<http::ClientRequest> request = build(invocation);
    if (!request.ok()) co_return request.error();
    http::ClientRequest upstream = std::move(*request);
    Result<http::ClientResponse> response = co_await client_.request(std::move(upstream));
    if (!response.ok()) co_return error_from_transport(response.error());
    co_return reply_from(invocation.operation, std::move(*response));
  }

  Task<Result<StreamOutcome>> stream(const Invocation& invocation, EventSink& sink) override {
    if (!is_streaming(invocation.operation)) co_return wrong_entry(invocation.operation);
    Result<http::ClientRequest> request = build(invocation);
    if (!request.ok()) co_return request.error();
    http::ClientRequest upstream = std::move(*request);
    StreamRun run(invocation.operation, sink);
    http::HttpClient::HeadersCallback on_headers = [&run](int status, const std::vector<http::Header>& headers) {
      return run.on_headers(status, headers);
    };
    http::HttpClient::BodyCallback on_body = [&run](std::string_view piece) { return run.on_body(piece); };
    Result<int> transport = co_await client_.stream(std::move(upstream), on_headers, on_body);
    co_return run.finish(transport);
  }

 private:
  Result<http::ClientRequest> build(const Invocation& invocation) const {
    const Endpoint* endpoint = endpoint_ ? &*endpoint_ : nullptr;
    return build_request(invocation, endpoint, credentials_, clock_.now(), timeout_);
  }

  static Error wrong_entry(Operation operation) {
    return Error(ErrorCode::InternalServer, "The gateway routed the call wrongly.",
                 "bedrock provider: " + std::string(to_string(operation)) + " called through the wrong entry point");
  }

  Credentials credentials_;
  std::optional<Endpoint> endpoint_;  // nullopt = the regional endpoint of each invocation
  std::chrono::milliseconds timeout_;
  http::HttpClient& client_;
  const Clock& clock_;
};

}  // namespace

std::unique_ptr<Provider> make_bedrock(BedrockOptions options, http::HttpClient& client, const Clock& clock) {
  return std::make_unique<BedrockProvider>(std::move(options), client, clock);
}

}  // namespace tollgate::provider::bedrock
