// The upstream HTTP/1.1 client: what providers use to reach model servers.
// Boost.Beast/Asio with C++20 coroutines live in client.cpp only.
//
// Contract:
//  * http:// and https:// URLs. TLS verifies the certificate chain (the system
//    store, or `ca_file` instead when set) and the host name, and sends SNI;
//    `verify_tls = false` turns verification off (only when configured so).
//  * Keep-alive connections are pooled per (scheme, host, port) and reused. A
//    pooled connection found closed (or holding bytes nobody asked for) is
//    discarded before use; a request whose sending fails on a reused
//    connection is sent once more on a fresh one. Once a request is sent it is
//    never repeated (the server may have run it), and timeouts never are.
//  * Every wait is bounded: connect_timeout for DNS + TCP connect + TLS
//    handshake; request_timeout (or ClientRequest::timeout) for the whole
//    exchange, from the call to the last body byte; idle_timeout for each
//    silence once the response has begun, and for how long an unused
//    connection stays pooled. A dead upstream never hangs a caller.
//  * Failures are tollgate::Error with neutral codes the caller re-maps:
//    RequestTimeout when a deadline passed after the connection was made;
//    ServiceUnavailable for everything else that kept an answer from arriving
//    (DNS, connect refused or timed out, TLS or certificate failure, reset,
//    malformed or oversized response); InternalServer for a URL that cannot be
//    used. The message names the upstream (scheme://host:port) and what failed.
//    An HTTP error status is not a failure: it is the response.
//
// Thread-safety: one HttpClient is shared by all connections and called
// concurrently from many threads; the pool is guarded by a mutex. The
// coroutines run on the caller's executor; pooled connections belong to its
// execution context and are closed when that context shuts down, so a client
// may outlive the io_context(s) it served.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "http/message.h"
#include "io/task.h"

namespace tollgate::http {

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{120000};
  std::chrono::milliseconds idle_timeout{60000};
  size_t max_idle_per_host = 64;
  bool verify_tls = true;
  std::string ca_file;                           // PEM bundle used instead of the system store; empty = system store
  size_t max_response_bytes = 64 * 1024 * 1024;  // request(): a larger body is an error
};

struct ClientRequest {
  std::string method;           // "GET", "POST", ...
  std::string url;              // "https://host[:port]/path[?query]"
  std::vector<Header> headers;  // Host and Content-Length are set by the client
  std::string body;
  std::chrono::milliseconds timeout{0};  // the whole exchange; 0 = ClientOptions::request_timeout
};

struct ClientResponse {
  int status = 0;
  std::vector<Header> headers;
  std::string body;
  // First value of a header (case-insensitive name), if present.
  std::optional<std::string_view> header(std::string_view name) const;
};

class HttpClient {
 public:
  // Throws StartupError when ca_file cannot be loaded.
  explicit HttpClient(ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // The whole response (any status).
  Task<Result<ClientResponse>> request(ClientRequest request);

  // A streamed response: `on_headers` once (status and headers), then `on_body`
  // for each piece of the body as it arrives. Either returning false stops
  // early: the connection is then closed, not reused, and the result is the
  // status. Returns the status once the whole body was delivered.
  using HeadersCallback = std::function<Task<bool>(int status, const std::vector<Header>& headers)>;
  using BodyCallback = std::function<Task<bool>(std::string_view piece)>;
  Task<Result<int>> stream(ClientRequest request, HeadersCallback on_headers, BodyCallback on_body);

  // Idle connections currently pooled (all hosts); for tests and metrics.
  size_t idle_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tollgate::http
