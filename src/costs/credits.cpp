#include "costs/credits.h"

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <tuple>

#include "costs/facts.h"
#include "costs/usage_type.h"
#include "ledger/tag_set.h"
#include "store/sqlite/sqlite_database.h"

namespace tollgate::costs {
namespace {

using store::sqlite::Database;
using store::sqlite::DatabaseOptions;
using store::sqlite::from_ms;
using store::sqlite::join_lines;
using store::sqlite::split_lines;
using store::sqlite::Statement;
using store::sqlite::to_ms;

const std::vector<store::sqlite::Migration> kMigrations = {
    {1, R"sql(
CREATE TABLE credit_grants (
  id            TEXT    PRIMARY KEY,
  account_id    TEXT    NOT NULL,
  description   TEXT    NOT NULL,
  amount_nano   INTEGER NOT NULL,
  start_ms      INTEGER NOT NULL,
  expiry_ms     INTEGER NOT NULL,
  services      TEXT    NOT NULL,  -- eligible SERVICE names, one per line; empty: every service
  granted_ms    INTEGER NOT NULL
) WITHOUT ROWID;
)sql"},
};

bool eligible(const CreditGrant& g, const Fact& fact) {
  return g.account_id == fact.dims->account_id && fact.hour >= g.start && fact.hour < g.expiry &&
         (g.services.empty() || std::find(g.services.begin(), g.services.end(), kServiceName) != g.services.end());
}

// A total order of an hour's charges: largest first, ties by what the charge is (so that every scan of the
// same usage applies credits the same way).
bool charged_before(const Fact& a, const Fact& b) {
  if (a.cost_nano_usd != b.cost_nano_usd) return a.cost_nano_usd > b.cost_nano_usd;
  auto key = [](const Fact& f) {
    return std::tie(f.dims->account_id, f.dims->resource_id, f.dims->model_id, f.dims->billing_region,
                    f.dims->operation, f.dims->principal, f.usage_type());
  };
  if (key(a) != key(b)) return key(a) < key(b);
  return std::lexicographical_compare(
      a.tags->begin(), a.tags->end(), b.tags->begin(), b.tags->end(),
      [](const Tag& x, const Tag& y) { return std::tie(x.key, x.value) < std::tie(y.key, y.value); });
}

}  // namespace

Status check_grant(const CreditGrant& g) {
  auto invalid = [](std::string message) { return Error(ErrorCode::InvalidParameter, std::move(message)); };
  if (g.id.empty() || g.id.size() > 64 || !std::all_of(g.id.begin(), g.id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
      })) {
    return invalid("A credit's id is 1 to 64 letters, digits, '.', '_' or '-'; '" + g.id + "' is not.");
  }
  if (g.account_id.size() != 12 || !std::all_of(g.account_id.begin(), g.account_id.end(), ::isdigit)) {
    return invalid("Credit " + g.id + ": the account is 12 digits; '" + g.account_id + "' is not.");
  }
  if (g.amount_nano_usd <= 0) return invalid("Credit " + g.id + ": the amount must be more than 0 USD.");
  if (g.start >= g.expiry) return invalid("Credit " + g.id + ": the start must be before the expiry.");
  for (const auto& s : g.services) {
    if (s.empty() || s.find('\n') != std::string::npos) {
      return invalid("Credit " + g.id + ": each eligible service is a non-empty name such as 'Amazon Bedrock'.");
    }
  }
  return {};
}

// ---- CreditStore ----

CreditStore::CreditStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}
CreditStore::~CreditStore() = default;

std::unique_ptr<CreditStore> CreditStore::open(const std::string& path, bool read_only) {
  if (read_only) {
    if (path != ":memory:" && !std::filesystem::exists(path))
      return std::unique_ptr<CreditStore>(new CreditStore(nullptr));
    DatabaseOptions options;
    options.read_only = true;
    auto db = std::make_unique<Database>(path, options);
    bool exists = false;
    {
      auto table = db->prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'credit_grants'");
      if (table.ok()) {
        auto row = table->step();
        exists = row.ok() && *row;
      }
    }
    if (!exists) db.reset();  // no grant was ever made here
    return std::unique_ptr<CreditStore>(new CreditStore(std::move(db)));
  }
  auto db = std::make_unique<Database>(path);
  db->migrate("credits", kMigrations);
  return std::unique_ptr<CreditStore>(new CreditStore(std::move(db)));
}

