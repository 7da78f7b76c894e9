#include "auth/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <memory>

#include "core/time_format.h"

namespace tollgate::auth::sigv4 {
namespace {

constexpr std::string_view kWhitespace = " \t\r\n\v\f";

bool is_whitespace(char c) { return kWhitespace.find(c) != std::string_view::npos; }

std::string_view trim(std::string_view s) {
  size_t begin = s.find_first_not_of(kWhitespace);
  if (begin == std::string_view::npos) return {};
  size_t end = s.find_last_not_of(kWhitespace);
  return s.substr(begin, end - begin + 1);
}

char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), to_lower);
  return out;
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Region and service names: lowercase letters, digits and '-', 1..63 characters.
bool is_scope_name(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    size_t pos = s.find(sep);
    parts.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) return parts;
    s.remove_prefix(pos + 1);
  }
}

std::string join(std::span<const std::string> parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

Error incomplete(std::string message) { return Error(ErrorCode::IncompleteSignature, std::move(message)); }

// Raw query → decoded (name, value) pairs in received order; empty pieces dropped.
std::vector<std::pair<std::string, std::string>> decoded_query_pairs(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (std::string_view piece : split(raw_query, '&')) {
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    std::string_view value = eq == std::string_view::npos ? std::string_view{} : piece.substr(eq + 1);
    pairs.emplace_back(lenient_percent_decode(piece.substr(0, eq)), lenient_percent_decode(value));
  }
  return pairs;
}

// "AKID/YYYYMMDD/region/service/aws4_request" → the scope fields of a ParsedAuthorization.
Status parse_credential(std::string_view credential, ParsedAuthorization& out) {
  std::vector<std::string_view> parts = split(credential, '/');
  if (parts.size() != 5) {
    return incomplete(
        "Credential must have exactly 5 slash-delimited elements, e.g. "
        "keyid/date/region/service/term, got '" +
        std::string(credential) + "'");
  }
  if (parts[0].empty()) {
    return incomplete("Credential must include an access key id, got '" + std::string(credential) + "'");
  }
  if (parts[1].size() != 8 || !all_digits(parts[1])) {
    return incomplete("Invalid credential date '" + std::string(parts[1]) +
                      "'. Date must be in the format yyyyMMdd.");
  }
  if (!is_scope_name(parts[2])) {
    return incomplete("Credential should be scoped to a valid region, not '" + std::string(parts[2]) + "'.");
  }
  if (!is_scope_name(parts[3])) {
    return incomplete("Credential should be scoped to a valid service, not '" + std::string(parts[3]) + "'.");
  }
  if (parts[4] != kTerminator) {
    return incomplete("Credential should be scoped with a valid terminator: 'aws4_request', not '" +
                      std::string(parts[4]) + "'.");
  }
  out.access_key_id = parts[0];
  out.date = parts[1];
  out.region = parts[2];
  out.service = parts[3];
  return {};
}

// "host;x-amz-date" → lowercase names; fails on an empty name.
Status parse_signed_headers(std::string_view list, ParsedAuthorization& out) {
  for (std::string_view name : split(list, ';')) {
    if (trim(name).empty()) {
      return incomplete("SignedHeaders contains an empty header name: '" + std::string(list) + "'.");
    }
    out.signed_headers.push_back(lowercase(trim(name)));
  }
  return {};
}

struct AuthorizationParams {
  std::optional<std::string_view> credential, signed_headers, signature;
};

// Splits "Credential=..., SignedHeaders=..., Signature=..." into its three known parameters.
Result<AuthorizationParams> split_authorization_params(std::string_view params) {
  AuthorizationParams out;
  for (std::string_view piece : split(params, ',')) {
    piece = trim(piece);
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    if (eq == std::string_view::npos) {
      return incomplete("Authorization header parameter '" + std::string(piece) +
                        "' is not of the form key=value.");
    }
    std::string_view key = trim(piece.substr(0, eq));
    std::string_view value = trim(piece.substr(eq + 1));
    std::optional<std::string_view>* slot = key == "Credential"      ? &out.credential
                                            : key == "SignedHeaders" ? &out.signed_headers
                                            : key == "Signature"     ? &out.signature
                                                                     : nullptr;
    if (slot == nullptr) continue;  // unknown parameters are ignored
    if (slot->has_value()) {
      return incomplete("Authorization header has more than one '" + std::string(key) + "' parameter.");
    }
    if (!value.empty()) *slot = value;
  }
  return out;
}

std::string missing_params_message(const AuthorizationParams& p, std::string_view header) {
  std::string message;
  if (!p.credential) message += "Authorization header requires 'Credential' parameter. ";
  if (!p.signature) message += "Authorization header requires 'Signature' parameter. ";
  if (!p.signed_headers) message += "Authorization header requires 'SignedHeaders' parameter. ";
  return message + "Authorization=" + std::string(header);
}

// Without SHA-256 no signature can be checked, and a digest left unwritten would let a forged one through:
// the process stops instead (OpenSSL without its default provider, or out of memory).
[[noreturn]] void sha256_unavailable(const char* step) {
  std::fprintf(stderr, "tollgate: fatal: OpenSSL SHA-256 failed (%s); cannot verify signatures\n", step);
  std::abort();
}

// SHA-256 fetched once: with EVP_sha256(), OpenSSL 3 looks the algorithm up again (under a lock) on every
// digest, and the one-shot HMAC() also creates a MAC context each time; a request's signature check takes
// eight digests.
const EVP_MD* sha256_algorithm() {
  static EVP_MD* const algorithm = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (algorithm == nullptr) sha256_unavailable("EVP_MD_fetch");
  return algorithm;
}

using Sha256Digest = std::array<unsigned char, 32>;

// SHA-256 of the concatenation of `parts`, on a digest context reused by the thread.
Sha256Digest sha256_of(std::initializer_list<std::string_view> parts) {
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                                      &EVP_MD_CTX_free);
  Sha256Digest out{};
  unsigned int len = 0;
  if (context == nullptr || EVP_DigestInit_ex(context.get(), sha256_algorithm(), nullptr) != 1) {
    sha256_unavailable("EVP_DigestInit_ex");
  }
  for (std::string_view part : parts) {
    if (EVP_DigestUpdate(context.get(), part.data(), part.size()) != 1) sha256_unavailable("EVP_DigestUpdate");
  }
  if (EVP_DigestFinal_ex(context.get(), out.data(), &len) != 1 || len != out.size()) {
    sha256_unavailable("EVP_DigestFinal_ex");
  }
  return out;
}

