#include "stacks/stack_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "store/sqlite/sqlite_profile_store.h"

namespace tollgate::stacks {
namespace {

using profiles::ProfileType;

constexpr char kHaikuArn[] = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0";
constexpr char kUsHaikuArn[] =
    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0";

// One profile whose every property comes from a parameter, and an export of its ARN named after the stack.
// `more` is appended under Resources (each line indented as a resource).
std::string support_template(const std::string& more = "") {
  return std::string(R"yaml(Parameters:
  Name: {Type: String, Default: support-bot}
  Environment: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Description: {Type: String, Default: Support bot traffic}
  Source: {Type: String, Default: )yaml") +
         kHaikuArn + R"yaml(}
Resources:
  Support:
    Type: AWS::Bedrock::ApplicationInferenceProfile
    Properties:
      InferenceProfileName: !Ref Name
      Description: !Ref Description
      ModelSource:
        CopyFrom: !Ref Source
      Tags:
        - Key: environment
          Value: !Ref Environment
        - Key: team:cost-center
          Value: cc-1234
)yaml" + more +
         R"yaml(Outputs:
  ProfileArn:
    Description: The support bot's profile
    Value: !GetAtt Support.InferenceProfileArn
    Export:
      Name: !Sub '${AWS::StackName}-ProfileArn'
)yaml";
}

// A second profile, named `name`, with the given extra resource lines (DeletionPolicy, ...) and tags.
std::string extra_profile(const std::string& id, const std::string& name, const std::string& fields = "",
                          const std::string& tags = "        - {Key: environment, Value: dev}\n") {
  return "  " + id + ":\n    Type: AWS::Bedrock::ApplicationInferenceProfile\n" + fields +
         "    Properties:\n      InferenceProfileName: " + name +
         "\n      ModelSource:\n        CopyFrom: " + kHaikuArn + "\n      Tags:\n" + tags;
}

std::vector<std::string> actions(const ApplyResult& result) {
  std::vector<std::string> out;
  for (const auto& c : result.changes) out.push_back(c.action + " " + c.logical_id);
  return out;
}

const ResourceChange* change_of(const ApplyResult& result, const std::string& logical_id) {
  for (const auto& c : result.changes) {
    if (c.logical_id == logical_id) return &c;
  }
  return nullptr;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class StackServiceTest : public ::testing::Test {
 protected:
  StackServiceTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("tollgate-stacks-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        created_dir_(std::filesystem::create_directories(dir_)),
        catalog_(catalog::Catalog::embedded()),
        profile_store_(store::sqlite::open_profile_store((dir_ / "profiles.db").string())),
        stack_store_(StackStore::open((dir_ / "stacks.db").string())),
        clock_(TimePoint(std::chrono::seconds(1'750'000'000))),
        profiles_(catalog_, *profile_store_, clock_),
        service_(profiles_, *stack_store_, clock_) {}

  ~StackServiceTest() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  Result<ApplyResult> try_apply(const std::string& body, std::map<std::string, std::string> parameters = {},
                                bool dry_run = false, const std::string& stack = "support-stack") {
    return service_.apply(caller_, {stack, body, "stack.yaml", std::move(parameters), dry_run});
  }

  ApplyResult apply(const std::string& body, std::map<std::string, std::string> parameters = {},
                    const std::string& stack = "support-stack") {
    auto result = try_apply(body, std::move(parameters), false, stack);
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message());
    return result.ok() ? std::move(result).value() : ApplyResult{};
  }

  std::vector<profiles::ProfileView> application_profiles() {
    return profiles_.list(caller_, {ProfileType::Application, 1000, std::nullopt})->profiles;
  }

  std::optional<profiles::ProfileView> profile_named(const std::string& name) {
    for (auto& p : application_profiles()) {
      if (p.name == name) return p;
    }
    return std::nullopt;
  }

  bool exists(const std::string& arn) { return profiles_.get(caller_, arn).ok(); }

  std::optional<StackRecord> stored(const std::string& stack = "support-stack") {
    auto found = stack_store_->find(caller_.account_id, caller_.region, stack);
    EXPECT_TRUE(found.ok());
    return found.ok() ? *found : std::nullopt;
  }

  std::filesystem::path dir_;
  bool created_dir_;
  catalog::Catalog catalog_;
  std::unique_ptr<store::ProfileStore> profile_store_;
  std::unique_ptr<StackStore> stack_store_;
  ManualClock clock_;
  profiles::ProfileService profiles_;
  StackService service_;
  profiles::Caller caller_{"123456789012", "us-east-1"};
};

TEST_F(StackServiceTest, TheFirstApplyCreatesEveryProfileAndExportsItsRealArn) {
  // Eval is tagged with Support's ARN, so Support is created first although Eval sorts before it.
  ApplyResult result = apply(
      support_template(extra_profile("Eval", "support-bot-eval", "",
                                     "        - Key: parent\n          Value: !GetAtt Support.InferenceProfileArn\n")));
  EXPECT_EQ(actions(result), (std::vector<std::string>{"Create Support", "Create Eval"}));
  EXPECT_FALSE(result.dry_run);
  EXPECT_TRUE(result.stack_id.starts_with("arn:aws:cloudformation:us-east-1:123456789012:stack/support-stack/"));

  auto support = profile_named("support-bot");
  auto eval = profile_named("support-bot-eval");
  ASSERT_TRUE(support && eval);
  EXPECT_EQ(support->description, "Support bot traffic");
  EXPECT_EQ(support->source_arn, kHaikuArn);
  EXPECT_EQ(*profiles_.list_tags(caller_, support->arn),
            (std::vector<Tag>{{"environment", "dev"}, {"team:cost-center", "cc-1234"}}));
  EXPECT_EQ(*profiles_.list_tags(caller_, eval->arn), (std::vector<Tag>{{"parent", support->arn}}));

  ASSERT_EQ(result.outputs.size(), 1u);
  EXPECT_EQ(result.outputs[0].value, support->arn);
  EXPECT_EQ(result.outputs[0].export_name, "support-stack-ProfileArn");
  EXPECT_FALSE(result.outputs[0].unknown);

  auto record = stored();
  ASSERT_TRUE(record);
  EXPECT_EQ(record->stack_id, result.stack_id);
  EXPECT_EQ(record->resources.at("Support").profile_arn, support->arn);
  EXPECT_EQ(record->resources.at("Eval").profile_arn, eval->arn);
  ASSERT_EQ(record->exports.size(), 1u);
  EXPECT_EQ(record->exports[0].name, "support-stack-ProfileArn");
  EXPECT_EQ(record->exports[0].value, support->arn);
}

TEST_F(StackServiceTest, ReapplyingTheSameTemplateChangesNothingAndWritesNothing) {
  const std::string body = support_template(extra_profile("Eval", "support-bot-eval"));
  ApplyResult first = apply(body);
  const StackRecord before = *stored();
  const auto profile_before = *profile_named("support-bot");

  clock_.advance(std::chrono::hours(1));
  ApplyResult again = apply(body);
  EXPECT_EQ(actions(again), (std::vector<std::string>{"NoChange Eval", "NoChange Support"}));
  for (const auto& c : again.changes) EXPECT_TRUE(c.details.empty()) << c.logical_id << ": " << c.details[0];
  EXPECT_EQ(again.stack_id, first.stack_id);
  ASSERT_EQ(again.outputs.size(), 1u);
  EXPECT_EQ(again.outputs[0].value, profile_before.arn);

  const StackRecord after = *stored();
  EXPECT_EQ(after.updated_at, before.updated_at) << "a re-apply that changes nothing writes nothing";
  EXPECT_EQ(after.created_at, before.created_at);
  EXPECT_EQ(profile_named("support-bot")->updated_at, profile_before.updated_at);
  EXPECT_EQ(application_profiles().size(), 2u);
}

TEST_F(StackServiceTest, ChangingATagOrTheDescriptionUpdatesTheProfileInPlace) {
  apply(support_template());
  const auto before = *profile_named("support-bot");
  clock_.advance(std::chrono::minutes(5));

  ApplyResult result = apply(support_template(), {{"Environment", "prod"}, {"Description", "Production traffic"}});
  ASSERT_EQ(actions(result), std::vector<std::string>{"Update Support"});
  const ResourceChange& change = result.changes[0];
  EXPECT_EQ(change.physical_id, before.arn);
  EXPECT_EQ(change.details, (std::vector<std::string>{"Description: 'Support bot traffic' → 'Production traffic'",
                                                      "tag environment: 'dev' → 'prod'"}));

  auto after = profile_named("support-bot");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->arn, before.arn) << "an update keeps the profile";
  EXPECT_EQ(after->description, "Production traffic");
  EXPECT_EQ(*profiles_.list_tags(caller_, after->arn),
            (std::vector<Tag>{{"environment", "prod"}, {"team:cost-center", "cc-1234"}}));
  EXPECT_EQ(application_profiles().size(), 1u);
  EXPECT_GT(stored()->updated_at, stored()->created_at);
}

TEST_F(StackServiceTest, ChangingTheNameReplacesTheProfileAndDeletesTheOldOne) {
  apply(support_template());
  const std::string old_arn = profile_named("support-bot")->arn;

  ApplyResult result = apply(support_template(), {{"Name", "support-bot-v2"}});
  ASSERT_EQ(actions(result), std::vector<std::string>{"Replace Support"});
  EXPECT_EQ(result.changes[0].physical_id, old_arn);
  EXPECT_EQ(result.changes[0].details,
            std::vector<std::string>{"InferenceProfileName: 'support-bot' → 'support-bot-v2'"});

  auto replacement = profile_named("support-bot-v2");
  ASSERT_TRUE(replacement);
  EXPECT_NE(replacement->arn, old_arn);
  EXPECT_FALSE(exists(old_arn)) << "the replaced profile is deleted";
  EXPECT_EQ(application_profiles().size(), 1u);
  EXPECT_EQ(result.outputs.at(0).value, replacement->arn);
  EXPECT_EQ(stored()->resources.at("Support").profile_arn, replacement->arn);
  EXPECT_EQ(stored()->exports.at(0).value, replacement->arn) << "the export follows the replacement";
}

TEST_F(StackServiceTest, ChangingTheSourceReplacesTheProfileUnderTheSameName) {
  apply(support_template());
  const std::string old_arn = profile_named("support-bot")->arn;

  ApplyResult result = apply(support_template(), {{"Source", kUsHaikuArn}});
  ASSERT_EQ(actions(result), std::vector<std::string>{"Replace Support"});
  auto replacement = profile_named("support-bot");
  ASSERT_TRUE(replacement);
  EXPECT_NE(replacement->arn, old_arn);
  EXPECT_EQ(replacement->source_arn, kUsHaikuArn);
  EXPECT_GE(replacement->model_arns.size(), 3u);
  EXPECT_FALSE(exists(old_arn));
  EXPECT_EQ(application_profiles().size(), 1u);
}

TEST_F(StackServiceTest, AResourceRemovedFromTheTemplateIsDeleted) {
  apply(support_template(extra_profile("Extra", "extra-bot")));
  const std::string extra_arn = profile_named("extra-bot")->arn;

  ApplyResult result = apply(support_template());
  EXPECT_EQ(actions(result), (std::vector<std::string>{"NoChange Support", "Delete Extra"}));
  EXPECT_EQ(change_of(result, "Extra")->physical_id, extra_arn);
  EXPECT_FALSE(exists(extra_arn));
  EXPECT_FALSE(stored()->resources.count("Extra"));
  EXPECT_EQ(application_profiles().size(), 1u);
}

TEST_F(StackServiceTest, ARetainedResourceRemovedFromTheTemplateIsKeptButLeavesTheStack) {
  apply(support_template(extra_profile("Extra", "extra-bot", "    DeletionPolicy: Retain\n")));
  const std::string extra_arn = profile_named("extra-bot")->arn;
  EXPECT_TRUE(stored()->resources.at("Extra").retain);

  ApplyResult result = apply(support_template());
  EXPECT_EQ(actions(result), (std::vector<std::string>{"NoChange Support", "Retain Extra"}));
  EXPECT_TRUE(exists(extra_arn)) << "DeletionPolicy: Retain keeps the profile";
  EXPECT_FALSE(stored()->resources.count("Extra"));

  // No longer the stack's: a later apply leaves it alone.
  ApplyResult later = apply(support_template());
  EXPECT_EQ(actions(later), std::vector<std::string>{"NoChange Support"});
  EXPECT_TRUE(exists(extra_arn));
}

TEST_F(StackServiceTest, ADryRunReturnsTheChangeSetAndChangesNothing) {
  auto planned = try_apply(support_template(extra_profile("Extra", "extra-bot")), {}, /*dry_run=*/true);
  ASSERT_TRUE(planned.ok()) << planned.error().message();
  EXPECT_TRUE(planned->dry_run);
  EXPECT_EQ(actions(*planned), (std::vector<std::string>{"Create Extra", "Create Support"}));
  ASSERT_EQ(planned->outputs.size(), 1u);
  EXPECT_TRUE(planned->outputs[0].unknown) << "the ARN is known after apply";
  EXPECT_TRUE(application_profiles().empty());
  EXPECT_FALSE(stored()) << "a dry run stores no stack";

  apply(support_template());
  const auto before = *profile_named("support-bot");
  auto update = try_apply(support_template(), {{"Environment", "prod"}}, /*dry_run=*/true);
  ASSERT_TRUE(update.ok()) << update.error().message();
  EXPECT_EQ(actions(*update), std::vector<std::string>{"Update Support"});
  EXPECT_EQ(update->outputs.at(0).value, before.arn);
  EXPECT_EQ(profiles_.list_tags(caller_, before.arn)->at(0), (Tag{"environment", "dev"}));
}

TEST_F(StackServiceTest, ATagPolicyViolationRefusesTheWholeApplyAndCreatesNothing) {
  auto policy = std::make_shared<profiles::TagPolicy>();
  policy->required = {"owner"};
  profiles_.set_tag_policy(policy);
  // Alpha complies and comes first; Beta breaks the policy. Neither may be created.
  const std::string body = "Resources:\n" +
                           extra_profile("Alpha", "alpha-bot", "", "        - {Key: owner, Value: growth}\n") +
                           extra_profile("Beta", "beta-bot");
  auto result = try_apply(body);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::Validation);
  const std::string& message = result.error().message();
  EXPECT_TRUE(contains(message, "Nothing was changed")) << message;
  EXPECT_TRUE(contains(message, "resource 'Beta'")) << message;
  EXPECT_TRUE(contains(message, "'owner'")) << message;
  EXPECT_FALSE(contains(message, "resource 'Alpha'")) << message;
  EXPECT_TRUE(application_profiles().empty());
  EXPECT_FALSE(stored());
}

TEST_F(StackServiceTest, ATagPolicyViolationOfAProfileReferringToAnotherIsCaughtBeforeEitherIsCreated) {
  auto policy = std::make_shared<profiles::TagPolicy>();
  policy->required = {"owner"};
  profiles_.set_tag_policy(policy);
  // Beta's tags are only known once Alpha exists, but its missing owner tag is plain before.
  const std::string body = "Resources:\n" +
                           extra_profile("Alpha", "alpha-bot", "", "        - {Key: owner, Value: growth}\n") +
                           extra_profile("Beta", "beta-bot", "",
                                         "        - Key: parent\n          Value: !GetAtt Alpha.InferenceProfileArn\n");
  auto result = try_apply(body);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(contains(result.error().message(), "resource 'Beta'")) << result.error().message();
  EXPECT_TRUE(application_profiles().empty()) << "Alpha must not be created alone";
  EXPECT_FALSE(stored());
}

TEST_F(StackServiceTest, AnUnmanagedResourceTypeIsReportedAsSkipped) {
  ApplyResult result =
      apply(support_template("  Logs:\n    Type: AWS::S3::Bucket\n    Properties:\n"
                             "      BucketName: !Sub '${AWS::StackName}-logs'\n"));
  EXPECT_EQ(actions(result), (std::vector<std::string>{"Create Support", "Skip Logs"}));
  const ResourceChange* logs = change_of(result, "Logs");
  ASSERT_TRUE(logs);
  EXPECT_EQ(logs->type, "AWS::S3::Bucket");
  ASSERT_EQ(logs->details.size(), 1u);
  EXPECT_TRUE(contains(logs->details[0], "AWS::S3::Bucket is not managed by tollgate")) << logs->details[0];
  EXPECT_EQ(application_profiles().size(), 1u);
  EXPECT_FALSE(stored()->resources.count("Logs"));
}

TEST_F(StackServiceTest, AnExportNameAnotherStackAlreadyExportsIsRefused) {
  // The profile name comes from a parameter, so each stack's profile is its own; the export name is fixed.
  const std::string body = "Parameters:\n  Name: {Type: String}\nResources:\n" + extra_profile("Bot", "!Ref Name") +
                           "Outputs:\n  Arn:\n    Value: !GetAtt Bot.InferenceProfileArn\n"
                           "    Export:\n      Name: shared-bot-arn\n";
  apply(body, {{"Name", "first-bot"}}, "first-stack");
  ASSERT_EQ(stored("first-stack")->exports.size(), 1u);

  auto clash = try_apply(body, {{"Name", "second-bot"}}, false, "second-stack");
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code(), ErrorCode::Validation);
  EXPECT_TRUE(contains(clash.error().message(),
                       "export name 'shared-bot-arn' is already exported by stack "
                       "'first-stack'"))
      << clash.error().message();
  EXPECT_FALSE(profile_named("second-bot")) << "nothing is created for the refused stack";
  EXPECT_FALSE(stored("second-stack"));

  // The stack that owns the export may re-apply.
  apply(body, {{"Name", "first-bot"}}, "first-stack");
}

TEST_F(StackServiceTest, StackNamesMustStartWithALetterAndHoldOnlyLettersDigitsAndHyphens) {
  for (const std::string& bad :
       std::vector<std::string>{"", "1stack", "my_stack", "my stack", "-stack", std::string(129, 'a')}) {
    auto result = try_apply(support_template(), {}, false, bad);
    ASSERT_FALSE(result.ok()) << "'" << bad << "'";
    EXPECT_EQ(result.error().code(), ErrorCode::Validation);
    EXPECT_TRUE(contains(result.error().message(), "must start with a letter")) << result.error().message();
  }
  EXPECT_TRUE(application_profiles().empty());
  for (const std::string& good : std::vector<std::string>{"s", "Support-Stack-2", std::string(128, 'a')}) {
    auto result = try_apply(support_template(), {}, /*dry_run=*/true, good);
    EXPECT_TRUE(result.ok()) << "'" << good << "': " << result.error().message();
  }
}

TEST_F(StackServiceTest, ParameterProblemsRefuseTheApplyBeforeAnythingIsCreated) {
  auto result = try_apply(support_template(), {{"Environment", "qa"}, {"Colour", "blue"}});
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(contains(result.error().message(), "Environment: 'qa'")) << result.error().message();
  EXPECT_TRUE(contains(result.error().message(), "--param Colour")) << result.error().message();
  EXPECT_TRUE(application_profiles().empty());
}

TEST_F(StackServiceTest, ChangesMadeOutsideTheStackAreUndoneByTheNextApply) {
  apply(support_template(extra_profile("Extra", "extra-bot")));
  const auto support = *profile_named("support-bot");
  ASSERT_TRUE(profiles_.tag(caller_, support.arn, {{"environment", "prod"}}).ok());
  ASSERT_TRUE(profiles_.remove(caller_, profile_named("extra-bot")->arn).ok());

  ApplyResult result = apply(support_template(extra_profile("Extra", "extra-bot")));
  EXPECT_EQ(actions(result), (std::vector<std::string>{"Create Extra", "Update Support"}));
  EXPECT_EQ(change_of(result, "Extra")->details, std::vector<std::string>{"its profile was deleted outside the stack"});
  EXPECT_EQ(profiles_.list_tags(caller_, support.arn)->at(0), (Tag{"environment", "dev"}));
  EXPECT_TRUE(profile_named("extra-bot"));
}

TEST_F(StackServiceTest, ANameTakenOutsideTheStackIsRefused) {
  ASSERT_TRUE(profiles_.create(caller_, {"support-bot", std::nullopt, std::nullopt, kHaikuArn, {}}).ok());
  auto result = try_apply(support_template());
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(contains(result.error().message(), "'support-bot' already exists outside this stack"))
      << result.error().message();
  EXPECT_EQ(application_profiles().size(), 1u);
}

}  // namespace
}  // namespace tollgate::stacks

