#include "ledger/sqlite/sqlite_ledger.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "core/ids.h"
#include "ledger/tag_set.h"
#include "store/sqlite/sqlite_database.h"

namespace tollgate::ledger::sqlite {
namespace {

using namespace std::chrono_literals;

constexpr auto kWait = std::chrono::seconds(120);  // only a bound against hanging; never a timing claim

// A fresh directory per test (WAL needs a real file), removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tollgate-ledger-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Counts the `done` calls and lets a test wait for them.
class Acks {
 public:
  Ledger::Done done() {
    return [this](const Status& s) {
      std::lock_guard lock(mu_);
      if (s.ok()) {
        ++ok_;
      } else {
        ++failed_;
        last_error_ = s.error().detail();
      }
      cv_.notify_all();
    };
  }
  // True when `n` calls arrived in time.
  bool wait(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return ok_ + failed_ >= n; });
  }
  size_t ok() {
    std::lock_guard lock(mu_);
    return ok_;
  }
  size_t failed() {
    std::lock_guard lock(mu_);
    return failed_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t ok_ = 0;
  size_t failed_ = 0;
  std::string last_error_;
};

// Holds the writer inside the `done` of a first record ("gate"), so that what is
// appended meanwhile is queued and goes into the following batches.
class WriterGate {
 public:
  explicit WriterGate(Ledger& ledger, UsageRecord gate) {
    // The `done` owns what it touches: the gate may be gone before the writer left the `done`.
    auto entered = std::make_shared<std::promise<void>>();
    auto entered_future = entered->get_future();
    ledger.append(std::move(gate), [entered, release = release_future_](const Status&) {
      entered->set_value();
      release.wait();
    });
    if (entered_future.wait_for(kWait) != std::future_status::ready) throw std::runtime_error("writer stuck");
  }
  ~WriterGate() { open(); }
  void open() {
    if (!opened_) release_.set_value();
    opened_ = true;
  }

 private:
  std::promise<void> release_;
  std::shared_future<void> release_future_ = release_.get_future().share();
  bool opened_ = false;
};

TimePoint at_ms(int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

// 2023-11-14T22:00:00Z, the start of a UTC hour.
constexpr int64_t kHour22 = 1'700'000'000'000 - 1'700'000'000'000 % 3'600'000;

UsageRecord sample(std::string request_id, int64_t start_ms = kHour22 + 1234) {
  UsageRecord r;
  r.request_id = std::move(request_id);
  r.start_time = at_ms(start_ms);
  r.end_time = at_ms(start_ms + 850);
  r.account_id = "123456789012";
  r.principal = "AKIAIOSFODNN7EXAMPLE";
  r.operation = "Converse";
  r.resource_arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghijkl";
  r.profile_arn = r.resource_arn;
  r.model_id = "anthropic.claude-3-haiku-20240307-v1:0";
  r.billing_region = "us-east-1";
  r.served_region = "us-west-2";
  r.tokens = {100, 20, 0, 0};
  r.costs = {25'000, 25'000, 0, 0};
  r.tags = {{"team", "growth"}, {"env", "prod"}};
  r.status = UsageStatus::Success;
  r.latency_ms = 850;
  return r;
}

UsageRecord sorted_tags(UsageRecord r) {
  std::sort(r.tags.begin(), r.tags.end(), [](const Tag& a, const Tag& b) { return a.key < b.key; });
  return r;
}

SqliteLedgerOptions options_for(const std::string& path) {
  SqliteLedgerOptions o;
  o.path = path;
  return o;
}

std::vector<UsageRecord> all_records(Ledger& ledger) {
  UsageQuery q;
  q.limit = 1'000'000;
  auto records = ledger.query(q);
  EXPECT_TRUE(records.ok());
  return records.ok() ? *records : std::vector<UsageRecord>{};
}

std::vector<HourlyRollup> all_rollups(Ledger& ledger) {
  auto rollups = ledger.rollups({});
  EXPECT_TRUE(rollups.ok());
  return rollups.ok() ? *rollups : std::vector<HourlyRollup>{};
}

// Appends and waits for the one acknowledgement; returns its status.
Status append_and_wait(Ledger& ledger, UsageRecord r) {
  std::promise<Status> acked;
  auto future = acked.get_future();
  ledger.append(std::move(r), [&acked](const Status& s) { acked.set_value(s); });
  if (future.wait_for(kWait) != std::future_status::ready) {
    return Error(ErrorCode::InternalServer, "timed out waiting for done");
  }
  return future.get();
}

// The rollup rows the ledger should hold, computed from the records by hand.
using Dimensions = std::tuple<int64_t, std::string, std::string, std::string, std::string, std::string, std::string,
                              std::string, TokenType>;
struct Sums {
  int64_t tokens = 0, cost = 0, records = 0;
  friend bool operator==(const Sums&, const Sums&) = default;
};

std::map<Dimensions, Sums> expected_rollups(const std::vector<UsageRecord>& records) {
  std::map<Dimensions, Sums> out;
  for (const auto& r : records) {
    int64_t ms = std::chrono::floor<std::chrono::milliseconds>(r.start_time.time_since_epoch()).count();
    int64_t hour = ms - ((ms % 3'600'000) + 3'600'000) % 3'600'000;
    std::string tag_set = canonical_tag_set(r.tags);
    for (auto [type, tokens, cost] :
         {std::tuple{TokenType::Input, r.tokens.input, r.costs.input_nano_usd},
          std::tuple{TokenType::Output, r.tokens.output, r.costs.output_nano_usd},
          std::tuple{TokenType::CacheRead, r.tokens.cache_read, r.costs.cache_read_nano_usd},
          std::tuple{TokenType::CacheWrite, r.tokens.cache_write, r.costs.cache_write_nano_usd}}) {
      if (tokens <= 0 && cost <= 0) continue;
      Sums& s = out[{hour, r.account_id, r.profile_arn, tag_set, r.model_id, r.billing_region, r.operation, r.principal,
                     type}];
      s.tokens += tokens;
      s.cost += cost;
      s.records += 1;
    }
  }
  return out;
}

std::map<Dimensions, Sums> actual_rollups(const std::vector<HourlyRollup>& rollups) {
  std::map<Dimensions, Sums> out;
  for (const auto& r : rollups) {
    int64_t hour = std::chrono::duration_cast<std::chrono::milliseconds>(r.hour.time_since_epoch()).count();
    Dimensions key{hour,        r.account_id, r.profile_arn, r.tag_set, r.model_id, r.billing_region,
                   r.operation, r.principal,  r.usage_type};
    EXPECT_EQ(out.count(key), 0u) << "two rollup rows for one key";
    out[key] = {r.tokens, r.cost_nano_usd, r.records};
  }
  return out;
}

TEST(SqliteLedger, RoundTripsEveryField) {
  TempDir dir;
  auto ledger = open_sqlite_ledger(options_for(dir.file("ledger.db")));
  std::vector<UsageRecord> written;
  for (auto status :
       {UsageStatus::Success, UsageStatus::ClientCancelled, UsageStatus::UpstreamCut, UsageStatus::ModelError}) {
    UsageRecord r = sample("req-" + std::string(to_string(status)), kHour22 + 1000 * static_cast<int>(status));
    r.end_time = r.start_time + 3723ms;
    r.principal = "key-" + std::string(to_string(status));
    r.operation = "ConverseStream";
    r.resource_arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku";
    r.profile_arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/zzzzzzzzzzzz";
    r.model_id = "anthropic.claude-3-5-sonnet-20240620-v1:0";
    r.billing_region = "us-east-1";
    r.served_region = "us-east-2";
    r.tokens = {1'000'001, 2'002, 303, 44};
    r.costs = {3'000'003'000, 15'000'015, 9'090, 55'000};
    r.price_missing = status == UsageStatus::UpstreamCut;
    r.tags = {{"team", "growth \"ml\""}, {"env", "prod"}, {"cost-center", "cc/42"}, {"owner", "zoë"}};
    r.status = status;
    r.latency_ms = 3723;
    ASSERT_TRUE(append_and_wait(*ledger, r).ok());
    written.push_back(r);
  }
  UsageRecord bare = sample("req-bare", kHour22 + 9000);
  bare.profile_arn.clear();
  bare.resource_arn = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0";
  bare.tags.clear();
  bare.tokens = {};
  bare.costs = {};
  ASSERT_TRUE(append_and_wait(*ledger, bare).ok());
  written.push_back(bare);

  auto records = all_records(*ledger);
  ASSERT_EQ(records.size(), written.size());
  // Newest first; tags come back in canonical (key) order.
  for (size_t i = 0; i < written.size(); ++i) {
    EXPECT_EQ(records[written.size() - 1 - i], sorted_tags(written[i])) << written[i].request_id;
  }
  EXPECT_EQ(canonical_tag_set(records[1].tags),
            R"([["cost-center","cc/42"],["env","prod"],["owner","zoë"],["team","growth \"ml\""]])");
}

TEST(SqliteLedger, StoresTimesToTheMillisecond) {
  TempDir dir;
  auto ledger = open_sqlite_ledger(options_for(dir.file("ledger.db")));
  UsageRecord r = sample("sub-ms");
  r.start_time = at_ms(kHour22 + 5) + 999us;
  r.end_time = at_ms(kHour22 + 9) + 1us;
  ASSERT_TRUE(append_and_wait(*ledger, r).ok());
  auto records = all_records(*ledger);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].start_time, at_ms(kHour22 + 5));
  EXPECT_EQ(records[0].end_time, at_ms(kHour22 + 9));
  // A bound between two milliseconds still compares with the exact time.
  UsageQuery q;
  q.since = at_ms(kHour22 + 5) + 1us;  // after the record's (stored) start
  EXPECT_TRUE(ledger->query(q)->empty());
  q.since = at_ms(kHour22 + 4) + 1us;
  EXPECT_EQ(ledger->query(q)->size(), 1u);
}

