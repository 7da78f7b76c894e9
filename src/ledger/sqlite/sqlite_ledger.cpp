#include "ledger/sqlite/sqlite_ledger.h"

#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "ledger/tag_set.h"
#include "store/sqlite/sqlite_database.h"

namespace tollgate::ledger::sqlite {
namespace {

using store::sqlite::Database;
using store::sqlite::DatabaseOptions;
using store::sqlite::Migration;
using store::sqlite::Statement;
using store::sqlite::Transaction;

Status migrate_v1_data(Database& db);

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
    // Version 2: the repeated text fields are interned into ledger_strings and stored as integer ids;
    // request_id is a 16-byte BLOB for a canonical UUID text; status is a small integer. The version-1
    // tables are renamed, the new ones created, the rows converted by migrate_v1_data (C++: the UUID
    // text to bytes) and the old tables dropped, all in the migration's one transaction.
    // The CHECKs of the tables written per record spell lists with OR: SQLite evaluates an IN list of
    // more than two values through a temporary b-tree built at every row.
    {2, R"sql(
DROP INDEX usage_records_start_time;
DROP INDEX usage_records_profile_start_time;
ALTER TABLE usage_records RENAME TO usage_records_v1;
ALTER TABLE usage_hourly RENAME TO usage_hourly_v1;
CREATE TABLE ledger_strings (
  id   INTEGER PRIMARY KEY,
  kind TEXT    NOT NULL
    CHECK (kind IN ('account', 'principal', 'operation', 'arn', 'model', 'region', 'tag_set')),
  text TEXT    NOT NULL,
  UNIQUE (kind, text)
);
CREATE TABLE usage_records (
  request_id                BLOB    NOT NULL,  -- 16 bytes for a canonical (lowercase) UUID text, else the TEXT
  start_time_ms             INTEGER NOT NULL,  -- UTC, milliseconds since the epoch
  end_time_ms               INTEGER NOT NULL,
  account_sid               INTEGER NOT NULL,  -- *_sid: ledger_strings.id
  principal_sid             INTEGER NOT NULL,
  operation_sid             INTEGER NOT NULL,
  resource_arn_sid          INTEGER NOT NULL,
  profile_arn_sid           INTEGER NOT NULL,  -- the id of '' for a bare model
  model_sid                 INTEGER NOT NULL,
  billing_region_sid        INTEGER NOT NULL,
  served_region_sid         INTEGER NOT NULL,
  input_tokens              INTEGER NOT NULL,
  output_tokens             INTEGER NOT NULL,
  cache_read_tokens         INTEGER NOT NULL,
  cache_write_tokens        INTEGER NOT NULL,
  input_cost_nano_usd       INTEGER NOT NULL,
  output_cost_nano_usd      INTEGER NOT NULL,
  cache_read_cost_nano_usd  INTEGER NOT NULL,
  cache_write_cost_nano_usd INTEGER NOT NULL,
  price_missing             INTEGER NOT NULL CHECK (price_missing IN (0, 1)),
  tags_sid                  INTEGER NOT NULL,  -- the canonical tag set
  status                    INTEGER NOT NULL CHECK (status = 0 OR status = 1 OR status = 2 OR status = 3),
  latency_ms                INTEGER NOT NULL
);
CREATE UNIQUE INDEX usage_records_request_id ON usage_records (request_id);
CREATE INDEX usage_records_start_time ON usage_records (start_time_ms);
CREATE INDEX usage_records_profile_start_time ON usage_records (profile_arn_sid, start_time_ms);
CREATE TABLE usage_hourly (
  hour_ms            INTEGER NOT NULL,  -- start of the UTC hour of the records' start_time
  account_sid        INTEGER NOT NULL,
  profile_arn_sid    INTEGER NOT NULL,
  tag_set_sid        INTEGER NOT NULL,
  model_sid          INTEGER NOT NULL,
  billing_region_sid INTEGER NOT NULL,
  usage_type         TEXT    NOT NULL
    CHECK (usage_type = 'input' OR usage_type = 'output' OR usage_type = 'cache-read' OR usage_type = 'cache-write'),
  tokens             INTEGER NOT NULL,
  cost_nano_usd      INTEGER NOT NULL,
  records            INTEGER NOT NULL,
  PRIMARY KEY (hour_ms, account_sid, profile_arn_sid, tag_set_sid, model_sid, billing_region_sid, usage_type)
) WITHOUT ROWID;
CREATE VIEW usage_records_text AS SELECT
  CASE WHEN typeof(request_id) = 'blob' AND length(request_id) = 16 THEN lower(
    substr(hex(request_id), 1, 8) || '-' || substr(hex(request_id), 9, 4) || '-' || substr(hex(request_id), 13, 4)
    || '-' || substr(hex(request_id), 17, 4) || '-' || substr(hex(request_id), 21, 12))
  ELSE request_id END AS request_id,
  start_time_ms, end_time_ms,
  (SELECT text FROM ledger_strings WHERE id = account_sid) AS account_id,
  (SELECT text FROM ledger_strings WHERE id = principal_sid) AS principal,
  (SELECT text FROM ledger_strings WHERE id = operation_sid) AS operation,
  (SELECT text FROM ledger_strings WHERE id = resource_arn_sid) AS resource_arn,
  (SELECT text FROM ledger_strings WHERE id = profile_arn_sid) AS profile_arn,
  (SELECT text FROM ledger_strings WHERE id = model_sid) AS model_id,
  (SELECT text FROM ledger_strings WHERE id = billing_region_sid) AS billing_region,
  (SELECT text FROM ledger_strings WHERE id = served_region_sid) AS served_region,
  input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
  input_cost_nano_usd, output_cost_nano_usd, cache_read_cost_nano_usd, cache_write_cost_nano_usd, price_missing,
  (SELECT text FROM ledger_strings WHERE id = tags_sid) AS tags,
  CASE status WHEN 0 THEN 'success' WHEN 1 THEN 'client_cancelled' WHEN 2 THEN 'upstream_cut'
    WHEN 3 THEN 'model_error' END AS status,
  latency_ms
FROM usage_records;
CREATE VIEW usage_hourly_text AS SELECT
  hour_ms,
  (SELECT text FROM ledger_strings WHERE id = account_sid) AS account_id,
  (SELECT text FROM ledger_strings WHERE id = profile_arn_sid) AS profile_arn,
  (SELECT text FROM ledger_strings WHERE id = tag_set_sid) AS tag_set,
  (SELECT text FROM ledger_strings WHERE id = model_sid) AS model_id,
  (SELECT text FROM ledger_strings WHERE id = billing_region_sid) AS billing_region,
  usage_type, tokens, cost_nano_usd, records
FROM usage_hourly;
)sql",
     migrate_v1_data},
    // Version 3: the rollups gain the operation (Converse, InvokeModel, ...), which Cost Explorer's
    // OPERATION dimension and the exports need. The new table is filled from the records, by the rollup
    // rule (doc/ledger.md, "Rollup semantics"): the rollups were always exactly those sums.
    {3, R"sql(
DROP VIEW usage_hourly_text;
ALTER TABLE usage_hourly RENAME TO usage_hourly_v2;
CREATE TABLE usage_hourly (
  hour_ms            INTEGER NOT NULL,
  account_sid        INTEGER NOT NULL,
  profile_arn_sid    INTEGER NOT NULL,
  tag_set_sid        INTEGER NOT NULL,
  model_sid          INTEGER NOT NULL,
  billing_region_sid INTEGER NOT NULL,
  operation_sid      INTEGER NOT NULL,
  usage_type         TEXT    NOT NULL
    CHECK (usage_type = 'input' OR usage_type = 'output' OR usage_type = 'cache-read' OR usage_type = 'cache-write'),
  tokens             INTEGER NOT NULL,
  cost_nano_usd      INTEGER NOT NULL,
  records            INTEGER NOT NULL,
  PRIMARY KEY (hour_ms, account_sid, profile_arn_sid, tag_set_sid, model_sid, billing_region_sid, operation_sid,
               usage_type)
) WITHOUT ROWID;
CREATE TEMP VIEW usage_hours AS SELECT
  start_time_ms - ((start_time_ms % 3600000) + 3600000) % 3600000 AS hour_ms, account_sid, profile_arn_sid,
  tags_sid, model_sid, billing_region_sid, operation_sid, input_tokens, input_cost_nano_usd, output_tokens,
  output_cost_nano_usd, cache_read_tokens, cache_read_cost_nano_usd, cache_write_tokens, cache_write_cost_nano_usd
FROM usage_records;
INSERT INTO usage_hourly
  SELECT hour_ms, account_sid, profile_arn_sid, tags_sid, model_sid, billing_region_sid, operation_sid, 'input',
         SUM(input_tokens), SUM(input_cost_nano_usd), COUNT(*)
  FROM usage_hours WHERE input_tokens > 0 OR input_cost_nano_usd > 0 GROUP BY 1, 2, 3, 4, 5, 6, 7
  UNION ALL
  SELECT hour_ms, account_sid, profile_arn_sid, tags_sid, model_sid, billing_region_sid, operation_sid, 'output',
         SUM(output_tokens), SUM(output_cost_nano_usd), COUNT(*)
  FROM usage_hours WHERE output_tokens > 0 OR output_cost_nano_usd > 0 GROUP BY 1, 2, 3, 4, 5, 6, 7
  UNION ALL
  SELECT hour_ms, account_sid, profile_arn_sid, tags_sid, model_sid, billing_region_sid, operation_sid, 'cache-read',
         SUM(cache_read_tokens), SUM(cache_read_cost_nano_usd), COUNT(*)
  FROM usage_hours WHERE cache_read_tokens > 0 OR cache_read_cost_nano_usd > 0 GROUP BY 1, 2, 3, 4, 5, 6, 7
  UNION ALL
  SELECT hour_ms, account_sid, profile_arn_sid, tags_sid, model_sid, billing_region_sid, operation_sid, 'cache-write',
         SUM(cache_write_tokens), SUM(cache_write_cost_nano_usd), COUNT(*)
  FROM usage_hours WHERE cache_write_tokens > 0 OR cache_write_cost_nano_usd > 0 GROUP BY 1, 2, 3, 4, 5, 6, 7;
DROP VIEW usage_hours;
DROP TABLE usage_hourly_v2;
CREATE VIEW usage_hourly_text AS SELECT
  hour_ms,
  (SELECT text FROM ledger_strings WHERE id = account_sid) AS account_id,
  (SELECT text FROM ledger_strings WHERE id = profile_arn_sid) AS profile_arn,
  (SELECT text FROM ledger_strings WHERE id = tag_set_sid) AS tag_set,
  (SELECT text FROM ledger_strings WHERE id = model_sid) AS model_id,
  (SELECT text FROM ledger_strings WHERE id = billing_region_sid) AS billing_region,
  (SELECT text FROM ledger_strings WHERE id = operation_sid) AS operation,
  usage_type, tokens, cost_nano_usd, records
FROM usage_hourly;
)sql"},
    // Version 4: the rollups gain the principal (the caller's IAM ARN; the access key id in records written
    // before), which Cost Explorer's IAM_PRINCIPAL dimension and CUR's line_item_iam_principal need. Filled
    // from the records by the rollup rule, as version 3 was.
    {4, R"sql(
DROP VIEW usage_hourly_text;
ALTER TABLE usage_hourly RENAME TO usage_hourly_v3;
CREATE TABLE usage_hourly (
  hour_ms            INTEGER NOT NULL,
  account_sid        INTEGER NOT NULL,
  profile_arn_sid    INTEGER NOT NULL,
  tag_set_sid        INTEGER NOT NULL,
  model_sid          INTEGER NOT NULL,
  billing_region_sid INTEGER NOT NULL,
  operation_sid      INTEGER NOT NULL,
  principal_sid      INTEGER NOT NULL,
  usage_type         TEXT    NOT NULL
    CHECK (usage_type = 'input' OR usage_type = 'output' OR usage_type = 'cache-read' OR usage_type = 'cache-write'),
  tokens             INTEGER NOT NULL,
  cost_nano_usd      INTEGER NOT NULL,
  records            INTEGER NOT NULL,
  PRIMARY KEY (hour_ms, account_sid, profile_arn_sid, tag_set_sid, model_sid, billing_region_sid, operation_sid,
               principal_sid, usage_type)
) WITHOUT ROWID;
CREATE TEMP VIEW usage_hours AS SELECT
  start_time_ms - ((start_time_ms % 3600000) + 3600000) % 3600000 AS hour_ms, account_sid, profile_arn_sid,
  tags_sid, model_sid, billing_region_sid, operation_sid, principal_sid, input_tokens, input_cost_nano_usd,
  output_tokens, output_cost_nano_usd, cache_read_tokens, cache_read_cost_nano_usd, cache_write_tokens,
  cache_write_cost_nano_usd
FROM usage_records;
INSERT INTO usage_hourly
  SELECT hour_ms, account_sid, profile_arn_sid, tags_sid, model_sid, billing_region_sid, operation_sid,
         principal_sid, 'input', SUM(input_tokens), SUM(input_cost_nano_usd), COUNT(*)
  FROM usage_hours WHERE input_tokens > 0 OR input_cost_nano_usd > 0 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
  UNION ALL
  SELECT hour_ms, account_sid, profile_arn_sid, tags_sid, model_sid, billing_region_sid, operation_sid,
         principal_sid, 'output', SUM(output_tokens), SUM(output_cost_nano_usd), COUNT(*)
  FROM usage_hours WHERE output_tokens > 0 OR output_cost_nano_usd > 0 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
  UNION ALL
  SELECT hour_ms, account_sid, profile_arn_sid, tags_sid, model_sid, billing_region_sid, operation_sid,
         principal_sid, 'cache-read', SUM(cache_read_tokens), SUM(cache_read_cost_nano_usd), COUNT(*)
  FROM usage_hours WHERE cache_read_tokens > 0 OR cache_read_cost_nano_usd > 0 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
  UNION ALL
  SELECT hour_ms, account_sid, profile_arn_sid, tags_sid, model_sid, billing_region_sid, operation_sid,
         principal_sid, 'cache-write', SUM(cache_write_tokens), SUM(cache_write_cost_nano_usd), COUNT(*)
  FROM usage_hours WHERE cache_write_tokens > 0 OR cache_write_cost_nano_usd > 0 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
DROP VIEW usage_hours;
DROP TABLE usage_hourly_v3;
CREATE VIEW usage_hourly_text AS SELECT
  hour_ms,
  (SELECT text FROM ledger_strings WHERE id = account_sid) AS account_id,
  (SELECT text FROM ledger_strings WHERE id = profile_arn_sid) AS profile_arn,
  (SELECT text FROM ledger_strings WHERE id = tag_set_sid) AS tag_set,
  (SELECT text FROM ledger_strings WHERE id = model_sid) AS model_id,
  (SELECT text FROM ledger_strings WHERE id = billing_region_sid) AS billing_region,
  (SELECT text FROM ledger_strings WHERE id = operation_sid) AS operation,
  (SELECT text FROM ledger_strings WHERE id = principal_sid) AS principal,
  usage_type, tokens, cost_nano_usd, records
FROM usage_hourly;
)sql"},
};

