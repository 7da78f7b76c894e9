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
#include <stdexcept>
#include <thread>
#include <tuple>

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
using Dimensions = std::tuple<int64_t, std::string, std::string, std::string, std::string, std::string, TokenType>;
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
      Sums& s = out[{hour, r.account_id, r.profile_arn, tag_set, r.model_id, r.billing_region, type}];
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
    Dimensions key{hour, r.account_id, r.profile_arn, r.tag_set, r.model_id, r.billing_region, r.usage_type};
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

}  // namespace
}  // namespace tollgate::ledger::sqlite
