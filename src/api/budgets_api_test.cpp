#include "api/budgets/budgets_api.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <future>

#include "ledger/sqlite/sqlite_ledger.h"

namespace tollgate::api::budgets {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr char kAccount[] = "123456789012";

TimePoint at(int month, int day, int hour) {
  return std::chrono::sys_days{std::chrono::year(2026) / month / day} + std::chrono::hours(hour);
}

class BudgetsApiTest : public ::testing::Test {
 protected:
  BudgetsApiTest()
      : catalog_(catalog::Catalog::embedded()),
        ledger_(ledger::sqlite::SqliteLedgerOptions{":memory:"}),
        tags_(costs::CostAllocationTags::open(":memory:")),
        store_(tollgate::budgets::BudgetStore::open(":memory:")),
        clock_(at(11, 30, 23)),
        api_(*store_, ledger_, *tags_, catalog_, clock_, 1 << 20) {}

  void spend(const std::string& id, TimePoint when, int64_t nano_usd) {
    ledger::UsageRecord r;
    r.request_id = id;
    r.start_time = r.end_time = when;
    r.account_id = kAccount;
    r.operation = "Converse";
    r.model_id = "anthropic.claude-3-haiku-20240307-v1:0";
    r.billing_region = r.served_region = "us-east-1";
    r.tokens = {100, 0, 0, 0};
    r.costs = {nano_usd, 0, 0, 0};
    std::promise<Status> done;
    ledger_.append(r, [&](const Status& s) { done.set_value(s); });
    ASSERT_TRUE(done.get_future().get().ok());
  }

  json::object request(std::string_view text) { return json::parse(text).as_object(); }

  catalog::Catalog catalog_;
  ledger::sqlite::SqliteLedger ledger_;
  std::unique_ptr<costs::CostAllocationTags> tags_;
  std::unique_ptr<tollgate::budgets::BudgetStore> store_;
  ManualClock clock_;
  BudgetsApi api_;
};

TEST_F(BudgetsApiTest, ANotificationFiresOncePerPeriodAndAgainAfterTheReset) {
  ASSERT_TRUE(api_.create_budget(request(R"({"AccountId": "123456789012", "Budget": {"BudgetName": "monthly",
      "BudgetLimit": {"Amount": "1", "Unit": "USD"}, "TimeUnit": "MONTHLY", "BudgetType": "COST"},
      "NotificationsWithSubscribers": [{"Notification": {"NotificationType": "ACTUAL",
      "ComparisonOperator": "GREATER_THAN", "Threshold": 50},
      "Subscribers": [{"SubscriptionType": "EMAIL", "Address": "a@example.com"}]}]})"),
                                 kAccount)
                  .ok());
  spend("nov-1", at(11, 30, 23) + 10min, 400'000'000);  // $0.40: 40%, below the threshold
  EXPECT_TRUE(api_.take_alerts()->empty());
  spend("nov-2", at(11, 30, 23) + 20min, 200'000'000);  // $0.60 in November: 60%
  auto fired = api_.take_alerts();
  ASSERT_TRUE(fired.ok());
  ASSERT_EQ(fired->size(), 1u);
  EXPECT_EQ((*fired)[0].actual_spend, "0.6");
  EXPECT_EQ((*fired)[0].period_start, at(11, 1, 0));
  EXPECT_TRUE(api_.take_alerts()->empty()) << "once per period";

  // December: the spend starts over, and the notification is armed again.
  clock_.set(at(12, 1, 1));
  auto december = api_.describe_budget(request(R"({"AccountId": "123456789012", "BudgetName": "monthly"})"), kAccount);
  ASSERT_TRUE(december.ok());
  EXPECT_EQ(december->at("Budget").at("CalculatedSpend").at("ActualSpend").at("Amount"), "0");
  EXPECT_TRUE(api_.take_alerts()->empty());
  spend("dec-1", at(12, 1, 0) + 30min, 700'000'000);
  fired = api_.take_alerts();
  ASSERT_TRUE(fired.ok());
  ASSERT_EQ(fired->size(), 1u);
  EXPECT_EQ((*fired)[0].period_start, at(12, 1, 0));
  EXPECT_EQ((*fired)[0].actual_spend, "0.7");
  EXPECT_TRUE(api_.take_alerts()->empty());
}

