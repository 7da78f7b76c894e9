// Authenticator: the accepted forms and every error answer, with an injected clock.
#include "auth/authenticator.h"

#include <gtest/gtest.h>

#include "auth/sigv4.h"
#include "core/time_format.h"

namespace tollgate::auth {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kBearerToken = "ABSKQmVkcm9ja0FQSUtleS1leGFtcGxl";
constexpr std::string_view kMismatch =
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access "
    "Key and signing method. Consult the service documentation for details.";

TimePoint at(std::string_view amz_date) { return *parse_amz_date(amz_date); }

class AuthenticatorTest : public ::testing::Test {
 protected:
  ManualClock clock_{at("20150830T123600Z")};
  Authenticator auth_{{{"AKIDEXAMPLE", std::string(kSecret), "123456789012", "alice"},
                       {"AKIDOTHER", "other-secret", "210987654321", "carol"}},
                      {{"key-1", std::string(kBearerToken), "111122223333", "bob"}},
                      clock_,
                      "us-west-2"};

  // A Converse call signed like botocore, at `time`, for `service` in `region`.
  static http::Request converse(std::string_view service = "bedrock", std::string_view region = "us-east-1",
                                TimePoint time = at("20150830T123600Z")) {
    http::Request r = unsigned_converse();
    sigv4::sign_request(
        r, {"AKIDEXAMPLE", std::string(kSecret), std::string(region), std::string(service), time});
    return r;
  }

  static http::Request unsigned_converse() {
    http::Request r;
    r.method = "POST";
    r.path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";
    r.headers = {{"Host", "localhost:8080"}, {"Content-Type", "application/json"}, {"User-Agent", "test"}};
    r.body = R"({"messages":[{"role":"user","content":[{"text":"Hi"}]}]})";
    return r;
  }

