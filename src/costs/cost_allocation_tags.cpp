#include "costs/cost_allocation_tags.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "store/sqlite/sqlite_database.h"

namespace tollgate::costs {
namespace {

using store::sqlite::Database;
using store::sqlite::DatabaseOptions;
using store::sqlite::from_ms;
using store::sqlite::to_ms;
using store::sqlite::Transaction;

constexpr auto kHour = std::chrono::hours(1);

const std::vector<store::sqlite::Migration> kMigrations = {
    {1, R"sql(
CREATE TABLE cost_allocation_tags (
  tag_key         TEXT    PRIMARY KEY,
  active          INTEGER NOT NULL CHECK (active IN (0, 1)),  -- the current status
  first_seen_ms   INTEGER NOT NULL,
  last_updated_ms INTEGER                                     -- the last status change; NULL: never changed
);
-- Each key's status over time: the last change at or before a moment decides the status then.
CREATE TABLE cost_allocation_tag_changes (
  tag_key TEXT    NOT NULL REFERENCES cost_allocation_tags (tag_key),
  at_ms   INTEGER NOT NULL,
  active  INTEGER NOT NULL CHECK (active IN (0, 1)),
  PRIMARY KEY (tag_key, at_ms)
) WITHOUT ROWID;
CREATE TABLE cost_allocation_backfills (
  requested_at_ms  INTEGER PRIMARY KEY,
  backfill_from_ms INTEGER NOT NULL,
  status           TEXT    NOT NULL CHECK (status IN ('SUCCEEDED', 'PROCESSING', 'FAILED')),
  completed_at_ms  INTEGER,
  last_updated_ms  INTEGER NOT NULL
);
)sql"},
};

Error read_only_error() {
  return Error(ErrorCode::ServiceUnavailable, "The cost-allocation tags were opened read-only.");
}

}  // namespace

TimePoint month_start(TimePoint t, int months) {
  using namespace std::chrono;
  year_month_day day{floor<days>(t)};
  year_month month = day.year() / day.month();
  month += std::chrono::months(months);
  return sys_days{month / 1};
}

ActivationTimeline::ActivationTimeline(std::map<std::string, std::vector<StatusChange>, std::less<>> changes)
    : changes_(std::move(changes)) {
  for (auto& [key, list] : changes_) {
    std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
    for (const auto& change : list) {
      change_times_.push_back(change.at);
      TimePoint hour = std::chrono::floor<std::chrono::hours>(change.at);
      if (hour != change.at) split_hours_.insert(hour);
    }
  }
  std::sort(change_times_.begin(), change_times_.end());
  change_times_.erase(std::unique(change_times_.begin(), change_times_.end()), change_times_.end());
}

bool ActivationTimeline::active(std::string_view key, TimePoint at) const {
  auto it = changes_.find(key);
  if (it == changes_.end()) return false;
  const auto& list = it->second;
  auto after = std::upper_bound(list.begin(), list.end(), at, [](TimePoint t, const auto& c) { return t < c.at; });
  return after != list.begin() && std::prev(after)->active;
}

std::vector<Tag> ActivationTimeline::active_tags(const std::vector<Tag>& tags, TimePoint at) const {
  std::vector<Tag> out;
  for (const auto& tag : tags) {
    if (active(tag.key, at)) out.push_back(tag);
  }
  return out;
}

size_t ActivationTimeline::epoch(TimePoint at) const {
  return static_cast<size_t>(std::upper_bound(change_times_.begin(), change_times_.end(), at) - change_times_.begin());
}

CostAllocationTags::CostAllocationTags(std::unique_ptr<Database> db) : db_(std::move(db)) {}
CostAllocationTags::~CostAllocationTags() = default;

std::unique_ptr<CostAllocationTags> CostAllocationTags::open(const std::string& path, bool read_only) {
  if (read_only) {
    if (path != ":memory:" && !std::filesystem::exists(path)) {
      return std::unique_ptr<CostAllocationTags>(new CostAllocationTags(nullptr));
    }
    DatabaseOptions options;
    options.read_only = true;
    return std::unique_ptr<CostAllocationTags>(new CostAllocationTags(std::make_unique<Database>(path, options)));
  }
  auto db = std::make_unique<Database>(path);
  db->migrate("cost_allocation", kMigrations);
  return std::unique_ptr<CostAllocationTags>(new CostAllocationTags(std::move(db)));
}

Status CostAllocationTags::note_keys(const std::vector<std::string>& keys, TimePoint now) {
  if (keys.empty()) return {};
  if (!db_) return read_only_error();
  auto guard = db_->lock();
  Transaction tx(*db_);
  TOLLGATE_TRY(tx.begin());
  auto insert = db_->prepare(
      "INSERT INTO cost_allocation_tags (tag_key, active, first_seen_ms) VALUES (?, 0, ?) "
      "ON CONFLICT (tag_key) DO NOTHING");
  if (!insert.ok()) return std::move(insert).error();
  for (const auto& key : keys) {
    insert->reset();
    insert->bind(1, key).bind(2, to_ms(now));
    TOLLGATE_TRY(insert->run());
  }
  return tx.commit();
}

Result<std::vector<CostAllocationTag>> CostAllocationTags::keys() {
  std::vector<CostAllocationTag> out;
  if (!db_) return out;
  auto guard = db_->lock();
  auto stmt =
      db_->prepare("SELECT tag_key, active, last_updated_ms, first_seen_ms FROM cost_allocation_tags ORDER BY tag_key");
  if (!stmt.ok()) return std::move(stmt).error();
  while (true) {
    auto row = stmt->step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) return out;
    CostAllocationTag tag;
    tag.key = stmt->text(0);
    tag.active = stmt->integer(1) != 0;
    if (!stmt->is_null(2)) tag.last_updated = from_ms(stmt->integer(2));
    tag.first_seen = from_ms(stmt->integer(3));
    out.push_back(std::move(tag));
  }
}

