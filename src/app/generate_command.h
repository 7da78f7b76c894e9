// `tollgate generate-usage`: writes synthetic, priced, tagged usage records into a data directory's ledger,
// for benchmarks (bench/run_costs.sh) and demos of the reports. Deterministic for a seed. doc/costs.md,
// "Generating usage".
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "core/clock.h"

namespace tollgate::app {

struct GenerateOptions {
  std::string data_dir = "tollgate-data";
  int64_t records = 100'000;
  std::string from;  // YYYY-MM-DD; default: the first of the previous month
  std::string to;    // exclusive; default: the first of the current month
  int profiles = 100;
  uint64_t seed = 1;
  std::string account = "123456789012";
  std::vector<std::string> activate;  // tag keys to make active cost-allocation tags from `from` on
};

int generate_usage(const GenerateOptions& options, std::ostream& out, const Clock& clock);

}  // namespace tollgate::app