  Error expect_error(const http::Request& r, ErrorCode code, std::string_view service = "bedrock",
                     bool bearer_allowed = true) {
    auto result = auth_.authenticate(r, service, bearer_allowed);
    EXPECT_FALSE(result.ok());
    if (result.ok()) return Error(ErrorCode::InternalServer, "unexpectedly authenticated");
    EXPECT_EQ(result.error().code(), code) << result.error().message();
    return std::move(result).error();
  }
};

void set_header(http::Request& r, std::string_view name, std::string value) {
  for (auto& h : r.headers) {
    if (http::header_name_equals(h.name, name)) {
      h.value = std::move(value);
      return;
    }
  }
  r.headers.push_back({std::string(name), std::move(value)});
}

void remove_header(http::Request& r, std::string_view name) {
  std::erase_if(r.headers, [&](const http::Header& h) { return http::header_name_equals(h.name, name); });
}

// ---- Accepted requests ----------------------------------------------------------------------

TEST_F(AuthenticatorTest, AcceptsASignedRequest) {
  auto result = auth_.authenticate(converse(), "bedrock", true);
  ASSERT_TRUE(result.ok()) << result.error().message() << "\n" << result.error().detail();
  EXPECT_EQ(result->principal.kind, Principal::Kind::AccessKey);
  EXPECT_EQ(result->principal.account_id, "123456789012");
  EXPECT_EQ(result->principal.key_id, "AKIDEXAMPLE");
  EXPECT_EQ(result->principal.name, "alice");
  EXPECT_EQ(result->region, "us-east-1");
  EXPECT_EQ(result->service, "bedrock");
}

TEST_F(AuthenticatorTest, AcceptsAnyRegionOfTheRightShape) {
  for (std::string_view region : {"eu-central-2", "local", "us-gov-west-1", "xx-test-9"}) {
    auto result = auth_.authenticate(converse("bedrock", region), "bedrock", false);
    ASSERT_TRUE(result.ok()) << region << ": " << result.error().message();
    EXPECT_EQ(result->region, region);
  }
}

// Requests captured from botocore 1.43.11 (client region us-west-2, endpoint_url
// http://localhost:8080): wire path percent-encoded once, signed double-encoded.
TEST_F(AuthenticatorTest, AcceptsBotocoreConverseWithModelIdInPath) {
  clock_.set(at("20261122T080004Z") + 3min);
  http::Request r;
  r.method = "POST";
  r.path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";
  r.headers = {{"Host", "localhost:8080"},
               {"Content-Type", "application/json"},
               {"User-Agent", "Boto3/1.43.11 md/Botocore#1.43.11 ua/2.1 lang/python#3.11.7 Botocore/1.43.11"},
               {"X-Amz-Date", "20261122T080004Z"},
               {"Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-west-2/bedrock/aws4_request, "
                "SignedHeaders=content-type;host;x-amz-date, "
                "Signature=c0f24dfb44fa43d8d5924787ecbab29641f8cf9d018e1aeb0c8d1f5dd9769065"},
               {"amz-sdk-invocation-id", "408e9281-5efb-41dc-9101-80a98f0c9ddb"},
               {"amz-sdk-request", "attempt=1"},
               {"Content-Length", "61"}};
  r.body = R"({"messages": [{"role": "user", "content": [{"text": "Hi"}]}]})";
  auto result = auth_.authenticate(r, "bedrock", true);
  ASSERT_TRUE(result.ok()) << result.error().message() << "\n" << result.error().detail();
  EXPECT_EQ(result->region, "us-west-2");
}

TEST_F(AuthenticatorTest, AcceptsBotocoreGetWithArnInPath) {
  clock_.set(at("20261122T080004Z") - 3min);
  http::Request r;
  r.method = "GET";
  r.path =
      "/inference-profiles/"
      "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fabc";
  r.headers = {{"Host", "localhost:8080"},
               {"User-Agent", "Boto3/1.43.11"},
               {"X-Amz-Date", "20261122T080004Z"},
               {"Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-west-2/bedrock/aws4_request, "
                "SignedHeaders=host;x-amz-date, "
                "Signature=bdf8934381f3259532f20d5d9147e34b694f0d51d4dba18303435610bc5a9361"},
               {"amz-sdk-invocation-id", "aee07cd4-9e61-43cd-8cec-1bd77b267a0f"},
               {"amz-sdk-request", "attempt=1"}};
  auto result = auth_.authenticate(r, "bedrock", false);
  ASSERT_TRUE(result.ok()) << result.error().message() << "\n" << result.error().detail();
}

// Captured from @aws-sdk/client-bedrock-runtime 3.1162 over HTTP/2 (its default
// handler): it signs the authority as ':authority', with no 'host', and the HTTP/2
// server exposes the pseudo-header under that name (and as 'host').
TEST_F(AuthenticatorTest, AcceptsTheJsSdkSigningAuthorityOverHttp2) {
  clock_.set(at("20261122T090917Z") + 1min);
  http::Request r;
  r.method = "POST";
  r.path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";
  r.headers = {{":authority", "127.0.0.1:42439"},
               {"content-type", "application/json"},
               {"content-length", "56"},
               {"x-amz-user-agent", "aws-sdk-js/3.1161.0"},
               {"user-agent", "aws-sdk-js/3.1161.0 ua/2.1 os/linux lang/js md/nodejs#20.20.2"},
               {"amz-sdk-invocation-id", "5ceac70e-6d5e-49b3-a654-94a0a9bd1b10"},
               {"amz-sdk-request", "attempt=1; max=1"},
               {"x-amz-date", "20261122T090917Z"},
               {"x-amz-content-sha256", "c3335e07d6e89650bf94cb98664be69f8774dbc3198df221f113db0a59ea14f0"},
               {"authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/bedrock/aws4_request, "
                "SignedHeaders=:authority;amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;"
                "x-amz-content-sha256;x-amz-date;x-amz-user-agent, "
                "Signature=352692ee3577726d5343f5e439f95432b84f12043c22d6beb8189fd68ed2c062"},
               {"host", "127.0.0.1:42439"}};
  r.body = R"({"messages":[{"role":"user","content":[{"text":"hi"}]}]})";
  auto result = auth_.authenticate(r, "bedrock", true);
  ASSERT_TRUE(result.ok()) << result.error().message() << "\n" << result.error().detail();
  EXPECT_EQ(result->region, "us-east-1");
}

TEST_F(AuthenticatorTest, AcceptsTheDateHeaderWhenThereIsNoXAmzDate) {
  http::Request r = unsigned_converse();
  r.headers.push_back({"Date", "Sun, 30 Aug 2015 12:36:00 GMT"});
  std::vector<std::string> signed_headers = {"content-type", "date", "host"};
  std::string creq = sigv4::canonical_request(r, signed_headers, sigv4::payload_hash(r));
  std::string sts =
      sigv4::string_to_sign("20150830T123600Z", "20150830/us-east-1/bedrock/aws4_request", creq);
  std::string signature =
      sigv4::sign(sigv4::derive_signing_key(kSecret, "20150830", "us-east-1", "bedrock"), sts);
  r.headers.push_back({"Authorization",
                       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, "
                       "SignedHeaders=content-type;date;host, Signature=" +
                           signature});
  auto result = auth_.authenticate(r, "bedrock", false);
  ASSERT_TRUE(result.ok()) << result.error().message() << "\n" << result.error().detail();
}

TEST_F(AuthenticatorTest, AcceptsSessionTokensSignedOrNot) {
  http::Request signed_token = unsigned_converse();
  sigv4::sign_request(signed_token, {"AKIDEXAMPLE", std::string(kSecret), "us-east-1", "bedrock",
                                     clock_.now(), "FwoGZXIvYXdzEXAMPLETOKEN//////////"});
  EXPECT_NE(signed_token.header("Authorization")->find("x-amz-security-token"),
            std::string_view::npos);
  EXPECT_TRUE(auth_.authenticate(signed_token, "bedrock", false).ok());

  http::Request appended_token = converse();
  appended_token.headers.push_back({"X-Amz-Security-Token", "added-after-signing"});
  EXPECT_TRUE(auth_.authenticate(appended_token, "bedrock", false).ok());
}

TEST_F(AuthenticatorTest, AcceptsTheEdgesOfTheClockSkewWindow) {
  clock_.set(at("20150830T123600Z") + 15min);
  EXPECT_TRUE(auth_.authenticate(converse(), "bedrock", false).ok());
  clock_.set(at("20150830T123600Z") - 15min);
  EXPECT_TRUE(auth_.authenticate(converse(), "bedrock", false).ok());
}

TEST_F(AuthenticatorTest, AcceptsADeclaredPayloadHash) {
  http::Request r = unsigned_converse();
  r.headers.push_back({"X-Amz-Content-Sha256", sigv4::sha256_hex(r.body)});
  sigv4::sign_request(r, {"AKIDEXAMPLE", std::string(kSecret), "us-east-1", "bedrock", clock_.now()});
  EXPECT_TRUE(auth_.authenticate(r, "bedrock", false).ok());
}

TEST_F(AuthenticatorTest, AcceptsUnsignedPayload) {
  http::Request r = unsigned_converse();
  r.headers.push_back({"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"});
  sigv4::sign_request(r, {"AKIDEXAMPLE", std::string(kSecret), "us-east-1", "bedrock", clock_.now()});
  r.body += " ";  // not covered by the signature, by the client's choice
  EXPECT_TRUE(auth_.authenticate(r, "bedrock", false).ok());
}

TEST_F(AuthenticatorTest, AcceptsAKnownBearerTokenWhereAllowed) {
  http::Request r = unsigned_converse();
  r.headers.push_back({"Authorization", "Bearer " + std::string(kBearerToken)});
  auto result = auth_.authenticate(r, "bedrock", true);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->principal.kind, Principal::Kind::ApiKey);
  EXPECT_EQ(result->principal.key_id, "key-1");
  EXPECT_EQ(result->principal.account_id, "111122223333");
  EXPECT_EQ(result->principal.name, "bob");
  EXPECT_EQ(result->region, "us-west-2");
  EXPECT_EQ(result->service, "bedrock");

