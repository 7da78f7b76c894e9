// The HTTP/1.1 server: one listener, keep-alive, bounded header and body sizes,
// idle and slow-client timeouts, graceful shutdown. Boost.Beast/Asio with C++20
// coroutines live in server.cpp only.
//
// The server knows nothing of AWS: the RequestHandler above it chooses each
// request's body limit and encodes every answer, including the server's own
// refusals (oversized header or body), in the protocol of the API addressed.
// A handler answers through a ResponseWriter, whole or streamed (chunked).
//
// HTTP/1.1 and HTTP/2 with prior knowledge (h2c, the JS SDK's default) share the
// listener: a connection that opens with the HTTP/2 preface is an HTTP/2 session
// (http2_session.h).
//
// Thread-safety: handle() and reject() are called concurrently from the io
// threads; an HTTP/1.1 connection's requests are handled one at a time, in
// order; an HTTP/2 connection's streams concurrently, on its thread. Each io
// thread runs its own io_context, and a connection stays on one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/error.h"
#include "http/message.h"
#include "io/task.h"

namespace tollgate::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;                  // 0 = any free port (see Server::port())
  size_t io_threads = 0;              // 0 = one per core less one (at least one)
  size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds idle_timeout{60'000};    // keep-alive wait and whole-header deadline
  std::chrono::milliseconds body_timeout{120'000};   // to receive the whole body once headers arrived
  std::chrono::milliseconds write_timeout{120'000};
  std::chrono::milliseconds shutdown_grace{10'000};  // in-flight requests get this long after a stop
};

// How a handler answers one request: send() a whole response, or begin() a
// chunked one, write() its pieces and end() it. Every method returns false once
// the client is gone (the handler should then stop producing).
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  virtual Task<bool> send(Response response) = 0;
  virtual Task<bool> begin(int status, std::vector<Header> headers) = 0;
  virtual Task<bool> write(std::string_view bytes) = 0;
  // Ends a chunked response, with optional trailer fields (announce them in a
  // `Trailer` header at begin()).
  virtual Task<bool> end(std::vector<Header> trailers = {}) = 0;
  // True once send() or begin() was called.
  virtual bool started() const = 0;
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Largest body accepted for this request; `request` has its headers only.
  virtual size_t body_limit(const Request& request) const = 0;
  // Must answer through `writer` (send, or begin … end) before returning.
  virtual Task<void> handle(Request& request, ResponseWriter& writer) = 0;
  // The answer to a request the server refused itself; `request` may hold only
  // some or none of its headers.
  virtual Response reject(const Request& request, const Error& error) = 0;
};

// Runs `handler` on one request as every transport does: an exception, or a
// return without an answer, becomes a 500 InternalServerException (from
// handler.reject) when nothing was sent yet, and is logged.
Task<void> handle_guarded(RequestHandler& handler, Request& request, ResponseWriter& writer);

class Server {
 public:
  Server(ServerOptions options, RequestHandler& handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; throws StartupError when the address cannot be bound.
  void listen();
  uint16_t port() const;
  // Serves until stop() or, when handle_signals, SIGINT/SIGTERM; then drains.
  void run(bool handle_signals);
  // Stops accepting, lets in-flight requests finish (up to shutdown_grace). Thread-safe.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tollgate::http
