// Ingest throughput of the SQLite usage ledger: N threads append M records each
// (realistic field sizes: UUID request ids, full ARNs, 4 tags) and the clock
// stops when the last `done` arrived. Runs the default mode (synchronous=NORMAL)
// and the fsync mode (synchronous=FULL, one fsync per group commit) side by
// side and prints a table; it only measures, it asserts nothing.
//
//   open loop:   every thread appends its M records as fast as it can (a burst);
//   closed loop: every thread waits for its record's `done` before the next one
//                (like N concurrent requests each holding its last byte).
//
// Request ids are random UUIDs (v4), as the gateway makes them. A third, "what
// if" row repeats the open loop with time-ordered (v7-layout) ids: the unique
// index on request_id is then appended to instead of written all over, which
// shows what that index costs (doc/ledger.md, "Throughput").
//
// Usage: ledger_ingest_bench [--threads N] [--records M] [--closed-records K] [--dir DIR]
//                            [--workload open|closed|both] [--mode default|fsync|both] [--what-if yes|no]
// (target: >= 100,000 records/s in the default mode, open loop, random ids).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ledger/sqlite/sqlite_ledger.h"

namespace {

using tollgate::Status;
using tollgate::TimePoint;
using tollgate::ledger::UsageRecord;
using tollgate::ledger::UsageStatus;
using tollgate::ledger::sqlite::SqliteLedger;
using tollgate::ledger::sqlite::SqliteLedgerOptions;
using Clock = std::chrono::steady_clock;

struct Config {
  int threads = 8;
  int records = 25'000;        // per thread, open loop
  int closed_records = 1'000;  // per thread, closed loop
  std::string dir;
  std::string workload = "both";  // open | closed | both
  std::string mode = "both";      // default | fsync | both
  bool what_if = true;            // also the open loop with time-ordered request ids
};

// A random UUID (v4, as core/ids.h makes request ids today), or with `ms` >= 0 a
// time-ordered one (v7 layout: the 48-bit millisecond time first, then random).
std::string uuid(std::mt19937_64& rng, int64_t ms) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  for (size_t i = 0; i < out.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) continue;
    out[i] = kHex[rng() & 0xF];
  }
  out[14] = ms >= 0 ? '7' : '4';
  if (ms >= 0) {
    static constexpr size_t kPos[] = {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12};
    for (int k = 11; k >= 0; --k, ms >>= 4) out[kPos[k]] = kHex[ms & 0xF];
  }
  return out;
}

UsageRecord make_record(int thread, int i, bool time_ordered, std::mt19937_64& rng) {
  static const char* kProfiles[] = {"x7k2m9q4w1ab", "p3n8v6c2z5de", "h4j7r1t9y2fg", "q8w3e6r1t4hk"};
  static const char* kTeams[] = {"growth", "search", "support", "platform", "research"};
  static const char* kModels[] = {"anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic.claude-3-haiku-20240307-v1:0",
                                  "meta.llama3-1-70b-instruct-v1:0"};
  UsageRecord r;
  r.request_id = uuid(rng, time_ordered ? 1'700'000'000'000 + i : -1);
  r.start_time = std::chrono::system_clock::now();
  r.end_time = r.start_time + std::chrono::milliseconds(300 + i % 4000);
  r.account_id = "123456789012";
  r.principal = "AKIAIOSFODNN7EXAMPL" + std::to_string(thread % 10);
  r.operation = i % 3 == 0 ? "ConverseStream" : "Converse";
  r.profile_arn = std::string("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/") +
                  kProfiles[(thread + i) % 4];
  r.resource_arn = r.profile_arn;
  r.model_id = kModels[i % 3];
  r.billing_region = "us-east-1";
  r.served_region = i % 2 ? "us-west-2" : "us-east-2";
  r.tokens = {1'000 + i % 5'000, 200 + i % 800, i % 4 == 0 ? 2'048 : 0, i % 8 == 0 ? 1'024 : 0};
  r.costs = {r.tokens.input * 3'000, r.tokens.output * 15'000, r.tokens.cache_read * 300, r.tokens.cache_write * 3'750};
  r.tags = {{"team", kTeams[(thread + i) % 5]},
            {"env", i % 10 == 0 ? "staging" : "prod"},
            {"cost-center", "cc-" + std::to_string(1000 + (thread + i) % 4)},
            {"project", "assistant-v2"}};
  r.status = i % 50 == 0 ? UsageStatus::ClientCancelled : UsageStatus::Success;
  r.latency_ms = 300 + i % 4000;
  return r;
}

struct Outcome {
  double seconds = 0;
  uint64_t records = 0;
  uint64_t failed = 0;
  uint64_t commits = 0;
  double p50_ms = 0, p99_ms = 0;
};

double percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]) / 1e6;
}

