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
// Request ids are made as the gateway makes them: tollgate::new_request_id()
// (UUID v7, time-ordered), called with the record's start time just before its
// append, so ids arrive in about the order they were made. Everything else of a
// record is made before the clock starts: the bench measures the ledger.
// Two "what if" rows (open loop, --what-if yes) show what the order of the ids
// costs:
//   v7 reordered: the same ids made up front, then appended out of order, each
//                 moved by up to --reorder records (a gateway whose response
//                 times spread over seconds appends ids that far out of order);
//   random(v4):   random UUIDs, the ids of earlier versions of the gateway.
// Besides records/s (wall clock, which on a shared machine depends on what else
// runs) it prints the CPU time per record of the whole process ("cpu us") and of
// the ledger's writer thread ("writer us", from /proc): the writer is the
// bottleneck, so 1e6 / writer us is the rate it would reach with a core of its own.
//
// Usage: ledger_ingest_bench [--threads N] [--records M] [--closed-records K] [--dir DIR]
//                            [--workload open|closed|both] [--mode default|fsync|both] [--what-if yes|no]
//                            [--reorder R] [--repeat X] [--keep yes|no]
// (target: >= 100,000 records/s in the default mode, open loop).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/ids.h"
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
  bool what_if = true;            // also the open loop with reordered v7 ids and with random v4 ids
  int reorder = 50'000;           // how far (in records) a reordered id moves at most
  int repeat = 1;                 // runs of each row
  bool keep = false;              // keep the database files (printed) instead of removing them
};

// How the request ids of a run are made.
enum class Ids {
  V7,           // new_request_id() just before each append
  V7Reordered,  // new_request_id() up front, appended out of order by up to Config::reorder records
  V4,           // random UUIDs (v4) up front
};

const char* name_of(Ids ids) {
  switch (ids) {
    case Ids::V7:
      return "v7";
    case Ids::V7Reordered:
      return "v7 reordered";
    case Ids::V4:
      return "random(v4)";
  }
  return "?";
}

// A random UUID (v4).
std::string uuid_v4(std::mt19937_64& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  for (size_t i = 0; i < out.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) continue;
    out[i] = kHex[rng() & 0xF];
  }
  out[14] = '4';
  out[19] = kHex[8 + (rng() & 0x3)];
  return out;
}

// A record without its request id (and, for Ids::V7, without its times: set at append).
UsageRecord make_record(int thread, int i) {
  static const char* kProfiles[] = {"x7k2m9q4w1ab", "p3n8v6c2z5de", "h4j7r1t9y2fg", "q8w3e6r1t4hk"};
  static const char* kTeams[] = {"growth", "search", "support", "platform", "research"};
  static const char* kModels[] = {"anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic.claude-3-haiku-20240307-v1:0",
                                  "meta.llama3-1-70b-instruct-v1:0"};
  UsageRecord r;
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
  double cpu_us = 0;     // CPU time of the whole process (all threads) per record
  double writer_us = 0;  // CPU time of the ledger's writer thread per record
};

// User + system CPU seconds of the whole process.
double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// User + system CPU seconds of this process's thread named `name` (0 when none), from /proc.
double thread_cpu_seconds(const std::string& name) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm(entry.path() / "comm");
    std::string line;
    if (!std::getline(comm, line) || line != name) continue;
    std::ifstream stat_file(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos) return 0;
    std::istringstream fields(stat.substr(paren + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int k = 3; fields >> field; ++k) {  // field 3 is the state; 14 utime, 15 stime (in clock ticks)
      if (k == 14) utime = std::stod(field);
      if (k == 15) {
        stime = std::stod(field);
        break;
      }
    }
    return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return 0;
}

double percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]) / 1e6;
}

