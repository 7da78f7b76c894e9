#include "http/http2_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

namespace tollgate::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

constexpr uint32_t kMaxConcurrentStreams = 100;
// Handlers of streams the client reset may still be finishing; past this many
// running on one connection, new requests are refused (REFUSED_STREAM: retry).
constexpr size_t kMaxHandlers = 2 * kMaxConcurrentStreams;
// Receive windows: request bodies are consumed (or discarded) as they arrive, so a
// larger window costs no memory and saves round trips on large bodies.
constexpr int32_t kStreamWindow = 1 << 20;
constexpr int32_t kConnectionWindow = 4 << 20;
// write() returns only once a stream holds at most this many bytes not yet framed.
constexpr size_t kPendingHighWater = 256 * 1024;
// Bytes gathered from nghttp2 into one socket write.
constexpr size_t kSendBatch = 64 * 1024;
constexpr size_t kReadChunk = 16 * 1024;

std::string lowercase(std::string_view in) {
  std::string out(in);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Fields that only mean something to one HTTP/1.1 connection; HTTP/2 forbids them
// (RFC 9113 §8.2.2). Content-Length is set by the writer itself.
bool droppable(std::string_view name, std::string_view value) {
  return name.empty() || name.front() == ':' || name == "connection" || name == "keep-alive" ||
         name == "proxy-connection" || name == "transfer-encoding" || name == "upgrade" ||
         name == "content-length" || (name == "te" && value != "trailers");
}

// Header fields ready for nghttp2: lowercase names, HTTP/1.1-only fields dropped.
class FieldBlock {
 public:
  void add_pseudo(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
  }
  void add(const std::vector<Header>& headers) {
    for (const auto& h : headers) {
      std::string name = lowercase(h.name);
      if (droppable(name, h.value)) continue;
      fields_.emplace_back(std::move(name), h.value);
    }
  }
  // Valid until this block changes.
  const std::vector<nghttp2_nv>& nv() {
    nv_.clear();
    for (auto& [name, value] : fields_) {
      nv_.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(name.data()), reinterpret_cast<uint8_t*>(value.data()),
                               name.size(), value.size(), NGHTTP2_NV_FLAG_NONE});
    }
    return nv_;
  }
  bool empty() const { return fields_.empty(); }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
  std::vector<nghttp2_nv> nv_;
};

struct Stream {
  Stream(int32_t stream_id, const asio::any_io_executor& executor) : id(stream_id), wake(executor) {}

  int32_t id;
  // The request.
  Request request;
  std::string authority;
  size_t header_bytes = 0;
  bool headers_too_large = false;
  size_t body_limit = 0;
  Clock::time_point deadline{};  // for the whole header block (idle_timeout), then for the body (body_timeout)
  bool headers_done = false;      // the request's HEADERS were processed
  bool request_complete = false;  // END_STREAM received
  bool answered_early = false;    // the server answered itself (413, 431, 408); no handler runs
  // The response.
  bool submitted = false;          // response HEADERS submitted
  std::string pending;             // body bytes not yet framed
  size_t pending_off = 0;
  bool eof = false;                // nothing follows `pending`
  FieldBlock trailers;
  bool deferred = false;           // the data provider waits for bytes
  bool response_complete = false; // END_STREAM sent
  bool closed = false;             // closed by nghttp2 (reset or done), or by us
  asio::steady_timer wake;         // wakes the handler waiting in send()/write()/end()

  size_t unsent() const { return pending.size() - pending_off; }
};

}  // namespace

struct Http2Session::Impl : std::enable_shared_from_this<Impl> {
  Impl(boost::beast::tcp_stream& s, RequestHandler& h, const ServerOptions& o, std::string r)
      : stream(s),
        executor(s.get_executor()),
        handler(h),
        options(o),
        remote(std::move(r)),
        writer_wake(executor),
        watchdog(executor),
        finished(executor) {}
  ~Impl() {
    deleting = true;
    if (session) nghttp2_session_del(session);
  }

  boost::beast::tcp_stream& stream;
  asio::any_io_executor executor;  // the connection's io thread (its own io_context)
  RequestHandler& handler;
  const ServerOptions& options;
  std::string remote;
  nghttp2_session* session = nullptr;
  std::unordered_map<int32_t, std::shared_ptr<Stream>> streams;  // open in nghttp2
  asio::steady_timer writer_wake;
  asio::steady_timer watchdog;
  asio::steady_timer finished;
  bool kicked = false;      // output may be pending: the write loop must look again
  bool dead = false;        // the socket is closed: nothing is sent or received any more
  bool going_away = false;  // GOAWAY submitted
  bool deleting = false;
  bool writing = false;
  Clock::time_point write_since{};
  Clock::time_point last_activity = Clock::now();
  size_t tasks = 0;     // coroutines (write loop, watchdog, handlers) still running
  size_t handlers = 0;  // handlers still running