TEST(SqliteLedger, QueryFiltersNewestFirstWithLimit) {
  TempDir dir;
  auto ledger = open_sqlite_ledger(options_for(dir.file("ledger.db")));
  Acks acks;
  const std::string other_profile = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/other";
  for (int i = 0; i < 10; ++i) {
    UsageRecord r = sample("q" + std::to_string(i), kHour22 + i * 60'000);
    if (i % 2 == 1) r.profile_arn = other_profile;
    if (i >= 8) r.account_id = "210987654321";
    ledger->append(r, acks.done());
  }
  ASSERT_TRUE(acks.wait(10));
  auto ids = [&](const UsageQuery& q) {
    std::vector<std::string> out;
    auto records = ledger->query(q);
    EXPECT_TRUE(records.ok());
    for (const auto& r : *records) out.push_back(r.request_id);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids({}), (V{"q9", "q8", "q7", "q6", "q5", "q4", "q3", "q2", "q1", "q0"}));
  UsageQuery q;
  q.limit = 3;
  EXPECT_EQ(ids(q), (V{"q9", "q8", "q7"}));
  q = {};
  q.since = at_ms(kHour22 + 2 * 60'000);
  q.until = at_ms(kHour22 + 6 * 60'000);
  EXPECT_EQ(ids(q), (V{"q5", "q4", "q3", "q2"}));
  q.profile_arn = other_profile;
  EXPECT_EQ(ids(q), (V{"q5", "q3"}));
  q = {};
  q.account_id = "210987654321";
  EXPECT_EQ(ids(q), (V{"q9", "q8"}));
  q.profile_arn = other_profile;
  EXPECT_EQ(ids(q), (V{"q9"}));
  q = {};
  q.limit = 0;
  EXPECT_TRUE(ids(q).empty());
}

TEST(SqliteLedger, DuplicateRequestIdIsStoredAndCountedOnce) {
  TempDir dir;
  const std::string path = dir.file("ledger.db");
  UsageRecord first = sample("dup-1");
  UsageRecord replay = first;
  replay.tokens = {999, 999, 999, 999};  // a replay never overwrites nor adds
  replay.costs = {1, 1, 1, 1};
  {
    auto ledger = std::make_unique<SqliteLedger>(options_for(path));
    // Twice in one batch: hold the writer in a `done` while both are queued,
    // with other records around them; the one appended first is stored.
    WriterGate gate(*ledger, sample("gate"));
    Acks acks;
    ledger->append(sample("zzz-after"), acks.done());
    ledger->append(first, acks.done());
    ledger->append(sample("aaa-before"), acks.done());
    ledger->append(replay, acks.done());
    gate.open();
    ASSERT_TRUE(acks.wait(4));
    EXPECT_EQ(acks.ok(), 4u);
    EXPECT_EQ(ledger->stats().commits, 2u);  // the gate's, and one for the four
    // And again in later batches.
    ASSERT_TRUE(append_and_wait(*ledger, replay).ok());
    ASSERT_TRUE(append_and_wait(*ledger, first).ok());
    std::vector<UsageRecord> stored;
    for (auto& r : all_records(*ledger)) {
      if (r.request_id == "dup-1") stored.push_back(r);
    }
    ASSERT_EQ(stored.size(), 1u);
    EXPECT_EQ(stored[0], sorted_tags(first));
    EXPECT_EQ(actual_rollups(all_rollups(*ledger)),
              expected_rollups({sample("gate"), sample("zzz-after"), first, sample("aaa-before")}));
    auto stats = ledger->stats();
    EXPECT_EQ(stats.acknowledged, 7u);
    EXPECT_EQ(stats.inserted, 4u);
    EXPECT_EQ(stats.duplicates, 3u);
  }
  // After a restart the replay is still recognised.
  auto ledger = open_sqlite_ledger(options_for(path));
  ASSERT_TRUE(append_and_wait(*ledger, replay).ok());
  ASSERT_TRUE(append_and_wait(*ledger, sample("dup-2")).ok());
  auto records = all_records(*ledger);
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(actual_rollups(all_rollups(*ledger)),
            expected_rollups({sample("gate"), sample("zzz-after"), first, sample("aaa-before"), sample("dup-2")}));
  EXPECT_EQ(ledger->query({})->size(), 5u);
}

TEST(SqliteLedger, ConcurrentAppendsAreAllStoredAndRolledUpExactly) {
  TempDir dir;
  auto ledger = std::make_unique<SqliteLedger>(options_for(dir.file("ledger.db")));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 2000;
  const std::vector<std::string> profiles = {
      "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/aaaaaaaaaaaa",
      "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/bbbbbbbbbbbb", ""};
  const std::vector<std::vector<Tag>> tag_sets = {{}, {{"team", "a"}}, {{"team", "b"}, {"env", "prod"}}};
  auto make = [&](int t, int i) {
    UsageRecord r = sample("t" + std::to_string(t) + "-" + std::to_string(i), kHour22 + (t * kPerThread + i) * 997LL);
    r.account_id = (i % 3 == 0) ? "111111111111" : "222222222222";
    r.profile_arn = profiles[static_cast<size_t>(i % 3)];
    r.tags = tag_sets[static_cast<size_t>((i / 3) % 3)];
    r.model_id = (t % 2 == 0) ? "model-a" : "model-b";
    r.billing_region = (i % 5 == 0) ? "eu-west-1" : "us-east-1";
    r.tokens = {i % 7, i % 11, i % 4 == 0 ? 0 : i % 13, i % 17};
    r.costs = {r.tokens.input * 3, r.tokens.output * 15, r.tokens.cache_read,
               i % 19 == 0 ? 5 : r.tokens.cache_write * 4};
    return r;
  };
  std::atomic<int> ok{0}, failed{0};
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        ledger->append(make(t, i), [&](const Status& s) {
          std::lock_guard lock(mu);
          (s.ok() ? ok : failed).fetch_add(1);
          cv.notify_all();
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kWait, [&] { return ok + failed == kThreads * kPerThread; }));
  }
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(failed.load(), 0);

  std::vector<UsageRecord> expected_records;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) expected_records.push_back(make(t, i));
  }
  auto records = all_records(*ledger);
  EXPECT_EQ(records.size(), expected_records.size());
  std::map<std::string, UsageRecord> by_id;
  for (auto& r : records) by_id.emplace(r.request_id, r);
  EXPECT_EQ(by_id.size(), expected_records.size());
  for (const auto& r : expected_records) {
    auto it = by_id.find(r.request_id);
    ASSERT_NE(it, by_id.end()) << r.request_id;
    EXPECT_EQ(it->second, sorted_tags(r));
  }
  EXPECT_EQ(actual_rollups(all_rollups(*ledger)), expected_rollups(expected_records));
  auto stats = ledger->stats();
  EXPECT_EQ(stats.inserted, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_LE(stats.commits, stats.inserted);
  EXPECT_EQ(stats.failed_commits, 0u);
}

TEST(SqliteLedger, QueuedRecordsShareCommits) {
  TempDir dir;
  SqliteLedgerOptions options = options_for(dir.file("ledger.db"));
  options.max_batch = 1024;
  auto ledger = std::make_unique<SqliteLedger>(options);
  // Hold the writer inside the first batch's `done` while 9,999 more are queued:
  // they can then only go in batches of max_batch.
  WriterGate gate(*ledger, sample("first"));
  Acks acks;
  for (int i = 1; i < 10'000; ++i) ledger->append(sample("r" + std::to_string(i)), acks.done());
  gate.open();
  ASSERT_TRUE(acks.wait(9'999));
  EXPECT_EQ(acks.ok(), 9'999u);
  auto stats = ledger->stats();
  EXPECT_EQ(stats.inserted, 10'000u);
  EXPECT_EQ(stats.commits, 1u + (9'999 + 1023) / 1024);  // 11 commits for 10,000 records
  EXPECT_EQ(stats.largest_batch, 1024u);
  EXPECT_EQ(all_records(*ledger).size(), 10'000u);
}

TEST(SqliteLedger, AFailedCommitFailsTheWholeBatchAndStoresNothingOfIt) {
  TempDir dir;
  auto ledger = std::make_unique<SqliteLedger>(options_for(dir.file("ledger.db")));
  // A status outside the enum breaks the schema's CHECK: the transaction fails.
  UsageRecord broken = sample("broken");
  broken.status = static_cast<UsageStatus>(42);
  std::vector<std::string> results;
  std::mutex mu;
  std::condition_variable cv;
  {
    WriterGate gate(*ledger, sample("gate"));
    for (const auto& r : {sample("innocent-1"), broken, sample("innocent-2")}) {
      ledger->append(r, [&](const Status& s) {
        std::lock_guard lock(mu);
        results.push_back(s.ok() ? "ok" : std::string(s.error().aws_name()));
        cv.notify_all();
      });
    }
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kWait, [&] { return results.size() == 3; }));
    EXPECT_EQ(results, (std::vector<std::string>(3, "InternalServerException")));
  }
  Status after = append_and_wait(*ledger, sample("after"));  // the writer goes on
  ASSERT_TRUE(after.ok()) << after.error().detail();
  std::vector<std::string> ids;
  for (const auto& r : all_records(*ledger)) ids.push_back(r.request_id);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"after", "gate"}));
  EXPECT_EQ(actual_rollups(all_rollups(*ledger)), expected_rollups({sample("gate"), sample("after")}));
  auto stats = ledger->stats();
  EXPECT_EQ(stats.failed_commits, 1u);
  EXPECT_EQ(stats.commits, 2u);
}

TEST(SqliteLedger, DoneComesAfterTheDataIsVisibleToANewConnection) {
  TempDir dir;
  const std::string path = dir.file("ledger.db");
  auto ledger = open_sqlite_ledger(options_for(path));
  std::atomic<int> visible{0}, checked{0};
  std::mutex mu;
  std::condition_variable cv;
  constexpr int kRecords = 50;
  for (int i = 0; i < kRecords; ++i) {
    std::string id = "vis-" + std::to_string(i);
    ledger->append(sample(id), [&, id](const Status& s) {
      if (s.ok()) {
        store::sqlite::Database fresh(path);
        auto guard = fresh.lock();
        auto stmt = fresh.prepare("SELECT COUNT(*) FROM usage_records WHERE request_id = ?");
        if (stmt.ok()) {
          stmt->bind(1, id);
          if (auto row = stmt->step(); row.ok() && *row && stmt->integer(0) == 1) visible.fetch_add(1);
        }
      }
      std::lock_guard lock(mu);
      checked.fetch_add(1);
      cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, kWait, [&] { return checked.load() == kRecords; }));
  EXPECT_EQ(visible.load(), kRecords);
}

TEST(SqliteLedger, FsyncModeStoresAndReopens) {
  TempDir dir;
  const std::string path = dir.file("ledger.db");
  std::vector<UsageRecord> written;
  {
    SqliteLedgerOptions options = options_for(path);
    options.fsync_each_commit = true;
    auto ledger = std::make_unique<SqliteLedger>(options);
    Acks acks;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 50; ++i)
          ledger->append(sample("f" + std::to_string(t) + "-" + std::to_string(i)), acks.done());
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_TRUE(acks.wait(200));
    EXPECT_EQ(acks.ok(), 200u);
    EXPECT_EQ(all_records(*ledger).size(), 200u);
    EXPECT_GE(ledger->stats().commits, 1u);
  }
  auto ledger = open_sqlite_ledger(options_for(path));
  auto records = all_records(*ledger);
  EXPECT_EQ(records.size(), 200u);
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 50; ++i) written.push_back(sample("f" + std::to_string(t) + "-" + std::to_string(i)));
  }
  EXPECT_EQ(actual_rollups(all_rollups(*ledger)), expected_rollups(written));
}

TEST(SqliteLedger, CloseDrainsTheQueue) {
  TempDir dir;
  const std::string path = dir.file("ledger.db");
  SqliteLedgerOptions options = options_for(path);
  options.max_delay = std::chrono::hours(1);  // close() must not wait for company
  options.max_batch = 100;
  Acks acks;
  {
    auto ledger = open_sqlite_ledger(options);
    for (int i = 0; i < 5000; ++i) ledger->append(sample("c" + std::to_string(i)), acks.done());
    ledger->close();
    // Every record was acknowledged before close() returned.
    EXPECT_EQ(acks.ok(), 5000u);
    EXPECT_EQ(acks.failed(), 0u);
    ledger->close();  // idempotent
  }
  auto ledger = open_sqlite_ledger(options_for(path));
  EXPECT_EQ(all_records(*ledger).size(), 5000u);
}

TEST(SqliteLedger, AppendAfterCloseFailsAtOnce) {
  TempDir dir;
  auto ledger = open_sqlite_ledger(options_for(dir.file("ledger.db")));
  ASSERT_TRUE(append_and_wait(*ledger, sample("before")).ok());
  ledger->close();
  std::optional<Status> result;
  ledger->append(sample("after"), [&](const Status& s) { result = s; });
  ASSERT_TRUE(result.has_value());  // called on the caller's thread, before append() returned
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->error().code(), ErrorCode::ServiceUnavailable);
  // Reads still work after close().
  auto records = all_records(*ledger);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].request_id, "before");
}

