// AWS Signature Version 4, the server's side: the pieces of the canonical request, the string to
// sign, key derivation and signing, each a pure function on plain values (no I/O, no clock, no
// Asio) so that each can be tested on its own and fuzzed. The verifier that strings them together
// is Authenticator (authenticator.h); see shared/aws-reference.md §0.2 for the algorithm.
//
// Everything here is thread-safe (no shared state). Text is handled as bytes: paths, queries and
// header values may contain any byte, including NUL and non-UTF-8 sequences.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "http/message.h"

namespace tollgate::auth::sigv4 {

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kTerminator = "aws4_request";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
// The longest validity a presigned URL may ask for (X-Amz-Expires), as AWS: 7 days.
inline constexpr std::int64_t kMaxPresignExpirySeconds = 604800;

// ---- Authorization header / presigned query -------------------------------------------------

// What a client claims in `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=...` (or in the X-Amz-* query parameters of a presigned URL).
struct ParsedAuthorization {
  std::string access_key_id;
  std::string date;                         // credential scope date, YYYYMMDD
  std::string region;                       // [a-z0-9-], 1..63 characters
  std::string service;                      // signing name, [a-z0-9-], 1..63 characters
  std::vector<std::string> signed_headers;  // lowercase, in the order the client listed them
  std::string signature;                    // as sent (64 lowercase hex digits when well-formed)

  // "YYYYMMDD/region/service/aws4_request".
  std::string credential_scope() const;
};

// Parses an Authorization header value of the AWS4-HMAC-SHA256 scheme. Parameters may come in any
// order, separated by "," with optional whitespace. Fails with IncompleteSignature, in AWS's
// words, when the algorithm is not AWS4-HMAC-SHA256, a parameter is missing, empty or repeated,
// or the credential is not `AKID/YYYYMMDD/region/service/aws4_request`. A missing-parameter
// message ends with "Authorization=<header>" (it holds no secret), as AWS's does; a header of
// another scheme (Basic, ...) is never echoed.
Result<ParsedAuthorization> parse_authorization(std::string_view header);

// The authentication parameters of a presigned URL (query-string SigV4).
struct PresignedQuery {
  ParsedAuthorization authorization;
  std::string amz_date;              // X-Amz-Date as sent (YYYYMMDDTHHMMSSZ when well-formed)
  std::int64_t expires_seconds = 0;  // X-Amz-Expires, 1..kMaxPresignExpirySeconds
};

// True when the raw query carries any of X-Amz-Algorithm, X-Amz-Credential or X-Amz-Signature,
// i.e. the client meant to presign.
bool looks_presigned(std::string_view raw_query);

// Extracts and checks the presign parameters from a raw query. Fails with IncompleteSignature
// when a required parameter is missing or malformed.
Result<PresignedQuery> parse_presigned_query(std::string_view raw_query);

// ---- Canonical request ----------------------------------------------------------------------

// URI-encodes every byte except A-Z a-z 0-9 - _ . ~ (and '/' when keep_slash), as %XX with
// uppercase hex.
std::string uri_encode(std::string_view bytes, bool keep_slash);

// Decodes %XX escapes. Unlike http::percent_decode it never fails: a '%' not followed by two hex
// digits is kept as a literal '%'. '+' stays '+'.
std::string lenient_percent_decode(std::string_view text);

// CanonicalURI of a path as received (still percent-encoded by the client, no query). With
// normalize (every service but S3) "." and ".." segments are removed and runs of '/' collapsed,
// keeping a trailing '/'; then every byte but the unreserved ones and '/' is URI-encoded, which
// double-encodes the client's escapes ("v1%3A0" → "v1%253A0"), exactly as the SDKs do when
// signing. An empty result is "/".
std::string canonical_uri(std::string_view raw_path, bool normalize = true);

// CanonicalQueryString of a raw query (no '?'): each name and value is decoded, re-encoded with
// uri_encode, and the pairs are sorted by encoded name then encoded value and joined as
// "name=value&..." (a name without '=' gets an empty value; empty pieces are dropped). With
// presigned, the X-Amz-Signature parameter is left out.
std::string canonical_query(std::string_view raw_query, bool presigned = false);

// A header value as it enters the canonical request: leading and trailing whitespace removed,
// every inner run of whitespace (space, tab, CR, LF, as in obs-fold continuation lines) replaced
// by a single space.
std::string canonical_header_value(std::string_view value);

// The signed header names lowercased, sorted and without duplicates (the SignedHeaders line is
// these joined by ';').
std::vector<std::string> normalized_signed_headers(std::span<const std::string> signed_headers);

// CanonicalHeaders: one "name:value\n" line per signed header name, sorted by name. The value of a
// header received more than once is each value canonicalised and joined by ',' in received order;
// a signed header absent from the request contributes an empty value.
std::string canonical_headers(const http::Request& request, std::span<const std::string> signed_headers);

// The payload hash the client signed: the x-amz-content-sha256 header if present (including
// "UNSIGNED-PAYLOAD"), else the hex SHA-256 of the body.
std::string payload_hash(const http::Request& request);

struct CanonicalOptions {
  bool normalize_path = true;  // false only for S3-style signing
  bool presigned = false;      // leave X-Amz-Signature out of the canonical query
};

// The whole canonical request: METHOD \n URI \n QUERY \n HEADERS \n SIGNED-HEADERS \n PAYLOAD-HASH.
std::string canonical_request(const http::Request& request, std::span<const std::string> signed_headers,
                              std::string_view payload_hash, CanonicalOptions options = {});

// "date/region/service/aws4_request".
std::string credential_scope(std::string_view date, std::string_view region, std::string_view service);

// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256(canonical_request)>".
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request);

// ---- Crypto ---------------------------------------------------------------------------------

// Raw 32-byte SHA-256 / HMAC-SHA256 digests, and their lowercase hex.
std::string sha256(std::string_view data);
std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string hex_encode(std::string_view bytes);

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"); raw bytes.
std::string derive_signing_key(std::string_view secret_access_key, std::string_view date,
                               std::string_view region, std::string_view service);

// The signature: lowercase hex HMAC(signing_key, string_to_sign).
std::string sign(std::string_view signing_key, std::string_view string_to_sign);

// Equality whose running time depends only on the lengths, for comparing signatures and tokens.
bool constant_time_equals(std::string_view a, std::string_view b);

// ---- Dates ----------------------------------------------------------------------------------

// The request time of a Date header: RFC 7231 IMF-fixdate ("Sun, 30 Aug 2015 12:36:00 GMT") or the
// X-Amz-Date form ("20150830T123600Z"). nullopt if neither.
std::optional<TimePoint> parse_http_date(std::string_view text);

// ---- Client side (tests, tools) --------------------------------------------------------------

struct SigningParams {
  std::string access_key_id;
  std::string secret_access_key;
  std::string region;
  std::string service;
  TimePoint time;
  std::string session_token;  // sent and signed as X-Amz-Security-Token when not empty
};

// Signs a request as botocore does: sets X-Amz-Date (and X-Amz-Security-Token), then adds an
// Authorization header signing every header present except the ones botocore never signs
// (user-agent, expect, connection, ...). The request must already carry its Host header.
void sign_request(http::Request& request, const SigningParams& params);

}  // namespace tollgate::auth::sigv4