  void init();
  Task<void> run(std::string received);
  Task<void> write_loop(std::shared_ptr<Impl> self);
  Task<void> watchdog_loop(std::shared_ptr<Impl> self);
  Task<void> serve_stream(std::shared_ptr<Impl> self, std::shared_ptr<Stream> s);
  void kick() {
    kicked = true;
    writer_wake.cancel();
  }
  void task_done() {
    if (--tasks == 0) finished.cancel();
  }
  void go_away(uint32_t error_code);
  void close_socket();
  Stream* find(int32_t id) {
    auto it = streams.find(id);
    return it == streams.end() ? nullptr : it->second.get();
  }
  static void wake(Stream& s) { s.wake.cancel(); }

  // Request side.
  void request_headers_done(Stream& s);
  void request_done(Stream& s);
  void answer_early(Stream& s, const Error& error);

  // Response side (ResponseWriter).
  bool gone(const Stream& s) const { return !s.response_complete && (s.closed || dead); }
  bool submit(Stream& s, int status, const std::vector<Header>& headers, std::optional<size_t> content_length);
  // A whole body: `pending` holds it; what the request method and status allow is sent.
  bool submit_whole(Stream& s, const Response& response);
  void resume(Stream& s);
  void reset(Stream& s, uint32_t error_code);
  Task<bool> wait(Stream& s);
  Task<bool> wait_complete(Stream& s);
  Task<bool> send(Stream& s, Response response);
  Task<bool> write(Stream& s, std::string_view bytes);
  Task<bool> end(Stream& s, std::vector<Header> trailers);

  // nghttp2 callbacks.
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                       const uint8_t* value, size_t valuelen, uint8_t flags, void* user);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int on_data_chunk_recv(nghttp2_session*, uint8_t flags, int32_t stream_id, const uint8_t* data, size_t len,
                                void* user);
  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user);
  static int on_error(nghttp2_session*, int lib_error_code, const char* msg, size_t len, void* user);
  static ssize_t read_body(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length, uint32_t* data_flags,
                           nghttp2_data_source* source, void* user);
};

namespace {

// The ResponseWriter of one stream.
class StreamWriter final : public ResponseWriter {
 public:
  StreamWriter(Http2Session::Impl& impl, Stream& stream) : impl_(impl), stream_(stream) {}

  Task<bool> send(Response response) override {
    if (started_) co_return false;
    started_ = true;
    bool ok = co_await impl_.send(stream_, std::move(response));
    co_return ok;
  }
  Task<bool> begin(int status, std::vector<Header> headers) override {
    if (started_) co_return false;
    started_ = true;
    co_return impl_.submit(stream_, status, headers, std::nullopt);
  }
  Task<bool> write(std::string_view bytes) override {
    bool ok = co_await impl_.write(stream_, bytes);
    co_return ok;
  }
  Task<bool> end(std::vector<Header> trailers) override {
    bool ok = co_await impl_.end(stream_, std::move(trailers));
    co_return ok;
  }
  bool started() const override { return started_; }

 private:
  Http2Session::Impl& impl_;
  Stream& stream_;
  bool started_ = false;
};

}  // namespace

void Http2Session::Impl::init() {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) throw std::bad_alloc();
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &Impl::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &Impl::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &Impl::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &Impl::on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, &Impl::on_frame_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &Impl::on_stream_close);
  nghttp2_session_callbacks_set_error_callback2(callbacks, &Impl::on_error);
  int rv = nghttp2_session_server_new(&session, callbacks, this);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) throw std::bad_alloc();

  std::array<nghttp2_settings_entry, 3> settings{{
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(options.max_header_bytes)},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(kStreamWindow)},
  }};
  nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  nghttp2_session_set_local_window_size(session, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
}

// ---- Connection ------------------------------------------------------------------------------