TEST(SqliteLedger, ALoneRecordDoesNotWaitForCompany) {
  TempDir dir;
  SqliteLedgerOptions options = options_for(dir.file("ledger.db"));
  options.max_delay = std::chrono::hours(1);  // were a lone record held for it, this test would hang
  auto ledger = open_sqlite_ledger(options);
  ASSERT_TRUE(append_and_wait(*ledger, sample("lone-1")).ok());
  ASSERT_TRUE(append_and_wait(*ledger, sample("lone-2")).ok());
  ASSERT_TRUE(append_and_wait(*ledger, sample("lone-3")).ok());
  EXPECT_EQ(all_records(*ledger).size(), 3u);
}

TEST(SqliteLedger, TheCheckpointerKeepsTheWalBoundedWhileCommitsGoOn) {
  TempDir dir;
  SqliteLedgerOptions options = options_for(dir.file("ledger.db"));
  options.checkpoint_frames = 32;
  auto ledger = std::make_unique<SqliteLedger>(options);
  std::vector<UsageRecord> written;
  for (int i = 0; i < 400; ++i) {  // one commit each: several frames each, well over a thousand in all
    written.push_back(sample("w" + std::to_string(i)));
    ASSERT_TRUE(append_and_wait(*ledger, written.back()).ok());
  }
  // The checkpointer runs beside the writer and a checkpoint fsyncs the database, which on a loaded machine
  // can outlast the 400 commits: wait for one to finish, then the next commits start the WAL over.
  for (int i = 0; i < 1000 && ledger->stats().checkpoints == 0; ++i) std::this_thread::sleep_for(10ms);
  for (int i = 0; i < 200 && ledger->stats().wal_frames >= 400; ++i) {
    written.push_back(sample("after-" + std::to_string(i)));
    ASSERT_TRUE(append_and_wait(*ledger, written.back()).ok());
  }
  auto stats = ledger->stats();
  EXPECT_EQ(stats.commits, written.size());
  EXPECT_GE(stats.checkpoints, 1u);
  EXPECT_LT(stats.wal_frames, 400u) << "the WAL never started over";
  EXPECT_EQ(all_records(*ledger).size(), written.size());
  EXPECT_EQ(actual_rollups(all_rollups(*ledger)), expected_rollups(written));
}