constexpr int kSchemaVersion = 4;

constexpr std::string_view kInsertRecord =
    "INSERT INTO usage_records (request_id, start_time_ms, end_time_ms, account_sid, principal_sid, operation_sid,"
    " resource_arn_sid, profile_arn_sid, model_sid, billing_region_sid, served_region_sid, input_tokens,"
    " output_tokens, cache_read_tokens, cache_write_tokens, input_cost_nano_usd, output_cost_nano_usd,"
    " cache_read_cost_nano_usd, cache_write_cost_nano_usd, price_missing, tags_sid, status, latency_ms)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (request_id) DO NOTHING";

constexpr std::string_view kUpsertRollup =
    "INSERT INTO usage_hourly (hour_ms, account_sid, profile_arn_sid, tag_set_sid, model_sid, billing_region_sid,"
    " operation_sid, principal_sid, usage_type, tokens, cost_nano_usd, records)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (hour_ms, account_sid, profile_arn_sid, tag_set_sid, model_sid, billing_region_sid, operation_sid,"
    " principal_sid, usage_type)"
    " DO UPDATE SET tokens = tokens + excluded.tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd,"
    " records = records + excluded.records";

#define TOLLGATE_LEDGER_STRING(column) "(SELECT text FROM ledger_strings WHERE id = " column ")"
constexpr std::string_view kSelectRecords =
    "SELECT r.request_id, r.start_time_ms, r.end_time_ms, " TOLLGATE_LEDGER_STRING("r.account_sid") ", "
    TOLLGATE_LEDGER_STRING("r.principal_sid") ", " TOLLGATE_LEDGER_STRING("r.operation_sid") ", "
    TOLLGATE_LEDGER_STRING("r.resource_arn_sid") ", " TOLLGATE_LEDGER_STRING("r.profile_arn_sid") ", "
    TOLLGATE_LEDGER_STRING("r.model_sid") ", " TOLLGATE_LEDGER_STRING("r.billing_region_sid") ", "
    TOLLGATE_LEDGER_STRING("r.served_region_sid") ", r.input_tokens, r.output_tokens, r.cache_read_tokens,"
    " r.cache_write_tokens, r.input_cost_nano_usd, r.output_cost_nano_usd, r.cache_read_cost_nano_usd,"
    " r.cache_write_cost_nano_usd, r.price_missing, " TOLLGATE_LEDGER_STRING("r.tags_sid") ", r.status, r.latency_ms"
    " FROM usage_records AS r WHERE 1";