std::string_view bytes_of(const Sha256Digest& digest) {
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

std::string digest_sha256(std::string_view data) { return std::string(bytes_of(sha256_of({data}))); }

// Headers botocore never signs (they are rewritten by proxies or not known until sending).
constexpr std::array<std::string_view, 12> kUnsignedHeaders = {"authorization",
                                                               "connection",
                                                               "expect",
                                                               "keep-alive",
                                                               "proxy-authenticate",
                                                               "proxy-authorization",
                                                               "te",
                                                               "trailer",
                                                               "transfer-encoding",
                                                               "upgrade",
                                                               "user-agent",
                                                               "x-amzn-trace-id"};

void set_header(http::Request& request, std::string_view name, std::string value) {
  std::erase_if(request.headers, [&](const http::Header& h) { return http::header_name_equals(h.name, name); });
  request.headers.push_back({std::string(name), std::move(value)});
}

}  // namespace


// ---- Authorization header / presigned query -------------------------------------------------

std::string ParsedAuthorization::credential_scope() const {
  return sigv4::credential_scope(date, region, service);
}

Result<ParsedAuthorization> parse_authorization(std::string_view header) {
  header = trim(header);
  size_t space = header.find_first_of(kWhitespace);
  std::string_view algorithm = header.substr(0, space);
  if (algorithm != kAlgorithm) {
    return incomplete("Authorization header uses an unsupported algorithm; expected 'AWS4-HMAC-SHA256'.");
  }
  std::string_view rest = space == std::string_view::npos ? std::string_view{} : header.substr(space);
  auto params = split_authorization_params(rest);
  if (!params.ok()) return std::move(params).error();
  if (!params->credential || !params->signed_headers || !params->signature) {
    return incomplete(missing_params_message(*params, header));
  }
  ParsedAuthorization out;
  TOLLGATE_TRY(parse_credential(*params->credential, out));
  TOLLGATE_TRY(parse_signed_headers(*params->signed_headers, out));
  out.signature = *params->signature;
  return out;
}

bool looks_presigned(std::string_view raw_query) {
  for (const auto& [name, value] : decoded_query_pairs(raw_query)) {
    if (name == "X-Amz-Algorithm" || name == "X-Amz-Credential" || name == "X-Amz-Signature") return true;
  }
  return false;
}

