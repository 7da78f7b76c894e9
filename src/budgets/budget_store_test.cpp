#include "budgets/budget_store.h"

#include <gtest/gtest.h>

namespace tollgate::budgets {
namespace {

using namespace std::chrono_literals;

const TimePoint kNow = TimePoint(std::chrono::seconds(1'800'000'000));

TEST(BudgetStore, KeepsOneDocumentPerAccountAndName) {
  auto store = BudgetStore::open(":memory:");
  ASSERT_TRUE(store->insert({"111111111111", "b", "{\"v\":1}", kNow, kNow}).ok());
  ASSERT_TRUE(store->insert({"111111111111", "a", "{}", kNow, kNow}).ok());
  ASSERT_TRUE(store->insert({"222222222222", "a", "{}", kNow, kNow}).ok());  // another account: another budget
  auto duplicate = store->insert({"111111111111", "b", "{}", kNow, kNow});
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code(), ErrorCode::DuplicateRecord);

  auto found = store->find("111111111111", "b");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->document, "{\"v\":1}");
  EXPECT_FALSE(store->find("111111111111", "c")->has_value());

  auto page = store->list("111111111111", "", 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].name, "a");
  EXPECT_EQ(store->list("111111111111", "a", 10)->size(), 1u);
}

TEST(BudgetStore, UpdatesInATransactionAndAFailedChangeChangesNothing) {
  auto store = BudgetStore::open(":memory:");
  ASSERT_TRUE(store->insert({"111111111111", "b", "old", kNow, kNow}).ok());
  auto updated = store->update(
      "111111111111", "b", [](const std::string& d) -> Result<std::string> { return d + "+new"; }, kNow + 1h);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->document, "old+new");
  EXPECT_EQ(updated->updated_at, kNow + 1h);
  auto refused = store->update(
      "111111111111", "b",
      [](const std::string&) -> Result<std::string> { return Error(ErrorCode::InvalidParameter, "no"); }, kNow + 2h);
  EXPECT_EQ(refused.error().code(), ErrorCode::InvalidParameter);
  EXPECT_EQ((*store->find("111111111111", "b"))->document, "old+new");
  EXPECT_EQ(store
                ->update(
                    "111111111111", "zz", [](const std::string& d) -> Result<std::string> { return d; }, kNow)
                .error()
                .code(),
            ErrorCode::NotFound);
  ASSERT_TRUE(store->remove("111111111111", "b").ok());
  EXPECT_EQ(store->remove("111111111111", "b").error().code(), ErrorCode::NotFound);
}

}  // namespace
}  // namespace tollgate::budgets