TEST(SqliteLedger, RollupsBucketByUtcHourOfTheStartTime) {
  TempDir dir;
  auto ledger = open_sqlite_ledger(options_for(dir.file("ledger.db")));
  const int64_t h = kHour22;
  std::vector<UsageRecord> written;
  for (auto [id, ms] : {std::pair{"a", h - 1}, std::pair{"b", h}, std::pair{"c", h + 3'599'999},
                        std::pair{"d", h + 3'600'000}, std::pair{"e", int64_t{-1'800'000}}}) {
    UsageRecord r = sample(id, ms);
    r.tokens = {10, 0, 0, 0};
    r.costs = {7, 0, 0, 0};
    r.end_time = r.start_time + 2h;  // the end time never moves a record to another hour
    written.push_back(r);
    ASSERT_TRUE(append_and_wait(*ledger, r).ok());
  }
  auto rollups = all_rollups(*ledger);
  ASSERT_EQ(rollups.size(), 4u);
  EXPECT_EQ(rollups[0].hour, at_ms(-3'600'000));  // 1969-12-31T23:00Z
  EXPECT_EQ(rollups[1].hour, at_ms(h - 3'600'000));
  EXPECT_EQ(rollups[2].hour, at_ms(h));
  EXPECT_EQ(rollups[3].hour, at_ms(h + 3'600'000));
  EXPECT_EQ(rollups[2].records, 2);
  EXPECT_EQ(rollups[2].tokens, 20);
  EXPECT_EQ(rollups[2].cost_nano_usd, 14);
  EXPECT_EQ(rollups[2].usage_type, TokenType::Input);
  EXPECT_EQ(rollups[2].tag_set, R"([["env","prod"],["team","growth"]])");
  EXPECT_EQ(actual_rollups(rollups), expected_rollups(written));

  RollupQuery q;
  q.since = at_ms(h);
  q.until = at_ms(h + 3'600'000);
  auto one_hour = ledger->rollups(q);
  ASSERT_TRUE(one_hour.ok());
  ASSERT_EQ(one_hour->size(), 1u);
  EXPECT_EQ((*one_hour)[0].hour, at_ms(h));
  q.since = at_ms(h) + 1ms;  // hour >= since: the 22:00 row is out
  q.until.reset();
  EXPECT_EQ(ledger->rollups(q)->size(), 1u);
}

TEST(SqliteLedger, ForEachRollupStreamsWhatRollupsReturnsWithStableKeys) {
  TempDir dir;
  auto ledger = open_sqlite_ledger(options_for(dir.file("ledger.db")));
  std::vector<UsageRecord> written;
  for (int i = 0; i < 6; ++i) {
    UsageRecord r = sample("scan-" + std::to_string(i), kHour22 + i * 1'800'000);
    r.operation = i % 2 ? "ConverseStream" : "Converse";  // the operation splits a rollup row
    if (i == 0) r.tags = {{"team", "search"}};
    if (i >= 4) r.principal = "arn:aws:iam::123456789012:user/other";  // so does the principal
    written.push_back(r);
    ASSERT_TRUE(append_and_wait(*ledger, r).ok());
  }
  std::vector<HourlyRollup> scanned;
  std::map<std::string, int64_t> tag_set_keys, principal_keys;
  RollupQuery q;
  q.since = at_ms(kHour22);
  auto status = ledger->for_each_rollup(q, [&](const RollupRowView& row) {
    HourlyRollup r{at_ms(row.hour_ms),
                   std::string(row.account_id),
                   std::string(row.profile_arn),
                   std::string(row.tag_set),
                   std::string(row.model_id),
                   std::string(row.billing_region),
                   std::string(row.operation),
                   std::string(row.principal),
                   row.usage_type,
                   row.tokens,
                   row.cost_nano_usd,
                   row.records};
    if (!scanned.empty()) {
      EXPECT_LE(scanned.back().hour, r.hour) << "rows come in hour order";
    }
    auto [it, inserted] = tag_set_keys.emplace(r.tag_set, row.tag_set_key);
    EXPECT_EQ(it->second, row.tag_set_key) << "one key per text";
    auto [principal, added] = principal_keys.emplace(r.principal, row.principal_key);
    EXPECT_EQ(principal->second, row.principal_key) << "one key per text";
    scanned.push_back(std::move(r));
  });
  ASSERT_TRUE(status.ok()) << status.error().message();
  EXPECT_EQ(actual_rollups(scanned), expected_rollups(written));
  EXPECT_EQ(actual_rollups(scanned), actual_rollups(all_rollups(*ledger)));
  EXPECT_EQ(tag_set_keys.size(), 2u);
  EXPECT_EQ(principal_keys.size(), 2u);

  auto last_use = ledger->tag_set_last_use();
  ASSERT_TRUE(last_use.ok());
  std::map<std::string, TimePoint> by_set;
  for (const auto& u : *last_use) by_set[u.tag_set] = u.last_hour;
  EXPECT_EQ(by_set[R"([["env","prod"],["team","growth"]])"], at_ms(kHour22 + 7'200'000));
  EXPECT_EQ(by_set[R"([["team","search"]])"], at_ms(kHour22));
}

TEST(SqliteLedger, RollupsCountEachUsageTypeARecordHas) {
  TempDir dir;
  auto ledger = open_sqlite_ledger(options_for(dir.file("ledger.db")));
  UsageRecord full = sample("full");
  full.tokens = {100, 50, 30, 20};
  full.costs = {1000, 2000, 300, 400};
  UsageRecord output_only = sample("output-only");
  output_only.tokens = {0, 5, 0, 0};
  output_only.costs = {0, 60, 0, 0};
  UsageRecord cost_without_tokens = sample("cost-only");  // a minimum charge, say
  cost_without_tokens.tokens = {};
  cost_without_tokens.costs = {0, 0, 0, 9};
  UsageRecord nothing = sample("nothing");
  nothing.tokens = {};
  nothing.costs = {};
  UsageRecord other_account = sample("other-account");
  other_account.account_id = "999999999999";
  for (const auto& r : {full, output_only, cost_without_tokens, nothing, other_account}) {
    ASSERT_TRUE(append_and_wait(*ledger, r).ok());
  }
  auto rollups = all_rollups(*ledger);
  EXPECT_EQ(actual_rollups(rollups),
            expected_rollups({full, output_only, cost_without_tokens, nothing, other_account}));
  RollupQuery q;
  q.account_id = "123456789012";
  auto mine = ledger->rollups(q);
  ASSERT_TRUE(mine.ok());
  std::map<TokenType, std::tuple<int64_t, int64_t, int64_t>> by_type;
  for (const auto& r : *mine) by_type[r.usage_type] = {r.tokens, r.cost_nano_usd, r.records};
  EXPECT_EQ(by_type.size(), 4u);
  EXPECT_EQ(by_type[TokenType::Input], std::make_tuple(int64_t{100}, int64_t{1000}, int64_t{1}));
  EXPECT_EQ(by_type[TokenType::Output], std::make_tuple(int64_t{55}, int64_t{2060}, int64_t{2}));
  EXPECT_EQ(by_type[TokenType::CacheRead], std::make_tuple(int64_t{30}, int64_t{300}, int64_t{1}));
  EXPECT_EQ(by_type[TokenType::CacheWrite], std::make_tuple(int64_t{20}, int64_t{409}, int64_t{2}));
}

