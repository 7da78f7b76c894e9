#include "store/sqlite/sqlite_profile_store.h"

#include <chrono>

#include "store/sqlite/sqlite_database.h"

namespace tollgate::store::sqlite {
namespace {

// Versioned schema; append, never edit a released step.
const std::vector<Migration> kMigrations = {
    {1, R"sql(
CREATE TABLE application_profiles (
  account_id           TEXT    NOT NULL,
  region               TEXT    NOT NULL,
  id                   TEXT    NOT NULL,
  name                 TEXT    NOT NULL,
  description          TEXT    NOT NULL,
  source_arn           TEXT    NOT NULL,
  model_arns           TEXT    NOT NULL,  -- newline-separated foundation-model ARNs
  client_request_token TEXT,
  created_at_ms        INTEGER NOT NULL,
  updated_at_ms        INTEGER NOT NULL,
  PRIMARY KEY (account_id, region, id)
);
CREATE UNIQUE INDEX application_profiles_name ON application_profiles (account_id, region, name);
CREATE UNIQUE INDEX application_profiles_token ON application_profiles (account_id, region, client_request_token)
  WHERE client_request_token IS NOT NULL;
CREATE INDEX application_profiles_id ON application_profiles (account_id, id);
CREATE TABLE profile_tags (
  account_id TEXT    NOT NULL,
  region     TEXT    NOT NULL,
  profile_id TEXT    NOT NULL,
  position   INTEGER NOT NULL,
  key        TEXT    NOT NULL,
  value      TEXT    NOT NULL,
  PRIMARY KEY (account_id, region, profile_id, key),
  FOREIGN KEY (account_id, region, profile_id) REFERENCES application_profiles (account_id, region, id)
    ON DELETE CASCADE
);
)sql"},
};

constexpr std::string_view kColumns =
    "account_id, region, id, name, description, source_arn, model_arns, client_request_token, created_at_ms, "
    "updated_at_ms";

class SqliteProfileStore final : public ProfileStore {
 public:
  explicit SqliteProfileStore(const std::string& path) : db_(path) { db_.migrate("profiles", kMigrations); }

