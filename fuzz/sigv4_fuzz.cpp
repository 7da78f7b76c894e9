// libFuzzer target: the SigV4 parsers and canonicalisers of src/auth/sigv4.h on arbitrary bytes
// (an Authorization header, a path, a query, a header value, a date all come straight off the
// wire). Besides not crashing, checks the invariants the verifier relies on; a broken invariant
// aborts, which libFuzzer and replay_main.cpp report as a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/sigv4.h"

namespace {

using namespace tollgate::auth::sigv4;

void check(bool ok) {
  if (!ok) std::abort();
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }

bool is_unreserved_or_slash(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~' || c == '/';
}

// Only unreserved bytes, '/' and %XX escapes with uppercase hex.
bool is_uri_encoded(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (is_unreserved_or_slash(s[i])) continue;
    if (s[i] != '%' || i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return false;
    i += 2;
  }
  return true;
}

void fuzz_authorization(std::string_view input) {
  auto parsed = parse_authorization(input);
  if (!parsed.ok()) {
    check(parsed.error().code() == tollgate::ErrorCode::IncompleteSignature);
    return;
  }
  check(parsed->date.size() == 8 && !parsed->signed_headers.empty() && !parsed->signature.empty());
  // What was parsed prints back to a header that parses to the same fields.
  std::string header = "AWS4-HMAC-SHA256 Credential=" + parsed->access_key_id + "/" +
                       parsed->credential_scope() + ", SignedHeaders=";
  for (size_t i = 0; i < parsed->signed_headers.size(); ++i) {
    header += (i > 0 ? ";" : "") + parsed->signed_headers[i];
  }
  header += ", Signature=" + parsed->signature;
  auto again = parse_authorization(header);
  check(again.ok() && again->access_key_id == parsed->access_key_id &&
        again->credential_scope() == parsed->credential_scope() &&
        again->signed_headers == parsed->signed_headers && again->signature == parsed->signature);
}

void fuzz_path(std::string_view input) {
  for (bool normalize : {true, false}) {
    std::string uri = canonical_uri(input, normalize);
    check(!uri.empty() && is_uri_encoded(uri));
    if (normalize && input.starts_with('/')) {
      check(uri.front() == '/' && uri.find("//") == std::string::npos);
      check(uri.find("/./") == std::string::npos && uri.find("/../") == std::string::npos);
      check(!uri.ends_with("/.") && !uri.ends_with("/.."));
    }
  }
}

void fuzz_query(std::string_view input) {
  std::string query = canonical_query(input);
  check(canonical_query(query) == query);  // canonical form is a fixed point
  std::string presigned = canonical_query(input, true);
  check(!presigned.starts_with("X-Amz-Signature=") &&
        presigned.find("&X-Amz-Signature=") == std::string::npos);
  check(presigned.size() <= query.size());
  if (looks_presigned(input)) {
    auto parsed = parse_presigned_query(input);
    check(parsed.ok() || parsed.error().code() == tollgate::ErrorCode::IncompleteSignature);
  }
}

void fuzz_header_value(std::string_view input) {
  std::string value = canonical_header_value(input);
  check(canonical_header_value(value) == value);
  check(value.find("  ") == std::string::npos && value.find('\n') == std::string::npos);
  (void)parse_http_date(input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  fuzz_authorization(input);
  fuzz_path(input);
  fuzz_query(input);
  fuzz_header_value(input);
  return 0;
}
