#include "provider/bedrock/errors.h"

#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <utility>

namespace tollgate::provider::bedrock {
namespace {

namespace json = boost::json;

constexpr std::array kNamedErrors = {
    std::pair{std::string_view("ValidationException"), ErrorCode::Validation},
    std::pair{std::string_view("AccessDeniedException"), ErrorCode::AccessDenied},
    std::pair{std::string_view("ResourceNotFoundException"), ErrorCode::ResourceNotFound},
    std::pair{std::string_view("ThrottlingException"), ErrorCode::Throttling},
    std::pair{std::string_view("ServiceQuotaExceededException"), ErrorCode::ServiceQuotaExceeded},
    std::pair{std::string_view("ModelTimeoutException"), ErrorCode::ModelTimeout},
    std::pair{std::string_view("ModelErrorException"), ErrorCode::ModelError},
    std::pair{std::string_view("ModelStreamErrorException"), ErrorCode::ModelStreamError},
    std::pair{std::string_view("ModelNotReadyException"), ErrorCode::ModelNotReady},
    std::pair{std::string_view("InternalServerException"), ErrorCode::InternalServer},
    std::pair{std::string_view("ServiceUnavailableException"), ErrorCode::ServiceUnavailable},
    std::pair{std::string_view("SerializationException"), ErrorCode::SerializationFailure},
};

// What AWS answers when it does not accept the signer's credentials.
constexpr std::array kCredentialErrors = {
    std::string_view("UnrecognizedClientException"), std::string_view("InvalidSignatureException"),
    std::string_view("IncompleteSignatureException"), std::string_view("MissingAuthenticationTokenException"),
    std::string_view("ExpiredTokenException"),        std::string_view("ExpiredToken"),
    std::string_view("InvalidClientTokenId"),         std::string_view("SignatureDoesNotMatch"),
    std::string_view("InvalidAccessKeyId"),           std::string_view("InvalidTokenException"),
};

bool iequals(std::string_view a, std::string_view b) { return http::header_name_equals(a, b); }

std::optional<ErrorCode> code_of_name(std::string_view name) {
  for (const auto& [known, code] : kNamedErrors) {
    if (iequals(known, name)) return code;
  }
  return std::nullopt;
}

bool is_credential_error(std::string_view name) {
  for (auto known : kCredentialErrors) {
    if (iequals(known, name)) return true;
  }
  return false;
}

ErrorCode code_of_status(int status) {
  switch (status) {
    case 400: return ErrorCode::Validation;
    case 403: return ErrorCode::AccessDenied;
    case 404: return ErrorCode::ResourceNotFound;
    case 408: return ErrorCode::ModelTimeout;
    case 424: return ErrorCode::ModelError;
    case 429: return ErrorCode::Throttling;
    case 503: return ErrorCode::ServiceUnavailable;
    default: return status >= 400 && status < 500 ? ErrorCode::Validation : ErrorCode::InternalServer;
  }
}

// The JSON object of a body or payload, if it is one.
std::optional<json::object> json_object(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

std::string string_member(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string message_of(const std::optional<json::object>& body) {
  if (!body) return {};
  std::string message = string_member(*body, "message");
  return message.empty() ? string_member(*body, "Message") : message;
}

std::string name_in_body(const std::optional<json::object>& body) {
  if (!body) return {};
  for (std::string_view key : {"code", "Code", "__type"}) {
    std::string name = string_member(*body, key);
    if (!name.empty()) return name;
  }
  return {};
}

Error credentials_refused(std::string_view name, std::string_view message, std::string_view where) {
  return Error(ErrorCode::InternalServer,
               "Bedrock refused the gateway's upstream credentials; the gateway's operator must fix them.",
               "bedrock " + std::string(where) + ": " + std::string(name) + ": " + std::string(message));
}

// `fallback` applies when the name is unknown; an empty message becomes a sentence naming the error.
Error mapped(std::string_view name, std::string message, ErrorCode fallback, std::string_view where) {
  if (is_credential_error(name)) return credentials_refused(name, message, where);
  ErrorCode code = code_of_name(name).value_or(fallback);
  std::string shown = name.empty() ? std::string("no error name") : std::string(name);
  if (message.empty()) message = "Bedrock answered with an error (" + shown + ").";
  return Error(code, std::move(message), "bedrock " + std::string(where) + ": " + shown);
}

}  // namespace

std::string clean_error_name(std::string_view raw) {
  std::string_view name = raw.substr(0, raw.find(':'));
  if (auto hash = name.rfind('#'); hash != std::string_view::npos) name.remove_prefix(hash + 1);
  while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  return std::string(name);
}

Error error_from_response(int status, const std::vector<http::Header>& headers, std::string_view body) {
  std::optional<json::object> parsed = json_object(body);
  std::string name;
  for (const auto& h : headers) {
    if (iequals(h.name, "x-amzn-ErrorType")) {
      name = clean_error_name(h.value);
      break;
    }
  }
  if (name.empty()) name = clean_error_name(name_in_body(parsed));
  std::string where = "HTTP " + std::to_string(status);
  return mapped(name, message_of(parsed), code_of_status(status), where);
}

Error error_from_stream_exception(std::string_view exception_type, std::string_view payload) {
  std::optional<json::object> parsed = json_object(payload);
  return mapped(clean_error_name(exception_type), message_of(parsed), ErrorCode::ModelStreamError,
                "in-stream exception");
}

Error error_from_stream_error(std::string_view code, std::string_view message) {
  return mapped(clean_error_name(code), std::string(message), ErrorCode::InternalServer, "in-stream error");
}

Error error_from_transport(const Error& failure) {
  switch (failure.code()) {
    case ErrorCode::RequestTimeout:
      return Error(ErrorCode::ModelTimeout, "Bedrock did not answer in time.", failure.message());
    case ErrorCode::ServiceUnavailable:
      return Error(ErrorCode::ServiceUnavailable, "Bedrock could not be reached; try again later.",
                   failure.message() + (failure.detail().empty() ? "" : " (" + failure.detail() + ")"));
    default:
      return Error(ErrorCode::InternalServer, "The gateway cannot call Bedrock.", failure.message());
  }
}

}  // namespace tollgate::provider::bedrock
