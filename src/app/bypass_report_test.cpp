#include "app/bypass_report.h"

#include <gtest/gtest.h>

namespace tollgate::app {
namespace {

constexpr char kModel[] = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0";
constexpr char kSystem[] =
    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0";
constexpr char kApplication[] = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";

ledger::UsageRecord record(std::string principal, std::string resource, int64_t cost_nano_usd) {
  ledger::UsageRecord r;
  r.principal = std::move(principal);
  r.resource_arn = std::move(resource);
  r.tokens = {10, 5, 0, 0};
  r.costs.input_nano_usd = cost_nano_usd;
  return r;
}

TEST(BypassReport, GroupsCallsThatNamedNoApplicationProfileByPrincipal) {
  const std::string ci = "arn:aws:iam::123456789012:user/ci", batch = "arn:aws:iam::123456789012:user/batch";
  std::vector<ledger::UsageRecord> records = {
      record(ci, kModel, 100),     record(ci, kApplication, 1000),
      record(batch, kSystem, 500), record(ci, kSystem, 100),
      record(ci, kModel, 100),     record("arn:aws:iam::123456789012:user/tidy", kApplication, 9),
  };
  auto rows = bypass_by_principal(records);
  ASSERT_EQ(rows.size(), 2u) << "the principal that used only application profiles is not listed";
  EXPECT_EQ(rows[0].principal, batch) << "most cost first";
  EXPECT_EQ(rows[0].calls, 1);
  ASSERT_EQ(rows[0].resources.size(), 1u);
  EXPECT_EQ(rows[0].resources[0].kind, "system-profile");

  EXPECT_EQ(rows[1].principal, ci);
  EXPECT_EQ(rows[1].calls, 3) << "the application-profile call does not count";
  EXPECT_EQ(rows[1].input_tokens, 30);
  EXPECT_EQ(rows[1].output_tokens, 15);
  EXPECT_EQ(rows[1].cost_nano_usd, 300);
  ASSERT_EQ(rows[1].resources.size(), 2u);
  EXPECT_EQ(rows[1].resources[0].arn, kModel) << "most-called resource first";
  EXPECT_EQ(rows[1].resources[0].kind, "foundation-model");
  EXPECT_EQ(rows[1].resources[0].calls, 2);
  EXPECT_EQ(rows[1].resources[1].arn, kSystem);
}

TEST(BypassReport, NothingToReportWhenEveryCallUsedAProfile) {
  EXPECT_TRUE(bypass_by_principal({record("p", kApplication, 1)}).empty());
  EXPECT_TRUE(bypass_by_principal({}).empty());
}

}  // namespace
}  // namespace tollgate::app