Status CreditStore::grant(const CreditGrant& g, bool replace) {
  TOLLGATE_TRY(check_grant(g));
  if (!db_) return Error(ErrorCode::ServiceUnavailable, "The credits were opened read-only.");
  auto guard = db_->lock();
  auto stmt = db_->prepare(std::string(replace ? "INSERT OR REPLACE" : "INSERT") +
                           " INTO credit_grants (id, account_id, description, amount_nano, start_ms, expiry_ms, "
                           "services, granted_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (!stmt.ok()) return std::move(stmt).error();
  stmt->bind(1, g.id)
      .bind(2, g.account_id)
      .bind(3, g.description)
      .bind(4, g.amount_nano_usd)
      .bind(5, to_ms(g.start))
      .bind(6, to_ms(g.expiry))
      .bind(7, join_lines(g.services))
      .bind(8, to_ms(g.granted_at));
  auto ran = stmt->run();
  if (!ran.ok() && stmt->constraint_failed()) {
    return Error(ErrorCode::DuplicateRecord, "A credit with the id " + g.id + " exists; choose another id.");
  }
  return ran;
}

Result<std::vector<CreditGrant>> CreditStore::grants() {
  std::vector<CreditGrant> out;
  if (!db_) return out;
  auto guard = db_->lock();
  auto stmt = db_->prepare(
      "SELECT id, account_id, description, amount_nano, start_ms, expiry_ms, services, granted_ms FROM credit_grants "
      "ORDER BY granted_ms, id");
  if (!stmt.ok()) return std::move(stmt).error();
  while (true) {
    auto row = stmt->step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) break;
    out.push_back(CreditGrant{stmt->text(0), stmt->text(1), stmt->text(2), stmt->integer(3), from_ms(stmt->integer(4)),
                              from_ms(stmt->integer(5)), split_lines(stmt->text(6)), from_ms(stmt->integer(7))});
  }
  return out;
}

Status CreditStore::revoke(const std::string& id) {
  if (!db_) return Error(ErrorCode::ServiceUnavailable, "The credits were opened read-only.");
  auto guard = db_->lock();
  auto stmt = db_->prepare("DELETE FROM credit_grants WHERE id = ?");
  if (!stmt.ok()) return std::move(stmt).error();
  stmt->bind(1, id);
  TOLLGATE_TRY(stmt->run());
  if (db_->changes() == 0) return Error(ErrorCode::NotFound, "There is no credit with the id " + id + ".");
  return {};
}

// ---- CreditAllocator ----

CreditAllocator::CreditAllocator(const std::vector<CreditGrant>& grants) : grants_(grants) {
  auto breadth = [](const CreditGrant& g) { return g.services.empty() ? SIZE_MAX : g.services.size(); };
  order_.resize(grants_.size());
  std::iota(order_.begin(), order_.end(), size_t{0});
  std::sort(order_.begin(), order_.end(), [&](size_t x, size_t y) {
    const CreditGrant& a = grants_[x];
    const CreditGrant& b = grants_[y];
    return std::make_tuple(a.expiry, breadth(a), a.granted_at, std::cref(a.id)) <
           std::make_tuple(b.expiry, breadth(b), b.granted_at, std::cref(b.id));
  });
  for (const auto& g : grants_) remaining_.push_back(g.amount_nano_usd);
}

std::optional<TimePoint> CreditAllocator::earliest_start(const std::optional<std::string>& account) const {
  std::optional<TimePoint> earliest;
  for (const auto& g : grants_) {
    if (account && g.account_id != *account) continue;
    earliest = std::min(earliest.value_or(g.start), g.start);
  }
  return earliest;
}

void CreditAllocator::apply(std::vector<Fact>& hour,
                            const std::function<void(const Fact&, const CreditGrant&, int64_t)>& applied) {
  std::sort(hour.begin(), hour.end(), charged_before);
  for (const Fact& charge : hour) {
    int64_t due = charge.cost_nano_usd;
    for (size_t i : order_) {
      if (due <= 0) break;
      if (remaining_[i] <= 0 || !eligible(grants_[i], charge)) continue;
      const int64_t amount = std::min(due, remaining_[i]);
      remaining_[i] -= amount;
      due -= amount;
      applied(charge, grants_[i], amount);
    }
  }
}

int64_t CreditAllocator::remaining(const std::string& id) const {
  for (size_t i = 0; i < grants_.size(); ++i) {
    if (grants_[i].id == id) return remaining_[i];
  }
  return 0;
}

}  // namespace tollgate::costs
