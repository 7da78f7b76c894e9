// Billing-period exports of the usage facts, in the two shapes finance pipelines load: AWS CUR 2.0 line
// items and FinOps FOCUS 1.2 rows. One row per hour × account × resource × usage type × operation ×
// principal × active tag set (the facts: doc/costs.md), written as gzip CSV files plus a manifest. The rows stream
// from the ledger hour by hour, so memory stays bounded by one hour's distinct rows, whatever the month
// holds.
//
// Layout under the output directory (files of an earlier export of the same period are replaced):
//   <dir>/<cur2|focus1.2>/<YYYY-MM>/part-00001.csv.gz, part-00002.csv.gz, ...   (rows_per_file each)
//   <dir>/<cur2|focus1.2>/<YYYY-MM>/manifest.json
//
// Thread-safety: one export at a time per FactSource.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "costs/facts.h"

namespace tollgate::costs {

enum class ExportFormat { Cur2, Focus12 };
std::string_view to_string(ExportFormat format);  // "cur2", "focus1.2"

struct ExportProgress {
  size_t hours_done, hours_total;
  int64_t rows;
};

struct ExportRequest {
  ExportFormat format = ExportFormat::Cur2;
  TimePoint month;        // the billing period: the month starting here (00:00 UTC on a first)
  std::string directory;  // the output directory (created if needed)
  std::optional<std::string> account;
  size_t rows_per_file = 1'000'000;
  std::function<void(const ExportProgress&)> progress;  // after each hour with rows
};

struct ExportResult {
  std::string period_directory;
  std::vector<std::string> files;  // the data files, in order
  std::string manifest;            // the manifest's path
  int64_t rows = 0;
  int64_t cost_nano_usd = 0;     // of the Usage rows
  int64_t credits_nano_usd = 0;  // of the Credit rows (≤ 0)
  int64_t usage_quantity = 0;
};

// <directory>/<cur2|focus1.2>/<YYYY-MM>: where the export of the month starting at `month` goes.
std::string period_directory(const std::string& directory, ExportFormat format, TimePoint month);

// The columns of each format, in file order.
const std::vector<std::string_view>& export_columns(ExportFormat format);

Result<ExportResult> write_export(FactSource& source, const ExportRequest& request, TimePoint now);

// CUR's resource_tags key of a user tag key: "user_" + the key in lower case with other characters than
// letters and digits as "_" ("cost-center" -> "user_cost_center").
std::string cur_tag_column(std::string_view key);

}  // namespace tollgate::costs