namespace {

constexpr std::array<std::string_view, 6> kPresignParams = {"X-Amz-Algorithm",     "X-Amz-Credential",
                                                            "X-Amz-Signature",     "X-Amz-Date",
                                                            "X-Amz-SignedHeaders", "X-Amz-Expires"};

// The six presign parameters by index in kPresignParams, each present exactly once.
Result<std::array<std::string, 6>> presign_params(std::string_view raw_query) {
  std::array<std::optional<std::string>, 6> found;
  for (auto& [name, value] : decoded_query_pairs(raw_query)) {
    auto it = std::find(kPresignParams.begin(), kPresignParams.end(), name);
    if (it == kPresignParams.end()) continue;
    auto& slot = found[static_cast<size_t>(it - kPresignParams.begin())];
    if (slot) return incomplete("AWS query-string parameter '" + name + "' appears more than once.");
    slot = std::move(value);
  }
  std::array<std::string, 6> out;
  for (size_t i = 0; i < found.size(); ++i) {
    if (!found[i] || found[i]->empty()) {
      return incomplete(
          "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', "
          "'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires'. "
          "Re-examine the query-string parameters.");
    }
    out[i] = std::move(*found[i]);
  }
  return out;
}

Result<std::int64_t> parse_expires(std::string_view text) {
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc() || end != text.data() + text.size() || seconds < 1) {
    return incomplete("X-Amz-Expires should be a positive number of seconds, got '" + std::string(text) +
                      "'.");
  }
  if (seconds > kMaxPresignExpirySeconds) {
    return incomplete("X-Amz-Expires must be less than a week (in seconds) that is 604800.");
  }
  return seconds;
}

}  // namespace

Result<PresignedQuery> parse_presigned_query(std::string_view raw_query) {
  auto params = presign_params(raw_query);
  if (!params.ok()) return std::move(params).error();
  auto& [algorithm, credential, signature, date, signed_headers, expires] = *params;
  if (algorithm != kAlgorithm) return incomplete("X-Amz-Algorithm only supports 'AWS4-HMAC-SHA256'.");
  PresignedQuery out;
  TOLLGATE_TRY(parse_credential(credential, out.authorization));
  TOLLGATE_TRY(parse_signed_headers(signed_headers, out.authorization));
  auto seconds = parse_expires(expires);
  if (!seconds.ok()) return std::move(seconds).error();
  out.authorization.signature = std::move(signature);
  out.amz_date = std::move(date);
  out.expires_seconds = *seconds;
  return out;
}

// ---- Canonical request ----------------------------------------------------------------------

std::string uri_encode(std::string_view bytes, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() * 3);
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string lenient_percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

namespace {

// RFC 3986 §5.2.4 dot-segment removal plus collapsing of empty segments, as botocore and the JS
// SDK do it: "//a/./b/../c/" → "/a/c/".
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> segments;
  for (std::string_view segment : split(path, '/')) {
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      continue;
    }
    segments.push_back(segment);
  }
  std::string out = path.starts_with('/') ? "/" : "";
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out += '/';
    out += segments[i];
  }
  if (!segments.empty() && path.ends_with('/')) out += '/';
  return out;
}

}  // namespace

std::string canonical_uri(std::string_view raw_path, bool normalize) {
  std::string encoded = uri_encode(normalize ? remove_dot_segments(raw_path) : std::string(raw_path), true);
  return encoded.empty() ? "/" : encoded;
}

