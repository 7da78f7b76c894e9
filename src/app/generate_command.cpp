#include "app/generate_command.h"

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <random>

#include "catalog/catalog.h"
#include "core/time_format.h"
#include "costs/cost_allocation_tags.h"
#include "ledger/sqlite/sqlite_ledger.h"
#include "meter/price_book.h"

namespace tollgate::app {
namespace {

TimePoint parse_day(const std::string& text, const std::string& option) {
  auto day = text.size() == 10 ? parse_date_or_date_time(text) : std::nullopt;
  if (!day) throw StartupError(option + " '" + text + "' must be a date, YYYY-MM-DD (years 1970 to 2200)");
  return *day;
}

struct SyntheticProfile {
  std::string arn;
  std::string model_id;
  std::string region;
  std::vector<Tag> tags;
  std::string caller;  // the IAM ARN of the workload that calls the profile
};

// The models and Regions the synthetic profiles use: priced models of several providers.
constexpr std::array<std::string_view, 6> kModels = {"anthropic.claude-3-haiku-20240307-v1:0",
                                                     "anthropic.claude-3-5-sonnet-20240620-v1:0",
                                                     "amazon.nova-lite-v1:0",
                                                     "amazon.nova-pro-v1:0",
                                                     "meta.llama3-1-8b-instruct-v1:0",
                                                     "mistral.mistral-large-2407-v1:0"};
constexpr std::array<std::string_view, 3> kRegions = {"us-east-1", "us-west-2", "eu-west-1"};
constexpr std::array<std::string_view, 8> kTeams = {"growth", "search", "support", "platform",
                                                    "data",   "mobile", "ads",     "risk"};
// The IAM users whose calls the records carry: services and people, a profile's calls all from one of them
// (so the rollups keep one row per profile, hour and usage type). Seven, so that they cut across the teams
// and the untagged profiles are spread over several callers.
constexpr std::array<std::string_view, 7> kCallers = {"chatbot-prod", "summarizer", "ci-eval", "data-pipeline",
                                                      "alice",        "bob",        "carol"};

}  // namespace

int generate_usage(const GenerateOptions& options, std::ostream& out, const Clock& clock) {
  const TimePoint now = clock.now();
  const TimePoint from = options.from.empty() ? costs::month_start(now, -1) : parse_day(options.from, "--from");
  const TimePoint to = options.to.empty() ? costs::month_start(now) : parse_day(options.to, "--to");
  if (from >= to) throw StartupError("--from must be before --to");
  if (options.records < 1 || options.profiles < 1) throw StartupError("--records and --profiles must be at least 1");
  std::filesystem::create_directories(options.data_dir);

  std::mt19937_64 random(options.seed);
  std::vector<SyntheticProfile> profiles;
  for (int i = 0; i < options.profiles; ++i) {
    SyntheticProfile p;
    p.region = kRegions[static_cast<size_t>(i) % kRegions.size()];
    p.model_id = kModels[static_cast<size_t>(i) % kModels.size()];
    p.arn = fmt::format("arn:aws:bedrock:{}:{}:application-inference-profile/gen{:08d}", p.region, options.account, i);
    p.caller =
        fmt::format("arn:aws:iam::{}:user/{}", options.account, kCallers[static_cast<size_t>(i) % kCallers.size()]);
    // Every 10th profile is untagged: the remainder a chargeback must show.
    if (i % 10 != 9) {
      p.tags = {{"team", std::string(kTeams[static_cast<size_t>(i) % kTeams.size()])},
                {"cost-center", fmt::format("cc-{}", 100 + i % 12)},
                {"env", i % 3 ? "prod" : "staging"},
                {"app", fmt::format("app-{}", i)}};
    }
    profiles.push_back(std::move(p));
  }

  auto tags = costs::CostAllocationTags::open((std::filesystem::path(options.data_dir) / "billing.db").string());
  std::vector<std::string> keys = {"team", "cost-center", "env", "app"};
  if (auto noted = tags->note_keys(keys, from); !noted.ok()) throw StartupError(noted.error().message());
  if (!options.activate.empty()) {
    std::vector<costs::StatusUpdate> updates;
    for (const auto& key : options.activate) updates.push_back({key, true});
    auto updated = tags->update(updates, from);  // active from the start of the generated usage
    if (!updated.ok()) throw StartupError(updated.error().message());
    for (const auto& e : *updated) throw StartupError("cannot activate '" + e.key + "': " + e.message);
  }

  ledger::sqlite::SqliteLedgerOptions ledger_options;
  ledger_options.path = (std::filesystem::path(options.data_dir) / "ledger.db").string();
  ledger_options.max_batch = 8192;
  ledger::sqlite::SqliteLedger ledger(ledger_options);
  meter::PriceBook prices = meter::PriceBook::embedded();

  // Bounded in flight, so memory stays flat however many records are asked for.
  constexpr int64_t kMaxInFlight = 50'000;
  std::mutex mu;
  std::condition_variable acked_cv;
  int64_t in_flight = 0;
  std::atomic<int64_t> failed{0};
  const int64_t span_ms = std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
  // Records come in time order, as a gateway appends them: the n-th at n/N of the span, jittered within its slot.
  const double slot_ms = static_cast<double>(span_ms) / static_cast<double>(options.records);
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  std::uniform_int_distribution<size_t> which(0, profiles.size() - 1);
  std::lognormal_distribution<double> input_tokens(6.5, 0.8), output_tokens(5.0, 0.9);
  std::bernoulli_distribution cached(0.2);
  const auto started = std::chrono::steady_clock::now();
  for (int64_t n = 0; n < options.records; ++n) {
    const SyntheticProfile& p = profiles[which(random)];
    ledger::UsageRecord r;
    const int64_t at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(from.time_since_epoch()).count() +
                          static_cast<int64_t>((static_cast<double>(n) + jitter(random)) * slot_ms);
    // A canonical UUID (stored as 16 bytes), unique per seed and record.
    r.request_id = fmt::format("{:08x}-{:04x}-7{:03x}-8{:03x}-{:012x}", static_cast<uint32_t>(at_ms >> 16),
                               static_cast<uint32_t>(at_ms & 0xffff), static_cast<uint32_t>(options.seed & 0xfff),
                               static_cast<uint32_t>((n >> 48) & 0xfff), static_cast<uint64_t>(n) & 0xffffffffffffULL);
    r.start_time = TimePoint(std::chrono::milliseconds(at_ms));
    r.end_time = r.start_time + std::chrono::milliseconds(800);
    r.account_id = options.account;
    r.principal = p.caller;
    r.operation = n % 4 ? "Converse" : "ConverseStream";
    r.resource_arn = r.profile_arn = p.arn;
    r.model_id = p.model_id;
    r.billing_region = r.served_region = p.region;
    r.tokens.input = static_cast<int64_t>(input_tokens(random)) + 1;
    r.tokens.output = static_cast<int64_t>(output_tokens(random)) + 1;
    if (cached(random)) r.tokens.cache_read = r.tokens.input * 2;
    bool missing = false;
    r.costs = meter::cost_of(prices.find(r.model_id, r.billing_region, ""), r.tokens, missing);
    r.price_missing = missing;
    r.tags = p.tags;
    r.latency_ms = 800;
    {
      std::unique_lock lock(mu);
      acked_cv.wait(lock, [&] { return in_flight < kMaxInFlight; });
      ++in_flight;
    }
    ledger.append(std::move(r), [&](const Status& s) {
      if (!s.ok()) failed.fetch_add(1);
      std::lock_guard lock(mu);
      --in_flight;
      acked_cv.notify_one();
    });
    if ((n + 1) % 1'000'000 == 0) {
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      out << fmt::format("generated {} of {} records ({:.0f}/s)\n", n + 1, options.records, (n + 1) / seconds)
          << std::flush;
    }
  }
  ledger.close();
  if (failed.load() > 0) throw StartupError(fmt::format("{} records could not be written", failed.load()));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  out << fmt::format("wrote {} records from {} to {} over {} profiles into {} in {:.1f} s\n", options.records,
                     format_date(from), format_date(to), options.profiles, ledger_options.path, seconds);
  return 0;
}

}  // namespace tollgate::app
