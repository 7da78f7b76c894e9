// `tollgate usage`: lists usage records from the ledger of a data directory
// (also while the gateway runs: the ledger is read through WAL).
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "core/clock.h"
#include "ledger/sqlite/sqlite_ledger.h"

namespace tollgate::app {

struct UsageOptions {
  std::string data_dir;
  std::optional<std::string> since;  // "2026-11-22", "2026-11-22T10:00:00Z", or relative: "90m", "24h", "7d"
  std::optional<std::string> profile_arn;
  size_t limit = 100;
  std::string format = "table";  // table | json
};

// Returns the process exit status; writes the listing to `out`.
int list_usage(const UsageOptions& options, std::ostream& out, const Clock& clock);

// The ledger of a data directory, opened read-only (safe beside a running gateway). Throws StartupError
// when the directory has no ledger.
std::unique_ptr<ledger::sqlite::SqliteLedger> open_ledger_for_reading(const std::string& data_dir);

// Refuses a --format other than table or json (StartupError).
void check_table_or_json(const std::string& format);

// Parses --since; throws StartupError with what to write instead.
TimePoint parse_since(const std::string& text, TimePoint now);

}  // namespace tollgate::app
