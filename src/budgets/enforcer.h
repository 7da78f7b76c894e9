// Budgets that block. Admission control guarantees that a blocking budget's actual spend never exceeds its
// limit, however many requests race: each request, before it reaches a model, reserves its worst-case cost
// against every blocking budget whose filter it matches, and is refused when a reservation does not fit;
// when its usage commits, the reservation is replaced by the real cost. doc/budgets.md, "Budgets that
// block", is the user-facing description.
//
//  * Per budget: spent (the matching cost of committed usage in the current period) and reserved (the
//    worst cases of admitted requests not yet settled). A request fits when spent + reserved + its worst
//    case ≤ limit. When even spent + its worst case exceeds the limit, the budget refuses it with its mode's
//    error (Block: AccessDeniedException, Throttle: ThrottlingException) until the period resets or the
//    budget changes; when only the reservations of requests in flight stand in the way, the refusal is a
//    ThrottlingException whatever the mode (a retry may fit once they settle).
//  * Periods reset on UTC calendar boundaries (budget_period.h).
//  * Exactness: every request is admitted here (with or without a worst case) and settled after its usage
//    record has committed, so the enforcer knows which requests are in flight. Installing a budget counts
//    its period's committed usage from the ledger while admissions wait: hours before the oldest request
//    in flight from the rollups, later hours record by record without the requests in flight (their
//    settlement adds them), so nothing is counted twice or missed.
//  * Installing a budget reserves the requests in flight that carry a worst case (those admitted while
//    another blocking budget watched their account); requests admitted with none are not refused or
//    reserved retroactively, and their cost counts when they commit.
//
// Thread-safety: every method may be called from any thread (one mutex).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "budgets/budget_period.h"
#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/result.h"
#include "costs/cost_allocation_tags.h"
#include "costs/cost_query.h"
#include "costs/facts.h"
#include "ledger/ledger.h"

namespace tollgate::budgets {

enum class Enforcement { Block, Throttle };
// The budget resource tag that makes a budget blocking, and its values.
inline constexpr std::string_view kEnforcementTag = "tollgate:enforcement";
std::optional<Enforcement> parse_enforcement(std::string_view text);  // "block" | "throttle"

struct BlockingBudget {
  std::string account_id, name;
  Enforcement mode = Enforcement::Block;
  BudgetLimits limits;
  std::string time_unit;  // as the API spells it ("MONTHLY"), for messages
  PeriodRule period;
  std::optional<costs::Expression> filter;  // none: all of the account's usage
};

class Enforcer;

// One admitted request. Move-only; destroying it without settle() releases its reservations and counts
// nothing (the request left no usage record).
class Admission {
 public:
  Admission() = default;
  Admission(Admission&& other) noexcept;
  Admission& operator=(Admission&& other) noexcept;
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;
  ~Admission();

  // The request's start: its usage record must carry it as start_time.
  TimePoint admitted_at() const { return admitted_at_; }
  // Call once the request's usage record has committed to the ledger.
  void settle(const ledger::UsageRecord& committed);

 private:
  friend class Enforcer;
  Admission(Enforcer* enforcer, uint64_t id, TimePoint admitted_at)
      : enforcer_(enforcer), id_(id), admitted_at_(admitted_at) {}
  Enforcer* enforcer_ = nullptr;
  uint64_t id_ = 0;
  TimePoint admitted_at_;
};

class Enforcer {
 public:
  Enforcer(ledger::Ledger& ledger, const catalog::Catalog& catalog, costs::CostAllocationTags& tags,
           const Clock& clock);
  ~Enforcer();

  // Installs or replaces a blocking budget and counts its current period's spend from the ledger.
  Status install(BlockingBudget budget);
  // The budget no longer blocks (deleted, or no longer tagged).
  void remove(const std::string& account_id, const std::string& name);
  // Re-reads the cost-allocation tags' timeline and recounts every budget (a key's status changed).
  Status refresh_tags();

  // True when the account has a blocking budget in force: only then is a worst case worth estimating.
  bool watches(const std::string& account_id) const;

  // Admits `request`: its account, resource, model, Regions, operation and tags, with the most tokens it
  // may use and their cost. Not `estimated` (the caller saw no budget in force): it is only tracked, or
  // refused with a retryable ThrottlingException if a budget came into force meanwhile. Refused with
  // ThrottlingException or AccessDeniedException naming the budget, its limit and when it resets.
  Result<Admission> admit(ledger::UsageRecord request, bool estimated = true);

  struct Standing {
    Period period;
    int64_t spent_nano_usd = 0, reserved_nano_usd = 0, limit_nano_usd = 0;
  };
  std::optional<Standing> standing(const std::string& account_id, const std::string& name) const;

 private:
  friend class Admission;
  struct State {
    BlockingBudget budget;
    Period period;
    int64_t spent = 0, reserved = 0;
  };
  struct InFlight {
    std::string request_id, account_id;
    TimePoint admitted_at;
    std::optional<ledger::UsageRecord> worst_case;
    std::vector<std::pair<std::shared_ptr<State>, int64_t>> reservations;
  };

  void settle(uint64_t id, const ledger::UsageRecord* committed);
  Status count_spend(State& state, TimePoint now);  // with mu_ held
  int64_t matching_cost(const State& state, const ledger::UsageRecord& usage);
  void roll(State& state, TimePoint now) const;
  Error refusal(const State& state, int64_t worst_case, bool only_reservations) const;

  ledger::Ledger& ledger_;
  const catalog::Catalog& catalog_;
  costs::CostAllocationTags& tags_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::unique_ptr<costs::FactSource> facts_;
  std::map<std::string, std::map<std::string, std::shared_ptr<State>>, std::less<>> states_;  // account → name
  std::unordered_map<uint64_t, InFlight> in_flight_;
  uint64_t next_id_ = 1;
};

}  // namespace tollgate::budgets