  set_header(r, "Authorization", "bearer   " + std::string(kBearerToken) + " ");
  EXPECT_TRUE(auth_.authenticate(r, "bedrock", true).ok());
}

// A presigned URL for `r` (the X-Amz-* parameters appended to its query), as the SDK presigners do.
void presign(http::Request& r, TimePoint time, int expires_seconds) {
  std::string amz_date = format_amz_date(time);
  std::string scope = amz_date.substr(0, 8) + "/us-east-1/bedrock/aws4_request";
  if (!r.query.empty()) r.query += '&';
  r.query += "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F" +
             sigv4::uri_encode(scope, false) + "&X-Amz-Date=" + amz_date +
             "&X-Amz-Expires=" + std::to_string(expires_seconds) + "&X-Amz-SignedHeaders=host";
  std::vector<std::string> signed_headers = {"host"};
  std::string creq = sigv4::canonical_request(r, signed_headers, sigv4::payload_hash(r), {.presigned = true});
  std::string key = sigv4::derive_signing_key(kSecret, amz_date.substr(0, 8), "us-east-1", "bedrock");
  r.query += "&X-Amz-Signature=" + sigv4::sign(key, sigv4::string_to_sign(amz_date, scope, creq));
}

TEST_F(AuthenticatorTest, AcceptsAPresignedUrlUntilItExpires) {
  http::Request r;
  r.method = "GET";
  r.path = "/foundation-models";
  r.query = "byProvider=anthropic";
  r.headers = {{"Host", "localhost:8080"}};
  presign(r, clock_.now(), 300);
  auto result = auth_.authenticate(r, "bedrock", false);
  ASSERT_TRUE(result.ok()) << result.error().message() << "\n" << result.error().detail();
  EXPECT_EQ(result->principal.key_id, "AKIDEXAMPLE");

  clock_.advance(300s);
  EXPECT_TRUE(auth_.authenticate(r, "bedrock", false).ok());
  clock_.advance(1s);
  Error e = expect_error(r, ErrorCode::InvalidSignature);
  EXPECT_EQ(e.message(),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z "
            "(20150830T124101Z - 300 sec.)");

  http::Request tampered = r;
  clock_.set(at("20150830T123600Z"));
  tampered.query.replace(tampered.query.find("anthropic"), 9, "meta");
  expect_error(tampered, ErrorCode::InvalidSignature);
}

