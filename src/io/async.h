// Small asynchronous utilities for stages that must not include Asio: timers and
// bridging a callback-style completion (e.g. the ledger's commit callback, which
// runs on another thread) into a coroutine.
#pragma once

#include <chrono>
#include <functional>

#include "core/result.h"
#include "io/task.h"

namespace tollgate {

// Suspends the calling coroutine for `duration`.
Task<void> sleep_for(std::chrono::milliseconds duration);

// Starts an operation that reports completion by calling the callback it is
// given (from any thread, exactly once); resumes the caller on its own executor
// with the reported status.
using StatusCallback = std::function<void(const Status&)>;
Task<Status> await_callback(std::function<void(StatusCallback)> start);

}  // namespace tollgate
