#include "govern/access_policy.h"

#include <gtest/gtest.h>

namespace tollgate::govern {
namespace {

constexpr char kProfileArn[] = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";
constexpr char kModelArn[] = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0";

AccessPolicy parsed(std::string_view json) {
  auto policy = AccessPolicy::parse(json);
  EXPECT_TRUE(policy.ok()) << (policy.ok() ? "" : policy.error().message());
  return policy.ok() ? std::move(policy).value() : AccessPolicy({});
}

TEST(GlobTest, ActionsIgnoreCaseResourcesDoNot) {
  struct Case {
    const char* pattern;
    const char* text;
    bool action, resource;
  } cases[] = {
      {"bedrock:InvokeModel", "bedrock:InvokeModel", true, true},
      {"bedrock:invokemodel", "bedrock:InvokeModel", true, false},
      {"bedrock:Invoke*", "bedrock:InvokeModelWithResponseStream", true, true},
      {"bedrock:*", "ce:GetCostAndUsage", false, false},
      {"*", "anything:at-all", true, true},
      {"ce:Get?ags", "ce:GetTags", true, true},
      {"ce:Get?ags", "ce:GetTTags", false, false},
      {"*:*Budget", "budgets:ViewBudget", true, true},
      {"a*b*c", "aXbYbZc", true, true},
      {"a*b*c", "aXbYbZ", false, false},
      {"", "", true, true},
      {"", "x", false, false},
      {"**", "", true, true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(action_matches(c.pattern, c.text), c.action) << c.pattern << " ~ " << c.text;
    EXPECT_EQ(resource_matches(c.pattern, c.text), c.resource) << c.pattern << " ~ " << c.text;
  }
  EXPECT_TRUE(resource_matches("arn:aws:bedrock:*:123456789012:application-inference-profile/*", kProfileArn));
  EXPECT_FALSE(resource_matches("arn:aws:bedrock:*:123456789012:Application-inference-profile/*", kProfileArn));
}

TEST(AccessPolicyTest, ExplicitDenyWinsThenAllowElseImplicitDeny) {
  AccessPolicy policy = parsed(R"({"Version": "2012-10-17", "Statement": [
      {"Effect": "Allow", "Action": ["bedrock:*", "ce:GetCostAndUsage"], "Resource": "*"},
      {"Sid": "NoBareModels", "Effect": "Deny", "Action": "bedrock:InvokeModel*",
       "Resource": "arn:aws:bedrock:*::foundation-model/*"}]})");
  EXPECT_EQ(policy.evaluate("bedrock:InvokeModel", kProfileArn), Decision::Allow);
  EXPECT_EQ(policy.evaluate("bedrock:InvokeModel", kModelArn), Decision::ExplicitDeny);
  EXPECT_EQ(policy.evaluate("bedrock:InvokeModelWithResponseStream", kModelArn), Decision::ExplicitDeny);
  EXPECT_EQ(policy.evaluate("BEDROCK:listinferenceprofiles", "*"), Decision::Allow);
  EXPECT_EQ(policy.evaluate("ce:GetCostAndUsage", "*"), Decision::Allow);
  EXPECT_EQ(policy.evaluate("ce:GetTags", "*"), Decision::ImplicitDeny);
  EXPECT_EQ(policy.evaluate("budgets:ViewBudget", "arn:aws:budgets::123456789012:budget/x"), Decision::ImplicitDeny);
}

TEST(AccessPolicyTest, NotActionAndNotResourceInvertTheirMatch) {
  AccessPolicy policy = parsed(R"({"Statement": {"Effect": "Allow", "NotAction": "ce:*",
      "NotResource": "arn:aws:bedrock:*::foundation-model/*"}})");
  EXPECT_EQ(policy.evaluate("bedrock:InvokeModel", kProfileArn), Decision::Allow);
  EXPECT_EQ(policy.evaluate("bedrock:InvokeModel", kModelArn), Decision::ImplicitDeny);
  EXPECT_EQ(policy.evaluate("ce:GetCostAndUsage", "*"), Decision::ImplicitDeny);
}

TEST(AccessPolicyTest, AnEmptyStatementListAllowsNothing) {
  AccessPolicy policy = parsed(R"({"Version": "2012-10-17", "Statement": []})");
  EXPECT_EQ(policy.evaluate("bedrock:InvokeModel", kProfileArn), Decision::ImplicitDeny);
}

