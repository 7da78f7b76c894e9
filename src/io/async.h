// Small asynchronous utilities for stages that must not include Asio: timers and
// bridging a callback-style completion (e.g. the ledger's commit callback, which
// runs on another thread) into a coroutine.
#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include "core/result.h"
#include "io/task.h"

namespace tollgate {

// Suspends the calling coroutine for `duration`.
Task<void> sleep_for(std::chrono::milliseconds duration);

// Runs `work` on a small pool of threads kept for blocking calls (SQLite writes
// that fsync, say), so that the io thread serving other connections meanwhile
// is not held up; resumes the caller on its own executor when `work` returned
// (with ok: what `work` computes, it hands back through its captures).
Task<Status> run_blocking(std::function<void()> work);

// Starts an operation that reports completion by calling the callback it is
// given (from any thread, exactly once); resumes the caller on its own executor
// with the reported status.
using StatusCallback = std::function<void(const Status&)>;
Task<Status> await_callback(std::function<void(StatusCallback)> start);

// Runs the coroutines that `work` makes concurrently on a private event loop on the calling thread, and
// returns when all have finished: for threads outside the server (the budget notifier's deliveries).
// Exceptions escaping a coroutine are swallowed; coroutines report through their captures.
void run_to_completion(std::vector<std::function<Task<void>()>> work);

}  // namespace tollgate
