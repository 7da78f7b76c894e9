// The upstream client against small scripted Beast servers on 127.0.0.1:0.
// The servers run on their own thread; the client runs on a private io_context.
#include "http/client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

namespace tollgate::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// ---------------------------------------------------------------------------
// Scripted test server.

using ServerRequest = bhttp::request<bhttp::string_body>;

// What the server does with one request: `index` counts the requests of the
// connection from 0. Returns whether to keep the connection open.
template <class Stream>
using Script = std::function<asio::awaitable<bool>(Stream& stream, const ServerRequest& req, int index)>;

asio::awaitable<void> pause(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(kNoThrow);
}

template <class Stream>
asio::awaitable<bool> respond(Stream& stream, int status, std::string body, bool keep_alive = true) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
  res.set(bhttp::field::content_type, "text/plain");
  res.body() = std::move(body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  auto [ec, n] = co_await bhttp::async_write(stream, res, kNoThrow);
  co_return !ec && keep_alive;
}

// A chunked response, one chunk per piece, `gap` apart; stops at the first write failure.
template <class Stream>
asio::awaitable<bool> respond_chunked(Stream& stream, std::vector<std::string> pieces, std::chrono::milliseconds gap,
                                      bool finish = true) {
  bhttp::response<bhttp::empty_body> head{bhttp::status::ok, 11};
  head.set(bhttp::field::content_type, "text/event-stream");
  head.chunked(true);
  bhttp::response_serializer<bhttp::empty_body> serializer{head};
  auto [hec, hn] = co_await bhttp::async_write_header(stream, serializer, kNoThrow);
  if (hec) co_return false;
  for (const auto& piece : pieces) {
    co_await pause(gap);
    auto [ec, n] = co_await asio::async_write(stream, bhttp::make_chunk(asio::buffer(piece)), kNoThrow);
    if (ec) co_return false;
  }
  if (!finish) co_return false;
  auto [ec, n] = co_await asio::async_write(stream, bhttp::make_chunk_last(), kNoThrow);
  co_return !ec;
}

class TestServer {
 public:
  // Plain HTTP.
  explicit TestServer(Script<beast::tcp_stream> script) : plain_script_(std::move(script)) { start(); }
  // HTTPS with the given certificate and key (PEM files).
  TestServer(Script<ssl::stream<beast::tcp_stream>> script, const std::string& cert, const std::string& key)
      : tls_script_(std::move(script)), tls_(std::in_place, ssl::context::tls_server) {
    tls_->use_certificate_chain_file(cert);
    tls_->use_private_key_file(key, ssl::context::pem);
    start();
  }
  ~TestServer() {
    io_.stop();
    thread_.join();
  }

  uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

  std::atomic<int> connections{0};
  std::atomic<int> requests{0};
  std::mutex mu;
  std::vector<ServerRequest> received;  // guarded by mu

 private:
  void start() {
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  asio::awaitable<void> accept_loop() {
    while (true) {
      auto [ec, socket] = co_await acceptor_.async_accept(kNoThrow);
      if (ec) co_return;
      ++connections;
      if (tls_) {
        asio::co_spawn(io_, serve_tls(std::move(socket)), asio::detached);
      } else {
        asio::co_spawn(io_, serve(beast::tcp_stream(std::move(socket)), plain_script_), asio::detached);
      }
    }
  }

  asio::awaitable<void> serve_tls(tcp::socket socket) {
    ssl::stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls_);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kNoThrow);
    if (ec) co_return;
    co_await serve(std::move(stream), tls_script_);
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream stream, Script<Stream>& script) {
    beast::flat_buffer buffer;
    for (int index = 0;; ++index) {
      ServerRequest req;
      auto [ec, n] = co_await bhttp::async_read(stream, buffer, req, kNoThrow);
      if (ec) co_return;
      ++requests;
      {
        std::lock_guard lock(mu);
        received.push_back(req);
      }
      if (!co_await script(stream, req, index)) co_return;
    }
  }

  Script<beast::tcp_stream> plain_script_;
  Script<ssl::stream<beast::tcp_stream>> tls_script_;
  std::optional<ssl::context> tls_;
  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  uint16_t port_ = 0;
  std::thread thread_;
};