// ---- Errors, as AWS answers them ------------------------------------------------------------

TEST_F(AuthenticatorTest, MissingAuthorizationIsMissingAuthenticationToken) {
  http::Request r = unsigned_converse();
  Error e = expect_error(r, ErrorCode::MissingAuthenticationToken);
  EXPECT_EQ(e.message(), "Missing Authentication Token");
  EXPECT_EQ(e.http_status(), 403);
  EXPECT_EQ(e.aws_name(), "MissingAuthenticationTokenException");

  r.headers.push_back({"Authorization", "   "});
  EXPECT_EQ(expect_error(r, ErrorCode::MissingAuthenticationToken).message(), "Missing Authentication Token");
}

TEST_F(AuthenticatorTest, MalformedAuthorizationIsIncompleteSignature) {
  http::Request r = converse();
  std::string header(*r.header("Authorization"));
  set_header(r, "Authorization", header.substr(0, header.find(", Signature=")));
  Error e = expect_error(r, ErrorCode::IncompleteSignature);
  EXPECT_EQ(e.message(), "Authorization header requires 'Signature' parameter. Authorization=" +
                             header.substr(0, header.find(", Signature=")));
  EXPECT_EQ(e.http_status(), 400);

  set_header(r, "Authorization", "AWS4-HMAC-SHA1 " + header.substr(header.find(' ') + 1));
  EXPECT_NE(expect_error(r, ErrorCode::IncompleteSignature).message().find("unsupported algorithm"),
            std::string::npos);
}