Task<void> Http2Session::Impl::run(std::string received) {
  auto self = shared_from_this();
  stream.expires_never();  // the session keeps its own deadlines (watchdog)
  tasks = 2;
  asio::co_spawn(executor, write_loop(self), asio::detached);
  asio::co_spawn(executor, watchdog_loop(self), asio::detached);

  tcp::socket& socket = stream.socket();
  std::array<char, kReadChunk> buf{};
  std::string_view chunk = received;
  while (!dead) {
    if (!chunk.empty()) {
      last_activity = Clock::now();
      ssize_t rv = nghttp2_session_mem_recv(session, reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size());
      if (rv < 0) {
        spdlog::debug("http2 {}: {}; closing the connection", remote, nghttp2_strerror(static_cast<int>(rv)));
        if (!dead) {
          nghttp2_session_terminate_session(session, NGHTTP2_PROTOCOL_ERROR);
          kick();
        }
        break;  // the write loop sends the GOAWAY, then closes
      }
      kick();
    }
    if (dead) break;
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), kNoThrow);
    if (ec) {
      close_socket();  // the peer left (or we closed the socket)
      break;
    }
    chunk = std::string_view(buf.data(), n);
  }
  while (tasks > 0) {
    finished.expires_at(Clock::time_point::max());
    co_await finished.async_wait(kNoThrow);
  }
}

Task<void> Http2Session::Impl::write_loop(std::shared_ptr<Impl> self) {
  (void)self;  // keeps the session alive
  std::string out;
  tcp::socket& socket = stream.socket();
  while (!dead) {
    kicked = false;
    out.clear();
    bool failed = false;
    while (out.size() < kSendBatch) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session, &data);
      if (n < 0) {
        spdlog::warn("http2 {}: {}", remote, nghttp2_strerror(static_cast<int>(n)));
        failed = true;
        break;
      }
      if (n == 0) break;
      out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    if (!out.empty() && !dead) {
      writing = true;
      write_since = Clock::now();
      auto [ec, written] = co_await asio::async_write(socket, asio::buffer(out), kNoThrow);
      writing = false;
      if (ec) failed = true;
    }
    if (failed) {
      close_socket();
      break;
    }
    if (!out.empty()) continue;
    if (!nghttp2_session_want_read(session) && !nghttp2_session_want_write(session)) {
      close_socket();  // GOAWAY exchanged and no stream left, or the session ended on an error
      break;
    }
    if (!kicked) {
      writer_wake.expires_at(Clock::time_point::max());
      co_await writer_wake.async_wait(kNoThrow);
    }
  }
  task_done();
}

// Idle connections, stalled writes and slow request bodies.
Task<void> Http2Session::Impl::watchdog_loop(std::shared_ptr<Impl> self) {
  (void)self;  // keeps the session alive
  while (!dead) {
    auto now = Clock::now();
    auto next = now + std::min({options.idle_timeout, options.write_timeout, options.body_timeout});
    if (writing) {
      auto deadline = write_since + options.write_timeout;
      if (now >= deadline) {
        spdlog::debug("http2 {}: write timed out; closing the connection", remote);
        close_socket();
        break;
      }
      next = std::min(next, deadline);
    }
    if (streams.empty() && handlers == 0) {
      auto deadline = last_activity + options.idle_timeout;
      if (now >= deadline) {
        if (going_away) {
          close_socket();  // the GOAWAY did not end it in time
          break;
        }
        go_away(NGHTTP2_NO_ERROR);
        last_activity = now;
        deadline = now + options.idle_timeout;
      }
      next = std::min(next, deadline);
    }
    std::vector<std::shared_ptr<Stream>> late;
    bool stalled_headers = false;
    for (auto& [id, s] : streams) {
      if (s->request_complete || s->answered_early) continue;
      if (now < s->deadline) {
        next = std::min(next, s->deadline);
      } else if (s->headers_done) {
        late.push_back(s);
      } else {
        stalled_headers = true;  // a header block must be contiguous: the connection is stuck
      }
    }
    if (stalled_headers) {
      spdlog::debug("http2 {}: request headers did not arrive in time; closing the connection", remote);
      close_socket();
      break;
    }
    for (auto& s : late) {
      answer_early(*s, Error(ErrorCode::RequestTimeout, "The request body did not arrive within " +
                                                            std::to_string(options.body_timeout.count() / 1000) +
                                                            " seconds; send it faster."));
    }
    watchdog.expires_at(next);
    co_await watchdog.async_wait(kNoThrow);
  }
  task_done();
}

void Http2Session::Impl::go_away(uint32_t error_code) {
  if (going_away || dead) return;
  going_away = true;
  nghttp2_submit_goaway(session, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session), error_code,
                        nullptr, 0);
  kick();
}

