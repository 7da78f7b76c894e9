// The interface every model provider implements (simulator, openai, bedrock,
// …), each in its own folder and library. A provider receives the request as
// the client sent it (Converse JSON, or the model-native body of InvokeModel) and
// answers in Bedrock's shapes, so that a call through a profile behaves exactly
// as a call to the model. It reports the tokens used.
//
// Errors are Bedrock's (ThrottlingException, ModelTimeoutException,
// ServiceUnavailableException, ModelErrorException, …) as tollgate::Error.
// Thread-safety: providers are shared by all connections; invoke() and stream()
// run concurrently.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "http/message.h"
#include "io/task.h"
#include "ledger/usage_record.h"

namespace tollgate::provider {

enum class Operation { Converse, ConverseStream, InvokeModel, InvokeModelWithResponseStream, CountTokens };
std::string_view to_string(Operation operation);
inline bool is_streaming(Operation op) {
  return op == Operation::ConverseStream || op == Operation::InvokeModelWithResponseStream;
}

struct Invocation {
  Operation operation = Operation::Converse;
  std::string model_id;  // foundation model
  std::string region;    // where it is served
  std::string body;      // as the client sent it
  std::string content_type = "application/json";  // InvokeModel*
  std::string accept = "application/json";        // InvokeModel*
  std::vector<http::Header> bedrock_headers;       // X-Amzn-Bedrock-* request headers, passed on as given
};

// A whole (non-streaming) answer.
struct Reply {
  std::string body;
  std::string content_type = "application/json";
  std::vector<http::Header> headers;  // extra response headers (e.g. X-Amzn-Bedrock-Service-Tier)
  ledger::TokenCounts usage;
};

// One event of a streamed answer, in Bedrock's event-stream vocabulary:
// ConverseStream member names (messageStart, contentBlockDelta, …, metadata) or
// "chunk" for InvokeModelWithResponseStream; the payload is the event's JSON.
struct StreamEvent {
  std::string event_type;
  std::string payload;
};

// Where a provider delivers a streamed answer, event by event.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // Returns false when the client is gone: the provider should stop and return.
  virtual Task<bool> on_event(StreamEvent event) = 0;
};

struct StreamOutcome {
  enum class End { Complete, ClientGone, UpstreamCut };
  End end = End::Complete;
  ledger::TokenCounts usage;  // what was consumed, also when cut short
  std::optional<Error> error;  // with UpstreamCut: what to tell the client in-stream
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string_view name() const = 0;
  // True for providers whose answers are not a real model's (the gateway then
  // says so in a response header).
  virtual bool simulated() const { return false; }
  // Converse, InvokeModel and CountTokens (its Reply body is the CountTokens answer).
  virtual Task<Result<Reply>> invoke(const Invocation& invocation) = 0;
  // ConverseStream and InvokeModelWithResponseStream. An error returned before
  // any event was delivered is an ordinary error response; after that, the
  // outcome's End says how the stream ended.
  virtual Task<Result<StreamOutcome>> stream(const Invocation& invocation, EventSink& sink) = 0;
};

}  // namespace tollgate::provider