constexpr std::string_view kSelectRollups =
    "SELECT h.hour_ms, " TOLLGATE_LEDGER_STRING("h.account_sid") ", " TOLLGATE_LEDGER_STRING("h.profile_arn_sid")
    ", " TOLLGATE_LEDGER_STRING("h.tag_set_sid") ", " TOLLGATE_LEDGER_STRING("h.model_sid") ", "
    TOLLGATE_LEDGER_STRING("h.billing_region_sid") ", " TOLLGATE_LEDGER_STRING("h.operation_sid")
    ", " TOLLGATE_LEDGER_STRING("h.principal_sid") ", h.usage_type, h.tokens, h.cost_nano_usd, h.records"
    " FROM usage_hourly AS h WHERE 1";
#undef TOLLGATE_LEDGER_STRING

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

Error closed_error(bool read_only) {
  return Error(ErrorCode::ServiceUnavailable,
               "The service is shutting down and cannot record usage; retry the request.",
               read_only ? "append to a usage ledger opened read-only" : "append to a closed usage ledger");
}

// ---- request ids -------------------------------------------------------------------------------------------------

using UuidBytes = std::array<uint8_t, 16>;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case too: only the canonical (lowercase) text is stored as bytes, so decoding gives it back
}

// True, with its 16 bytes, when `text` is a UUID in canonical form: 8-4-4-4-12 lowercase hex digits (any
// version). Any other request id is stored as TEXT.
bool uuid_bytes(std::string_view text, UuidBytes& out) {
  if (text.size() != 36) return false;
  size_t j = 0;
  for (size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return false;
      ++i;
      continue;
    }
    int hi = hex_value(text[i]);
    int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[j++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return true;
}

std::string uuid_text(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    auto b = static_cast<uint8_t>(bytes[i]);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0f]);
  }
  return out;
}