TEST_F(AuthenticatorTest, UnknownAccessKeyIsUnrecognizedClient) {
  http::Request r = unsigned_converse();
  sigv4::sign_request(r, {"AKIDUNKNOWN", std::string(kSecret), "us-east-1", "bedrock", clock_.now()});
  Error e = expect_error(r, ErrorCode::UnrecognizedClient);
  EXPECT_EQ(e.message(), "The security token included in the request is invalid.");
  EXPECT_EQ(e.http_status(), 403);
}

TEST_F(AuthenticatorTest, WrongSignatureIsInvalidSignatureWithTheCanonicalRequestInTheDetail) {
  http::Request r = unsigned_converse();
  sigv4::sign_request(r, {"AKIDEXAMPLE", "not-the-secret", "us-east-1", "bedrock", clock_.now()});
  Error e = expect_error(r, ErrorCode::InvalidSignature);
  EXPECT_EQ(e.message(), kMismatch);
  EXPECT_EQ(e.http_status(), 403);
  EXPECT_NE(e.detail().find(
                "canonical request:\nPOST\n/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse\n"),
            std::string::npos)
      << e.detail();
  EXPECT_NE(e.detail().find("string to sign:\nAWS4-HMAC-SHA256\n20150830T123600Z\n"), std::string::npos);
  EXPECT_EQ(e.detail().find(kSecret), std::string::npos);
  EXPECT_EQ(e.message().find("canonical"), std::string::npos);
}

TEST_F(AuthenticatorTest, AnyChangeAfterSigningIsInvalidSignature) {
  std::vector<std::pair<std::string_view, void (*)(http::Request&)>> changes = {
      {"body", [](http::Request& r) { r.body[2] = 'X'; }},
      {"path",
       [](http::Request& r) { r.path = "/model/anthropic.claude-3-sonnet-20240229-v1%3A0/converse"; }},
      {"query", [](http::Request& r) { r.query = "a=b"; }},
      {"method", [](http::Request& r) { r.method = "PUT"; }},
      {"signed header", [](http::Request& r) { set_header(r, "Content-Type", "text/plain"); }},
      {"repeated signed header",
       [](http::Request& r) {
         r.headers.push_back({"Content-Type", "text/plain"});
       }},
      {"signature",
       [](http::Request& r) {
         std::string header(*r.header("Authorization"));
         header.back() = header.back() == '0' ? '1' : '0';
         set_header(r, "Authorization", header);
       }},
  };
  for (const auto& [what, change] : changes) {
    http::Request r = converse();
    change(r);
    EXPECT_EQ(expect_error(r, ErrorCode::InvalidSignature).message(), kMismatch) << what;
  }
  http::Request unsigned_header_changed = converse();
  set_header(unsigned_header_changed, "User-Agent", "something else");
  EXPECT_TRUE(auth_.authenticate(unsigned_header_changed, "bedrock", false).ok());
}

TEST_F(AuthenticatorTest, BodyNotMatchingTheDeclaredHashIsInvalidSignature) {
  http::Request r = unsigned_converse();
  r.headers.push_back({"X-Amz-Content-Sha256", sigv4::sha256_hex(r.body)});
  sigv4::sign_request(r, {"AKIDEXAMPLE", std::string(kSecret), "us-east-1", "bedrock", clock_.now()});
  r.body[2] = 'X';
  Error e = expect_error(r, ErrorCode::InvalidSignature);
  EXPECT_EQ(e.message(), "The provided 'x-amz-content-sha256' header does not match what was computed.");
}

