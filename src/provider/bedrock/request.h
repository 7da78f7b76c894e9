// Building the signed upstream request of one invocation (pure: no I/O; the time is given).
//
//  * parse_endpoint() accepts an http(s) base URL without query or fragment; a path prefix is kept
//    (without its trailing '/'). The Host value is the one the HTTP client will send: the host
//    (IPv6 in brackets) plus ":port" only when the port is not the scheme's default, so that the
//    signed Host matches the sent one.
//  * regional_endpoint() is Bedrock's own: https://bedrock-runtime.{region}.amazonaws.com.
//  * model_path() percent-encodes the model id as one path label (botocore: every byte but the
//    unreserved A-Z a-z 0-9 - _ . ~), e.g. "/model/anthropic.claude-v2%3A1/converse".
//  * build_request() fails with InternalServer for an unusable region (not [a-z0-9-], 1–63) and
//    with Validation for an empty model id.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "http/client.h"
#include "provider/provider.h"

namespace tollgate::provider::bedrock {

struct Endpoint {
  std::string origin;       // "scheme://host[:port]", as it goes into URLs
  std::string host_header;  // "host[:port]", the Host header value
  std::string base_path;    // "" or "/prefix", no trailing '/'
};

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // "" = none
};

// Error (Validation) saying what is wrong with the URL.
Result<Endpoint> parse_endpoint(std::string_view url);
Endpoint regional_endpoint(std::string_view region);

// "converse", "converse-stream", "invoke", "invoke-with-response-stream" or "count-tokens".
std::string_view operation_suffix(Operation operation);

// "/model/{percent-encoded model id}/{suffix}".
std::string model_path(std::string_view model_id, Operation operation);

bool valid_region(std::string_view region);

// The whole POST: URL, headers (signed; Authorization last), body, timeout. `endpoint` null =
// the regional endpoint of invocation.region.
Result<http::ClientRequest> build_request(const Invocation& invocation, const Endpoint* endpoint,
                                          const Credentials& credentials, TimePoint now,
                                          std::chrono::milliseconds timeout);

}  // namespace tollgate::provider::bedrock
