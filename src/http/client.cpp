#include "http/client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <map>
#include <mutex>
#include <set>
#include <tuple>


namespace tollgate::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;
using Deadline = SteadyClock::time_point;
using namespace asio::experimental::awaitable_operators;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

constexpr uint32_t kMaxHeaderBytes = 64 * 1024;
constexpr size_t kPieceBytes = 16 * 1024;

std::string ms_text(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

// Awaits `operation` until `deadline`; past it the operation is cancelled and
// the result's error is asio::error::timed_out.
template <class... T>
Task<std::tuple<error_code, T...>> until(Deadline deadline, Task<std::tuple<error_code, T...>> operation) {
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  auto result = co_await (std::move(operation) || timer.async_wait(kNoThrow));
  if (result.index() == 0) co_return std::get<0>(std::move(result));
  std::tuple<error_code, T...> timed_out{};
  std::get<0>(timed_out) = asio::error::timed_out;
  co_return timed_out;
}

using Endpoints = std::vector<tcp::endpoint>;

// DNS lookup bounded by `deadline`. getaddrinfo cannot be cancelled, so on
// timeout the caller resumes at once and the lookup's late answer is dropped.
Task<std::tuple<error_code, Endpoints>> resolve(const std::string& host, uint16_t port, Deadline deadline) {
  struct Lookup {
    explicit Lookup(const asio::any_io_executor& ex) : strand(asio::make_strand(ex)), resolver(strand), timer(strand) {}
    asio::strand<asio::any_io_executor> strand;  // serialises the two completions below
    tcp::resolver resolver;
    asio::steady_timer timer;
    bool done = false;
  };
  auto ex = co_await asio::this_coro::executor;
  auto lookup = std::make_shared<Lookup>(ex);
  auto start = [lookup, ex, host, port, deadline](auto handler) {
    auto shared_handler = std::make_shared<decltype(handler)>(std::move(handler));
    auto finish = [lookup, ex, shared_handler](error_code ec, Endpoints endpoints) {
      if (lookup->done) return;
      lookup->done = true;
      lookup->timer.cancel();
      lookup->resolver.cancel();
      asio::post(ex, [shared_handler, ec, endpoints = std::move(endpoints)]() mutable {
        (*shared_handler)(ec, std::move(endpoints));
      });
    };
    lookup->timer.expires_at(deadline);
    lookup->timer.async_wait([finish](error_code ec) {
      if (!ec) finish(asio::error::timed_out, {});
    });
    lookup->resolver.async_resolve(host, std::to_string(port), [finish](error_code ec, tcp::resolver::results_type r) {
      Endpoints endpoints;
      for (const auto& entry : r) endpoints.push_back(entry.endpoint());
      finish(ec, std::move(endpoints));
    });
  };
  co_return co_await asio::async_initiate<decltype(kNoThrow), void(error_code, Endpoints)>(std::move(start), kNoThrow);
}

// Where a URL points.
struct Target {
  bool tls = false;
  std::string host;  // name or address, IPv6 without brackets
  uint16_t port = 0;
  std::string path;  // origin-form request target (path and query)
  std::string host_header;
  std::string origin;  // "https://host:port", to name the upstream in messages
};

Result<Target> parse_target(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return Error(ErrorCode::InternalServer,
                 "The upstream URL '" + std::string(url) + "' cannot be used: " + std::string(why) + ".");
  };
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return bad("it is not a valid URL");
  const auto& u = *parsed;
  Target t;
  std::string scheme(u.scheme());
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "http" && scheme != "https") return bad("the scheme must be http or https");
  t.tls = scheme == "https";
  t.host = u.host_address();
  if (t.host.empty()) return bad("it has no host");
  uint16_t default_port = t.tls ? 443 : 80;
  t.port = u.has_port() ? u.port_number() : default_port;
  if (t.port == 0) return bad("its port is not a number from 1 to 65535");
  t.path = std::string(u.encoded_target());
  if (t.path.empty() || t.path[0] != '/') t.path.insert(0, "/");
  std::string bracketed = u.host_type() == boost::urls::host_type::ipv6 ? "[" + t.host + "]" : t.host;
  t.host_header = t.port == default_port ? bracketed : bracketed + ":" + std::to_string(t.port);
  t.origin = scheme + "://" + bracketed + ":" + std::to_string(t.port);
  return t;
}