Outcome run(const Config& cfg, bool fsync, bool closed_loop, Ids ids) {
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
    for (int i = 0; i < per_thread; ++i) records[static_cast<size_t>(t)].push_back(make_record(t, i));
  }
  if (ids == Ids::V4) {
    std::mt19937_64 rng(7919 + (fsync ? 1 : 0) + (closed_loop ? 2 : 0));
    for (auto& list : records) {
      for (auto& r : list) r.request_id = uuid_v4(rng);
    }
  } else if (ids == Ids::V7Reordered) {
    // Made in order, then each moved by up to cfg.reorder positions of the (interleaved) arrival order.
    std::vector<std::string> made(total);
    for (auto& id : made) id = tollgate::new_request_id();
    std::sort(made.begin(), made.end());
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<int64_t> move(0, cfg.reorder);
    std::vector<std::pair<int64_t, size_t>> arrival(total);
    for (size_t k = 0; k < total; ++k) arrival[k] = {static_cast<int64_t>(k) + move(rng), k};
    std::sort(arrival.begin(), arrival.end());
    // Arrival slot k is the (k / threads)-th append of thread k % threads.
    for (size_t k = 0; k < total; ++k) {
      size_t t = k % static_cast<size_t>(cfg.threads), i = k / static_cast<size_t>(cfg.threads);
      records[t][i].request_id = made[arrival[k].second];
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
          UsageRecord& record = records[static_cast<size_t>(t)][static_cast<size_t>(i)];
          if (ids == Ids::V7) {  // as the gateway: the id and the start time when the request comes in
            record.request_id = tollgate::new_request_id();
            record.start_time = std::chrono::system_clock::now();
            record.end_time = record.start_time + std::chrono::milliseconds(record.latency_ms);
          }
          auto sent = Clock::now();
          mine_done = false;
          ledger.append(std::move(record), [&, slot, sent](const Status& s) {
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
    double writer_cpu_before = thread_cpu_seconds("ledger-writer");
    double cpu_before = process_cpu_seconds();
    auto start = Clock::now();
    go.store(true, std::memory_order_release);
    {
      std::unique_lock lock(mu);
      all_done.wait(lock, [&] { return acked.load(std::memory_order_acquire) == total; });
    }
    out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    out.cpu_us = (process_cpu_seconds() - cpu_before) * 1e6 / static_cast<double>(total);
    out.writer_us = (thread_cpu_seconds("ledger-writer") - writer_cpu_before) * 1e6 / static_cast<double>(total);
    for (auto& th : threads) th.join();
    out.records = total;
    out.failed = failed.load();
    out.commits = ledger.stats().commits;
    ledger.close();
  }
  out.p50_ms = percentile(latency_ns, 0.50);
  out.p99_ms = percentile(latency_ns, 0.99);
  std::error_code ec;
  if (cfg.keep) {
    std::printf("# kept %s\n", dir.c_str());
  } else {
    std::filesystem::remove_all(dir, ec);
  }
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
    else if (flag == "--reorder")
      cfg.reorder = std::max(0, std::atoi(argv[i + 1]));
    else if (flag == "--repeat")
      cfg.repeat = std::max(1, std::atoi(argv[i + 1]));
    else if (flag == "--keep")
      cfg.keep = std::string(argv[i + 1]) == "yes";
    else {
      std::fprintf(stderr,
                   "usage: %s [--threads N] [--records M] [--closed-records K] [--dir DIR]"
                   " [--workload open|closed|both] [--mode default|fsync|both] [--what-if yes|no] [--reorder R]"
                   " [--repeat X] [--keep yes|no]\n",
                   argv[0]);
      return 2;
    }
  }
  std::printf("ledger ingest: nproc=%u, %d threads, dir %s (max_batch 1024, max_delay 2 ms)\n",
              std::thread::hardware_concurrency(), cfg.threads, cfg.dir.c_str());
  std::printf("%-12s %-7s %-12s %9s %8s %10s %8s %10s %8s %8s %8s %9s\n", "workload", "mode", "request ids", "records",
              "seconds", "records/s", "commits", "rec/commit", "p50 ms", "p99 ms", "cpu us", "writer us");
  struct Row {
    bool closed_loop;
    Ids ids;
  };
  std::vector<Row> rows = {{false, Ids::V7}, {true, Ids::V7}};
  if (cfg.what_if) {
    rows.push_back({false, Ids::V7Reordered});
    rows.push_back({false, Ids::V4});
  }
  for (const Row& row : rows) {
    if (cfg.workload != "both" && (cfg.workload == "closed") != row.closed_loop) continue;
    for (bool fsync : {false, true}) {
      if (cfg.mode != "both" && (cfg.mode == "fsync") != fsync) continue;
      for (int rep = 0; rep < cfg.repeat; ++rep) {
        Outcome o = run(cfg, fsync, row.closed_loop, row.ids);
        std::printf("%-12s %-7s %-12s %9llu %8.3f %10.0f %8llu %10.1f %8.2f %8.2f %8.2f %9.2f%s\n",
                    row.closed_loop ? "closed-loop" : "open-loop", fsync ? "fsync" : "default", name_of(row.ids),
                    static_cast<unsigned long long>(o.records), o.seconds, static_cast<double>(o.records) / o.seconds,
                    static_cast<unsigned long long>(o.commits),
                    o.commits ? static_cast<double>(o.records) / static_cast<double>(o.commits) : 0.0, o.p50_ms,
                    o.p99_ms, o.cpu_us, o.writer_us, o.failed ? "  (FAILED records!)" : "");
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
