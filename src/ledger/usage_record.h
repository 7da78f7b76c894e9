// One usage record per invocation that reached a model: who called what, through
// which profile, where it ran, the tokens used and their cost, and the profile's
// tags as they were at that moment. The unit of the ledger. Money is integer
// nano-USD; times are UTC.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/tag.h"

namespace tollgate::ledger {

enum class UsageStatus {
  Success,          // the model answered in full
  ClientCancelled,  // the client went away mid-stream; what was consumed is recorded
  UpstreamCut,      // the upstream cut the stream; what was consumed is recorded
  ModelError,       // the model (or upstream) failed after the request reached it
};
std::string_view to_string(UsageStatus status);
// Returns false for an unknown text.
bool parse_usage_status(std::string_view text, UsageStatus& out);

struct TokenCounts {
  int64_t input = 0;
  int64_t output = 0;
  int64_t cache_read = 0;
  int64_t cache_write = 0;
  friend bool operator==(const TokenCounts&, const TokenCounts&) = default;
};

struct TokenCosts {
  int64_t input_nano_usd = 0;
  int64_t output_nano_usd = 0;
  int64_t cache_read_nano_usd = 0;
  int64_t cache_write_nano_usd = 0;
  int64_t total_nano_usd() const {
    return input_nano_usd + output_nano_usd + cache_read_nano_usd + cache_write_nano_usd;
  }
  friend bool operator==(const TokenCosts&, const TokenCosts&) = default;
};

struct UsageRecord {
  std::string request_id;  // unique; a record is stored at most once
  TimePoint start_time;
  TimePoint end_time;
  std::string account_id;
  std::string principal;     // the caller's IAM ARN; an access key or API key id in records of before
  std::string operation;     // "Converse", "ConverseStream", "InvokeModel", ...
  std::string resource_arn;  // what the caller invoked (model, system profile or application profile)
  std::string profile_arn;   // application or system profile ARN; empty for a bare model
  std::string model_id;
  std::string billing_region;  // the call's (source) region
  std::string served_region;   // where the model ran
  TokenCounts tokens;
  TokenCosts costs;
  bool price_missing = false;  // no price known: costs are a flagged zero, never a silent $0
  std::vector<Tag> tags;       // the profile's tags at invocation time
  UsageStatus status = UsageStatus::Success;
  int64_t latency_ms = 0;
  friend bool operator==(const UsageRecord&, const UsageRecord&) = default;
};

}  // namespace tollgate::ledger