// ---------------------------------------------------------------------------
// Client side.

class ClientTest : public ::testing::Test {
 protected:
  // Runs one coroutine on the private io_context to completion.
  template <class T>
  T run(asio::awaitable<T> task) {
    std::optional<T> result;
    asio::co_spawn(
        io_, [&]() -> asio::awaitable<void> { result.emplace(co_await std::move(task)); }, asio::detached);
    io_.restart();
    io_.run();
    return std::move(*result);
  }

  Result<ClientResponse> get(HttpClient& client, const std::string& url, std::string body = {}) {
    ClientRequest req{"POST", url, {{"X-Test", "yes"}}, std::move(body)};
    return run(client.request(std::move(req)));
  }

  struct Streamed {
    Result<int> status = Error(ErrorCode::InternalServer, "not run");
    int header_status = 0;
    std::vector<Header> headers;
    std::vector<std::string> pieces;
  };
  // Streams `url`, keeping the first `keep` pieces and stopping after them.
  Streamed stream(HttpClient& client, const std::string& url, size_t keep = SIZE_MAX) {
    Streamed out;
    HttpClient::HeadersCallback on_headers = [&out](int status, const std::vector<Header>& headers) -> Task<bool> {
      out.header_status = status;
      out.headers = headers;
      co_return true;
    };
    HttpClient::BodyCallback on_body = [&out, keep](std::string_view piece) -> Task<bool> {
      out.pieces.emplace_back(piece);
      co_return out.pieces.size() < keep;
    };
    out.status = run(client.stream({"GET", url, {}, {}}, on_headers, on_body));
    return out;
  }

  asio::io_context io_;  // declared first: destroyed after the clients and their pooled connections
};

Script<beast::tcp_stream> echo_script() {
  return [](beast::tcp_stream& stream, const ServerRequest& req, int index) -> asio::awaitable<bool> {
    std::string body = std::string(req.method_string()) + " " + std::string(req.target()) + " #" +
                       std::to_string(index) + " " + req.body();
    co_return co_await respond(stream, 200, std::move(body));
  };
}

TEST_F(ClientTest, SendsTheRequestAndReadsAContentLengthResponse) {
  TestServer server(echo_script());
  HttpClient client;
  auto res = get(client, server.url("/v1/chat?x=1"), "hello");
  ASSERT_TRUE(res.ok()) << res.error().message();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "POST /v1/chat?x=1 #0 hello");
  EXPECT_EQ(res->header("content-type").value(), "text/plain");
  std::lock_guard lock(server.mu);
  ASSERT_EQ(server.received.size(), 1u);
  const auto& req = server.received[0];
  EXPECT_EQ(req[bhttp::field::host], "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(req["X-Test"], "yes");
  EXPECT_EQ(req[bhttp::field::content_length], "5");
}

TEST_F(ClientTest, ReusesAKeptAliveConnection) {
  TestServer server(echo_script());
  HttpClient client;
  for (int i = 0; i < 3; ++i) {
    auto res = get(client, server.url("/n"));
    ASSERT_TRUE(res.ok()) << res.error().message();
    EXPECT_EQ(res->body, "POST /n #" + std::to_string(i) + " ");
  }
  EXPECT_EQ(server.connections.load(), 1);
  EXPECT_EQ(client.idle_connections(), 1u);
}

TEST_F(ClientTest, AnErrorStatusIsAResponseNotAFailure) {
  TestServer server([](beast::tcp_stream& stream, const ServerRequest&, int) -> asio::awaitable<bool> {
    co_return co_await respond(stream, 503, "busy");
  });
  HttpClient client;
  auto res = get(client, server.url());
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->body, "busy");
}