TEST(SqliteLedger, InMemoryLedgerWorksOnOneConnection) {
  SqliteLedgerOptions options;
  options.path = ":memory:";
  auto ledger = open_sqlite_ledger(options);
  ASSERT_TRUE(append_and_wait(*ledger, sample("m1")).ok());
  EXPECT_EQ(all_records(*ledger).size(), 1u);
  EXPECT_EQ(all_rollups(*ledger).size(), 2u);
}

TEST(SqliteLedger, UnopenablePathIsAStartupError) {
  TempDir dir;
  EXPECT_THROW(open_sqlite_ledger(options_for(dir.file("missing/dir/ledger.db"))), StartupError);
}

// ---- schema version 2: the string dictionary, request ids as bytes, the migration, read-only opening ----------

// Runs `sql` on its own connection to `path` and returns the first column of each row as text (NULL as "NULL").
std::vector<std::string> sql_column(const std::string& path, const std::string& sql) {
  store::sqlite::Database db(path);
  auto guard = db.lock();
  auto stmt = db.prepare(sql);
  EXPECT_TRUE(stmt.ok()) << sql;
  std::vector<std::string> out;
  if (!stmt.ok()) return out;
  while (true) {
    auto row = stmt->step();
    EXPECT_TRUE(row.ok()) << sql;
    if (!row.ok() || !*row) break;
    out.push_back(stmt->is_null(0) ? "NULL" : stmt->text(0));
  }
  return out;
}

int64_t string_id(const std::string& path, const std::string& kind, const std::string& text) {
  store::sqlite::Database db(path);
  auto guard = db.lock();
  auto stmt = db.prepare("SELECT id FROM ledger_strings WHERE kind = ? AND text = ?");
  EXPECT_TRUE(stmt.ok());
  stmt->bind(1, kind).bind(2, text);
  auto row = stmt->step();
  EXPECT_TRUE(row.ok() && *row) << kind << " " << text;
  return row.ok() && *row ? stmt->integer(0) : -1;
}

TEST(SqliteLedgerDictionary, SameTextSameIdPerKindStableAcrossReopen) {
  TempDir dir;
  const std::string path = dir.file("ledger.db");
  const std::string arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghijkl";
  int64_t account = 0, profile = 0, tags = 0;
  {
    auto ledger = open_sqlite_ledger(options_for(path));
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(append_and_wait(*ledger, sample("same-" + std::to_string(i))).ok());
    // One row per distinct (kind, text): the three records share every string; resource and profile ARN are
    // one "arn" row; the two Regions are two "region" rows.
    // account, principal, operation, arn, model, two regions, tag set.
    EXPECT_EQ(sql_column(path, "SELECT COUNT(*) FROM ledger_strings"), std::vector<std::string>{"8"});
    EXPECT_EQ(sql_column(path,
                         "SELECT COUNT(DISTINCT account_sid) || ',' || COUNT(DISTINCT tags_sid) || ',' ||"
                         " SUM(resource_arn_sid = profile_arn_sid) FROM usage_records"),
              std::vector<std::string>{"1,1,3"});
    account = string_id(path, "account", "123456789012");
    profile = string_id(path, "arn", arn);
    tags = string_id(path, "tag_set", R"([["env","prod"],["team","growth"]])");
  }
  {
    // After a restart (a cold cache) the same texts get the same ids; an account text equal to a principal
    // text is another kind, hence another row.
    auto ledger = open_sqlite_ledger(options_for(path));
    UsageRecord r = sample("after-reopen");
    r.tags = {{"team", "growth"}, {"env", "prod"}};  // the same set in another order: the same canonical text
    r.principal = "123456789012";
    ASSERT_TRUE(append_and_wait(*ledger, r).ok());
    EXPECT_EQ(string_id(path, "account", "123456789012"), account);
    EXPECT_EQ(string_id(path, "arn", arn), profile);
    EXPECT_EQ(string_id(path, "tag_set", R"([["env","prod"],["team","growth"]])"), tags);
    EXPECT_NE(string_id(path, "principal", "123456789012"), account);
    EXPECT_EQ(sql_column(path, "SELECT COUNT(*) FROM ledger_strings"), std::vector<std::string>{"9"});
    EXPECT_EQ(sql_column(path,
                         "SELECT COUNT(DISTINCT account_sid) || ',' || COUNT(DISTINCT profile_arn_sid) || ','"
                         " || COUNT(DISTINCT tags_sid) FROM usage_records"),
              std::vector<std::string>{"1,1,1"});
    // The rollup rows of before and after the restart are the same rows, one pair (input, output) per
    // principal: the three records before it share theirs.
    auto rollups = all_rollups(*ledger);
    ASSERT_EQ(rollups.size(), 4u);
    std::map<std::string, int64_t> input_records;
    for (const auto& rollup : rollups) {
      if (rollup.usage_type == TokenType::Input) input_records[rollup.principal] += rollup.records;
    }
    EXPECT_EQ(input_records, (std::map<std::string, int64_t>{{"123456789012", 1}, {"AKIAIOSFODNN7EXAMPLE", 3}}));
    EXPECT_EQ(actual_rollups(rollups), expected_rollups({sample("same-0"), sample("same-1"), sample("same-2"), r}));
  }
}

