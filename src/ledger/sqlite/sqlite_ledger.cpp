#include "ledger/sqlite/sqlite_ledger.h"

#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>

#include "ledger/tag_set.h"
#include "store/sqlite/sqlite_database.h"

namespace tollgate::ledger::sqlite {
namespace {

using store::sqlite::Database;
using store::sqlite::Migration;
using store::sqlite::Statement;
using store::sqlite::Transaction;

// Versioned schema of component "ledger"; append, never edit a released step.
// The specification is doc/ledger.md.
const std::vector<Migration> kMigrations = {
    {1, R"sql(
CREATE TABLE usage_records (
  request_id                TEXT    NOT NULL PRIMARY KEY,
  start_time_ms             INTEGER NOT NULL,  -- UTC, milliseconds since the epoch
  end_time_ms               INTEGER NOT NULL,
  account_id                TEXT    NOT NULL,
  principal                 TEXT    NOT NULL,
  operation                 TEXT    NOT NULL,
  resource_arn              TEXT    NOT NULL,
  profile_arn               TEXT    NOT NULL,  -- '' for a bare model
  model_id                  TEXT    NOT NULL,
  billing_region            TEXT    NOT NULL,
  served_region             TEXT    NOT NULL,
  input_tokens              INTEGER NOT NULL,
  output_tokens             INTEGER NOT NULL,
  cache_read_tokens         INTEGER NOT NULL,
  cache_write_tokens        INTEGER NOT NULL,
  input_cost_nano_usd       INTEGER NOT NULL,
  output_cost_nano_usd      INTEGER NOT NULL,
  cache_read_cost_nano_usd  INTEGER NOT NULL,
  cache_write_cost_nano_usd INTEGER NOT NULL,
  price_missing             INTEGER NOT NULL CHECK (price_missing IN (0, 1)),
  tags                      TEXT    NOT NULL,  -- canonical tag set, e.g. [["env","prod"],["team","growth"]]
  status                    TEXT    NOT NULL
    CHECK (status IN ('success', 'client_cancelled', 'upstream_cut', 'model_error')),
  latency_ms                INTEGER NOT NULL
);
CREATE INDEX usage_records_start_time ON usage_records (start_time_ms);
CREATE INDEX usage_records_profile_start_time ON usage_records (profile_arn, start_time_ms);
CREATE TABLE usage_hourly (
  hour_ms        INTEGER NOT NULL,  -- start of the UTC hour of the records' start_time
  account_id     TEXT    NOT NULL,
  profile_arn    TEXT    NOT NULL,
  tag_set        TEXT    NOT NULL,
  model_id       TEXT    NOT NULL,
  billing_region TEXT    NOT NULL,
  usage_type     TEXT    NOT NULL CHECK (usage_type IN ('input', 'output', 'cache-read', 'cache-write')),
  tokens         INTEGER NOT NULL,
  cost_nano_usd  INTEGER NOT NULL,
  records        INTEGER NOT NULL,
  PRIMARY KEY (hour_ms, account_id, profile_arn, tag_set, model_id, billing_region, usage_type)
) WITHOUT ROWID;
)sql"},
};

constexpr std::string_view kInsertRecord =
    "INSERT INTO usage_records (request_id, start_time_ms, end_time_ms, account_id, principal, operation,"
    " resource_arn, profile_arn, model_id, billing_region, served_region, input_tokens, output_tokens,"
    " cache_read_tokens, cache_write_tokens, input_cost_nano_usd, output_cost_nano_usd, cache_read_cost_nano_usd,"
    " cache_write_cost_nano_usd, price_missing, tags, status, latency_ms)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (request_id) DO NOTHING";

constexpr std::string_view kUpsertRollup =
    "INSERT INTO usage_hourly (hour_ms, account_id, profile_arn, tag_set, model_id, billing_region, usage_type,"
    " tokens, cost_nano_usd, records) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (hour_ms, account_id, profile_arn, tag_set, model_id, billing_region, usage_type) DO UPDATE SET"
    " tokens = tokens + excluded.tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd,"
    " records = records + excluded.records";

constexpr std::string_view kRecordColumns =
    "request_id, start_time_ms, end_time_ms, account_id, principal, operation, resource_arn, profile_arn, model_id,"
    " billing_region, served_region, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,"
    " input_cost_nano_usd, output_cost_nano_usd, cache_read_cost_nano_usd, cache_write_cost_nano_usd,"
    " price_missing, tags, status, latency_ms";

constexpr int64_t kHourMs = 3'600'000;

// Stored times are whole milliseconds: a time is stored as its floor.
int64_t floor_ms(TimePoint t) { return std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count(); }

// A filter bound `t` compares to stored floor(x): x >= t ⇔ floor(x) >= ceil(t), x < t ⇔ floor(x) < ceil(t).
int64_t ceil_ms(TimePoint t) { return std::chrono::ceil<std::chrono::milliseconds>(t.time_since_epoch()).count(); }

TimePoint from_ms(int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

int64_t hour_of(int64_t ms) {
  int64_t h = ms / kHourMs;
  if (ms % kHourMs < 0) --h;  // floor for times before the epoch
  return h * kHourMs;
}

Error storage_error(std::string detail) {
  return Error(ErrorCode::InternalServer,
               "The service could not complete the request because of a storage error; retry it.", std::move(detail));
}

Error closed_error() {
  return Error(ErrorCode::ServiceUnavailable,
               "The service is shutting down and cannot record usage; retry the request.",
               "append to a closed usage ledger");
}

struct Item {
  UsageRecord record;
  std::string tag_set;  // canonical, computed by append() on the caller's thread
  int64_t hour_ms = 0;
  Ledger::Done done;
};

// One rollup row of a batch, summed in memory before its single upsert.
using RollupKey = std::tuple<int64_t, std::string_view, std::string_view, std::string_view, std::string_view,
                             std::string_view, TokenType>;
struct RollupSum {
  int64_t tokens = 0;
  int64_t cost = 0;
  int64_t records = 0;
};

}  // namespace

class SqliteLedger::Impl {
 public:
  explicit Impl(const SqliteLedgerOptions& options)
      : max_batch_(std::max<size_t>(options.max_batch, 1)), max_delay_(std::max(options.max_delay, {})) {
    db_ = std::make_unique<Database>(options.path);
    // The writer's settings (see the header and doc/ledger.md): durability mode; a 64 MiB page cache, since
    // the random request_id index touches pages all over; checkpoints every ~32 MiB of WAL rather than 4 MiB
    // (a page rewritten by many group commits is copied to the database once), the WAL file cut back to
    // 64 MiB after one.
    for (const char* pragma :
         {options.fsync_each_commit ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
          "PRAGMA cache_size=-65536", "PRAGMA wal_autocheckpoint=8192", "PRAGMA journal_size_limit=67108864"}) {
      if (auto s = db_->exec(pragma); !s.ok()) {
        throw StartupError("cannot configure the usage ledger " + options.path + ": " + s.error().detail());
      }
    }
    db_->migrate("ledger", kMigrations);
    {
      auto insert = db_->prepare(kInsertRecord);
      auto upsert = db_->prepare(kUpsertRollup);
      if (!insert.ok()) throw StartupError("usage ledger " + options.path + ": " + insert.error().detail());
      if (!upsert.ok()) throw StartupError("usage ledger " + options.path + ": " + upsert.error().detail());
      insert_.emplace(std::move(insert).value());
      upsert_.emplace(std::move(upsert).value());
    }
    if (options.path == ":memory:" || options.path.empty()) {
      reader_ = db_.get();  // a private database: one connection, shared under its lock
    } else {
      reader_db_ = std::make_unique<Database>(options.path);
      if (auto s = reader_db_->exec("PRAGMA query_only=ON"); !s.ok()) {
        throw StartupError("cannot configure the usage ledger " + options.path + ": " + s.error().detail());
      }
      reader_ = reader_db_.get();
    }
    writer_ = std::thread([this] { run(); });
  }