TEST(AccessPolicyTest, ExplicitAllowNeedsAResourcePatternNamingTheType) {
  struct Case {
    const char* resource;
    bool explicit_allow;
  } cases[] = {
      {"*", false},
      {"arn:aws:bedrock:*", false},
      {"arn:aws:bedrock:*:*:*", false},
      {"arn:aws:bedrock:us-east-1::foundation-model/*", true},
      {"arn:aws:bedrock:*::foundation-model/anthropic.*", true},
      {kModelArn, true},
      {"arn:aws:bedrock:*::foundation-model/meta.*", false},  // does not match
  };
  for (const auto& c : cases) {
    std::string json = std::string(R"({"Statement": [{"Effect": "Allow", "Action": "bedrock:InvokeModel",
        "Resource": ")") +
                       c.resource + "\"}]}";
    AccessPolicy policy = parsed(json);
    EXPECT_EQ(policy.allows_explicitly("bedrock:InvokeModel", kModelArn), c.explicit_allow) << c.resource;
  }
  AccessPolicy denied = parsed(R"({"Statement": [
      {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "arn:aws:bedrock:*::foundation-model/*"},
      {"Effect": "Deny", "Action": "*", "Resource": "*"}]})");
  EXPECT_FALSE(denied.allows_explicitly("bedrock:InvokeModel", kModelArn));
  AccessPolicy other_action = parsed(R"({"Statement": [
      {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"},
      {"Effect": "Allow", "Action": "bedrock:CountTokens", "Resource": "arn:aws:bedrock:*::foundation-model/*"}]})");
  EXPECT_FALSE(other_action.allows_explicitly("bedrock:InvokeModel", kModelArn));
  AccessPolicy not_action = parsed(R"({"Statement": [
      {"Effect": "Allow", "NotAction": "ce:*", "Resource": "arn:aws:bedrock:*::foundation-model/*"}]})");
  EXPECT_FALSE(not_action.allows_explicitly("bedrock:InvokeModel", kModelArn));
}

TEST(AccessPolicyTest, MistakesAreRefusedNamingTheElement) {
  struct Case {
    const char* json;
    const char* message;
  } cases[] = {
      {"", "malformed JSON at line 1, column 1"},
      {"{\"Statement\": [\n  {\"Effect\": \"Allow\",,}]}", "malformed JSON at line 2, column 22"},
      {"{} {}", "malformed JSON"},
      {"[]", "a policy is a JSON object"},
      {R"({"Version": "2012-10-17"})", "it has no Statement"},
      {R"({"Version": "2020-01-01", "Statement": []})", "Version must be \"2012-10-17\""},
      {R"({"Statement": [], "Extra": 1})", "unknown element 'Extra'"},
      {R"({"Statement": [{"Effect": "allow", "Action": "*", "Resource": "*"}]})",
       "Statement[0].Effect must be \"Allow\" or \"Deny\""},
      {R"({"Statement": [{"Action": "*", "Resource": "*"}]})", "Statement[0] needs an Effect"},
      {R"({"Statement": [{"Effect": "Allow", "Resource": "*"}]})", "Statement[0] needs Action (or NotAction)"},
      {R"({"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "*", "Resource": "*"}]})",
       "has both Action and NotAction"},
      {R"({"Statement": [{"Effect": "Allow", "Action": "*"}]})", "needs Resource (or NotResource)"},
      {R"({"Statement": [{"Effect": "Allow", "Action": "InvokeModel", "Resource": "*"}]})",
       "Statement[0].Action 'InvokeModel' is not an action"},
      {R"({"Statement": [{"Effect": "Allow", "Action": ["bedrock:*", 3], "Resource": "*"}]})",
       "Statement[0].Action[1] must be a string"},
      {R"({"Statement": [{"Effect": "Allow", "Action": [], "Resource": "*"}]})", "must not be an empty list"},
      {R"({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "my-profile"}]})",
       "'my-profile' is not a resource"},
      {R"({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {}}]})",
       "Statement[0].Condition is not supported"},
      {R"({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"}]})",
       "Principal is not supported"},
      {R"({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Effects": "x"}]})",
       "unknown element 'Effects'"},
      {R"({"Statement": ["Allow"]})", "Statement[0] must be an object"},
  };
  for (const auto& c : cases) {
    auto policy = AccessPolicy::parse(c.json);
    ASSERT_FALSE(policy.ok()) << c.json;
    EXPECT_EQ(policy.error().code(), ErrorCode::Validation);
    EXPECT_NE(policy.error().message().find(c.message), std::string::npos)
        << c.json << "\n  got: " << policy.error().message();
  }
}

}  // namespace
}  // namespace tollgate::govern
