// Cost-allocation tags, with AWS's semantics: a tag key counts in cost reports only while it is *active*,
// and only for usage at or after the moment it was activated. Every user tag key ever put on a profile is
// known here (inactive until someone activates it). A backfill re-applies the current status of every key
// to earlier usage, from the first of a month.
//
// ActivationTimeline is the pure part: each key's status changes over time, asked "was key K active at
// time T?". CostAllocationTags keeps the keys, their changes and the backfill requests in SQLite
// (<data_dir>/billing.db) and hands out the timeline that reports use. doc/costs.md, "Cost-allocation
// tags", has the rules.
//
// Thread-safety: ActivationTimeline is immutable once built; CostAllocationTags serialises its calls on
// its connection's lock.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "core/tag.h"

namespace tollgate::store::sqlite {
class Database;
}

namespace tollgate::costs {

struct StatusChange {
  TimePoint at;
  bool active;
};

class ActivationTimeline {
 public:
  ActivationTimeline() = default;
  // `changes` per key, in any order; the last change at or before a time decides the status then.
  explicit ActivationTimeline(std::map<std::string, std::vector<StatusChange>, std::less<>> changes);

  bool active(std::string_view key, TimePoint at) const;
  // The tags of `tags` whose key was active at `at`, in the order given.
  std::vector<Tag> active_tags(const std::vector<Tag>& tags, TimePoint at) const;
  // A number that is equal for two times between which no key changed status: what active_tags depends on.
  size_t epoch(TimePoint at) const;
  // Starts of the UTC hours inside which (not at whose start) some key changed status: hourly rollups
  // cannot say which of that hour's usage came before the change.
  const std::set<TimePoint>& split_hours() const { return split_hours_; }

 private:
  std::map<std::string, std::vector<StatusChange>, std::less<>> changes_;  // each sorted by time
  std::vector<TimePoint> change_times_;                                    // all keys, sorted, unique
  std::set<TimePoint> split_hours_;
};

struct CostAllocationTag {
  std::string key;
  bool active = false;
  std::optional<TimePoint> last_updated;  // the last status change (absent: never changed)
  TimePoint first_seen;
};

struct StatusUpdate {
  std::string key;
  bool active;
};

// A key that could not be updated, and why.
struct StatusUpdateError {
  std::string key;
  std::string code;
  std::string message;
};

struct BackfillRequest {
  TimePoint backfill_from;
  TimePoint requested_at;
  std::optional<TimePoint> completed_at;
  std::string status;  // SUCCEEDED | PROCESSING | FAILED
  TimePoint last_updated_at;
};

class CostAllocationTags {
 public:
  // Opens (creating and migrating if needed) the "cost_allocation" tables at `path`. With read_only, a
  // missing file is an empty, all-inactive state. Throws StartupError when it cannot open.
  static std::unique_ptr<CostAllocationTags> open(const std::string& path, bool read_only = false);
  ~CostAllocationTags();

  // Records keys seen on a profile (as inactive keys) unless already known.
  Status note_keys(const std::vector<std::string>& keys, TimePoint now);
  // Every known key, sorted.
  Result<std::vector<CostAllocationTag>> keys();
  // Applies the updates (1 to 20, each key at most once). Keys never seen are returned as errors and change
  // nothing; setting a key to its current status changes nothing.
  Result<std::vector<StatusUpdateError>> update(const std::vector<StatusUpdate>& updates, TimePoint now);
  // Re-applies every key's current status to usage from `from` on. `from` must be 00:00 UTC on the first of
  // a month, at most 12 months before the current month and not in the future; one request per 24 hours
  // (BackfillLimitExceededException). Completes at once.
  Result<BackfillRequest> start_backfill(TimePoint from, TimePoint now);
  // Newest first.
  Result<std::vector<BackfillRequest>> backfills();
  Result<ActivationTimeline> timeline();
  // Calls `listener` after each successful update() or start_backfill() (on that caller's thread, with no
  // lock of this object held): what depends on the timeline re-reads it.
  void on_change(std::function<void()> listener);

 private:
  explicit CostAllocationTags(std::unique_ptr<store::sqlite::Database> db);
  Result<std::vector<StatusUpdateError>> apply_update(const std::vector<StatusUpdate>& updates, TimePoint now);
  Result<BackfillRequest> apply_backfill(TimePoint from, TimePoint now);
  void notify_change();

  std::unique_ptr<store::sqlite::Database> db_;  // null: read-only and no file yet
  std::mutex listeners_mu_;
  std::vector<std::function<void()>> listeners_;
};

// The first instant of the UTC month of `t`, and of the month `months` later (negative: earlier).
TimePoint month_start(TimePoint t, int months = 0);

}  // namespace tollgate::costs
