#include "io/async.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

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

}  // namespace tollgate
