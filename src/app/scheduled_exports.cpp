#include "app/scheduled_exports.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tollgate::app {

ScheduledExports::ScheduledExports(ScheduledExportsOptions options, ledger::Ledger& ledger,
                                   costs::CostAllocationTags& tags, const catalog::Catalog& catalog, const Clock& clock,
                                   costs::CreditStore* credits)
    : options_(std::move(options)), ledger_(ledger), tags_(tags), catalog_(catalog), clock_(clock), credits_(credits) {}

void ScheduledExports::start() {
  thread_ = std::thread([this] { loop(); });
}

ScheduledExports::~ScheduledExports() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ScheduledExports::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    run_once();
    lock.lock();
    wake_.wait_for(lock, options_.interval, [this] { return stopping_; });
  }
}

bool ScheduledExports::complete(costs::ExportFormat format, TimePoint month) const {
  std::ifstream manifest(std::filesystem::path(costs::period_directory(options_.directory, format, month)) /
                         "manifest.json");
  std::stringstream text;
  text << manifest.rdbuf();
  return text.str().find("\"complete\":true") != std::string::npos;
}

void ScheduledExports::export_month(costs::ExportFormat format, TimePoint month) {
  auto timeline = tags_.timeline();
  if (!timeline.ok()) {
    spdlog::warn("scheduled export skipped: cannot read the cost-allocation tags: {}", timeline.error().message());
    return;
  }
  costs::FactSource source(ledger_, catalog_, std::move(timeline).value());
  if (credits_) {
    auto grants = credits_->grants();
    if (!grants.ok()) {
      spdlog::warn("scheduled export skipped: cannot read the credits: {}", grants.error().message());
      return;
    }
    source.set_credits(std::move(grants).value());
  }
  costs::ExportRequest request;
  request.format = format;
  request.month = month;
  request.directory = options_.directory;
  auto result = costs::write_export(source, request, clock_.now());
  if (!result.ok()) {
    spdlog::warn("scheduled {} export failed: {}", costs::to_string(format), result.error().message());
    return;
  }
  spdlog::info("scheduled {} export: {} rows into {}", costs::to_string(format), result->rows,
               result->period_directory);
}

void ScheduledExports::run_once() {
  const TimePoint current = costs::month_start(clock_.now());
  const TimePoint previous = costs::month_start(current, -1);
  for (auto format : options_.formats) {
    if (!complete(format, previous)) export_month(format, previous);
    export_month(format, current);
  }
}

}  // namespace tollgate::app
