// Feeds arbitrary bytes to the Budgets operations as their JSON request bodies: budgets (limits, time
// units and periods, CostFilters, FilterExpression), notifications, subscribers and resource tags (blocking
// budgets, admitted against), over an in-memory
// budget store and ledger. Input layout: "<Operation>\n" then the body (a first line that names no operation
// sends the whole input to CreateBudget).
#include <cstddef>
#include <cstdint>
#include <future>
#include <string>
#include <string_view>

#include "api/budgets/budgets_api.h"
#include "api/json_body.h"
#include "ledger/sqlite/sqlite_ledger.h"

namespace {

tollgate::ledger::UsageRecord haiku_call(std::string request_id, tollgate::ledger::TokenCounts tokens,
                                         tollgate::ledger::TokenCosts costs) {
  tollgate::ledger::UsageRecord r;
  r.request_id = std::move(request_id);
  r.account_id = "123456789012";
  r.operation = "Converse";
  r.model_id = "anthropic.claude-3-haiku-20240307-v1:0";
  r.billing_region = r.served_region = "us-east-1";
  r.tokens = tokens;
  r.costs = costs;
  return r;
}

struct Fixture {
  Fixture()
      : catalog(tollgate::catalog::Catalog::embedded()),
        ledger(tollgate::ledger::sqlite::SqliteLedgerOptions{":memory:"}),
        tags(tollgate::costs::CostAllocationTags::open(":memory:")),
        store(tollgate::budgets::BudgetStore::open(":memory:")),
        clock(std::chrono::sys_days{std::chrono::year(2026) / 11 / 20}),
        enforcer(ledger, catalog, *tags, clock),
        api(*store, ledger, *tags, catalog, clock, 1 << 20, &enforcer) {
    auto r = haiku_call("fuzz", {100, 20, 0, 0}, {25'000, 25'000, 0, 0});
    r.start_time = r.end_time = clock.now() - std::chrono::hours(30);
    r.tags = {{"team", "growth"}};
    std::promise<void> done;
    ledger.append(r, [&](const tollgate::Status&) { done.set_value(); });
    done.get_future().wait();
  }
  tollgate::catalog::Catalog catalog;
  tollgate::ledger::sqlite::SqliteLedger ledger;
  std::unique_ptr<tollgate::costs::CostAllocationTags> tags;
  std::unique_ptr<tollgate::budgets::BudgetStore> store;
  tollgate::ManualClock clock;
  tollgate::budgets::Enforcer enforcer;
  tollgate::api::budgets::BudgetsApi api;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fixture;
  using Api = tollgate::api::budgets::BudgetsApi;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  std::string_view operation = newline == std::string_view::npos ? "" : input.substr(0, newline);
  std::string_view body = newline == std::string_view::npos ? input : input.substr(newline + 1);
  auto request = tollgate::api::parse_json_object(body);
  if (!request.ok()) return 0;
  Api::Handler handler = &Api::create_budget;
  for (const auto& [name, method] : Api::operations()) {
    if (name == operation) handler = method;
  }
  (void)(fixture.api.*handler)(*request, "123456789012");
  (void)fixture.api.take_alerts();  // the notifier's round over whatever the input left
  // An admission against whatever blocking budgets the input left.
  (void)fixture.enforcer.admit(haiku_call("fuzz-admission", {10, 10, 0, 0}, {2'500, 12'500, 0, 0}));
  return 0;
}
