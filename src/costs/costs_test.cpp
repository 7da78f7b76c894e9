#include <gtest/gtest.h>

#include <future>
#include <map>

#include "costs/cost_allocation_tags.h"
#include "costs/cost_query.h"
#include "costs/credits.h"
#include "costs/forecast.h"
#include "costs/money.h"
#include "costs/usage_type.h"
#include "ledger/sqlite/sqlite_ledger.h"

namespace tollgate::costs {
namespace {

using namespace std::chrono_literals;
using ledger::TokenType;
using ledger::UsageRecord;

TimePoint at(std::string_view iso) {
  // "2026-11-03T10:15:00Z"
  std::tm tm{};
  std::string text(iso);
  strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

TEST(UsageNames, SpellBedrockUsageAsAwsBillingDoes) {
  EXPECT_EQ(region_prefix("us-east-1"), "USE1");
  EXPECT_EQ(region_prefix("eu-west-1"), "EU");
  EXPECT_EQ(region_prefix("ap-south-1"), "APS3");
  EXPECT_EQ(region_prefix("xx-new-1"), "XX-NEW-1");
  EXPECT_EQ(usage_family("Claude 3 Haiku"), "Claude3Haiku");
  EXPECT_EQ(usage_family("Claude Sonnet 4.5"), "Claude4.5Sonnet");
  EXPECT_EQ(usage_family("Claude Sonnet 4"), "Claude4Sonnet");
  EXPECT_EQ(usage_family("Nova Lite"), "NovaLite");
  EXPECT_EQ(usage_family("Llama 3.1 8B"), "Llama3.18B");
  EXPECT_EQ(usage_type("us-east-1", "Claude3Haiku", TokenType::Input), "USE1-Claude3Haiku-input-tokens");
  EXPECT_EQ(usage_type("us-west-2", "Claude4.6Sonnet", TokenType::CacheRead),
            "USW2-Claude4.6Sonnet-cache-read-input-token-count");
  EXPECT_EQ(billing_operation("ConverseStream"), "InvokeModelStreamingInference");
  EXPECT_EQ(billing_operation("InvokeModel"), "InvokeModelInference");
}

TEST(Money, FormatsNanoUsdExactly) {
  EXPECT_EQ(format_usd(0), "0");
  EXPECT_EQ(format_usd(1), "0.000000001");
  EXPECT_EQ(format_usd(1'234'567'890), "1.23456789");
  EXPECT_EQ(format_usd(5'000'000'000), "5");
  EXPECT_EQ(format_usd(-25), "-0.000000025");
  EXPECT_EQ(format_usd(std::numeric_limits<int64_t>::min()), "-9223372036.854775808");
  EXPECT_EQ(format_usd_per_unit(250, 1), "0.00000025");  // $0.25 per million tokens
  EXPECT_EQ(format_usd_per_unit(1000, 3, 12), "0.000000333333");
  EXPECT_EQ(format_usd_per_unit(5, 0), "0");
}

TEST(ActivationTimeline, TheLastChangeAtOrBeforeATimeDecides) {
  ActivationTimeline timeline({{"team", {{at("2026-11-03T10:15:00Z"), true}, {at("2026-11-05T00:00:00Z"), false}}}});
  EXPECT_FALSE(timeline.active("team", at("2026-11-03T10:14:59Z")));
  EXPECT_TRUE(timeline.active("team", at("2026-11-03T10:15:00Z")));
  EXPECT_TRUE(timeline.active("team", at("2026-11-04T23:59:59Z")));
  EXPECT_FALSE(timeline.active("team", at("2026-11-05T00:00:00Z")));
  EXPECT_FALSE(timeline.active("other", at("2026-11-04T00:00:00Z")));
  // Only the change inside an hour splits it.
  EXPECT_EQ(timeline.split_hours(), (std::set<TimePoint>{at("2026-11-03T10:00:00Z")}));
  EXPECT_EQ(timeline.epoch(at("2026-11-03T10:00:00Z")), 0u);
  EXPECT_EQ(timeline.epoch(at("2026-11-04T00:00:00Z")), 1u);
  std::vector<Tag> tags{{"env", "prod"}, {"team", "growth"}};
  EXPECT_EQ(timeline.active_tags(tags, at("2026-11-04T00:00:00Z")), (std::vector<Tag>{{"team", "growth"}}));
}

TEST(CostAllocationTags, UpdatesKnownKeysReportsUnknownOnesAndKeepsTheTimeline) {
  auto tags = CostAllocationTags::open(":memory:");
  const TimePoint t0 = at("2026-11-03T10:15:00Z");
  ASSERT_TRUE(tags->note_keys({"team", "env"}, t0).ok());
  ASSERT_TRUE(tags->note_keys({"team"}, t0 + 1h).ok());  // known: unchanged
  auto errors = tags->update({{"team", true}, {"ghost", true}}, t0 + 2h);
  ASSERT_TRUE(errors.ok());
  ASSERT_EQ(errors->size(), 1u);
  EXPECT_EQ((*errors)[0].key, "ghost");
  EXPECT_EQ((*errors)[0].code, "TagKeysNotFoundException");
  ASSERT_TRUE(tags->update({{"team", true}}, t0 + 3h).ok());  // already active: no change
  auto keys = tags->keys();
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].key, "env");
  EXPECT_FALSE((*keys)[0].active);
  EXPECT_FALSE((*keys)[0].last_updated.has_value());
  EXPECT_EQ((*keys)[1].key, "team");
  EXPECT_TRUE((*keys)[1].active);
  EXPECT_EQ((*keys)[1].last_updated, t0 + 2h);
  auto timeline = tags->timeline();
  ASSERT_TRUE(timeline.ok());
  EXPECT_FALSE(timeline->active("team", t0 + 2h - 1ms));
  EXPECT_TRUE(timeline->active("team", t0 + 3h));

  EXPECT_EQ(tags->update({}, t0).error().code(), ErrorCode::Validation);
  EXPECT_EQ(tags->update({{"team", false}, {"team", true}}, t0).error().code(), ErrorCode::Validation);
  std::vector<StatusUpdate> too_many(21, StatusUpdate{"k", true});
  EXPECT_EQ(tags->update(too_many, t0).error().code(), ErrorCode::Validation);
}

TEST(CostAllocationTags, BackfillReappliesCurrentStatusesWithAwsLimits) {
  auto tags = CostAllocationTags::open(":memory:");
  const TimePoint now = at("2026-11-20T12:00:00Z");
  ASSERT_TRUE(tags->note_keys({"team"}, at("2026-09-01T00:00:00Z")).ok());
  ASSERT_TRUE(tags->update({{"team", true}}, now - 1h).ok());
  EXPECT_EQ(tags->start_backfill(at("2026-10-02T00:00:00Z"), now).error().code(), ErrorCode::Validation);
  EXPECT_EQ(tags->start_backfill(at("2025-10-01T00:00:00Z"), now).error().code(), ErrorCode::Validation);
  EXPECT_EQ(tags->start_backfill(at("2026-12-01T00:00:00Z"), now).error().code(), ErrorCode::Validation);
  auto request = tags->start_backfill(at("2026-10-01T00:00:00Z"), now);
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->status, "SUCCEEDED");
  EXPECT_EQ(request->completed_at, now);
  auto timeline = tags->timeline();
  ASSERT_TRUE(timeline.ok());
  EXPECT_FALSE(timeline->active("team", at("2026-09-30T23:59:59Z")));
  EXPECT_TRUE(timeline->active("team", at("2026-10-01T00:00:00Z")));
  EXPECT_TRUE(timeline->split_hours().empty());
  // One per 24 hours.
  EXPECT_EQ(tags->start_backfill(at("2026-11-01T00:00:00Z"), now + 23h).error().code(),
            ErrorCode::BackfillLimitExceeded);
  ASSERT_TRUE(tags->start_backfill(at("2025-11-01T00:00:00Z"), now + 24h).ok());  // 12 months back: allowed
  auto history = tags->backfills();
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].backfill_from, at("2025-11-01T00:00:00Z"));
}

TEST(CostAllocationTags, AMissingFileOpensReadOnlyAsEmpty) {
  auto tags = CostAllocationTags::open("/nonexistent/billing.db", true);
  EXPECT_TRUE(tags->keys()->empty());
  EXPECT_TRUE(tags->timeline().ok());
  EXPECT_FALSE(tags->note_keys({"team"}, TimePoint{}).ok());
}

// ---- the engine over a real ledger ----

class CostQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger::sqlite::SqliteLedgerOptions options;
    options.path = ":memory:";
    ledger_ = std::make_unique<ledger::sqlite::SqliteLedger>(options);
  }

