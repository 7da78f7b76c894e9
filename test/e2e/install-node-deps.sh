#!/usr/bin/env bash
# Installs test/e2e/node_modules (the AWS SDK for JavaScript v3 used by the JS
# end-to-end suite) from package-lock.json. Idempotent: when every locked
# package is already installed at its locked version nothing is done, so it is
# cheap to call before every test run; otherwise `npm ci` reinstalls exactly the
# lockfile (npm registry needed).
set -euo pipefail
cd "$(dirname "$0")"
command -v node >/dev/null 2>&1 || { echo "install-node-deps: node is required" >&2; exit 1; }
if node js/deps.mjs --check 2>/dev/null; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "install-node-deps: npm is required" >&2; exit 1; }
echo "install-node-deps: installing test/e2e/node_modules from package-lock.json"
npm ci --no-audit --no-fund --loglevel=error
node js/deps.mjs --check
