#include "profiles/profile_service.h"

#include <gtest/gtest.h>

#include "store/sqlite/sqlite_profile_store.h"

namespace tollgate::profiles {
namespace {

constexpr char kHaiku[] = "anthropic.claude-3-haiku-20240307-v1:0";
const std::string kHaikuArn = std::string("arn:aws:bedrock:us-east-1::foundation-model/") + kHaiku;
const std::string kUsHaikuArn = std::string("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.") + kHaiku;

class ProfileServiceTest : public ::testing::Test {
 protected:
  ProfileServiceTest()
      : catalog_(catalog::Catalog::embedded()),
        store_(store::sqlite::open_profile_store(":memory:")),
        clock_(TimePoint(std::chrono::seconds(1'750'000'000))),
        service_(catalog_, *store_, clock_) {}

  ProfileView create(std::string name, std::string source = kHaikuArn, std::vector<Tag> tags = {{"team", "growth"}}) {
    auto r =
        service_.create(caller_, {std::move(name), std::nullopt, std::nullopt, std::move(source), std::move(tags)});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
    return r.ok() ? *r : ProfileView{};
  }

  size_t application_count() {
    return service_.list(caller_, {ProfileType::Application, 1000, std::nullopt})->profiles.size();
  }

  catalog::Catalog catalog_;
  std::unique_ptr<store::ProfileStore> store_;
  ManualClock clock_;
  ProfileService service_;
  Caller caller_{"123456789012", "us-east-1"};
};

TEST_F(ProfileServiceTest, CreatesFromAFoundationModel) {
  ProfileView p = create("support-bot-prod");
  EXPECT_EQ(p.arn, "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/" + p.id);
  EXPECT_EQ(p.id.size(), 12u);
  EXPECT_EQ(p.model_arns, std::vector<std::string>{kHaikuArn});
  auto got = service_.get(caller_, p.arn);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "support-bot-prod");
  EXPECT_EQ(got->type, ProfileType::Application);
  EXPECT_EQ(service_.get(caller_, p.id)->arn, p.arn);
}

TEST_F(ProfileServiceTest, CreatesFromASystemProfileWithItsRegions) {
  ProfileView p = create("multi-region", kUsHaikuArn);
  EXPECT_GE(p.model_arns.size(), 3u);
  EXPECT_NE(std::find(p.model_arns.begin(), p.model_arns.end(),
                      std::string("arn:aws:bedrock:us-west-2::foundation-model/") + kHaiku),
            p.model_arns.end());
}

TEST_F(ProfileServiceTest, GetsSystemProfilesByIdAndArn) {
  auto by_id = service_.get(caller_, std::string("us.") + kHaiku);
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->type, ProfileType::SystemDefined);
  EXPECT_EQ(by_id->arn, kUsHaikuArn);
  EXPECT_TRUE(service_.get(caller_, kUsHaikuArn).ok());
  auto eu = service_.get(caller_, std::string("eu.") + kHaiku);
  ASSERT_FALSE(eu.ok());
  EXPECT_EQ(eu.error().code(), ErrorCode::ResourceNotFound);
  EXPECT_NE(eu.error().message().find("eu-west-1"), std::string::npos) << eu.error().message();
}

struct BadCreate {
  std::string label;
  CreateRequest request;
  ErrorCode code;
  std::string message_part;
};

TEST_F(ProfileServiceTest, RejectsBadCreatesAndStoresNothing) {
  create("taken");
  std::vector<BadCreate> cases = {
      {"bad name", {"bad name!", {}, {}, kHaikuArn, {}}, ErrorCode::Validation, "inferenceProfileName"},
      {"long name", {std::string(65, 'a'), {}, {}, kHaikuArn, {}}, ErrorCode::Validation, "less than or equal to 64"},
      {"bad description", {"ok", "semi;colon", {}, kHaikuArn, {}}, ErrorCode::Validation, "description"},
      {"bad token", {"ok", {}, "-x-", kHaikuArn, {}}, ErrorCode::Validation, "clientRequestToken"},
      {"unknown model",
       {"ok", {}, {}, "arn:aws:bedrock:us-east-1::foundation-model/acme.nothing-v1:0", {}},
       ErrorCode::ResourceNotFound,
       "list-foundation-models"},
      {"region mismatch",
       {"ok", {}, {}, "arn:aws:bedrock:eu-west-1::foundation-model/" + std::string(kHaiku), {}},
       ErrorCode::Validation,
       "names region eu-west-1"},
      {"not an arn", {"ok", {}, {}, kHaiku, {}}, ErrorCode::Validation, "modelSource.copyFrom"},
      {"application source",
       {"ok", {}, {}, "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefabcdef", {}},
       ErrorCode::Validation,
       "cannot be an application inference profile"},
      {"duplicate name", {"taken", {}, {}, kHaikuArn, {}}, ErrorCode::Conflict, "already exists"},
      {"reserved tag", {"ok", {}, {}, kHaikuArn, {{"aws:x", "1"}}}, ErrorCode::Validation, "reserved"},
      {"bad tag", {"ok", {}, {}, kHaikuArn, {{"a#b", "1"}}}, ErrorCode::Validation, "tags.1.member.key"},
      {"too many tags",
       {"ok", {}, {}, kHaikuArn, std::vector<Tag>(51, Tag{"k", "v"})},
       ErrorCode::Validation,
       "more than once"},
  };
  std::vector<Tag> many;
  for (int i = 0; i < 51; ++i) many.push_back({"k" + std::to_string(i), "v"});
  cases.push_back({"51 tags", {"ok", {}, {}, kHaikuArn, many}, ErrorCode::TooManyTags, "at most 50"});
  for (const auto& c : cases) {
    auto r = service_.create(caller_, c.request);
    ASSERT_FALSE(r.ok()) << c.label;
    EXPECT_EQ(r.error().code(), c.code) << c.label << ": " << r.error().message();
    EXPECT_NE(r.error().message().find(c.message_part), std::string::npos) << c.label << ": " << r.error().message();
  }
  EXPECT_EQ(application_count(), 1u);
}

TEST_F(ProfileServiceTest, RejectsAModelNotOfferedInTheRegion) {
  Caller far{"123456789012", "sa-east-1"};
  const catalog::FoundationModel* model = catalog_.find_model(kHaiku);
  ASSERT_NE(model, nullptr);
  ASSERT_FALSE(model->offered_in("sa-east-1"));
  auto r =
      service_.create(far, {"x", {}, {}, "arn:aws:bedrock:sa-east-1::foundation-model/" + std::string(kHaiku), {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::Validation);
  EXPECT_NE(r.error().message().find("not offered in region sa-east-1"), std::string::npos);
}

TEST_F(ProfileServiceTest, ClientRequestTokenMakesCreateIdempotent) {
  CreateRequest request{"idem", {}, "token-1", kHaikuArn, {}};
  auto first = service_.create(caller_, request);
  auto second = service_.create(caller_, request);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->arn, second->arn);
  request.name = "other";
  auto reused = service_.create(caller_, request);
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().code(), ErrorCode::Conflict);
  EXPECT_EQ(application_count(), 1u);
}

TEST_F(ProfileServiceTest, NameOrWrongKindOfArnGetsAHelpfulNotFound) {
  ProfileView p = create("support-bot-prod");
  auto by_name = service_.get(caller_, "support-bot-prod");
  ASSERT_FALSE(by_name.ok());
  EXPECT_EQ(by_name.error().code(), ErrorCode::ResourceNotFound);
  EXPECT_NE(by_name.error().message().find(p.arn), std::string::npos) << by_name.error().message();

  auto wrong_kind = service_.get(caller_, "arn:aws:bedrock:us-east-1:123456789012:inference-profile/support-bot-prod");
  ASSERT_FALSE(wrong_kind.ok());
  EXPECT_EQ(wrong_kind.error().code(), ErrorCode::ResourceNotFound);
  EXPECT_NE(wrong_kind.error().message().find(p.arn), std::string::npos) << wrong_kind.error().message();

  auto other_region = service_.get({"123456789012", "us-west-2"}, p.id);
  ASSERT_FALSE(other_region.ok());
  EXPECT_NE(other_region.error().message().find("us-east-1"), std::string::npos);
}

TEST_F(ProfileServiceTest, ListsBothTypesWithPagination) {
  for (int i = 0; i < 5; ++i) create("p" + std::to_string(i));
  std::vector<std::string> seen;
  std::optional<std::string> token;
  do {
    auto page = service_.list(caller_, {ProfileType::Application, 2, token});
    ASSERT_TRUE(page.ok());
    EXPECT_LE(page->profiles.size(), 2u);
    for (const auto& p : page->profiles) seen.push_back(p.id);
    token = page->next_token;
  } while (token);
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));

