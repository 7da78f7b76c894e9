#include "core/error.h"

#include <array>

namespace tollgate {
namespace {

constexpr std::array kErrorTable = {
    // clang-format off
    //            code                                  aws name                                 status retryable
    std::pair{ErrorCode::Validation,                  ErrorInfo{"ValidationException",                 400, false}},
    std::pair{ErrorCode::ResourceNotFound,            ErrorInfo{"ResourceNotFoundException",           404, false}},
    std::pair{ErrorCode::Conflict,                    ErrorInfo{"ConflictException",                   400, false}},
    std::pair{ErrorCode::TooManyTags,                 ErrorInfo{"TooManyTagsException",                400, false}},
    std::pair{ErrorCode::AccessDenied,                ErrorInfo{"AccessDeniedException",               403, false}},
    std::pair{ErrorCode::Throttling,                  ErrorInfo{"ThrottlingException",                 429, true}},
    std::pair{ErrorCode::ServiceQuotaExceeded,        ErrorInfo{"ServiceQuotaExceededException",       400, false}},
    std::pair{ErrorCode::InternalServer,              ErrorInfo{"InternalServerException",             500, true}},
    std::pair{ErrorCode::ServiceUnavailable,          ErrorInfo{"ServiceUnavailableException",         503, true}},
    std::pair{ErrorCode::ModelTimeout,                ErrorInfo{"ModelTimeoutException",               408, true}},
    std::pair{ErrorCode::ModelError,                  ErrorInfo{"ModelErrorException",                 424, false}},
    std::pair{ErrorCode::ModelStreamError,            ErrorInfo{"ModelStreamErrorException",           424, false}},
    std::pair{ErrorCode::ModelNotReady,               ErrorInfo{"ModelNotReadyException",              429, true}},
    std::pair{ErrorCode::DataUnavailable,             ErrorInfo{"DataUnavailableException",            400, false}},
    std::pair{ErrorCode::InvalidNextToken,            ErrorInfo{"InvalidNextTokenException",           400, false}},
    std::pair{ErrorCode::BackfillLimitExceeded,       ErrorInfo{"BackfillLimitExceededException",      400, false}},
    std::pair{ErrorCode::LimitExceeded,               ErrorInfo{"LimitExceededException",              429, true}},
    std::pair{ErrorCode::InvalidParameter,            ErrorInfo{"InvalidParameterException",           400, false}},
    std::pair{ErrorCode::NotFound,                    ErrorInfo{"NotFoundException",                   400, false}},
    std::pair{ErrorCode::DuplicateRecord,             ErrorInfo{"DuplicateRecordException",            400, false}},
    std::pair{ErrorCode::CreationLimitExceeded,       ErrorInfo{"CreationLimitExceededException",      400, false}},
    std::pair{ErrorCode::UnknownOperation,            ErrorInfo{"UnknownOperationException",           404, false}},
    std::pair{ErrorCode::SerializationFailure,        ErrorInfo{"SerializationException",              400, false}},
    std::pair{ErrorCode::RequestEntityTooLarge,       ErrorInfo{"ValidationException",                 413, false}},
    std::pair{ErrorCode::RequestHeaderFieldsTooLarge, ErrorInfo{"ValidationException",                 431, false}},
    std::pair{ErrorCode::RequestTimeout,              ErrorInfo{"RequestTimeoutException",             408, false}},
    std::pair{ErrorCode::UnrecognizedClient,          ErrorInfo{"UnrecognizedClientException",         403, false}},
    std::pair{ErrorCode::InvalidSignature,            ErrorInfo{"InvalidSignatureException",           403, false}},
    std::pair{ErrorCode::IncompleteSignature,         ErrorInfo{"IncompleteSignatureException",        400, false}},
    std::pair{ErrorCode::MissingAuthenticationToken,  ErrorInfo{"MissingAuthenticationTokenException", 403, false}},
    // clang-format on
};

}  // namespace

const ErrorInfo& error_info(ErrorCode code) {
  for (const auto& [c, info] : kErrorTable) {
    if (c == code) return info;
  }
  static constexpr ErrorInfo kUnknown{"InternalServerException", 500, true};
  return kUnknown;
}

}  // namespace tollgate
