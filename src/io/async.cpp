#include "io/async.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <string>

namespace tollgate {

namespace asio = boost::asio;

Task<void> sleep_for(std::chrono::milliseconds duration) {
  if (duration.count() <= 0) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

// Not a coroutine itself: returns the awaitable that async_initiate makes, so
// that `start` is moved exactly once (GCC 12 mishandles moved-from coroutine
// parameters captured by lambdas).
Task<Status> await_callback(std::function<void(StatusCallback)> start) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(Status)>(
      [start = std::move(start)](auto handler) mutable {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto executor = asio::get_associated_executor(*shared);
        start([shared, executor](const Status& status) {
          asio::post(executor, [shared, status]() mutable { (*shared)(status); });
        });
      },
      asio::use_awaitable);
}

// Not a coroutine either, for the same reason as await_callback.
Task<Status> run_blocking(std::function<void()> work) {
  static asio::thread_pool pool(2);  // the control plane's writes are rare: two at once is plenty
  return await_callback([work = std::move(work)](StatusCallback done) mutable {
    asio::post(pool, [work = std::move(work), done = std::move(done)] {
      std::optional<std::string> failure;  // no exception may leave a pool thread: it ends the process
      try {
        work();
      } catch (const std::exception& e) {
        failure = e.what();
      } catch (...) {
        failure = "unknown exception";
      }
      done(failure ? Status(Error(ErrorCode::InternalServer, "The server encountered an internal error.", *failure))
                   : Status{});
    });
  });
}

void run_to_completion(std::vector<std::function<Task<void>()>> work) {
  asio::io_context io;
  for (auto& make : work) asio::co_spawn(io, make(), asio::detached);
  io.run();
}

}  // namespace tollgate