  auto system = service_.list(caller_, {std::nullopt, 1000, std::nullopt});
  ASSERT_TRUE(system.ok());
  EXPECT_FALSE(system->profiles.empty());
  for (const auto& p : system->profiles) EXPECT_EQ(p.type, ProfileType::SystemDefined);

  auto bad_token = service_.list(caller_, {ProfileType::Application, 2, "garbage"});
  EXPECT_EQ(bad_token.error().code(), ErrorCode::Validation);
  EXPECT_EQ(service_.list(caller_, {std::nullopt, 0, std::nullopt}).error().code(), ErrorCode::Validation);
}

TEST_F(ProfileServiceTest, TagsUntagsAndEnforcesTheLimit) {
  ProfileView p = create("tagged");
  ASSERT_TRUE(service_.tag(caller_, p.arn, {{"env", "prod"}, {"team", "search"}}).ok());
  EXPECT_EQ(*service_.list_tags(caller_, p.arn), (std::vector<Tag>{{"team", "search"}, {"env", "prod"}}));
  ASSERT_TRUE(service_.untag(caller_, p.arn, {"team", "absent"}).ok());
  EXPECT_EQ(*service_.list_tags(caller_, p.arn), (std::vector<Tag>{{"env", "prod"}}));

  std::vector<Tag> many;
  for (int i = 0; i < 50; ++i) many.push_back({"k" + std::to_string(i), "v"});
  auto too_many = service_.tag(caller_, p.arn, many);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().code(), ErrorCode::TooManyTags);
  EXPECT_EQ(service_.list_tags(caller_, p.arn)->size(), 1u);  // unchanged