Result<std::vector<StatusUpdateError>> CostAllocationTags::update(const std::vector<StatusUpdate>& updates,
                                                                  TimePoint now) {
  auto result = apply_update(updates, now);
  if (result.ok()) notify_change();
  return result;
}

Result<BackfillRequest> CostAllocationTags::start_backfill(TimePoint from, TimePoint now) {
  auto result = apply_backfill(from, now);
  if (result.ok()) notify_change();
  return result;
}

void CostAllocationTags::on_change(std::function<void()> listener) {
  std::lock_guard lock(listeners_mu_);
  listeners_.push_back(std::move(listener));
}

void CostAllocationTags::notify_change() {
  std::vector<std::function<void()>> listeners;
  {
    std::lock_guard lock(listeners_mu_);
    listeners = listeners_;
  }
  for (const auto& listener : listeners) listener();
}

Result<std::vector<StatusUpdateError>> CostAllocationTags::apply_update(const std::vector<StatusUpdate>& updates,
                                                                        TimePoint now) {
  if (updates.empty() || updates.size() > 20) {
    return Error(ErrorCode::Validation, "CostAllocationTagsStatus must hold 1 to 20 entries; it holds " +
                                            std::to_string(updates.size()) + ".");
  }
  for (size_t i = 0; i < updates.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (updates[i].key == updates[j].key) {
        return Error(ErrorCode::Validation,
                     "The tag key '" + updates[i].key + "' appears twice in CostAllocationTagsStatus; list it once.");
      }
    }
  }
  if (!db_) return read_only_error();
  auto guard = db_->lock();
  Transaction tx(*db_);
  TOLLGATE_TRY(tx.begin());
  auto current = db_->prepare("SELECT active FROM cost_allocation_tags WHERE tag_key = ?");
  auto set = db_->prepare("UPDATE cost_allocation_tags SET active = ?, last_updated_ms = ? WHERE tag_key = ?");
  auto change = db_->prepare(
      "INSERT INTO cost_allocation_tag_changes (tag_key, at_ms, active) VALUES (?, ?, ?) "
      "ON CONFLICT (tag_key, at_ms) DO UPDATE SET active = excluded.active");
  if (!current.ok()) return std::move(current).error();
  if (!set.ok()) return std::move(set).error();
  if (!change.ok()) return std::move(change).error();
  std::vector<StatusUpdateError> errors;
  for (const auto& u : updates) {
    current->reset();
    current->bind(1, u.key);
    auto row = current->step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) {
      errors.push_back({u.key, "TagKeysNotFoundException",
                        "Failed to update Cost Allocation Tag: " + u.key +
                            " (no profile has carried this tag key; tag a profile with it first)"});
      continue;
    }
    if ((current->integer(0) != 0) == u.active) continue;
    current->reset();
    set->reset();
    set->bind(1, int64_t{u.active}).bind(2, to_ms(now)).bind(3, u.key);
    TOLLGATE_TRY(set->run());
    change->reset();
    change->bind(1, u.key).bind(2, to_ms(now)).bind(3, int64_t{u.active});
    TOLLGATE_TRY(change->run());
  }
  TOLLGATE_TRY(tx.commit());
  return errors;
}

