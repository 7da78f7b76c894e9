// Drives the server's HTTP/2 side (h2c with prior knowledge) over loopback with a
// small blocking client built on nghttp2's client API, and checks that HTTP/1.1
// still works on the same port.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <thread>

#include "http/http2_session.h"
#include "http/server.h"
#include "io/async.h"

namespace tollgate::http {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads until the peer closes (or `timeout`).
std::string read_until_close(int fd, std::chrono::milliseconds timeout = 5s) {
  std::string data;
  auto deadline = Clock::now() + timeout;
  char buf[4096];
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

std::optional<std::string> find(const std::vector<Header>& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (header_name_equals(h.name, name)) return h.value;
  }
  return std::nullopt;
}

// Polls `condition` for up to `timeout` (the handler may still be returning when the client is done).
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
  auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// A blocking HTTP/2 client: submit requests, then pump the connection until a condition holds.
class H2Client {
 public:
  struct Result {
    int status = 0;
    std::vector<Header> headers;
    std::vector<Header> trailers;
    std::string body;
    int data_frames = 0;
    std::vector<Clock::time_point> chunk_times;
    bool closed = false;
    uint32_t error_code = 0;
    std::string request_body;
    size_t request_off = 0;
  };

  explicit H2Client(uint16_t port, uint32_t initial_window = NGHTTP2_INITIAL_WINDOW_SIZE) {
    fd_ = connect_to(port);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, &H2Client::on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &H2Client::on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &H2Client::on_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, &H2Client::on_close);
    nghttp2_session_client_new(&session_, cb, this);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, initial_window}};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 1);
  }
  ~H2Client() {
    nghttp2_session_del(session_);
    ::close(fd_);
  }

  int32_t submit(const std::string& method, const std::string& path, std::string body = {},
                 std::vector<Header> extra = {}, bool content_length = true) {
    std::vector<Header> fields{{":method", method}, {":scheme", "http"}, {":authority", authority_},
                               {":path", path}};
    if (content_length && !body.empty()) fields.push_back({"content-length", std::to_string(body.size())});
    for (auto& h : extra) fields.push_back(h);
    std::vector<nghttp2_nv> nv = to_nv(fields);
    auto result = std::make_unique<Result>();
    result->request_body = std::move(body);
    nghttp2_data_provider provider{};
    provider.source.ptr = result.get();
    provider.read_callback = &H2Client::read_body;
    bool has_body = !result->request_body.empty();
    int32_t id = nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(), has_body ? &provider : nullptr,
                                        nullptr);
    EXPECT_GT(id, 0);
    results_[id] = std::move(result);
    return id;
  }

  // Opens a request whose body never comes (HEADERS without END_STREAM).
  int32_t submit_open(const std::string& path) {
    std::vector<Header> fields{{":method", "POST"}, {":scheme", "http"}, {":authority", authority_},
                               {":path", path}, {"content-length", "10"}};
    std::vector<nghttp2_nv> nv = to_nv(fields);
    int32_t id = nghttp2_submit_headers(session_, NGHTTP2_FLAG_NONE, -1, nullptr, nv.data(), nv.size(), nullptr);
    EXPECT_GT(id, 0);
    results_[id] = std::make_unique<Result>();
    return id;
  }

  Result& operator[](int32_t id) { return *results_.at(id); }

  // Sends what is pending and reads until `done` holds; false on timeout or a dead connection.
  bool pump_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 5s) {
    auto deadline = Clock::now() + timeout;
    while (true) {
      flush();
      if (done()) return true;
      if (eof_ || Clock::now() >= deadline) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 10) <= 0) continue;
      char buf[16384];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        eof_ = true;
        continue;
      }
      if (nghttp2_session_mem_recv(session_, reinterpret_cast<uint8_t*>(buf), static_cast<size_t>(n)) < 0) {
        eof_ = true;
      }
    }
  }
  bool wait_closed(int32_t id, std::chrono::milliseconds timeout = 5s) {
    return pump_until([&] { return (*this)[id].closed; }, timeout);
  }

  void reset(int32_t id) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    flush();
  }
  void flush() {
    const uint8_t* data = nullptr;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(session_, &data)) > 0) {
      send_all(fd_, std::string_view(reinterpret_cast<const char*>(data), static_cast<size_t>(n)));
    }
  }

  void set_authority(std::string authority) { authority_ = std::move(authority); }
  bool eof() const { return eof_; }
  bool goaway() const { return goaway_; }
  uint32_t goaway_error() const { return goaway_error_; }
  void ping() {
    nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr);
    flush();
  }
  int ping_acks() const { return ping_acks_; }

 private:
  static std::vector<nghttp2_nv> to_nv(std::vector<Header>& fields) {
    std::vector<nghttp2_nv> nv;
    for (auto& f : fields) {
      nv.push_back({reinterpret_cast<uint8_t*>(f.name.data()), reinterpret_cast<uint8_t*>(f.value.data()),
                    f.name.size(), f.value.size(), NGHTTP2_NV_FLAG_NONE});
    }
    return nv;
  }
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                       const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    auto& self = *static_cast<H2Client*>(user);
    auto it = self.results_.find(frame->hd.stream_id);
    if (it == self.results_.end()) return 0;
    Header h{std::string(reinterpret_cast<const char*>(name), namelen),
             std::string(reinterpret_cast<const char*>(value), valuelen)};
    if (frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
      if (h.name == ":status") {
        it->second->status = std::stoi(h.value);
      } else {
        it->second->headers.push_back(std::move(h));
      }
    } else if (frame->headers.cat == NGHTTP2_HCAT_HEADERS) {
      it->second->trailers.push_back(std::move(h));
    }
    return 0;
  }
  static int on_data(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len, void* user) {
    auto& self = *static_cast<H2Client*>(user);
    auto it = self.results_.find(id);
    if (it == self.results_.end()) return 0;
    it->second->body.append(reinterpret_cast<const char*>(data), len);
    it->second->chunk_times.push_back(Clock::now());
    return 0;
  }
  static int on_frame(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& self = *static_cast<H2Client*>(user);
    if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK)) ++self.ping_acks_;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      self.goaway_ = true;
      self.goaway_error_ = frame->goaway.error_code;
    }
    if (frame->hd.type == NGHTTP2_DATA && frame->hd.length > 0) {
      auto it = self.results_.find(frame->hd.stream_id);
      if (it != self.results_.end()) ++it->second->data_frames;
    }
    return 0;
  }
  static int on_close(nghttp2_session*, int32_t id, uint32_t error_code, void* user) {
    auto& self = *static_cast<H2Client*>(user);
    auto it = self.results_.find(id);
    if (it == self.results_.end()) return 0;
    it->second->closed = true;
    it->second->error_code = error_code;
    return 0;
  }
  static ssize_t read_body(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                           nghttp2_data_source* source, void*) {
    auto& r = *static_cast<Result*>(source->ptr);
    size_t n = std::min(length, r.request_body.size() - r.request_off);
    std::memcpy(buf, r.request_body.data() + r.request_off, n);
    r.request_off += n;
    if (r.request_off == r.request_body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  int fd_ = -1;
  nghttp2_session* session_ = nullptr;
  std::string authority_ = "gateway.test:8420";
  std::map<int32_t, std::unique_ptr<Result>> results_;
  bool eof_ = false;
  bool goaway_ = false;
  uint32_t goaway_error_ = 0;
  int ping_acks_ = 0;
};

class Handler : public RequestHandler {
 public:
  size_t body_limit(const Request&) const override { return 64; }

  Task<void> handle(Request& req, ResponseWriter& writer) override {
    if (req.path == "/wait") {
      auto until = Clock::now() + 5s;
      while (!released && Clock::now() < until) co_await sleep_for(5ms);
      co_await writer.send(text(released ? "waited" : "timeout"));
    } else if (req.path == "/release") {
      released = true;
      co_await writer.send(text("released"));
    } else if (req.path == "/stream") {
      std::vector<Header> headers{{"Content-Type", "text/plain"}, {"Trailer", "x-checksum"},
                                  {"Connection", "keep-alive"}, {"Transfer-Encoding", "chunked"},
                                  {"X-Upper", "v"}};
      co_await writer.begin(200, std::move(headers));
      co_await writer.write("one,");
      co_await sleep_for(60ms);
      co_await writer.write("two,");
      co_await sleep_for(60ms);
      co_await writer.write("three");
      std::vector<Header> trailers{{"X-Checksum", "abc"}};
      bool ended = co_await writer.end(std::move(trailers));
      stream_ended = ended;
    } else if (req.path == "/endless") {
      std::vector<Header> headers{{"Content-Type", "text/plain"}};
      co_await writer.begin(200, std::move(headers));
      std::string piece(1024, 'x');
      auto until = Clock::now() + 10s;
      bool ok = true;
      while (ok && Clock::now() < until) {
        ok = co_await writer.write(piece);
        co_await sleep_for(5ms);
      }
      endless_write_failed = !ok;
      std::vector<Header> none;
      co_await writer.end(std::move(none));
      endless_done = true;
    } else if (req.path == "/big") {
      std::vector<Header> headers{{"Content-Type", "application/octet-stream"}};
      co_await writer.begin(200, std::move(headers));
      std::string piece(64 * 1024, 'b');
      for (int i = 0; i < kBigPieces; ++i) {
        bool ok = co_await writer.write(piece);
        if (!ok) break;
        ++big_written;
      }
      std::vector<Header> none;
      co_await writer.end(std::move(none));
    } else if (req.path == "/slow") {
      slow_started = true;
      co_await sleep_for(300ms);
      co_await writer.send(text("slow done"));
    } else if (req.path == "/throw") {
      throw std::runtime_error("boom");
    } else if (req.path == "/silent") {
      co_return;
    } else {
      std::string host(req.header("host").value_or("-"));
      std::string authority(req.header(":authority").value_or("-"));
      co_await writer.send(text(req.method + " " + req.path + "?" + req.query + " " + req.body + " host=" + host +
                                " authority=" + authority + " x-custom=" +
                                std::string(req.header("x-custom").value_or("-"))));
    }
  }

  Response reject(const Request&, const Error& error) override {
    Response res;
    res.status = error.http_status();
    res.set_header("x-amzn-ErrorType", std::string(error.aws_name()));
    res.body = error.message();
    return res;
  }

  static Response text(std::string body) {
    Response res;
    res.set_header("Content-Type", "text/plain");
    res.set_header("Connection", "close");  // an HTTP/1.1 field: must not reach an HTTP/2 client
    res.body = std::move(body);
    return res;
  }

  static constexpr int kBigPieces = 64;  // 4 MiB
  std::atomic<bool> released{false};
  std::atomic<bool> stream_ended{false};
  std::atomic<bool> endless_write_failed{false};
  std::atomic<bool> endless_done{false};
  std::atomic<int> big_written{0};
  std::atomic<bool> slow_started{false};
};

class Http2Test : public ::testing::Test {
 protected:
  void start(ServerOptions options = {}) {
    options.port = 0;
    options.io_threads = 2;
    server_ = std::make_unique<Server>(options, handler_);
    server_->listen();
    thread_ = std::thread([this] { server_->run(false); });
  }
  void stop() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  void TearDown() override { stop(); }
  uint16_t port() const { return server_->port(); }

  Handler handler_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

TEST_F(Http2Test, AnswersARequestWithItsHeadersAndBody) {
  start();
  H2Client client(port());
  int32_t id = client.submit("POST", "/model/a%3Ab/converse?x=1", "abc", {{"x-custom", "yes"}});
  ASSERT_TRUE(client.wait_closed(id));
  auto& r = client[id];
  EXPECT_EQ(r.error_code, NGHTTP2_NO_ERROR);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "POST /model/a%3Ab/converse?x=1 abc host=gateway.test:8420 authority=gateway.test:8420 x-custom=yes");
  EXPECT_EQ(find(r.headers, "content-length"), std::to_string(r.body.size()));
  EXPECT_EQ(find(r.headers, "content-type"), "text/plain");
  EXPECT_FALSE(find(r.headers, "connection")) << "connection-specific fields are not sent over HTTP/2";
}

TEST_F(Http2Test, AnswersHeadWithoutABodyAndPings) {
  start();
  H2Client client(port());
  int32_t id = client.submit("HEAD", "/echo");
  ASSERT_TRUE(client.wait_closed(id));
  EXPECT_EQ(client[id].error_code, NGHTTP2_NO_ERROR);
  EXPECT_EQ(client[id].status, 200);
  EXPECT_EQ(client[id].body, "");
  EXPECT_NE(find(client[id].headers, "content-length"), "0");
  client.ping();
  EXPECT_TRUE(client.pump_until([&] { return client.ping_acks() == 1; }));
}

TEST_F(Http2Test, ServesConcurrentStreamsOnOneConnection) {
  start();
  H2Client client(port());
  // /wait answers only once /release ran: both must be served at the same time.
  int32_t waiting = client.submit("GET", "/wait");
  int32_t releasing = client.submit("GET", "/release");
  ASSERT_TRUE(client.pump_until([&] { return client[waiting].closed && client[releasing].closed; }));
  EXPECT_EQ(client[waiting].body, "waited");
  EXPECT_EQ(client[releasing].body, "released");
  // And the connection stays usable.
  int32_t third = client.submit("GET", "/again");
  ASSERT_TRUE(client.wait_closed(third));
  EXPECT_EQ(client[third].status, 200);
}

TEST_F(Http2Test, StreamsAResponseInPiecesWithTrailers) {
  start();
  H2Client client(port());
  int32_t id = client.submit("GET", "/stream");
  ASSERT_TRUE(client.wait_closed(id));
  auto& r = client[id];
  EXPECT_EQ(r.error_code, NGHTTP2_NO_ERROR);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "one,two,three");
  EXPECT_GE(r.data_frames, 3);
  ASSERT_GE(r.chunk_times.size(), 3u);
  EXPECT_GE(r.chunk_times.back() - r.chunk_times.front(), 100ms) << "the pieces arrive as they are written";
  EXPECT_EQ(find(r.trailers, "x-checksum"), "abc");
  EXPECT_EQ(find(r.headers, "x-upper"), "v");
  EXPECT_EQ(find(r.headers, "trailer"), "x-checksum");
  EXPECT_FALSE(find(r.headers, "connection"));
  EXPECT_FALSE(find(r.headers, "transfer-encoding"));
  EXPECT_FALSE(find(r.headers, "content-length"));
  EXPECT_TRUE(eventually([&] { return handler_.stream_ended.load(); })) << "end() reports the delivered response";
}

