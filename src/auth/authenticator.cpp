#include "auth/authenticator.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include "auth/sigv4.h"
#include "core/time_format.h"

namespace tollgate::auth {
namespace {

using namespace std::chrono_literals;

// How far the request time may be from the server's clock, either way (AWS: 15 minutes).
constexpr auto kMaxClockSkew = 15min;

constexpr std::string_view kInvalidToken = "The security token included in the request is invalid.";
constexpr std::string_view kSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access "
    "Key and signing method. Consult the service documentation for details.";

std::string_view trim(std::string_view s) {
  constexpr std::string_view kWhitespace = " \t\r\n";
  size_t begin = s.find_first_not_of(kWhitespace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kWhitespace) - begin + 1);
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The token of "Bearer <token>" (scheme case-insensitive), or nullopt for any other scheme.
std::optional<std::string_view> bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() < kScheme.size() || lowercase(authorization.substr(0, kScheme.size())) != kScheme) {
    return std::nullopt;
  }
  std::string_view rest = authorization.substr(kScheme.size());
  if (!rest.empty() && rest.front() != ' ' && rest.front() != '\t') return std::nullopt;
  return trim(rest);
}

Error incomplete(std::string message) { return Error(ErrorCode::IncompleteSignature, std::move(message)); }
Error invalid(std::string message, std::string detail = {}) {
  return Error(ErrorCode::InvalidSignature, std::move(message), std::move(detail));
}

// The signing key of (secret, day, Region, service): four HMACs, the same for every request of that day
// and scope, so each thread keeps the last few it derived.
const std::string& signing_key(std::string_view secret, std::string_view date, std::string_view region,
                               std::string_view service) {
  struct Derived {
    std::string secret, date, region, service, key;
  };
  thread_local std::array<Derived, 4> derived;
  thread_local size_t oldest = 0;
  for (const Derived& d : derived) {
    if (!d.key.empty() && d.date == date && d.region == region && d.service == service && d.secret == secret) {
      return d.key;
    }
  }
  Derived& slot = derived[oldest];
  oldest = (oldest + 1) % derived.size();
  slot = {std::string(secret), std::string(date), std::string(region), std::string(service),
          sigv4::derive_signing_key(secret, date, region, service)};
  return slot.key;
}

// A declared x-amz-content-sha256 (other than UNSIGNED-PAYLOAD) must be the hash of the body
// actually received, or the body is not covered by the signature.
Status check_declared_payload_hash(const http::Request& request) {
  auto declared = request.header("x-amz-content-sha256");
  if (!declared || trim(*declared) == sigv4::kUnsignedPayload) return {};
  if (lowercase(trim(*declared)) == sigv4::sha256_hex(request.body)) return {};
  return invalid("The provided 'x-amz-content-sha256' header does not match what was computed.",
                 "declared " + std::string(*declared) + ", body hash " + sigv4::sha256_hex(request.body));
}

}  // namespace

struct Authenticator::SignedClaim {
  sigv4::ParsedAuthorization authorization;
  std::string amz_date;  // the timestamp as it enters the string to sign
  TimePoint time;
  bool presigned = false;
  std::int64_t expires_seconds = 0;  // presigned only
};

Authenticator::Authenticator(std::vector<AccessKeyCredential> access_keys, std::vector<ApiKeyCredential> api_keys,
                             const Clock& clock, std::string default_region)
    : clock_(clock), default_region_(std::move(default_region)) {
  for (auto& key : access_keys) {
    std::string id = key.access_key_id;
    if (!access_keys_.emplace(id, std::move(key)).second) throw StartupError("duplicate access key id " + id);
  }
  for (auto& key : api_keys) {
    std::string id = key.id;
    if (!api_keys_.emplace(sigv4::sha256(key.key), std::move(key)).second) {
      throw StartupError("API key " + id + " has the same token as another API key");
    }
  }
}

Result<AuthContext> Authenticator::authenticate(const http::Request& request, std::string_view expected_service,
                                                bool bearer_allowed) const {
  std::string_view authorization = trim(request.header("authorization").value_or(""));
  if (authorization.empty()) {
    if (!sigv4::looks_presigned(request.query)) {
      return Error(ErrorCode::MissingAuthenticationToken, "Missing Authentication Token",
                   "no Authorization header and no presigned query parameters");
    }
    auto claim = presigned_claim(request);
    if (!claim.ok()) return std::move(claim).error();
    return verify(request, *claim, expected_service);
  }
  if (auto token = bearer_token(authorization)) {
    return authenticate_bearer(*token, expected_service, bearer_allowed);
  }
  auto claim = header_claim(request, authorization);
  if (!claim.ok()) return std::move(claim).error();
  return verify(request, *claim, expected_service);
}

Result<AuthContext> Authenticator::authenticate_bearer(std::string_view token, std::string_view expected_service,
                                                       bool bearer_allowed) const {
  if (!bearer_allowed) {
    return incomplete("The '" + std::string(expected_service) +
                      "' service accepts only AWS Signature Version 4 authentication; Bearer tokens (API keys) "
                      "are not supported. Sign the request with SigV4.");
  }
  auto it = token.empty() ? api_keys_.end() : api_keys_.find(sigv4::sha256(token));
  if (it == api_keys_.end() || !sigv4::constant_time_equals(it->second.key, token)) {
    return Error(ErrorCode::UnrecognizedClient, std::string(kInvalidToken), "unknown bearer token");
  }
  const ApiKeyCredential& key = it->second;
  return AuthContext{Principal{Principal::Kind::ApiKey, key.account_id, key.id, key.name, key.policy}, default_region_,
                     std::string(expected_service)};
}