namespace tollgate::stacks {
namespace {

TEST_F(StackServiceTest, EveryChangeIsAuthorizedBeforeAnyIsMadeAndADenialChangesNothing) {
  apply(support_template(extra_profile("Extra", "extra-bot")));
  const std::string support_arn = profile_named("support-bot")->arn;
  const std::string extra_arn = profile_named("extra-bot")->arn;

  std::vector<std::string> asked;
  ApplyRequest request{"support-stack", support_template(), "stack.yaml", {{"Name", "support-bot-v2"}}, false};
  request.authorize = [&](const std::string& action, const std::string& resource) -> Status {
    asked.push_back(action + " " + resource);
    if (action == "bedrock:DeleteInferenceProfile" && resource == extra_arn) {
      return Error(ErrorCode::AccessDenied, "not authorized to delete " + resource);
    }
    return {};
  };
  auto result = service_.apply(caller_, request);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::AccessDenied);
  EXPECT_EQ(asked, (std::vector<std::string>{"bedrock:CreateInferenceProfile "
                                             "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/*",
                                             "bedrock:DeleteInferenceProfile " + support_arn,
                                             "bedrock:DeleteInferenceProfile " + extra_arn}));
  EXPECT_TRUE(exists(support_arn)) << "the replacement allowed before the denial is not made either";
  EXPECT_FALSE(profile_named("support-bot-v2"));
  EXPECT_TRUE(exists(extra_arn));
}

TEST_F(StackServiceTest, AnUpdateThatRemovesATagAlsoNeedsUntagResource) {
  apply(support_template());
  const std::string arn = profile_named("support-bot")->arn;
  std::string without_cost_center = support_template();
  const std::string tag = "        - Key: team:cost-center\n          Value: cc-1234\n";
  without_cost_center.erase(without_cost_center.find(tag), tag.size());

  std::vector<std::string> asked;
  ApplyRequest request{"support-stack", without_cost_center, "stack.yaml", {{"Environment", "prod"}}, true};
  request.authorize = [&](const std::string& action, const std::string& resource) -> Status {
    asked.push_back(action + " " + resource);
    return {};
  };
  ASSERT_TRUE(service_.apply(caller_, request).ok());
  EXPECT_EQ(asked, (std::vector<std::string>{"bedrock:TagResource " + arn, "bedrock:UntagResource " + arn}));

  asked.clear();
  request.template_body = support_template();
  ASSERT_TRUE(service_.apply(caller_, request).ok());
  EXPECT_EQ(asked, std::vector<std::string>{"bedrock:TagResource " + arn}) << "a changed value only tags";
}

TEST_F(StackServiceTest, ANameStillHeldByAResourceTheApplyDeletesIsRefusedBeforeAnythingChanges) {
  apply("Resources:\n" + extra_profile("Old", "shared-bot"));
  const std::string old_arn = profile_named("shared-bot")->arn;
  // Deletes come last, so New could not be created while Old still holds the name.
  auto result = try_apply("Resources:\n" + extra_profile("New", "shared-bot"));
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(contains(result.error().message(), "still belongs to the profile of resource 'Old'"))
      << result.error().message();
  EXPECT_TRUE(exists(old_arn));
  EXPECT_EQ(application_profiles().size(), 1u);
}

TEST_F(StackServiceTest, AProfileCopyingAnotherProfilesModelIsCheckedBeforeEitherIsCreated) {
  auto policy = std::make_shared<profiles::TagPolicy>();
  policy->required = {"owner"};
  profiles_.set_tag_policy(policy);
  const std::string body = "Resources:\n" +
                           extra_profile("Alpha", "alpha-bot", "", "        - {Key: owner, Value: growth}\n") +
                           "  Beta:\n    Type: AWS::Bedrock::ApplicationInferenceProfile\n    Properties:\n"
                           "      InferenceProfileName: beta-bot\n      ModelSource:\n"
                           "        CopyFrom: !Select [0, !GetAtt Alpha.Models]\n";
  auto result = try_apply(body);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(contains(result.error().message(), "resource 'Beta'")) << result.error().message();
  EXPECT_TRUE(contains(result.error().message(), "'owner'")) << result.error().message();
  EXPECT_TRUE(application_profiles().empty());

  policy->required.clear();
  ApplyResult applied = apply(body);
  EXPECT_EQ(profile_named("beta-bot")->source_arn, kHaikuArn);
}

TEST_F(StackServiceTest, ASecondApplyWhileOneIsInProgressIsRefusedWithConflict) {
  std::optional<Result<ApplyResult>> second;
  ApplyRequest request{"support-stack", support_template(), "stack.yaml", {}, /*dry_run=*/true};
  request.authorize = [&](const std::string&, const std::string&) -> Status {
    if (!second) second = try_apply(support_template(), {}, /*dry_run=*/true, "other-stack");
    return {};
  };
  ASSERT_TRUE(service_.apply(caller_, request).ok());
  ASSERT_TRUE(second);
  ASSERT_FALSE(second->ok());
  EXPECT_EQ(second->error().code(), ErrorCode::Conflict);
  EXPECT_TRUE(try_apply(support_template(), {}, /*dry_run=*/true, "other-stack").ok()) << "free again afterwards";
}

TEST_F(StackServiceTest, ATemplateOfOnlyOtherTypesDeletesEveryProfileAndReleasesTheExports) {
  apply(support_template());
  const std::string arn = profile_named("support-bot")->arn;
  ApplyResult result = apply("Resources:\n  Handle:\n    Type: AWS::CloudFormation::WaitConditionHandle\n");
  EXPECT_EQ(actions(result), (std::vector<std::string>{"Delete Support", "Skip Handle"}));
  EXPECT_FALSE(exists(arn));
  EXPECT_TRUE(stored()->resources.empty());
  EXPECT_TRUE(stored()->exports.empty());
  // The export name is free for another stack now.
  apply(support_template(), {{"Name", "other-bot"}}, "other-stack");
}

TEST_F(StackServiceTest, UpdateReplacePolicyRetainKeepsTheOldProfileOfAReplacement) {
  const std::string keep = "    UpdateReplacePolicy: Retain\n";
  apply("Resources:\n" + extra_profile("Bot", "bot-v1", keep));
  const std::string old_arn = profile_named("bot-v1")->arn;
  ApplyResult result = apply("Resources:\n" + extra_profile("Bot", "bot-v2", keep));
  EXPECT_EQ(actions(result), std::vector<std::string>{"Replace Bot"});
  EXPECT_TRUE(exists(old_arn)) << "kept";
  EXPECT_NE(stored()->resources.at("Bot").profile_arn, old_arn);
  // The same name cannot be kept twice.
  auto same_name = try_apply("Resources:\n" + extra_profile("Bot", "bot-v2", keep)
                                                  .replace(extra_profile("Bot", "bot-v2", keep).find(kHaikuArn),
                                                           std::string(kHaikuArn).size(), kUsHaikuArn));
  ASSERT_FALSE(same_name.ok());
  EXPECT_TRUE(contains(same_name.error().message(), "UpdateReplacePolicy Retain keeps the old profile"))
      << same_name.error().message();
}

}  // namespace
}  // namespace tollgate::stacks