TEST_F(Http2Test, RefusesABodyOverTheLimitWith413) {
  start();
  H2Client client(port());
  int32_t declared = client.submit("POST", "/echo", std::string(1000, 'z'));
  int32_t undeclared = client.submit("POST", "/echo", std::string(1000, 'z'), {}, /*content_length=*/false);
  ASSERT_TRUE(client.pump_until([&] { return client[declared].closed && client[undeclared].closed; }));
  for (int32_t id : {declared, undeclared}) {
    EXPECT_EQ(client[id].status, 413);
    EXPECT_NE(client[id].body.find("64-byte limit"), std::string::npos) << client[id].body;
  }
  // The connection survives a refused stream.
  int32_t next = client.submit("POST", "/echo", "ok");
  ASSERT_TRUE(client.wait_closed(next));
  EXPECT_EQ(client[next].status, 200);
}

TEST_F(Http2Test, ClientResetMakesWriteReturnFalse) {
  start();
  H2Client client(port());
  int32_t id = client.submit("GET", "/endless");
  ASSERT_TRUE(client.pump_until([&] { return client[id].body.size() >= 4096; }));
  client.reset(id);
  auto until = Clock::now() + 5s;
  while (!handler_.endless_done && Clock::now() < until) {
    client.pump_until([] { return false; }, 20ms);
  }
  EXPECT_TRUE(handler_.endless_done.load());
  EXPECT_TRUE(handler_.endless_write_failed.load());
  // Other streams on the connection are unaffected.
  int32_t next = client.submit("GET", "/after-reset");
  ASSERT_TRUE(client.wait_closed(next));
  EXPECT_EQ(client[next].status, 200);
}