bool is_ip_address(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// One upstream connection, plain or TLS, with the bytes read past the last response.
// Its tcp_stream's one timer bounds every read and write of an exchange.
struct Connection {
  explicit Connection(tcp::socket socket) : plain(std::in_place, std::move(socket)) {}
  Connection(tcp::socket socket, ssl::context& context) : tls(std::in_place, std::move(socket), context) {}

  beast::tcp_stream& timed() { return tls ? tls->next_layer() : *plain; }
  tcp::socket& socket() { return timed().socket(); }

  std::optional<beast::tcp_stream> plain;
  std::optional<ssl::stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  Deadline idle_since{};
  bool reused = false;
};

// Whether an idle connection still looks usable: the server has not closed it, and sent nothing unasked
// (a 408 before closing, say, which would be read as the next request's answer).
bool still_open(Connection& conn) {
  char byte = 0;
  ssize_t n = ::recv(conn.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return false;
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
  // Unsolicited bytes: garbage on a plain connection; on TLS usually a session ticket.
  return conn.tls.has_value();
}

struct PoolKey {
  bool tls = false;
  std::string host;
  uint16_t port = 0;
  const asio::execution_context* context = nullptr;  // sockets belong to one execution context
  auto operator<=>(const PoolKey&) const = default;
};

// The idle keep-alive connections of one client. Thread-safe.
class Pool {
 public:
  Pool(size_t max_per_host, std::chrono::milliseconds max_idle) : max_per_host_(max_per_host), max_idle_(max_idle) {}

  // The most recently used idle connection for `key` that still looks open.
  std::unique_ptr<Connection> take(const PoolKey& key);
  // Keeps `conn` for reuse. Returns true the first time a connection of
  // `key.context` is kept (the caller then asks that context to call forget()).
  bool put(const PoolKey& key, std::unique_ptr<Connection> conn);
  // Closes the connections of an execution context that is shutting down.
  void forget(const asio::execution_context* context);
  size_t size() const;

 private:
  using List = std::vector<std::unique_ptr<Connection>>;  // oldest first
  size_t max_per_host_;
  std::chrono::milliseconds max_idle_;
  mutable std::mutex mu_;
  std::map<PoolKey, List> idle_;                      // guarded by mu_
  std::set<const asio::execution_context*> watched_;  // guarded by mu_
};

std::unique_ptr<Connection> Pool::take(const PoolKey& key) {
  List stale;  // closed after the lock is released
  std::unique_ptr<Connection> found;
  std::lock_guard lock(mu_);
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  auto now = SteadyClock::now();
  while (!it->second.empty() && !found) {
    auto conn = std::move(it->second.back());
    it->second.pop_back();
    if (now - conn->idle_since < max_idle_ && still_open(*conn)) {
      found = std::move(conn);
    } else {
      stale.push_back(std::move(conn));
    }
  }
  if (it->second.empty()) idle_.erase(it);
  if (found) found->reused = true;
  return found;
}

bool Pool::put(const PoolKey& key, std::unique_ptr<Connection> conn) {
  if (max_per_host_ == 0) return false;
  conn->idle_since = SteadyClock::now();
  List evicted;  // closed after the lock is released
  std::lock_guard lock(mu_);
  auto& list = idle_[key];
  while (!list.empty() && (list.size() >= max_per_host_ || conn->idle_since - list.front()->idle_since >= max_idle_)) {
    evicted.push_back(std::move(list.front()));
    list.erase(list.begin());
  }
  list.push_back(std::move(conn));
  return watched_.insert(key.context).second;
}

void Pool::forget(const asio::execution_context* context) {
  std::vector<List> closing;  // closed after the lock is released
  std::lock_guard lock(mu_);
  for (auto it = idle_.begin(); it != idle_.end();) {
    if (it->first.context == context) {
      closing.push_back(std::move(it->second));
      it = idle_.erase(it);
    } else {
      ++it;
    }
  }
  watched_.erase(context);
}

size_t Pool::size() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [key, list] : idle_) n += list.size();
  return n;
}

// A service of each execution context that pooled connections: when the context
// shuts down (before its socket services are destroyed) the pools close that
// context's idle sockets, so a client may outlive the io_context it served.
class PoolReaper final : public asio::execution_context::service {
 public:
  static asio::execution_context::id id;
  explicit PoolReaper(asio::execution_context& context) : service(context) {}

