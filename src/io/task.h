// Task<T>: the coroutine type of tollgate's asynchronous stages (a Boost.Asio
// awaitable). This header is deliberately small; the rest of Asio stays in io/
// and http/ .cpp files.
#pragma once

#include <boost/asio/awaitable.hpp>

namespace tollgate {

template <class T = void>
using Task = boost::asio::awaitable<T>;

}  // namespace tollgate
