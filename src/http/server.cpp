#include "http/server.h"

#include "http/http2_session.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_set>

#include <spdlog/spdlog.h>

namespace tollgate::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// After refusing a request whose body is still arriving, keep reading (and
// discarding) for a while so the client sees our answer instead of a reset.
constexpr std::chrono::seconds kLingerTime{3};
constexpr size_t kLingerMaxBytes = 64 * 1024 * 1024;

struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  bool idle = true;  // waiting for the next request; touched only on the connection's thread
  std::string remote;
  std::function<void()> on_stop;  // set while an HTTP/2 session runs: its graceful shutdown (its thread only)
};

enum class Sniffed { Http1, Http2, Closed };

// Reads until the first bytes either differ from the HTTP/2 connection preface or
// complete it. The bytes stay in `buffer` for whichever protocol follows.
asio::awaitable<Sniffed> sniff(Connection& conn, beast::flat_buffer& buffer, std::chrono::milliseconds timeout) {
  conn.stream.expires_after(timeout);
  while (true) {
    auto data = buffer.data();
    std::string_view seen(static_cast<const char*>(data.data()), data.size());
    size_t n = std::min(seen.size(), kHttp2Preface.size());
    if (seen.substr(0, n) != kHttp2Preface.substr(0, n)) co_return Sniffed::Http1;
    if (n == kHttp2Preface.size()) co_return Sniffed::Http2;
    auto [ec, got] = co_await conn.stream.async_read_some(buffer.prepare(4096), kNoThrow);
    if (ec) co_return Sniffed::Closed;
    buffer.commit(got);
  }
}

Request to_request(const bhttp::request_parser<bhttp::string_body>& parser, const std::string& remote) {
  const auto& msg = parser.get();
  Request req;
  req.method = std::string(msg.method_string());
  std::string_view target = msg.target();
  size_t q = target.find('?');
  req.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
  for (const auto& field : msg) {
    req.headers.push_back({std::string(field.name_string()), std::string(field.value())});
  }
  req.remote_address = remote;
  return req;
}

bhttp::response<bhttp::string_body> to_beast(Response&& res, bool keep_alive) {
  bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(res.status), 11};
  for (auto& h : res.headers) out.insert(h.name, h.value);
  out.body() = std::move(res.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

// The ResponseWriter of one request on one connection.
class ConnectionWriter final : public ResponseWriter {
 public:
  ConnectionWriter(Connection& conn, const ServerOptions& options, bool keep_alive)
      : conn_(conn), options_(options), keep_alive_(keep_alive) {}

  Task<bool> send(Response response) override {
    started_ = true;
    auto msg = to_beast(std::move(response), keep_alive_);
    conn_.stream.expires_after(options_.write_timeout);
    auto [ec, n] = co_await bhttp::async_write(conn_.stream, msg, kNoThrow);
    ok_ = !ec;
    complete_ = ok_;
    co_return ok_;
  }

  Task<bool> begin(int status, std::vector<Header> headers) override {
    started_ = true;
    bhttp::response<bhttp::empty_body> head{static_cast<bhttp::status>(status), 11};
    for (auto& h : headers) head.insert(h.name, h.value);
    head.keep_alive(keep_alive_);
    head.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> serializer{head};
    conn_.stream.expires_after(options_.write_timeout);
    auto [ec, n] = co_await bhttp::async_write_header(conn_.stream, serializer, kNoThrow);
    ok_ = !ec;
    co_return ok_;
  }

  Task<bool> write(std::string_view bytes) override {
    if (!ok_ || bytes.empty()) co_return ok_;
    conn_.stream.expires_after(options_.write_timeout);
    auto [ec, n] = co_await asio::async_write(conn_.stream, bhttp::make_chunk(asio::buffer(bytes.data(), bytes.size())),
                                              kNoThrow);
    ok_ = !ec;
    co_return ok_;
  }

  Task<bool> end(std::vector<Header> trailers) override {
    if (!ok_) co_return false;
    bhttp::fields trailer_fields;
    for (auto& h : trailers) trailer_fields.insert(h.name, h.value);
    conn_.stream.expires_after(options_.write_timeout);
    auto [ec, n] = co_await asio::async_write(conn_.stream, bhttp::make_chunk_last(trailer_fields), kNoThrow);
    ok_ = !ec;
    complete_ = ok_;
    co_return ok_;
  }

  bool started() const override { return started_; }
  // The whole response reached the socket.
  bool complete() const { return complete_; }

 private:
  Connection& conn_;
  const ServerOptions& options_;
  bool keep_alive_;
  bool started_ = false;
  bool ok_ = true;
  bool complete_ = false;
};

}  // namespace

