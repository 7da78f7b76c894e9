#include "govern/authorization.h"

#include <gtest/gtest.h>

#include "catalog/catalog.h"

namespace tollgate::govern {
namespace {

constexpr char kUser[] = "arn:aws:iam::123456789012:user/ci";
constexpr char kProfileArn[] = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";
constexpr char kModelArn[] = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0";

AccessPolicy policy_of(std::string_view json) { return std::move(AccessPolicy::parse(json)).value(); }

TEST(AuthorizationTest, OperationsNameIamActionsAndResources) {
  struct Case {
    const char* service;
    const char* operation;
    const char* label;
    const char* body;
    const char* action;
    const char* resource;
  } cases[] = {
      {"bedrock", "CreateInferenceProfile", "", "{}", "bedrock:CreateInferenceProfile",
       "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/*"},
      {"bedrock", "GetInferenceProfile", "abc123", "", "bedrock:GetInferenceProfile", kProfileArn},
      {"bedrock", "DeleteInferenceProfile", kProfileArn, "", "bedrock:DeleteInferenceProfile", kProfileArn},
      {"bedrock", "GetInferenceProfile", "us.anthropic.claude-3-haiku-20240307-v1:0", "", "bedrock:GetInferenceProfile",
       "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0"},
      {"bedrock", "ListInferenceProfiles", "", "", "bedrock:ListInferenceProfiles", "*"},
      {"bedrock", "GetFoundationModel", "anthropic.claude-3-haiku-20240307-v1:0", "", "bedrock:GetFoundationModel",
       kModelArn},
      {"bedrock", "TagResource", "",
       R"({"resourceARN": "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123", "tags": []})",
       "bedrock:TagResource", kProfileArn},
      {"bedrock", "UntagResource", "", "not json", "bedrock:UntagResource", "*"},
      {"ce", "GetCostAndUsage", "", "{}", "ce:GetCostAndUsage", "*"},
      {"budgets", "DescribeBudgets", "", R"({"AccountId": "123456789012"})", "budgets:ViewBudget",
       "arn:aws:budgets::123456789012:budget/*"},
      {"budgets", "DescribeBudget", "", R"({"AccountId": "111122223333", "BudgetName": "team-a"})",
       "budgets:ViewBudget", "arn:aws:budgets::111122223333:budget/team-a"},
      {"budgets", "CreateBudget", "", R"({"AccountId": "123456789012", "Budget": {"BudgetName": "b"}})",
       "budgets:ModifyBudget", "arn:aws:budgets::123456789012:budget/b"},
      {"budgets", "DeleteSubscriber", "", R"({"BudgetName": "b"})", "budgets:ModifyBudget",
       "arn:aws:budgets::123456789012:budget/b"},
      {"budgets", "TagResource", "", R"({"ResourceARN": "arn:aws:budgets::123456789012:budget/b"})",
       "budgets:TagResource", "arn:aws:budgets::123456789012:budget/b"},
  };
  for (const auto& c : cases) {
    AccessRequest request = access_request_of({c.service, c.operation, c.label, c.body, "us-east-1", "123456789012"});
    EXPECT_EQ(request.action, c.action) << c.operation;
    EXPECT_EQ(request.resource, c.resource) << c.operation;
  }
  EXPECT_EQ(runtime_action("Converse"), "bedrock:InvokeModel");
  EXPECT_EQ(runtime_action("InvokeModel"), "bedrock:InvokeModel");
  EXPECT_EQ(runtime_action("ConverseStream"), "bedrock:InvokeModelWithResponseStream");
  EXPECT_EQ(runtime_action("InvokeModelWithResponseStream"), "bedrock:InvokeModelWithResponseStream");
  EXPECT_EQ(runtime_action("CountTokens"), "bedrock:CountTokens");
}

TEST(AuthorizationTest, ModelsAndSystemProfilesAreNamedInTheRegionsPartitionAsTheRuntimeNamesThem) {
  const std::string model = "anthropic.claude-3-haiku-20240307-v1:0";
  EXPECT_EQ(access_request_of({"bedrock", "GetFoundationModel", model, "", "us-gov-west-1", "123456789012"}).resource,
            catalog::foundation_model_arn("us-gov-west-1", model));
  EXPECT_EQ(access_request_of({"bedrock", "GetFoundationModel", model, "", "us-gov-west-1", "123456789012"}).resource,
            "arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/" + model);
  EXPECT_EQ(
      access_request_of({"bedrock", "GetInferenceProfile", "us." + model, "", "us-east-1", "123456789012"}).resource,
      catalog::system_profile_arn("us-east-1", "123456789012", "us." + model));
}

TEST(AuthorizationTest, DenialsAreInAwsWords) {
  AccessRequest request{"bedrock:InvokeModel", kProfileArn};
  EXPECT_TRUE(authorize(kUser, nullptr, request).ok()) << "no policy: everything is allowed";

  AccessPolicy none = policy_of(R"({"Statement": [{"Effect": "Allow", "Action": "ce:*", "Resource": "*"}]})");
  Status implicit = authorize(kUser, &none, request);
  ASSERT_FALSE(implicit.ok());
  EXPECT_EQ(implicit.error().code(), ErrorCode::AccessDenied);
  EXPECT_EQ(implicit.error().aws_name(), "AccessDeniedException");
  EXPECT_EQ(implicit.error().http_status(), 403);
  EXPECT_EQ(implicit.error().message(),
            std::string("User: arn:aws:iam::123456789012:user/ci is not authorized to perform: bedrock:InvokeModel on "
                        "resource: ") +
                kProfileArn + " because no identity-based policy allows the bedrock:InvokeModel action");

  AccessPolicy deny = policy_of(R"({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},
      {"Sid": "NoChat", "Effect": "Deny", "Action": "bedrock:InvokeModel", "Resource": "*"}]})");
  Status explicit_deny = authorize(kUser, &deny, request);
  ASSERT_FALSE(explicit_deny.ok());
  EXPECT_TRUE(explicit_deny.error().message().ends_with("with an explicit deny in an identity-based policy"));
  EXPECT_NE(explicit_deny.error().detail().find("Sid NoChat"), std::string::npos);
}