  ~Impl() { close(); }

  void append(UsageRecord record, Done done) {
    Item item{std::move(record), {}, 0, std::move(done)};
    item.tag_set = canonical_tag_set(item.record.tags);
    item.hour_ms = hour_of(floor_ms(item.record.start_time));
    bool wake = false;
    bool rejected = false;
    {
      std::lock_guard lock(mu_);
      if (closing_) {
        rejected = true;
      } else {
        queue_.push_back(std::move(item));
        appended_.fetch_add(1, std::memory_order_relaxed);
        if (queue_.size() >= wake_at_) {  // the writer waits for exactly this
          wake_at_ = kNoWake;
          wake = true;
        }
      }
    }
    if (wake) cv_.notify_one();
    if (rejected) call(item.done, closed_error());
  }

  void close() {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    cv_.notify_one();
    if (std::this_thread::get_id() == writer_.get_id()) return;  // from a `done`: the destructor joins
    std::lock_guard join_lock(join_mu_);
    if (writer_.joinable()) writer_.join();
  }

  SqliteLedgerStats stats() const {
    SqliteLedgerStats s;
    s.appended = appended_.load(std::memory_order_relaxed);
    s.commits = commits_.load(std::memory_order_relaxed);
    s.failed_commits = failed_commits_.load(std::memory_order_relaxed);
    s.acknowledged = acknowledged_.load(std::memory_order_relaxed);
    s.inserted = inserted_.load(std::memory_order_relaxed);
    s.duplicates = duplicates_.load(std::memory_order_relaxed);
    s.largest_batch = largest_batch_.load(std::memory_order_relaxed);
    return s;
  }

