#!/usr/bin/env bash
# Cost reports over a large ledger (bench/RESULTS.md, "Cost reports"):
#   1. `tollgate generate-usage` writes RECORDS synthetic usage records for November 2026 (100 profiles,
#      six models, three Regions, tags team / cost-center / env / app, team and cost-center active) into a
#      data directory (kept between runs: BENCH_COSTS_DIR);
#   2. cost_report_bench query: GetCostAndUsage for the month grouped by TAG team + TAG cost-center (and
#      two other shapes), timed over BENCH_RUNS runs, every answer checked against the records' sum, side
#      by side with SQLite summing the same records itself;
#   3. cost_report_bench export: the month as CUR 2.0 and FOCUS 1.2, with the process's peak RSS.
#
# Usage: bench/run_costs.sh                 (builds tollgate and the benchmark first)
# Settings (environment): BENCH_RECORDS=10000000, BENCH_RUNS=7, BENCH_COSTS_DIR=/tmp/tollgate-costs-bench
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
records="${BENCH_RECORDS:-10000000}"
runs="${BENCH_RUNS:-7}"
dir="${BENCH_COSTS_DIR:-/tmp/tollgate-costs-bench}/${records}"

cmake -S "$here" -B "$here/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$here/build" -j "$(nproc)" --target tollgate cost_report_bench

if [[ ! -f "$dir/ledger.db" ]]; then
  mkdir -p "$dir"
  "$here/build/tollgate" generate-usage --data "$dir" --records "$records" --from 2026-11-01 --to 2026-12-01 \
    --activate team,cost-center
fi
echo "== query ($records records, $dir)"
"$here/build/bench/cost_report_bench" query "$dir" "$runs"
echo "== export"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$here/build/bench/cost_report_bench" export "$dir" "$out"