  Status insert(const ApplicationProfile& p) override {
    auto guard = db_.lock();
    Transaction tx(db_);
    TOLLGATE_TRY(tx.begin());
    auto stmt = db_.prepare("INSERT INTO application_profiles (" + std::string(kColumns) +
                            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    TOLLGATE_TRY(stmt);
    stmt->bind(1, p.account_id).bind(2, p.region).bind(3, p.id).bind(4, p.name).bind(5, p.description);
    stmt->bind(6, p.source_arn).bind(7, join_lines(p.model_arns));
    if (p.client_request_token.empty()) {
      stmt->bind_null(8);
    } else {
      stmt->bind(8, p.client_request_token);
    }
    stmt->bind(9, to_ms(p.created_at)).bind(10, to_ms(p.updated_at));
    if (auto s = stmt->run(); !s.ok()) {
      if (stmt->constraint_failed()) {
        return Error(ErrorCode::Conflict, "An inference profile named '" + p.name +
                                              "' (or created with the same client request token) already exists.");
      }
      return s;
    }
    TOLLGATE_TRY(write_tags(p));
    return tx.commit();
  }

  Result<std::optional<ApplicationProfile>> find(const ProfileKey& key) override {
    auto guard = db_.lock();
    return select_one("account_id = ? AND region = ? AND id = ?", {key.account_id, key.region, key.id});
  }

  Result<std::optional<ApplicationProfile>> find_by_name(const std::string& account_id, const std::string& region,
                                                         const std::string& name) override {
    auto guard = db_.lock();
    return select_one("account_id = ? AND region = ? AND name = ?", {account_id, region, name});
  }

  Result<std::optional<ApplicationProfile>> find_by_token(const std::string& account_id, const std::string& region,
                                                          const std::string& token) override {
    auto guard = db_.lock();
    return select_one("account_id = ? AND region = ? AND client_request_token = ?", {account_id, region, token});
  }

  Result<std::optional<ApplicationProfile>> find_in_any_region(const std::string& account_id,
                                                               const std::string& id) override {
    auto guard = db_.lock();
    return select_one("account_id = ? AND id = ?", {account_id, id});
  }

  Result<std::vector<ApplicationProfile>> list(const std::string& account_id, const std::string& region,
                                               const std::string& after_id, size_t limit) override {
    auto guard = db_.lock();
    return select("account_id = ? AND region = ? AND id > ? ORDER BY id LIMIT " + std::to_string(limit),
                  {account_id, region, after_id});
  }

  Status remove(const ProfileKey& key) override {
    auto guard = db_.lock();
    Transaction tx(db_);
    TOLLGATE_TRY(tx.begin());
    auto stmt = db_.prepare("DELETE FROM application_profiles WHERE account_id = ? AND region = ? AND id = ?");
    TOLLGATE_TRY(stmt);
    stmt->bind(1, key.account_id).bind(2, key.region).bind(3, key.id);
    TOLLGATE_TRY(stmt->run());
    if (db_.changes() == 0) return not_found(key);
    return tx.commit();
  }

  Result<ApplicationProfile> update(const ProfileKey& key, const Mutation& mutate) override {
    auto guard = db_.lock();
    Transaction tx(db_);
    TOLLGATE_TRY(tx.begin());
    auto current = select_one("account_id = ? AND region = ? AND id = ?", {key.account_id, key.region, key.id});
    TOLLGATE_TRY(current);
    if (!current->has_value()) return not_found(key);
    ApplicationProfile profile = std::move(**current);
    TOLLGATE_TRY(mutate(profile));
    auto stmt = db_.prepare(
        "UPDATE application_profiles SET name = ?, description = ?, updated_at_ms = ? "
        "WHERE account_id = ? AND region = ? AND id = ?");
    TOLLGATE_TRY(stmt);
    stmt->bind(1, profile.name).bind(2, profile.description).bind(3, to_ms(profile.updated_at));
    stmt->bind(4, key.account_id).bind(5, key.region).bind(6, key.id);
    TOLLGATE_TRY(stmt->run());
    auto clear = db_.prepare("DELETE FROM profile_tags WHERE account_id = ? AND region = ? AND profile_id = ?");
    TOLLGATE_TRY(clear);
    clear->bind(1, key.account_id).bind(2, key.region).bind(3, key.id);
    TOLLGATE_TRY(clear->run());
    TOLLGATE_TRY(write_tags(profile));
    TOLLGATE_TRY(tx.commit());
    return profile;
  }

 private:
  static Error not_found(const ProfileKey& key) {
    return Error(ErrorCode::ResourceNotFound, "Inference profile " + key.id + " not found.");
  }

  Status write_tags(const ApplicationProfile& p) {
    auto stmt = db_.prepare(
        "INSERT INTO profile_tags (account_id, region, profile_id, position, key, value) VALUES (?, ?, ?, ?, ?, ?)");
    TOLLGATE_TRY(stmt);
    for (size_t i = 0; i < p.tags.size(); ++i) {
      Statement& s = *stmt;
      s.bind(1, p.account_id).bind(2, p.region).bind(3, p.id).bind(4, static_cast<int64_t>(i));
      s.bind(5, p.tags[i].key).bind(6, p.tags[i].value);
      TOLLGATE_TRY(s.run());
      s.reset();
    }
    return {};
  }

  Result<std::vector<ApplicationProfile>> select(const std::string& where, const std::vector<std::string>& args) {
    auto stmt = db_.prepare("SELECT " + std::string(kColumns) + " FROM application_profiles WHERE " + where);
    TOLLGATE_TRY(stmt);
    for (size_t i = 0; i < args.size(); ++i) stmt->bind(static_cast<int>(i + 1), args[i]);
    std::vector<ApplicationProfile> out;
    while (true) {
      auto row = stmt->step();
      TOLLGATE_TRY(row);
      if (!*row) break;
      ApplicationProfile p;
      p.account_id = stmt->text(0);
      p.region = stmt->text(1);
      p.id = stmt->text(2);
      p.name = stmt->text(3);
      p.description = stmt->text(4);
      p.source_arn = stmt->text(5);
      p.model_arns = split_lines(stmt->text(6));
      p.client_request_token = stmt->text(7);
      p.created_at = from_ms(stmt->integer(8));
      p.updated_at = from_ms(stmt->integer(9));
      out.push_back(std::move(p));
    }
    for (auto& p : out) TOLLGATE_TRY(read_tags(p));
    return out;
  }

  Result<std::optional<ApplicationProfile>> select_one(const std::string& where, const std::vector<std::string>& args) {
    auto rows = select(where + " LIMIT 1", args);
    TOLLGATE_TRY(rows);
    if (rows->empty()) return std::optional<ApplicationProfile>();
    return std::optional<ApplicationProfile>(std::move(rows->front()));
  }

  Status read_tags(ApplicationProfile& p) {
    auto stmt = db_.prepare(
        "SELECT key, value FROM profile_tags WHERE account_id = ? AND region = ? AND profile_id = ? ORDER BY position");
    TOLLGATE_TRY(stmt);
    stmt->bind(1, p.account_id).bind(2, p.region).bind(3, p.id);
    while (true) {
      auto row = stmt->step();
      TOLLGATE_TRY(row);
      if (!*row) return {};
      p.tags.push_back({stmt->text(0), stmt->text(1)});
    }
  }

  Database db_;
};

}  // namespace

std::unique_ptr<ProfileStore> open_profile_store(const std::string& path) {
  return std::make_unique<SqliteProfileStore>(path);
}

}  // namespace tollgate::store::sqlite