TEST_F(ClientTest, StreamsChunksInOrderAsTheyArrive) {
  TestServer server([](beast::tcp_stream& stream, const ServerRequest&, int) -> asio::awaitable<bool> {
    std::vector<std::string> pieces{"one,", "two,", "three"};
    co_return co_await respond_chunked(stream, std::move(pieces), 50ms);
  });
  HttpClient client;
  auto out = stream(client, server.url("/sse"));
  ASSERT_TRUE(out.status.ok()) << out.status.error().message();
  EXPECT_EQ(*out.status, 200);
  EXPECT_EQ(out.header_status, 200);
  EXPECT_EQ(out.pieces, (std::vector<std::string>{"one,", "two,", "three"}));
  // The streamed response ended cleanly: its connection serves the next request.
  auto again = stream(client, server.url("/sse"));
  ASSERT_TRUE(again.status.ok());
  EXPECT_EQ(server.connections.load(), 1);
}

TEST_F(ClientTest, StoppingEarlyClosesTheConnection) {
  TestServer server([](beast::tcp_stream& stream, const ServerRequest&, int) -> asio::awaitable<bool> {
    std::vector<std::string> pieces(20, "piece");
    co_return co_await respond_chunked(stream, std::move(pieces), 20ms);
  });
  HttpClient client;
  auto started = std::chrono::steady_clock::now();
  auto out = stream(client, server.url(), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 300ms);
  ASSERT_TRUE(out.status.ok());
  EXPECT_EQ(out.pieces.size(), 1u);
  EXPECT_EQ(client.idle_connections(), 0u);
  auto next = stream(client, server.url(), 1);
  ASSERT_TRUE(next.status.ok());
  EXPECT_EQ(server.connections.load(), 2);
}

TEST_F(ClientTest, ARefusedConnectionIsServiceUnavailable) {
  uint16_t port;
  {
    asio::io_context io;
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  HttpClient client;
  auto res = get(client, "http://127.0.0.1:" + std::to_string(port) + "/");
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code(), ErrorCode::ServiceUnavailable);
  EXPECT_NE(res.error().message().find("http://127.0.0.1:" + std::to_string(port)), std::string::npos);
  EXPECT_NE(res.error().message().find("connect failed"), std::string::npos) << res.error().message();
}

TEST_F(ClientTest, AServerThatNeverAnswersTimesOut) {
  TestServer server([](beast::tcp_stream&, const ServerRequest&, int) -> asio::awaitable<bool> {
    co_await pause(10s);
    co_return false;
  });
  ClientOptions options;
  options.request_timeout = 300ms;
  HttpClient client(options);
  auto started = std::chrono::steady_clock::now();
  auto res = get(client, server.url());
  auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code(), ErrorCode::RequestTimeout);
  EXPECT_NE(res.error().message().find("no complete response within 300 ms"), std::string::npos)
      << res.error().message();
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 2s);
}

TEST_F(ClientTest, ASilentStreamTimesOutAfterTheIdleTimeout) {
  TestServer server([](beast::tcp_stream& stream, const ServerRequest&, int) -> asio::awaitable<bool> {
    std::vector<std::string> pieces{"first"};
    co_await respond_chunked(stream, std::move(pieces), 0ms, false);
    co_await pause(10s);
    co_return false;
  });
  ClientOptions options;
  options.idle_timeout = 200ms;
  HttpClient client(options);
  auto started = std::chrono::steady_clock::now();
  auto out = stream(client, server.url());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  ASSERT_FALSE(out.status.ok());
  EXPECT_EQ(out.status.error().code(), ErrorCode::RequestTimeout);
  EXPECT_NE(out.status.error().message().find("no data for 200 ms"), std::string::npos);
  EXPECT_EQ(out.pieces, (std::vector<std::string>{"first"}));
}

