#include "http/in_memory.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace tollgate::http {
namespace {

class CapturingWriter final : public ResponseWriter {
 public:
  explicit CapturingWriter(Response& out) : out_(out) {}
  Task<bool> send(Response response) override {
    started_ = true;
    out_ = std::move(response);
    co_return true;
  }
  Task<bool> begin(int status, std::vector<Header> headers) override {
    started_ = true;
    out_.status = status;
    out_.headers = std::move(headers);
    co_return true;
  }
  Task<bool> write(std::string_view bytes) override {
    out_.body.append(bytes);
    co_return true;
  }
  Task<bool> end(std::vector<Header> trailers) override {
    for (auto& h : trailers) out_.headers.push_back(std::move(h));
    co_return true;
  }
  bool started() const override { return started_; }

 private:
  Response& out_;
  bool started_ = false;
};

}  // namespace

Response serve_in_memory(RequestHandler& handler, Request& request) {
  boost::asio::io_context io;
  Response response;
  CapturingWriter writer(response);
  auto done = boost::asio::co_spawn(io, handler.handle(request, writer), boost::asio::use_future);
  io.run();
  done.get();  // rethrows what the handler threw
  return response;
}

}  // namespace tollgate::http
