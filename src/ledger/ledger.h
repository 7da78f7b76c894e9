// The durable usage ledger. append() queues a record for the group-commit
// writer and calls `done` once the record is committed (many records share one
// commit), so a caller can hold back the last byte of its response until then.
// Hourly rollups are maintained in the same transaction as the records.
//
// Thread-safety: every method may be called from any thread; `done` runs on the
// writer thread and must not block.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "ledger/usage_record.h"

namespace tollgate::ledger {

struct UsageQuery {
  std::optional<TimePoint> since;  // start_time >= since
  std::optional<TimePoint> until;  // start_time < until
  std::optional<std::string> account_id;
  std::optional<std::string> profile_arn;
  size_t limit = 1000;
};

// Usage types of a rollup row.
enum class TokenType { Input, Output, CacheRead, CacheWrite };
std::string_view to_string(TokenType type);  // "input", "output", "cache-read", "cache-write"
// Returns false for an unknown text.
bool parse_token_type(std::string_view text, TokenType& out);

struct HourlyRollup {
  TimePoint hour;  // start of the UTC hour
  std::string account_id;
  std::string profile_arn;
  std::string tag_set;  // canonical JSON of the sorted tags, e.g. [["team","growth"]]
  std::string model_id;
  std::string billing_region;
  std::string operation;  // "Converse", "ConverseStream", "InvokeModel", ...
  std::string principal;  // the caller, as UsageRecord::principal
  TokenType usage_type;
  int64_t tokens = 0;
  int64_t cost_nano_usd = 0;
  int64_t records = 0;  // records that contributed (a record counts once per usage type it has)
};

struct RollupQuery {
  std::optional<TimePoint> since;  // hour >= since
  std::optional<TimePoint> until;  // hour < until
  std::optional<std::string> account_id;
};

// One rollup row as a scan sees it. The texts are valid only during the visitor's call. The *_key ids are
// the ledger's dictionary ids of those texts: equal ids mean equal texts (and equal texts of one kind have
// one id), stable for the ledger's life, so a caller can cache what it derives from a row by them.
struct RollupRowView {
  int64_t hour_ms;
  int64_t account_key, profile_arn_key, tag_set_key, model_key, billing_region_key, operation_key, principal_key;
  std::string_view account_id, profile_arn, tag_set, model_id, billing_region, operation, principal;
  TokenType usage_type;
  int64_t tokens, cost_nano_usd, records;
};
using RollupVisitor = std::function<void(const RollupRowView&)>;

// The last hour in which usage carried a tag set (canonical text).
struct TagSetLastUse {
  std::string tag_set;
  TimePoint last_hour;
};

class Ledger {
 public:
  virtual ~Ledger() = default;
  using Done = std::function<void(const Status&)>;
  // Queues the record; `done` receives ok once it is committed, or the error. A
  // record whose request_id is already stored is not stored again (done gets ok).
  virtual void append(UsageRecord record, Done done) = 0;
  virtual Result<std::vector<UsageRecord>> query(const UsageQuery& query) = 0;
  virtual Result<std::vector<HourlyRollup>> rollups(const RollupQuery& query) = 0;
  // Streams the rollup rows of `query` in hour order (within an hour, in no stated order) without
  // building them in memory: for reports over months of usage.
  virtual Status for_each_rollup(const RollupQuery& query, const RollupVisitor& visit) = 0;
  // Every tag set that usage has carried, with the last hour it did.
  virtual Result<std::vector<TagSetLastUse>> tag_set_last_use() = 0;
  // Commits everything queued, then stops the writer; append() afterwards fails.
  virtual void close() = 0;
};

}  // namespace tollgate::ledger
