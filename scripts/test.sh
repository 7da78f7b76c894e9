#!/usr/bin/env bash
# Builds everything and runs the whole test suite:
#   1. unit tests (GoogleTest, one binary per library), fuzz-corpus replays and the
#      end-to-end tests (the real binary driven by the AWS CLI, boto3 and the AWS SDK
#      for JavaScript v3) on a RelWithDebInfo build in build/;
#   2. all of them again on an AddressSanitizer + UBSan build (build-asan/): the parsers,
#      the server and the real binary under real clients.
# Installs its own dependencies first (Debian packages, npm packages), idempotently.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
jobs="$(nproc)"
export CTEST_OUTPUT_ON_FAILURE=1

"$here/scripts/install-deps.sh" --with-test-tools

echo "== build (RelWithDebInfo)"
cmake -S "$here" -B "$here/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$here/build" -j "$jobs"
echo "== unit, fuzz-replay and end-to-end tests"
ctest --test-dir "$here/build" -j "$jobs" --timeout 600

echo "== build (ASan + UBSan)"
cmake -S "$here" -B "$here/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTOLLGATE_SANITIZE=ON -DTOLLGATE_BENCH=OFF >/dev/null
cmake --build "$here/build-asan" -j "$jobs"
echo "== every test again against the ASan + UBSan build"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$here/build-asan" -j "$jobs" --timeout 600
echo "== all tests passed"