  void add(std::string id, std::string_view start, std::vector<Tag> tags, int64_t input_tokens, int64_t cost,
           std::string region = "us-east-1", std::string operation = "Converse") {
    UsageRecord r;
    r.request_id = std::move(id);
    r.start_time = r.end_time = at(start);
    r.account_id = "123456789012";
    r.principal = principal_;
    r.operation = std::move(operation);
    r.profile_arn =
        "arn:aws:bedrock:" + region + ":123456789012:application-inference-profile/p" + std::to_string(tags.size());
    r.resource_arn = r.profile_arn;
    r.model_id = "anthropic.claude-3-haiku-20240307-v1:0";
    r.billing_region = r.served_region = std::move(region);
    r.tokens = {input_tokens, 1, 0, 0};
    r.costs = {cost, 1, 0, 0};
    r.tags = std::move(tags);
    std::promise<Status> done;
    ledger_->append(r, [&](const Status& s) { done.set_value(s); });
    ASSERT_TRUE(done.get_future().get().ok());
  }

  Result<std::vector<CostPeriod>> run(const CostQuery& query, ActivationTimeline timeline = {}) {
    FactSource source(*ledger_, catalog_, std::move(timeline));
    return run_cost_query(source, query);
  }

  catalog::Catalog catalog_ = catalog::Catalog::embedded();
  std::unique_ptr<ledger::sqlite::SqliteLedger> ledger_;
  std::string principal_ = "arn:aws:iam::123456789012:user/test";  // the caller of the records add() writes
};