// Each io thread runs its own io_context, and a connection lives on one of them
// for its whole life: its handlers never race, so it needs no strand, and the
// threads share no scheduler lock. Connections are dealt out round-robin.
struct Worker {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> busy = asio::make_work_guard(io);
};

// By default one io thread per core but one: the gateway's other busy thread, the ledger writer, gets a core
// of its own (on 2 cores, two io threads and the writer measured 0–15% fewer requests/s than one and the
// writer in paired runs, bench/RESULTS.md).
std::vector<std::unique_ptr<Worker>> make_workers(size_t configured) {
  size_t n = configured ? configured : std::max(2u, std::thread::hardware_concurrency()) - 1;
  std::vector<std::unique_ptr<Worker>> workers;
  for (size_t i = 0; i < n; ++i) workers.push_back(std::make_unique<Worker>());
  return workers;
}

struct Server::Impl {
  Impl(ServerOptions opts, RequestHandler& h)
      : options(std::move(opts)), handler(h), workers(make_workers(options.io_threads)) {}

  ServerOptions options;
  RequestHandler& handler;
  std::vector<std::unique_ptr<Worker>> workers;
  asio::io_context& io = workers.front()->io;  // the acceptor's, the signals' and the shutdown steps'
  size_t next_worker = 0;                      // accept loop only
  tcp::acceptor acceptor{io};
  asio::signal_set signals{io};
  asio::strand<asio::io_context::executor_type> control{io.get_executor()};  // serialises shutdown steps
  asio::steady_timer grace_timer{control};
  std::mutex mu;
  std::unordered_set<std::shared_ptr<Connection>> connections;  // guarded by mu
  std::atomic<bool> stopping{false};
  uint16_t bound_port = 0;

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(std::shared_ptr<Connection> conn);
  asio::awaitable<void> serve_http2(Connection& conn, beast::flat_buffer& buffer);
  asio::awaitable<bool> write(Connection& conn, Response res, bool keep_alive);
  asio::awaitable<void> linger_close(Connection& conn);
  asio::awaitable<bool> run_handler(Connection& conn, Request& req, bool keep_alive);
  void begin_shutdown();
  void forget(const std::shared_ptr<Connection>& conn);
  void release_workers();
  void stop_workers();
};

asio::awaitable<void> Server::Impl::accept_loop() {
  while (!stopping) {
    asio::io_context& home = workers[next_worker]->io;
    next_worker = (next_worker + 1) % workers.size();
    auto [ec, socket] = co_await acceptor.async_accept(home, kNoThrow);
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted) co_return;
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer backoff(io, std::chrono::milliseconds(50));
      co_await backoff.async_wait(kNoThrow);
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto conn = std::make_shared<Connection>(std::move(socket));
    auto endpoint = conn->stream.socket().remote_endpoint(ignored);
    if (!ignored) conn->remote = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
    {
      std::lock_guard lock(mu);
      // Accepted as shutdown began: begin_shutdown() has already cancelled the connections it saw, and would
      // not stop this one, which could then hold shutdown up for the idle timeout. Closed unserved.
      if (stopping) co_return;
      connections.insert(conn);
    }
    asio::co_spawn(conn->stream.get_executor(), serve(conn), asio::detached);
  }
}

