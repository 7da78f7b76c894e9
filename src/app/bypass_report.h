// `tollgate bypass-report`: the usage that did not go through an application inference profile — calls
// that named a bare foundation model or a system-defined profile — by principal, from the ledger of a data
// directory (safe while the gateway runs). Such usage carries no profile tags, so no team owns it. See
// doc/governance.md, "The bypass report".
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/clock.h"
#include "ledger/usage_record.h"

namespace tollgate::app {

struct BypassReportOptions {
  std::string data_dir = "tollgate-data";
  std::optional<std::string> since;  // as `tollgate usage --since`: 2026-11-22, 2026-11-22T10:00:00Z, 24h, 7d
  std::string format = "table";      // table | json
};

// One resource a principal named instead of an application profile.
struct BypassResource {
  std::string arn;
  std::string kind;  // "foundation-model" or "system-profile"
  int64_t calls = 0;
};

struct BypassByPrincipal {
  std::string principal;  // as the usage records name the caller
  int64_t calls = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cost_nano_usd = 0;
  std::vector<BypassResource> resources;  // most-called first
};

// Groups the records that did not go through an application profile by principal: most cost first (then
// most calls, then by name). Records through an application profile are left out.
std::vector<BypassByPrincipal> bypass_by_principal(const std::vector<ledger::UsageRecord>& records);

// Reads the ledger and prints the report; returns the exit status. Throws StartupError on bad options.
int print_bypass_report(const BypassReportOptions& options, std::ostream& out, const Clock& clock);

}  // namespace tollgate::app