void Http2Session::Impl::close_socket() {
  if (dead) return;
  dead = true;
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.socket().close(ignored);
  for (auto& [id, s] : streams) {
    s->closed = true;
    wake(*s);
  }
  writer_wake.cancel();
  watchdog.cancel();
}

// ---- Requests --------------------------------------------------------------------------------

int Http2Session::Impl::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto& self = *static_cast<Impl*>(user);
  if (self.deleting || frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto s = std::make_shared<Stream>(frame->hd.stream_id, self.executor);
  s->request.remote_address = self.remote;
  s->deadline = Clock::now() + self.options.idle_timeout;
  self.streams[s->id] = std::move(s);
  return 0;
}

int Http2Session::Impl::on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name_bytes,
                                  size_t namelen, const uint8_t* value_bytes, size_t valuelen, uint8_t,
                                  void* user) {
  auto& self = *static_cast<Impl*>(user);
  if (self.deleting || frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;  // request trailers are not kept (nor are they by the HTTP/1.1 server)
  }
  Stream* s = self.find(frame->hd.stream_id);
  if (!s || s->headers_too_large) return 0;
  s->header_bytes += namelen + valuelen + 32;  // the HTTP/2 header list size (RFC 9113 §6.5.2)
  if (s->header_bytes > self.options.max_header_bytes) {
    s->headers_too_large = true;
    return 0;
  }
  std::string_view name(reinterpret_cast<const char*>(name_bytes), namelen);
  std::string_view value(reinterpret_cast<const char*>(value_bytes), valuelen);
  Request& req = s->request;
  if (name == ":method") {
    req.method = std::string(value);
  } else if (name == ":path") {
    size_t q = value.find('?');
    req.path = std::string(value.substr(0, q));
    if (q != std::string_view::npos) req.query = std::string(value.substr(q + 1));
  } else if (name == ":authority") {
    s->authority = std::string(value);
    // Kept as a header too: SigV4 clients over HTTP/2 (the JS SDK) sign ':authority' by that name.
    req.headers.push_back({std::string(name), std::string(value)});
  } else if (!name.empty() && name.front() == ':') {
    // :scheme (and :protocol): nothing to keep
  } else {
    req.headers.push_back({std::string(name), std::string(value)});
  }
  return 0;
}

int Http2Session::Impl::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto& self = *static_cast<Impl*>(user);
  if (self.deleting) return 0;
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
  Stream* s = self.find(frame->hd.stream_id);
  if (!s) return 0;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) self.request_headers_done(*s);
  if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) self.request_done(*s);
  return 0;
}

int Http2Session::Impl::on_data_chunk_recv(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                                           size_t len, void* user) {
  auto& self = *static_cast<Impl*>(user);
  if (self.deleting) return 0;
  Stream* s = self.find(stream_id);
  if (!s || s->answered_early || !s->headers_done) return 0;
  if (s->request.body.size() + len > s->body_limit) {
    self.answer_early(*s, Error(ErrorCode::RequestEntityTooLarge,
                                "The request body exceeds the " + std::to_string(s->body_limit) +
                                    "-byte limit of this operation; send a smaller body."));
    return 0;
  }
  s->request.body.append(reinterpret_cast<const char*>(data), len);
  return 0;
}

void Http2Session::Impl::request_headers_done(Stream& s) {
  s.headers_done = true;
  Request& req = s.request;
  if (!s.authority.empty() && !req.header("host")) req.headers.push_back({"host", s.authority});
  if (s.headers_too_large) {
    answer_early(s, Error(ErrorCode::RequestHeaderFieldsTooLarge,
                          "The request headers exceed " + std::to_string(options.max_header_bytes) +
                              " bytes; send fewer or shorter headers."));
    return;
  }
  s.body_limit = handler.body_limit(req);
  s.deadline = Clock::now() + options.body_timeout;
  if (auto length = req.header("content-length")) {
    size_t declared = 0;
    bool numeric = !length->empty() && length->size() <= 19 &&
                   std::all_of(length->begin(), length->end(), [](char c) { return c >= '0' && c <= '9'; });
    if (numeric) declared = std::stoull(std::string(*length));
    if (numeric && declared > s.body_limit) {
      answer_early(s, Error(ErrorCode::RequestEntityTooLarge,
                            "The request body exceeds the " + std::to_string(s.body_limit) +
                                "-byte limit of this operation; send a smaller body."));
    }
  }
}