  Result<std::vector<UsageRecord>> query(const UsageQuery& q) {
    std::string sql = "SELECT " + std::string(kRecordColumns) + " FROM usage_records WHERE 1";
    if (q.since) sql += " AND start_time_ms >= ?";
    if (q.until) sql += " AND start_time_ms < ?";
    if (q.account_id) sql += " AND account_id = ?";
    if (q.profile_arn) sql += " AND profile_arn = ?";
    sql += " ORDER BY start_time_ms DESC, rowid DESC LIMIT ?";
    auto guard = reader_->lock();
    auto stmt = reader_->prepare(sql);
    if (!stmt.ok()) return std::move(stmt).error();
    int i = 1;
    if (q.since) stmt->bind(i++, ceil_ms(*q.since));
    if (q.until) stmt->bind(i++, ceil_ms(*q.until));
    if (q.account_id) stmt->bind(i++, *q.account_id);
    if (q.profile_arn) stmt->bind(i++, *q.profile_arn);
    stmt->bind(i++, static_cast<int64_t>(std::min<size_t>(q.limit, std::numeric_limits<int64_t>::max())));
    std::vector<UsageRecord> out;
    while (true) {
      auto row = stmt->step();
      if (!row.ok()) return std::move(row).error();
      if (!*row) break;
      UsageRecord r;
      int c = 0;
      r.request_id = stmt->text(c++);
      r.start_time = from_ms(stmt->integer(c++));
      r.end_time = from_ms(stmt->integer(c++));
      r.account_id = stmt->text(c++);
      r.principal = stmt->text(c++);
      r.operation = stmt->text(c++);
      r.resource_arn = stmt->text(c++);
      r.profile_arn = stmt->text(c++);
      r.model_id = stmt->text(c++);
      r.billing_region = stmt->text(c++);
      r.served_region = stmt->text(c++);
      r.tokens.input = stmt->integer(c++);
      r.tokens.output = stmt->integer(c++);
      r.tokens.cache_read = stmt->integer(c++);
      r.tokens.cache_write = stmt->integer(c++);
      r.costs.input_nano_usd = stmt->integer(c++);
      r.costs.output_nano_usd = stmt->integer(c++);
      r.costs.cache_read_nano_usd = stmt->integer(c++);
      r.costs.cache_write_nano_usd = stmt->integer(c++);
      r.price_missing = stmt->integer(c++) != 0;
      if (std::string tags = stmt->text(c++); !parse_tag_set(tags, r.tags)) {
        return storage_error("usage record " + r.request_id + " has malformed tags: " + tags);
      }
      if (std::string status = stmt->text(c++); !parse_usage_status(status, r.status)) {
        return storage_error("usage record " + r.request_id + " has an unknown status: " + status);
      }
      r.latency_ms = stmt->integer(c++);
      out.push_back(std::move(r));
    }
    return out;
  }

