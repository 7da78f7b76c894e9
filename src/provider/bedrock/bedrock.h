// The Bedrock provider: serves an invocation by forwarding it to Amazon Bedrock's runtime API
// (or to an endpoint override that speaks it), signed with the gateway's own AWS credentials.
// doc/providers.md ("bedrock") is the operator's description; this is the contract.
//
//  * Request: POST {endpoint}/model/{modelId}/{converse|converse-stream|invoke|invoke-with-response-stream|
//    count-tokens}. The model id label is percent-encoded as the AWS SDKs do (every byte but
//    A-Z a-z 0-9 - _ . ~, so ':' → %3A and '/' → %2F). The body goes byte for byte as received.
//    Headers: Content-Type (Invocation::content_type), Accept (InvokeModel) or X-Amzn-Bedrock-Accept
//    (InvokeModelWithResponseStream) from Invocation::accept, every Invocation::bedrock_headers entry,
//    Host (with :port when not the scheme's default); then SigV4 (service "bedrock", region
//    Invocation::region, time from the clock; X-Amz-Security-Token with a session token).
//  * Whole answers (invoke()): 2xx → Reply with the body unchanged, the response's Content-Type and
//    its X-Amzn-Bedrock-* headers. Usage: InvokeModel from the X-Amzn-Bedrock-*-Token-Count headers,
//    Converse from the body's "usage", CountTokens zero (nothing is consumed).
//  * Streams (stream()): each `event` message goes to the sink as {:event-type, payload unchanged}.
//    Usage: ConverseStream from the `metadata` event, InvokeModelWithResponseStream from the chunk
//    whose decoded bytes carry "amazon-bedrock-invocationMetrics". Those events are the final ones:
//    a stream that ends without one, or mid-frame, or whose framing is corrupt, is cut
//    (ModelStreamErrorException). A sink returning false stops at once (End::ClientGone). An
//    in-stream `exception` or `error` message ends the stream as End::UpstreamCut with the mapped
//    error. An error before any event was delivered (HTTP error status, unreachable upstream, corrupt
//    or empty stream) is returned as an ordinary error, never as an outcome.
//  * Errors: Bedrock's error name (x-amzn-ErrorType, else body code/__type, cleaned as botocore
//    does) is mapped onto ErrorCode with the upstream message; see errors.h. Refused upstream
//    credentials become InternalServerException: the caller cannot fix the gateway's keys.
//    Unreachable upstream → ServiceUnavailableException; no answer within `timeout` →
//    ModelTimeoutException. Every wait is bounded by `timeout` (passed to the HTTP client).
//
// Thread-safety: immutable after construction; invoke() and stream() run concurrently. The HTTP
// client and the clock must outlive the provider.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/clock.h"
#include "http/client.h"
#include "provider/provider.h"

namespace tollgate::provider::bedrock {

struct BedrockOptions {
  // "" = https://bedrock-runtime.{region}.amazonaws.com for the invocation's region; else a base URL
  // such as http://127.0.0.1:9000 (a path prefix is kept; the served region still signs).
  std::string endpoint;
  // access_key_id and secret_access_key go together. Both "" = AWS_ACCESS_KEY_ID /
  // AWS_SECRET_ACCESS_KEY from the environment, read at construction, with AWS_SESSION_TOKEN unless
  // session_token is set. A configured key pair uses only the configured session_token.
  std::string access_key_id, secret_access_key, session_token;
  std::chrono::milliseconds timeout{120000};  // the whole exchange, streams included
};

// Throws StartupError when no credentials are configured or in the environment, when only half a
// key pair is configured, when the endpoint is not a usable http(s) base URL, or the timeout is not
// positive.
std::unique_ptr<Provider> make_bedrock(BedrockOptions options, http::HttpClient& client, const Clock& clock);

}  // namespace tollgate::provider::bedrock