TEST_F(CostQueryTest, UsageBeforeActivationIsUnderTheEmptyValueEvenWithinTheSameHour) {
  add("a", "2026-11-03T10:05:00Z", {{"team", "growth"}}, 100, 1000);
  add("b", "2026-11-03T10:20:00Z", {{"team", "growth"}}, 200, 2000);
  add("c", "2026-11-03T11:00:00Z", {{"team", "growth"}}, 400, 4000);
  add("d", "2026-11-03T11:30:00Z", {}, 800, 8000);
  ActivationTimeline timeline({{"team", {{at("2026-11-03T10:15:00Z"), true}}}});
  CostQuery q;
  q.start = at("2026-11-03T00:00:00Z");
  q.end = at("2026-11-04T00:00:00Z");
  q.granularity = Granularity::Daily;
  q.group_by = {GroupKey{true, Dimension::Service, "team"}};
  auto periods = run(q, timeline);
  ASSERT_TRUE(periods.ok()) << periods.error().message();
  ASSERT_EQ(periods->size(), 1u);
  const auto& p = (*periods)[0];
  // Each record also has one output token costing 1 nano-USD.
  EXPECT_EQ(p.total.cost_nano_usd, 15000 + 4);
  EXPECT_EQ(p.total.usage_quantity, 1500 + 4);
  ASSERT_EQ(p.groups.size(), 2u);
  EXPECT_EQ(p.groups[0].keys, std::vector<std::string>{"team$"});
  EXPECT_EQ(p.groups[0].amounts.cost_nano_usd, 1000 + 8000 + 2);
  EXPECT_EQ(p.groups[1].keys, std::vector<std::string>{"team$growth"});
  EXPECT_EQ(p.groups[1].amounts.cost_nano_usd, 2000 + 4000 + 2);
}

TEST_F(CostQueryTest, FiltersAndTwoGroupsAndHourlyPeriods) {
  add("a", "2026-11-03T10:05:00Z", {{"team", "growth"}}, 100, 1000, "us-east-1", "Converse");
  add("b", "2026-11-03T10:20:00Z", {{"team", "Search"}}, 200, 2000, "us-west-2", "ConverseStream");
  add("c", "2026-11-03T12:00:00Z", {{"team", "growth"}}, 400, 4000, "us-west-2", "Converse");
  ActivationTimeline timeline({{"team", {{at("2026-01-01T00:00:00Z"), true}}}});
  CostQuery q;
  q.start = at("2026-11-03T10:00:00Z");
  q.end = at("2026-11-03T13:00:00Z");
  q.granularity = Granularity::Hourly;
  q.group_by = {GroupKey{false, Dimension::Region, ""}, GroupKey{true, Dimension::Service, "team"}};
  Expression input;  // only the input tokens' usage type
  input.kind = Expression::Kind::Dimension;
  input.dimension = Dimension::UsageType;
  input.match = {MatchMode::EndsWith, false, {"-input-tokens"}};
  Expression search;
  search.kind = Expression::Kind::Tag;
  search.tag_key = "team";
  search.match = {MatchMode::Equals, true, {"search"}};
  Expression not_search;
  not_search.kind = Expression::Kind::Not;
  not_search.operands = {search};
  Expression both;
  both.kind = Expression::Kind::And;
  both.operands = {input, not_search};
  q.filter = both;
  auto periods = run(q, timeline);
  ASSERT_TRUE(periods.ok());
  ASSERT_EQ(periods->size(), 3u);
  EXPECT_EQ((*periods)[0].start, at("2026-11-03T10:00:00Z"));
  EXPECT_EQ((*periods)[0].total.cost_nano_usd, 1000);
  ASSERT_EQ((*periods)[0].groups.size(), 1u);
  EXPECT_EQ((*periods)[0].groups[0].keys, (std::vector<std::string>{"us-east-1", "team$growth"}));
  EXPECT_TRUE((*periods)[1].groups.empty());
  EXPECT_EQ((*periods)[2].groups[0].keys, (std::vector<std::string>{"us-west-2", "team$growth"}));
  EXPECT_EQ((*periods)[2].groups[0].amounts.usage_quantity, 400);

  // Absent: the usage without the key (here none); OPERATION is the billing operation.
  Expression absent;
  absent.kind = Expression::Kind::Tag;
  absent.tag_key = "team";
  absent.match.mode = MatchMode::Absent;
  q.filter = absent;
  EXPECT_EQ(run(q, timeline)->at(0).total.cost_nano_usd, 0);
  Expression streaming;
  streaming.kind = Expression::Kind::Dimension;
  streaming.dimension = Dimension::Operation;
  streaming.match.values = {"InvokeModelStreamingInference"};
  q.filter = streaming;
  q.group_by.clear();
  EXPECT_EQ(run(q, timeline)->at(0).total.cost_nano_usd, 2001);
}