TEST_F(ClientTest, AKeptAliveConnectionTheServerClosedIsReplacedBeforeSending) {
  // Each connection answers one request (without saying so) and is then closed, as by a
  // server whose keep-alive timer fired while the connection sat in the pool.
  TestServer server([](beast::tcp_stream& stream, const ServerRequest& req, int) -> asio::awaitable<bool> {
    co_await respond(stream, 200, "got " + req.body());
    co_return false;
  });
  HttpClient client;
  ASSERT_TRUE(get(client, server.url(), "a").ok());
  std::this_thread::sleep_for(100ms);  // the server's FIN reaches the pooled connection
  auto res = get(client, server.url(), "b");
  ASSERT_TRUE(res.ok()) << res.error().message();
  EXPECT_EQ(res->body, "got b");
  EXPECT_EQ(server.connections.load(), 2);
  EXPECT_EQ(server.requests.load(), 2);
}

TEST_F(ClientTest, ARequestTheServerReadAndDroppedIsNotSentAgain) {
  // The second request on a connection is read and dropped unanswered: the server may
  // have run it, so the client must not repeat it.
  TestServer server([](beast::tcp_stream& stream, const ServerRequest& req, int index) -> asio::awaitable<bool> {
    if (index > 0) co_return false;
    co_return co_await respond(stream, 200, "got " + req.body());
  });
  HttpClient client;
  ASSERT_TRUE(get(client, server.url(), "a").ok());
  auto res = get(client, server.url(), "b");
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code(), ErrorCode::ServiceUnavailable);
  EXPECT_EQ(server.requests.load(), 2);
  EXPECT_EQ(server.connections.load(), 1);
}

TEST_F(ClientTest, AFreshConnectionClosedWithoutAnAnswerIsNotRetried) {
  TestServer server([](beast::tcp_stream&, const ServerRequest&, int) -> asio::awaitable<bool> { co_return false; });
  HttpClient client;
  auto res = get(client, server.url());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code(), ErrorCode::ServiceUnavailable);
  EXPECT_NE(res.error().message().find("the connection was closed while waiting for the response"), std::string::npos)
      << res.error().message();
  EXPECT_EQ(server.requests.load(), 1);
}

TEST_F(ClientTest, AStreamCutMidBodyIsAnError) {
  TestServer server([](beast::tcp_stream& stream, const ServerRequest&, int) -> asio::awaitable<bool> {
    std::vector<std::string> pieces{"half"};
    co_await respond_chunked(stream, std::move(pieces), 0ms, false);
    co_return false;  // closes without the last chunk
  });
  HttpClient client;
  auto out = stream(client, server.url());
  ASSERT_FALSE(out.status.ok());
  EXPECT_EQ(out.status.error().code(), ErrorCode::ServiceUnavailable);
  EXPECT_NE(out.status.error().message().find("reading the response body"), std::string::npos);
  EXPECT_EQ(out.pieces, (std::vector<std::string>{"half"}));
}

TEST_F(ClientTest, AnOversizedBodyIsRefused) {
  TestServer server([](beast::tcp_stream& stream, const ServerRequest&, int) -> asio::awaitable<bool> {
    co_return co_await respond(stream, 200, std::string(100'000, 'x'));
  });
  ClientOptions options;
  options.max_response_bytes = 1000;
  HttpClient client(options);
  auto res = get(client, server.url());
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.error().message().find("exceeds 1000 bytes"), std::string::npos);
}

TEST_F(ClientTest, ABadUrlIsRefused) {
  HttpClient client;
  auto res = get(client, "ftp://example.com/");
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code(), ErrorCode::InternalServer);
  EXPECT_NE(res.error().message().find("http or https"), std::string::npos);
}

