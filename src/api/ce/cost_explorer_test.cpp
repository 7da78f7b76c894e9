#include "api/ce/cost_explorer.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <future>

#include "costs/credits.h"
#include "ledger/sqlite/sqlite_ledger.h"

namespace tollgate::api::ce {
namespace {

namespace json = boost::json;

constexpr char kAccount[] = "123456789012";
constexpr char kAlice[] = "arn:aws:iam::123456789012:user/alice";
constexpr char kBob[] = "arn:aws:iam::123456789012:user/bob";

TimePoint at(int day, int hour) {
  return std::chrono::sys_days{std::chrono::year(2026) / 11 / day} + std::chrono::hours(hour);
}

// The IAM_PRINCIPAL dimension (tollgate's extension) through the JSON of Cost Explorer's operations.
class IamPrincipalTest : public ::testing::Test {
 protected:
  IamPrincipalTest()
      : catalog_(catalog::Catalog::embedded()),
        ledger_(ledger::sqlite::SqliteLedgerOptions{":memory:"}),
        tags_(costs::CostAllocationTags::open(":memory:")),
        clock_(at(30, 12)),
        credits_(costs::CreditStore::open(":memory:")),
        ce_(ledger_, *tags_, catalog_, clock_, {}, credits_.get()) {}

  void spend(const std::string& id, const std::string& principal, TimePoint when, int64_t nano_usd) {
    ledger::UsageRecord r;
    r.request_id = id;
    r.start_time = r.end_time = when;
    r.account_id = kAccount;
    r.principal = principal;
    r.operation = "Converse";
    r.profile_arn = r.resource_arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/p1";
    r.model_id = "anthropic.claude-3-haiku-20240307-v1:0";
    r.billing_region = r.served_region = "us-east-1";
    r.tokens = {100, 0, 0, 0};
    r.costs = {nano_usd, 0, 0, 0};
    std::promise<Status> done;
    ledger_.append(r, [&](const Status& s) { done.set_value(s); });
    ASSERT_TRUE(done.get_future().get().ok());
  }

  static json::object request(std::string_view text) { return json::parse(text).as_object(); }

  // The group keys and UnblendedCost amounts of a one-period answer.
  static std::map<std::string, std::string> costs_by_group(const json::object& answer) {
    std::map<std::string, std::string> out;
    for (const auto& g : answer.at("ResultsByTime").at(0).at("Groups").as_array()) {
      out[std::string(g.at("Keys").at(0).as_string())] =
          std::string(g.at("Metrics").at("UnblendedCost").at("Amount").as_string());
    }
    return out;
  }

  catalog::Catalog catalog_;
  ledger::sqlite::SqliteLedger ledger_;
  std::unique_ptr<costs::CostAllocationTags> tags_;
  ManualClock clock_;
  std::unique_ptr<costs::CreditStore> credits_;
  CostExplorer ce_;
};

constexpr const char* kMonth = R"("TimePeriod": {"Start": "2026-11-01", "End": "2026-12-01"}, "Granularity": "MONTHLY",
    "Metrics": ["UnblendedCost"])";

TEST_F(IamPrincipalTest, GroupByFilterAndDimensionValues) {
  spend("a", kAlice, at(3, 10), 1'000'000'000);
  spend("b", kBob, at(3, 10), 3'000'000'000);
  spend("c", kBob, at(4, 9), 500'000'000);

  auto grouped = ce_.get_cost_and_usage(
      request(std::string("{") + kMonth + R"(, "GroupBy": [{"Type": "DIMENSION", "Key": "IAM_PRINCIPAL"}]})"),
      kAccount);
  ASSERT_TRUE(grouped.ok()) << grouped.error().message();
  EXPECT_EQ(costs_by_group(*grouped), (std::map<std::string, std::string>{{kAlice, "1"}, {kBob, "3.5"}}));
  EXPECT_EQ(grouped->at("GroupDefinitions").at(0).at("Key"), "IAM_PRINCIPAL");

  auto filtered =
      ce_.get_cost_and_usage(request(std::string("{") + kMonth + R"(, "Filter": {"Dimensions": {"Key": "IAM_PRINCIPAL",
          "Values": ["arn:aws:iam::123456789012:user/alice"]}}})"),
                             kAccount);
  ASSERT_TRUE(filtered.ok()) << filtered.error().message();
  EXPECT_EQ(filtered->at("ResultsByTime").at(0).at("Total").at("UnblendedCost").at("Amount"), "1");

  auto ends_with =
      ce_.get_cost_and_usage(request(std::string("{") + kMonth + R"(, "Filter": {"Dimensions": {"Key": "IAM_PRINCIPAL",
          "Values": ["USER/BOB"], "MatchOptions": ["ENDS_WITH", "CASE_INSENSITIVE"]}}})"),
                             kAccount);
  ASSERT_TRUE(ends_with.ok()) << ends_with.error().message();
  EXPECT_EQ(ends_with->at("ResultsByTime").at(0).at("Total").at("UnblendedCost").at("Amount"), "3.5");

  auto values = ce_.get_dimension_values(
      request(R"({"TimePeriod": {"Start": "2026-11-01", "End": "2026-12-01"}, "Dimension": "IAM_PRINCIPAL"})"),
      kAccount);
  ASSERT_TRUE(values.ok()) << values.error().message();
  EXPECT_EQ(
      json::serialize(values->at("DimensionValues")),
      std::string(R"([{"Value":")") + kAlice + R"(","Attributes":{}},{"Value":")" + kBob + R"(","Attributes":{}}])");
}

TEST_F(IamPrincipalTest, UnknownDimensionsNameTheExtensionAndAbsentDoesNotApply) {
  auto unknown = ce_.get_cost_and_usage(
      request(std::string("{") + kMonth + R"(, "Filter": {"Dimensions": {"Key": "PRINCIPAL", "Values": ["x"]}}})"),
      kAccount);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), ErrorCode::Validation);
  EXPECT_NE(unknown.error().message().find("IAM_PRINCIPAL"), std::string::npos) << unknown.error().message();

  auto absent = ce_.get_cost_and_usage(
      request(std::string("{") + kMonth + R"(, "Filter": {"Dimensions": {"Key": "IAM_PRINCIPAL", "Values": [],
          "MatchOptions": ["ABSENT"]}}})"),
      kAccount);
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().code(), ErrorCode::Validation);
}

TEST_F(IamPrincipalTest, ACreditsMissingPrincipalIsNoDimensionValue) {
  spend("a", kAlice, at(3, 10), 1'000'000'000);
  ASSERT_TRUE(credits_->grant({"promo", kAccount, "", 500'000'000, at(1, 0), at(30, 0), {}, at(1, 0)}).ok());
  auto grouped = ce_.get_cost_and_usage(
      request(std::string("{") + kMonth + R"(, "GroupBy": [{"Type": "DIMENSION", "Key": "IAM_PRINCIPAL"}]})"),
      kAccount);
  ASSERT_TRUE(grouped.ok()) << grouped.error().message();
  EXPECT_EQ(costs_by_group(*grouped).count(""), 1u) << "the credit's group: no principal";
  auto values = ce_.get_dimension_values(
      request(R"({"TimePeriod": {"Start": "2026-11-01", "End": "2026-12-01"}, "Dimension": "IAM_PRINCIPAL"})"),
      kAccount);
  ASSERT_TRUE(values.ok()) << values.error().message();
  EXPECT_EQ(json::serialize(values->at("DimensionValues")),
            std::string(R"([{"Value":")") + kAlice + R"(","Attributes":{}}])");
}

}  // namespace
}  // namespace tollgate::api::ce