TEST(SqliteLedgerDictionary, RollupsGroupThroughIdsAcrossRestartsAndManyStrings) {
  TempDir dir;
  const std::string path = dir.file("ledger.db");
  std::vector<UsageRecord> written;
  auto make = [](int i) {
    UsageRecord r = sample("m-" + std::to_string(i), kHour22 + i * 600'000LL);  // six records an hour
    r.account_id = "acct-" + std::to_string(i % 3);
    r.principal = "principal-" + std::to_string(i % 7);
    r.operation = i % 2 ? "Converse" : "InvokeModel";
    r.profile_arn = i % 4 == 0 ? "" : "arn:profile/" + std::to_string(i % 4);
    r.resource_arn = i % 4 == 0 ? "arn:model/" + std::to_string(i % 5) : r.profile_arn;
    r.model_id = "model-" + std::to_string(i % 5);
    r.billing_region = i % 2 ? "us-east-1" : "eu-west-1";
    r.served_region = i % 3 ? "us-west-2" : r.billing_region;
    r.tags = i % 6 == 0 ? std::vector<Tag>{} : std::vector<Tag>{{"team", "t" + std::to_string(i % 4)}};
    r.tokens = {i + 1, i % 3, i % 5 == 0 ? 7 : 0, 0};
    r.costs = {(i + 1) * 3, (i % 3) * 15, i % 5 == 0 ? 1 : 0, i % 9 == 0 ? 2 : 0};
    return r;
  };
  for (int round = 0; round < 3; ++round) {  // three restarts, each with the cache cold
    auto ledger = open_sqlite_ledger(options_for(path));
    Acks acks;
    for (int i = round * 100; i < (round + 1) * 100; ++i) {
      written.push_back(make(i));
      ledger->append(make(i), acks.done());
    }
    ASSERT_TRUE(acks.wait(100));
    ASSERT_EQ(acks.ok(), 100u);
    EXPECT_EQ(actual_rollups(all_rollups(*ledger)), expected_rollups(written));
    RollupQuery q;
    q.account_id = "acct-1";
    auto mine = ledger->rollups(q);
    ASSERT_TRUE(mine.ok());
    std::vector<UsageRecord> of_account;
    for (const auto& r : written) {
      if (r.account_id == "acct-1") of_account.push_back(r);
    }
    EXPECT_EQ(actual_rollups(*mine), expected_rollups(of_account));
  }
  auto ledger = open_sqlite_ledger(options_for(path));
  auto records = all_records(*ledger);
  ASSERT_EQ(records.size(), written.size());
  for (size_t i = 0; i < written.size(); ++i) EXPECT_EQ(records[written.size() - 1 - i], sorted_tags(written[i]));
  UsageQuery q;
  q.profile_arn = "";  // bare-model records
  q.account_id = "acct-0";
  q.limit = 1000;
  size_t bare = 0;
  for (const auto& r : written) bare += r.profile_arn.empty() && r.account_id == "acct-0";
  EXPECT_EQ(ledger->query(q)->size(), bare);
  q.account_id = "no-such-account";
  EXPECT_TRUE(ledger->query(q)->empty());
}

TEST(SqliteLedgerDictionary, AFailedBatchLeavesNoStaleIdInTheCache) {
  TempDir dir;
  auto ledger = std::make_unique<SqliteLedger>(options_for(dir.file("ledger.db")));
  // The failed batch interns new strings (their ids are rolled back and may be handed out again)...
  UsageRecord broken = sample("broken");
  broken.account_id = "new-in-failed-batch";
  broken.model_id = "model-of-failed-batch";
  broken.status = static_cast<UsageStatus>(42);
  {
    WriterGate gate(*ledger, sample("gate"));
    Acks acks;
    ledger->append(broken, acks.done());
    gate.open();
    ASSERT_TRUE(acks.wait(1));
    ASSERT_EQ(acks.failed(), 1u);
  }
  // ...so that other new strings, then the same ones, must come back as themselves.
  UsageRecord other = sample("other");
  other.account_id = "another-new-account";
  other.model_id = "another-new-model";
  ASSERT_TRUE(append_and_wait(*ledger, other).ok());
  UsageRecord again = sample("again");
  again.account_id = "new-in-failed-batch";
  again.model_id = "model-of-failed-batch";
  ASSERT_TRUE(append_and_wait(*ledger, again).ok());
  auto records = all_records(*ledger);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0], sorted_tags(again));  // same start time: newest appended first
  EXPECT_EQ(records[1], sorted_tags(other));
  EXPECT_EQ(records[2], sorted_tags(sample("gate")));
  EXPECT_EQ(actual_rollups(all_rollups(*ledger)), expected_rollups({sample("gate"), other, again}));
}

TEST(SqliteLedgerRequestIds, CanonicalUuidsAreStoredAsSixteenBytesOthersAsText) {
  TempDir dir;
  const std::string path = dir.file("ledger.db");
  const std::string v7 = new_request_id();
  const std::string upper = "019A8A2E-5C3B-7D41-A165-70867728950E";
  const std::string lower = "019a8a2e-5c3b-7d41-a165-70867728950e";
  const std::string almost = "019a8a2e-5c3b-7d41-a165-70867728950";  // 35 characters
  const std::string odd = "019a8a2e_5c3b-7d41-a165-70867728950e";    // a '_' where a '-' goes
  {
    auto ledger = open_sqlite_ledger(options_for(path));
    for (const auto& id : {v7, upper, lower, almost, odd, std::string("req-1"), std::string("")}) {
      ASSERT_TRUE(append_and_wait(*ledger, sample(id)).ok()) << id;
    }
    // The same ids again: duplicates. (`upper` and `lower` are two request ids, as they were in version 1.)
    ASSERT_TRUE(append_and_wait(*ledger, sample(v7)).ok());
    ASSERT_TRUE(append_and_wait(*ledger, sample(lower)).ok());
    EXPECT_EQ(static_cast<SqliteLedger&>(*ledger).stats().duplicates, 2u);
  }
  EXPECT_EQ(sql_column(path, "SELECT typeof(request_id) || length(request_id) FROM usage_records ORDER BY rowid"),
            (std::vector<std::string>{"blob16", "text36", "blob16", "text35", "text36", "text5", "text0"}));
  auto ledger = open_sqlite_ledger(options_for(path));
  ASSERT_TRUE(append_and_wait(*ledger, sample(v7)).ok());  // a duplicate after a restart too
  std::vector<std::string> ids;
  for (const auto& r : all_records(*ledger)) ids.push_back(r.request_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"", "req-1", odd, almost, lower, upper, v7}));  // newest first
  // The view gives the same texts.
  auto from_view = sql_column(path, "SELECT request_id FROM usage_records_text");
  std::sort(from_view.begin(), from_view.end());
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(from_view, ids);
}

TEST(SqliteLedgerSchema, TextViewsMatchQueryAndRollups) {
  TempDir dir;
  const std::string path = dir.file("ledger.db");
  auto ledger = open_sqlite_ledger(options_for(path));
  UsageRecord r = sample(new_request_id());
  r.status = UsageStatus::UpstreamCut;
  r.price_missing = true;
  ASSERT_TRUE(append_and_wait(*ledger, r).ok());
  auto records = all_records(*ledger);
  ASSERT_EQ(records.size(), 1u);
  const UsageRecord& q = records[0];
  EXPECT_EQ(sql_column(path,
                       "SELECT request_id || '|' || start_time_ms || '|' || account_id || '|' || principal || '|' ||"
                       " operation || '|' || resource_arn || '|' || profile_arn || '|' || model_id || '|' ||"
                       " billing_region || '|' || served_region || '|' || tags || '|' || status || '|' ||"
                       " price_missing FROM usage_records_text"),
            std::vector<std::string>{q.request_id + "|" + std::to_string(kHour22 + 1234) + "|" + q.account_id + "|" +
                                     q.principal + "|" + q.operation + "|" + q.resource_arn + "|" + q.profile_arn +
                                     "|" + q.model_id + "|" + q.billing_region + "|" + q.served_region + "|" +
                                     canonical_tag_set(q.tags) + "|upstream_cut|1"});
  auto rollups = all_rollups(*ledger);
  ASSERT_EQ(rollups.size(), 2u);
  EXPECT_EQ(
      sql_column(path,
                 "SELECT account_id || '|' || profile_arn || '|' || tag_set || '|' || model_id || '|' ||"
                 " billing_region || '|' || operation || '|' || principal || '|' || usage_type || '|' || tokens"
                 " FROM usage_hourly_text ORDER BY usage_type"),
      (std::vector<std::string>{
          rollups[0].account_id + "|" + rollups[0].profile_arn + "|" + rollups[0].tag_set + "|" + rollups[0].model_id +
              "|" + rollups[0].billing_region + "|" + rollups[0].operation + "|" + q.principal + "|input|100",
          rollups[0].account_id + "|" + rollups[0].profile_arn + "|" + rollups[0].tag_set + "|" + rollups[0].model_id +
              "|" + rollups[0].billing_region + "|" + rollups[0].operation + "|" + q.principal + "|output|20"}));
  EXPECT_EQ(rollups[0].principal, q.principal);
}

// The version-1 schema exactly as release 1 created it (sqlite_ledger.cpp, migration 1).
constexpr const char* kVersion1Schema = R"sql(
CREATE TABLE schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
  PRIMARY KEY (component, version));