TEST(AuthorizationTest, TheApplicationProfileRule) {
  AccessRequest on_profile{"bedrock:InvokeModel", kProfileArn};
  AccessRequest on_model{"bedrock:InvokeModel", kModelArn};
  AccessRequest on_system{"bedrock:InvokeModel",
                          "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku"};
  EXPECT_TRUE(meets_application_profile_rule(nullptr, on_profile));
  EXPECT_FALSE(meets_application_profile_rule(nullptr, on_model));
  EXPECT_FALSE(meets_application_profile_rule(nullptr, on_system));
  AccessPolicy star = policy_of(R"({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})");
  EXPECT_FALSE(meets_application_profile_rule(&star, on_model)) << "a bare * is not explicit";
  AccessPolicy models = policy_of(R"({"Statement": [{"Effect": "Allow", "Action": "bedrock:InvokeModel",
      "Resource": "arn:aws:bedrock:*::foundation-model/anthropic.*"}]})");
  EXPECT_TRUE(meets_application_profile_rule(&models, on_model));
  EXPECT_FALSE(meets_application_profile_rule(&models, on_system));
}

TEST(AuthorizationTest, TheRefusalNamesUsableProfilesCapped) {
  AccessRequest on_model{"bedrock:InvokeModel", kModelArn};
  Error none = application_profile_required(kUser, on_model, {}, "us-east-1");
  EXPECT_EQ(none.code(), ErrorCode::AccessDenied);
  EXPECT_NE(none.message().find("requires runtime calls to go through an application inference profile"),
            std::string::npos);
  EXPECT_NE(none.message().find("You may use no application inference profile in us-east-1"), std::string::npos);

  std::vector<ProfileChoice> usable;
  for (int i = 0; i < 12; ++i) usable.push_back({"arn:p" + std::to_string(i), "bot-" + std::to_string(i)});
  Error some = application_profile_required(kUser, on_model, usable, "us-east-1");
  EXPECT_NE(some.message().find("arn:p0 (bot-0), arn:p1 (bot-1)"), std::string::npos) << some.message();
  EXPECT_NE(some.message().find("arn:p9 (bot-9)"), std::string::npos);
  EXPECT_EQ(some.message().find("arn:p10"), std::string::npos);
  EXPECT_NE(some.message().find("and 2 more"), std::string::npos);
}

}  // namespace
}  // namespace tollgate::govern
