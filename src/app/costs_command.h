// `tollgate costs` and `tollgate chargeback`: the Cost Explorer answers of a data directory's ledger,
// readable by a person (or as CSV / JSON). Both read the ledger and the cost-allocation tags read-only, so
// they can run beside a serving gateway, and answer through the same code as the API.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "core/clock.h"

namespace tollgate::app {

struct CostsOptions {
  std::string data_dir = "tollgate-data";
  std::string from;                     // YYYY-MM-DD[THH:MM:SSZ]; default: the first of the current month
  std::string to;                       // exclusive; default: tomorrow
  std::string granularity = "MONTHLY";  // HOURLY | DAILY | MONTHLY
  std::vector<std::string> group_by;    // "TAG:team", "DIMENSION:REGION" (at most two)
  std::vector<std::string> filters;     // a Cost Explorer Expression as JSON, or KIND:KEY=V1,V2 (all must hold)
  std::string format = "table";         // table | csv | json
};

// Returns the exit status; a bad option or an error answer throws StartupError with what to fix.
int print_costs(const CostsOptions& options, std::ostream& out, const Clock& clock);

struct ChargebackOptions {
  std::string data_dir = "tollgate-data";
  std::string by = "TAG:cost-center";  // the owner: TAG:<key> or DIMENSION:<name>
  std::string month;                   // YYYY-MM; default: the current month
  std::string format = "table";        // table | csv | json
};

int print_chargeback(const ChargebackOptions& options, std::ostream& out, const Clock& clock);

struct ExportOptions {
  std::string data_dir = "tollgate-data";
  std::string format;  // cur | focus
  std::string month;   // YYYY-MM; default: the current month
  std::string out_dir;
};

// Writes the export, with progress on `progress` (a line per day of the month, rewritten in place on a
// terminal), then prints where the files are.
int run_export(const ExportOptions& options, std::ostream& out, std::ostream& progress, const Clock& clock);

// YYYY-MM -> the first instant of that month; throws StartupError naming `option`.
TimePoint parse_month(const std::string& text, const std::string& option);

}  // namespace tollgate::app