  Result<std::vector<HourlyRollup>> rollups(const RollupQuery& q) {
    std::string sql =
        "SELECT hour_ms, account_id, profile_arn, tag_set, model_id, billing_region, usage_type, tokens,"
        " cost_nano_usd, records FROM usage_hourly WHERE 1";
    if (q.since) sql += " AND hour_ms >= ?";
    if (q.until) sql += " AND hour_ms < ?";
    if (q.account_id) sql += " AND account_id = ?";
    sql += " ORDER BY hour_ms, account_id, profile_arn, tag_set, model_id, billing_region, usage_type";
    auto guard = reader_->lock();
    auto stmt = reader_->prepare(sql);
    if (!stmt.ok()) return std::move(stmt).error();
    int i = 1;
    if (q.since) stmt->bind(i++, ceil_ms(*q.since));
    if (q.until) stmt->bind(i++, ceil_ms(*q.until));
    if (q.account_id) stmt->bind(i++, *q.account_id);
    std::vector<HourlyRollup> out;
    while (true) {
      auto row = stmt->step();
      if (!row.ok()) return std::move(row).error();
      if (!*row) break;
      HourlyRollup r;
      r.hour = from_ms(stmt->integer(0));
      r.account_id = stmt->text(1);
      r.profile_arn = stmt->text(2);
      r.tag_set = stmt->text(3);
      r.model_id = stmt->text(4);
      r.billing_region = stmt->text(5);
      if (std::string type = stmt->text(6); !parse_token_type(type, r.usage_type)) {
        return storage_error("usage rollup has an unknown usage type: " + type);
      }
      r.tokens = stmt->integer(7);
      r.cost_nano_usd = stmt->integer(8);
      r.records = stmt->integer(9);
      out.push_back(std::move(r));
    }
    return out;
  }

 private:
  static constexpr size_t kNoWake = std::numeric_limits<size_t>::max();

  static void call(const Done& done, const Status& status) {
    if (!done) return;
    try {
      done(status);
    } catch (...) {  // a `done` must not throw; the writer must outlive one that does
    }
  }

