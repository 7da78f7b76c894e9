#include "app/scheduled_exports.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "ledger/sqlite/sqlite_ledger.h"

namespace tollgate::app {
namespace {

using namespace std::chrono_literals;

std::string read(const std::filesystem::path& path) {
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  return text.str();
}

TEST(ScheduledExports, WritesTheCurrentMonthAndCompletesThePreviousOne) {
  const auto dir = std::filesystem::temp_directory_path() / ("tollgate-scheduled-" + std::to_string(::getpid()));
  ledger::sqlite::SqliteLedgerOptions options;
  options.path = ":memory:";
  ledger::sqlite::SqliteLedger ledger(options);
  ledger::UsageRecord r;
  r.request_id = "r1";
  r.start_time = r.end_time = std::chrono::sys_days{std::chrono::year(2026) / 11 / 30} + 23h;
  r.account_id = "123456789012";
  r.model_id = "anthropic.claude-3-haiku-20240307-v1:0";
  r.billing_region = r.served_region = "us-east-1";
  r.operation = "Converse";
  r.tokens = {10, 0, 0, 0};
  r.costs = {2500, 0, 0, 0};
  std::promise<Status> done;
  ledger.append(r, [&](const Status& s) { done.set_value(s); });
  ASSERT_TRUE(done.get_future().get().ok());
  auto tags = costs::CostAllocationTags::open(":memory:");
  auto catalog = catalog::Catalog::embedded();
  ManualClock clock(std::chrono::sys_days{std::chrono::year(2026) / 12 / 4});
  ScheduledExports exports({dir.string(), {costs::ExportFormat::Cur2}, 24h}, ledger, *tags, catalog, clock);
  exports.run_once();
  const std::string november = read(dir / "cur2" / "2026-11" / "manifest.json");
  EXPECT_NE(november.find("\"complete\":true"), std::string::npos) << november;
  EXPECT_NE(november.find("\"rows\":1"), std::string::npos) << november;
  EXPECT_NE(read(dir / "cur2" / "2026-12" / "manifest.json").find("\"complete\":false"), std::string::npos);
  // A complete month is not written again.
  std::filesystem::remove(dir / "cur2" / "2026-11" / "part-00001.csv.gz");
  exports.run_once();
  EXPECT_FALSE(std::filesystem::exists(dir / "cur2" / "2026-11" / "part-00001.csv.gz"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tollgate::app
