#include "budgets/enforcer.h"

#include <gtest/gtest.h>

#include <future>
#include <limits>
#include <random>
#include <thread>

#include "ledger/sqlite/sqlite_ledger.h"

namespace tollgate::budgets {
namespace {

using namespace std::chrono_literals;

constexpr char kAccount[] = "123456789012";
constexpr char kHaiku[] = "anthropic.claude-3-haiku-20240307-v1:0";

TimePoint at(int month, int day, int hour) {
  return std::chrono::sys_days{std::chrono::year(2026) / month / day} + std::chrono::hours(hour);
}

// A request with a worst case of `input` and `output` nano-USD (100 tokens each).
ledger::UsageRecord usage(std::string id, int64_t input_nano, int64_t output_nano, std::vector<Tag> tags = {}) {
  ledger::UsageRecord r;
  r.request_id = std::move(id);
  r.account_id = kAccount;
  r.operation = "Converse";
  r.resource_arn = r.model_id = kHaiku;
  r.billing_region = r.served_region = "us-east-1";
  r.tokens = {100, 100, 0, 0};
  r.costs = {input_nano, output_nano, 0, 0};
  r.tags = std::move(tags);
  return r;
}

class EnforcerTest : public ::testing::Test {
 protected:
  EnforcerTest()
      : catalog_(catalog::Catalog::embedded()),
        ledger_(ledger::sqlite::SqliteLedgerOptions{":memory:"}),
        tags_(costs::CostAllocationTags::open(":memory:")),
        clock_(at(11, 30, 22)),
        enforcer_(ledger_, catalog_, *tags_, clock_) {}

  void commit(ledger::UsageRecord r) {
    std::promise<Status> done;
    ledger_.append(std::move(r), [&](const Status& s) { done.set_value(s); });
    ASSERT_TRUE(done.get_future().get().ok());
  }

  // Admits, commits the real usage, settles: what the runtime does.
  Status run(const ledger::UsageRecord& worst, int64_t real_nano) {
    auto admission = enforcer_.admit(worst);
    TOLLGATE_TRY(admission);
    ledger::UsageRecord real = worst;
    real.start_time = real.end_time = admission->admitted_at();
    real.costs = {real_nano, 0, 0, 0};
    commit(real);
    admission->settle(real);
    return {};
  }

  BlockingBudget budget(std::string name, int64_t limit, TimeUnit unit = TimeUnit::Monthly) {
    BlockingBudget b;
    b.account_id = kAccount;
    b.name = std::move(name);
    b.limits.fixed_nano_usd = limit;
    b.time_unit = "MONTHLY";
    b.period = {unit, at(1, 1, 0), at(12, 31, 0) + std::chrono::days(3650)};
    return b;
  }

  catalog::Catalog catalog_;
  ledger::sqlite::SqliteLedger ledger_;
  std::unique_ptr<costs::CostAllocationTags> tags_;
  ManualClock clock_;
  Enforcer enforcer_;
};

TEST_F(EnforcerTest, CountsTheLedgerWhenInstalledAndRefusesWhatWouldCrossTheLimit) {
  auto earlier = usage("earlier", 600, 0);
  earlier.start_time = earlier.end_time = at(11, 2, 5);
  commit(earlier);
  auto october = usage("october", 5000, 0);
  october.start_time = october.end_time = at(10, 31, 23);
  commit(october);
  ASSERT_TRUE(enforcer_.install(budget("b", 1000)).ok());
  EXPECT_EQ(enforcer_.standing(kAccount, "b")->spent_nano_usd, 600) << "November only";
  EXPECT_TRUE(enforcer_.watches(kAccount));
  EXPECT_FALSE(enforcer_.watches("999999999999"));

  ASSERT_TRUE(run(usage("r1", 200, 100), 250).ok());  // worst 300 fits 600 of 1000; costs 250
  EXPECT_EQ(enforcer_.standing(kAccount, "b")->spent_nano_usd, 850);
  EXPECT_EQ(enforcer_.standing(kAccount, "b")->reserved_nano_usd, 0);
  auto refused = enforcer_.admit(usage("r2", 100, 100));  // 850 + 200 > 1000
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::AccessDenied);
  EXPECT_NE(refused.error().message().find("Budget 'b' blocks this request"), std::string::npos);
  EXPECT_NE(refused.error().message().find("0.000001 USD per MONTHLY period"), std::string::npos)
      << refused.error().message();
  EXPECT_NE(refused.error().message().find("2026-12-01T00:00:00Z"), std::string::npos) << refused.error().message();
  EXPECT_TRUE(run(usage("r3", 100, 50), 150).ok()) << "850 + 150 = the limit exactly";
  EXPECT_EQ(enforcer_.standing(kAccount, "b")->spent_nano_usd, 1000);
}

TEST_F(EnforcerTest, ReservationsInFlightThrottleAndAreReleasedWhenTheRequestEnds) {
  auto b = budget("b", 1000);
  b.mode = Enforcement::Throttle;
  ASSERT_TRUE(enforcer_.install(b).ok());
  auto first = enforcer_.admit(usage("a", 400, 400));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(enforcer_.standing(kAccount, "b")->reserved_nano_usd, 800);
  auto second = enforcer_.admit(usage("b", 200, 100));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), ErrorCode::Throttling);
  EXPECT_NE(second.error().message().find("cannot fit this request now"), std::string::npos);
  { Admission dropped = std::move(*first); }  // failed before reaching a model: nothing recorded
  EXPECT_EQ(enforcer_.standing(kAccount, "b")->reserved_nano_usd, 0);
  EXPECT_EQ(enforcer_.standing(kAccount, "b")->spent_nano_usd, 0);
  EXPECT_TRUE(enforcer_.admit(usage("c", 200, 100)).ok());
}