  EXPECT_EQ(service_.tag(caller_, kUsHaikuArn, {{"a", "b"}}).error().code(), ErrorCode::Validation);
  EXPECT_EQ(service_.list_tags(caller_, "arn:aws:bedrock:us-east-1:123456789012:guardrail/abcdefghijkl").error().code(),
            ErrorCode::ResourceNotFound);
  EXPECT_EQ(service_.list_tags(caller_, "short").error().code(), ErrorCode::Validation);
}

TEST_F(ProfileServiceTest, DeletesApplicationProfilesOnly) {
  ProfileView p = create("doomed");
  EXPECT_EQ(service_.remove(caller_, std::string("us.") + kHaiku).error().code(), ErrorCode::Validation);
  ASSERT_TRUE(service_.remove(caller_, p.arn).ok());
  EXPECT_EQ(service_.get(caller_, p.arn).error().code(), ErrorCode::ResourceNotFound);
  EXPECT_EQ(service_.remove(caller_, p.arn).error().code(), ErrorCode::ResourceNotFound);
}

TEST_F(ProfileServiceTest, ResolvesEveryKindOfModelIdForInvocation) {
  ProfileView pinned = create("pinned", kHaikuArn, {{"team", "growth"}});
  ProfileView routed = create("routed", kUsHaikuArn, {{"team", "search"}});

  auto by_model = service_.resolve_invocation(caller_, kHaiku);
  ASSERT_TRUE(by_model.ok()) << by_model.error().message();
  EXPECT_EQ(by_model->resource_arn, kHaikuArn);
  EXPECT_EQ(by_model->profile_arn, "");
  EXPECT_EQ(by_model->regions, std::vector<std::string>{"us-east-1"});
  EXPECT_TRUE(service_.resolve_invocation(caller_, kHaikuArn).ok());

  auto by_system = service_.resolve_invocation(caller_, std::string("us.") + kHaiku);
  ASSERT_TRUE(by_system.ok());
  EXPECT_EQ(by_system->profile_arn, kUsHaikuArn);
  EXPECT_EQ(by_system->geography, "us");
  EXPECT_EQ(by_system->regions.front(), "us-east-1");  // the caller's region first
  EXPECT_GE(by_system->regions.size(), 3u);

  auto by_pinned = service_.resolve_invocation(caller_, pinned.arn);
  ASSERT_TRUE(by_pinned.ok());
  EXPECT_EQ(by_pinned->model_id, kHaiku);
  EXPECT_EQ(by_pinned->profile_arn, pinned.arn);
  EXPECT_EQ(by_pinned->regions, std::vector<std::string>{"us-east-1"});
  EXPECT_EQ(by_pinned->tags, (std::vector<Tag>{{"team", "growth"}}));
  EXPECT_EQ(by_pinned->geography, "");

  auto by_routed = service_.resolve_invocation(caller_, routed.id);
  ASSERT_TRUE(by_routed.ok());
  EXPECT_EQ(by_routed->profile_arn, routed.arn);
  EXPECT_EQ(by_routed->geography, "us");
  EXPECT_GE(by_routed->regions.size(), 3u);
  EXPECT_EQ(by_routed->tags, (std::vector<Tag>{{"team", "search"}}));
}

TEST_F(ProfileServiceTest, RefusesInvocationsThatCannotReachAModel) {
  auto unknown = service_.resolve_invocation(caller_, "acme.nothing-v1:0");
  EXPECT_EQ(unknown.error().code(), ErrorCode::ResourceNotFound);
  auto elsewhere = service_.resolve_invocation({"123456789012", "sa-east-1"}, kHaiku);
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_EQ(elsewhere.error().code(), ErrorCode::Validation);
  EXPECT_NE(elsewhere.error().message().find("not offered in region sa-east-1"), std::string::npos);
  auto gone = service_.resolve_invocation(
      caller_, "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefabcdef");
  EXPECT_EQ(gone.error().code(), ErrorCode::ResourceNotFound);
  auto profile_only = std::find_if(catalog_.models().begin(), catalog_.models().end(), [](const auto& m) {
    return std::find(m.inference_types.begin(), m.inference_types.end(), "ON_DEMAND") == m.inference_types.end();
  });
  ASSERT_NE(profile_only, catalog_.models().end());
  Caller where{"123456789012", profile_only->regions.front()};
  auto needs_profile = service_.resolve_invocation(where, profile_only->model_id);
  ASSERT_FALSE(needs_profile.ok());
  EXPECT_NE(needs_profile.error().message().find("inference profile"), std::string::npos);
}

}  // namespace
}  // namespace tollgate::profiles