TEST_F(Http2Test, WriteWaitsForASlowReader) {
  start();
  H2Client client(port(), /*initial_window=*/16 * 1024);
  int32_t id = client.submit("GET", "/big");
  client.flush();
  std::this_thread::sleep_for(300ms);  // not reading: the flow-control window closes, then write() must wait
  int written = handler_.big_written.load();
  EXPECT_LE(written, 8) << "write() should apply backpressure";
  ASSERT_TRUE(client.wait_closed(id, 20s));
  EXPECT_EQ(client[id].error_code, NGHTTP2_NO_ERROR);
  EXPECT_EQ(client[id].body.size(), size_t{Handler::kBigPieces} * 64 * 1024);
  EXPECT_TRUE(eventually([&] { return handler_.big_written.load() == Handler::kBigPieces; }));
}

TEST_F(Http2Test, HandlerFailuresAreAnswered) {
  start();
  H2Client client(port());
  int32_t thrown = client.submit("GET", "/throw");
  int32_t silent = client.submit("GET", "/silent");
  ASSERT_TRUE(client.pump_until([&] { return client[thrown].closed && client[silent].closed; }));
  EXPECT_EQ(client[thrown].status, 500);
  EXPECT_EQ(client[silent].status, 500);
}

TEST_F(Http2Test, RefusesOversizedHeadersWith431) {
  ServerOptions options;
  options.max_header_bytes = 1024;
  start(options);
  H2Client client(port());
  int32_t id = client.submit("GET", "/echo", {}, {{"x-custom", std::string(2000, 'h')}});
  ASSERT_TRUE(client.wait_closed(id));
  EXPECT_EQ(client[id].status, 431);
}