void Http2Session::Impl::request_done(Stream& s) {
  if (s.request_complete) return;
  s.request_complete = true;
  if (s.answered_early || dead) return;
  auto it = streams.find(s.id);
  if (it == streams.end()) return;
  if (handlers >= kMaxHandlers) {
    spdlog::warn("http2 {}: {} requests still being handled; refusing stream {}", remote, handlers, s.id);
    reset(s, NGHTTP2_REFUSED_STREAM);
    return;
  }
  ++tasks;
  ++handlers;
  asio::co_spawn(executor, serve_stream(shared_from_this(), it->second), asio::detached);
}

// The server's own answer to a request it will not hand to the handler.
void Http2Session::Impl::answer_early(Stream& s, const Error& error) {
  if (s.answered_early || s.submitted) return;
  s.answered_early = true;
  s.request.body.clear();
  s.request.body.shrink_to_fit();
  Response res = handler.reject(s.request, error);
  s.pending = std::move(res.body);
  submit_whole(s, res);
}

Task<void> Http2Session::Impl::serve_stream(std::shared_ptr<Impl> self, std::shared_ptr<Stream> s) {
  (void)self;  // keeps the session alive
  StreamWriter writer(*this, *s);
  co_await handle_guarded(handler, s->request, writer);
  if (writer.started() && !s->response_complete && !s->closed && !dead && !s->eof) {
    reset(*s, NGHTTP2_INTERNAL_ERROR);  // begun but never ended: the client must not take it as whole
  }
  --handlers;
  last_activity = Clock::now();
  if (streams.empty() && handlers == 0) watchdog.cancel();  // re-arm the idle deadline
  task_done();
}

// ---- Responses -------------------------------------------------------------------------------

bool Http2Session::Impl::submit(Stream& s, int status, const std::vector<Header>& headers,
                                std::optional<size_t> content_length) {
  if (s.closed || dead || s.submitted) return false;
  FieldBlock block;
  block.add_pseudo(":status", std::to_string(status));
  block.add(headers);
  if (content_length) block.add_pseudo("content-length", std::to_string(*content_length));
  nghttp2_data_provider provider{};
  provider.source.ptr = &s;
  provider.read_callback = &Impl::read_body;
  bool body = !s.eof || s.unsent() > 0;
  const auto& nv = block.nv();
  int rv = nghttp2_submit_response(session, s.id, nv.data(), nv.size(), body ? &provider : nullptr);
  if (rv != 0) {
    spdlog::warn("http2 {}: cannot answer stream {}: {}", remote, s.id, nghttp2_strerror(rv));
    reset(s, NGHTTP2_INTERNAL_ERROR);
    return false;
  }
  s.submitted = true;
  kick();
  return true;
}

