// The two public SigV4 test suites in test/data/sigv4/ (see its README.md), case by case: the
// canonical request and string to sign must match byte for byte, the signature must match, the
// Authenticator must accept the signed request at the vector's time, and must reject it once one
// byte of the body or of the signature is changed. Cases are discovered by walking the folders;
// SuitesHaveTheExpectedNumberOfCases makes sure none goes missing.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "auth/authenticator.h"
#include "auth/sigv4.h"
#include "core/time_format.h"

namespace tollgate::auth {
namespace {

namespace fs = std::filesystem;

const fs::path kRoot = fs::path(TOLLGATE_TEST_DATA) / "sigv4";
const fs::path kBotocore = kRoot / "botocore-aws4_testsuite";
const fs::path kAwsCAuth = kRoot / "aws-c-auth-v4";
constexpr size_t kBotocoreCases = 34;
constexpr size_t kAwsCAuthCases = 38;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string_view trim(std::string_view s) {
  size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

// A raw HTTP/1.1 request as the vector files write it: "METHOD target HTTP/1.1" (the target may
// contain spaces), header lines (an obs-fold continuation line is kept, line break included, as part
// of the previous header's value), an empty line, the body.
http::Request parse_raw_request(std::string_view text) {
  http::Request r;
  size_t blank = text.find("\n\n");
  std::string_view head = text.substr(0, blank);
  r.body = blank == std::string_view::npos ? "" : std::string(text.substr(blank + 2));
  size_t eol = head.find('\n');
  std::string_view request_line = head.substr(0, eol);
  head = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 1);
  r.method = request_line.substr(0, request_line.find(' '));
  std::string_view target = request_line.substr(r.method.size() + 1);
  target = target.substr(0, target.rfind(' '));
  size_t question = target.find('?');
  r.path = target.substr(0, question);
  r.query = question == std::string_view::npos ? "" : std::string(target.substr(question + 1));
  while (!head.empty()) {
    eol = head.find('\n');
    std::string_view line = head.substr(0, eol);
    head = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 1);
    if (line.empty()) continue;
    if ((line.front() == ' ' || line.front() == '\t') && !r.headers.empty()) {
      r.headers.back().value += "\n" + std::string(line);
      continue;
    }
    size_t colon = line.find(':');
    r.headers.push_back({std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1)))});
  }
  return r;
}

std::string take_header(http::Request& r, std::string_view name) {
  std::string value(r.header(name).value_or(""));
  std::erase_if(r.headers, [&](const http::Header& h) { return http::header_name_equals(h.name, name); });
  return value;
}

// Removes one parameter from a raw query.
std::string without_query_param(std::string_view query, std::string_view name) {
  std::string out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = std::min(query.find('&', start), query.size());
    std::string_view piece = query.substr(start, end - start);
    if (!piece.starts_with(std::string(name) + "=")) out += (out.empty() ? "" : "&") + std::string(piece);
    start = end + 1;
  }
  return out;
}

// One byte of the body changed (or one added to an empty body).
http::Request with_changed_body(http::Request r) {
  if (r.body.empty()) {
    r.body = "x";
  } else {
    r.body[0] = r.body[0] == 'x' ? 'y' : 'x';
  }
  return r;
}

// One hex digit of the signature changed, in the Authorization header or the X-Amz-Signature parameter.
http::Request with_changed_signature(http::Request r) {
  auto flip = [](char& c) { c = c == '0' ? '1' : '0'; };
  for (auto& h : r.headers) {
    if (http::header_name_equals(h.name, "authorization")) flip(h.value.back());
  }
  size_t pos = r.query.find("X-Amz-Signature=");
  if (pos != std::string::npos) flip(r.query[pos + 16]);
  return r;
}

struct VectorParams {
  std::string access_key_id = "AKIDEXAMPLE";
  std::string secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  std::string region = "us-east-1";
  std::string service = "service";
  std::string amz_date = "20150830T123600Z";
  bool normalize = true;
  bool omit_session_token = false;
};