  void watch(std::weak_ptr<Pool> pool) {
    std::lock_guard lock(mu_);
    pools_.push_back(std::move(pool));
  }

 private:
  void shutdown() override {
    std::vector<std::weak_ptr<Pool>> pools;
    {
      std::lock_guard lock(mu_);
      pools.swap(pools_);
    }
    for (const auto& weak : pools) {
      if (auto pool = weak.lock()) pool->forget(&context());
    }
  }

  std::mutex mu_;
  std::vector<std::weak_ptr<Pool>> pools_;  // guarded by mu_
};

asio::execution_context::id PoolReaper::id;

bhttp::request<bhttp::string_body> to_beast(ClientRequest& req, const Target& target) {
  bhttp::request<bhttp::string_body> msg;
  auto verb = bhttp::string_to_verb(req.method);
  if (verb == bhttp::verb::unknown) {
    msg.method_string(req.method);
  } else {
    msg.method(verb);
  }
  msg.target(target.path);
  msg.version(11);
  msg.set(bhttp::field::host, target.host_header);
  bool has_user_agent = false;
  for (const auto& h : req.headers) {
    if (header_name_equals(h.name, "Host") || header_name_equals(h.name, "Content-Length") ||
        header_name_equals(h.name, "Transfer-Encoding") || header_name_equals(h.name, "Connection")) {
      continue;
    }
    has_user_agent = has_user_agent || header_name_equals(h.name, "User-Agent");
    msg.insert(h.name, h.value);
  }
  if (!has_user_agent) msg.set(bhttp::field::user_agent, "tollgate");
  msg.body() = std::move(req.body);
  msg.prepare_payload();
  return msg;
}

enum class Phase { Send, Headers, Body };

// How one request/response exchange on one connection went.
struct Exchange {
  error_code ec;
  Phase phase = Phase::Send;
  bool response_started = false;  // at least one byte of the response arrived
  int status = 0;
  bool reusable = false;  // complete, keep-alive, nothing left over
};

struct Callbacks {
  HttpClient::HeadersCallback& on_headers;
  HttpClient::BodyCallback& on_body;
};

// beast's timeout error as the one `until` reports.
error_code timeout_as_timed_out(error_code ec) { return ec == beast::error::timeout ? asio::error::timed_out : ec; }

template <class Stream>
Task<Exchange> exchange(Stream& stream, Connection& conn, bhttp::request<bhttp::string_body>& message,
                        Deadline deadline, std::chrono::milliseconds idle_timeout, Callbacks callbacks) {
  Exchange out;
  conn.timed().expires_at(deadline);
  auto [wec, wn] = co_await bhttp::async_write(stream, message, kNoThrow);
  if (wec) {
    out.ec = timeout_as_timed_out(wec);
    co_return out;
  }
  out.phase = Phase::Headers;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.header_limit(kMaxHeaderBytes);
  parser.body_limit(boost::none);
  if (message.method() == bhttp::verb::head) parser.skip(true);
  auto [hec, hn] = co_await bhttp::async_read_header(stream, conn.buffer, parser, kNoThrow);
  out.response_started = parser.got_some() || conn.buffer.size() > 0;
  if (hec) {
    out.ec = timeout_as_timed_out(hec);
    co_return out;
  }
  out.status = static_cast<int>(parser.get().result_int());
  std::vector<Header> headers;
  for (const auto& field : parser.get()) {
    headers.push_back({std::string(field.name_string()), std::string(field.value())});
  }
  if (!co_await callbacks.on_headers(out.status, headers)) co_return out;
  out.phase = Phase::Body;
  std::array<char, kPieceBytes> piece;
  while (!parser.is_done()) {
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    conn.timed().expires_at(std::min(deadline, SteadyClock::now() + idle_timeout));
    auto [ec, n] = co_await bhttp::async_read_some(stream, conn.buffer, parser, kNoThrow);
    if (ec == bhttp::error::need_buffer) ec = {};
    size_t got = piece.size() - parser.get().body().size;
    if (got > 0 && !co_await callbacks.on_body(std::string_view(piece.data(), got))) co_return out;
    if (ec) {
      out.ec = timeout_as_timed_out(ec);
      co_return out;
    }
  }
  conn.timed().expires_never();
  out.reusable = parser.get().keep_alive() && conn.buffer.size() == 0;
  co_return out;
}