// ---- principal attribution: the IAM_PRINCIPAL dimension ----

constexpr char kAlice[] = "arn:aws:iam::123456789012:user/alice";
constexpr char kBob[] = "arn:aws:iam::123456789012:user/bob";

Expression principal_is(MatchMode mode, bool case_insensitive, std::vector<std::string> values) {
  Expression e;
  e.kind = Expression::Kind::Dimension;
  e.dimension = Dimension::IamPrincipal;
  e.match = {mode, case_insensitive, std::move(values)};
  return e;
}

TEST(Dimensions, IamPrincipalIsTollgatesExtension) {
  EXPECT_EQ(parse_dimension("IAM_PRINCIPAL"), Dimension::IamPrincipal);
  EXPECT_EQ(to_string(Dimension::IamPrincipal), "IAM_PRINCIPAL");
  EXPECT_TRUE(is_extension(Dimension::IamPrincipal));
  EXPECT_FALSE(is_extension(Dimension::ResourceId));
  EXPECT_NE(dimension_names().find("IAM_PRINCIPAL"), std::string::npos);
}

TEST_F(CostQueryTest, GroupsAndFiltersByThePrincipalOfEachRecordTaggedOrNot) {
  // Two callers through one profile in one hour, and an untagged call of bob's.
  principal_ = kAlice;
  add("a1", "2026-11-03T10:05:00Z", {{"team", "growth"}}, 100, 1000);
  add("a2", "2026-11-03T10:10:00Z", {{"team", "growth"}}, 100, 3000);
  principal_ = kBob;
  add("b1", "2026-11-03T10:20:00Z", {{"team", "growth"}}, 200, 2000);
  add("b2", "2026-11-04T08:00:00Z", {}, 400, 4000);
  ActivationTimeline timeline({{"team", {{at("2026-01-01T00:00:00Z"), true}}}});
  CostQuery q;
  q.start = at("2026-11-01T00:00:00Z");
  q.end = at("2026-12-01T00:00:00Z");
  q.group_by = {GroupKey{false, Dimension::IamPrincipal, ""}};
  auto periods = run(q, timeline);
  ASSERT_TRUE(periods.ok()) << periods.error().message();
  const auto& groups = periods->at(0).groups;
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].keys, std::vector<std::string>{kAlice});
  EXPECT_EQ(groups[0].amounts.cost_nano_usd, 1000 + 3000 + 2);  // + one output token of 1 nano-USD per record
  EXPECT_EQ(groups[1].keys, std::vector<std::string>{kBob});
  EXPECT_EQ(groups[1].amounts.cost_nano_usd, 2000 + 4000 + 2);
  EXPECT_EQ(groups[1].amounts.usage_quantity, 600 + 2);

  // With a tag: bob's untagged usage is still his.
  q.group_by = {GroupKey{false, Dimension::IamPrincipal, ""}, GroupKey{true, Dimension::Service, "team"}};
  periods = run(q, timeline);
  ASSERT_TRUE(periods.ok());
  std::map<std::vector<std::string>, int64_t> by_keys;
  for (const auto& g : periods->at(0).groups) by_keys[g.keys] = g.amounts.cost_nano_usd;
  EXPECT_EQ(by_keys, (std::map<std::vector<std::string>, int64_t>{
                         {{kAlice, "team$growth"}, 4002}, {{kBob, "team$"}, 4001}, {{kBob, "team$growth"}, 2001}}));

  // Filters: one principal's cost only, by any match option.
  q.group_by.clear();
  for (const auto& [filter, expected] : std::vector<std::pair<Expression, int64_t>>{
           {principal_is(MatchMode::Equals, false, {kAlice}), 4002},
           {principal_is(MatchMode::Equals, false, {kAlice, kBob}), 10004},
           {principal_is(MatchMode::EndsWith, false, {"user/bob"}), 6002},
           {principal_is(MatchMode::EndsWith, true, {"USER/BOB"}), 6002},
           {principal_is(MatchMode::StartsWith, false, {"arn:aws:iam::123456789012:user/"}), 10004},
           {principal_is(MatchMode::Contains, false, {"alice"}), 4002},
           {principal_is(MatchMode::Equals, false, {"arn:aws:iam::123456789012:user/carol"}), 0},
       }) {
    q.filter = filter;
    auto filtered = run(q, timeline);
    ASSERT_TRUE(filtered.ok());
    EXPECT_EQ(filtered->at(0).total.cost_nano_usd, expected) << filter.match.values.front();
  }
}

