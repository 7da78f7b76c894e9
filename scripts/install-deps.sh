#!/usr/bin/env bash
# Installs tollgate's build and test dependencies (Debian packages, npm packages).
# Idempotent: packages already present are not reinstalled, npm uses the lockfile.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"

debian_packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libsqlite3-dev zlib1g-dev libnghttp2-dev
  libyaml-cpp-dev libcli11-dev libfmt-dev libspdlog-dev
  libgtest-dev libgmock-dev libgoogle-perftools-dev
)

missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -q || true
  $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ "${1:-}" = "--with-test-tools" ]; then
  if ! command -v aws >/dev/null 2>&1 || ! python3 -c 'import boto3' 2>/dev/null; then
    echo "install-deps: the end-to-end tests need the AWS CLI and boto3 (pip packages shipped on this machine kind)" >&2
    exit 1
  fi
  command -v npm >/dev/null 2>&1 || { echo "install-deps: npm is required for the JS SDK tests" >&2; exit 1; }
  "$here/test/e2e/install-node-deps.sh"
fi
