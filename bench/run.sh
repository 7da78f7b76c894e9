#!/usr/bin/env bash
# Gateway throughput and latency, in one run, all on 127.0.0.1:
#
#   upstream : a private nginx serving canned answers: POST /v1/chat/completions
#              (OpenAI chat.completion with usage) and POST /model/{id}/converse
#              (Bedrock Converse with usage)
#   rows     : wrk -> upstream directly; wrk -> nginx reverse proxy (keep-alive
#              pool) -> upstream; wrk -> tollgate Converse through an application
#              inference profile (SigV4, openai provider -> upstream), ledger in its
#              default mode; the same with ledger fsync; extras: tollgate at log
#              level info, tollgate's bedrock provider -> upstream /converse, and
#              tollgate with a blocking budget over the profile (every call admitted
#              against its worst case and settled)
#   paced    : wrk with delay() pacing (fixed-rate send slots) so the offered load is ~50% of the
#              tollgate rate just measured, against the upstream, the nginx proxy (what a plain
#              proxy adds at that rate, for calibration) and tollgate: p99(tollgate) - p99(direct)
#   ledger   : the records each tollgate committed vs the good responses wrk saw
#
# Usage: bench/run.sh            (installs nginx and wrk if missing, builds tollgate)
# Settings (environment):
#   BENCH_DURATION=10        seconds of load per row
#   BENCH_WARMUP=2           seconds of unrecorded load before each row
#   BENCH_THREADS=2          wrk threads   } the same for every row
#   BENCH_CONNECTIONS=32     wrk connections }
#   BENCH_UPSTREAM_WORKERS=1 worker_processes of the upstream nginx
#   BENCH_PROXY_WORKERS=nproc  worker_processes of the proxy nginx (tollgate: io_threads 0 = one per core less one)
#   BENCH_LOG_LEVEL=warn     tollgate's --log-level for the main rows (info: one access-log line per request)
#   BENCH_EXTRA_ROWS=1       0 skips the two extra tollgate rows
#   BENCH_KEEP=0             1 keeps the temporary directory (configs, logs, wrk output)
#   BENCH_PERF=0             1 adds an unrecorded saturating load on tollgate with `perf record`
#                            (Debian linux-perf) and prints where its CPU goes (~1 minute more)
# Everything runs as private processes under a temporary directory, removed on
# exit with every process this script started; the system nginx is never used.
set -Eeuo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bench="$here/bench"

DURATION="${BENCH_DURATION:-10}"
WARMUP="${BENCH_WARMUP:-2}"
THREADS="${BENCH_THREADS:-2}"
CONNS="${BENCH_CONNECTIONS:-32}"
UPSTREAM_WORKERS="${BENCH_UPSTREAM_WORKERS:-1}"
PROXY_WORKERS="${BENCH_PROXY_WORKERS:-$(nproc)}"
LOG_LEVEL="${BENCH_LOG_LEVEL:-warn}"
EXTRA_ROWS="${BENCH_EXTRA_ROWS:-1}"
KEEP="${BENCH_KEEP:-0}"
PERF="${BENCH_PERF:-0}"
HAIKU="anthropic.claude-3-haiku-20240307-v1:0"
NOVA="amazon.nova-micro-v1:0"

case "${1:-}" in
  -h|--help) sed -n '2,/^set -Eeuo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
esac

cpu_model="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
machine="nproc $(nproc), ${cpu_model:-unknown CPU}, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo "== tollgate gateway throughput and latency =="
echo "machine : $machine"

