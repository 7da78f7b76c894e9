// Result<T>: a value or an Error. Expected failures are values, not exceptions
// (std::expected arrives with C++23; this is the small subset tollgate uses).
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "core/error.h"

namespace tollgate {

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { assert(failed_); return error_; }
  Error&& error() && { assert(failed_); return std::move(error_); }

 private:
  Error error_{ErrorCode::InternalServer, {}};
  bool failed_ = false;
};

using Status = Result<void>;

}  // namespace tollgate

// Returns the error of a failed Result from the enclosing function.
#define TOLLGATE_TRY(expr)                          \
  do {                                              \
    if (auto&& _tollgate_r = (expr); !_tollgate_r.ok()) \
      return std::move(_tollgate_r).error();        \
  } while (0)