TEST_F(EnforcerTest, OnlyMatchingUsageCountsAndOnlyWhileTheKeyIsActive) {
  auto b = budget("growth", 1000);
  costs::Expression tag;
  tag.kind = costs::Expression::Kind::Tag;
  tag.tag_key = "team";
  tag.match.values = {"growth"};
  b.filter = tag;
  ASSERT_TRUE(enforcer_.install(b).ok());
  std::vector<Tag> growth = {{"team", "growth"}};
  ASSERT_TRUE(run(usage("inactive", 5000, 0, growth), 5000).ok()) << "team is not an active cost-allocation tag";
  EXPECT_EQ(enforcer_.standing(kAccount, "growth")->spent_nano_usd, 0);

  clock_.advance(1min);
  ASSERT_TRUE(tags_->note_keys({"team"}, clock_.now()).ok());
  ASSERT_TRUE(tags_->update({{"team", true}}, clock_.now()).ok());
  ASSERT_TRUE(enforcer_.refresh_tags().ok());
  ASSERT_TRUE(run(usage("other", 5000, 0, {{"team", "search"}}), 5000).ok());
  ASSERT_TRUE(run(usage("mine", 700, 0, growth), 700).ok());
  EXPECT_EQ(enforcer_.standing(kAccount, "growth")->spent_nano_usd, 700);
  EXPECT_FALSE(enforcer_.admit(usage("more", 400, 0, growth)).ok());
  EXPECT_TRUE(enforcer_.admit(usage("elsewhere", 400, 0, {{"team", "search"}})).ok());
}

TEST_F(EnforcerTest, ThePeriodResetsOnTheUtcCalendarBoundary) {
  ASSERT_TRUE(enforcer_.install(budget("daily", 1000, TimeUnit::Daily)).ok());
  ASSERT_TRUE(run(usage("a", 900, 0), 900).ok());
  auto refused = enforcer_.admit(usage("b", 200, 0));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("resets at 2026-12-01T00:00:00Z"), std::string::npos)
      << refused.error().message();
  clock_.set(at(11, 30, 23) + 59min + 59s);
  EXPECT_FALSE(enforcer_.admit(usage("c", 200, 0)).ok());
  clock_.set(at(12, 1, 0));
  ASSERT_TRUE(run(usage("d", 200, 0), 200).ok());
  EXPECT_EQ(enforcer_.standing(kAccount, "daily")->spent_nano_usd, 200);
  EXPECT_EQ(enforcer_.standing(kAccount, "daily")->period.start, at(12, 1, 0));
}

TEST_F(EnforcerTest, ACustomBudgetPastItsEndKeepsItsSpendAndNoLongerBlocks) {
  auto b = budget("launch", 1000, TimeUnit::Custom);
  b.time_unit = "CUSTOM";
  b.period = {TimeUnit::Custom, at(11, 1, 0), at(12, 1, 0)};
  ASSERT_TRUE(enforcer_.install(b).ok());
  ASSERT_TRUE(run(usage("a", 900, 0), 900).ok());
  EXPECT_FALSE(enforcer_.admit(usage("b", 200, 0)).ok());
  clock_.set(at(12, 2, 0));
  EXPECT_TRUE(run(usage("c", 200, 0), 200).ok()) << "past its end the budget does not block";
  EXPECT_EQ(enforcer_.standing(kAccount, "launch")->spent_nano_usd, 900);
  EXPECT_EQ(enforcer_.standing(kAccount, "launch")->spent_nano_usd, 900) << "asking twice changes nothing";
  EXPECT_EQ(enforcer_.standing(kAccount, "launch")->period.start, at(11, 1, 0));
}

