#include "store/caching_profile_store.h"

#include <gtest/gtest.h>

#include "store/sqlite/sqlite_profile_store.h"

namespace tollgate::store {
namespace {

ApplicationProfile profile(std::string id) {
  ApplicationProfile p;
  p.account_id = "123456789012";
  p.region = "us-east-1";
  p.id = id;
  p.name = "n" + id;
  p.source_arn = "arn:aws:bedrock:us-east-1::foundation-model/m.x-v1";
  p.tags = {{"team", "a"}};
  return p;
}

TEST(CachingProfileStore, ServesRepeatedLookupsAndSeesEveryWrite) {
  auto sqlite = sqlite::open_profile_store(":memory:");
  CachingProfileStore cache(*sqlite);
  ProfileKey key{"123456789012", "us-east-1", "aaaaaaaaaaaa"};
  EXPECT_FALSE(cache.find(key)->has_value());  // misses are not cached…
  ASSERT_TRUE(cache.insert(profile("aaaaaaaaaaaa")).ok());
  EXPECT_TRUE(cache.find(key)->has_value());  // …so a later insert is seen

  // A write that bypasses the cache is invisible until the entry is dropped:
  // proof that the second lookup came from the cache.
  ASSERT_TRUE(sqlite->update(key, [](ApplicationProfile& p) -> Status {
    p.tags = {{"team", "b"}};
    return {};
  }).ok());
  EXPECT_EQ((*cache.find(key))->tags[0].value, "a");

  ASSERT_TRUE(cache.update(key, [](ApplicationProfile& p) -> Status {
    p.tags = {{"team", "c"}};
    return {};
  }).ok());
  EXPECT_EQ((*cache.find(key))->tags[0].value, "c");

  ASSERT_TRUE(cache.remove(key).ok());
  EXPECT_FALSE(cache.find(key)->has_value());
}

}  // namespace
}  // namespace tollgate::store