TEST_F(Http2Test, AnswersABodyThatDoesNotArriveWith408) {
  ServerOptions options;
  options.body_timeout = 200ms;
  start(options);
  H2Client client(port());
  int32_t id = client.submit_open("/echo");
  ASSERT_TRUE(client.wait_closed(id));
  EXPECT_EQ(client[id].status, 408);
  int32_t next = client.submit("GET", "/after");
  ASSERT_TRUE(client.wait_closed(next));
  EXPECT_EQ(client[next].status, 200);
}

TEST_F(Http2Test, Http1StillWorksOnTheSamePort) {
  start();
  H2Client client(port());
  int32_t id = client.submit("GET", "/h2");
  ASSERT_TRUE(client.wait_closed(id));
  EXPECT_EQ(client[id].status, 200);

  int fd = connect_to(port());
  send_all(fd, "POST /h1?y=2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
  std::string response = read_until_close(fd);
  ::close(fd);
  EXPECT_NE(response.find("HTTP/1.1 200 OK"), std::string::npos) << response;
  EXPECT_NE(response.find("POST /h1?y=2 abc host=h authority=-"), std::string::npos) << response;
  // A request line starting like the preface but diverging is still HTTP/1.1.
  fd = connect_to(port());
  send_all(fd, "PUT /p HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  response = read_until_close(fd);
  ::close(fd);
  EXPECT_NE(response.find("PUT /p? "), std::string::npos) << response;
}

TEST_F(Http2Test, GracefulStopFinishesStreamsInFlight) {
  start();
  H2Client client(port());
  int32_t id = client.submit("GET", "/slow");
  ASSERT_TRUE(client.pump_until([&] { return handler_.slow_started.load(); }));
  server_->stop();
  ASSERT_TRUE(client.wait_closed(id));
  EXPECT_EQ(client[id].status, 200);
  EXPECT_EQ(client[id].body, "slow done");
  EXPECT_TRUE(client.pump_until([&] { return client.goaway() && client.eof(); }) || client.eof());
  EXPECT_TRUE(client.goaway());
  EXPECT_EQ(client.goaway_error(), NGHTTP2_NO_ERROR);
  thread_.join();  // run() returns once the connection drained
}

TEST_F(Http2Test, IdleConnectionsGetGoawayAndClose) {
  ServerOptions options;
  options.idle_timeout = 200ms;
  start(options);
  H2Client client(port());
  int32_t id = client.submit("GET", "/first");
  ASSERT_TRUE(client.wait_closed(id));
  auto idle_since = Clock::now();
  client.pump_until([&] { return client.eof(); }, 3s);
  EXPECT_TRUE(client.goaway());
  EXPECT_EQ(client.goaway_error(), NGHTTP2_NO_ERROR);
  EXPECT_TRUE(client.eof());
  EXPECT_GE(Clock::now() - idle_since, 150ms);
}

TEST_F(Http2Test, AMalformedRequestResetsOnlyItsStream) {
  ServerOptions options;
  options.idle_timeout = 300ms;
  start(options);
  H2Client client(port());
  int32_t bad = client.submit("GET", "/echo", {}, {{"x-custom", "line\r\nbreak"}});
  ASSERT_TRUE(client.wait_closed(bad));
  EXPECT_EQ(client[bad].error_code, NGHTTP2_PROTOCOL_ERROR);
  int32_t good = client.submit("GET", "/echo");
  ASSERT_TRUE(client.wait_closed(good));
  EXPECT_EQ(client[good].status, 200);
  // Nothing of the bad stream lingers: the connection idles out with a clean GOAWAY.
  client.pump_until([&] { return client.eof(); }, 3s);
  EXPECT_TRUE(client.goaway());
  EXPECT_EQ(client.goaway_error(), NGHTTP2_NO_ERROR);
}

TEST_F(Http2Test, MalformedFramesCloseTheConnectionWithProtocolError) {
  start();
  int fd = connect_to(port());
  std::string bytes(kHttp2Preface);
  bytes += std::string("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);      // SETTINGS, empty
  bytes += std::string("\x00\x00\x01\x00\x00\x00\x00\x00\x00x", 10);    // DATA on stream 0: a connection error
  send_all(fd, bytes);
  std::string received = read_until_close(fd);
  ::close(fd);
  // Find the GOAWAY frame among the server's frames.
  bool found = false;
  uint32_t error_code = 0;
  size_t off = 0;
  while (off + 9 <= received.size()) {
    auto byte = [&](size_t i) { return static_cast<uint8_t>(received[off + i]); };
    size_t length = (size_t{byte(0)} << 16) | (size_t{byte(1)} << 8) | byte(2);
    if (byte(3) == NGHTTP2_GOAWAY && off + 9 + length <= received.size() && length >= 8) {
      found = true;
      error_code = (uint32_t{byte(13)} << 24) | (uint32_t{byte(14)} << 16) | (uint32_t{byte(15)} << 8) | byte(16);
    }
    off += 9 + length;
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(error_code, NGHTTP2_PROTOCOL_ERROR);
}

}  // namespace
}  // namespace tollgate::http
