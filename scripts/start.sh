#!/usr/bin/env bash
# Builds tollgate (installing its Debian dependencies if missing) and starts the
# gateway on its embedded defaults: http://127.0.0.1:8420, data in ./tollgate-data,
# access key test / secret test. Extra arguments go to `tollgate serve`.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
"$here/scripts/install-deps.sh"
cmake -S "$here" -B "$here/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$here/build" --target tollgate
exec "$here/build/tollgate" serve "$@"
