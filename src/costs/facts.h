// The usage facts reports are computed from: per UTC hour, the tokens and cost of one usage type of one
// combination of account, resource, model, Region, operation, principal (the caller) and *active*
// cost-allocation tags.
//
// FactSource reads them from the ledger's hourly rollups, streaming, in hour order. A key activated or
// deactivated inside an hour splits that hour: rollups cannot say which of its usage came before the
// change, so such hours are read from the usage records instead and each record's tags are resolved at its
// own start time. Either way the facts of an hour sum exactly to the ledger's records of that hour.
//
// Thread-safety: one scan at a time per FactSource; the Ledger itself may be shared.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "catalog/catalog.h"
#include "core/result.h"
#include "costs/cost_allocation_tags.h"
#include "costs/credits.h"
#include "ledger/ledger.h"

namespace tollgate::costs {

// One distinct combination of a fact's texts, with everything derived from them computed once.
struct FactDims {
  std::string account_id;
  std::string profile_arn;  // empty for a bare model call
  std::string model_id;
  std::string model_name;      // from the catalog; the id when the catalog does not know the model
  std::string model_provider;  // "Anthropic", ...; empty when the catalog does not know the model
  std::string billing_region;
  std::string operation;                   // the runtime API operation: Converse, ConverseStream, InvokeModel, ...
  std::string principal;                   // the caller's IAM ARN, as the usage record has it
  std::string resource_id;                 // the profile ARN, or the foundation model's ARN for a bare model call
  std::string_view billing_operation;      // InvokeModelInference | InvokeModelStreamingInference
  std::array<std::string, 4> usage_types;  // per ledger::TokenType
};

struct Fact {
  TimePoint hour;
  const FactDims* dims;
  const std::vector<Tag>* tags;  // the active cost-allocation tags of the usage, sorted by key
  ledger::TokenType token_type;
  int64_t tokens;
  int64_t cost_nano_usd;
  // A Credit line item: what `credit` paid for the usage of the same hour, dims, tags and token type
  // (cost negative, no tokens). Null for usage.
  const CreditGrant* credit = nullptr;

  const std::string& usage_type() const { return dims->usage_types[static_cast<size_t>(token_type)]; }
};

// What a fact's answer depends on besides its hour and amounts: equal keys group together in every report.
struct FactKey {
  const FactDims* dims;
  const std::vector<Tag>* tags;
  ledger::TokenType token_type;
  const CreditGrant* credit;
  bool operator==(const FactKey&) const = default;
};
struct FactKeyHash {
  size_t operator()(const FactKey& k) const {
    return ((std::hash<const void*>()(k.dims) * 31 + std::hash<const void*>()(k.tags)) * 31 +
            static_cast<size_t>(k.token_type)) *
               31 +
           std::hash<const void*>()(k.credit);
  }
};
inline FactKey key_of(const Fact& fact) { return FactKey{fact.dims, fact.tags, fact.token_type, fact.credit}; }

class FactSource {
 public:
  FactSource(ledger::Ledger& ledger, const catalog::Catalog& catalog, ActivationTimeline timeline);

  // Calls `visit` for each fact of the hours in [since, until) (of `account`, if given), in hour order;
  // with credits, each hour's usage is followed by its Credit facts (credits.h), the balances carried from
  // each grant's start (so the scan reads from there). The pointers in a Fact stay valid as long as this
  // FactSource.
  Status scan(TimePoint since, TimePoint until, const std::optional<std::string>& account,
              const std::function<void(const Fact&)>& visit);
  // The grants whose Credit facts scans report (none by default).
  void set_credits(std::vector<CreditGrant> grants) { credits_ = std::move(grants); }

  // Calls `visit` for each fact of one usage record (its hour is the record's start hour): what the record
  // adds to a scan of its hour once committed.
  void record_facts(const ledger::UsageRecord& record, const std::function<void(const Fact&)>& visit);

  const ActivationTimeline& timeline() const { return timeline_; }

 private:
  using DimsKey = std::tuple<std::string, std::string, std::string, std::string, std::string, std::string>;
  using DimsIds = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;  // the ledger's ids of a DimsKey
  const FactDims* credit_dims_of(const FactDims& usage);
  const FactDims* dims_of(std::string_view account, std::string_view profile_arn, std::string_view model,
                          std::string_view region, std::string_view operation, std::string_view principal);
  const std::vector<Tag>* tags_of(const std::string& canonical, TimePoint at);
  Result<std::vector<Fact>> split_hour_facts(TimePoint hour, const std::optional<std::string>& account);
  Status scan_usage(TimePoint since, TimePoint until, const std::optional<std::string>& account,
                    const std::function<void(const Fact&)>& visit);

  ledger::Ledger& ledger_;
  const catalog::Catalog& catalog_;
  ActivationTimeline timeline_;
  std::vector<CreditGrant> credits_;
  std::map<DimsKey, std::unique_ptr<FactDims>> dims_;
  std::map<DimsIds, const FactDims*> dims_by_keys_;
  std::map<std::pair<std::string, size_t>, std::unique_ptr<std::vector<Tag>>> tags_;  // (tag set, epoch)
  std::map<std::pair<int64_t, size_t>, const std::vector<Tag>*> tags_by_key_;         // (ledger tag-set key, epoch)
};

}  // namespace tollgate::costs
