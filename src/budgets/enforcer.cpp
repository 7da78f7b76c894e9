#include "budgets/enforcer.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "core/time_format.h"
#include "costs/money.h"

namespace tollgate::budgets {
namespace {

TimePoint hour_of(TimePoint t) { return std::chrono::floor<std::chrono::hours>(t); }

bool in_force(const BlockingBudget& budget, TimePoint now) {
  return now >= budget.period.start && now < budget.period.end;
}

std::string usd(int64_t nano_usd) { return costs::format_usd(nano_usd) + " USD"; }

}  // namespace

std::optional<Enforcement> parse_enforcement(std::string_view text) {
  if (text == "block") return Enforcement::Block;
  if (text == "throttle") return Enforcement::Throttle;
  return std::nullopt;
}

// ---- Admission ----

Admission::Admission(Admission&& other) noexcept
    : enforcer_(std::exchange(other.enforcer_, nullptr)), id_(other.id_), admitted_at_(other.admitted_at_) {}

Admission& Admission::operator=(Admission&& other) noexcept {
  if (this != &other) {
    if (enforcer_) enforcer_->settle(id_, nullptr);
    enforcer_ = std::exchange(other.enforcer_, nullptr);
    id_ = other.id_;
    admitted_at_ = other.admitted_at_;
  }
  return *this;
}

Admission::~Admission() {
  if (enforcer_) enforcer_->settle(id_, nullptr);
}

void Admission::settle(const ledger::UsageRecord& committed) {
  if (enforcer_) std::exchange(enforcer_, nullptr)->settle(id_, &committed);
}

// ---- Enforcer ----

Enforcer::Enforcer(ledger::Ledger& ledger, const catalog::Catalog& catalog, costs::CostAllocationTags& tags,
                   const Clock& clock)
    : ledger_(ledger), catalog_(catalog), tags_(tags), clock_(clock) {
  auto timeline = tags_.timeline();
  if (!timeline.ok()) throw StartupError("cannot read the cost-allocation tags: " + timeline.error().message());
  facts_ = std::make_unique<costs::FactSource>(ledger_, catalog_, std::move(timeline).value());
}

Enforcer::~Enforcer() = default;

int64_t Enforcer::matching_cost(const State& state, const ledger::UsageRecord& usage) {
  int64_t sum = 0;
  facts_->record_facts(usage, [&](const costs::Fact& fact) {
    if (state.period.contains(fact.hour) && (!state.budget.filter || state.budget.filter->matches(fact))) {
      if (__builtin_add_overflow(sum, fact.cost_nano_usd, &sum)) sum = std::numeric_limits<int64_t>::max();
    }
  });
  return sum;
}

void Enforcer::roll(State& state, TimePoint now) const {
  if (now < state.period.end) return;
  const Period next = current_period(state.budget.period, now);
  if (next.start == state.period.start) return;  // a CUSTOM budget past its end keeps its last period
  state.period = next;
  state.spent = 0;
}

Status Enforcer::count_spend(State& state, TimePoint now) {
  state.period = current_period(state.budget.period, now);
  state.spent = 0;
  state.reserved = 0;
  // Requests in flight are counted when they settle; hours before the oldest of them are complete.
  TimePoint cut = hour_of(now);
  std::vector<InFlight*> flying;
  for (auto& [id, f] : in_flight_) {
    if (f.account_id != state.budget.account_id) continue;
    flying.push_back(&f);
    cut = std::min(cut, hour_of(f.admitted_at));
  }
  const Period& period = state.period;
  const TimePoint rollup_end = std::clamp(cut, period.start, period.end);
  const auto& filter = state.budget.filter;
  if (period.start < rollup_end) {
    TOLLGATE_TRY(facts_->scan(hour_of(period.start), rollup_end, state.budget.account_id, [&](const costs::Fact& fact) {
      if (period.contains(fact.hour) && (!filter || filter->matches(fact))) {
        state.spent += fact.cost_nano_usd;
      }
    }));
  }
  if (rollup_end < period.end) {
    ledger::UsageQuery query;
    query.since = rollup_end;
    query.until = period.end;
    query.account_id = state.budget.account_id;
    query.limit = std::numeric_limits<size_t>::max();
    auto records = ledger_.query(query);
    TOLLGATE_TRY(records);
    for (const auto& record : *records) {
      const bool flying_now = std::any_of(flying.begin(), flying.end(),
                                          [&](const InFlight* f) { return f->request_id == record.request_id; });
      if (!flying_now) state.spent += matching_cost(state, record);
    }
  }
  return {};
}

Status Enforcer::install(BlockingBudget budget) {
  std::lock_guard lock(mu_);
  auto state = std::make_shared<State>();
  state->budget = std::move(budget);
  TOLLGATE_TRY(count_spend(*state, clock_.now()));
  for (auto& [id, f] : in_flight_) {
    if (f.account_id != state->budget.account_id || !f.worst_case) continue;
    const int64_t amount = matching_cost(*state, *f.worst_case);
    if (amount == 0) continue;
    state->reserved += amount;
    f.reservations.emplace_back(state, amount);
  }
  states_[state->budget.account_id][state->budget.name] = std::move(state);
  return {};
}

void Enforcer::remove(const std::string& account_id, const std::string& name) {
  std::lock_guard lock(mu_);
  auto account = states_.find(account_id);
  if (account == states_.end()) return;
  account->second.erase(name);
  if (account->second.empty()) states_.erase(account);
}

Status Enforcer::refresh_tags() {
  auto timeline = tags_.timeline();
  TOLLGATE_TRY(timeline);
  std::lock_guard lock(mu_);
  // Every fresh state is counted before any replaces its old one, so a failed count changes nothing.
  auto facts = std::make_unique<costs::FactSource>(ledger_, catalog_, std::move(timeline).value());
  std::swap(facts_, facts);
  const TimePoint now = clock_.now();
  std::vector<std::pair<std::shared_ptr<State>*, std::shared_ptr<State>>> fresh_states;
  for (auto& [account, budgets] : states_) {
    for (auto& [name, state] : budgets) {
      auto fresh = std::make_shared<State>(State{state->budget, {}, 0, 0});
      if (Status counted = count_spend(*fresh, now); !counted) {
        std::swap(facts_, facts);
        return counted;
      }
      fresh_states.emplace_back(&state, std::move(fresh));
    }
  }
  for (auto& [state, fresh] : fresh_states) {
    // Reservations held against the old state move to the fresh one.
    for (auto& [id, f] : in_flight_) {
      for (auto& [reserved_on, amount] : f.reservations) {
        if (reserved_on != *state) continue;
        reserved_on = fresh;
        fresh->reserved += amount;
      }
    }
    *state = std::move(fresh);
  }
  return {};
}

bool Enforcer::watches(const std::string& account_id) const {
  std::lock_guard lock(mu_);
  auto account = states_.find(account_id);
  if (account == states_.end()) return false;
  const TimePoint now = clock_.now();
  return std::any_of(account->second.begin(), account->second.end(),
                     [&](const auto& entry) { return in_force(entry.second->budget, now); });
}

Error Enforcer::refusal(const State& state, int64_t worst_case, bool only_reservations) const {
  const BlockingBudget& b = state.budget;
  std::string message = "Budget '" + b.name + "' ";
  message += only_reservations ? "cannot fit this request now" : "blocks this request";
  message += ": its limit is " + usd(b.limits.at(state.period.start)) + " per " + b.time_unit + " period, " +
             usd(state.spent) + " is spent";
  if (state.reserved > 0) message += " and " + usd(state.reserved) + " is reserved by requests in flight";
  message += ", and this request may cost up to " + usd(worst_case) + ". ";
  if (only_reservations) message += "Retry when the requests in flight finish. ";
  const bool last_period = b.period.unit == TimeUnit::Custom || state.period.end >= b.period.end;
  message += last_period
                 ? "The budget ends at " + format_date_time(b.period.end) +
                       ", and blocks until then or "
                       "until the budget is changed."
                 : "The period resets at " + format_date_time(state.period.end) + " (or when the budget is changed).";
  const bool throttle = only_reservations || b.mode == Enforcement::Throttle;
  return Error(throttle ? ErrorCode::Throttling : ErrorCode::AccessDenied, std::move(message));
}

Result<Admission> Enforcer::admit(ledger::UsageRecord request, bool estimated) {
  std::lock_guard lock(mu_);
  const TimePoint now = clock_.now();
  request.start_time = now;
  InFlight entry{request.request_id, request.account_id, now, std::nullopt, {}};
  auto account = states_.find(request.account_id);
  if (!estimated && account != states_.end() &&
      std::any_of(account->second.begin(), account->second.end(),
                  [&](const auto& entry) { return in_force(entry.second->budget, now); })) {
    // A budget came into force after the caller looked: without a worst case nothing can be reserved.
    return Error(ErrorCode::Throttling, "A budget of account " + request.account_id +
                                            " started blocking while this request was prepared; retry it.");
  }
  if (estimated && account != states_.end()) {
    for (auto& [name, state] : account->second) {
      if (!in_force(state->budget, now)) continue;
      roll(*state, now);
      const int64_t amount = matching_cost(*state, request);
      if (amount == 0) continue;
      const int64_t limit = state->budget.limits.at(state->period.start);
      // Overflowing sums do not fit (a worst case near INT64_MAX must not wrap into a small one).
      int64_t with_spent = 0, with_reserved = 0;
      if (amount < 0 || __builtin_add_overflow(state->spent, amount, &with_spent) || with_spent > limit) {
        return refusal(*state, amount, false);
      }
      if (__builtin_add_overflow(with_spent, state->reserved, &with_reserved) || with_reserved > limit) {
        return refusal(*state, amount, true);
      }
      entry.reservations.emplace_back(state, amount);
    }
    for (auto& [state, amount] : entry.reservations) state->reserved += amount;
  }
  if (estimated) entry.worst_case = std::move(request);
  const uint64_t id = next_id_++;
  in_flight_.emplace(id, std::move(entry));
  return Admission(this, id, now);
}

void Enforcer::settle(uint64_t id, const ledger::UsageRecord* committed) {
  std::lock_guard lock(mu_);
  auto it = in_flight_.find(id);
  if (it == in_flight_.end()) return;
  for (auto& [state, amount] : it->second.reservations) state->reserved -= amount;
  if (committed) {
    auto account = states_.find(committed->account_id);
    if (account != states_.end()) {
      const TimePoint now = clock_.now();
      for (auto& [name, state] : account->second) {
        roll(*state, now);
        state->spent += matching_cost(*state, *committed);
      }
    }
  }
  in_flight_.erase(it);
}

std::optional<Enforcer::Standing> Enforcer::standing(const std::string& account_id, const std::string& name) const {
  std::lock_guard lock(mu_);
  auto account = states_.find(account_id);
  if (account == states_.end()) return std::nullopt;
  auto it = account->second.find(name);
  if (it == account->second.end()) return std::nullopt;
  const State& s = *it->second;
  return Standing{s.period, s.spent, s.reserved, s.budget.limits.at(s.period.start)};
}

}  // namespace tollgate::budgets
