// The embedded usage ledger: its own SQLite database file in WAL mode (the
// gateway passes <data_dir>/ledger.db), written by one group-commit writer
// thread. See doc/ledger.md for the schema and the durability contract.
//
// Schema (version 4): the repeated texts of a record (account, principal,
// operation, ARNs, model, Regions, tag set) are interned into a dictionary table,
// ledger_strings, and stored as integer ids; a canonical UUID request id is stored
// as 16 bytes. The writer caches text -> id, so a known text costs no SQL.
// query() and rollups() return the texts. The hourly rollups are keyed by hour,
// account, profile ARN, tag set, model, billing Region, operation and principal.
//
// Group commit: append() only queues the record (computing its canonical tag
// set, request id bytes and text hashes on the caller's thread). The writer
// takes everything queued, up to max_batch records, writes them in ONE
// transaction — each record with INSERT ... ON CONFLICT(request_id) DO NOTHING
// (new dictionary texts in the same transaction), and for each record actually
// inserted the hourly rollups — commits, and only then calls every `done` of the batch:
// ok after the COMMIT returned (the data is then visible to any new
// connection), or the commit's error (nothing of the batch is stored). A lone
// record is written as soon as the writer is free; records that arrive while a
// commit runs share the next one. When the previous batch held several records
// the writer waits up to max_delay for as many to be queued before it starts,
// so a steady stream keeps sharing commits; a lone request never waits for it.
//
// Checkpoints: no commit runs one. When the WAL reaches checkpoint_frames, a
// checkpointer thread (its own connection) copies it back into the database;
// the writer then copies back the few commits made meanwhile between two
// batches, so that the WAL starts over (doc/ledger.md, "Checkpoints").
//
// Durability: fsync_each_commit=false runs with synchronous=NORMAL — an
// acknowledged record survives a crash of the process but may be lost on power
// loss or an OS crash; fsync_each_commit=true runs with synchronous=FULL — one
// fsync of the WAL per group commit, an acknowledged record survives power loss.
//
// Thread-safety: every method may be called from any thread. `done` runs on the
// writer thread (or, for an append after close(), on the caller's thread) and
// must neither block nor throw. query() and rollups() use a second, read-only
// connection (the writer's, under its lock, for ":memory:") and see only
// committed data. With read_only, that connection is the only one: no writer.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "ledger/ledger.h"

namespace tollgate::ledger::sqlite {

struct SqliteLedgerOptions {
  std::string path;                        // the database file; ":memory:" gives a private in-memory ledger (tests)
  bool fsync_each_commit = false;          // synchronous=FULL instead of NORMAL
  size_t max_batch = 1024;                 // records per transaction at most (0 is taken as 1)
  std::chrono::milliseconds max_delay{2};  // longest a batch waits for company (0: never waits)
  // Reads only (e.g. `tollgate usage`): one read-only, query_only connection and no writer thread; append()
  // fails at once (ServiceUnavailable). A database at an older schema version is migrated first (briefly
  // read-write). The file must exist.
  bool read_only = false;
  // WAL size, in frames (pages), at which the checkpointer thread copies the WAL back into the database.
  int checkpoint_frames = 8192;
};

// Counters since open. Each is read atomically, not all at one instant; those of a
// batch are updated before its `done`s are called.
struct SqliteLedgerStats {
  uint64_t appended = 0;        // records accepted into the queue
  uint64_t commits = 0;         // transactions committed
  uint64_t failed_commits = 0;  // transactions that failed (their records got the error)
  uint64_t acknowledged = 0;    // records whose done got ok (duplicates included)
  uint64_t inserted = 0;        // records newly stored
  uint64_t duplicates = 0;      // records acknowledged whose request_id was already stored
  uint64_t largest_batch = 0;   // most records in one transaction
  uint64_t checkpoints = 0;     // checkpoints completed by the checkpointer thread
  uint64_t wal_frames = 0;      // the WAL's size in frames after the last commit
};

class SqliteLedger final : public Ledger {
 public:
  // Opens (creating if needed) the database, migrates the "ledger" schema and
  // starts the writer. Throws StartupError when it cannot open or migrate.
  explicit SqliteLedger(const SqliteLedgerOptions& options);
  // Calls close().
  ~SqliteLedger() override;
  SqliteLedger(const SqliteLedger&) = delete;
  SqliteLedger& operator=(const SqliteLedger&) = delete;

  // After close(), `done` gets a ServiceUnavailable error at once (on the caller's thread).
  void append(UsageRecord record, Done done) override;
  // Records with the filters given, newest start_time first, at most query.limit.
  // Tags come back in canonical order (sorted by key), times to the millisecond.
  Result<std::vector<UsageRecord>> query(const UsageQuery& query) override;
  // Rollup rows with the filters given, ordered by hour (then by the other dimensions).
  Result<std::vector<HourlyRollup>> rollups(const RollupQuery& query) override;
  // Reads ids from usage_hourly and turns them into texts through a cache of the dictionary kept by the
  // reading connection, so a scan costs no per-row string lookups in SQL.
  Status for_each_rollup(const RollupQuery& query, const RollupVisitor& visit) override;
  Result<std::vector<TagSetLastUse>> tag_set_last_use() override;
  // Commits everything queued, then joins the writer. Idempotent. Called from a
  // `done` (the writer thread) it only stops the intake; the writer ends after
  // draining and the destructor joins it.
  void close() override;

  SqliteLedgerStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The factory the gateway uses. Throws StartupError when it cannot open/migrate.
std::unique_ptr<Ledger> open_sqlite_ledger(const SqliteLedgerOptions& options);

}  // namespace tollgate::ledger::sqlite
