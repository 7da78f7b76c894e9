// Bedrock's errors as tollgate::Error (pure functions).
//
// Names are matched case-insensitively, so the in-stream lowerCamel forms (throttlingException)
// match too:
//   ValidationException → Validation, AccessDeniedException → AccessDenied,
//   ResourceNotFoundException → ResourceNotFound, ThrottlingException → Throttling,
//   ServiceQuotaExceededException → ServiceQuotaExceeded, ModelTimeoutException → ModelTimeout,
//   ModelErrorException → ModelError, ModelStreamErrorException → ModelStreamError,
//   ModelNotReadyException → ModelNotReady, InternalServerException → InternalServer,
//   ServiceUnavailableException → ServiceUnavailable, SerializationException → SerializationFailure.
//   Refused credentials (UnrecognizedClientException, InvalidSignatureException,
//   IncompleteSignatureException, MissingAuthenticationTokenException, ExpiredTokenException, …) →
//   InternalServer, saying the gateway's upstream credentials were refused; the upstream's words go
//   to the detail. Other names fall back on the HTTP status (400 Validation, 403 AccessDenied,
//   404 ResourceNotFound, 408 ModelTimeout, 424 ModelError, 429 Throttling, 503 ServiceUnavailable,
//   other 4xx Validation, anything else InternalServer), or for in-stream messages on
//   ModelStreamError (exception) / InternalServer (error).
// The message is the upstream's ("message", else "Message", in the JSON body or payload), or a
// sentence naming the error when it sent none. The detail names the upstream name and status.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "http/message.h"

namespace tollgate::provider::bedrock {

// The error code as botocore reads it: cut at the first ':', then what follows the last '#'.
std::string clean_error_name(std::string_view raw);

// A non-2xx answer: code from x-amzn-ErrorType, else the body's code/Code/__type.
Error error_from_response(int status, const std::vector<http::Header>& headers, std::string_view body);

// An in-stream `exception` message (:exception-type, payload {"message": ...}).
Error error_from_stream_exception(std::string_view exception_type, std::string_view payload);

// An in-stream `error` message (:error-code, :error-message).
Error error_from_stream_error(std::string_view code, std::string_view message);

// A failure of the HTTP client (neutral codes) as the error a caller of Bedrock should see:
// RequestTimeout → ModelTimeout, ServiceUnavailable → ServiceUnavailable, else InternalServer.
Error error_from_transport(const Error& failure);

}  // namespace tollgate::provider::bedrock
