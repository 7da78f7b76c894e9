// Feeds arbitrary bytes to the Cost Explorer operations as their JSON request bodies: date and enum
// parsing, filter expressions (nested And/Or/Not), group-by, page tokens, the cost-allocation tag
// operations, over a small in-memory ledger. Input layout: "<Operation>\n" then the body (a first line that
// names no operation sends the whole input to GetCostAndUsage).
#include <cstddef>
#include <cstdint>
#include <future>
#include <string>
#include <string_view>

#include "api/ce/cost_explorer.h"
#include "api/json_body.h"
#include "ledger/sqlite/sqlite_ledger.h"

namespace {

using tollgate::TimePoint;

struct Fixture {
  Fixture()
      : catalog(tollgate::catalog::Catalog::embedded()),
        ledger(tollgate::ledger::sqlite::SqliteLedgerOptions{":memory:"}),
        tags(tollgate::costs::CostAllocationTags::open(":memory:")),
        clock(std::chrono::sys_days{std::chrono::year(2026) / 11 / 20}),
        ce(ledger, *tags, catalog, clock, {2, 1 << 20}) {
    for (int i = 0; i < 6; ++i) {
      tollgate::ledger::UsageRecord r;
      r.request_id = "fuzz-" + std::to_string(i);
      r.start_time = r.end_time = clock.now() - std::chrono::hours(13 * i + 1);
      r.account_id = "123456789012";
      r.operation = i % 2 ? "ConverseStream" : "Converse";
      r.profile_arn = i % 3 ? "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/p" : "";
      r.model_id = "anthropic.claude-3-haiku-20240307-v1:0";
      r.billing_region = r.served_region = "us-east-1";
      r.tokens = {100, 20, i, 0};
      r.costs = {25'000, 25'000, i, 0};
      if (i % 2) r.tags = {{"team", "growth"}, {"cost-center", "cc-1"}};
      std::promise<void> done;
      ledger.append(r, [&](const tollgate::Status&) { done.set_value(); });
      done.get_future().wait();
    }
    (void)tags->note_keys({"team", "cost-center"}, clock.now() - std::chrono::hours(200));
    (void)tags->update({{"team", true}}, clock.now() - std::chrono::minutes(90));
  }
  tollgate::catalog::Catalog catalog;
  tollgate::ledger::sqlite::SqliteLedger ledger;
  std::unique_ptr<tollgate::costs::CostAllocationTags> tags;
  tollgate::ManualClock clock;
  tollgate::api::ce::CostExplorer ce;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fixture;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  std::string_view operation = newline == std::string_view::npos ? "" : input.substr(0, newline);
  std::string_view body = newline == std::string_view::npos ? input : input.substr(newline + 1);
  auto& ce = fixture.ce;
  const std::optional<std::string> account = "123456789012";
  auto request = tollgate::api::parse_json_object(body);
  if (!request.ok()) return 0;
  if (operation == "GetCostAndUsageWithResources") {
    (void)ce.get_cost_and_usage(*request, account, true);
  } else if (operation == "GetDimensionValues") {
    (void)ce.get_dimension_values(*request, account);
  } else if (operation == "GetTags") {
    (void)ce.get_tags(*request, account);
  } else if (operation == "GetCostForecast") {
    (void)ce.get_cost_forecast(*request, account);
  } else if (operation == "ListCostAllocationTags") {
    (void)ce.list_cost_allocation_tags(*request);
  } else if (operation == "UpdateCostAllocationTagsStatus") {
    (void)ce.update_cost_allocation_tags_status(*request);
  } else if (operation == "StartCostAllocationTagBackfill") {
    (void)ce.start_cost_allocation_tag_backfill(*request);
  } else if (operation == "ListCostAllocationTagBackfillHistory") {
    (void)ce.list_cost_allocation_tag_backfill_history(*request);
  } else {
    (void)ce.get_cost_and_usage(*request, account, false);
  }
  return 0;
}