Task<void> handle_guarded(RequestHandler& handler, Request& req, ResponseWriter& writer) {
  std::string failure;
  try {
    co_await handler.handle(req, writer);
  } catch (const std::exception& e) {
    failure = e.what();
    spdlog::error("unhandled exception serving {} {}: {}", req.method, req.path, failure);
  }
  if (!writer.started()) {
    if (failure.empty()) spdlog::error("handler for {} {} returned without answering", req.method, req.path);
    Response res = handler.reject(req, Error(ErrorCode::InternalServer, "The server encountered an internal error.",
                                             failure));
    co_await writer.send(std::move(res));
  }
}

// Runs the handler; returns whether the connection may serve another request.
asio::awaitable<bool> Server::Impl::run_handler(Connection& conn, Request& req, bool keep_alive) {
  ConnectionWriter writer(conn, options, keep_alive);
  co_await handle_guarded(handler, req, writer);
  co_return writer.complete() && keep_alive;
}

asio::awaitable<bool> Server::Impl::write(Connection& conn, Response res, bool keep_alive) {
  auto msg = to_beast(std::move(res), keep_alive);
  conn.stream.expires_after(options.write_timeout);
  auto [ec, n] = co_await bhttp::async_write(conn.stream, msg, kNoThrow);
  co_return !ec;
}

asio::awaitable<void> Server::Impl::linger_close(Connection& conn) {
  boost::system::error_code ignored;
  conn.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  conn.stream.expires_after(kLingerTime);
  std::array<char, 16 * 1024> sink{};
  size_t drained = 0;
  while (drained < kLingerMaxBytes) {
    auto [ec, n] = co_await conn.stream.async_read_some(asio::buffer(sink), kNoThrow);
    if (ec) break;
    drained += n;
  }
}

asio::awaitable<void> Server::Impl::serve_http2(Connection& conn, beast::flat_buffer& buffer) {
  auto data = buffer.data();
  std::string received(static_cast<const char*>(data.data()), data.size());
  buffer.consume(buffer.size());
  conn.idle = false;
  Http2Session session(conn.stream, handler, options, conn.remote);
  conn.on_stop = [&session] { session.shutdown(); };
  if (stopping) session.shutdown();
  co_await session.run(std::move(received));
  conn.on_stop = nullptr;
}

asio::awaitable<void> Server::Impl::serve(std::shared_ptr<Connection> conn) {
  beast::flat_buffer buffer;
  bool linger = false;
  Sniffed protocol = co_await sniff(*conn, buffer, options.idle_timeout);
  if (protocol == Sniffed::Http2 && !stopping) co_await serve_http2(*conn, buffer);
  while (protocol == Sniffed::Http1 && !stopping) {
    conn->idle = true;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(options.max_header_bytes));
    parser.body_limit(boost::none);  // the real limit depends on the operation: set once headers are in
    conn->stream.expires_after(options.idle_timeout);
    auto [ec, n] = co_await bhttp::async_read_header(conn->stream, buffer, parser, kNoThrow);
    conn->idle = false;
    if (ec == bhttp::error::header_limit) {
      Request partial;
      partial.remote_address = conn->remote;
      co_await write(*conn, handler.reject(partial, Error(ErrorCode::RequestHeaderFieldsTooLarge,
          "The request headers exceed " + std::to_string(options.max_header_bytes) +
          " bytes; send fewer or shorter headers.")), false);
      linger = true;
      break;
    }
    if (ec) break;  // end of stream, timeout while idle, reset or garbage: nothing to answer

    Request req = to_request(parser, conn->remote);
    size_t limit = handler.body_limit(req);
    auto too_large = [&] {
      return handler.reject(req, Error(ErrorCode::RequestEntityTooLarge,
          "The request body exceeds the " + std::to_string(limit) + "-byte limit of this operation; send a smaller body."));
    };
    if (auto length = parser.content_length(); length && *length > limit) {
      co_await write(*conn, too_large(), false);
      linger = true;
      break;
    }
    parser.body_limit(limit);
    if (auto expect = req.header("Expect"); expect && header_name_equals(*expect, "100-continue")) {
      bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
      conn->stream.expires_after(options.write_timeout);
      auto [wec, wn] = co_await bhttp::async_write(conn->stream, cont, kNoThrow);
      if (wec) break;
    }
    if (!parser.is_done()) {
      conn->stream.expires_after(options.body_timeout);
      auto [bec, bn] = co_await bhttp::async_read(conn->stream, buffer, parser, kNoThrow);
      if (bec == bhttp::error::body_limit) {
        co_await write(*conn, too_large(), false);
        linger = true;
        break;
      }
      if (bec == beast::error::timeout) {
        co_await write(*conn, handler.reject(req, Error(ErrorCode::RequestTimeout,
            "The request body did not arrive within " +
            std::to_string(options.body_timeout.count() / 1000) + " seconds; send it faster.")), false);
        break;
      }
      if (bec) break;
    }
    req.body = std::move(parser.get().body());
    bool keep_alive = parser.get().keep_alive() && !stopping;
    if (!co_await run_handler(*conn, req, keep_alive)) break;
  }
  if (linger) co_await linger_close(*conn);
  boost::system::error_code ignored;
  conn->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  conn->stream.socket().close(ignored);
  forget(conn);
}

