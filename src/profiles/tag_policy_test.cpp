#include "profiles/tag_policy.h"

#include <gtest/gtest.h>

#include <memory>

#include "profiles/profile_service.h"
#include "store/sqlite/sqlite_profile_store.h"

namespace tollgate::profiles {
namespace {

// The contract as platform teams publish it, plus a per-key pattern.
TagPolicy contract() {
  TagPolicy p;
  p.source = "tag-policy.json";
  p.required = {"application", "environment", "owner-team", "cost-center", "workload-type"};
  p.allowed_values["environment"] = {"dev", "staging", "prod"};
  p.patterns["cost-center"] = {"cc-[0-9]{4}", std::regex("cc-[0-9]{4}")};
  p.naming = NamingRule::LowercaseWithHyphens;
  return p;
}

const std::vector<Tag> kCompliant = {{"application", "support-bot"},
                                     {"environment", "prod"},
                                     {"owner-team", "growth"},
                                     {"cost-center", "cc-1234"},
                                     {"workload-type", "chat"}};

std::vector<std::string> rules_of(const std::vector<TagViolation>& violations) {
  std::vector<std::string> out;
  for (const auto& v : violations) out.push_back(v.key + ":" + v.rule);
  return out;
}

TEST(TagPolicy, ACompliantSetPassesAndEachRuleNamesTheTagAndAnExample) {
  const TagPolicy policy = contract();
  EXPECT_TRUE(check_tags(policy, kCompliant).empty());

  std::vector<Tag> tags = kCompliant;
  tags[1].value = "production";
  tags[3].value = "CC 12";
  tags.push_back({"Owner Email", "x"});
  tags.erase(tags.begin() + 4);  // workload-type
  auto violations = check_tags(policy, tags);
  EXPECT_EQ(rules_of(violations),
            (std::vector<std::string>{"Owner Email:namingRule", "cost-center:patterns", "environment:allowedValues",
                                      "workload-type:requiredTags"}));
  EXPECT_NE(violations[0].message.find("name it like 'owner-email'"), std::string::npos) << violations[0].message;
  EXPECT_NE(violations[1].message.find("must match cc-[0-9]{4}"), std::string::npos);
  EXPECT_NE(violations[2].message.find("must be one of dev, staging, prod"), std::string::npos);
  EXPECT_NE(violations[2].message.find("Example: environment=dev"), std::string::npos);
  EXPECT_NE(violations[3].message.find("The tag 'workload-type' is required (requiredTags of tag-policy.json)"),
            std::string::npos);
}

TEST(TagPolicy, NamingRulesAndNamespacedKeys) {
  TagPolicy policy;
  policy.source = "p";
  policy.naming = NamingRule::LowercaseWithHyphens;
  EXPECT_TRUE(check_tags(policy, {{"team:cost-center", "X Y"}}).empty()) << "values are free unless asked";
  EXPECT_EQ(check_tags(policy, {{"team--x", "v"}}).size(), 1u);
  EXPECT_EQ(check_tags(policy, {{"-team", "v"}}).size(), 1u);
  EXPECT_EQ(check_tags(policy, {{"team_x", "v"}}).size(), 1u);
  policy.naming_for_values = true;
  auto violations = check_tags(policy, {{"app", "Support Bot"}});
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_NE(violations[0].message.find("e.g. app=support-bot"), std::string::npos) << violations[0].message;
  policy.naming = NamingRule::LowercaseWithUnderscores;
  EXPECT_TRUE(check_tags(policy, {{"cost_center", "cc_1"}}).empty());
  EXPECT_EQ(parse_naming_rule("kebab-case"), NamingRule::LowercaseWithHyphens);
  EXPECT_EQ(parse_naming_rule("Title Case"), std::nullopt);
}

TEST(TagPolicy, ProfilesAreCreatedTaggedAndUntaggedOnlyIntoCompliance) {
  auto catalog = catalog::Catalog::embedded();
  auto store = store::sqlite::open_profile_store(":memory:");
  ManualClock clock(TimePoint(std::chrono::seconds(1'750'000'000)));
  ProfileService service(catalog, *store, clock);
  service.set_tag_policy(std::make_shared<const TagPolicy>(contract()));
  const Caller caller{"123456789012", "us-east-1"};
  const std::string haiku = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0";

  auto refused = service.create(caller, {"bad", std::nullopt, std::nullopt, haiku, {{"environment", "prod"}}});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::Validation);
  EXPECT_NE(refused.error().message().find("'application' is required"), std::string::npos);
  EXPECT_TRUE(service.list(caller, {ProfileType::Application, 100, std::nullopt})->profiles.empty());

  auto created = service.create(caller, {"good", std::nullopt, std::nullopt, haiku, kCompliant});
  ASSERT_TRUE(created.ok()) << created.error().message();
  auto bad_tag = service.tag(caller, created->arn, {{"environment", "qa"}});
  ASSERT_FALSE(bad_tag.ok());
  EXPECT_NE(bad_tag.error().message().find("'qa' is not"), std::string::npos);
  auto bad_untag = service.untag(caller, created->arn, {"owner-team"});
  ASSERT_FALSE(bad_untag.ok());
  EXPECT_EQ(*service.list_tags(caller, created->arn), kCompliant) << "refusals change nothing";
  EXPECT_TRUE(service.tag(caller, created->arn, {{"environment", "staging"}}).ok());
}

}  // namespace
}  // namespace tollgate::profiles