  // The writer thread.
  void run() {
    pthread_setname_np(pthread_self(), "ledger-writer");
    std::vector<Item> batch;
    batch.reserve(max_batch_);
    size_t target = 1;  // size of the previous batch: how many records to wait for (at most max_delay)
    while (true) {
      {
        std::unique_lock lock(mu_);
        wake_at_ = 1;
        cv_.wait(lock, [&] { return !queue_.empty() || closing_; });
        if (queue_.empty()) return;  // closing and drained
        if (!closing_ && queue_.size() < target && max_delay_.count() > 0) {
          wake_at_ = target;
          cv_.wait_for(lock, max_delay_, [&] { return queue_.size() >= target || closing_; });
        }
        wake_at_ = kNoWake;
        size_t n = std::min(queue_.size(), max_batch_);
        for (size_t k = 0; k < n; ++k) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      Status status = write(batch);
      for (const auto& item : batch) call(item.done, status);
      target = batch.size();
      batch.clear();
    }
  }

  // Writes and commits one batch; on failure nothing of it is stored.
  Status write(const std::vector<Item>& batch) {
    Status status = write_transaction(batch);
    if (status.ok()) {
      commits_.fetch_add(1, std::memory_order_relaxed);
      acknowledged_.fetch_add(batch.size(), std::memory_order_relaxed);
      inserted_.fetch_add(batch_inserted_, std::memory_order_relaxed);
      duplicates_.fetch_add(batch.size() - batch_inserted_, std::memory_order_relaxed);
      if (batch.size() > largest_batch_.load(std::memory_order_relaxed)) {
        largest_batch_.store(batch.size(), std::memory_order_relaxed);
      }
    } else {
      failed_commits_.fetch_add(1, std::memory_order_relaxed);
    }
    return status;
  }

  Status write_transaction(const std::vector<Item>& batch) {
    auto guard = db_->lock();
    Transaction tx(*db_);
    // Leaves both statements reset (after an error too) before the transaction ends.
    struct ResetStatements {
      Impl& impl;
      ~ResetStatements() {
        impl.insert_->reset();
        impl.upsert_->reset();
      }
    } reset_statements{*this};
    TOLLGATE_TRY(tx.begin());
    batch_inserted_ = 0;
    sums_.clear();
    Statement& insert = *insert_;
    order_.resize(batch.size());
    for (size_t k = 0; k < batch.size(); ++k) order_[k] = &batch[k];
    // In request_id order: consecutive inserts into the (random) request_id index then walk neighbouring pages.
    // Stable, so that of two records with one request_id the one appended first is the one stored.
    std::stable_sort(order_.begin(), order_.end(),
                     [](const Item* a, const Item* b) { return a->record.request_id < b->record.request_id; });
    for (const Item* item_ptr : order_) {
      const Item& item = *item_ptr;
      const UsageRecord& r = item.record;
      insert.reset();
      insert.bind(1, r.request_id)
          .bind(2, floor_ms(r.start_time))
          .bind(3, floor_ms(r.end_time))
          .bind(4, r.account_id)
          .bind(5, r.principal)
          .bind(6, r.operation)
          .bind(7, r.resource_arn)
          .bind(8, r.profile_arn)
          .bind(9, r.model_id)
          .bind(10, r.billing_region)
          .bind(11, r.served_region)
          .bind(12, r.tokens.input)
          .bind(13, r.tokens.output)
          .bind(14, r.tokens.cache_read)
          .bind(15, r.tokens.cache_write)
          .bind(16, r.costs.input_nano_usd)
          .bind(17, r.costs.output_nano_usd)
          .bind(18, r.costs.cache_read_nano_usd)
          .bind(19, r.costs.cache_write_nano_usd)
          .bind(20, int64_t{r.price_missing ? 1 : 0})
          .bind(21, item.tag_set)
          .bind(22, to_string(r.status))
          .bind(23, r.latency_ms);
      TOLLGATE_TRY(insert.run());
      if (db_->changes() != 1) continue;  // already stored: counted once, when it was first inserted
      ++batch_inserted_;
      const std::array<std::tuple<TokenType, int64_t, int64_t>, 4> usage = {{
          {TokenType::Input, r.tokens.input, r.costs.input_nano_usd},
          {TokenType::Output, r.tokens.output, r.costs.output_nano_usd},
          {TokenType::CacheRead, r.tokens.cache_read, r.costs.cache_read_nano_usd},
          {TokenType::CacheWrite, r.tokens.cache_write, r.costs.cache_write_nano_usd},
      }};
      for (const auto& [type, tokens, cost] : usage) {
        if (tokens <= 0 && cost <= 0) continue;
        RollupSum& sum =
            sums_[{item.hour_ms, r.account_id, r.profile_arn, item.tag_set, r.model_id, r.billing_region, type}];
        sum.tokens += tokens;
        sum.cost += cost;
        sum.records += 1;
      }
    }
    Statement& upsert = *upsert_;
    for (const auto& [key, sum] : sums_) {
      const auto& [hour, account, profile, tag_set, model, region, type] = key;
      upsert.reset();
      upsert.bind(1, hour)
          .bind(2, account)
          .bind(3, profile)
          .bind(4, tag_set)
          .bind(5, model)
          .bind(6, region)
          .bind(7, to_string(type))
          .bind(8, sum.tokens)
          .bind(9, sum.cost)
          .bind(10, sum.records);
      TOLLGATE_TRY(upsert.run());
    }
    TOLLGATE_TRY(tx.commit());
    return {};
  }

  const size_t max_batch_;
  const std::chrono::milliseconds max_delay_;

  std::unique_ptr<Database> db_;         // the writer's connection
  std::unique_ptr<Database> reader_db_;  // read-only connection for query/rollups (null for ":memory:")
  Database* reader_ = nullptr;
  std::optional<Statement> insert_;  // used by the writer thread only
  std::optional<Statement> upsert_;
  std::map<RollupKey, RollupSum> sums_;  // writer thread only: the current batch's rollups
  size_t batch_inserted_ = 0;
  std::vector<const Item*> order_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;    // guarded by mu_
  bool closing_ = false;      // guarded by mu_
  size_t wake_at_ = kNoWake;  // guarded by mu_: queue size at which append() wakes the writer
  std::mutex join_mu_;
  std::thread writer_;

  std::atomic<uint64_t> appended_{0};
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> failed_commits_{0};
  std::atomic<uint64_t> acknowledged_{0};
  std::atomic<uint64_t> inserted_{0};
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<uint64_t> largest_batch_{0};
};

SqliteLedger::SqliteLedger(const SqliteLedgerOptions& options) : impl_(std::make_unique<Impl>(options)) {}
SqliteLedger::~SqliteLedger() = default;
void SqliteLedger::append(UsageRecord record, Done done) { impl_->append(std::move(record), std::move(done)); }
Result<std::vector<UsageRecord>> SqliteLedger::query(const UsageQuery& query) { return impl_->query(query); }
Result<std::vector<HourlyRollup>> SqliteLedger::rollups(const RollupQuery& query) { return impl_->rollups(query); }
void SqliteLedger::close() { impl_->close(); }
SqliteLedgerStats SqliteLedger::stats() const { return impl_->stats(); }

std::unique_ptr<Ledger> open_sqlite_ledger(const SqliteLedgerOptions& options) {
  return std::make_unique<SqliteLedger>(options);
}

}  // namespace tollgate::ledger::sqlite
