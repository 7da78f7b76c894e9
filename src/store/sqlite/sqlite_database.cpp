#include "store/sqlite/sqlite_database.h"

#include <sqlite3.h>

#include <string>
#include <vector>

namespace tollgate::store::sqlite {

Database::Database(const std::string& path) : Database(path, DatabaseOptions{}) {}

Database::Database(const std::string& path, const DatabaseOptions& options) {
  int flags =
      (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw StartupError("cannot open the database " + path + ": " + message);
  }
  sqlite3_busy_timeout(db_, 5000);
  std::vector<std::string> pragmas;
  if (options.read_only) {
    pragmas = {"PRAGMA query_only=ON", "PRAGMA foreign_keys=ON"};
  } else {
    // page_size first: a new database gets its page size when it is first written, which the switch to WAL does.
    if (options.page_size > 0) pragmas.push_back("PRAGMA page_size=" + std::to_string(options.page_size));
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
      pragmas.emplace_back(pragma);
    }
  }
  for (const auto& pragma : pragmas) {
    if (auto s = exec(pragma); !s.ok()) {
      sqlite3_close(db_);
      db_ = nullptr;
      throw StartupError("cannot configure the database " + path + ": " + s.error().detail());
    }
  }
}

Database::~Database() { sqlite3_close(db_); }

int Database::changes() const { return sqlite3_changes(db_); }

void Database::set_wal_hook(std::function<void(int wal_frames)> hook) {
  wal_hook_ = std::move(hook);
  if (!wal_hook_) {
    sqlite3_wal_hook(db_, nullptr, nullptr);
    return;
  }
  sqlite3_wal_hook(
      db_,
      [](void* self, sqlite3*, const char*, int frames) {
        static_cast<Database*>(self)->wal_hook_(frames);
        return SQLITE_OK;
      },
      this);
}

Status Database::checkpoint_passive() {
  if (sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) != SQLITE_OK) {
    return error("checkpoint");
  }
  return {};
}

Error Database::error(std::string_view what) const {
  return Error(ErrorCode::InternalServer,
               "The service could not complete the request because of a storage error; retry it.",
               std::string(what) + ": " + sqlite3_errmsg(db_));
}

Status Database::exec(std::string_view sql) {
  char* message = nullptr;
  std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string detail = text + ": " + (message ? message : "unknown error");
    sqlite3_free(message);
    return Error(ErrorCode::InternalServer,
                 "The service could not complete the request because of a storage error; retry it.", detail);
  }
  return {};
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK) {
    return error("prepare " + std::string(sql));
  }
  return Statement(*this, stmt);
}

void Database::migrate(std::string_view component, const std::vector<Migration>& migrations) {
  auto guard = lock();
  auto fail = [&](const Status& s) {
    throw StartupError("schema migration of " + std::string(component) + " failed: " + s.error().detail());
  };
  if (auto s = exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " component TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,"
                    " PRIMARY KEY (component, version))");
      !s.ok()) {
    fail(s);
  }
  int64_t current = 0;
  {
    auto stmt = prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE component = ?");
    if (!stmt.ok()) fail(stmt.error());
    stmt->bind(1, component);
    if (auto row = stmt->step(); !row.ok()) fail(row.error());
    current = stmt->integer(0);
  }
  int latest = migrations.empty() ? 0 : migrations.back().version;
  if (current > latest) {
    throw StartupError("the database schema of " + std::string(component) + " is at version " +
                       std::to_string(current) + ", newer than this tollgate (" + std::to_string(latest) +
                       "); use a newer tollgate or another data directory");
  }
  for (const auto& m : migrations) {
    if (m.version <= current) continue;
    Transaction tx(*this);
    if (auto s = tx.begin(); !s.ok()) fail(s);
    if (auto s = exec(m.sql); !s.ok()) fail(s);
    if (m.then) {
      if (auto s = m.then(*this); !s.ok()) fail(s);
    }
    auto record =
        prepare("INSERT INTO schema_migrations (component, version, applied_at) VALUES (?, ?, datetime('now'))");
    if (!record.ok()) fail(record.error());
    record->bind(1, component).bind(2, m.version);
    if (auto s = record->run(); !s.ok()) fail(s);
    if (auto s = tx.commit(); !s.ok()) fail(s);
  }
}

Transaction::Transaction(Database& db) : db_(db) {}

Transaction::~Transaction() {
  if (open_) (void)db_.exec("ROLLBACK");
}

Status Transaction::begin() {
  TOLLGATE_TRY(db_.exec("BEGIN IMMEDIATE"));
  open_ = true;
  return {};
}

Status Transaction::commit() {
  TOLLGATE_TRY(db_.exec("COMMIT"));
  open_ = false;
  return {};
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  constraint_failed_ = false;
}

Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind_static(int index, std::string_view text) {
  // A null pointer would bind NULL: an empty view of nothing is still the empty text.
  sqlite3_bind_text(stmt_, index, text.data() ? text.data() : "", static_cast<int>(text.size()), SQLITE_STATIC);
  return *this;
}

Statement& Statement::bind_blob_static(int index, const void* data, size_t size) {
  sqlite3_bind_blob(stmt_, index, data ? data : "", static_cast<int>(size), SQLITE_STATIC);
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  constraint_failed_ = (rc & 0xff) == SQLITE_CONSTRAINT;
  return db_->error(std::string("step ") + sqlite3_sql(stmt_));
}

Status Statement::run() {
  while (true) {
    auto row = step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) return {};
  }
}

std::string Statement::text(int column) const { return std::string(text_view(column)); }

std::string_view Statement::text_view(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  return p ? std::string_view(reinterpret_cast<const char*>(p),
                              static_cast<size_t>(sqlite3_column_bytes(stmt_, column)))
           : std::string_view();
}

int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

bool Statement::is_blob(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_BLOB; }

std::string Statement::blob(int column) const {
  const void* p = sqlite3_column_blob(stmt_, column);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, column)))
           : std::string();
}

int64_t to_ms(TimePoint t) { return std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count(); }
TimePoint from_ms(int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

std::string join_lines(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out.push_back('\n');
    out += item;
  }
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace tollgate::store::sqlite