void Server::Impl::forget(const std::shared_ptr<Connection>& conn) {
  std::lock_guard lock(mu);
  connections.erase(conn);
  if (stopping && connections.empty()) {
    asio::post(control, [this] {
      grace_timer.cancel();
      release_workers();
    });
  }
}

// Lets each worker's run() return once its last connection is gone.
void Server::Impl::release_workers() {
  for (auto& worker : workers) worker->busy.reset();
}

void Server::Impl::stop_workers() {
  for (auto& worker : workers) worker->io.stop();
}

void Server::Impl::begin_shutdown() {
  if (stopping.exchange(true)) return;
  spdlog::info("shutting down: no new connections; finishing requests in flight");
  boost::system::error_code ignored;
  acceptor.close(ignored);
  signals.cancel(ignored);
  std::lock_guard lock(mu);
  for (const auto& conn : connections) {
    asio::post(conn->stream.get_executor(), [conn] {
      if (conn->on_stop) {
        conn->on_stop();
      } else if (conn->idle) {
        conn->stream.cancel();
      }
    });
  }
  if (connections.empty()) {
    asio::post(control, [this] { release_workers(); });
    return;
  }
  grace_timer.expires_after(options.shutdown_grace);
  grace_timer.async_wait([this](boost::system::error_code ec) {
    if (!ec) {
      spdlog::warn("shutdown grace period over; closing the remaining connections");
      stop_workers();
    }
  });
}

Server::Server(ServerOptions options, RequestHandler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {}

Server::~Server() = default;

void Server::listen() {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(impl_->options.address, ec);
  if (ec) throw StartupError("'" + impl_->options.address + "' is not an IP address: " + ec.message());
  tcp::endpoint endpoint(address, impl_->options.port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw StartupError("cannot listen on " + impl_->options.address + ":" + std::to_string(impl_->options.port) +
                       ": " + ec.message());
  }
  impl_->bound_port = acceptor.local_endpoint().port();
}

uint16_t Server::port() const { return impl_->bound_port; }

void Server::run(bool handle_signals) {
  auto& impl = *impl_;
  if (handle_signals) {
    impl.signals.add(SIGINT);
    impl.signals.add(SIGTERM);
    impl.signals.async_wait(asio::bind_executor(impl.control, [&impl](boost::system::error_code ec, int) {
      if (!ec) impl.begin_shutdown();
    }));
  }
  asio::co_spawn(impl.io, impl.accept_loop(), asio::detached);
  std::vector<std::thread> pool;
  for (size_t i = 1; i < impl.workers.size(); ++i) pool.emplace_back([&impl, i] { impl.workers[i]->io.run(); });
  impl.io.run();
  for (auto& t : pool) t.join();
}

void Server::stop() {
  asio::post(impl_->control, [this] { impl_->begin_shutdown(); });
}

}  // namespace tollgate::http