TEST(ClientLifetime, AClientMayOutliveTheIoContextItServed) {
  TestServer server(echo_script());
  HttpClient client;
  {
    asio::io_context io;
    std::optional<Result<ClientResponse>> res;
    ClientRequest req{"GET", server.url(), {}, {}};
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { res.emplace(co_await client.request(std::move(req))); }, asio::detached);
    io.run();
    ASSERT_TRUE(res && res->ok());
    EXPECT_EQ(client.idle_connections(), 1u);
  }
  EXPECT_EQ(client.idle_connections(), 0u);  // closed as the io_context shut down
}

// ---------------------------------------------------------------------------
// TLS, with a throwaway self-signed certificate for 127.0.0.1 and localhost.

struct SelfSigned {
  std::string cert_file;
  std::string key_file;
};

SelfSigned make_self_signed(const std::filesystem::path& dir, const char* names = "IP:127.0.0.1, DNS:localhost") {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("tollgate test"), -1, -1,
                             0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (auto [nid, value] :
       {std::pair{NID_subject_alt_name, names}, std::pair{NID_basic_constraints, "critical, CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert, key, EVP_sha256());
  std::filesystem::create_directories(dir);
  SelfSigned out{(dir / "cert.pem").string(), (dir / "key.pem").string()};
  FILE* f = std::fopen(out.cert_file.c_str(), "w");
  PEM_write_X509(f, cert);
  std::fclose(f);
  f = std::fopen(out.key_file.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

class TlsClientTest : public ClientTest {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("tollgate_tls_" + std::to_string(::getpid()));
    cert_ = make_self_signed(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static Script<ssl::stream<beast::tcp_stream>> tls_echo() {
    return [](ssl::stream<beast::tcp_stream>& stream, const ServerRequest& req, int) -> asio::awaitable<bool> {
      co_return co_await respond(stream, 200, "secure " + req.body());
    };
  }

  std::filesystem::path dir_;
  SelfSigned cert_;
};

TEST_F(TlsClientTest, AnUntrustedCertificateFailsVerification) {
  TestServer server(tls_echo(), cert_.cert_file, cert_.key_file);
  HttpClient client;
  auto res = get(client, "https://127.0.0.1:" + std::to_string(server.port()) + "/");
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code(), ErrorCode::ServiceUnavailable);
  EXPECT_NE(res.error().message().find("certificate verification failed"), std::string::npos) << res.error().message();
}

TEST_F(TlsClientTest, TheConfiguredCaIsTrustedAndConnectionsAreReused) {
  TestServer server(tls_echo(), cert_.cert_file, cert_.key_file);
  ClientOptions options;
  options.ca_file = cert_.cert_file;
  HttpClient client(options);
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    auto res = get(client, "https://" + host + ":" + std::to_string(server.port()) + "/", "hi");
    ASSERT_TRUE(res.ok()) << res.error().message();
    EXPECT_EQ(res->body, "secure hi");
  }
  auto again = get(client, "https://localhost:" + std::to_string(server.port()) + "/", "again");
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(server.connections.load(), 2);  // one per host name
}

TEST_F(TlsClientTest, ACertificateForAnotherNameFailsVerification) {
  auto other = make_self_signed(dir_ / "other", "DNS:other.example");
  TestServer server(tls_echo(), other.cert_file, other.key_file);
  ClientOptions options;
  options.ca_file = other.cert_file;
  HttpClient client(options);
  auto res = get(client, "https://127.0.0.1:" + std::to_string(server.port()) + "/");
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code(), ErrorCode::ServiceUnavailable);
  EXPECT_NE(res.error().message().find("certificate verification failed"), std::string::npos) << res.error().message();
}

TEST_F(TlsClientTest, VerificationCanBeTurnedOff) {
  TestServer server(tls_echo(), cert_.cert_file, cert_.key_file);
  ClientOptions options;
  options.verify_tls = false;
  HttpClient client(options);
  auto res = get(client, "https://127.0.0.1:" + std::to_string(server.port()) + "/", "x");
  ASSERT_TRUE(res.ok()) << res.error().message();
  EXPECT_EQ(res->body, "secure x");
}

}  // namespace
}  // namespace tollgate::http