Result<BackfillRequest> CostAllocationTags::apply_backfill(TimePoint from, TimePoint now) {
  if (month_start(from) != from) {
    return Error(ErrorCode::Validation,
                 "BackfillFrom must be 00:00:00 UTC on the first day of a month, e.g. 2026-06-01T00:00:00Z.");
  }
  if (from > now) return Error(ErrorCode::Validation, "BackfillFrom must not be in the future.");
  if (from < month_start(now, -12)) {
    return Error(ErrorCode::Validation, "BackfillFrom can be at most 12 months before the current month.");
  }
  if (!db_) return read_only_error();
  auto guard = db_->lock();
  Transaction tx(*db_);
  TOLLGATE_TRY(tx.begin());
  {
    auto last = db_->prepare("SELECT MAX(requested_at_ms) FROM cost_allocation_backfills");
    if (!last.ok()) return std::move(last).error();
    auto row = last->step();
    if (!row.ok()) return std::move(row).error();
    if (*row && !last->is_null(0) && from_ms(last->integer(0)) + std::chrono::hours(24) > now) {
      return Error(ErrorCode::BackfillLimitExceeded,
                   "A backfill was requested less than 24 hours ago; one request is allowed per 24 hours.");
    }
  }
  // Every key's changes from `from` on give way to its current status, from `from`.
  auto clear = db_->prepare("DELETE FROM cost_allocation_tag_changes WHERE at_ms >= ?");
  if (!clear.ok()) return std::move(clear).error();
  TOLLGATE_TRY(clear->bind(1, to_ms(from)).run());
  auto reapply = db_->prepare(
      "INSERT INTO cost_allocation_tag_changes (tag_key, at_ms, active) SELECT tag_key, ?, active "
      "FROM cost_allocation_tags");
  if (!reapply.ok()) return std::move(reapply).error();
  TOLLGATE_TRY(reapply->bind(1, to_ms(from)).run());
  BackfillRequest request{from, now, now, "SUCCEEDED", now};
  auto insert = db_->prepare(
      "INSERT INTO cost_allocation_backfills (requested_at_ms, backfill_from_ms, status, completed_at_ms, "
      "last_updated_ms) VALUES (?, ?, ?, ?, ?)");
  if (!insert.ok()) return std::move(insert).error();
  insert->bind(1, to_ms(now)).bind(2, to_ms(from)).bind(3, request.status).bind(4, to_ms(now)).bind(5, to_ms(now));
  TOLLGATE_TRY(insert->run());
  TOLLGATE_TRY(tx.commit());
  return request;
}

Result<std::vector<BackfillRequest>> CostAllocationTags::backfills() {
  std::vector<BackfillRequest> out;
  if (!db_) return out;
  auto guard = db_->lock();
  auto stmt = db_->prepare(
      "SELECT backfill_from_ms, requested_at_ms, completed_at_ms, status, last_updated_ms "
      "FROM cost_allocation_backfills ORDER BY requested_at_ms DESC");
  if (!stmt.ok()) return std::move(stmt).error();
  while (true) {
    auto row = stmt->step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) return out;
    BackfillRequest r;
    r.backfill_from = from_ms(stmt->integer(0));
    r.requested_at = from_ms(stmt->integer(1));
    if (!stmt->is_null(2)) r.completed_at = from_ms(stmt->integer(2));
    r.status = stmt->text(3);
    r.last_updated_at = from_ms(stmt->integer(4));
    out.push_back(std::move(r));
  }
}

Result<ActivationTimeline> CostAllocationTags::timeline() {
  std::map<std::string, std::vector<StatusChange>, std::less<>> changes;
  if (!db_) return ActivationTimeline(std::move(changes));
  auto guard = db_->lock();
  auto stmt = db_->prepare("SELECT tag_key, at_ms, active FROM cost_allocation_tag_changes ORDER BY tag_key, at_ms");
  if (!stmt.ok()) return std::move(stmt).error();
  while (true) {
    auto row = stmt->step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) break;
    changes[stmt->text(0)].push_back({from_ms(stmt->integer(1)), stmt->integer(2) != 0});
  }
  return ActivationTimeline(std::move(changes));
}

}  // namespace tollgate::costs