// Checks what the Authenticator says about a signed vector request: accepted as is when
// expect_accepted, rejected with InvalidSignature after a one-byte change either way.
void check_verification(const http::Request& signed_request, const VectorParams& p, bool expect_accepted) {
  ManualClock clock(*parse_amz_date(p.amz_date));
  Authenticator auth({{p.access_key_id, p.secret_access_key, "123456789012", "vector"}}, {}, clock,
                     "us-east-1");
  auto accepted = auth.authenticate(signed_request, p.service, false);
  if (expect_accepted) {
    EXPECT_TRUE(accepted.ok()) << accepted.error().message() << "\n" << accepted.error().detail();
  } else {
    ASSERT_FALSE(accepted.ok());
    EXPECT_EQ(accepted.error().code(), ErrorCode::InvalidSignature) << accepted.error().message();
  }
  for (const auto& changed : {with_changed_body(signed_request), with_changed_signature(signed_request)}) {
    auto rejected = auth.authenticate(changed, p.service, false);
    ASSERT_FALSE(rejected.ok());
    EXPECT_EQ(rejected.error().code(), ErrorCode::InvalidSignature) << rejected.error().message();
  }
}

// The server always normalises; a vector signed without normalisation verifies only when
// normalising does not change its path.
bool server_can_verify(const http::Request& r, const VectorParams& p) {
  return p.normalize || sigv4::canonical_uri(r.path, true) == sigv4::canonical_uri(r.path, false);
}

// ---- Case discovery -------------------------------------------------------------------------

// The folders under root holding a file for which is_marker is true, sorted.
template <class Predicate>
std::vector<fs::path> discover(const fs::path& root, Predicate is_marker) {
  std::vector<fs::path> cases;
  if (!fs::is_directory(root)) return cases;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file() && is_marker(entry.path())) cases.push_back(entry.path().parent_path());
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

std::vector<fs::path> botocore_cases() {
  return discover(kBotocore, [](const fs::path& file) { return file.extension() == ".req"; });
}
std::vector<fs::path> aws_c_auth_cases() {
  return discover(kAwsCAuth, [](const fs::path& file) { return file.filename() == "context.json"; });
}

std::string test_name(const fs::path& dir, const fs::path& root) {
  std::string name = fs::relative(dir, root).string();
  std::replace_if(
      name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  return name;
}

TEST(SigV4Vectors, SuitesHaveTheExpectedNumberOfCases) {
  EXPECT_EQ(botocore_cases().size(), kBotocoreCases) << kBotocore;
  EXPECT_EQ(aws_c_auth_cases().size(), kAwsCAuthCases) << kAwsCAuth;
}

// ---- botocore-aws4_testsuite ----------------------------------------------------------------

class BotocoreVector : public ::testing::TestWithParam<fs::path> {};

TEST_P(BotocoreVector, CanonicalisesSignsAndVerifies) {
  const fs::path& dir = GetParam();
  fs::path base = dir / dir.filename();
  auto file = [&](std::string_view ext) { return read_file(base.string() + std::string(ext)); };
  VectorParams p;

  // .sreq minus its Authorization, plus .authz: see README.md on get-vanilla-with-session-token.
  http::Request r = parse_raw_request(file(".sreq"));
  take_header(r, "Authorization");
  std::string authz(trim(file(".authz")));
  auto parsed = sigv4::parse_authorization(authz);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();

  std::string creq = sigv4::canonical_request(r, parsed->signed_headers, sigv4::payload_hash(r));
  EXPECT_EQ(creq, file(".creq"));
  std::string sts =
      sigv4::string_to_sign(*r.header("X-Amz-Date"), parsed->credential_scope(), creq);
  EXPECT_EQ(sts, file(".sts"));
  std::string key =
      sigv4::derive_signing_key(p.secret_access_key, parsed->date, parsed->region, parsed->service);
  EXPECT_EQ(sigv4::sign(key, sts), parsed->signature);

  r.headers.push_back({"Authorization", authz});
  check_verification(r, p, true);
}

INSTANTIATE_TEST_SUITE_P(Botocore, BotocoreVector, ::testing::ValuesIn(botocore_cases()),
                         [](const auto& info) { return test_name(info.param, kBotocore); });

// ---- aws-c-auth-v4 --------------------------------------------------------------------------

VectorParams read_context(const fs::path& dir) {
  boost::json::object context = boost::json::parse(read_file(dir / "context.json")).as_object();
  const boost::json::object& credentials = context.at("credentials").as_object();
  VectorParams p;
  p.access_key_id = credentials.at("access_key_id").as_string().c_str();
  p.secret_access_key = credentials.at("secret_access_key").as_string().c_str();
  p.region = context.at("region").as_string().c_str();
  p.service = context.at("service").as_string().c_str();
  p.normalize = context.at("normalize").as_bool();
  if (const auto* omit = context.if_contains("omit_session_token")) p.omit_session_token = omit->as_bool();
  std::string timestamp = context.at("timestamp").as_string().c_str();  // "2015-08-30T12:36:00Z"
  std::erase_if(timestamp, [](char c) { return c == '-' || c == ':'; });
  p.amz_date = timestamp;
  return p;
}

class AwsCAuthVector : public ::testing::TestWithParam<fs::path> {};

TEST_P(AwsCAuthVector, HeaderVariantCanonicalisesSignsAndVerifies) {
  const fs::path& dir = GetParam();
  VectorParams p = read_context(dir);
  http::Request r = parse_raw_request(read_file(dir / "header-signed-request.txt"));
  std::string authz = take_header(r, "Authorization");
  auto parsed = sigv4::parse_authorization(authz);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->access_key_id, p.access_key_id);
  EXPECT_EQ(parsed->credential_scope(),
            sigv4::credential_scope(p.amz_date.substr(0, 8), p.region, p.service));

  std::string creq = sigv4::canonical_request(r, parsed->signed_headers, sigv4::payload_hash(r),
                                              {.normalize_path = p.normalize});
  EXPECT_EQ(creq, read_file(dir / "header-canonical-request.txt"));
  std::string sts =
      sigv4::string_to_sign(*r.header("X-Amz-Date"), parsed->credential_scope(), creq);
  EXPECT_EQ(sts, read_file(dir / "header-string-to-sign.txt"));
  std::string key = sigv4::derive_signing_key(p.secret_access_key, parsed->date, p.region, p.service);
  EXPECT_EQ(sigv4::sign(key, sts), trim(read_file(dir / "header-signature.txt")));
  EXPECT_EQ(parsed->signature, trim(read_file(dir / "header-signature.txt")));

  r.headers.push_back({"Authorization", authz});
  check_verification(r, p, server_can_verify(r, p));
}

