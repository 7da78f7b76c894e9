// The bedrock control plane through the Gateway, authenticated with a Bedrock
// API key (SigV4 itself is tested in auth/ and end to end).
#include "api/gateway.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

#include "api/bedrock/control_plane.h"
#include "govern/access_policy.h"
#include "http/in_memory.h"
#include "store/sqlite/sqlite_profile_store.h"

namespace tollgate::api {
namespace {

namespace json = boost::json;

class GatewayTest : public ::testing::Test {
 protected:
  GatewayTest()
      : catalog_(catalog::Catalog::embedded()),
        store_(store::sqlite::open_profile_store(":memory:")),
        clock_(std::chrono::system_clock::now()),
        authenticator_({{"test", "test", "123456789012", "local"}}, {{"key-1", "sekrit", "123456789012", "ci"}}, clock_,
                       "us-east-1"),
        service_(catalog_, *store_, clock_),
        gateway_(authenticator_) {
    bedrock::register_control_plane(gateway_, service_, catalog_, 4096);
    gateway_.add_json(
        "AWSInsightsIndexService.GetCostAndUsage",
        Operation{"GetCostAndUsage", Protocol::AwsJson11, "ce", false, 4096, [](const Call&) -> Result<http::Response> {
                    return Error(ErrorCode::Validation, "json-1.1 error");
                  }});
  }

  http::Response send(std::string method, std::string path, std::string body = "", std::string query = "",
                      std::string bearer = "sekrit") {
    http::Request req;
    req.method = std::move(method);
    req.path = std::move(path);
    req.query = std::move(query);
    req.body = std::move(body);
    req.headers.push_back({"Host", "localhost"});
    if (!bearer.empty()) req.headers.push_back({"Authorization", "Bearer " + bearer});
    return http::serve_in_memory(gateway_, req);
  }

  static std::string error_type(const http::Response& res) {
    auto h = res.header("x-amzn-ErrorType");
    return h ? std::string(*h) : "";
  }