TEST_F(AuthenticatorTest, ClockSkewIsInvalidSignatureWithAwsTimes) {
  clock_.set(at("20150830T130100Z"));
  Error expired = expect_error(converse(), ErrorCode::InvalidSignature);
  EXPECT_EQ(expired.message(),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T124600Z (20150830T130100Z - 15 "
            "min.)");

  clock_.set(at("20150830T120000Z"));
  Error early = expect_error(converse(), ErrorCode::InvalidSignature);
  EXPECT_EQ(early.message(),
            "Signature not yet current: 20150830T123600Z is still later than 20150830T121500Z "
            "(20150830T120000Z + 15 min.)");

  clock_.set(at("20150830T123600Z") + 15min + 1s);
  expect_error(converse(), ErrorCode::InvalidSignature);
}

TEST_F(AuthenticatorTest, WrongServiceInScopeIsInvalidSignature) {
  Error e = expect_error(converse("bedrock-runtime"), ErrorCode::InvalidSignature);
  EXPECT_EQ(e.message(), "Credential should be scoped to correct service: 'bedrock'.");
  Error ce = expect_error(converse("bedrock"), ErrorCode::InvalidSignature, "ce", false);
  EXPECT_EQ(ce.message(), "Credential should be scoped to correct service: 'ce'.");
}

TEST_F(AuthenticatorTest, ScopeDateOtherThanTheRequestDateIsInvalidSignature) {
  http::Request r = converse();
  std::string header(*r.header("Authorization"));
  header.replace(header.find("20150830"), 8, "20150831");
  set_header(r, "Authorization", header);
  Error e = expect_error(r, ErrorCode::InvalidSignature);
  EXPECT_EQ(e.message(),
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            "'20150831' != '20150830', from '20150830T123600Z'.");
}

TEST_F(AuthenticatorTest, MissingOrBadDateIsIncompleteSignature) {
  http::Request r = converse();
  remove_header(r, "X-Amz-Date");
  Error missing = expect_error(r, ErrorCode::IncompleteSignature);
  EXPECT_EQ(missing.message(),
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
            "Authorization=" +
                std::string(*r.header("Authorization")));

  r.headers.push_back({"X-Amz-Date", "2015-08-30T12:36:00Z"});
  EXPECT_NE(expect_error(r, ErrorCode::IncompleteSignature).message().find("ISO-8601"), std::string::npos);

  remove_header(r, "X-Amz-Date");
  r.headers.push_back({"Date", "yesterday"});
  expect_error(r, ErrorCode::IncompleteSignature);
}

TEST_F(AuthenticatorTest, HostMustBeSigned) {
  http::Request r = converse();
  std::string header(*r.header("Authorization"));
  header.replace(header.find("host;"), 5, "");
  set_header(r, "Authorization", header);
  Error e = expect_error(r, ErrorCode::IncompleteSignature);
  EXPECT_EQ(e.message(), "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
}

TEST_F(AuthenticatorTest, UnknownBearerTokenIsUnrecognizedClient) {
  http::Request r = unsigned_converse();
  for (const std::string& value : std::vector<std::string>{"Bearer ABSKnotAKey", "Bearer",
                                                           "Bearer " + std::string(kBearerToken) + "x"}) {
    set_header(r, "Authorization", value);
    Error e = expect_error(r, ErrorCode::UnrecognizedClient);
    EXPECT_EQ(e.message(), "The security token included in the request is invalid.") << value;
  }
}

TEST_F(AuthenticatorTest, BearerOnASigV4OnlyServiceIsRefused) {
  http::Request r = unsigned_converse();
  r.headers.push_back({"Authorization", "Bearer " + std::string(kBearerToken)});
  for (std::string_view service : {"ce", "budgets"}) {
    Error e = expect_error(r, ErrorCode::IncompleteSignature, service, false);
    EXPECT_NE(e.message().find("'" + std::string(service) + "' service accepts only AWS Signature Version 4"),
              std::string::npos)
        << e.message();
    EXPECT_EQ(e.message().find(kBearerToken), std::string::npos);
  }
}

TEST(AuthenticatorConstruction, RejectsDuplicateKeys) {
  ManualClock clock{TimePoint{}};
  EXPECT_THROW(
      Authenticator({{"AK", "s1", "123456789012", "a"}, {"AK", "s2", "123456789012", "b"}}, {}, clock, "r"),
      StartupError);
  EXPECT_THROW(
      Authenticator({}, {{"k1", "tok", "123456789012", "a"}, {"k2", "tok", "123456789012", "b"}}, clock, "r"),
      StartupError);
}

}  // namespace
}  // namespace tollgate::auth