Result<Authenticator::SignedClaim> Authenticator::header_claim(const http::Request& request,
                                                               std::string_view authorization) const {
  auto parsed = sigv4::parse_authorization(authorization);
  if (!parsed.ok()) return std::move(parsed).error();
  SignedClaim claim{.authorization = std::move(*parsed)};
  if (auto amz_date = request.header("x-amz-date")) {
    auto time = parse_amz_date(trim(*amz_date));
    if (!time) {
      return incomplete("Date must be in ISO-8601 'basic format'. Got '" + std::string(*amz_date) +
                        "'. See http://en.wikipedia.org/wiki/ISO_8601");
    }
    claim.time = *time;
    claim.amz_date = std::string(trim(*amz_date));
  } else if (auto date = request.header("date")) {
    auto time = sigv4::parse_http_date(*date);
    if (!time) {
      return incomplete("Date header must be an RFC 7231 date such as 'Sun, 30 Aug 2015 12:36:00 GMT'. Got '" +
                        std::string(*date) + "'.");
    }
    claim.time = *time;
    claim.amz_date = format_amz_date(*time);
  } else {
    return incomplete(
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        "Authorization=" +
        std::string(authorization));
  }
  return claim;
}

Result<Authenticator::SignedClaim> Authenticator::presigned_claim(const http::Request& request) const {
  auto parsed = sigv4::parse_presigned_query(request.query);
  if (!parsed.ok()) return std::move(parsed).error();
  auto time = parse_amz_date(parsed->amz_date);
  if (!time) {
    return incomplete("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\". Got '" +
                      parsed->amz_date + "'.");
  }
  return SignedClaim{.authorization = std::move(parsed->authorization),
                     .amz_date = std::move(parsed->amz_date),
                     .time = *time,
                     .presigned = true,
                     .expires_seconds = parsed->expires_seconds};
}

Status Authenticator::check_time(const SignedClaim& claim) const {
  TimePoint now = clock_.now();
  if (claim.time > now + kMaxClockSkew) {
    return invalid("Signature not yet current: " + claim.amz_date + " is still later than " +
                   format_amz_date(now + kMaxClockSkew) + " (" + format_amz_date(now) + " + 15 min.)");
  }
  if (!claim.presigned && claim.time < now - kMaxClockSkew) {
    return invalid("Signature expired: " + claim.amz_date + " is now earlier than " +
                   format_amz_date(now - kMaxClockSkew) + " (" + format_amz_date(now) + " - 15 min.)");
  }
  auto expires = std::chrono::seconds(claim.expires_seconds);
  if (claim.presigned && claim.time + expires < now) {
    return invalid("Signature expired: " + claim.amz_date + " is now earlier than " + format_amz_date(now - expires) +
                   " (" + format_amz_date(now) + " - " + std::to_string(claim.expires_seconds) + " sec.)");
  }
  return {};
}

// Host signed, scope naming the expected service and the request's own date.
Status Authenticator::check_scope(const SignedClaim& claim, std::string_view expected_service) {
  const auto& signed_headers = claim.authorization.signed_headers;
  // Over HTTP/2 the AWS SDK for JavaScript signs the authority as ':authority' (no 'host').
  auto signs = [&](std::string_view name) {
    return std::find(signed_headers.begin(), signed_headers.end(), name) != signed_headers.end();
  };
  if (!signs("host") && !signs(":authority")) {
    return incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  if (claim.authorization.service != expected_service) {
    return invalid("Credential should be scoped to correct service: '" + std::string(expected_service) + "'.");
  }
  std::string_view scope_day = claim.authorization.date;
  std::string_view request_day = std::string_view(claim.amz_date).substr(0, 8);
  if (scope_day != request_day) {
    return invalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
                   std::string(scope_day) + "' != '" + std::string(request_day) + "', from '" + claim.amz_date + "'.");
  }
  return {};
}

// Recomputes the signature with the credential's secret and compares in constant time; on a
// mismatch the canonical request and string to sign go to the detail, for the log.
Status Authenticator::check_signature(const http::Request& request, const SignedClaim& claim,
                                      const AccessKeyCredential& credential) {
  const sigv4::ParsedAuthorization& auth = claim.authorization;
  std::string creq = sigv4::canonical_request(request, auth.signed_headers, sigv4::payload_hash(request),
                                              {.normalize_path = true, .presigned = claim.presigned});
  std::string sts = sigv4::string_to_sign(claim.amz_date, auth.credential_scope(), creq);
  const std::string& key = signing_key(credential.secret_access_key, auth.date, auth.region, auth.service);
  if (!sigv4::constant_time_equals(sigv4::sign(key, sts), auth.signature)) {
    return invalid(std::string(kSignatureMismatch),
                   "access key " + auth.access_key_id + "\ncanonical request:\n" + creq + "\nstring to sign:\n" + sts);
  }
  return check_declared_payload_hash(request);
}

Result<AuthContext> Authenticator::verify(const http::Request& request, const SignedClaim& claim,
                                          std::string_view expected_service) const {
  TOLLGATE_TRY(check_scope(claim, expected_service));
  auto key = access_keys_.find(claim.authorization.access_key_id);
  if (key == access_keys_.end()) {
    return Error(ErrorCode::UnrecognizedClient, std::string(kInvalidToken),
                 "unknown access key id " + claim.authorization.access_key_id);
  }
  const AccessKeyCredential& credential = key->second;
  TOLLGATE_TRY(check_time(claim));
  TOLLGATE_TRY(check_signature(request, claim, credential));
  return AuthContext{Principal{Principal::Kind::AccessKey, credential.account_id, credential.access_key_id,
                               credential.name, credential.policy},
                     claim.authorization.region, claim.authorization.service};
}

}  // namespace tollgate::auth