TEST_F(CostQueryTest, AnHourSplitByAnActivationKeepsEachRecordsPrincipal) {
  principal_ = kAlice;
  add("a", "2026-11-03T10:05:00Z", {{"team", "growth"}}, 100, 1000);
  principal_ = kBob;
  add("b", "2026-11-03T10:40:00Z", {{"team", "growth"}}, 100, 3000);
  // Activated inside the hour: the hour is read from the records.
  ActivationTimeline timeline({{"team", {{at("2026-11-03T10:30:00Z"), true}}}});
  CostQuery q;
  q.start = at("2026-11-03T00:00:00Z");
  q.end = at("2026-11-04T00:00:00Z");
  q.group_by = {GroupKey{false, Dimension::IamPrincipal, ""}, GroupKey{true, Dimension::Service, "team"}};
  auto periods = run(q, timeline);
  ASSERT_TRUE(periods.ok());
  const auto& groups = periods->at(0).groups;
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].keys, (std::vector<std::string>{kAlice, "team$"}));
  EXPECT_EQ(groups[0].amounts.cost_nano_usd, 1001);
  EXPECT_EQ(groups[1].keys, (std::vector<std::string>{kBob, "team$growth"}));
  EXPECT_EQ(groups[1].amounts.cost_nano_usd, 3001);
}

// ---- credits ----

CreditGrant grant(std::string id, int64_t amount, std::string_view start, std::string_view expiry,
                  std::vector<std::string> services = {}, std::string_view granted = "2026-10-01T00:00:00Z") {
  return CreditGrant{std::move(id), "123456789012",      "",         amount, at(start),
                     at(expiry),    std::move(services), at(granted)};
}

