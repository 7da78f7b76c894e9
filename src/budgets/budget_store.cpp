#include "budgets/budget_store.h"

#include "store/sqlite/sqlite_database.h"

namespace tollgate::budgets {
namespace {

using store::sqlite::Database;
using store::sqlite::from_ms;
using store::sqlite::Statement;
using store::sqlite::to_ms;
using store::sqlite::Transaction;

const std::vector<store::sqlite::Migration> kMigrations = {
    {1, R"sql(
CREATE TABLE budgets (
  account_id    TEXT    NOT NULL,
  name          TEXT    NOT NULL,
  document      TEXT    NOT NULL,  -- the budget, its notifications and subscribers (JSON, the API's shapes)
  created_ms    INTEGER NOT NULL,
  updated_ms    INTEGER NOT NULL,
  PRIMARY KEY (account_id, name)
) WITHOUT ROWID;
)sql"},
};

Error not_found(const std::string& account_id, const std::string& name) {
  return Error(ErrorCode::NotFound, "Account " + account_id + " has no budget named '" + name + "'.");
}

StoredBudget row_of(const Statement& stmt) {
  return StoredBudget{stmt.text(0), stmt.text(1), stmt.text(2), from_ms(stmt.integer(3)), from_ms(stmt.integer(4))};
}

constexpr std::string_view kColumns = "account_id, name, document, created_ms, updated_ms";

}  // namespace

BudgetStore::BudgetStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}
BudgetStore::~BudgetStore() = default;

std::unique_ptr<BudgetStore> BudgetStore::open(const std::string& path) {
  auto db = std::make_unique<Database>(path);
  db->migrate("budgets", kMigrations);
  return std::unique_ptr<BudgetStore>(new BudgetStore(std::move(db)));
}

Status BudgetStore::insert(const StoredBudget& b) {
  auto guard = db_->lock();
  auto stmt = db_->prepare("INSERT INTO budgets (" + std::string(kColumns) + ") VALUES (?, ?, ?, ?, ?)");
  if (!stmt.ok()) return std::move(stmt).error();
  stmt->bind(1, b.account_id)
      .bind(2, b.name)
      .bind(3, b.document)
      .bind(4, to_ms(b.created_at))
      .bind(5, to_ms(b.updated_at));
  auto ran = stmt->run();
  if (!ran.ok() && stmt->constraint_failed()) {
    return Error(ErrorCode::DuplicateRecord, "Account " + b.account_id + " already has a budget named '" + b.name +
                                                 "'; choose another name or update that budget.");
  }
  return ran;
}

Result<std::optional<StoredBudget>> BudgetStore::find(const std::string& account_id, const std::string& name) {
  auto guard = db_->lock();
  auto stmt = db_->prepare("SELECT " + std::string(kColumns) + " FROM budgets WHERE account_id = ? AND name = ?");
  if (!stmt.ok()) return std::move(stmt).error();
  stmt->bind(1, account_id).bind(2, name);
  auto row = stmt->step();
  if (!row.ok()) return std::move(row).error();
  if (!*row) return std::optional<StoredBudget>();
  return std::optional<StoredBudget>(row_of(*stmt));
}

Result<std::vector<StoredBudget>> BudgetStore::list(const std::string& account_id, const std::string& after,
                                                    size_t limit) {
  auto guard = db_->lock();
  auto stmt = db_->prepare("SELECT " + std::string(kColumns) +
                           " FROM budgets WHERE account_id = ? AND name > ? ORDER BY name LIMIT ?");
  if (!stmt.ok()) return std::move(stmt).error();
  stmt->bind(1, account_id).bind(2, after).bind(3, static_cast<int64_t>(limit));
  std::vector<StoredBudget> out;
  while (true) {
    auto row = stmt->step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) return out;
    out.push_back(row_of(*stmt));
  }
}

Result<std::vector<StoredBudget>> BudgetStore::list_all() {
  auto guard = db_->lock();
  auto stmt = db_->prepare("SELECT " + std::string(kColumns) + " FROM budgets ORDER BY account_id, name");
  if (!stmt.ok()) return std::move(stmt).error();
  std::vector<StoredBudget> out;
  while (true) {
    auto row = stmt->step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) return out;
    out.push_back(row_of(*stmt));
  }
}

Result<StoredBudget> BudgetStore::update(const std::string& account_id, const std::string& name, const Change& change,
                                         TimePoint now) {
  auto guard = db_->lock();
  Transaction tx(*db_);
  TOLLGATE_TRY(tx.begin());
  auto select = db_->prepare("SELECT " + std::string(kColumns) + " FROM budgets WHERE account_id = ? AND name = ?");
  if (!select.ok()) return std::move(select).error();
  select->bind(1, account_id).bind(2, name);
  auto row = select->step();
  if (!row.ok()) return std::move(row).error();
  if (!*row) return not_found(account_id, name);
  StoredBudget budget = row_of(*select);
  select->reset();
  auto document = change(budget.document);
  TOLLGATE_TRY(document);
  budget.document = std::move(document).value();
  budget.updated_at = now;
  auto write = db_->prepare("UPDATE budgets SET document = ?, updated_ms = ? WHERE account_id = ? AND name = ?");
  if (!write.ok()) return std::move(write).error();
  write->bind(1, budget.document).bind(2, to_ms(now)).bind(3, account_id).bind(4, name);
  TOLLGATE_TRY(write->run());
  TOLLGATE_TRY(tx.commit());
  return budget;
}

Status BudgetStore::remove(const std::string& account_id, const std::string& name) {
  auto guard = db_->lock();
  auto stmt = db_->prepare("DELETE FROM budgets WHERE account_id = ? AND name = ?");
  if (!stmt.ok()) return std::move(stmt).error();
  stmt->bind(1, account_id).bind(2, name);
  TOLLGATE_TRY(stmt->run());
  if (db_->changes() == 0) return not_found(account_id, name);
  return {};
}

}  // namespace tollgate::budgets