TEST_F(BudgetsApiTest, PeriodsFollowTheTimeUnitOnCalendarBoundaries) {
  for (const char* unit : {"DAILY", "QUARTERLY", "ANNUALLY"}) {
    std::string body = std::string(R"({"AccountId": "123456789012", "Budget": {"BudgetName": ")") + unit +
                       R"(", "BudgetLimit": {"Amount": "1", "Unit": "USD"}, "TimeUnit": ")" + unit +
                       R"(", "BudgetType": "COST", "TimePeriod": {"Start": 1767225600}}})";  // 2026-01-01
    ASSERT_TRUE(api_.create_budget(request(body), kAccount).ok()) << unit;
  }
  spend("q3", at(9, 15, 12), 1'000'000'000);     // Q3
  spend("q4", at(11, 2, 12), 2'000'000'000);     // Q4, November
  spend("today", at(11, 30, 5), 4'000'000'000);  // Q4, the clock's day
  auto actual = [&](const char* name) {
    auto b = api_.describe_budget(
        request(std::string(R"({"AccountId": "123456789012", "BudgetName": ")") + name + "\"}"), kAccount);
    EXPECT_TRUE(b.ok());
    return std::string(b->at("Budget").at("CalculatedSpend").at("ActualSpend").at("Amount").as_string());
  };
  EXPECT_EQ(actual("DAILY"), "4");
  EXPECT_EQ(actual("QUARTERLY"), "6");
  EXPECT_EQ(actual("ANNUALLY"), "7");
}

TEST_F(BudgetsApiTest, PlannedLimitsApplyPeriodByPeriodAndTheLastOneStays) {
  // The clock is 2026-11-30: November (1793491200) at 1 USD, December (1796083200) at 5 USD.
  ASSERT_TRUE(api_.create_budget(request(R"({"AccountId": "123456789012", "Budget": {"BudgetName": "planned",
      "TimeUnit": "MONTHLY", "BudgetType": "COST", "PlannedBudgetLimits": {
      "1796083200": {"Amount": "5", "Unit": "USD"}, "1793491200": {"Amount": "1", "Unit": "USD"}}},
      "NotificationsWithSubscribers": [{"Notification": {"NotificationType": "ACTUAL",
      "ComparisonOperator": "GREATER_THAN", "Threshold": 50},
      "Subscribers": [{"SubscriptionType": "EMAIL", "Address": "a@example.com"}]}]})"),
                                 kAccount)
                  .ok());
  spend("nov", at(11, 30, 22), 600'000'000);
  const auto describe = [&] {
    return api_.describe_budget(request(R"({"AccountId": "123456789012", "BudgetName": "planned"})"), kAccount);
  };
  auto november = describe();
  ASSERT_TRUE(november.ok());
  EXPECT_EQ(november->at("Budget").at("BudgetLimit").at("Amount"), "1") << "the current period's planned limit";
  EXPECT_EQ(november->at("Budget").at("PlannedBudgetLimits").as_object().size(), 2u);
  auto fired = api_.take_alerts();
  ASSERT_EQ(fired->size(), 1u) << "0.6 of 1 USD is over 50%";
  EXPECT_EQ((*fired)[0].budget_limit, "1");

  clock_.set(at(12, 1, 1));
  spend("dec", at(12, 1, 0), 600'000'000);
  EXPECT_EQ(describe()->at("Budget").at("BudgetLimit").at("Amount"), "5");
  EXPECT_TRUE(api_.take_alerts()->empty()) << "0.6 of 5 USD is under 50%";
  clock_.set(at(12, 1, 1) + std::chrono::days(90));  // after the plan: its last limit stays
  EXPECT_EQ(describe()->at("Budget").at("BudgetLimit").at("Amount"), "5");

  auto history = api_.describe_budget_performance_history(
      request(R"({"AccountId": "123456789012", "BudgetName": "planned",
                  "TimePeriod": {"Start": 1793491200, "End": 1801440000}})"),
      kAccount);
  ASSERT_TRUE(history.ok()) << history.error().message();
  std::vector<std::string> budgeted;
  for (const auto& p : history->at("BudgetPerformanceHistory").at("BudgetedAndActualAmountsList").as_array()) {
    budgeted.emplace_back(p.at("BudgetedAmount").at("Amount").as_string());
  }
  EXPECT_EQ(budgeted, (std::vector<std::string>{"1", "5", "5"}));
}

TEST_F(BudgetsApiTest, PlannedLimitsThatCannotApplyAreRefused) {
  const auto create = [&](const std::string& budget) {
    return api_.create_budget(
        request(R"({"AccountId": "123456789012", "Budget": {"BudgetName": "p", "BudgetType": "COST", )" + budget + "}}"),
        kAccount);
  };
  const std::string nov = R"({"1793491200": {"Amount": "1", "Unit": "USD"}})";
  const std::pair<std::string, std::string> refused[] = {
      {R"("TimeUnit": "DAILY", "PlannedBudgetLimits": )" + nov, "MONTHLY and QUARTERLY"},
      {R"("TimeUnit": "MONTHLY", "BudgetLimit": {"Amount": "1", "Unit": "USD"}, "PlannedBudgetLimits": )" + nov,
       "not both"},
      {R"("TimeUnit": "MONTHLY", "PlannedBudgetLimits": {"1793491201": {"Amount": "1", "Unit": "USD"}})",
       "start of a month"},
      {R"("TimeUnit": "MONTHLY", "PlannedBudgetLimits": {"1788220800": {"Amount": "1", "Unit": "USD"}})",
       "in the past"},
      {R"("TimeUnit": "QUARTERLY", "PlannedBudgetLimits": )" + nov, "calendar quarter"},
      {R"("TimeUnit": "MONTHLY", "PlannedBudgetLimits": {})", "1 to 12 entries"},
      {R"("TimeUnit": "MONTHLY", "PlannedBudgetLimits": {"1793491200": {"Amount": "-1", "Unit": "USD"}})",
       "decimal number"},
  };
  for (const auto& [budget, message] : refused) {
    auto answer = create(budget);
    ASSERT_FALSE(answer.ok()) << budget;
    EXPECT_EQ(answer.error().code(), ErrorCode::InvalidParameter) << budget;
    EXPECT_NE(answer.error().message().find(message), std::string::npos) << answer.error().message();
  }
  EXPECT_TRUE(create(R"("TimeUnit": "QUARTERLY", "PlannedBudgetLimits": {"1790812800": {"Amount": "1", "Unit": "USD"}})")
                  .ok())
      << "October 1st starts the current quarter";
}

}  // namespace
}  // namespace tollgate::api::budgets