TEST(Credits, GrantsAreCheckedStoredAndRevoked) {
  auto store = CreditStore::open(":memory:");
  EXPECT_EQ(store->grant(grant("bad id", 1, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")).error().code(),
            ErrorCode::InvalidParameter);
  EXPECT_EQ(store->grant(grant("zero", 0, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")).error().code(),
            ErrorCode::InvalidParameter);
  EXPECT_EQ(store->grant(grant("backwards", 5, "2026-12-01T00:00:00Z", "2026-11-01T00:00:00Z")).error().code(),
            ErrorCode::InvalidParameter);
  ASSERT_TRUE(store->grant(grant("promo", 5, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", {"Amazon Bedrock"})).ok());
  EXPECT_EQ(store->grant(grant("promo", 7, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")).error().code(),
            ErrorCode::DuplicateRecord);
  ASSERT_TRUE(store->grant(grant("promo", 7, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"), true).ok());
  auto grants = store->grants();
  ASSERT_TRUE(grants.ok());
  ASSERT_EQ(grants->size(), 1u);
  EXPECT_EQ((*grants)[0].amount_nano_usd, 7);
  EXPECT_TRUE((*grants)[0].services.empty());
  EXPECT_EQ(store->revoke("ghost").error().code(), ErrorCode::NotFound);
  ASSERT_TRUE(store->revoke("promo").ok());
  EXPECT_TRUE(store->grants()->empty());
  EXPECT_TRUE(CreditStore::open("/nonexistent/billing.db", true)->grants()->empty());
}

TEST_F(CostQueryTest, CreditsApplySoonestExpiryFirstToTheLargestChargeAndCarryTheirBalances) {
  add("early", "2026-11-02T10:00:00Z", {}, 100, 600);  // + 1 nano-USD of output each
  add("small", "2026-11-03T10:00:00Z", {{"team", "a"}}, 100, 300);
  add("large", "2026-11-03T10:30:00Z", {{"team", "b"}}, 100, 900);
  std::vector<CreditGrant> grants = {
      grant("late-expiry", 10'000, "2026-11-01T00:00:00Z", "2027-01-01T00:00:00Z"),
      // Expires first: applies first, to the largest charge first.
      grant("soon", 1000, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", {"Amazon Bedrock"}),
      // Same expiry as "soon" but eligible for every service: after it.
      grant("broad", 50, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"),
      grant("other-service", 10'000, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", {"Amazon EC2"}),
      grant("not-yet", 10'000, "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"),
  };
  FactSource source(*ledger_, catalog_, ActivationTimeline{});
  source.set_credits(grants);
  // Only November 3rd is reported, but "soon" already paid 601 of its 1000 on the 2nd.
  std::map<std::pair<std::string, std::string>, int64_t> credited;  // (grant, usage type) -> amount
  int64_t usage = 0;
  ASSERT_TRUE(source
                  .scan(at("2026-11-03T00:00:00Z"), at("2026-11-04T00:00:00Z"), std::nullopt,
                        [&](const Fact& f) {
                          if (f.credit) {
                            credited[{f.credit->id, f.usage_type()}] -= f.cost_nano_usd;
                          } else {
                            usage += f.cost_nano_usd;
                          }
                        })
                  .ok());
  EXPECT_EQ(usage, 1202);
  // "soon" has 399 left: all of it to the largest charge (900), then "broad" 50, then "late-expiry" the rest.
  const std::string input = "USE1-Claude3Haiku-input-tokens", output = "USE1-Claude3Haiku-output-tokens";
  EXPECT_EQ((credited[{"soon", input}]), 399);
  EXPECT_EQ((credited[{"broad", input}]), 50);
  EXPECT_EQ((credited[{"late-expiry", input}]), 900 - 449 + 300);
  EXPECT_EQ((credited[{"late-expiry", output}]), 2);
  EXPECT_EQ(credited.count({"other-service", input}), 0u);
  EXPECT_EQ(credited.count({"not-yet", input}), 0u);

  // The query engine: NetUnblendedCost is the usage less the credits; RECORD_TYPE tells them apart.
  CostQuery q;
  q.start = at("2026-11-01T00:00:00Z");
  q.end = at("2026-12-01T00:00:00Z");
  q.group_by = {GroupKey{false, Dimension::RecordType, ""}};
  auto periods = run_cost_query(source, q);
  ASSERT_TRUE(periods.ok());
  const auto& p = (*periods)[0];
  EXPECT_EQ(p.total.cost_nano_usd, 1803);
  EXPECT_EQ(p.total.net_cost_nano_usd, 0) << "the credits cover everything";
  ASSERT_EQ(p.groups.size(), 2u);
  EXPECT_EQ(p.groups[0].keys, std::vector<std::string>{"Credit"});
  EXPECT_EQ(p.groups[0].amounts.net_cost_nano_usd, -1803);
  EXPECT_EQ(p.groups[0].amounts.cost_nano_usd, 0);
  EXPECT_EQ(p.groups[1].keys, std::vector<std::string>{"Usage"});
  EXPECT_EQ(p.groups[1].amounts.net_cost_nano_usd, 1803);
}

TEST_F(CostQueryTest, CreditsHaveNoPrincipal) {
  principal_ = kAlice;
  add("a", "2026-11-03T10:05:00Z", {}, 100, 1000);
  principal_ = kBob;
  add("b", "2026-11-03T10:20:00Z", {}, 100, 3000);
  std::vector<CreditGrant> grants = {grant("promo", 500, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")};
  FactSource source(*ledger_, catalog_, ActivationTimeline{});
  source.set_credits(grants);
  CostQuery q;
  q.start = at("2026-11-01T00:00:00Z");
  q.end = at("2026-12-01T00:00:00Z");
  q.group_by = {GroupKey{false, Dimension::IamPrincipal, ""}};
  auto periods = run_cost_query(source, q);
  ASSERT_TRUE(periods.ok());
  const auto& groups = periods->at(0).groups;
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].keys, std::vector<std::string>{""});  // the credit
  EXPECT_EQ(groups[0].amounts.cost_nano_usd, 0);
  EXPECT_EQ(groups[0].amounts.net_cost_nano_usd, -500);
  EXPECT_EQ(groups[1].keys, std::vector<std::string>{kAlice});
  EXPECT_EQ(groups[1].amounts.net_cost_nano_usd, 1001);
  EXPECT_EQ(groups[2].keys, std::vector<std::string>{kBob});
  EXPECT_EQ(groups[2].amounts.net_cost_nano_usd, 3001);
  q.group_by.clear();
  q.filter = principal_is(MatchMode::Equals, false, {kBob});
  periods = run_cost_query(source, q);
  ASSERT_TRUE(periods.ok());
  EXPECT_EQ(periods->at(0).total.cost_nano_usd, 3001);
  EXPECT_EQ(periods->at(0).total.net_cost_nano_usd, 3001);
}

TEST(PeriodBoundaries, MonthsAndDaysAreCalendarOnes) {
  auto months = period_boundaries(at("2026-01-15T00:00:00Z"), at("2026-03-02T00:00:00Z"), Granularity::Monthly);
  EXPECT_EQ(months, (std::vector<TimePoint>{at("2026-01-15T00:00:00Z"), at("2026-02-01T00:00:00Z"),
                                            at("2026-03-01T00:00:00Z"), at("2026-03-02T00:00:00Z")}));
  auto days = period_boundaries(at("2026-02-27T00:00:00Z"), at("2026-03-01T00:00:00Z"), Granularity::Daily);
  EXPECT_EQ(days.size(), 3u);
}

}  // namespace
}  // namespace tollgate::costs

namespace tollgate::costs {
namespace {

TEST(Forecast, ExtendsTheTrendWithAWideningInterval) {
  EXPECT_NEAR(normal_quantile_two_sided(80), 1.2816, 1e-3);
  EXPECT_NEAR(normal_quantile_two_sided(95), 1.9600, 1e-3);
  std::vector<double> history;
  for (int d = 0; d < 14; ++d) history.push_back(10 + d + (d % 2 ? 0.5 : -0.5));  // slope 1, noise
  auto f = forecast(history, 0, {{0, 1}, {1, 6}}, 80);
  ASSERT_TRUE(f.ok());
  EXPECT_NEAR(f->periods[0].mean, 24, 0.3);  // day 14 on the line 10 + t
  EXPECT_LT(f->periods[0].lower, f->periods[0].mean);
  EXPECT_GT(f->periods[0].upper, f->periods[0].mean);
  EXPECT_NEAR(f->total.mean, f->periods[0].mean + f->periods[1].mean, 1e-9);
  EXPECT_GT(f->total.upper - f->total.lower, f->periods[0].upper - f->periods[0].lower);
  auto too_short = forecast({1, 2, 3}, 0, {{0, 1}}, 80);
  ASSERT_FALSE(too_short.ok());
  EXPECT_EQ(too_short.error().code(), ErrorCode::DataUnavailable);
}

}  // namespace
}  // namespace tollgate::costs

#include <zlib.h>

#include <filesystem>
#include <set>

#include "costs/export.h"

namespace tollgate::costs {
namespace {

std::vector<std::string> gunzip_lines(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  EXPECT_NE(f, nullptr) << path;
  std::string text;
  char buffer[4096];
  int n;
  while ((n = gzread(f, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<size_t>(n));
  gzclose(f);
  std::vector<std::string> lines;
  for (size_t i = 0; i < text.size();) {
    size_t j = text.find('\n', i);
    lines.push_back(text.substr(i, j - i));
    i = j + 1;
  }
  return lines;
}

// Splits one CSV line (RFC 4180 quoting).
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      out.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

int64_t nano_of(const std::string& usd) {
  if (usd.starts_with('-')) return -nano_of(usd.substr(1));  // a Credit row's amount
  auto dot = usd.find('.');
  std::string fraction = dot == std::string::npos ? "" : usd.substr(dot + 1);
  fraction.resize(9, '0');
  return std::stoll(usd.substr(0, dot)) * 1'000'000'000 + std::stoll(fraction);
}

TEST_F(CostQueryTest, ExportsCurAndFocusRowsThatSumToTheLedger) {
  add("a", "2026-11-03T10:05:00Z", {{"team", "growth"}, {"cost-center", "cc,42"}}, 100, 1000);
  add("b", "2026-11-03T10:20:00Z", {{"team", "growth"}, {"cost-center", "cc,42"}}, 200, 2000);
  add("c", "2026-11-20T23:00:00Z", {}, 400, 4000, "us-west-2", "ConverseStream");
  add("d", "2026-12-01T00:00:00Z", {}, 800, 8000);  // the next period
  ActivationTimeline timeline({{"cost-center", {{at("2026-01-01T00:00:00Z"), true}}}});
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("tollgate-export-" + std::to_string(getpid()))).string();
  for (auto format : {ExportFormat::Cur2, ExportFormat::Focus12}) {
    FactSource source(*ledger_, catalog_, timeline);
    ExportRequest request;
    request.format = format;
    request.month = at("2026-11-01T00:00:00Z");
    request.directory = dir;
    request.rows_per_file = 3;
    std::vector<ExportProgress> progress;
    request.progress = [&](const ExportProgress& p) { progress.push_back(p); };
    auto result = write_export(source, request, at("2026-12-04T00:00:00Z"));
    ASSERT_TRUE(result.ok()) << result.error().message();
    // a and b share their hour's rows; c has two: 2 + 2 rows.
    EXPECT_EQ(result->rows, 4);
    EXPECT_EQ(result->cost_nano_usd, 7003);
    EXPECT_EQ(result->files.size(), 2u);  // three rows per file
    EXPECT_EQ(progress.size(), 2u);
    EXPECT_EQ(progress.back().hours_total, 720u);
    const auto& columns = export_columns(format);
    int64_t cost = 0;
    std::vector<std::string> tags;
    for (const auto& file : result->files) {
      auto lines = gunzip_lines(file);
      EXPECT_EQ(csv_fields(lines[0]).size(), columns.size());
      for (size_t i = 1; i < lines.size(); ++i) {
        auto fields = csv_fields(lines[i]);
        ASSERT_EQ(fields.size(), columns.size()) << lines[i];
        auto column = [&](std::string_view name) {
          return fields[std::find(columns.begin(), columns.end(), name) - columns.begin()];
        };
        cost += nano_of(column(format == ExportFormat::Cur2 ? "line_item_unblended_cost" : "BilledCost"));
        tags.push_back(column(format == ExportFormat::Cur2 ? "resource_tags" : "Tags"));
      }
    }
    EXPECT_EQ(cost, 7003);
    // Only the active key; in CUR under its user_ column name.
    EXPECT_EQ(tags.front(),
              format == ExportFormat::Cur2 ? R"({"user_cost_center":"cc,42"})" : R"({"cost-center":"cc,42"})");
    EXPECT_EQ(tags.back(), "{}");
    EXPECT_TRUE(std::filesystem::exists(result->manifest));
  }
  std::filesystem::remove_all(dir);
}

TEST_F(CostQueryTest, ExportRowsAreSplitPerPrincipalWhoseArnTheyCarry) {
  principal_ = kAlice;
  add("a", "2026-11-03T10:05:00Z", {}, 100, 1000);
  principal_ = kBob;
  add("b", "2026-11-03T10:20:00Z", {}, 100, 3000);
  std::vector<CreditGrant> grants = {grant("promo", 500, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")};
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("tollgate-export-principal-" + std::to_string(getpid()))).string();
  for (auto format : {ExportFormat::Cur2, ExportFormat::Focus12}) {
    FactSource source(*ledger_, catalog_, ActivationTimeline{});
    source.set_credits(grants);
    ExportRequest request;
    request.format = format;
    request.month = at("2026-11-01T00:00:00Z");
    request.directory = dir;
    auto result = write_export(source, request, at("2026-12-04T00:00:00Z"));
    ASSERT_TRUE(result.ok()) << result.error().message();
    const bool cur = format == ExportFormat::Cur2;
    const auto& columns = export_columns(format);
    const std::string_view principal_column = cur ? "line_item_iam_principal" : "x_IamPrincipal";
    ASSERT_NE(std::find(columns.begin(), columns.end(), principal_column), columns.end());
    std::map<std::string, int64_t> cost_by_principal;
    std::set<std::string> ids;
    auto lines = gunzip_lines(result->files.at(0));
    for (size_t i = 1; i < lines.size(); ++i) {
      auto fields = csv_fields(lines[i]);
      ASSERT_EQ(fields.size(), columns.size()) << lines[i];
      auto column = [&](std::string_view name) {
        return fields[std::find(columns.begin(), columns.end(), name) - columns.begin()];
      };
      const std::string type = column(cur ? "line_item_line_item_type" : "ChargeCategory");
      const std::string principal = column(principal_column);
      EXPECT_EQ(type == "Credit", principal.empty()) << lines[i];
      cost_by_principal[principal] += nano_of(column(cur ? "line_item_unblended_cost" : "BilledCost"));
      if (cur) ids.insert(column("identity_line_item_id"));
    }
    // Input and output of each caller, and the credit's rows (no principal, no resource).
    EXPECT_EQ(cost_by_principal, (std::map<std::string, int64_t>{{"", -500}, {kAlice, 1001}, {kBob, 3001}}));
    if (cur) {
      EXPECT_EQ(ids.size(), lines.size() - 1) << "every row has its own id";
    }
  }
  std::filesystem::remove_all(dir);
}

TEST_F(CostQueryTest, ACreditPayingForTwoCallersMakesOneCreditRowNotOnePerHiddenCaller) {
  principal_ = kAlice;
  add("a", "2026-11-03T10:05:00Z", {}, 100, 1000);
  principal_ = kBob;
  add("b", "2026-11-03T10:20:00Z", {}, 100, 3000);
  // Largest charge first: Bob's input (3000), then 500 of Alice's input, in the same hour and resource.
  std::vector<CreditGrant> grants = {grant("promo", 3500, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")};
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("tollgate-export-credit-" + std::to_string(getpid()))).string();
  FactSource source(*ledger_, catalog_, ActivationTimeline{});
  source.set_credits(grants);
  ExportRequest request;
  request.format = ExportFormat::Cur2;
  request.month = at("2026-11-01T00:00:00Z");
  request.directory = dir;
  auto result = write_export(source, request, at("2026-12-04T00:00:00Z"));
  ASSERT_TRUE(result.ok()) << result.error().message();
  const auto& columns = export_columns(ExportFormat::Cur2);
  std::vector<int64_t> credit_rows;
  auto lines = gunzip_lines(result->files.at(0));
  for (size_t i = 1; i < lines.size(); ++i) {
    auto fields = csv_fields(lines[i]);
    ASSERT_EQ(fields.size(), columns.size()) << lines[i];
    auto column = [&](std::string_view name) {
      return fields[std::find(columns.begin(), columns.end(), name) - columns.begin()];
    };
    if (column("line_item_line_item_type") == "Credit")
      credit_rows.push_back(nano_of(column("line_item_unblended_cost")));
  }
  EXPECT_EQ(credit_rows, std::vector<int64_t>{-3500});
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tollgate::costs
