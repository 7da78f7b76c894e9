// Durable budgets: one document per (account, budget name) in <data>/billing.db (component "budgets"),
// holding the budget as the Budgets API defines it, its notifications and their subscribers. The API layer
// owns the document's shape (JSON); this store keeps it, keyed and timestamped, and changes it in
// transactions.
//
// Thread-safety: calls are serialised on the connection's lock.
#pragma once

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

namespace tollgate::budgets {

struct StoredBudget {
  std::string account_id;
  std::string name;
  std::string document;
  TimePoint created_at;
  TimePoint updated_at;
};

class BudgetStore {
 public:
  // Opens (creating and migrating if needed) the budgets tables at `path`. Throws StartupError.
  static std::unique_ptr<BudgetStore> open(const std::string& path);
  ~BudgetStore();

  // DuplicateRecord when the account already has a budget of that name.
  Status insert(const StoredBudget& budget);
  Result<std::optional<StoredBudget>> find(const std::string& account_id, const std::string& name);
  // The account's budgets sorted by name, after `after` (exclusive; empty: from the first), at most `limit`.
  Result<std::vector<StoredBudget>> list(const std::string& account_id, const std::string& after, size_t limit);
  // Every budget of every account (the notifier's round).
  Result<std::vector<StoredBudget>> list_all();
  // Replaces the document with what `change` makes of it, in one transaction; NotFound when there is no
  // such budget; an error from `change` changes nothing.
  using Change = std::function<Result<std::string>(const std::string& document)>;
  Result<StoredBudget> update(const std::string& account_id, const std::string& name, const Change& change,
                              TimePoint now);
  // NotFound when there is no such budget.
  Status remove(const std::string& account_id, const std::string& name);

 private:
  explicit BudgetStore(std::unique_ptr<store::sqlite::Database> db);
  std::unique_ptr<store::sqlite::Database> db_;
};

}  // namespace tollgate::budgets