bool closed_by_peer(const error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe || ec == ssl::error::stream_truncated;
}

std::string_view phase_text(Phase phase) {
  switch (phase) {
    case Phase::Send:
      return "sending the request";
    case Phase::Headers:
      return "waiting for the response";
    case Phase::Body:
      return "reading the response body";
  }
  return "";
}

}  // namespace

std::optional<std::string_view> ClientResponse::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (header_name_equals(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

struct HttpClient::Impl {
  explicit Impl(ClientOptions opts);

  Task<Result<int>> perform(ClientRequest request, Callbacks callbacks);
  Task<Result<std::unique_ptr<Connection>>> connect(const Target& target, Deadline deadline);
  Error transport_error(const Target& target, const Exchange& x, Deadline deadline,
                        std::chrono::milliseconds timeout) const;
  void keep(asio::execution_context& context, const PoolKey& key, std::unique_ptr<Connection> conn);

  ClientOptions options;
  ssl::context tls_context{ssl::context::tls_client};
  std::shared_ptr<Pool> pool;
};

HttpClient::Impl::Impl(ClientOptions opts)
    : options(std::move(opts)), pool(std::make_shared<Pool>(options.max_idle_per_host, options.idle_timeout)) {
  tls_context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                          ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (!options.verify_tls) {
    tls_context.set_verify_mode(ssl::verify_none);
    return;
  }
  tls_context.set_verify_mode(ssl::verify_peer);
  error_code ec;
  if (options.ca_file.empty()) {
    tls_context.set_default_verify_paths(ec);
    if (ec) throw StartupError("cannot load the system's CA certificates: " + ec.message());
  } else {
    tls_context.load_verify_file(options.ca_file, ec);
    if (ec) throw StartupError("cannot load CA certificates from '" + options.ca_file + "': " + ec.message());
  }
}

void HttpClient::Impl::keep(asio::execution_context& context, const PoolKey& key, std::unique_ptr<Connection> conn) {
  if (pool->put(key, std::move(conn))) asio::use_service<PoolReaper>(context).watch(pool);
}

Task<Result<std::unique_ptr<Connection>>> HttpClient::Impl::connect(const Target& target, Deadline deadline) {
  auto unavailable = [&](const std::string& what, const error_code& ec) {
    return Error(ErrorCode::ServiceUnavailable, "upstream " + target.origin + ": " + what, ec.message());
  };
  auto ex = co_await asio::this_coro::executor;
  Endpoints endpoints;
  error_code ec;
  auto address = asio::ip::make_address(target.host, ec);
  if (!ec) {
    endpoints.emplace_back(address, target.port);
  } else {
    std::tie(ec, endpoints) = co_await resolve(target.host, target.port, deadline);
    if (ec == asio::error::timed_out) {
      co_return unavailable("resolving " + target.host + " timed out after " + ms_text(options.connect_timeout), ec);
    }
    if (ec || endpoints.empty()) co_return unavailable("cannot resolve " + target.host + ": " + ec.message(), ec);
  }
  tcp::socket socket(ex);
  auto [cec, endpoint] = co_await until(deadline, asio::async_connect(socket, endpoints, kNoThrow));
  if (cec == asio::error::timed_out) {
    co_return unavailable("connect timed out after " + ms_text(options.connect_timeout), cec);
  }
  if (cec) co_return unavailable("connect failed: " + cec.message(), cec);
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (!target.tls) co_return std::make_unique<Connection>(std::move(socket));

  auto conn = std::make_unique<Connection>(std::move(socket), tls_context);
  SSL* session = conn->tls->native_handle();
  bool by_address = is_ip_address(target.host);
  if (!by_address) SSL_set_tlsext_host_name(session, target.host.c_str());
  if (options.verify_tls) {
    X509_VERIFY_PARAM* param = SSL_get0_param(session);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int set = by_address ? X509_VERIFY_PARAM_set1_ip_asc(param, target.host.c_str())
                         : X509_VERIFY_PARAM_set1_host(param, target.host.c_str(), target.host.size());
    if (set != 1) co_return unavailable("cannot verify the host name " + target.host, {});
  }
  auto [hec] = co_await until(deadline, conn->tls->async_handshake(ssl::stream_base::client, kNoThrow));
  if (hec == asio::error::timed_out) {
    co_return unavailable("TLS handshake timed out after " + ms_text(options.connect_timeout), hec);
  }
  if (hec) {
    long verify = SSL_get_verify_result(session);
    std::string why = verify != X509_V_OK
                          ? std::string("certificate verification failed: ") + X509_verify_cert_error_string(verify)
                          : hec.message();
    co_return unavailable("TLS handshake failed: " + why, hec);
  }
  co_return conn;
}

Error HttpClient::Impl::transport_error(const Target& target, const Exchange& x, Deadline deadline,
                                        std::chrono::milliseconds timeout) const {
  std::string where = "upstream " + target.origin + ": ";
  if (x.ec == asio::error::timed_out) {
    std::string why = SteadyClock::now() >= deadline ? "no complete response within " + ms_text(timeout)
                                                     : "no data for " + ms_text(options.idle_timeout);
    return Error(ErrorCode::RequestTimeout, where + why + " while " + std::string(phase_text(x.phase)), x.ec.message());
  }
  std::string why = closed_by_peer(x.ec) ? "the connection was closed" : x.ec.message();
  return Error(ErrorCode::ServiceUnavailable, where + why + " while " + std::string(phase_text(x.phase)),
               x.ec.message());
}

Task<Result<int>> HttpClient::Impl::perform(ClientRequest request, Callbacks callbacks) {
  auto target = parse_target(request.url);
  if (!target) co_return target.error();
  auto ex = co_await asio::this_coro::executor;
  asio::execution_context& context = asio::query(ex, asio::execution::context);
  PoolKey key{target->tls, target->host, target->port, &context};
  auto timeout = request.timeout.count() > 0 ? request.timeout : options.request_timeout;
  Deadline deadline = SteadyClock::now() + timeout;
  auto message = to_beast(request, *target);
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Connection> conn = attempt == 0 ? pool->take(key) : nullptr;
    if (!conn) {
      auto fresh = co_await connect(*target, std::min(deadline, SteadyClock::now() + options.connect_timeout));
      if (!fresh) co_return std::move(fresh).error();
      conn = std::move(*fresh);
    }
    Exchange x;
    if (conn->tls) {
      x = co_await exchange(*conn->tls, *conn, message, deadline, options.idle_timeout, callbacks);
    } else {
      x = co_await exchange(*conn->plain, *conn, message, deadline, options.idle_timeout, callbacks);
    }
    // A kept-alive connection the server had closed, found while sending: once more, on a fresh one. Not once
    // the request is sent: the server may have read and run it (a model call, billed) before dropping the
    // connection, and the caller must decide whether to repeat that.
    if (x.ec && conn->reused && x.phase == Phase::Send && x.ec != asio::error::timed_out && attempt == 0) continue;
    if (x.ec) co_return transport_error(*target, x, deadline, timeout);
    if (x.reusable) keep(context, key, std::move(conn));
    co_return x.status;
  }
}

HttpClient::HttpClient(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpClient::~HttpClient() = default;

Task<Result<ClientResponse>> HttpClient::request(ClientRequest request) {
  ClientResponse response;
  size_t limit = impl_->options.max_response_bytes;
  bool too_large = false;
  HeadersCallback on_headers = [&response](int status, const std::vector<Header>& headers) -> Task<bool> {
    response.status = status;
    response.headers = headers;
    co_return true;
  };
  BodyCallback on_body = [&response, &too_large, limit](std::string_view piece) -> Task<bool> {
    if (response.body.size() + piece.size() > limit) {
      too_large = true;
      co_return false;
    }
    response.body.append(piece);
    co_return true;
  };
  std::string url = request.url;
  auto status = co_await impl_->perform(std::move(request), Callbacks{on_headers, on_body});
  if (!status) co_return std::move(status).error();
  if (too_large) {
    auto target = parse_target(url);
    co_return Error(ErrorCode::ServiceUnavailable,
                    "upstream " + target->origin + ": the response body exceeds " + std::to_string(limit) + " bytes");
  }
  co_return response;
}

Task<Result<int>> HttpClient::stream(ClientRequest request, HeadersCallback on_headers, BodyCallback on_body) {
  co_return co_await impl_->perform(std::move(request), Callbacks{on_headers, on_body});
}

size_t HttpClient::idle_connections() const { return impl_->pool->size(); }

}  // namespace tollgate::http
