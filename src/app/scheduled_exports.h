// Exports on a schedule (the `exports:` section of the configuration): every interval, the current
// month's CUR 2.0 and/or FOCUS 1.2 files are rewritten into the directory, and the previous month's once
// more until its manifest says it is complete, as AWS Data Exports refreshes a report.
//
// Thread-safety: owns one thread; the destructor stops and joins it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalog.h"
#include "core/clock.h"
#include "costs/cost_allocation_tags.h"
#include "costs/export.h"
#include "ledger/ledger.h"

namespace tollgate::app {

struct ScheduledExportsOptions {
  std::string directory;
  std::vector<costs::ExportFormat> formats;
  std::chrono::minutes interval{60};
};

class ScheduledExports {
 public:
  // With `credits`, the exports carry their Credit line items.
  ScheduledExports(ScheduledExportsOptions options, ledger::Ledger& ledger, costs::CostAllocationTags& tags,
                   const catalog::Catalog& catalog, const Clock& clock, costs::CreditStore* credits = nullptr);
  ~ScheduledExports();
  // Starts the thread: a round now, then one per interval.
  void start();
  ScheduledExports(const ScheduledExports&) = delete;
  ScheduledExports& operator=(const ScheduledExports&) = delete;

  // Runs one round now, on the caller's thread (what the thread runs; not while it runs).
  void run_once();

 private:
  void loop();
  bool complete(costs::ExportFormat format, TimePoint month) const;
  void export_month(costs::ExportFormat format, TimePoint month);

  ScheduledExportsOptions options_;
  ledger::Ledger& ledger_;
  costs::CostAllocationTags& tags_;
  const catalog::Catalog& catalog_;
  const Clock& clock_;
  costs::CreditStore* credits_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tollgate::app