Outcome run(const Config& cfg, bool fsync, bool closed_loop, bool time_ordered) {
  const int per_thread = closed_loop ? cfg.closed_records : cfg.records;
  const size_t total = static_cast<size_t>(cfg.threads) * static_cast<size_t>(per_thread);
  std::string pattern = (std::filesystem::path(cfg.dir) / "tollgate-ledger-bench-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  std::filesystem::path dir = pattern;

  // Records are made before the clock starts: the bench measures the ledger.
  std::vector<std::vector<UsageRecord>> records(static_cast<size_t>(cfg.threads));
  for (int t = 0; t < cfg.threads; ++t) {
    std::mt19937_64 rng(static_cast<uint64_t>(t) * 7919 + (fsync ? 1 : 0) + (closed_loop ? 2 : 0));
    for (int i = 0; i < per_thread; ++i) {
      records[static_cast<size_t>(t)].push_back(make_record(t, i, time_ordered, rng));
    }
  }
  std::vector<int64_t> latency_ns(total);

  Outcome out;
  {
    std::atomic<uint64_t> acked{0}, failed{0};
    std::mutex mu;
    std::condition_variable all_done;
    SqliteLedgerOptions options;
    options.path = (dir / "ledger.db").string();
    options.fsync_each_commit = fsync;
    SqliteLedger ledger(options);  // after what its `done`s touch: it is destroyed (joined) first
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < cfg.threads; ++t) {
      threads.emplace_back([&, t] {
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        std::mutex my_mu;
        std::condition_variable my_cv;
        bool mine_done = false;
        for (int i = 0; i < per_thread; ++i) {
          size_t slot = static_cast<size_t>(t) * static_cast<size_t>(per_thread) + static_cast<size_t>(i);
          auto sent = Clock::now();
          mine_done = false;
          ledger.append(
              std::move(records[static_cast<size_t>(t)][static_cast<size_t>(i)]), [&, slot, sent](const Status& s) {
                latency_ns[slot] = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - sent).count();
                if (!s.ok()) failed.fetch_add(1, std::memory_order_relaxed);
                if (closed_loop) {
                  std::lock_guard lock(my_mu);
                  mine_done = true;
                  my_cv.notify_one();
                }
                if (acked.fetch_add(1, std::memory_order_acq_rel) + 1 == total) {
                  std::lock_guard lock(mu);
                  all_done.notify_all();
                }
              });
          if (closed_loop) {
            std::unique_lock lock(my_mu);
            my_cv.wait(lock, [&] { return mine_done; });
          }
        }
      });
    }
    auto start = Clock::now();
    go.store(true, std::memory_order_release);
    {
      std::unique_lock lock(mu);
      all_done.wait(lock, [&] { return acked.load(std::memory_order_acquire) == total; });
    }
    out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    for (auto& th : threads) th.join();
    out.records = total;
    out.failed = failed.load();
    out.commits = ledger.stats().commits;
    ledger.close();
  }
  out.p50_ms = percentile(latency_ns, 0.50);
  out.p99_ms = percentile(latency_ns, 0.99);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  cfg.dir = std::filesystem::temp_directory_path().string();
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--threads")
      cfg.threads = std::max(1, std::atoi(argv[i + 1]));
    else if (flag == "--records")
      cfg.records = std::max(1, std::atoi(argv[i + 1]));
    else if (flag == "--closed-records")
      cfg.closed_records = std::max(1, std::atoi(argv[i + 1]));
    else if (flag == "--dir")
      cfg.dir = argv[i + 1];
    else if (flag == "--workload")
      cfg.workload = argv[i + 1];
    else if (flag == "--mode")
      cfg.mode = argv[i + 1];
    else if (flag == "--what-if")
      cfg.what_if = std::string(argv[i + 1]) != "no";
    else {
      std::fprintf(stderr,
                   "usage: %s [--threads N] [--records M] [--closed-records K] [--dir DIR]"
                   " [--workload open|closed|both] [--mode default|fsync|both] [--what-if yes|no]\n",
                   argv[0]);
      return 2;
    }
  }
  std::printf("ledger ingest: nproc=%u, %d threads, dir %s (max_batch 1024, max_delay 2 ms)\n",
              std::thread::hardware_concurrency(), cfg.threads, cfg.dir.c_str());
  std::printf("%-12s %-7s %-12s %9s %8s %10s %8s %10s %8s %8s\n", "workload", "mode", "request ids", "records",
              "seconds", "records/s", "commits", "rec/commit", "p50 ms", "p99 ms");
  struct Row {
    bool closed_loop, time_ordered;
  };
  std::vector<Row> rows = {{false, false}, {true, false}};
  if (cfg.what_if) rows.push_back({false, true});
  for (const Row& row : rows) {
    if (cfg.workload != "both" && (cfg.workload == "closed") != row.closed_loop) continue;
    for (bool fsync : {false, true}) {
      if (cfg.mode != "both" && (cfg.mode == "fsync") != fsync) continue;
      Outcome o = run(cfg, fsync, row.closed_loop, row.time_ordered);
      std::printf("%-12s %-7s %-12s %9llu %8.3f %10.0f %8llu %10.1f %8.2f %8.2f%s\n",
                  row.closed_loop ? "closed-loop" : "open-loop", fsync ? "fsync" : "default",
                  row.time_ordered ? "time-ordered" : "random(v4)", static_cast<unsigned long long>(o.records),
                  o.seconds, static_cast<double>(o.records) / o.seconds, static_cast<unsigned long long>(o.commits),
                  o.commits ? static_cast<double>(o.records) / static_cast<double>(o.commits) : 0.0, o.p50_ms, o.p99_ms,
                  o.failed ? "  (FAILED records!)" : "");
      std::fflush(stdout);
    }
  }
  return 0;
}
