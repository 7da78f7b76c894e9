// One HTTP/2 connection with prior knowledge (h2c: the client opens with the
// connection preface, no Upgrade), served by the same RequestHandler and
// ResponseWriter interface as HTTP/1.1. libnghttp2 lives in http2_session.cpp only.
//
// Each stream's request is collected (pseudo-headers become method, path and
// query; :authority is also exposed as `host`), its body bounded by the
// handler's body_limit (413 through handler.reject()), and the handler runs as
// its own coroutine: streams on one connection are served concurrently, all on
// the connection's io thread. Streamed responses respect the peer's flow-control
// window and apply backpressure to write().
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "http/server.h"
#include "io/task.h"

namespace tollgate::http {

// The client connection preface of HTTP/2 (RFC 9113 §3.4).
inline constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

class Http2Session {
 public:
  // `stream` is the connection's socket, whose executor (one io thread's io_context) runs everything.
  Http2Session(boost::beast::tcp_stream& stream, RequestHandler& handler, const ServerOptions& options,
               std::string remote);
  ~Http2Session();
  Http2Session(const Http2Session&) = delete;
  Http2Session& operator=(const Http2Session&) = delete;

  // Serves the connection until it closes and every stream's handler returned.
  // `received` holds the bytes already read from the socket (the preface at least).
  Task<void> run(std::string received);

  // Graceful shutdown: GOAWAY; streams in flight finish, new ones are refused, then
  // the connection closes. Call on the connection's executor; idempotent.
  void shutdown();

  struct Impl;  // defined in http2_session.cpp

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace tollgate::http
