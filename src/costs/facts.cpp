#include "costs/facts.h"

#include <algorithm>
#include <limits>

#include "costs/usage_type.h"
#include "ledger/tag_set.h"

namespace tollgate::costs {
namespace {

constexpr auto kHour = std::chrono::hours(1);

TimePoint from_ms(int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

}  // namespace

FactSource::FactSource(ledger::Ledger& ledger, const catalog::Catalog& catalog, ActivationTimeline timeline)
    : ledger_(ledger), catalog_(catalog), timeline_(std::move(timeline)) {}

const FactDims* FactSource::dims_of(std::string_view account, std::string_view profile_arn, std::string_view model,
                                    std::string_view region, std::string_view operation, std::string_view principal) {
  DimsKey key{std::string(account), std::string(profile_arn), std::string(model),
              std::string(region),  std::string(operation),   std::string(principal)};
  auto it = dims_.find(key);
  if (it != dims_.end()) return it->second.get();
  auto dims = std::make_unique<FactDims>();
  dims->account_id = account;
  dims->profile_arn = profile_arn;
  dims->model_id = model;
  const catalog::FoundationModel* known = catalog_.find_model(model);
  dims->model_name = known ? known->model_name : std::string(model);
  dims->model_provider = known ? known->provider_name : std::string();
  dims->billing_region = region;
  dims->operation = operation;
  dims->principal = principal;
  dims->resource_id = profile_arn.empty() ? foundation_model_resource(region, model) : std::string(profile_arn);
  dims->billing_operation = billing_operation(operation);
  const std::string family = usage_family(dims->model_name);
  for (auto type : {ledger::TokenType::Input, ledger::TokenType::Output, ledger::TokenType::CacheRead,
                    ledger::TokenType::CacheWrite}) {
    dims->usage_types[static_cast<size_t>(type)] = usage_type(region, family, type);
  }
  return dims_.emplace(std::move(key), std::move(dims)).first->second.get();
}

// A credit pays for usage, not for a caller: its line items carry no principal, so a grant that pays for
// several callers' usage of one hour and resource makes one Credit row, not one per hidden caller.
const FactDims* FactSource::credit_dims_of(const FactDims& usage) {
  return dims_of(usage.account_id, usage.profile_arn, usage.model_id, usage.billing_region, usage.operation, "");
}

const std::vector<Tag>* FactSource::tags_of(const std::string& canonical, TimePoint at) {
  auto key = std::make_pair(canonical, timeline_.epoch(at));
  auto it = tags_.find(key);
  if (it != tags_.end()) return it->second.get();
  std::vector<Tag> all;
  ledger::parse_tag_set(canonical, all);  // the ledger stores only canonical sets
  auto active = timeline_.active_tags(all, at);
  std::sort(active.begin(), active.end(), [](const Tag& a, const Tag& b) { return a.key < b.key; });
  return tags_.emplace(std::move(key), std::make_unique<std::vector<Tag>>(std::move(active))).first->second.get();
}

void FactSource::record_facts(const ledger::UsageRecord& r, const std::function<void(const Fact&)>& visit) {
  const TimePoint hour = std::chrono::floor<std::chrono::hours>(r.start_time);
  const FactDims* dims = dims_of(r.account_id, r.profile_arn, r.model_id, r.billing_region, r.operation, r.principal);
  const std::vector<Tag>* tags = tags_of(ledger::canonical_tag_set(r.tags), r.start_time);
  const std::array<std::tuple<ledger::TokenType, int64_t, int64_t>, 4> usage = {{
      {ledger::TokenType::Input, r.tokens.input, r.costs.input_nano_usd},
      {ledger::TokenType::Output, r.tokens.output, r.costs.output_nano_usd},
      {ledger::TokenType::CacheRead, r.tokens.cache_read, r.costs.cache_read_nano_usd},
      {ledger::TokenType::CacheWrite, r.tokens.cache_write, r.costs.cache_write_nano_usd},
  }};
  for (const auto& [type, tokens, cost] : usage) {
    if (tokens <= 0 && cost <= 0) continue;  // the rollup rule (doc/ledger.md)
    visit(Fact{hour, dims, tags, type, tokens, cost});
  }
}

Result<std::vector<Fact>> FactSource::split_hour_facts(TimePoint hour, const std::optional<std::string>& account) {
  ledger::UsageQuery query;
  query.since = hour;
  query.until = hour + kHour;
  query.account_id = account;
  query.limit = std::numeric_limits<size_t>::max();
  auto records = ledger_.query(query);
  if (!records.ok()) return std::move(records).error();
  std::vector<Fact> out;
  for (const auto& r : *records) record_facts(r, [&](const Fact& fact) { out.push_back(fact); });
  return out;
}

Status FactSource::scan(TimePoint since, TimePoint until, const std::optional<std::string>& account,
                        const std::function<void(const Fact&)>& visit) {
  CreditAllocator allocator(credits_);
  const std::optional<TimePoint> credits_from = allocator.earliest_start(account);
  if (!credits_from || *credits_from >= until) return scan_usage(since, until, account, visit);
  // Hour by hour: the usage, then what the credits paid for it; before `since` only to carry the balances.
  std::vector<Fact> hour;
  auto flush = [&] {
    if (hour.empty()) return;
    const bool shown = hour.front().hour >= since;
    std::vector<Fact> credited;
    allocator.apply(hour, [&](const Fact& usage, const CreditGrant& grant, int64_t amount) {
      if (shown) {
        credited.push_back(
            Fact{usage.hour, credit_dims_of(*usage.dims), usage.tags, usage.token_type, 0, -amount, &grant});
      }
    });
    if (shown) {
      for (const Fact& f : hour) visit(f);
      for (const Fact& f : credited) visit(f);
    }
    hour.clear();
  };
  const TimePoint from = std::min<TimePoint>(since, std::chrono::floor<std::chrono::hours>(*credits_from));
  TOLLGATE_TRY(scan_usage(from, until, account, [&](const Fact& fact) {
    if (!hour.empty() && hour.front().hour != fact.hour) flush();
    hour.push_back(fact);
  }));
  flush();
  return {};
}

Status FactSource::scan_usage(TimePoint since, TimePoint until, const std::optional<std::string>& account,
                              const std::function<void(const Fact&)>& visit) {
  // The split hours' facts are read first: the ledger's reading connection is busy during the scan.
  std::vector<std::pair<TimePoint, std::vector<Fact>>> split;
  for (auto it = timeline_.split_hours().lower_bound(since); it != timeline_.split_hours().end() && *it < until; ++it) {
    auto facts = split_hour_facts(*it, account);
    if (!facts.ok()) return std::move(facts).error();
    split.emplace_back(*it, std::move(facts).value());
  }
  size_t next_split = 0;
  auto flush_split_before = [&](TimePoint hour) {
    for (; next_split < split.size() && split[next_split].first < hour; ++next_split) {
      for (const Fact& f : split[next_split].second) visit(f);
    }
  };
  ledger::RollupQuery query;
  query.since = since;
  query.until = until;
  query.account_id = account;
  TimePoint current_hour{};
  bool current_is_split = false;
  size_t hour_epoch = 0;
  DimsIds last_dims_key{};
  const FactDims* last_dims = nullptr;
  std::pair<int64_t, size_t> last_tags_key{};
  const std::vector<Tag>* last_tags = nullptr;
  auto status = ledger_.for_each_rollup(query, [&](const ledger::RollupRowView& row) {
    TimePoint hour = from_ms(row.hour_ms);
    if (hour != current_hour) {
      flush_split_before(hour);
      current_hour = hour;
      current_is_split = timeline_.split_hours().count(hour) > 0;
      hour_epoch = timeline_.epoch(hour);
    }
    if (current_is_split) return;  // read from the records instead
    // Consecutive rows mostly share their dimensions: look up only what changed.
    const DimsIds key{row.account_key,        row.profile_arn_key, row.model_key,
                      row.billing_region_key, row.operation_key,   row.principal_key};
    if (key != last_dims_key || !last_dims) {
      auto found = dims_by_keys_.find(key);
      if (found == dims_by_keys_.end()) {
        const FactDims* dims =
            dims_of(row.account_id, row.profile_arn, row.model_id, row.billing_region, row.operation, row.principal);
        found = dims_by_keys_.emplace(key, dims).first;
      }
      last_dims_key = key;
      last_dims = found->second;
    }
    auto tags_key = std::make_pair(row.tag_set_key, hour_epoch);
    if (tags_key != last_tags_key || !last_tags) {
      auto found = tags_by_key_.find(tags_key);
      if (found == tags_by_key_.end()) {
        found = tags_by_key_.emplace(tags_key, tags_of(std::string(row.tag_set), hour)).first;
      }
      last_tags_key = tags_key;
      last_tags = found->second;
    }
    visit(Fact{hour, last_dims, last_tags, row.usage_type, row.tokens, row.cost_nano_usd});
  });
  TOLLGATE_TRY(status);
  flush_split_before(TimePoint::max());
  return {};
}

}  // namespace tollgate::costs
