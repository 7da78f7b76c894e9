// Credits, applied as AWS applies them (doc/costs.md, "Credits"): a grant gives an account an amount to spend
// on the eligible services' usage in [start, expiry). Credits apply automatically, hour by hour in time
// order: within an hour to the largest eligible charge first, then the next; among grants, soonest expiry
// first, then the one eligible for the fewest services, then the oldest. What a grant pays for is a Credit
// line item (negative cost) beside the usage it pays for.
//
// CreditStore keeps the grants in <data>/billing.db (component "credits"). CreditAllocator is the pure part:
// the balances, and the rule above.
//
// Thread-safety: CreditStore serialises its calls on its connection's lock; a CreditAllocator is used by
// one scan at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace tollgate::store::sqlite {
class Database;
}

namespace tollgate::costs {

struct Fact;

struct CreditGrant {
  std::string id;  // unique, e.g. "promo-2026"; [A-Za-z0-9._-], 1–64 characters
  std::string account_id;
  std::string description;  // in the Credit line items; defaults to "Credit <id>"
  int64_t amount_nano_usd = 0;
  TimePoint start, expiry;            // usage in [start, expiry)
  std::vector<std::string> services;  // eligible SERVICE names; empty: every service
  TimePoint granted_at;
};

// Checks a grant's fields (InvalidParameter with what to fix).
Status check_grant(const CreditGrant& grant);

class CreditStore {
 public:
  // Opens (creating and migrating if needed) the "credits" tables at `path`. With read_only, a missing file
  // holds no grants. Throws StartupError when it cannot open.
  static std::unique_ptr<CreditStore> open(const std::string& path, bool read_only = false);
  ~CreditStore();

  // Adds the grant, or replaces the one with its id when `replace` (configuration grants, re-read at each
  // start); DuplicateRecord when the id exists and not `replace`.
  Status grant(const CreditGrant& grant, bool replace = false);
  // Every grant, oldest first.
  Result<std::vector<CreditGrant>> grants();
  // NotFound when there is no such grant.
  Status revoke(const std::string& id);

 private:
  explicit CreditStore(std::unique_ptr<store::sqlite::Database> db);
  std::unique_ptr<store::sqlite::Database> db_;  // null: read-only and no file yet
};

class CreditAllocator {
 public:
  // `grants` must outlive the allocator (the facts it reports point into it).
  explicit CreditAllocator(const std::vector<CreditGrant>& grants);

  bool empty() const { return grants_.empty(); }
  // The earliest start of a grant of `account` (every account's if none): a scan must begin there to know
  // the balances.
  std::optional<TimePoint> earliest_start(const std::optional<std::string>& account) const;
  // Applies the grants to one hour's usage facts (in any order; they are sorted here); calls `applied` for
  // each (usage fact, grant, amount > 0).
  void apply(std::vector<Fact>& hour, const std::function<void(const Fact&, const CreditGrant&, int64_t)>& applied);
  // What is left of a grant after what was applied so far.
  int64_t remaining(const std::string& id) const;

 private:
  const std::vector<CreditGrant>& grants_;
  std::vector<size_t> order_;       // indices into grants_, in the order they apply
  std::vector<int64_t> remaining_;  // by index into grants_
};

}  // namespace tollgate::costs