// The request_id column of the current row as the text appended.
Result<std::string> request_id_column(const Statement& stmt, int column) {
  if (!stmt.is_blob(column)) return stmt.text(column);
  std::string bytes = stmt.blob(column);
  if (bytes.size() != 16)
    return storage_error("usage record with a request_id BLOB of " + std::to_string(bytes.size()) + " bytes");
  return uuid_text(bytes);
}

// ---- status codes ------------------------------------------------------------------------------------------------

// usage_records.status: 0 success, 1 client_cancelled, 2 upstream_cut, 3 model_error. An unknown value maps to
// -1, which the CHECK constraint refuses (the batch fails, as an unknown text did in version 1).
int64_t status_code(UsageStatus status) {
  switch (status) {
    case UsageStatus::Success:
      return 0;
    case UsageStatus::ClientCancelled:
      return 1;
    case UsageStatus::UpstreamCut:
      return 2;
    case UsageStatus::ModelError:
      return 3;
  }
  return -1;
}

bool status_from_code(int64_t code, UsageStatus& out) {
  for (auto s :
       {UsageStatus::Success, UsageStatus::ClientCancelled, UsageStatus::UpstreamCut, UsageStatus::ModelError}) {
    if (status_code(s) == code) {
      out = s;
      return true;
    }
  }
  return false;
}

// ---- the string dictionary ---------------------------------------------------------------------------------------

// The domains of ledger_strings: the same text has one id per kind. Both ARNs of a record (resource and
// profile) share "arn", both Regions share "region".
enum class Kind : size_t { Account, Principal, Operation, Arn, Model, Region, TagSet };
constexpr size_t kKinds = 7;
constexpr std::array<std::string_view, kKinds> kKindNames = {"account", "principal", "operation", "arn",
                                                             "model",   "region",    "tag_set"};

size_t hash_text(std::string_view text) { return std::hash<std::string_view>{}(text); }

// A text with its hash, computed beforehand (by append(), on the caller's thread).
struct HashedText {
  std::string_view text;
  size_t hash;
};

struct TextHash {
  using is_transparent = void;
  size_t operator()(const std::string& s) const { return hash_text(s); }
  size_t operator()(const HashedText& h) const { return h.hash; }
};

struct TextEqual {
  using is_transparent = void;
  bool operator()(const std::string& a, const std::string& b) const { return a == b; }
  bool operator()(const HashedText& a, const std::string& b) const { return a.text == b; }
  bool operator()(const std::string& a, const HashedText& b) const { return a == b.text; }
};

// Text -> id of ledger_strings through an in-memory cache: a hit costs no SQL; a miss looks the text up and
// inserts it when new, inside the caller's transaction. Ids are never reused nor changed once committed, so a
// cached id stays right — except one handed out by a transaction that then rolled back: forget() must be called
// after any rollback. Used by one thread at a time, with the connection's lock held.
class Dictionary {
 public:
  explicit Dictionary(Database& db) : db_(db) {}

  Result<int64_t> intern(Kind kind, std::string_view text) { return intern(kind, HashedText{text, hash_text(text)}); }

  // `hashed.hash` must be hash_text(hashed.text).
  Result<int64_t> intern(Kind kind, HashedText hashed) {
    auto& map = cache_[static_cast<size_t>(kind)];
    if (auto it = map.find(hashed); it != map.end()) return it->second;
    std::string_view text = hashed.text;
    if (!select_) {
      auto select = db_.prepare("SELECT id FROM ledger_strings WHERE kind = ? AND text = ?");
      if (!select.ok()) return std::move(select).error();
      auto insert = db_.prepare("INSERT INTO ledger_strings (kind, text) VALUES (?, ?) RETURNING id");
      if (!insert.ok()) return std::move(insert).error();
      select_.emplace(std::move(select).value());
      insert_.emplace(std::move(insert).value());
    }
    std::string_view kind_name = kKindNames[static_cast<size_t>(kind)];
    select_->reset();
    select_->bind_static(1, kind_name).bind_static(2, text);
    auto found = select_->step();
    std::optional<int64_t> id;
    if (found.ok() && *found) id = select_->integer(0);
    select_->reset();
    if (!found.ok()) return std::move(found).error();
    if (!id) {
      insert_->reset();
      insert_->bind_static(1, kind_name).bind_static(2, text);
      auto row = insert_->step();
      if (row.ok() && *row) id = insert_->integer(0);
      insert_->reset();
      if (!row.ok()) return std::move(row).error();
      if (!id) return storage_error("no id returned for a new ledger string");
    }
    if (map.size() >= kMaxCachedPerKind) map.clear();  // a bound against pathological cardinality
    map.emplace(std::string(text), *id);
    return *id;
  }

  void forget() {
    for (auto& map : cache_) map.clear();
  }

 private:
  static constexpr size_t kMaxCachedPerKind = 1 << 20;
  Database& db_;
  std::optional<Statement> select_;
  std::optional<Statement> insert_;
  std::array<std::unordered_map<std::string, int64_t, TextHash, TextEqual>, kKinds> cache_;
};

