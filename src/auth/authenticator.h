// The auth stage: decides who sent a request, or answers with the error AWS would give.
//
// Accepted forms:
//   * SigV4 in the Authorization header (AWS4-HMAC-SHA256), for every service;
//   * SigV4 in the query string (presigned URL), for every service;
//   * `Authorization: Bearer <Bedrock API key>`, only where the caller allows it (bedrock and
//     bedrock-runtime; ce and budgets are SigV4 only, as on AWS).
//
// SigV4 checks, in order: the Authorization header is well-formed (IncompleteSignature); the
// request carries X-Amz-Date or Date (IncompleteSignature); `host` is signed (IncompleteSignature);
// the credential scope names expected_service and the request's date (InvalidSignature); the access
// key is known (UnrecognizedClient); the request time is within 15 minutes of the clock, or within
// X-Amz-Expires for a presigned URL (InvalidSignature); the signature matches, compared in constant
// time (InvalidSignature); a declared x-amz-content-sha256 other than UNSIGNED-PAYLOAD matches the
// body (InvalidSignature). Any well-formed region is accepted. X-Amz-Security-Token is only
// canonicalised (there is no STS here). Error messages are AWS's words for the client; the
// canonical request and string to sign the server computed go to Error::detail, for the log.
//
// Thread-safety: immutable after construction; authenticate() may be called concurrently. The
// clock must outlive the Authenticator.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/principal.h"
#include "core/clock.h"
#include "core/result.h"
#include "http/message.h"

namespace tollgate::auth {

struct AuthContext {
  Principal principal;
  std::string region;   // from the credential scope, or default_region for Bearer
  std::string service;  // from the credential scope, or expected_service for Bearer
};

class Authenticator {
 public:
  // Throws StartupError when two access keys share an id or two API keys share a token.
  Authenticator(std::vector<AccessKeyCredential> access_keys, std::vector<ApiKeyCredential> api_keys,
                const Clock& clock, std::string default_region);

  // expected_service: SigV4 signing name of the API called ("bedrock" for both bedrock and
  // bedrock-runtime, "ce", "budgets"). bearer_allowed: whether `Authorization: Bearer <key>` is
  // accepted (true for bedrock/bedrock-runtime only).
  Result<AuthContext> authenticate(const http::Request& request, std::string_view expected_service,
                                   bool bearer_allowed) const;

 private:
  struct SignedClaim;  // what the request asserts: parsed credential, date, presign expiry

  Result<AuthContext> authenticate_bearer(std::string_view token, std::string_view expected_service,
                                          bool bearer_allowed) const;
  Result<SignedClaim> header_claim(const http::Request& request, std::string_view authorization) const;
  Result<SignedClaim> presigned_claim(const http::Request& request) const;
  Result<AuthContext> verify(const http::Request& request, const SignedClaim& claim,
                             std::string_view expected_service) const;
  static Status check_scope(const SignedClaim& claim, std::string_view expected_service);
  Status check_time(const SignedClaim& claim) const;
  static Status check_signature(const http::Request& request, const SignedClaim& claim,
                                const AccessKeyCredential& credential);

  std::unordered_map<std::string, AccessKeyCredential> access_keys_;  // by access key id
  std::unordered_map<std::string, ApiKeyCredential> api_keys_;        // by sha256 of the token
  const Clock& clock_;
  std::string default_region_;
};

}  // namespace tollgate::auth