INSERT INTO schema_migrations VALUES ('ledger', 1, '2024-01-01 00:00:00');
CREATE TABLE usage_records (
  request_id                TEXT    NOT NULL PRIMARY KEY,
  start_time_ms             INTEGER NOT NULL,
  end_time_ms               INTEGER NOT NULL,
  account_id                TEXT    NOT NULL,
  principal                 TEXT    NOT NULL,
  operation                 TEXT    NOT NULL,
  resource_arn              TEXT    NOT NULL,
  profile_arn               TEXT    NOT NULL,
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
  tags                      TEXT    NOT NULL,
  status                    TEXT    NOT NULL
    CHECK (status IN ('success', 'client_cancelled', 'upstream_cut', 'model_error')),
  latency_ms                INTEGER NOT NULL
);
CREATE INDEX usage_records_start_time ON usage_records (start_time_ms);
CREATE INDEX usage_records_profile_start_time ON usage_records (profile_arn, start_time_ms);
CREATE TABLE usage_hourly (
  hour_ms        INTEGER NOT NULL,
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
)sql";

// Writes `records` into a version-1 database the way the version-1 writer did (rows, then rollups by the rule).
void write_version1(const std::string& path, const std::vector<UsageRecord>& records) {
  store::sqlite::Database db(path);
  auto guard = db.lock();
  ASSERT_TRUE(db.exec(kVersion1Schema).ok());
  auto insert = db.prepare(
      "INSERT INTO usage_records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
      " ?, ?, ?, ?, ?)");
  ASSERT_TRUE(insert.ok());
  for (const auto& r : records) {
    auto ms = [](TimePoint t) { return std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count(); };
    insert->reset();
    insert->bind(1, r.request_id)
        .bind(2, ms(r.start_time))
        .bind(3, ms(r.end_time))
        .bind(4, r.account_id)
        .bind(5, r.principal)
        .bind(6, r.operation)
        .bind(7, r.resource_arn)
        .bind(8, r.profile_arn)
        .bind(9, r.model_id)
        .bind(10, r.billing_region)
        .bind(11, r.served_region)
        .bind(12, r.tokens.input)
        .bind(13, r.tokens.output)
        .bind(14, r.tokens.cache_read)
        .bind(15, r.tokens.cache_write)
        .bind(16, r.costs.input_nano_usd)
        .bind(17, r.costs.output_nano_usd)
        .bind(18, r.costs.cache_read_nano_usd)
        .bind(19, r.costs.cache_write_nano_usd)
        .bind(20, int64_t{r.price_missing})
        .bind(21, canonical_tag_set(r.tags))
        .bind(22, to_string(r.status))
        .bind(23, r.latency_ms);
    ASSERT_TRUE(insert->run().ok());
  }
  auto rollup = db.prepare("INSERT INTO usage_hourly VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  ASSERT_TRUE(rollup.ok());
  // Version 1 had no operation nor principal in its rollups.
  std::map<std::tuple<int64_t, std::string, std::string, std::string, std::string, std::string, TokenType>, Sums>
      v1_rollups;
  for (const auto& [key, sums] : expected_rollups(records)) {
    const auto& [hour, account, profile, tag_set, model, region, operation, principal, type] = key;
    Sums& v1 = v1_rollups[{hour, account, profile, tag_set, model, region, type}];
    v1.tokens += sums.tokens;
    v1.cost += sums.cost;
    v1.records += sums.records;
  }
  for (const auto& [key, sums] : v1_rollups) {
    const auto& [hour, account, profile, tag_set, model, region, type] = key;
    rollup->reset();
    rollup->bind(1, hour)
        .bind(2, account)
        .bind(3, profile)
        .bind(4, tag_set)
        .bind(5, model)
        .bind(6, region)
        .bind(7, to_string(type))
        .bind(8, sums.tokens)
        .bind(9, sums.cost)
        .bind(10, sums.records);
    ASSERT_TRUE(rollup->run().ok());
  }
}

std::vector<UsageRecord> version1_records() {
  std::vector<UsageRecord> out;
  UsageRecord a = sample("019a8a2e-5c3b-7d41-a165-70867728950e", kHour22 + 10);
  a.tags = {{"team", "growth \"ml\""}, {"owner", "zoë"}, {"path", "a\\b/c"}};
  a.tokens = {100, 50, 30, 20};
  a.costs = {1000, 2000, 300, 400};
  out.push_back(a);
  UsageRecord b = sample("legacy-text-id", kHour22 + 10);  // the same millisecond: order by insertion
  b.status = UsageStatus::ModelError;
  b.price_missing = true;
  b.costs = {};
  out.push_back(b);
  UsageRecord c = sample("0E5B3F4A-9C1D-4E2F-8A3B-4C5D6E7F8091", kHour22 - 1);  // upper case: stays text
  c.profile_arn.clear();
  c.resource_arn = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0";
  c.tags.clear();
  c.account_id = "210987654321";
  c.status = UsageStatus::ClientCancelled;
  out.push_back(c);
  UsageRecord d = sample("6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", kHour22 + 3'600'000 + 5);
  d.status = UsageStatus::UpstreamCut;
  d.tokens = {0, 0, 0, 0};
  d.costs = {0, 0, 0, 0};
  out.push_back(d);
  return out;
}

TEST(SqliteLedgerMigration, Version1DataIsConvertedExactly) {
  TempDir dir;
  const std::string path = dir.file("ledger.db");
  const auto v1 = version1_records();
  write_version1(path, v1);
  {
    auto ledger = std::make_unique<SqliteLedger>(options_for(path));
    // Every record, field for field, newest first (b after a: same millisecond, inserted later).
    auto records = all_records(*ledger);
    ASSERT_EQ(records.size(), 4u);
    EXPECT_EQ(records[0], sorted_tags(v1[3]));
    EXPECT_EQ(records[1], sorted_tags(v1[1]));
    EXPECT_EQ(records[2], sorted_tags(v1[0]));
    EXPECT_EQ(records[3], sorted_tags(v1[2]));
    EXPECT_EQ(actual_rollups(all_rollups(*ledger)), expected_rollups(v1));
    // Replays of migrated records are still duplicates: nothing stored, nothing counted.
    for (const auto& r : v1) {
      UsageRecord replay = r;
      replay.tokens = {9, 9, 9, 9};
      ASSERT_TRUE(append_and_wait(*ledger, replay).ok());
    }
    EXPECT_EQ(ledger->stats().duplicates, 4u);
    // A new record adds to the migrated rollup row of its key, not to a second row.
    UsageRecord e = sample(new_request_id(), kHour22 + 20);
    ASSERT_TRUE(append_and_wait(*ledger, e).ok());
    auto expected = v1;
    expected.push_back(e);
    EXPECT_EQ(actual_rollups(all_rollups(*ledger)), expected_rollups(expected));
    EXPECT_EQ(all_records(*ledger).size(), 5u);
  }
  EXPECT_EQ(sql_column(path, "SELECT version FROM schema_migrations WHERE component = 'ledger' ORDER BY version"),
            (std::vector<std::string>{"1", "2", "3", "4"}));
  EXPECT_EQ(sql_column(path, "SELECT name FROM sqlite_schema WHERE name LIKE '%v1%' OR name LIKE '%v2%'"),
            std::vector<std::string>{});
  EXPECT_EQ(sql_column(path, "SELECT typeof(request_id) FROM usage_records ORDER BY rowid"),
            (std::vector<std::string>{"blob", "text", "text", "blob", "blob"}));
  EXPECT_EQ(sql_column(path, "PRAGMA integrity_check"), std::vector<std::string>{"ok"});
  // And it opens again (no second migration).
  auto ledger = open_sqlite_ledger(options_for(path));
  EXPECT_EQ(all_records(*ledger).size(), 5u);
}

TEST(SqliteLedgerMigration, AnEmptyVersion1DatabaseAndAFreshOneEndAlike) {
  TempDir dir;
  write_version1(dir.file("v1.db"), {});
  { auto migrated = open_sqlite_ledger(options_for(dir.file("v1.db"))); }
  { auto fresh = open_sqlite_ledger(options_for(dir.file("fresh.db"))); }
  const std::string schema =
      "SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_schema"
      " WHERE name != 'schema_migrations' AND name NOT LIKE 'sqlite_autoindex_schema_migrations%' ORDER BY name";
  EXPECT_EQ(sql_column(dir.file("v1.db"), schema), sql_column(dir.file("fresh.db"), schema));
}

TEST(SqliteLedgerMigration, AVersion1DatabaseWithABadStatusFailsToOpenAndStaysVersion1) {
  TempDir dir;
  const std::string path = dir.file("ledger.db");
  write_version1(path, version1_records());
  {
    store::sqlite::Database db(path);
    auto guard = db.lock();
    // Only possible by hand, past the CHECK: a status the migration cannot convert.
    ASSERT_TRUE(db.exec("PRAGMA ignore_check_constraints=ON;"
                        " UPDATE usage_records SET status = 'bogus' WHERE request_id = 'legacy-text-id'")
                    .ok());
  }
  EXPECT_THROW(open_sqlite_ledger(options_for(path)), StartupError);
  EXPECT_EQ(sql_column(path, "SELECT MAX(version) FROM schema_migrations WHERE component = 'ledger'"),
            std::vector<std::string>{"1"});
  EXPECT_EQ(sql_column(path, "SELECT COUNT(*) FROM usage_records"), std::vector<std::string>{"4"});
}

// ---- schema version 4: rollups keyed by the principal too -------------------------------------------------------

// Turns a current database back into version 3, as release 3 left it: usage_hourly without principal_sid
// (its rows summed over the principals), the version-3 view, no version 4 in schema_migrations.
void downgrade_to_version3(const std::string& path) {
  store::sqlite::Database db(path);
  auto guard = db.lock();
  ASSERT_TRUE(db.exec(R"sql(
BEGIN;
DROP VIEW usage_hourly_text;
ALTER TABLE usage_hourly RENAME TO usage_hourly_v4;
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
INSERT INTO usage_hourly SELECT hour_ms, account_sid, profile_arn_sid, tag_set_sid, model_sid, billing_region_sid,
  operation_sid, usage_type, SUM(tokens), SUM(cost_nano_usd), SUM(records) FROM usage_hourly_v4
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
DROP TABLE usage_hourly_v4;
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
DELETE FROM schema_migrations WHERE component = 'ledger' AND version = 4;
COMMIT;
)sql")
                  .ok());
}

// Records of two callers (and of an access key id, as records before version 4 name their caller) sharing
// hours, profiles and tags: version 3 summed them into one rollup row per key.
std::vector<UsageRecord> records_of_three_principals() {
  std::vector<UsageRecord> out;
  const std::string principals[] = {"arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/bob",
                                    "AKIAIOSFODNN7EXAMPLE"};
  for (int i = 0; i < 12; ++i) {
    UsageRecord r = sample(new_request_id(), kHour22 + i * 900'000LL);
    r.principal = principals[i % 3];
    r.tokens = {10 + i, i % 4, i % 5 == 0 ? 3 : 0, 0};
    r.costs = {(10 + i) * 250, (i % 4) * 1250, i % 5 == 0 ? 30 : 0, 0};
    if (i % 6 == 5) r.tags = {};
    out.push_back(r);
  }
  return out;
}

TEST(SqliteLedgerMigration, Version3RollupsAreSplitByThePrincipalsOfTheirRecords) {
  TempDir dir;
  const std::string path = dir.file("ledger.db");
  const auto written = records_of_three_principals();
  {
    auto ledger = open_sqlite_ledger(options_for(path));
    for (const auto& r : written) ASSERT_TRUE(append_and_wait(*ledger, r).ok());
  }
  downgrade_to_version3(path);
  EXPECT_EQ(sql_column(path, "SELECT COUNT(DISTINCT hour_ms || '|' || tag_set_sid) FROM usage_hourly"),
            std::vector<std::string>{"5"});
  {
    auto ledger = open_sqlite_ledger(options_for(path));
    auto rollups = all_rollups(*ledger);
    EXPECT_EQ(actual_rollups(rollups), expected_rollups(written));
    std::set<std::string> principals;
    for (const auto& r : rollups) principals.insert(r.principal);
    EXPECT_EQ(principals.size(), 3u);
    // New usage adds to the migrated row of its key.
    UsageRecord more = written.front();
    more.request_id = new_request_id();
    ASSERT_TRUE(append_and_wait(*ledger, more).ok());
    auto expected = written;
    expected.push_back(more);
    EXPECT_EQ(actual_rollups(all_rollups(*ledger)), expected_rollups(expected));
  }
  EXPECT_EQ(sql_column(path, "SELECT version FROM schema_migrations WHERE component = 'ledger' ORDER BY version"),
            (std::vector<std::string>{"1", "2", "3", "4"}));
  EXPECT_EQ(sql_column(path, "SELECT name FROM sqlite_schema WHERE name LIKE '%v3%'"), std::vector<std::string>{});
  EXPECT_EQ(sql_column(path, "PRAGMA integrity_check"), std::vector<std::string>{"ok"});
  { auto fresh = open_sqlite_ledger(options_for(dir.file("fresh.db"))); }
  const std::string schema =
      "SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_schema"
      " WHERE name != 'schema_migrations' AND name NOT LIKE 'sqlite_autoindex_schema_migrations%' ORDER BY name";
  EXPECT_EQ(sql_column(path, schema), sql_column(dir.file("fresh.db"), schema));
}

TEST(SqliteLedgerMigration, AReaderMigratesAVersion3Database) {
  TempDir dir;
  const std::string path = dir.file("ledger.db");
  const auto written = records_of_three_principals();
  {
    auto ledger = open_sqlite_ledger(options_for(path));
    for (const auto& r : written) ASSERT_TRUE(append_and_wait(*ledger, r).ok());
  }
  downgrade_to_version3(path);
  SqliteLedgerOptions options = options_for(path);
  options.read_only = true;
  auto reader = open_sqlite_ledger(options);
  EXPECT_EQ(actual_rollups(all_rollups(*reader)), expected_rollups(written));
}

TEST(SqliteLedgerReadOnly, QueriesWithoutAWriterAndRefusesAppends) {
  TempDir dir;
  const std::string path = dir.file("ledger.db");
  {
    auto ledger = open_sqlite_ledger(options_for(path));
    ASSERT_TRUE(append_and_wait(*ledger, sample(new_request_id())).ok());
  }
  SqliteLedgerOptions options = options_for(path);
  options.read_only = true;
  auto reader = std::make_unique<SqliteLedger>(options);
  // A writer may go on meanwhile: the reader sees what it committed.
  auto writer = open_sqlite_ledger(options_for(path));
  ASSERT_TRUE(append_and_wait(*writer, sample("second", kHour22 + 5000)).ok());
  auto records = all_records(*reader);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].request_id, "second");
  EXPECT_EQ(all_rollups(*reader).size(), 2u);
  std::optional<Status> result;
  reader->append(sample("refused"), [&](const Status& s) { result = s; });
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->error().code(), ErrorCode::ServiceUnavailable);
  EXPECT_EQ(reader->stats().appended, 0u);
  reader->close();
  EXPECT_EQ(all_records(*writer).size(), 2u);
}

TEST(SqliteLedgerReadOnly, MigratesAVersion1DatabaseFirstAndNeedsAnExistingFile) {
  TempDir dir;
  const std::string path = dir.file("ledger.db");
  write_version1(path, version1_records());
  SqliteLedgerOptions options = options_for(path);
  options.read_only = true;
  {
    auto reader = open_sqlite_ledger(options);
    EXPECT_EQ(all_records(*reader).size(), 4u);
    EXPECT_EQ(actual_rollups(all_rollups(*reader)), expected_rollups(version1_records()));
  }
  EXPECT_EQ(sql_column(path, "SELECT MAX(version) FROM schema_migrations WHERE component = 'ledger'"),
            std::vector<std::string>{"4"});
  EXPECT_THROW(open_sqlite_ledger(SqliteLedgerOptions{dir.file("missing.db"), false, 1024, 2ms, true}), StartupError);
  EXPECT_FALSE(std::filesystem::exists(dir.file("missing.db")));
}

}  // namespace
}  // namespace tollgate::ledger::sqlite