// The version-1 rows into the version-2 tables (the `then` of migration 2; in its transaction). Rowids are
// kept, so records stored in one millisecond keep their order.
Status migrate_v1_data(Database& db) {
  Dictionary dict(db);
  {
    auto select = db.prepare(
        "SELECT rowid, request_id, start_time_ms, end_time_ms, account_id, principal, operation, resource_arn,"
        " profile_arn, model_id, billing_region, served_region, input_tokens, output_tokens, cache_read_tokens,"
        " cache_write_tokens, input_cost_nano_usd, output_cost_nano_usd, cache_read_cost_nano_usd,"
        " cache_write_cost_nano_usd, price_missing, tags, status, latency_ms FROM usage_records_v1 ORDER BY rowid");
    if (!select.ok()) return std::move(select).error();
    auto insert = db.prepare(
        "INSERT INTO usage_records (rowid, request_id, start_time_ms, end_time_ms, account_sid, principal_sid,"
        " operation_sid, resource_arn_sid, profile_arn_sid, model_sid, billing_region_sid, served_region_sid,"
        " input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, input_cost_nano_usd,"
        " output_cost_nano_usd, cache_read_cost_nano_usd, cache_write_cost_nano_usd, price_missing, tags_sid,"
        " status, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!insert.ok()) return std::move(insert).error();
    constexpr std::array<std::pair<int, Kind>, 8> kStrings = {{{4, Kind::Account},
                                                               {5, Kind::Principal},
                                                               {6, Kind::Operation},
                                                               {7, Kind::Arn},
                                                               {8, Kind::Arn},
                                                               {9, Kind::Model},
                                                               {10, Kind::Region},
                                                               {11, Kind::Region}}};
    while (true) {
      auto row = select->step();
      if (!row.ok()) return std::move(row).error();
      if (!*row) break;
      insert->reset();
      insert->bind(1, select->integer(0));
      std::string request_id = select->text(1);
      UuidBytes key;
      if (uuid_bytes(request_id, key)) {
        insert->bind_blob_static(2, key.data(), key.size());
      } else {
        insert->bind_static(2, request_id);
      }
      insert->bind(3, select->integer(2)).bind(4, select->integer(3));
      for (auto [column, kind] : kStrings) {
        auto id = dict.intern(kind, select->text(column));
        if (!id.ok()) return std::move(id).error();
        insert->bind(column + 1, *id);
      }
      for (int column = 12; column <= 20; ++column) insert->bind(column + 1, select->integer(column));
      auto tags = dict.intern(Kind::TagSet, select->text(21));
      if (!tags.ok()) return std::move(tags).error();
      insert->bind(22, *tags);
      UsageStatus status;
      if (std::string text = select->text(22); !parse_usage_status(text, status)) {
        return storage_error("version-1 usage record " + request_id + " has an unknown status: " + text);
      }
      insert->bind(23, status_code(status)).bind(24, select->integer(23));
      TOLLGATE_TRY(insert->run());
    }
  }
  {
    auto select = db.prepare(
        "SELECT hour_ms, account_id, profile_arn, tag_set, model_id, billing_region, usage_type, tokens,"
        " cost_nano_usd, records FROM usage_hourly_v1");
    if (!select.ok()) return std::move(select).error();
    auto insert = db.prepare(
        "INSERT INTO usage_hourly (hour_ms, account_sid, profile_arn_sid, tag_set_sid, model_sid, billing_region_sid,"
        " usage_type, tokens, cost_nano_usd, records) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!insert.ok()) return std::move(insert).error();
    constexpr std::array<std::pair<int, Kind>, 5> kStrings = {
        {{1, Kind::Account}, {2, Kind::Arn}, {3, Kind::TagSet}, {4, Kind::Model}, {5, Kind::Region}}};
    while (true) {
      auto row = select->step();
      if (!row.ok()) return std::move(row).error();
      if (!*row) break;
      insert->reset();
      insert->bind(1, select->integer(0));
      for (auto [column, kind] : kStrings) {
        auto id = dict.intern(kind, select->text(column));
        if (!id.ok()) return std::move(id).error();
        insert->bind(column + 1, *id);
      }
      insert->bind(7, select->text(6));  // distinct texts map to distinct ids: no two rows collide
      for (int column = 7; column <= 9; ++column) insert->bind(column + 1, select->integer(column));
      TOLLGATE_TRY(insert->run());
    }
  }
  return db.exec("DROP TABLE usage_records_v1; DROP TABLE usage_hourly_v1;");
}

// The "ledger" version recorded in the database (0 for none).
int64_t stored_schema_version(Database& db) {
  auto stmt = db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE component = 'ledger'");
  if (!stmt.ok()) return 0;  // no schema_migrations table: a new database
  auto row = stmt->step();
  return row.ok() && *row ? stmt->integer(0) : 0;
}

// The interned fields of a record, in this order (with the kind of each).
constexpr size_t kInterned = 9;
constexpr std::array<Kind, kInterned> kInternedKinds = {Kind::Account, Kind::Principal, Kind::Operation,
                                                        Kind::Arn,     Kind::Arn,       Kind::Model,
                                                        Kind::Region,  Kind::Region,    Kind::TagSet};

// What append() prepares on the caller's thread, so that the writer does less.
struct Item {
  UsageRecord record;
  std::string tag_set;   // canonical
  UuidBytes id_bytes{};  // the request_id as 16 bytes, when uuid_key
  bool uuid_key = false;
  int64_t hour_ms = 0;
  std::array<size_t, kInterned> hashes{};  // hash_text of each interned field
  Ledger::Done done;

  std::array<std::string_view, kInterned> interned() const {
    const UsageRecord& r = record;
    return {r.account_id, r.principal,      r.operation,     r.resource_arn, r.profile_arn,
            r.model_id,   r.billing_region, r.served_region, tag_set};
  }
};

// One rollup row of a batch, summed in memory before its single upsert: hour, then the ids of account,
// profile ARN, tag set, model, billing Region, operation and principal, then the usage type.
using RollupKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, TokenType>;
struct RollupSum {
  int64_t tokens = 0;
  int64_t cost = 0;
  int64_t records = 0;
};

}  // namespace

class SqliteLedger::Impl {
 public:
  explicit Impl(const SqliteLedgerOptions& options)
      : max_batch_(std::max<size_t>(options.max_batch, 1)),
        max_delay_(std::max(options.max_delay, {})),
        checkpoint_frames_(std::max(options.checkpoint_frames, 1)),
        read_only_(options.read_only) {
    const bool in_memory = options.path == ":memory:" || options.path.empty();
    if (read_only_ && !in_memory) {
      open_read_only(options.path);
      closing_ = true;  // no writer: append() fails at once
      return;
    }
    DatabaseOptions writer_options;
    writer_options.page_size = kPageSize;
    db_ = std::make_unique<Database>(options.path, writer_options);
    // The writer's settings (see the header and doc/ledger.md): the durability mode; the page cache; no
    // checkpoints inside its commits (the checkpointer thread runs them, see run_checkpoints()); the WAL file
    // cut back to 64 MiB when it starts over.
    const std::string synchronous = options.fsync_each_commit ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
    for (const std::string& pragma :
         {synchronous, "PRAGMA cache_size=" + std::to_string(kCacheSizePragma),
          std::string("PRAGMA wal_autocheckpoint=0"), std::string("PRAGMA journal_size_limit=67108864")}) {
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
    dict_.emplace(*db_);
    if (in_memory) {
      reader_ = db_.get();  // a private database: one connection, shared under its lock
    } else {
      DatabaseOptions reader_options;
      reader_options.read_only = true;
      reader_db_ = std::make_unique<Database>(options.path, reader_options);
      reader_ = reader_db_.get();
      tune_reader();
    }
    if (read_only_) {
      closing_ = true;
      return;
    }
    if (!in_memory) {
      checkpoint_db_ = std::make_unique<Database>(options.path);
      if (auto s = checkpoint_db_->exec(synchronous); !s.ok()) {
        throw StartupError("cannot configure the usage ledger " + options.path + ": " + s.error().detail());
      }
      db_->set_wal_hook([this](int wal_frames) { on_commit(wal_frames); });
      checkpointer_ = std::thread([this] { run_checkpoints(); });
    }
    try {
      writer_ = std::thread([this] { run(); });
    } catch (...) {
      close();  // joins the checkpointer
      throw;
    }
  }

  ~Impl() { close(); }

  void append(UsageRecord record, Done done) {
    Item item{std::move(record), {}, {}, false, 0, {}, std::move(done)};
    item.tag_set = canonical_tag_set(item.record.tags);
    item.uuid_key = uuid_bytes(item.record.request_id, item.id_bytes);
    item.hour_ms = hour_of(floor_ms(item.record.start_time));
    auto texts = item.interned();
    for (size_t k = 0; k < kInterned; ++k) item.hashes[k] = hash_text(texts[k]);
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
    if (rejected) call(item.done, closed_error(read_only_));
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
    {
      std::lock_guard lock(checkpoint_mu_);
      checkpointer_closing_ = true;
    }
    checkpoint_cv_.notify_one();
    if (checkpointer_.joinable()) checkpointer_.join();
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
    s.checkpoints = checkpoints_.load(std::memory_order_relaxed);
    s.wal_frames = wal_frames_.load(std::memory_order_relaxed);
    return s;
  }

  Result<std::vector<UsageRecord>> query(const UsageQuery& q) {
    std::string sql(kSelectRecords);
    if (q.since) sql += " AND r.start_time_ms >= ?";
    if (q.until) sql += " AND r.start_time_ms < ?";
    if (q.account_id) sql += " AND r.account_sid = (SELECT id FROM ledger_strings WHERE kind = 'account' AND text = ?)";
    if (q.profile_arn)
      sql += " AND r.profile_arn_sid = (SELECT id FROM ledger_strings WHERE kind = 'arn' AND text = ?)";
    sql += " ORDER BY r.start_time_ms DESC, r.rowid DESC LIMIT ?";
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
      auto id = request_id_column(*stmt, 0);
      if (!id.ok()) return std::move(id).error();
      r.request_id = std::move(id).value();
      for (int c : {3, 4, 5, 6, 7, 8, 9, 10, 20}) {
        if (stmt->is_null(c))
          return storage_error("usage record " + r.request_id + " refers to a missing ledger string");
      }
      int c = 1;
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
      if (int64_t status = stmt->integer(c++); !status_from_code(status, r.status)) {
        return storage_error("usage record " + r.request_id + " has an unknown status: " + std::to_string(status));
      }
      r.latency_ms = stmt->integer(c++);
      out.push_back(std::move(r));
    }
    return out;
  }

  Result<std::vector<HourlyRollup>> rollups(const RollupQuery& q) {
    std::string sql(kSelectRollups);
    if (q.since) sql += " AND h.hour_ms >= ?";
    if (q.until) sql += " AND h.hour_ms < ?";
    if (q.account_id) sql += " AND h.account_sid = (SELECT id FROM ledger_strings WHERE kind = 'account' AND text = ?)";
    sql += " ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9";  // hour, then the texts of the dimensions, then the usage type
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
      for (int c = 1; c <= 7; ++c) {
        if (stmt->is_null(c)) return storage_error("usage rollup refers to a missing ledger string");
      }
      HourlyRollup r;
      r.hour = from_ms(stmt->integer(0));
      r.account_id = stmt->text(1);
      r.profile_arn = stmt->text(2);
      r.tag_set = stmt->text(3);
      r.model_id = stmt->text(4);
      r.billing_region = stmt->text(5);
      r.operation = stmt->text(6);
      r.principal = stmt->text(7);
      if (std::string type = stmt->text(8); !parse_token_type(type, r.usage_type)) {
        return storage_error("usage rollup has an unknown usage type: " + type);
      }
      r.tokens = stmt->integer(9);
      r.cost_nano_usd = stmt->integer(10);
      r.records = stmt->integer(11);
      out.push_back(std::move(r));
    }
    return out;
  }

  Status for_each_rollup(const RollupQuery& q, const RollupVisitor& visit) {
    std::string sql =
        "SELECT hour_ms, account_sid, profile_arn_sid, tag_set_sid, model_sid, billing_region_sid, operation_sid, "
        "principal_sid, usage_type, tokens, cost_nano_usd, records FROM usage_hourly WHERE 1";
    if (q.since) sql += " AND hour_ms >= ?";
    if (q.until) sql += " AND hour_ms < ?";
    if (q.account_id) sql += " AND account_sid = (SELECT id FROM ledger_strings WHERE kind = 'account' AND text = ?)";
    sql += " ORDER BY hour_ms";
    auto guard = reader_->lock();
    auto stmt = reader_->prepare(sql);
    if (!stmt.ok()) return std::move(stmt).error();
    int i = 1;
    if (q.since) stmt->bind(i++, ceil_ms(*q.since));
    if (q.until) stmt->bind(i++, ceil_ms(*q.until));
    if (q.account_id) stmt->bind(i++, *q.account_id);
    // Texts handed out stay valid for the whole scan: the cache is only emptied between scans.
    if (reader_texts_.size() >= kMaxCachedTexts) reader_texts_.clear();
    constexpr size_t kTexts = 7;
    std::array<int64_t, kTexts> last_keys;
    last_keys.fill(-1);  // dictionary ids are positive
    std::array<std::string_view, kTexts> last_texts{};
    while (true) {
      auto row = stmt->step();
      if (!row.ok()) return std::move(row).error();
      if (!*row) return {};
      RollupRowView r{};
      r.hour_ms = stmt->integer(0);
      r.account_key = stmt->integer(1);
      r.profile_arn_key = stmt->integer(2);
      r.tag_set_key = stmt->integer(3);
      r.model_key = stmt->integer(4);
      r.billing_region_key = stmt->integer(5);
      r.operation_key = stmt->integer(6);
      r.principal_key = stmt->integer(7);
      std::string_view* texts[kTexts] = {&r.account_id,     &r.profile_arn, &r.tag_set,  &r.model_id,
                                         &r.billing_region, &r.operation,   &r.principal};
      const int64_t keys[kTexts] = {r.account_key,        r.profile_arn_key, r.tag_set_key,  r.model_key,
                                    r.billing_region_key, r.operation_key,   r.principal_key};
      for (size_t k = 0; k < kTexts; ++k) {
        if (keys[k] != last_keys[k]) {  // rows in key order repeat most ids of the row before
          auto text = dictionary_text(keys[k]);
          if (!text.ok()) return std::move(text).error();
          last_keys[k] = keys[k];
          last_texts[k] = *text;
        }
        *texts[k] = last_texts[k];
      }
      if (std::string_view type = stmt->text_view(8); !parse_token_type(type, r.usage_type)) {
        return storage_error("usage rollup has an unknown usage type: " + std::string(type));
      }
      r.tokens = stmt->integer(9);
      r.cost_nano_usd = stmt->integer(10);
      r.records = stmt->integer(11);
      visit(r);
    }
  }

  Result<std::vector<TagSetLastUse>> tag_set_last_use() {
    auto guard = reader_->lock();
    auto stmt = reader_->prepare(
        "SELECT (SELECT text FROM ledger_strings WHERE id = tag_set_sid), MAX(hour_ms) FROM usage_hourly "
        "GROUP BY tag_set_sid");
    if (!stmt.ok()) return std::move(stmt).error();
    std::vector<TagSetLastUse> out;
    while (true) {
      auto row = stmt->step();
      if (!row.ok()) return std::move(row).error();
      if (!*row) return out;
      if (stmt->is_null(0)) return storage_error("usage rollup refers to a missing ledger string");
      out.push_back({stmt->text(0), from_ms(stmt->integer(1))});
    }
  }

 private:
  static constexpr size_t kNoWake = std::numeric_limits<size_t>::max();

  // The text of a dictionary id, through reader_texts_ (the reader's lock is held). Ids are never reused
  // for another text, so a cached entry stays right; entries are never erased during a scan.
  Result<std::string_view> dictionary_text(int64_t id) {
    if (auto it = reader_texts_.find(id); it != reader_texts_.end()) return std::string_view(it->second);
    if (!reader_text_stmt_) {
      auto stmt = reader_->prepare("SELECT text FROM ledger_strings WHERE id = ?");
      if (!stmt.ok()) return std::move(stmt).error();
      reader_text_stmt_.emplace(std::move(stmt).value());
    }
    auto& stmt = *reader_text_stmt_;
    stmt.reset();
    stmt.bind(1, id);
    auto row = stmt.step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) return storage_error("usage rollup refers to a missing ledger string");
    std::string text = stmt.text(0);
    stmt.reset();
    return std::string_view(reader_texts_.emplace(id, std::move(text)).first->second);
  }
  // Measured with bench/ledger_ingest_bench (bench/RESULTS.md, "Ledger ingest"): 8192- and 16384-byte pages
  // were no faster with ordered ids and slower for small commits (closed loop); a smaller cache or a
  // larger/smaller checkpoint interval measured the same.
  static constexpr int kPageSize = 4096;
  static constexpr int kCacheSizePragma = -65536;  // KiB: 64 MiB

  static void call(const Done& done, const Status& status) {
    if (!done) return;
    try {
      done(status);
    } catch (...) {  // a `done` must not throw; the writer must outlive one that does
    }
  }

  // Read-only mode: one read-only connection (query_only), no writer. A database still at an older schema
  // version is first migrated through a short read-write connection, as any open would.
  void open_read_only(const std::string& path) {
    DatabaseOptions ro;
    ro.read_only = true;
    reader_db_ = std::make_unique<Database>(path, ro);
    int64_t version = 0;
    {
      auto guard = reader_db_->lock();
      version = stored_schema_version(*reader_db_);
    }
    if (version > kSchemaVersion) {
      throw StartupError("the database schema of ledger is at version " + std::to_string(version) +
                         ", newer than this tollgate (" + std::to_string(kSchemaVersion) +
                         "); use a newer tollgate or another data directory");
    }
    if (version < kSchemaVersion) {
      reader_db_.reset();
      {
        Database writer(path);
        writer.migrate("ledger", kMigrations);
      }
      reader_db_ = std::make_unique<Database>(path, ro);
    }
    reader_ = reader_db_.get();
    tune_reader();
  }

  // Reports scan months of rollups: memory-mapped reads of the database file spare the scan a tenth of its
  // time in pread (bench/RESULTS.md, "Cost reports"; a larger page cache measured slower).
  void tune_reader() {
    auto guard = reader_->lock();
    (void)reader_->exec("PRAGMA mmap_size = 1073741824;");
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
      if (tail_pending_) finish_checkpoint();
    }
  }

  // Checkpoints run off the writer thread, so that no commit waits for one (a checkpoint fsyncs the WAL and
  // the database: tens of milliseconds). The checkpointer copies back what the WAL holds when it starts; the
  // commits made meanwhile (the tail) are copied back by the writer itself between two batches, because
  // SQLite starts the WAL over only when a write transaction begins with every frame copied back, which a
  // checkpoint on another connection never achieves while the writer keeps committing.

  // Writer thread: after each commit on the writer connection.
  void on_commit(int wal_frames) {
    wal_frames_.store(static_cast<uint64_t>(wal_frames), std::memory_order_relaxed);
    if (wal_frames < checkpoint_frames_ || tail_pending_ || checkpoint_wanted_) return;
    {
      std::lock_guard lock(checkpoint_mu_);
      checkpoint_wanted_ = true;
    }
    checkpoint_cv_.notify_one();
  }

  // The checkpointer thread.
  void run_checkpoints() {
    pthread_setname_np(pthread_self(), "ledger-ckpt");
    while (true) {
      {
        std::unique_lock lock(checkpoint_mu_);
        checkpoint_cv_.wait(lock, [&] { return checkpoint_wanted_.load() || checkpointer_closing_; });
        if (checkpointer_closing_) return;
      }
      bool copied = false;
      {
        auto guard = checkpoint_db_->lock();
        copied = checkpoint_db_->checkpoint_passive().ok();
      }
      if (copied) {  // else the writer does not copy everything itself: the next commit over the size asks again
        checkpoints_.fetch_add(1, std::memory_order_relaxed);
        tail_pending_ = true;
      }
      checkpoint_wanted_ = false;
    }
  }

  // Writer thread: copies back the tail, so that the next transaction starts the WAL over.
  void finish_checkpoint() {
    {
      auto guard = db_->lock();
      static_cast<void>(db_->checkpoint_passive());  // on failure the next commit over the size asks again
    }
    tail_pending_ = false;
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
    Status status;
    {
      Transaction tx(*db_);
      status = tx.begin();
      if (status.ok()) status = write_rows(batch);
      insert_->reset();  // no statement in progress at COMMIT; no binding left pointing into the batch
      upsert_->reset();
      if (status.ok()) status = tx.commit();
    }                                   // rolled back here unless committed
    if (!status.ok()) dict_->forget();  // ids it handed out in the rolled-back transaction may be reused
    return status;
  }

  Status write_rows(const std::vector<Item>& batch) {
    batch_inserted_ = 0;
    sums_.clear();
    Statement& insert = *insert_;
    Dictionary& dict = *dict_;
    order_.resize(batch.size());
    for (size_t k = 0; k < batch.size(); ++k) order_[k] = &batch[k];
    // In request_id order: consecutive inserts into the request_id index then walk neighbouring pages (for
    // UUIDs, the text order is the order of their bytes). Stable, so that of two records with one request_id
    // the one appended first is the one stored.
    std::stable_sort(order_.begin(), order_.end(),
                     [](const Item* a, const Item* b) { return a->record.request_id < b->record.request_id; });
    for (const Item* item_ptr : order_) {
      const Item& item = *item_ptr;
      const UsageRecord& r = item.record;
      std::array<int64_t, kInterned> sid{};
      auto texts = item.interned();
      for (size_t k = 0; k < kInterned; ++k) {
        auto id = dict.intern(kInternedKinds[k], HashedText{texts[k], item.hashes[k]});
        if (!id.ok()) return std::move(id).error();
        sid[k] = *id;
      }
      insert.reset();
      if (item.uuid_key) {
        insert.bind_blob_static(1, item.id_bytes.data(), item.id_bytes.size());
      } else {
        insert.bind_static(1, r.request_id);
      }
      insert.bind(2, floor_ms(r.start_time))
          .bind(3, floor_ms(r.end_time))
          .bind(4, sid[0])
          .bind(5, sid[1])
          .bind(6, sid[2])
          .bind(7, sid[3])
          .bind(8, sid[4])
          .bind(9, sid[5])
          .bind(10, sid[6])
          .bind(11, sid[7])
          .bind(12, r.tokens.input)
          .bind(13, r.tokens.output)
          .bind(14, r.tokens.cache_read)
          .bind(15, r.tokens.cache_write)
          .bind(16, r.costs.input_nano_usd)
          .bind(17, r.costs.output_nano_usd)
          .bind(18, r.costs.cache_read_nano_usd)
          .bind(19, r.costs.cache_write_nano_usd)
          .bind(20, int64_t{r.price_missing ? 1 : 0})
          .bind(21, sid[8])
          .bind(22, status_code(r.status))
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
        // hour × account × profile ARN × tag set × model × billing Region × operation × principal × usage type
        RollupSum& sum = sums_[{item.hour_ms, sid[0], sid[4], sid[8], sid[5], sid[6], sid[2], sid[1], type}];
        sum.tokens += tokens;
        sum.cost += cost;
        sum.records += 1;
      }
    }
    Statement& upsert = *upsert_;
    for (const auto& [key, sum] : sums_) {
      const auto& [hour, account, profile, tag_set, model, region, operation, principal, type] = key;
      upsert.reset();
      upsert.bind(1, hour)
          .bind(2, account)
          .bind(3, profile)
          .bind(4, tag_set)
          .bind(5, model)
          .bind(6, region)
          .bind(7, operation)
          .bind(8, principal)
          .bind_static(9, to_string(type))
          .bind(10, sum.tokens)
          .bind(11, sum.cost)
          .bind(12, sum.records);
      TOLLGATE_TRY(upsert.run());
    }
    return {};
  }

  const size_t max_batch_;
  const std::chrono::milliseconds max_delay_;
  const int checkpoint_frames_;
  const bool read_only_;

  std::unique_ptr<Database> db_;         // the writer's connection (null when read-only)
  std::unique_ptr<Database> reader_db_;  // read-only connection for query/rollups (null for ":memory:")
  Database* reader_ = nullptr;
  // Under the reader's lock: dictionary id -> text, for for_each_rollup.
  static constexpr size_t kMaxCachedTexts = size_t{1} << 20;
  std::unordered_map<int64_t, std::string> reader_texts_;
  std::optional<Statement> reader_text_stmt_;
  std::optional<Statement> insert_;  // used by the writer thread only
  std::optional<Statement> upsert_;
  std::optional<Dictionary> dict_;       // writer thread only
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

  std::unique_ptr<Database> checkpoint_db_;  // the checkpointer's connection (file databases only)
  std::thread checkpointer_;
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  std::atomic<bool> checkpoint_wanted_{false};  // set by the writer, cleared by the checkpointer
  std::atomic<bool> tail_pending_{false};       // set by the checkpointer, cleared by the writer
  bool checkpointer_closing_ = false;           // guarded by checkpoint_mu_

  std::atomic<uint64_t> appended_{0};
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> failed_commits_{0};
  std::atomic<uint64_t> acknowledged_{0};
  std::atomic<uint64_t> inserted_{0};
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<uint64_t> largest_batch_{0};
  std::atomic<uint64_t> checkpoints_{0};
  std::atomic<uint64_t> wal_frames_{0};
};

SqliteLedger::SqliteLedger(const SqliteLedgerOptions& options) : impl_(std::make_unique<Impl>(options)) {}
SqliteLedger::~SqliteLedger() = default;
void SqliteLedger::append(UsageRecord record, Done done) { impl_->append(std::move(record), std::move(done)); }
Result<std::vector<UsageRecord>> SqliteLedger::query(const UsageQuery& query) { return impl_->query(query); }
Result<std::vector<HourlyRollup>> SqliteLedger::rollups(const RollupQuery& query) { return impl_->rollups(query); }
Status SqliteLedger::for_each_rollup(const RollupQuery& query, const RollupVisitor& visit) {
  return impl_->for_each_rollup(query, visit);
}
Result<std::vector<TagSetLastUse>> SqliteLedger::tag_set_last_use() { return impl_->tag_set_last_use(); }
void SqliteLedger::close() { impl_->close(); }
SqliteLedgerStats SqliteLedger::stats() const { return impl_->stats(); }

std::unique_ptr<Ledger> open_sqlite_ledger(const SqliteLedgerOptions& options) {
  return std::make_unique<SqliteLedger>(options);
}

}  // namespace tollgate::ledger::sqlite
