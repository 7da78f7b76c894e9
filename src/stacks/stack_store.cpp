#include "stacks/stack_store.h"

#include "store/sqlite/sqlite_database.h"

namespace tollgate::stacks {
namespace {

using store::sqlite::Database;
using store::sqlite::from_ms;
using store::sqlite::to_ms;
using store::sqlite::Transaction;

const std::vector<store::sqlite::Migration> kMigrations = {
    {1, R"sql(
CREATE TABLE stacks (
  account_id  TEXT    NOT NULL,
  region      TEXT    NOT NULL,
  name        TEXT    NOT NULL,
  stack_id    TEXT    NOT NULL,
  created_ms  INTEGER NOT NULL,
  updated_ms  INTEGER NOT NULL,
  PRIMARY KEY (account_id, region, name)
) WITHOUT ROWID;
CREATE TABLE stack_resources (
  account_id  TEXT    NOT NULL,
  region      TEXT    NOT NULL,
  stack       TEXT    NOT NULL,
  logical_id  TEXT    NOT NULL,
  profile_arn TEXT    NOT NULL,
  retain      INTEGER NOT NULL,
  PRIMARY KEY (account_id, region, stack, logical_id)
) WITHOUT ROWID;
CREATE TABLE stack_exports (
  account_id  TEXT NOT NULL,
  region      TEXT NOT NULL,
  name        TEXT NOT NULL,
  stack       TEXT NOT NULL,
  value       TEXT NOT NULL,
  PRIMARY KEY (account_id, region, name)
) WITHOUT ROWID;
)sql"},
};

}  // namespace

StackStore::StackStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}
StackStore::~StackStore() = default;

std::unique_ptr<StackStore> StackStore::open(const std::string& path) {
  auto db = std::make_unique<Database>(path);
  db->migrate("stacks", kMigrations);
  return std::unique_ptr<StackStore>(new StackStore(std::move(db)));
}

Result<std::optional<StackRecord>> StackStore::find(const std::string& account_id, const std::string& region,
                                                    const std::string& name) {
  auto guard = db_->lock();
  auto stack = db_->prepare(
      "SELECT stack_id, created_ms, updated_ms FROM stacks WHERE account_id = ? AND region = ? AND name = ?");
  TOLLGATE_TRY(stack);
  stack->bind(1, account_id).bind(2, region).bind(3, name);
  auto row = stack->step();
  TOLLGATE_TRY(row);
  if (!*row) return std::optional<StackRecord>();
  StackRecord record{
      account_id, region, name, stack->text(0), {}, {}, from_ms(stack->integer(1)), from_ms(stack->integer(2))};
  auto resources = db_->prepare(
      "SELECT logical_id, profile_arn, retain FROM stack_resources WHERE account_id = ? AND region = ? AND stack = ?");
  TOLLGATE_TRY(resources);
  resources->bind(1, account_id).bind(2, region).bind(3, name);
  while (true) {
    auto next = resources->step();
    TOLLGATE_TRY(next);
    if (!*next) break;
    record.resources[resources->text(0)] = {resources->text(1), resources->integer(2) != 0};
  }
  auto exports = db_->prepare(
      "SELECT name, value FROM stack_exports WHERE account_id = ? AND region = ? AND stack = ? ORDER BY name");
  TOLLGATE_TRY(exports);
  exports->bind(1, account_id).bind(2, region).bind(3, name);
  while (true) {
    auto next = exports->step();
    TOLLGATE_TRY(next);
    if (!*next) break;
    record.exports.push_back({exports->text(0), exports->text(1)});
  }
  return std::optional<StackRecord>(std::move(record));
}

Status StackStore::save(const StackRecord& stack) {
  auto guard = db_->lock();
  Transaction tx(*db_);
  TOLLGATE_TRY(tx.begin());
  auto upsert = db_->prepare(
      "INSERT INTO stacks (account_id, region, name, stack_id, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (account_id, region, name) DO UPDATE SET updated_ms = excluded.updated_ms");
  TOLLGATE_TRY(upsert);
  upsert->bind(1, stack.account_id)
      .bind(2, stack.region)
      .bind(3, stack.name)
      .bind(4, stack.stack_id)
      .bind(5, to_ms(stack.created_at))
      .bind(6, to_ms(stack.updated_at));
  TOLLGATE_TRY(upsert->run());
  for (const char* table : {"stack_resources", "stack_exports"}) {
    auto clear =
        db_->prepare(std::string("DELETE FROM ") + table + " WHERE account_id = ? AND region = ? AND stack = ?");
    TOLLGATE_TRY(clear);
    clear->bind(1, stack.account_id).bind(2, stack.region).bind(3, stack.name);
    TOLLGATE_TRY(clear->run());
  }
  for (const auto& [logical_id, resource] : stack.resources) {
    auto insert = db_->prepare(
        "INSERT INTO stack_resources (account_id, region, stack, logical_id, profile_arn, retain) "
        "VALUES (?, ?, ?, ?, ?, ?)");
    TOLLGATE_TRY(insert);
    insert->bind(1, stack.account_id)
        .bind(2, stack.region)
        .bind(3, stack.name)
        .bind(4, logical_id)
        .bind(5, resource.profile_arn)
        .bind(6, static_cast<int64_t>(resource.retain));
    TOLLGATE_TRY(insert->run());
  }
  for (const auto& e : stack.exports) {
    auto insert =
        db_->prepare("INSERT INTO stack_exports (account_id, region, name, stack, value) VALUES (?, ?, ?, ?, ?)");
    TOLLGATE_TRY(insert);
    insert->bind(1, stack.account_id).bind(2, stack.region).bind(3, e.name).bind(4, stack.name).bind(5, e.value);
    TOLLGATE_TRY(insert->run());
  }
  return tx.commit();
}

Result<std::optional<std::string>> StackStore::export_owner(const std::string& account_id, const std::string& region,
                                                            const std::string& export_name,
                                                            const std::string& except_stack) {
  auto guard = db_->lock();
  auto stmt =
      db_->prepare("SELECT stack FROM stack_exports WHERE account_id = ? AND region = ? AND name = ? AND stack <> ?");
  TOLLGATE_TRY(stmt);
  stmt->bind(1, account_id).bind(2, region).bind(3, export_name).bind(4, except_stack);
  auto row = stmt->step();
  TOLLGATE_TRY(row);
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(stmt->text(0));
}

}  // namespace tollgate::stacks