TEST_F(EnforcerTest, APlannedLimitAppliesToItsPeriodAndTheLastOneStays) {
  auto b = budget("planned", 0);
  b.limits.planned_nano_usd = {{at(11, 1, 0), 1000}, {at(12, 1, 0), 3000}};
  ASSERT_TRUE(enforcer_.install(b).ok());
  ASSERT_TRUE(run(usage("nov", 900, 0), 900).ok());
  auto refused = enforcer_.admit(usage("nov-more", 200, 0));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("its limit is 0.000001 USD"), std::string::npos);
  clock_.set(at(12, 2, 0));
  ASSERT_TRUE(run(usage("dec", 2500, 0), 2500).ok()) << "December's limit is 3000";
  EXPECT_EQ(enforcer_.standing(kAccount, "planned")->limit_nano_usd, 3000);
  clock_.set(at(12, 2, 0) + std::chrono::days(60));  // February: after the plan, its last limit stays
  ASSERT_TRUE(run(usage("feb", 2900, 0), 2900).ok());
  EXPECT_FALSE(enforcer_.admit(usage("feb-more", 200, 0)).ok());
  EXPECT_EQ(enforcer_.standing(kAccount, "planned")->limit_nano_usd, 3000);
}

TEST_F(EnforcerTest, InstallingWhileRequestsAreInFlightCountsEachOnce) {
  // Committed and settled before; committed but not yet settled; admitted, not yet committed.
  ASSERT_TRUE(run(usage("settled", 100, 0), 100).ok());
  auto committed = enforcer_.admit(usage("committed", 300, 0));
  ASSERT_TRUE(committed.ok());
  auto real_committed = usage("committed", 300, 0);
  real_committed.start_time = real_committed.end_time = committed->admitted_at();
  commit(real_committed);
  auto flying = enforcer_.admit(usage("flying", 50, 0));
  ASSERT_TRUE(flying.ok());

  ASSERT_TRUE(enforcer_.install(budget("b", 1000)).ok());
  EXPECT_EQ(enforcer_.standing(kAccount, "b")->spent_nano_usd, 100);
  EXPECT_EQ(enforcer_.standing(kAccount, "b")->reserved_nano_usd, 350) << "both in flight hold their worst case";
  committed->settle(real_committed);
  auto real_flying = usage("flying", 40, 0);
  real_flying.start_time = real_flying.end_time = flying->admitted_at();
  commit(real_flying);
  flying->settle(real_flying);
  EXPECT_EQ(enforcer_.standing(kAccount, "b")->spent_nano_usd, 440);
  EXPECT_EQ(enforcer_.standing(kAccount, "b")->reserved_nano_usd, 0);

  // Reinstalled (the budget changed) now, the ledger gives the same total.
  ASSERT_TRUE(enforcer_.install(budget("b", 2000)).ok());
  EXPECT_EQ(enforcer_.standing(kAccount, "b")->spent_nano_usd, 440);
}

TEST_F(EnforcerTest, AnEnormousWorstCaseDoesNotWrapAndAnUnestimatedRequestWaitsForOne) {
  ASSERT_TRUE(enforcer_.install(budget("b", 1000)).ok());
  ASSERT_TRUE(run(usage("some", 10, 0), 10).ok());
  auto huge = usage("huge", 100, std::numeric_limits<int64_t>::max());
  EXPECT_FALSE(enforcer_.admit(huge).ok()) << "input + INT64_MAX must not wrap into a small amount";
  EXPECT_EQ(enforcer_.standing(kAccount, "b")->reserved_nano_usd, 0);
  auto unestimated = enforcer_.admit(usage("late", 0, 0), /*estimated=*/false);
  ASSERT_FALSE(unestimated.ok()) << "a budget is in force: a request without a worst case cannot be reserved";
  EXPECT_EQ(unestimated.error().code(), ErrorCode::Throttling);
  auto other = usage("other-account", 0, 0);
  other.account_id = "999999999999";
  EXPECT_TRUE(enforcer_.admit(other, false).ok());
}

TEST_F(EnforcerTest, ConcurrentRequestsNeverOverspend) {
  ASSERT_TRUE(enforcer_.install(budget("b", 100'000)).ok());
  std::atomic<int64_t> admitted_cost{0};
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int i = 0; i < 100; ++i) {
        const int64_t worst = 1000 + static_cast<int64_t>(rng() % 2000);
        const int64_t real = worst - static_cast<int64_t>(rng() % 1000);
        auto worst_case = usage("t" + std::to_string(t) + "-" + std::to_string(i), worst, 0);
        auto admission = enforcer_.admit(worst_case);
        if (!admission.ok()) continue;
        ledger::UsageRecord r = worst_case;
        r.start_time = r.end_time = admission->admitted_at();
        r.costs = {real, 0, 0, 0};
        std::promise<Status> done;
        ledger_.append(r, [&](const Status& s) { done.set_value(s); });
        if (!done.get_future().get().ok()) continue;
        admission->settle(r);
        admitted_cost += real;
        ++admitted;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GT(admitted.load(), 40);
  EXPECT_LE(admitted_cost.load(), 100'000);
  EXPECT_EQ(enforcer_.standing(kAccount, "b")->spent_nano_usd, admitted_cost.load());
  ASSERT_TRUE(enforcer_.install(budget("b", 100'000)).ok());
  EXPECT_EQ(enforcer_.standing(kAccount, "b")->spent_nano_usd, admitted_cost.load()) << "the ledger agrees";
}

}  // namespace
}  // namespace tollgate::budgets