ssize_t Http2Session::Impl::read_body(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                                      uint32_t* data_flags, nghttp2_data_source* source, void*) {
  auto& s = *static_cast<Stream*>(source->ptr);
  size_t n = std::min(length, s.unsent());
  if (n > 0) {
    std::memcpy(buf, s.pending.data() + s.pending_off, n);
    s.pending_off += n;
    if (s.pending_off == s.pending.size()) {
      s.pending.clear();
      s.pending_off = 0;
    }
    if (s.unsent() <= kPendingHighWater) wake(s);
  }
  if (s.unsent() > 0) return static_cast<ssize_t>(n);
  if (!s.eof) {
    if (n > 0) return static_cast<ssize_t>(n);
    s.deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  if (!s.trailers.empty()) {
    const auto& nv = s.trailers.nv();
    if (nghttp2_submit_trailer(session, stream_id, nv.data(), nv.size()) == 0) {
      *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
  }
  return static_cast<ssize_t>(n);
}

void Http2Session::Impl::resume(Stream& s) {
  if (s.deferred && !s.closed && !dead) {
    s.deferred = false;
    nghttp2_session_resume_data(session, s.id);
  }
  kick();
}

void Http2Session::Impl::reset(Stream& s, uint32_t error_code) {
  if (s.closed || dead) return;
  nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s.id, error_code);
  s.closed = true;
  wake(s);
  kick();
}

// Waits until the stream's state changes; false if nothing happened for the write timeout.
Task<bool> Http2Session::Impl::wait(Stream& s) {
  s.wake.expires_after(options.write_timeout);
  auto [ec] = co_await s.wake.async_wait(kNoThrow);
  co_return ec == asio::error::operation_aborted;
}

// Waits until the response's last frame is out (true) or the stream is gone (false).
Task<bool> Http2Session::Impl::wait_complete(Stream& s) {
  while (!s.response_complete && !gone(s)) {
    bool woken = co_await wait(s);
    if (!woken && !s.response_complete) {
      spdlog::debug("http2 {}: stream {} made no progress for {} ms; resetting it", remote, s.id,
                    options.write_timeout.count());
      reset(s, NGHTTP2_CANCEL);
    }
  }
  co_return s.response_complete;
}

bool Http2Session::Impl::submit_whole(Stream& s, const Response& response) {
  s.pending_off = 0;
  s.eof = true;
  int status = response.status;
  bool no_content = status < 200 || status == 204 || status == 304;
  std::optional<size_t> length;
  if (!no_content) length = s.pending.size();
  if (no_content || s.request.method == "HEAD") s.pending.clear();
  return submit(s, status, response.headers, length);
}

Task<bool> Http2Session::Impl::send(Stream& s, Response response) {
  if (gone(s) || s.submitted) co_return false;
  s.pending = std::move(response.body);
  response.body.clear();
  if (!submit_whole(s, response)) co_return false;
  bool complete = co_await wait_complete(s);
  co_return complete;
}

Task<bool> Http2Session::Impl::write(Stream& s, std::string_view bytes) {
  if (gone(s) || !s.submitted || s.eof) co_return false;
  if (bytes.empty()) co_return true;
  if (s.pending_off > 0 && s.pending_off >= s.pending.size() / 2) {
    s.pending.erase(0, s.pending_off);
    s.pending_off = 0;
  }
  s.pending.append(bytes);
  resume(s);
  while (!gone(s) && s.unsent() > kPendingHighWater) {
    bool woken = co_await wait(s);
    if (!woken && s.unsent() > kPendingHighWater) {
      spdlog::debug("http2 {}: stream {} made no progress for {} ms; resetting it", remote, s.id,
                    options.write_timeout.count());
      reset(s, NGHTTP2_CANCEL);
    }
  }
  co_return !gone(s);
}

Task<bool> Http2Session::Impl::end(Stream& s, std::vector<Header> trailers) {
  if (gone(s) || !s.submitted || s.eof) co_return false;
  s.eof = true;
  s.trailers.add(trailers);
  resume(s);
  bool complete = co_await wait_complete(s);
  co_return complete;
}

int Http2Session::Impl::on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
  auto& self = *static_cast<Impl*>(user);
  if (self.deleting) return 0;
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
  if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
  Stream* s = self.find(frame->hd.stream_id);
  if (!s) return 0;
  s->response_complete = true;
  wake(*s);
  // Answered before the request was complete (413 …): the client may stop sending (RFC 9113 §8.1).
  if (nghttp2_session_get_stream_remote_close(session, s->id) == 0) {
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR);
  }
  return 0;
}

int Http2Session::Impl::on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user) {
  auto& self = *static_cast<Impl*>(user);
  if (self.deleting) return 0;
  auto it = self.streams.find(stream_id);
  if (it == self.streams.end()) return 0;
  Stream& s = *it->second;
  if (!s.response_complete && error_code != NGHTTP2_NO_ERROR) {
    spdlog::debug("http2 {}: stream {} reset: {}", self.remote, stream_id, nghttp2_http2_strerror(error_code));
  }
  s.closed = true;
  wake(s);
  self.streams.erase(it);
  self.last_activity = Clock::now();
  if (self.streams.empty() && self.handlers == 0) self.watchdog.cancel();  // re-arm the idle deadline
  return 0;
}

int Http2Session::Impl::on_error(nghttp2_session*, int, const char* msg, size_t len, void* user) {
  auto& self = *static_cast<Impl*>(user);
  spdlog::debug("http2 {}: {}", self.remote, std::string_view(msg, len));
  return 0;
}

// ---- Http2Session ----------------------------------------------------------------------------

Http2Session::Http2Session(boost::beast::tcp_stream& stream, RequestHandler& handler, const ServerOptions& options,
                           std::string remote)
    : impl_(std::make_shared<Impl>(stream, handler, options, std::move(remote))) {
  impl_->init();
}

Http2Session::~Http2Session() = default;

Task<void> Http2Session::run(std::string received) {
  auto impl = impl_;
  co_await impl->run(std::move(received));
}

void Http2Session::shutdown() { impl_->go_away(NGHTTP2_NO_ERROR); }

}  // namespace tollgate::http
