// A thin RAII layer over one SQLite connection: WAL mode, foreign keys on,
// versioned schema migrations, and transactions that roll back unless committed.
// sqlite3.h stays in the .cpp files.
//
// Thread-safety: one connection guarded by a mutex; take `lock()` for the span
// of a transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace tollgate::store::sqlite {

class Database;

struct Migration {
  int version;
  std::string_view sql;
  // Optional: runs after `sql`, in the same transaction and with the database's
  // lock held (it must not take lock()), for steps SQL alone cannot do (e.g.
  // converting data with C++). An error fails the migration.
  std::function<Status(Database&)> then = {};
};

struct DatabaseOptions {
  // Opens the file read-only (it must exist): no WAL switch, no synchronous
  // setting, PRAGMA query_only=ON. migrate() fails on such a connection.
  bool read_only = false;
  // Bytes per page (a power of two, 512 to 65536) for a database created by this
  // open; 0 keeps SQLite's default (4096). Ignored for an existing database.
  int page_size = 0;
};

class Statement;

class Database {
 public:
  // Opens (creating if needed) the file at `path`; ":memory:" for a private
  // in-memory database. Throws StartupError when it cannot be opened.
  explicit Database(const std::string& path);
  Database(const std::string& path, const DatabaseOptions& options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Applies, in order and each in its own transaction, the migrations of
  // `component` newer than the version recorded. Throws StartupError on failure
  // or when the database is newer than this binary.
  void migrate(std::string_view component, const std::vector<Migration>& migrations);

  std::unique_lock<std::mutex> lock() { return std::unique_lock(mu_); }
  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  sqlite3* handle() { return db_; }
  // Rows changed by the last INSERT, UPDATE or DELETE.
  int changes() const;

  // Calls `hook` (on the committing thread) with the WAL's size in frames after
  // each commit on this connection; an empty hook removes it. SQLite's automatic
  // checkpoint uses the same hook: setting one turns it off on this connection,
  // and a later PRAGMA wal_autocheckpoint would replace the hook.
  void set_wal_hook(std::function<void(int wal_frames)> hook);
  // A PASSIVE checkpoint on this connection: copies back what it can without
  // waiting for writers or readers. The caller holds the lock.
  Status checkpoint_passive();
  Error error(std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
  std::mutex mu_;
  std::function<void(int)> wal_hook_;
};

// Rolls back on destruction unless commit() succeeded. The caller holds the lock.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Status begin();
  Status commit();

 private:
  Database& db_;
  bool open_ = false;
};

class Statement {
 public:
  Statement(Database& db, sqlite3_stmt* stmt) : db_(&db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, int64_t value);
  Statement& bind_null(int index);
  // Binds without a copy: the bytes must stay alive and unchanged until the
  // statement is reset or the parameter is bound again.
  Statement& bind_static(int index, std::string_view text);
  Statement& bind_blob_static(int index, const void* data, size_t size);
  // Makes the statement ready to run again with new bindings.
  void reset();

  // Steps once: true when a row is available, false when done.
  Result<bool> step();
  // Steps to completion (for statements that return no rows).
  Status run();
  // SQLITE_CONSTRAINT from the last step (a unique or foreign key violation).
  bool constraint_failed() const { return constraint_failed_; }

  std::string text(int column) const;
  // The column's text without a copy: valid until the next step, reset or column access of another type.
  std::string_view text_view(int column) const;
  int64_t integer(int column) const;
  bool is_null(int column) const;
  bool is_blob(int column) const;
  // The bytes of a BLOB (or TEXT) column.
  std::string blob(int column) const;

 private:
  Database* db_;
  sqlite3_stmt* stmt_;
  bool constraint_failed_ = false;
};

// How the stores keep values that SQLite has no type for: a time as integer milliseconds since the epoch
// (UTC), a list of texts without newlines as one TEXT, one per line.
int64_t to_ms(TimePoint t);
TimePoint from_ms(int64_t ms);
std::string join_lines(const std::vector<std::string>& items);
std::vector<std::string> split_lines(const std::string& text);

}  // namespace tollgate::store::sqlite
