// The bedrock-runtime operations: Converse, ConverseStream, InvokeModel,
// InvokeModelWithResponseStream and CountTokens at /model/{modelId}/…, run as a
// pipeline: resolve the modelId (model, system profile or application profile)
// → authorize it (the caller's access policy and governance.require_application_profiles;
// govern/) → pick the provider for the model and region → invoke → meter the tokens
// into a usage record priced from the price book → commit it to the ledger → only then
// send the response's last byte. With an enforcer, each invocation is admitted
// against the blocking budgets before it reaches the model (worst_case.h). Requests refused before a model (auth,
// access policy, validation, unknown profile) are not recorded. See doc/runtime.md.
#pragma once

#include <cstddef>

#include "api/gateway.h"
#include "budgets/enforcer.h"
#include "core/clock.h"
#include "ledger/ledger.h"
#include "meter/price_book.h"
#include "profiles/profile_service.h"
#include "provider/registry.h"

namespace tollgate::api::runtime {

struct RuntimeDependencies {
  profiles::ProfileService& profiles;
  const provider::ProviderRegistry& providers;
  const meter::PriceBook& prices;
  ledger::Ledger& ledger;
  const Clock& clock;
  size_t body_limit;
  tollgate::budgets::Enforcer* enforcer = nullptr;  // none: no budget blocks
  // governance.require_application_profiles: refuse calls naming a bare model or a system-defined profile
  // unless the caller's policy allows that resource explicitly (doc/governance.md).
  bool require_application_profiles = false;
};

// Response headers that carry the request's cost (streams: as trailers).
inline constexpr char kCostHeader[] = "x-tollgate-cost-usd";
inline constexpr char kPriceMissingHeader[] = "x-tollgate-price-missing";

void register_runtime(Gateway& gateway, const RuntimeDependencies& deps);

}  // namespace tollgate::api::runtime