TEST_P(AwsCAuthVector, QueryVariantCanonicalisesSignsAndVerifies) {
  const fs::path& dir = GetParam();
  VectorParams p = read_context(dir);
  http::Request r = parse_raw_request(read_file(dir / "query-signed-request.txt"));
  auto presigned = sigv4::parse_presigned_query(r.query);
  ASSERT_TRUE(presigned.ok()) << presigned.error().message();
  EXPECT_EQ(presigned->amz_date, p.amz_date);
  EXPECT_EQ(presigned->expires_seconds, 3600);

  // With omit_session_token the token was appended after signing (README.md): not canonicalised.
  http::Request as_signed = r;
  if (p.omit_session_token) as_signed.query = without_query_param(r.query, "X-Amz-Security-Token");
  const auto& auth = presigned->authorization;
  std::string creq = sigv4::canonical_request(as_signed, auth.signed_headers, sigv4::payload_hash(as_signed),
                                              {.normalize_path = p.normalize, .presigned = true});
  EXPECT_EQ(creq, read_file(dir / "query-canonical-request.txt"));
  std::string sts = sigv4::string_to_sign(presigned->amz_date, auth.credential_scope(), creq);
  EXPECT_EQ(sts, read_file(dir / "query-string-to-sign.txt"));
  std::string key = sigv4::derive_signing_key(p.secret_access_key, auth.date, p.region, p.service);
  EXPECT_EQ(sigv4::sign(key, sts), trim(read_file(dir / "query-signature.txt")));
  EXPECT_EQ(auth.signature, trim(read_file(dir / "query-signature.txt")));

  check_verification(r, p, server_can_verify(r, p) && !p.omit_session_token);
}

INSTANTIATE_TEST_SUITE_P(AwsCAuth, AwsCAuthVector, ::testing::ValuesIn(aws_c_auth_cases()),
                         [](const auto& info) { return test_name(info.param, kAwsCAuth); });

// ---- The raw-request reader itself -----------------------------------------------------------

TEST(RawRequestReader, ReadsTargetsWithSpacesFoldedHeadersAndBodies) {
  http::Request r = parse_raw_request(
      "GET /example space/?a=b HTTP/1.1\nHost:h\nMy-Header1:value1\n  value2\n"
      "X: y \n\nbody\nline");
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/example space/");
  EXPECT_EQ(r.query, "a=b");
  ASSERT_EQ(r.headers.size(), 3u);
  EXPECT_EQ(r.headers[1].value, "value1\n  value2");
  EXPECT_EQ(r.headers[2].value, "y");
  EXPECT_EQ(r.body, "body\nline");
  EXPECT_EQ(without_query_param("a=1&X-Amz-Security-Token=t&b=2", "X-Amz-Security-Token"), "a=1&b=2");
}

}  // namespace
}  // namespace tollgate::auth
