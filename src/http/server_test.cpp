// Drives the real server over loopback sockets with hand-written HTTP/1.1.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "http/server.h"

namespace tollgate::http {
namespace {

class EchoHandler : public RequestHandler {
 public:
  size_t body_limit(const Request&) const override { return 64; }
  Task<void> handle(Request& req, ResponseWriter& writer) override {
    ++handled;
    if (req.path == "/stream") {
      std::vector<Header> headers{Header{"Content-Type", "text/plain"}};
      co_await writer.begin(200, std::move(headers));
      co_await writer.write("one,");
      co_await writer.write("two,");
      co_await writer.write("three");
      co_await writer.end();
      co_return;
    }
    if (req.path == "/throw") throw std::runtime_error("boom");
    Response res;
    res.set_header("Content-Type", "text/plain");
    res.body = req.method + " " + req.path + "?" + req.query + " " + req.body;
    co_await writer.send(std::move(res));
  }
  Response reject(const Request&, const Error& error) override {
    Response res;
    res.status = error.http_status();
    res.set_header("x-amzn-ErrorType", std::string(error.aws_name()));
    res.body = error.message();
    return res;
  }
  std::atomic<int> handled{0};
};

class ServerTest : public ::testing::Test {
 protected:
  void start(ServerOptions options = {}) {
    options.port = 0;
    options.io_threads = 2;
    server_ = std::make_unique<Server>(options, handler_);
    server_->listen();
    thread_ = std::thread([this] { server_->run(false); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  int connect_client() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server_->port());
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }
  static void send_all(int fd, const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  // Reads one response (headers + Content-Length body).
  static std::string read_response(int fd) {
    std::string data;
    char buf[4096];
    while (true) {
      size_t header_end = data.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        size_t cl = data.find("Content-Length: ");
        size_t length = cl == std::string::npos ? 0 : std::stoul(data.substr(cl + 16));
        if (data.size() >= header_end + 4 + length) return data.substr(0, header_end + 4 + length);
      }
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return data;
      data.append(buf, static_cast<size_t>(n));
    }
  }

  EchoHandler handler_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

TEST_F(ServerTest, ServesSeveralRequestsOnOneKeepAliveConnection) {
  start();
  int fd = connect_client();
  send_all(fd, "POST /a%3Ab?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
  std::string first = read_response(fd);
  EXPECT_NE(first.find("200 OK"), std::string::npos);
  EXPECT_NE(first.find("POST /a%3Ab?x=1 abc"), std::string::npos);
  send_all(fd, "GET /second HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_NE(read_response(fd).find("GET /second? "), std::string::npos);
  ::close(fd);
  EXPECT_EQ(handler_.handled.load(), 2);
}

TEST_F(ServerTest, StreamsChunkedResponsesAndKeepsTheConnection) {
  start();
  int fd = connect_client();
  send_all(fd, "GET /stream HTTP/1.1\r\nHost: h\r\n\r\n");
  std::string data;
  char buf[4096];
  while (data.find("0\r\n\r\n") == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0) << data;
    data.append(buf, static_cast<size_t>(n));
  }
  EXPECT_NE(data.find("Transfer-Encoding: chunked"), std::string::npos) << data;
  EXPECT_NE(data.find("4\r\none,\r\n4\r\ntwo,\r\n5\r\nthree\r\n0\r\n\r\n"), std::string::npos) << data;
  send_all(fd, "GET /after HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_NE(read_response(fd).find("GET /after? "), std::string::npos);
  ::close(fd);
}

TEST_F(ServerTest, AnswersA500WhenTheHandlerThrows) {
  start();
  int fd = connect_client();
  send_all(fd, "GET /throw HTTP/1.1\r\nHost: h\r\n\r\n");
  std::string res = read_response(fd);
  EXPECT_NE(res.find("500"), std::string::npos) << res;
  EXPECT_NE(res.find("InternalServerException"), std::string::npos) << res;
  ::close(fd);
}

TEST_F(ServerTest, AnswersOversizedBodyWithAnErrorNotAReset) {
  start();
  int fd = connect_client();
  std::string body(1000, 'x');
  send_all(fd, "POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n" + body);
  std::string res = read_response(fd);
  EXPECT_NE(res.find("413"), std::string::npos) << res;
  EXPECT_NE(res.find("x-amzn-ErrorType: ValidationException"), std::string::npos);
  EXPECT_NE(res.find("64-byte limit"), std::string::npos);
  ::close(fd);
  EXPECT_EQ(handler_.handled.load(), 0);
}

TEST_F(ServerTest, AnswersBodiesOverBeastsDefaultLimit) {
  start();
  int fd = connect_client();
  send_all(fd, "POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 2000000\r\n\r\n");
  std::string res = read_response(fd);
  EXPECT_NE(res.find("413"), std::string::npos) << res;
  ::close(fd);
}

TEST_F(ServerTest, AnswersOversizedChunkedBody) {
  start();
  int fd = connect_client();
  send_all(fd, "POST /big HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n50\r\n" + std::string(80, 'y') +
                   "\r\n0\r\n\r\n");
  EXPECT_NE(read_response(fd).find("413"), std::string::npos);
  ::close(fd);
}

TEST_F(ServerTest, AnswersOversizedHeaders) {
  ServerOptions options;
  options.max_header_bytes = 1024;
  start(options);
  int fd = connect_client();
  send_all(fd, "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(4000, 'z') + "\r\n\r\n");
  std::string res = read_response(fd);
  EXPECT_NE(res.find("431"), std::string::npos) << res;
  ::close(fd);
}

TEST_F(ServerTest, ClosesIdleConnectionsAfterTimeout) {
  ServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(200);
  start(options);
  int fd = connect_client();
  send_all(fd, "GET /partial HTTP/1.1\r\nHost: h\r\n");  // never finishes its headers
  char buf[16];
  EXPECT_EQ(::recv(fd, buf, sizeof buf, 0), 0);  // orderly close, well before the 5 s receive timeout
  ::close(fd);
}

TEST_F(ServerTest, StopLetsIdleKeepAliveConnectionsGo) {
  start();
  int fd = connect_client();
  send_all(fd, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
  read_response(fd);
  server_->stop();
  thread_.join();  // returns although the client keeps its connection open
  ::close(fd);
}

}  // namespace
}  // namespace tollgate::http
