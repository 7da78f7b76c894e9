#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "store/sqlite/sqlite_profile_store.h"

namespace tollgate::store {
namespace {

ApplicationProfile sample(std::string id, std::string name) {
  ApplicationProfile p;
  p.account_id = "123456789012";
  p.region = "us-east-1";
  p.id = std::move(id);
  p.name = std::move(name);
  p.source_arn = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0";
  p.model_arns = {p.source_arn};
  p.tags = {{"team", "growth"}, {"env", "prod"}};
  p.created_at = p.updated_at = TimePoint(std::chrono::milliseconds(1'700'000'000'123));
  return p;
}

TEST(SqliteProfileStore, InsertsFindsAndKeepsTagOrder) {
  auto store = sqlite::open_profile_store(":memory:");
  ASSERT_TRUE(store->insert(sample("aaaaaaaaaaaa", "bot")).ok());
  auto found = store->find({"123456789012", "us-east-1", "aaaaaaaaaaaa"});
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  const auto& p = **found;
  EXPECT_EQ(p.name, "bot");
  EXPECT_EQ(p.tags, (std::vector<Tag>{{"team", "growth"}, {"env", "prod"}}));
  EXPECT_EQ(p.model_arns.size(), 1u);
  EXPECT_EQ(p.created_at, TimePoint(std::chrono::milliseconds(1'700'000'000'123)));
  EXPECT_EQ(p.arn(), "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/aaaaaaaaaaaa");
  EXPECT_FALSE(store->find({"123456789012", "us-west-2", "aaaaaaaaaaaa"})->has_value());
  EXPECT_TRUE(store->find_in_any_region("123456789012", "aaaaaaaaaaaa")->has_value());
}

TEST(SqliteProfileStore, DuplicateNameOrTokenIsAConflictAndChangesNothing) {
  auto store = sqlite::open_profile_store(":memory:");
  auto first = sample("aaaaaaaaaaaa", "bot");
  first.client_request_token = "tok";
  ASSERT_TRUE(store->insert(first).ok());
  Status dup_name = store->insert(sample("bbbbbbbbbbbb", "bot"));
  ASSERT_FALSE(dup_name.ok());
  EXPECT_EQ(dup_name.error().code(), ErrorCode::Conflict);
  auto dup_token = sample("cccccccccccc", "other");
  dup_token.client_request_token = "tok";
  EXPECT_EQ(store->insert(dup_token).error().code(), ErrorCode::Conflict);
  EXPECT_EQ(store->list("123456789012", "us-east-1", "", 10)->size(), 1u);
  EXPECT_TRUE(store->find_by_token("123456789012", "us-east-1", "tok")->has_value());
}

TEST(SqliteProfileStore, ListsInIdOrderFromACursor) {
  auto store = sqlite::open_profile_store(":memory:");
  for (std::string id : {"cccccccccccc", "aaaaaaaaaaaa", "bbbbbbbbbbbb"}) {
    ASSERT_TRUE(store->insert(sample(id, "n" + id)).ok());
  }
  auto page1 = store->list("123456789012", "us-east-1", "", 2);
  ASSERT_EQ(page1->size(), 2u);
  EXPECT_EQ((*page1)[0].id, "aaaaaaaaaaaa");
  auto page2 = store->list("123456789012", "us-east-1", (*page1)[1].id, 2);
  ASSERT_EQ(page2->size(), 1u);
  EXPECT_EQ((*page2)[0].id, "cccccccccccc");
}

TEST(SqliteProfileStore, FailedMutationChangesNothing) {
  auto store = sqlite::open_profile_store(":memory:");
  ASSERT_TRUE(store->insert(sample("aaaaaaaaaaaa", "bot")).ok());
  ProfileKey key{"123456789012", "us-east-1", "aaaaaaaaaaaa"};
  auto failed = store->update(key, [](ApplicationProfile& p) -> Status {
    p.tags.clear();
    return Error(ErrorCode::TooManyTags, "no");
  });
  EXPECT_EQ(failed.error().code(), ErrorCode::TooManyTags);
  EXPECT_EQ((*store->find(key))->tags.size(), 2u);
  auto updated = store->update(key, [](ApplicationProfile& p) -> Status {
    p.tags = {{"env", "dev"}};
    return {};
  });
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ((*store->find(key))->tags, (std::vector<Tag>{{"env", "dev"}}));
  EXPECT_EQ(store->update({"123456789012", "us-east-1", "zzzzzzzzzzzz"}, [](ApplicationProfile&) -> Status {
                  return {};
                }).error().code(),
            ErrorCode::ResourceNotFound);
}

TEST(SqliteProfileStore, RemoveDeletesProfileAndTags) {
  auto store = sqlite::open_profile_store(":memory:");
  ASSERT_TRUE(store->insert(sample("aaaaaaaaaaaa", "bot")).ok());
  ProfileKey key{"123456789012", "us-east-1", "aaaaaaaaaaaa"};
  ASSERT_TRUE(store->remove(key).ok());
  EXPECT_EQ(store->remove(key).error().code(), ErrorCode::ResourceNotFound);
  ASSERT_TRUE(store->insert(sample("aaaaaaaaaaaa", "bot")).ok());  // name and id free again
}

TEST(SqliteProfileStore, SurvivesReopen) {
  auto dir = std::filesystem::temp_directory_path() / ("tollgate-store-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "tollgate.db").string();
  {
    auto store = sqlite::open_profile_store(path);
    ASSERT_TRUE(store->insert(sample("aaaaaaaaaaaa", "bot")).ok());
  }
  {
    auto store = sqlite::open_profile_store(path);  // migrations are not re-applied
    auto found = store->find({"123456789012", "us-east-1", "aaaaaaaaaaaa"});
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->tags.size(), 2u);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tollgate::store