  catalog::Catalog catalog_;
  std::unique_ptr<store::ProfileStore> store_;
  ManualClock clock_;
  auth::Authenticator authenticator_;
  profiles::ProfileService service_;
  Gateway gateway_;
};

TEST_F(GatewayTest, WholeAnswerHandlersRunOffTheServingThreadAndAThrowIsA500) {
  std::thread::id handler_thread;
  gateway_.add_json(
      "AWSInsightsIndexService.GetTags",
      Operation{"GetTags", Protocol::AwsJson11, "ce", true, 4096, [&](const Call&) -> Result<http::Response> {
                  handler_thread = std::this_thread::get_id();
                  return Gateway::json_response(200, "{}", Protocol::AwsJson11);
                }});
  gateway_.add_json("AWSInsightsIndexService.GetDimensionValues",
                    Operation{"GetDimensionValues", Protocol::AwsJson11, "ce", true, 4096,
                              [](const Call&) -> Result<http::Response> { throw std::runtime_error("boom"); }});
  auto call = [&](const std::string& target) {
    http::Request req;
    req.method = "POST";
    req.path = "/";
    req.body = "{}";
    req.headers = {{"Host", "localhost"}, {"Authorization", "Bearer sekrit"}, {"X-Amz-Target", target}};
    return http::serve_in_memory(gateway_, req);
  };
  auto ok = call("AWSInsightsIndexService.GetTags");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_NE(handler_thread, std::thread::id());
  EXPECT_NE(handler_thread, std::this_thread::get_id());  // serve_in_memory runs its io_context here

  auto failed = call("AWSInsightsIndexService.GetDimensionValues");
  EXPECT_EQ(failed.status, 500) << failed.body;
  EXPECT_NE(failed.body.find("internal error"), std::string::npos) << failed.body;
}

TEST_F(GatewayTest, CreatesGetsAndDeletesAProfile) {
  auto created = send("POST", "/inference-profiles",
                      R"({"inferenceProfileName":"support-bot-prod","modelSource":{"copyFrom":)"
                      R"("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"},)"
                      R"("tags":[{"key":"team","value":"growth"}]})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_TRUE(created.header("x-amzn-RequestId").has_value());
  auto arn = std::string(json::parse(created.body).at("inferenceProfileArn").as_string());

  // The ARN arrives percent-encoded in the path, '/' included.
  std::string encoded;
  for (char c : arn) encoded += c == ':' ? "%3A" : c == '/' ? "%2F" : std::string(1, c);
  auto got = send("GET", "/inference-profiles/" + encoded);
  ASSERT_EQ(got.status, 200) << got.body;
  auto body = json::parse(got.body).as_object();
  EXPECT_EQ(body.at("inferenceProfileName").as_string(), "support-bot-prod");
  EXPECT_EQ(body.at("type").as_string(), "APPLICATION");
  EXPECT_EQ(body.at("status").as_string(), "ACTIVE");
  EXPECT_TRUE(body.contains("createdAt"));

  auto tags = send("POST", "/listTagsForResource", R"({"resourceARN":")" + arn + R"("})");
  EXPECT_EQ(json::parse(tags.body).at("tags").as_array().size(), 1u);

  EXPECT_EQ(send("DELETE", "/inference-profiles/" + encoded).status, 200);
  auto gone = send("GET", "/inference-profiles/" + encoded);
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(error_type(gone), "ResourceNotFoundException");
}

TEST_F(GatewayTest, EncodesRestJsonErrors) {
  auto malformed = send("POST", "/inference-profiles", "{not json");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(error_type(malformed), "ValidationException");
  EXPECT_NE(json::parse(malformed.body).at("message").as_string().find("not valid JSON"), std::string::npos);

  auto wrong_type =
      send("POST", "/inference-profiles", R"({"inferenceProfileName": 5, "modelSource": {"copyFrom": "x"}})");
  EXPECT_EQ(error_type(wrong_type), "ValidationException");

  auto unknown = send("GET", "/nothing-here");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(error_type(unknown), "UnknownOperationException");

  auto unauthenticated = send("GET", "/foundation-models", "", "", "");
  EXPECT_EQ(unauthenticated.status, 403);
  EXPECT_EQ(error_type(unauthenticated), "MissingAuthenticationTokenException");

  auto bad_key = send("GET", "/foundation-models", "", "", "wrong");
  EXPECT_EQ(error_type(bad_key), "UnrecognizedClientException");
}

TEST_F(GatewayTest, EncodesJson11ErrorsWithType) {
  http::Request req;
  req.method = "POST";
  req.path = "/";
  req.headers = {{"X-Amz-Target", "AWSInsightsIndexService.NoSuchThing"},
                 {"Content-Type", "application/x-amz-json-1.1"}};
  auto res = http::serve_in_memory(gateway_, req);
  EXPECT_EQ(res.status, 404);
  auto body = json::parse(res.body).as_object();
  EXPECT_EQ(body.at("__type").as_string(), "UnknownOperationException");
  EXPECT_EQ(res.header("Content-Type").value(), "application/x-amz-json-1.1");
  EXPECT_TRUE(res.header("x-amzn-RequestId").has_value());
}

TEST_F(GatewayTest, ListsAndGetsFoundationModelsInTheCallersRegion) {
  auto list = send("GET", "/foundation-models", "", "byProvider=anthropic&byOutputModality=TEXT");
  ASSERT_EQ(list.status, 200) << list.body;
  auto models = json::parse(list.body).at("modelSummaries").as_array();
  ASSERT_FALSE(models.empty());
  for (const auto& m : models) EXPECT_EQ(m.at("providerName").as_string(), "Anthropic");
  EXPECT_EQ(error_type(send("GET", "/foundation-models", "", "byOutputModality=SOUND")), "ValidationException");

  auto got = send("GET", "/foundation-models/anthropic.claude-3-haiku-20240307-v1%3A0");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(json::parse(got.body).at("modelDetails").at("modelArn").as_string(),
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0");
  EXPECT_EQ(send("GET", "/foundation-models/acme.none-v1").status, 404);
}

TEST_F(GatewayTest, BodyLimitFollowsTheOperation) {
  http::Request req;
  req.method = "POST";
  req.path = "/inference-profiles";
  EXPECT_EQ(gateway_.body_limit(req), 4096u);
  auto rejected = gateway_.reject(req, Error(ErrorCode::RequestEntityTooLarge, "too big"));
  EXPECT_EQ(rejected.status, 413);
  EXPECT_EQ(error_type(rejected), "ValidationException");
}

// A caller whose access policy allows reading profiles and nothing else.
class GatewayPolicyTest : public ::testing::Test {
 protected:
  GatewayPolicyTest()
      : catalog_(catalog::Catalog::embedded()),
        store_(store::sqlite::open_profile_store(":memory:")),
        clock_(std::chrono::system_clock::now()),
        authenticator_({}, {{"reader", "reader-token", "123456789012", "reader", reader_policy()}}, clock_,
                       "us-east-1"),
        service_(catalog_, *store_, clock_),
        gateway_(authenticator_) {
    bedrock::register_control_plane(gateway_, service_, catalog_, 4096);
    gateway_.add_json("AWSInsightsIndexService.GetCostAndUsage",
                      Operation{"GetCostAndUsage", Protocol::AwsJson11, "ce", true, 4096,
                                [this](const Call&) -> Result<http::Response> {
                                  ++handled_;
                                  return Gateway::json_response(200, "{}", Protocol::AwsJson11);
                                }});
  }

  static auth::PolicyPtr reader_policy() {
    auto policy = govern::AccessPolicy::parse(R"({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["bedrock:Get*", "bedrock:List*"], "Resource": "*"},
        {"Effect": "Deny", "Action": "ce:*", "Resource": "*"}]})");
    return std::make_shared<const govern::AccessPolicy>(std::move(policy).value());
  }

  http::Response send(std::string method, std::string path, std::string body = "", std::string target = "") {
    http::Request req;
    req.method = std::move(method);
    req.path = std::move(path);
    req.body = std::move(body);
    req.headers = {{"Host", "localhost"}, {"Authorization", "Bearer reader-token"}};
    if (!target.empty()) req.headers.push_back({"X-Amz-Target", target});
    return http::serve_in_memory(gateway_, req);
  }

  catalog::Catalog catalog_;
  std::unique_ptr<store::ProfileStore> store_;
  ManualClock clock_;
  auth::Authenticator authenticator_;
  profiles::ProfileService service_;
  Gateway gateway_;
  int handled_ = 0;
};

TEST_F(GatewayPolicyTest, AnOperationThePolicyDoesNotAllowIsRefusedBeforeItsHandler) {
  auto listed = send("GET", "/inference-profiles");
  EXPECT_EQ(listed.status, 200) << listed.body;

  auto created = send("POST", "/inference-profiles",
                      R"({"inferenceProfileName":"nope","modelSource":{"copyFrom":)"
                      R"("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"}})");
  EXPECT_EQ(created.status, 403);
  EXPECT_EQ(created.header("x-amzn-ErrorType").value_or(""), "AccessDeniedException");
  EXPECT_EQ(json::parse(created.body).at("message").as_string(),
            "User: arn:aws:iam::123456789012:user/reader is not authorized to perform: bedrock:CreateInferenceProfile "
            "on resource: arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/* because no "
            "identity-based policy allows the bedrock:CreateInferenceProfile action");
  EXPECT_TRUE(
      service_.list({"123456789012", "us-east-1"}, {profiles::ProfileType::Application, {}, {}})->profiles.empty())
      << "nothing is created";

  auto costs = send("POST", "/", "{}", "AWSInsightsIndexService.GetCostAndUsage");
  EXPECT_EQ(costs.status, 403);
  auto body = json::parse(costs.body).as_object();
  EXPECT_EQ(body.at("__type").as_string(), "AccessDeniedException");
  EXPECT_NE(std::string(body.at("Message").as_string())
                .find("ce:GetCostAndUsage on resource: * with an explicit deny in an identity-based policy"),
            std::string::npos)
      << costs.body;
  EXPECT_EQ(handled_, 0);
}

}  // namespace
}  // namespace tollgate::api
