// The one error type of tollgate. Every failure a client can see is an Error:
// an ErrorCode (which fixes the AWS error name and HTTP status through the table
// in error.cpp), a message for the client that says what to fix, and an
// optional detail for the log. Only the HTTP edge serialises it.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace tollgate {

enum class ErrorCode {
  // Bedrock / common AWS service errors.
  Validation,
  ResourceNotFound,
  Conflict,
  TooManyTags,
  AccessDenied,
  Throttling,
  ServiceQuotaExceeded,
  InternalServer,
  ServiceUnavailable,
  // Bedrock runtime errors.
  ModelTimeout,
  ModelError,
  ModelStreamError,
  ModelNotReady,
  // Cost Explorer errors.
  DataUnavailable,
  InvalidNextToken,
  BackfillLimitExceeded,
  LimitExceeded,
  // Budgets errors.
  InvalidParameter,
  NotFound,
  DuplicateRecord,
  CreationLimitExceeded,
  // Protocol-level errors.
  UnknownOperation,
  SerializationFailure,
  RequestEntityTooLarge,
  RequestHeaderFieldsTooLarge,
  RequestTimeout,
  // Authentication errors.
  UnrecognizedClient,
  InvalidSignature,
  IncompleteSignature,
  MissingAuthenticationToken,
};

struct ErrorInfo {
  std::string_view aws_name;  // e.g. "ValidationException"
  int http_status;
  bool retryable;
};

// The single table: code → AWS error name → HTTP status → retryable.
const ErrorInfo& error_info(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message, std::string detail = {})
      : code_(code), message_(std::move(message)), detail_(std::move(detail)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& detail() const { return detail_; }
  std::string_view aws_name() const { return error_info(code_).aws_name; }
  int http_status() const { return error_info(code_).http_status; }

 private:
  ErrorCode code_;
  std::string message_;
  std::string detail_;
};

// Used only at start-up and configuration load, where failing is the answer.
class StartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace tollgate