# ---------------------------------------------------------------- temp dir, clean-up
work="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-gateway-bench.XXXXXX")"
pids=()
stop_pid() {  # TERM, up to 10 s to finish, then KILL
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
  if [ "$KEEP" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "bench: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM
# ---------------------------------------------------------------- install + build
log="$work/setup.log"
missing=()
for p in nginx wrk; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install : ${missing[*]} (Debian packages)"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  if ! { $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}" ||
         { $sudo_cmd apt-get update -q && $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"; }; } >"$log" 2>&1; then
    cat "$log" >&2; echo "bench: installing ${missing[*]} failed" >&2; exit 1
  fi
fi
if ! "$here/scripts/install-deps.sh" >"$log" 2>&1; then cat "$log" >&2; echo "bench: scripts/install-deps.sh failed" >&2; exit 1; fi
if ! python3 -c 'import boto3' 2>/dev/null; then
  echo "bench: needs python3 with boto3 (shipped on this machine kind) to create the profile and sign the request" >&2
  exit 1
fi
build_start=$SECONDS
# A private copy of the binary is what runs: build/ is shared, and may be rebuilt
# (relinked) by someone else while this runs. The copy must answer --version.
tollgate="$work/tollgate-bin"
for attempt in 1 2 3; do
  {
    if [ -f "$here/build/CMakeCache.txt" ]; then
      cmake -S "$here" -B "$here/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
    else
      cmake -S "$here" -B "$here/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
    fi && cmake --build "$here/build" --target tollgate
  } >"$log" 2>&1 || { cat "$log" >&2; echo "bench: building tollgate failed" >&2; exit 1; }
  cp "$here/build/tollgate" "$tollgate" 2>/dev/null && "$tollgate" --version >/dev/null 2>&1 && break
  [ "$attempt" = 3 ] && { echo "bench: build/tollgate keeps changing under us (another build?)" >&2; exit 1; }
  sleep 5
done
rm -f "$log"

commit="$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if ! git -C "$here" diff --quiet HEAD -- src CMakeLists.txt 2>/dev/null; then commit="$commit+uncommitted-src-changes"; fi
nginx_version="$(nginx -v 2>&1 | sed 's|.*nginx/||')"
wrk_version="$({ wrk -v 2>&1 || true; } | head -1 | awk '{print $2}')"
versions="nginx $nginx_version, wrk $wrk_version, tollgate $("$tollgate" --version 2>/dev/null | tail -1 || true) commit $commit (RelWithDebInfo, built in $((SECONDS - build_start)) s)"
echo "versions: $versions"
echo "load    : wrk -t$THREADS -c$CONNS, ${DURATION} s per row after ${WARMUP} s warm-up; upstream nginx $UPSTREAM_WORKERS worker(s), proxy nginx $PROXY_WORKERS worker(s), tollgate io_threads 0 (one per core less one) --log-level $LOG_LEVEL"

results="$work/results.jsonl"
helper() { python3 "$bench/gateway_bench.py" "$@"; }

read -r UP_PORT PROXY_PORT <<<"$(helper ports 2)"

wait_http() {  # url pid what
  local url=$1 pid=$2 what=$3
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || { echo "bench: $what exited at start" >&2; return 1; }
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data '{}' "$url" || true)" = 200 ] && return 0
    sleep 0.1
  done
  echo "bench: $what does not answer 200 at $url" >&2
  return 1
}

start_nginx() {  # name template port workers [upstream_port]; sets nginx_pid
  local name=$1 template=$2 port=$3 workers=$4 up=${5:-}
  local prefix="$work/$name"
  mkdir -p "$prefix"
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$port|g" -e "s|@WORKERS@|$workers|g" -e "s|@UPSTREAM_PORT@|$up|g" \
    "$bench/nginx-$template.conf.in" >"$prefix/nginx.conf"
  nginx -p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/error.log" -g 'daemon off;' >"$prefix/stdout.log" 2>&1 &
  nginx_pid=$!
  pids+=("$nginx_pid")
}

start_tollgate() {  # name fsync(true|false|default) log_level; sets tg_pid tg_port tg_dir
  local name=$1 fsync=$2 level=$3
  tg_dir="$work/$name"
  mkdir -p "$tg_dir/data"
  tg_port="$(helper ports 1)"
  {
    echo "listen: 127.0.0.1:$tg_port"
    echo "data_dir: $tg_dir/data"
    echo "shutdown_grace_ms: 3000"
    [ "$fsync" != default ] && printf 'ledger:\n  fsync: %s\n' "$fsync"
    cat <<EOF
providers:
  - name: bench-openai
    type: openai
    base_url: http://127.0.0.1:$UP_PORT/v1
    models: ["$HAIKU"]
    regions: ["*"]
  - name: bench-bedrock
    type: bedrock
    endpoint: http://127.0.0.1:$UP_PORT
    access_key_id: BENCHKEY
    secret_access_key: bench-secret
    models: ["$NOVA"]
    regions: ["*"]
EOF
  } >"$tg_dir/tollgate.yaml"
  "$tollgate" serve --config "$tg_dir/tollgate.yaml" --log-level "$level" >"$tg_dir/tollgate.log" 2>&1 &
  tg_pid=$!
  pids+=("$tg_pid")
  for _ in $(seq 100); do
    grep -q "listening on" "$tg_dir/tollgate.log" 2>/dev/null && return 0
    kill -0 "$tg_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$tg_dir/tollgate.log" >&2
  echo "bench: tollgate ($name) did not start" >&2
  return 1
}

stop_tollgate() {  # pid name dir
  stop_pid "$1"
  helper ledger --data "$3/data" --tollgate "$tollgate" --instance "$2" --results "$results"
}

sign() {  # endpoint model name out
  helper sign --endpoint "$1" --model-source "arn:aws:bedrock:us-east-1::foundation-model/$2" --name "$3" --out "$4"
}

load() {  # row label instance url request_dir sut_pids upstream_pids [extra measure args]
  local row=$1 label=$2 instance=$3 url=$4 req=$5 sut=$6 up=$7
  shift 7
  if [ "$WARMUP" -gt 0 ]; then
    helper measure --row "$row" --label "$label" --phase warmup --instance "$instance" --url "$url" \
      --request-dir "$req" --duration "$WARMUP" --threads "$THREADS" --conns "$CONNS" --results "$results" \
      --work "$work" --sut-pids "$sut" --upstream-pids "$up" "$@" >/dev/null
  fi
  helper measure --row "$row" --label "$label" --phase measure --instance "$instance" --url "$url" \
    --request-dir "$req" --duration "$DURATION" --threads "$THREADS" --conns "$CONNS" --results "$results" \
    --work "$work" --sut-pids "$sut" --upstream-pids "$up" "$@"
}

helper info --results "$results" --set "machine=$machine" --set "versions=$versions" --set "threads=$THREADS" \
  --set "conns=$CONNS" --set "duration=$DURATION" --set "warmup=$WARMUP" --set "log_level=$LOG_LEVEL" \
  --set "when=$(date -u +%Y-%m-%dT%H:%M:%SZ)"

# ---------------------------------------------------------------- upstream + proxy
start_nginx upstream upstream "$UP_PORT" "$UPSTREAM_WORKERS"; up_pid=$nginx_pid
wait_http "http://127.0.0.1:$UP_PORT/v1/chat/completions" "$up_pid" "the upstream nginx"
wait_http "http://127.0.0.1:$UP_PORT/model/$NOVA/converse" "$up_pid" "the upstream nginx (converse)"
start_nginx proxy proxy "$PROXY_PORT" "$PROXY_WORKERS" "$UP_PORT"; proxy_pid=$nginx_pid
wait_http "http://127.0.0.1:$PROXY_PORT/v1/chat/completions" "$proxy_pid" "the proxy nginx"

direct_req="$work/req-direct"
mkdir -p "$direct_req"
printf '%s' '{"model":"bench-model","messages":[{"role":"user","content":"Say hello in one short sentence."}],"max_tokens":64,"temperature":0.0}' >"$direct_req/body.json"
printf '%s' '/v1/chat/completions' >"$direct_req/path.txt"
printf 'Content-Type: application/json\n' >"$direct_req/headers.txt"

echo
echo "rows (each: ${WARMUP} s warm-up, then ${DURATION} s measured):"
load direct "direct to upstream" none "http://127.0.0.1:$UP_PORT/v1/chat/completions" "$direct_req" "$up_pid" ""
load nginx "nginx reverse proxy" none "http://127.0.0.1:$PROXY_PORT/v1/chat/completions" "$direct_req" "$proxy_pid" "$up_pid"

# ---------------------------------------------------------------- tollgate, default ledger
start_tollgate tollgate default "$LOG_LEVEL"; a_pid=$tg_pid a_port=$tg_port a_dir=$tg_dir
sign "http://127.0.0.1:$a_port" "$HAIKU" bench-openai "$a_dir/req-openai"
load tollgate "tollgate (ledger default)" tollgate "http://127.0.0.1:$a_port/" "$a_dir/req-openai" "$a_pid" "$up_pid" --threads-of-sut

# ---------------------------------------------------------------- tollgate, ledger fsync
start_tollgate tollgate-fsync true "$LOG_LEVEL"; b_pid=$tg_pid b_port=$tg_port b_dir=$tg_dir
sign "http://127.0.0.1:$b_port" "$HAIKU" bench-openai "$b_dir/req-openai"
load tollgate-fsync "tollgate (ledger fsync: true)" tollgate-fsync "http://127.0.0.1:$b_port/" "$b_dir/req-openai" "$b_pid" "$up_pid" --threads-of-sut
stop_tollgate "$b_pid" tollgate-fsync "$b_dir"

if [ "$EXTRA_ROWS" = 1 ]; then
  if [ "$LOG_LEVEL" != info ]; then
    start_tollgate tollgate-info default info; c_pid=$tg_pid c_port=$tg_port c_dir=$tg_dir
    sign "http://127.0.0.1:$c_port" "$HAIKU" bench-openai "$c_dir/req-openai"
    load tollgate-info "tollgate (log level info)" tollgate-info "http://127.0.0.1:$c_port/" "$c_dir/req-openai" "$c_pid" "$up_pid" --threads-of-sut
    stop_tollgate "$c_pid" tollgate-info "$c_dir"
  fi
  sign "http://127.0.0.1:$a_port" "$NOVA" bench-bedrock "$a_dir/req-bedrock"
  load tollgate-bedrock "tollgate (bedrock provider)" tollgate "http://127.0.0.1:$a_port/" "$a_dir/req-bedrock" "$a_pid" "$up_pid" --threads-of-sut
  start_tollgate tollgate-budget default "$LOG_LEVEL"; d_pid=$tg_pid d_port=$tg_port d_dir=$tg_dir
  sign "http://127.0.0.1:$d_port" "$HAIKU" bench-openai "$d_dir/req-openai"
  helper budget --endpoint "http://127.0.0.1:$d_port" --request-dir "$d_dir/req-openai"
  load tollgate-budget "tollgate (blocking budget)" tollgate-budget "http://127.0.0.1:$d_port/" "$d_dir/req-openai" "$d_pid" "$up_pid" --threads-of-sut
  stop_tollgate "$d_pid" tollgate-budget "$d_dir"
fi

# ---------------------------------------------------------------- paced at ~50% of tollgate's saturation
rate="$(helper rate --results "$results" --of-row tollgate --fraction 0.5)"
echo
echo "paced (offered $(printf '%.0f' "$rate") req/s = 50% of tollgate's rate above, fixed-rate send slots in wrk's delay()):"
paced() {  # row label instance url request_dir sut_pids upstream_pids [extra measure args]
  local row=$1 label=$2 instance=$3 url=$4 req=$5 sut=$6 up=$7 phase
  shift 7
  for phase in warmup paced; do
    [ "$phase" = warmup ] && [ "$WARMUP" -le 0 ] && continue
    helper measure --row "$row" --label "$label" --phase "$phase" --instance "$instance" --url "$url" \
      --request-dir "$req" --duration "$([ "$phase" = warmup ] && echo "$WARMUP" || echo "$DURATION")" \
      --threads "$THREADS" --conns "$CONNS" --rate "$rate" --results "$results" --work "$work" --sut-pids "$sut" \
      --upstream-pids "$up" "$@" | { [ "$phase" = warmup ] && cat >/dev/null || cat; }
  done
}
paced direct "direct to upstream, paced" none "http://127.0.0.1:$UP_PORT/v1/chat/completions" "$direct_req" "$up_pid" ""
paced nginx "nginx reverse proxy, paced" none "http://127.0.0.1:$PROXY_PORT/v1/chat/completions" "$direct_req" "$proxy_pid" "$up_pid"
paced tollgate "tollgate (ledger default), paced" tollgate "http://127.0.0.1:$a_port/" "$a_dir/req-openai" "$a_pid" "$up_pid" --threads-of-sut

if [ "$PERF" = 1 ]; then
  echo
  if command -v perf >/dev/null 2>&1; then
    echo "profile (perf record -e cpu-clock --call-graph dwarf on tollgate for 5 s under saturating load; not a row):"
    helper measure --row tollgate --label "tollgate (under perf)" --phase profile --instance tollgate \
      --url "http://127.0.0.1:$a_port/" --request-dir "$a_dir/req-openai" --duration $((WARMUP + 7)) --threads "$THREADS" \
      --conns "$CONNS" --results "$results" --work "$work" --sut-pids "$a_pid" --upstream-pids "$up_pid" --threads-of-sut &
    profile_load=$!
    sleep $((WARMUP + 1))
    perf record -q -e cpu-clock -F 999 --call-graph dwarf,16384 -p "$a_pid" -o "$work/perf.data" -- sleep 5 >/dev/null 2>&1 || true
    wait "$profile_load" || true
    helper perf-summary --data "$work/perf.data" || true
  else
    echo "profile: perf not found (Debian package linux-perf); skipped"
  fi
fi

echo
echo "ledger check:"
extra=1
[ "$EXTRA_ROWS" = 1 ] && extra=2  # one check call per signed profile
stop_pid "$a_pid"
helper ledger --data "$a_dir/data" --tollgate "$tollgate" --instance tollgate --results "$results" --extra-good "$extra"

helper report --results "$results"