std::string canonical_query(std::string_view raw_query, bool presigned) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (auto& [name, value] : decoded_query_pairs(raw_query)) {
    if (presigned && name == "X-Amz-Signature") continue;
    pairs.emplace_back(uri_encode(name, false), uri_encode(value, false));
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string canonical_header_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char c : trim(value)) {
    if (is_whitespace(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

std::vector<std::string> normalized_signed_headers(std::span<const std::string> signed_headers) {
  std::vector<std::string> names;
  names.reserve(signed_headers.size());
  for (const auto& name : signed_headers) names.push_back(lowercase(name));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string canonical_headers(const http::Request& request, std::span<const std::string> signed_headers) {
  std::string out;
  for (const auto& name : normalized_signed_headers(signed_headers)) {
    out += name;
    out += ':';
    bool first = true;
    for (const auto& header : request.headers) {
      if (!http::header_name_equals(header.name, name)) continue;
      if (!first) out += ',';
      out += canonical_header_value(header.value);
      first = false;
    }
    out += '\n';
  }
  return out;
}

std::string payload_hash(const http::Request& request) {
  if (auto declared = request.header("x-amz-content-sha256")) return std::string(trim(*declared));
  return sha256_hex(request.body);
}

std::string canonical_request(const http::Request& request, std::span<const std::string> signed_headers,
                              std::string_view payload_hash, CanonicalOptions options) {
  std::string out = request.method;
  out += '\n';
  out += canonical_uri(request.path, options.normalize_path);
  out += '\n';
  out += canonical_query(request.query, options.presigned);
  out += '\n';
  out += canonical_headers(request, signed_headers);
  out += '\n';
  out += join(normalized_signed_headers(signed_headers), ";");
  out += '\n';
  out += payload_hash;
  return out;
}

std::string credential_scope(std::string_view date, std::string_view region, std::string_view service) {
  std::string out(date);
  out += '/';
  out += region;
  out += '/';
  out += service;
  out += '/';
  out += kTerminator;
  return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request) {
  std::string out(kAlgorithm);
  out += '\n';
  out += amz_date;
  out += '\n';
  out += scope;
  out += '\n';
  out += sha256_hex(canonical_request);
  return out;
}

// ---- Crypto ---------------------------------------------------------------------------------

std::string sha256(std::string_view data) { return digest_sha256(data); }

std::string sha256_hex(std::string_view data) { return hex_encode(digest_sha256(data)); }

// RFC 2104: H((K ^ opad) || H((K ^ ipad) || data)), K padded to SHA-256's 64-byte block (hashed first if longer).
std::string hmac_sha256(std::string_view key, std::string_view data) {
  constexpr size_t kBlock = 64;
  std::array<char, kBlock> padded{};
  if (key.size() > kBlock) {
    Sha256Digest hashed = sha256_of({key});
    std::copy(hashed.begin(), hashed.end(), padded.begin());
  } else {
    std::copy(key.begin(), key.end(), padded.begin());
  }
  std::array<char, kBlock> inner_pad{};
  std::array<char, kBlock> outer_pad{};
  for (size_t i = 0; i < kBlock; ++i) {
    inner_pad[i] = static_cast<char>(padded[i] ^ 0x36);
    outer_pad[i] = static_cast<char>(padded[i] ^ 0x5c);
  }
  Sha256Digest inner = sha256_of({std::string_view(inner_pad.data(), kBlock), data});
  return std::string(bytes_of(sha256_of({std::string_view(outer_pad.data(), kBlock), bytes_of(inner)})));
}

std::string hex_encode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

std::string derive_signing_key(std::string_view secret_access_key, std::string_view date,
                               std::string_view region, std::string_view service) {
  std::string k_secret = "AWS4" + std::string(secret_access_key);
  std::string k_date = hmac_sha256(k_secret, date);
  OPENSSL_cleanse(k_secret.data(), k_secret.size());
  std::string k_region = hmac_sha256(k_date, region);
  std::string k_service = hmac_sha256(k_region, service);
  return hmac_sha256(k_service, kTerminator);
}

std::string sign(std::string_view signing_key, std::string_view string_to_sign) {
  return hex_encode(hmac_sha256(signing_key, string_to_sign));
}

bool constant_time_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// ---- Dates ----------------------------------------------------------------------------------

std::optional<TimePoint> parse_http_date(std::string_view text) {
  text = trim(text);
  if (auto t = parse_amz_date(text)) return t;
  // "Sun, 30 Aug 2015 12:36:00 GMT": rewrite as "20150830T123600Z" and reuse parse_amz_date.
  if (text.size() != 29 || text.substr(3, 2) != ", " || text[7] != ' ' || text[11] != ' ' ||
      text[16] != ' ' || text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT") {
    return std::nullopt;
  }
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto month = std::find(kMonths.begin(), kMonths.end(), text.substr(8, 3));
  if (month == kMonths.end()) return std::nullopt;
  int month_number = static_cast<int>(month - kMonths.begin()) + 1;
  std::string amz;
  amz += text.substr(12, 4);
  amz += static_cast<char>('0' + month_number / 10);
  amz += static_cast<char>('0' + month_number % 10);
  amz += text.substr(5, 2);
  amz += 'T';
  amz += text.substr(17, 2);
  amz += text.substr(20, 2);
  amz += text.substr(23, 2);
  amz += 'Z';
  return parse_amz_date(amz);
}

// ---- Client side ----------------------------------------------------------------------------

void sign_request(http::Request& request, const SigningParams& params) {
  std::string amz_date = format_amz_date(params.time);
  set_header(request, "X-Amz-Date", amz_date);
  if (!params.session_token.empty()) set_header(request, "X-Amz-Security-Token", params.session_token);
  std::erase_if(request.headers,
                [](const http::Header& h) { return http::header_name_equals(h.name, "authorization"); });

  std::vector<std::string> signed_headers;
  for (const auto& header : request.headers) {
    std::string name = lowercase(header.name);
    if (std::find(kUnsignedHeaders.begin(), kUnsignedHeaders.end(), name) == kUnsignedHeaders.end()) {
      signed_headers.push_back(std::move(name));
    }
  }
  signed_headers = normalized_signed_headers(signed_headers);
  std::string date = amz_date.substr(0, 8);
  std::string scope = credential_scope(date, params.region, params.service);
  std::string sts =
      string_to_sign(amz_date, scope, canonical_request(request, signed_headers, payload_hash(request)));
  std::string signature =
      sign(derive_signing_key(params.secret_access_key, date, params.region, params.service), sts);
  request.headers.push_back(
      {"Authorization", std::string(kAlgorithm) + " Credential=" + params.access_key_id + "/" + scope +
                            ", SignedHeaders=" + join(signed_headers, ";") + ", Signature=" + signature});
}

}  // namespace tollgate::auth::sigv4
