// Unit tests of the SigV4 pieces, one function at a time, table-driven.
#include "auth/sigv4.h"

#include <gtest/gtest.h>

#include "core/time_format.h"

namespace tollgate::auth::sigv4 {
namespace {

// ---- CanonicalURI ---------------------------------------------------------------------------

TEST(CanonicalUri, DoubleEncodesTheModelIdOfAConverseCall) {
  // The SDKs send "v1%3A0" on the wire and sign "v1%253A0" (non-S3 services double-encode).
  EXPECT_EQ(canonical_uri("/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"),
            "/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse");
}

TEST(CanonicalUri, DoubleEncodesAnArnInThePath) {
  EXPECT_EQ(canonical_uri("/inference-profiles/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3A"
                          "application-inference-profile%2Fabc"),
            "/inference-profiles/arn%253Aaws%253Abedrock%253Aus-east-1%253A123456789012%253A"
            "application-inference-profile%252Fabc");
}

struct UriCase {
  std::string_view raw;
  bool normalize;
  std::string_view expected;
};

TEST(CanonicalUri, NormalisesAndEncodes) {
  const UriCase cases[] = {
      {"", true, "/"},
      {"", false, "/"},
      {"/", true, "/"},
      {"//", true, "/"},
      {"//", false, "//"},
      {"//example//", true, "/example/"},
      {"//example//", false, "//example//"},
      {"/example/..", true, "/"},
      {"/example1/example2/../..", true, "/"},
      {"/example1/example2/../..", false, "/example1/example2/../.."},
      {"/./", true, "/"},
      {"/./example", true, "/example"},
      {"/a/b/../c/./d/", true, "/a/c/d/"},
      {"/../../a", true, "/a"},
      {"/example space/", true, "/example%20space/"},
      {"/example/$delete", true, "/example/%24delete"},
      {"/\xE1\x88\xB4", true, "/%E1%88%B4"},
      {"/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", true,
       "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"},
      {"/a+b=c&d", true, "/a%2Bb%3Dc%26d"},
      {"/%2E%2E/x", true, "/%252E%252E/x"},  // encoded dots are not dot segments
      {std::string_view("/a\0b", 4), true, "/a%00b"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(canonical_uri(c.raw, c.normalize), c.expected)
        << "raw=" << c.raw << " normalize=" << c.normalize;
  }
}

// ---- CanonicalQueryString -------------------------------------------------------------------

struct QueryCase {
  std::string_view raw;
  bool presigned;
  std::string_view expected;
};

TEST(CanonicalQuery, DecodesReencodesAndSorts) {
  const QueryCase cases[] = {
      {"", false, ""},
      {"Param1=value1", false, "Param1=value1"},
      {"Param2=value2&Param1=value1", false, "Param1=value1&Param2=value2"},
      {"Param1=value2&Param1=Value1", false, "Param1=Value1&Param1=value2"},
      {"Param-3=Value3&Param=Value2&%E1%88%B4=Value1", false, "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"},
      {"\xE1\x88\xB4=bar", false, "%E1%88%B4=bar"},
      {"key", false, "key="},
      {"key=", false, "key="},
      {"a&&b=1&", false, "a=&b=1"},
      {"q=a b", false, "q=a%20b"},
      {"q=a%20b", false, "q=a%20b"},
      {"q=a+b", false, "q=a%2Bb"},  // '+' is a literal plus: clients send spaces as %20
      {"q=%2f%2F/", false, "q=%2F%2F%2F"},
      {"q=a=b", false, "q=a%3Db"},
      {"q=%zz%4", false, "q=%25zz%254"},  // malformed escapes are literal '%'
      {"maxResults=10&nextToken=abc%3D%3D", false, "maxResults=10&nextToken=abc%3D%3D"},
      {"X-Amz-Signature=abc&b=2", false, "X-Amz-Signature=abc&b=2"},
      {"X-Amz-Signature=abc&b=2", true, "b=2"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(canonical_query(c.raw, c.presigned), c.expected) << "raw=" << c.raw;
  }
}

TEST(PercentDecode, IsLenient) {
  EXPECT_EQ(lenient_percent_decode("a%3Ab%3a"), "a:b:");
  EXPECT_EQ(lenient_percent_decode("100%"), "100%");
  EXPECT_EQ(lenient_percent_decode("%4"), "%4");
  EXPECT_EQ(lenient_percent_decode("%G1"), "%G1");
  EXPECT_EQ(lenient_percent_decode("a+b"), "a+b");
}

// ---- Canonical headers ----------------------------------------------------------------------

TEST(CanonicalHeaderValue, TrimsAndCollapsesWhitespace) {
  EXPECT_EQ(canonical_header_value("value1"), "value1");
  EXPECT_EQ(canonical_header_value("  value1 \t"), "value1");
  EXPECT_EQ(canonical_header_value("\"a   b   c\""), "\"a b c\"");
  EXPECT_EQ(canonical_header_value("value1\r\n  value2\r\n     value3"), "value1 value2 value3");  // obs-fold
  EXPECT_EQ(canonical_header_value("value1   value2      value3"),
            "value1 value2 value3");  // unfolded by the server
  EXPECT_EQ(canonical_header_value(""), "");
  EXPECT_EQ(canonical_header_value(" \t "), "");
}

http::Request make_request(std::vector<http::Header> headers) {
  http::Request r;
  r.method = "GET";
  r.path = "/";
  r.headers = std::move(headers);
  return r;
}

TEST(CanonicalHeaders, SortsJoinsRepeatsAndLowercases) {
  auto r = make_request({{"Host", "example.amazonaws.com"},
                         {"My-Header1", "value4"},
                         {"X-Amz-Date", "20150830T123600Z"},
                         {"my-header1", " value1 "},
                         {"Unsigned", "x"}});
  std::vector<std::string> signed_headers = {"x-amz-date", "My-Header1", "host"};
  EXPECT_EQ(canonical_headers(r, signed_headers),
            "host:example.amazonaws.com\nmy-header1:value4,value1\nx-amz-date:20150830T123600Z\n");
}

TEST(CanonicalHeaders, AbsentSignedHeaderHasEmptyValue) {
  auto r = make_request({{"Host", "h"}});
  std::vector<std::string> signed_headers = {"host", "x-missing"};
  EXPECT_EQ(canonical_headers(r, signed_headers), "host:h\nx-missing:\n");
}

TEST(SignedHeaders, AreLowercasedSortedAndUnique) {
  std::vector<std::string> in = {"X-Amz-Date", "host", "HOST", "content-type"};
  EXPECT_EQ(normalized_signed_headers(in), (std::vector<std::string>{"content-type", "host", "x-amz-date"}));
}

TEST(PayloadHash, UsesDeclaredHashElseHashesBody) {
  auto r = make_request({});
  EXPECT_EQ(payload_hash(r), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  r.body = "Param1=value1";
  EXPECT_EQ(payload_hash(r), "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  r.headers.push_back({"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"});
  EXPECT_EQ(payload_hash(r), "UNSIGNED-PAYLOAD");
}

TEST(CanonicalRequest, OfABotocoreConverseCall) {
  // Captured from botocore 1.43.11 (bedrock-runtime client, endpoint_url http://localhost:8080):
  // its debug log printed exactly this canonical request.
  http::Request r;
  r.method = "POST";
  r.path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";
  r.headers = {{"Host", "localhost:8080"},
               {"Content-Type", "application/json"},
               {"X-Amz-Date", "20261122T080004Z"},
               {"Content-Length", "61"}};
  r.body = R"({"messages": [{"role": "user", "content": [{"text": "Hi"}]}]})";
  std::vector<std::string> signed_headers = {"content-type", "host", "x-amz-date"};
  std::string creq = canonical_request(r, signed_headers, payload_hash(r));
  EXPECT_EQ(creq,
            "POST\n/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse\n\n"
            "content-type:application/json\nhost:localhost:8080\nx-amz-date:20261122T080004Z\n\n"
            "content-type;host;x-amz-date\nb00b27ae96cce295b9d6456bac8d08b3e3114022bfcf26610ff22e99a58513c3");
  std::string sts =
      string_to_sign("20261122T080004Z", credential_scope("20261122", "us-west-2", "bedrock"), creq);
  EXPECT_EQ(sts,
            "AWS4-HMAC-SHA256\n20261122T080004Z\n20261122/us-west-2/bedrock/aws4_request\n"
            "febd7f0862f6be17b81657f0fa612351d9a8760858e82622871ec1af07b3bd5b");
  std::string key =
      derive_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20261122", "us-west-2", "bedrock");
  EXPECT_EQ(sign(key, sts), "c0f24dfb44fa43d8d5924787ecbab29641f8cf9d018e1aeb0c8d1f5dd9769065");
}

// ---- Crypto ---------------------------------------------------------------------------------

TEST(Crypto, Sha256AndHmac) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hex_encode(std::string_view("\x00\xff\x10", 3)), "00ff10");
}

// RFC 4231: keys shorter than, exactly of, and longer than SHA-256's 64-byte block.
TEST(Crypto, HmacMatchesRfc4231) {
  struct Case {
    std::string key, data, hmac;
  };
  const std::vector<Case> cases = {
      {std::string(20, '\x0b'), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {std::string(20, '\xaa'), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {std::string(131, '\xaa'),
       "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be "
       "hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
      {std::string(64, 'k'), "block-sized key", "fa828622183c28b475ecd957cc29b1fe479712fa50bb4333dd58b526dcd751b1"},  // Python's hmac
  };
  for (const auto& c : cases) EXPECT_EQ(hex_encode(hmac_sha256(c.key, c.data)), c.hmac) << c.data;
}

TEST(Crypto, DerivesTheSigningKeyOfTheAwsDocumentationExample) {
  EXPECT_EQ(hex_encode(derive_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1",
                                          "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(Crypto, ConstantTimeEquals) {
  EXPECT_TRUE(constant_time_equals("", ""));
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_FALSE(constant_time_equals("abc", "abd"));
  EXPECT_FALSE(constant_time_equals("abc", "abcd"));
}

// ---- Authorization header -------------------------------------------------------------------

constexpr std::string_view kGoodHeader =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
    "SignedHeaders=host;x-amz-date, "
    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

TEST(ParseAuthorization, ReadsAllFields) {
  auto parsed = parse_authorization(kGoodHeader);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(parsed->date, "20150830");
  EXPECT_EQ(parsed->region, "us-east-1");
  EXPECT_EQ(parsed->service, "service");
  EXPECT_EQ(parsed->signed_headers, (std::vector<std::string>{"host", "x-amz-date"}));
  EXPECT_EQ(parsed->signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(parsed->credential_scope(), "20150830/us-east-1/service/aws4_request");
}

TEST(ParseAuthorization, ToleratesSeparatorsAndOrder) {
  const std::string_view variants[] = {
      "AWS4-HMAC-SHA256 "
      "Credential=AK/20150830/eu-west-3/bedrock/aws4_request,SignedHeaders=Host;X-Amz-Date,Signature=ab",
      "AWS4-HMAC-SHA256 Signature=ab, Credential=AK/20150830/eu-west-3/bedrock/aws4_request, "
      "SignedHeaders=host;x-amz-date",
      "  AWS4-HMAC-SHA256   SignedHeaders=host;x-amz-date ,  "
      "Signature=ab,Credential=AK/20150830/eu-west-3/bedrock/aws4_request ",
      "AWS4-HMAC-SHA256 Credential=AK/20150830/eu-west-3/bedrock/aws4_request, "
      "SignedHeaders=host;x-amz-date, "
      "Signature=ab, Extra=ignored",
  };
  for (auto header : variants) {
    auto parsed = parse_authorization(header);
    ASSERT_TRUE(parsed.ok()) << header << ": " << parsed.error().message();
    EXPECT_EQ(parsed->access_key_id, "AK");
    EXPECT_EQ(parsed->region, "eu-west-3");
    EXPECT_EQ(parsed->service, "bedrock");
    EXPECT_EQ(parsed->signed_headers, (std::vector<std::string>{"host", "x-amz-date"}));
    EXPECT_EQ(parsed->signature, "ab");
  }
}

struct BadHeaderCase {
  std::string_view header;
  std::string_view message_part;
};

TEST(ParseAuthorization, RejectsMalformedHeadersWithIncompleteSignature) {
  const BadHeaderCase cases[] = {
      {"AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/service/aws4_request, SignedHeaders=host",
       "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 Credential="},
      {"AWS4-HMAC-SHA256 SignedHeaders=host, Signature=ab",
       "Authorization header requires 'Credential' parameter."},
      {"AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/service/aws4_request, Signature=ab",
       "Authorization header requires 'SignedHeaders' parameter."},
      {"AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/service/aws4_request, SignedHeaders=host, "
       "Signature=",
       "Authorization header requires 'Signature' parameter."},
      {"AWS4-HMAC-SHA256",
       "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' "
       "parameter. "
       "Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256"},
      {"AWS4-HMAC-SHA512 Credential=AK/20150830/us-east-1/service/aws4_request, SignedHeaders=host, "
       "Signature=ab",
       "unsupported algorithm"},
      {"AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", "unsupported algorithm"},
      {"Basic dXNlcjpwYXNz", "unsupported algorithm"},
      {"AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/service, SignedHeaders=host, Signature=ab",
       "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got "
       "'AK/20150830/us-east-1/service'"},
      {"AWS4-HMAC-SHA256 Credential=/20150830/us-east-1/service/aws4_request, SignedHeaders=host, "
       "Signature=ab",
       "access key id"},
      {"AWS4-HMAC-SHA256 Credential=AK/2015083/us-east-1/service/aws4_request, SignedHeaders=host, "
       "Signature=ab",
       "Invalid credential date '2015083'"},
      {"AWS4-HMAC-SHA256 Credential=AK/20150830/US_EAST/service/aws4_request, SignedHeaders=host, "
       "Signature=ab",
       "Credential should be scoped to a valid region, not 'US_EAST'."},
      {"AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1//aws4_request, SignedHeaders=host, Signature=ab",
       "Credential should be scoped to a valid service"},
      {"AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/service/aws5_request, SignedHeaders=host, "
       "Signature=ab",
       "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'."},
      {"AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/service/aws4_request, SignedHeaders=host;;x, "
       "Signature=ab",
       "SignedHeaders contains an empty header name"},
      {"AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/service/aws4_request, SignedHeaders=host, "
       "Signature=ab, "
       "Signature=cd",
       "more than one 'Signature' parameter"},
      {"AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/service/aws4_request SignedHeaders=host "
       "Signature=ab",
       "Authorization header requires 'Signature' parameter."},  // parameters need ',' between them
      {"AWS4-HMAC-SHA256 Credential", "is not of the form key=value"},
  };
  for (const auto& c : cases) {
    auto parsed = parse_authorization(c.header);
    ASSERT_FALSE(parsed.ok()) << c.header;
    EXPECT_EQ(parsed.error().code(), ErrorCode::IncompleteSignature) << c.header;
    EXPECT_NE(parsed.error().message().find(c.message_part), std::string::npos)
        << c.header << "\n  got: " << parsed.error().message();
  }
}

TEST(ParseAuthorization, DoesNotEchoForeignSchemes) {
  auto parsed = parse_authorization("Basic dXNlcjpwYXNz");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message().find("dXNlcjpwYXNz"), std::string::npos);
}

// ---- Presigned query ------------------------------------------------------------------------

constexpr std::string_view kPresignedQuery =
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_"
    "request"
    "&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=abc";

TEST(PresignedQuery, IsRecognisedAndParsed) {
  EXPECT_TRUE(looks_presigned(kPresignedQuery));
  EXPECT_TRUE(looks_presigned("X-Amz-Signature=x"));
  EXPECT_FALSE(looks_presigned("Param1=value1&X-Amz-Date=20150830T123600Z"));
  EXPECT_FALSE(looks_presigned(""));
  auto parsed = parse_presigned_query(kPresignedQuery);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->authorization.access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(parsed->authorization.credential_scope(), "20150830/us-east-1/service/aws4_request");
  EXPECT_EQ(parsed->authorization.signed_headers, (std::vector<std::string>{"host"}));
  EXPECT_EQ(parsed->authorization.signature, "abc");
  EXPECT_EQ(parsed->amz_date, "20150830T123600Z");
  EXPECT_EQ(parsed->expires_seconds, 3600);
}

TEST(PresignedQuery, RejectsMissingOrBadParameters) {
  const std::pair<std::string, std::string_view> cases[] = {
      {"X-Amz-Signature=abc", "AWS query-string parameters must include"},
      {std::string(kPresignedQuery) + "&X-Amz-Signature=def", "appears more than once"},
      {"X-Amz-Algorithm=AWS4-HMAC-SHA1&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_"
       "request"
       "&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=abc",
       "X-Amz-Algorithm only supports"},
      {"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%"
       "2Faws4_request"
       "&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=604801&X-Amz-Signature=abc",
       "less than a week"},
      {"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%"
       "2Faws4_request"
       "&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=soon&X-Amz-Signature=abc",
       "X-Amz-Expires should be a positive number"},
      {"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830"
       "&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=60&X-Amz-Signature=abc",
       "exactly 5 slash-delimited elements"},
  };
  for (const auto& [query, message_part] : cases) {
    auto parsed = parse_presigned_query(query);
    ASSERT_FALSE(parsed.ok()) << query;
    EXPECT_EQ(parsed.error().code(), ErrorCode::IncompleteSignature);
    EXPECT_NE(parsed.error().message().find(message_part), std::string::npos) << parsed.error().message();
  }
}

// ---- Dates and the client-side signer -------------------------------------------------------

TEST(HttpDate, ParsesImfFixdateAndAmzDate) {
  auto expected = parse_amz_date("20150830T123600Z");
  ASSERT_TRUE(expected);
  EXPECT_EQ(parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT"), expected);
  EXPECT_EQ(parse_http_date(" 20150830T123600Z "), expected);
  EXPECT_FALSE(parse_http_date("Sun, 30 Foo 2015 12:36:00 GMT"));
  EXPECT_FALSE(parse_http_date("Sun, 31 Feb 2015 12:36:00 GMT"));
  EXPECT_FALSE(parse_http_date("Sunday, 30-Aug-15 12:36:00 GMT"));
  EXPECT_FALSE(parse_http_date(""));
}

TEST(SignRequest, ProducesTheVanillaVector) {
  // botocore-aws4_testsuite/get-vanilla: same request, same Authorization.
  http::Request r;
  r.method = "GET";
  r.path = "/";
  r.headers = {{"Host", "example.amazonaws.com"}, {"User-Agent", "not signed"}};
  sign_request(r, {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service",
                   *parse_amz_date("20150830T123600Z")});
  EXPECT_EQ(r.header("X-Amz-Date"), "20150830T123600Z");
  EXPECT_EQ(r.header("Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

}  // namespace
}  // namespace tollgate::auth::sigv4
