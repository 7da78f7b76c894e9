// The Cost Explorer API (json-1.1, X-Amz-Target AWSInsightsIndexService.*) over the usage ledger:
// GetCostAndUsage(WithResources), GetDimensionValues, GetTags, GetCostForecast, and the cost-allocation tag
// operations (ListCostAllocationTags, UpdateCostAllocationTagsStatus, StartCostAllocationTagBackfill,
// ListCostAllocationTagBackfillHistory). Answers are computed from the ledger when asked: usage counts the
// moment its call has finished. Request and response shapes are the ce service model's; doc/costs.md says
// what each field does here.
//
// Thread-safety: the operations may run concurrently (each builds its own FactSource).
#pragma once

#include <boost/json/object.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "api/gateway.h"
#include "catalog/catalog.h"
#include "core/clock.h"
#include "costs/cost_allocation_tags.h"
#include "costs/credits.h"
#include "costs/facts.h"
#include "ledger/ledger.h"

namespace tollgate::api::ce {

struct CostExplorerOptions {
  size_t page_size = 500;  // groups per GetCostAndUsage page
  size_t body_limit = 256 * 1024;
};

class CostExplorer {
 public:
  // With `credits`, GetCostAndUsage and GetDimensionValues apply them (NetUnblendedCost, RECORD_TYPE Credit).
  CostExplorer(ledger::Ledger& ledger, costs::CostAllocationTags& tags, const catalog::Catalog& catalog,
               const Clock& clock, CostExplorerOptions options = {}, costs::CreditStore* credits = nullptr);

  // Each takes the request's JSON and answers the response's JSON. `account`: only this account's usage
  // (the caller's); nullopt: every account (the CLI).
  Result<boost::json::object> get_cost_and_usage(const boost::json::object& request,
                                                 const std::optional<std::string>& account,
                                                 bool with_resources = false);
  Result<boost::json::object> get_dimension_values(const boost::json::object& request,
                                                   const std::optional<std::string>& account);
  Result<boost::json::object> get_tags(const boost::json::object& request, const std::optional<std::string>& account);
  Result<boost::json::object> get_cost_forecast(const boost::json::object& request,
                                                const std::optional<std::string>& account);
  Result<boost::json::object> list_cost_allocation_tags(const boost::json::object& request);
  Result<boost::json::object> update_cost_allocation_tags_status(const boost::json::object& request);
  Result<boost::json::object> start_cost_allocation_tag_backfill(const boost::json::object& request);
  Result<boost::json::object> list_cost_allocation_tag_backfill_history(const boost::json::object& request);

  void register_operations(Gateway& gateway);

 private:
  // Records the tag keys the ledger's usage carried as known keys; returns each key's last hour of use.
  Result<std::map<std::string, TimePoint>> note_keys_from_usage();
  // A fact source over the ledger with the current tag timeline and, if asked, the credits.
  Result<std::unique_ptr<costs::FactSource>> fact_source(bool with_credits);

  ledger::Ledger& ledger_;
  costs::CostAllocationTags& tags_;
  const catalog::Catalog& catalog_;
  const Clock& clock_;
  CostExplorerOptions options_;
  costs::CreditStore* credits_;
};

}  // namespace tollgate::api::ce
