#!/usr/bin/env python3
"""Helpers for bench/run.sh (gateway throughput and latency).

run.sh owns the processes (nginx, tollgate) and their clean-up; this file does
the parts that are easier in Python:

  ports N                 print N free TCP ports on 127.0.0.1
  budget ...              put a blocking budget (tag tollgate:enforcement) over the profile
                          of a signed request, with a limit it never reaches
  sign ...                create an application inference profile on a tollgate
                          (boto3 control plane), make one real Converse call
                          through it with boto3 and keep the exact signed request
                          (headers, body, path) for wrk to replay
  measure ...             run one wrk load (gateway_wrk.lua), with CPU accounting of
                          the server under test, the upstream, wrk and the machine,
                          and append the result to the results file (JSON lines)
  rate ...                a fraction of a row's measured rate (the paced load)
  ledger ...              count what a tollgate's ledger recorded vs the good responses
  report ...              print the table and the targets
"""
import argparse
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- ports

def cmd_ports(args):
    socks = []
    for _ in range(args.n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    print(" ".join(str(s.getsockname()[1]) for s in socks))
    for s in socks:
        s.close()


# ---------------------------------------------------------------- sign

def cmd_sign(args):
    import boto3
    from botocore.config import Config

    creds = dict(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    cfg = Config(retries={"max_attempts": 1, "mode": "standard"})
    control = boto3.client("bedrock", endpoint_url=args.endpoint, config=cfg, **creds)
    created = control.create_inference_profile(
        inferenceProfileName=args.name,
        modelSource={"copyFrom": args.model_source},
        tags=[{"key": "team", "value": "bench"}, {"key": "env", "value": "bench"}],
    )
    arn = created["inferenceProfileArn"]

    runtime = boto3.client("bedrock-runtime", endpoint_url=args.endpoint, config=cfg, **creds)
    captured = {}

    def before_send(request, **_):
        captured["url"] = request.url
        captured["headers"] = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
        body = request.body
        captured["body"] = body if isinstance(body, bytes) else (body or "").encode()
        return None  # let the real call go on

    runtime.meta.events.register("before-send.bedrock-runtime.Converse", before_send)
    answer = runtime.converse(
        modelId=arn,
        messages=[{"role": "user", "content": [{"text": "Say hello in one short sentence."}]}],
        inferenceConfig={"maxTokens": 64, "temperature": 0.0},
    )
    usage = answer.get("usage", {})
    text = answer["output"]["message"]["content"][0].get("text", "")
    provider = answer["ResponseMetadata"]["HTTPHeaders"].get("x-tollgate-provider", "?")
    if not usage.get("totalTokens"):
        sys.exit(f"sign: the check call through {arn} returned no usage: {answer}")

    url = urlsplit(captured["url"])
    path = url.path + (("?" + url.query) if url.query else "")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "body.json"), "wb") as f:
        f.write(captured["body"])
    with open(os.path.join(args.out, "path.txt"), "w") as f:
        f.write(path)
    with open(os.path.join(args.out, "arn.txt"), "w") as f:
        f.write(arn)
    with open(os.path.join(args.out, "headers.txt"), "w") as f:
        f.write(f"Host: {url.netloc}\n")
        for k, v in captured["headers"].items():
            if k.lower() in ("content-length", "host"):
                continue  # wrk computes Content-Length from the body and sends Host from the URL (set above)
            f.write(f"{k}: {v}\n")
    signed = captured["headers"].get("Authorization", "")
    signed = signed.split("SignedHeaders=")[1].split(",")[0] if "SignedHeaders=" in signed else "?"
    print(f"  profile {arn} -> provider {provider}; check call answered {text!r} "
          f"usage {usage.get('inputTokens')}+{usage.get('outputTokens')} tokens; "
          f"replaying X-Amz-Date {captured['headers'].get('X-Amz-Date')} (signed headers: {signed})")


# ---------------------------------------------------------------- measure

def proc_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime (all threads)
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0


def descendants(roots):
    """The given pids and all their descendants (nginx master + workers)."""
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass
    out = set(roots)
    changed = True
    while changed:
        changed = False
        for pid, ppid in parent.items():
            if ppid in out and pid not in out:
                out.add(pid)
                changed = True
    return sorted(out)


def thread_ticks(pid):
    out = {}
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    head, rest = f.read().rsplit(")", 1)
                fields = rest.split()
                out[int(tid)] = (head.split("(", 1)[1], int(fields[11]) + int(fields[12]))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass
    except FileNotFoundError:
        pass
    return out


def tree_ticks(roots):
    return sum(proc_ticks(p) for p in descendants(roots)) if roots else 0


def machine_stat():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice
    total = sum(v[:8])
    return {"total": total, "idle": v[3] + v[4], "steal": v[7]}


def pids_of(text):
    return [int(p) for p in (text or "").split() if p.strip()]


def cmd_measure(args):
    sut, upstream = pids_of(args.sut_pids), pids_of(args.upstream_pids)
    result_path = os.path.join(args.work, f"{args.row}.{args.phase}.json")
    out_path = os.path.join(args.work, f"{args.row}.{args.phase}.wrk.txt")
    env = dict(os.environ)
    env.update(BENCH_RESULT=result_path, BENCH_RATE=str(args.rate), BENCH_THREADS=str(args.threads),
               BENCH_BODY_FILE=os.path.join(args.request_dir, "body.json"),
               BENCH_HEADERS_FILE=os.path.join(args.request_dir, "headers.txt"),
               BENCH_PATH=open(os.path.join(args.request_dir, "path.txt")).read().strip())
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.conns}", f"-d{args.duration}s", "--timeout", "5s", "--latency",
           "-s", os.path.join(HERE, "gateway_wrk.lua"), args.url]
    s0, m0, u0 = tree_ticks(sut), machine_stat(), tree_ticks(upstream)
    th0 = thread_ticks(sut[0]) if args.threads_of_sut and sut else {}
    t0 = time.monotonic()
    with open(out_path, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, rusage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    s1, m1, u1 = tree_ticks(sut), machine_stat(), tree_ticks(upstream)
    th1 = thread_ticks(sut[0]) if args.threads_of_sut and sut else {}
    # CPU (cores) of each thread of the server under test, busiest first: tells the
    # I/O threads from the ledger's writer thread.
    per_thread = sorted(((name, (t - th0.get(tid, (name, 0))[1]) / CLK_TCK / wall) for tid, (name, t) in th1.items()),
                        key=lambda x: -x[1])
    per_thread = [[n, round(c, 3)] for n, c in per_thread if c >= 0.005]
    if proc.returncode != 0 or not os.path.exists(result_path):
        sys.exit(f"measure: wrk failed for {args.row} ({args.phase}), exit {proc.returncode}:\n" + open(out_path).read())
    r = json.load(open(result_path))
    dt = r["duration_us"] / 1e6
    mt = max(1, m1["total"] - m0["total"])
    row = {
        "type": "run", "row": args.row, "label": args.label, "phase": args.phase, "instance": args.instance,
        "conns": args.conns, "threads": args.threads, "duration_s": dt, **r,
        "good_rps": r["good"] / dt if dt > 0 else 0.0,
        "socket_errors": sum(r["errors"][k] for k in ("connect", "read", "write", "timeout")),
        "sut_cores": (s1 - s0) / CLK_TCK / wall if sut else None,
        "sut_us_per_req": (s1 - s0) / CLK_TCK * 1e6 / max(1, r["requests"]) if sut else None,
        "upstream_cores": (u1 - u0) / CLK_TCK / wall if upstream else None,
        "wrk_cores": (rusage.ru_utime + rusage.ru_stime) / wall,
        "machine_busy": 1 - (m1["idle"] - m0["idle"]) / mt,
        "steal": (m1["steal"] - m0["steal"]) / mt,
        "sut_threads": per_thread,
    }
    with open(args.results, "a") as f:
        f.write(json.dumps(row) + "\n")
    lat = r["latency_us"]
    bad = r["bad"] + row["socket_errors"]
    print(f"  {args.phase:<9} {args.label:<34} {row['good_rps']:>9.0f} req/s  p50 {lat['p50'] / 1000:6.2f} ms  "
          f"p99 {lat['p99'] / 1000:6.2f} ms" + (f"  ERRORS {bad}: {r['statuses']} {r['sample'][:160]!r}" if bad else ""),
          flush=True)


# ---------------------------------------------------------------- rate

def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def find_run(results, row, phase):
    for r in reversed(results):
        if r.get("type") == "run" and r["row"] == row and r["phase"] == phase:
            return r
    sys.exit(f"no {phase} run of row {row} in the results")


def cmd_rate(args):
    results = load(args.results)
    print(f"{find_run(results, args.of_row, 'measure')['good_rps'] * args.fraction:.1f}")


# ---------------------------------------------------------------- ledger

def cmd_ledger(args):
    results = load(args.results)
    runs = [r for r in results if r.get("type") == "run" and r["instance"] == args.instance]
    good = sum(r["good"] for r in runs) + args.extra_good
    # The number of records: a plain count on the ledger's table (fast at any size).
    db = sqlite3.connect(f"file:{os.path.join(args.data, 'ledger.db')}?mode=ro", uri=True)
    (count,) = db.execute("SELECT count(*) FROM usage_records").fetchone()
    db.close()
    # What they are: read back through `tollgate usage --format json` (the supported
    # interface), all of them when there are not too many.
    by_status, newest = {}, ""
    limit = count if count <= args.read_back_max else 1
    listed = subprocess.run([args.tollgate, "usage", "--data", args.data, "--format", "json", "--limit", str(limit)],
                            capture_output=True, text=True)
    try:
        records = json.loads(listed.stdout)["usageRecords"]
        for rec in records:
            by_status[rec["status"]] = by_status.get(rec["status"], 0) + 1
        if limit != count:
            by_status = {"(not read back)": count}
        rec = records[0]
        newest = ", ".join(f"{k}={json.dumps(rec[k], separators=(',', ':'))}"
                           for k in ("operation", "modelId", "profileArn", "inputTokens", "outputTokens", "costUsd",
                                     "tags", "status", "latencyMs") if k in rec)
    except (ValueError, KeyError, IndexError, TypeError):
        by_status = {"(tollgate usage failed)": count}
        newest = (listed.stdout + listed.stderr).strip()[:300]
    # A request in flight when wrk stopped is answered after wrk stopped counting: it
    # is recorded (the record commits before the answer's last byte) but not counted
    # as a good response. So records may exceed good responses by at most
    # (connections x runs), never fall short of them.
    slack = sum(r["conns"] for r in runs)
    ok = good <= count <= good + slack and set(by_status) <= {"success", "(not read back)"}
    row = {"type": "ledger", "instance": args.instance, "records": count, "by_status": by_status,
           "good_responses": good, "slack": slack, "ok": ok, "newest": newest, "runs": len(runs),
           "checks": args.extra_good}
    with open(args.results, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"  {args.instance:<15} {count:>7} records {by_status} for {good} good responses "
          f"({len(runs)} wrk runs + {args.extra_good} check call(s)) -> {'OK' if ok else 'MISMATCH'}", flush=True)


# ---------------------------------------------------------------- report

def ms(us):
    return f"{us / 1000:.2f}"


def cmd_report(args):
    results = load(args.results)
    runs = [r for r in results if r.get("type") == "run"]
    measured = {r["row"]: r for r in runs if r["phase"] == "measure"}
    paced = {r["row"]: r for r in runs if r["phase"] == "paced"}
    ledgers = [r for r in results if r.get("type") == "ledger"]
    info = {}
    for r in results:
        if r.get("type") == "info":
            info.update(r)
    ncpu = os.cpu_count() or 1
    direct = measured.get("direct")
    nginx = measured.get("nginx")

    def errors_of(r):
        n = r["bad"] + r["socket_errors"]
        if not n:
            return "0"
        parts = [f"{k}:{v}" for k, v in sorted(r["statuses"].items())]
        parts += [f"{k}:{v}" for k, v in r["errors"].items() if k != "status" and v]
        return f"{n} ({' '.join(parts)})"

    def cores(v):
        return "-" if v is None else f"{v:.2f}"

    def cpu_cols(r):
        ours = (r["sut_cores"] or 0) + (r["upstream_cores"] or 0) + r["wrk_cores"]
        other = max(0.0, r["machine_busy"] * ncpu - ours)
        return [cores(r["sut_cores"]), "-" if r["sut_us_per_req"] is None else f"{r['sut_us_per_req']:.0f}",
                cores(r["upstream_cores"]), cores(r["wrk_cores"]), f"{other:.2f}", f"{r['steal'] * 100:.0f}%"]

    def rps(r):
        return f"{r['good_rps']:.0f}" + (" !ERRORS" if r["bad"] + r["socket_errors"] else "")

    head = ["row", "req/s", "p50 ms", "p99 ms", "errors", "vs nginx", "p99 vs direct", "SUT CPU", "SUT us/req",
            "upstream CPU", "wrk CPU", "other CPU", "steal"]
    lines = []
    for r in runs:
        if r["phase"] != "measure":
            continue
        is_tollgate = r["row"].startswith("tollgate")
        ratio = f"{r['good_rps'] / nginx['good_rps']:.2f}x" if (is_tollgate and nginx) else ""
        added = (f"{(r['latency_us']['p99'] - direct['latency_us']['p99']) / 1000:+.2f} ms"
                 if (is_tollgate and direct) else "")
        lines.append([r["label"], rps(r), ms(r["latency_us"]["p50"]), ms(r["latency_us"]["p99"]), errors_of(r),
                      ratio, added] + cpu_cols(r))
    paced_lines = []
    pd, pt = paced.get("direct"), paced.get("tollgate")
    for r in runs:
        if r["phase"] != "paced":
            continue
        added = ""
        if (r["row"].startswith("tollgate") or r["row"] == "nginx") and pd:
            added = f"{(r['latency_us']['p99'] - pd['latency_us']['p99']) / 1000:+.2f} ms"
        label = f"{r['label']} (offered {r['rate']:.0f}/s)"
        paced_lines.append([label, rps(r), ms(r["latency_us"]["p50"]), ms(r["latency_us"]["p99"]), errors_of(r),
                            "", added] + cpu_cols(r))
    widths = [max(len(str(x[i])) for x in [head] + lines + paced_lines) for i in range(len(head))]

    def fmt(cols):
        return "| " + " | ".join(str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i])
                                 for i, c in enumerate(cols)) + " |"

    print()
    print(f"== Gateway throughput and latency ({info.get('when', '')}) ==")
    print(f"machine : {info.get('machine', '?')}")
    print(f"versions: {info.get('versions', '?')}")
    print(f"load    : wrk -t{info.get('threads')} -c{info.get('conns')}, {info.get('duration')} s per row after a "
          f"{info.get('warmup')} s warm-up; every response checked (200 with a usage member); tollgate rows: "
          f"Converse through an application inference profile, SigV4, --log-level {info.get('log_level')} "
          f"unless the row says otherwise")
    print(fmt(head))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for l in lines:
        print(fmt(l))
    for l in paced_lines:
        print(fmt(l))
    if paced_lines:
        print("paced rows: wrk delay() hands out send slots at a fixed rate = 50% of the 'tollgate (ledger default)' "
              "rate above, the same for every paced row; 'p99 vs direct' there is p99(row, paced) - p99(direct, paced).")
    print("CPU columns are cores (1.00 = one core busy) over the row, from /proc: SUT = the server under test "
          "(upstream nginx for 'direct', proxy nginx workers, tollgate); other = the rest of the machine "
          "(processes not started by this run); steal = hypervisor steal.")

    print()
    print("Targets (measured as is, nothing tuned to meet them):")
    tg = measured.get("tollgate")
    if tg and nginx:
        ratio = tg["good_rps"] / nginx["good_rps"]
        errs = tg["bad"] + tg["socket_errors"] + nginx["bad"] + nginx["socket_errors"]
        v = "PASS" if ratio >= 0.8 and not errs else "MISS"
        print(f"  tollgate throughput >= 0.8 x nginx proxy  : {tg['good_rps']:.0f} / {nginx['good_rps']:.0f} req/s "
              f"= {ratio:.2f}x  -> {v}" + ("  (a row had errors)" if errs else ""))
    if pd and pt:
        added = (pt["latency_us"]["p99"] - pd["latency_us"]["p99"]) / 1000
        errs = pt["bad"] + pt["socket_errors"] + pd["bad"] + pd["socket_errors"]
        v = "PASS" if added <= 1.0 and not errs else "MISS"
        print(f"  p99 added at half saturation <= 1 ms      : {ms(pt['latency_us']['p99'])} ms (tollgate, "
              f"{pt['good_rps']:.0f} req/s) - {ms(pd['latency_us']['p99'])} ms (direct, {pd['good_rps']:.0f} req/s) "
              f"= {added:+.2f} ms  -> {v}" + ("  (a row had errors)" if errs else ""))
        if pn := paced.get("nginx"):
            print(f"  (calibration: the nginx proxy at the same rate adds "
                  f"{(pn['latency_us']['p99'] - pd['latency_us']['p99']) / 1000:+.2f} ms to p99)")
    threads = [(r["label"] + (", paced" if r["phase"] == "paced" and "paced" not in r["label"] else ""),
                r["sut_threads"]) for r in runs if r["phase"] in ("measure", "paced") and r.get("sut_threads")]
    if threads:
        print("tollgate CPU by thread (cores; 'ledger-writer' is the group-commit writer, the others the I/O threads):")
        for label, ts in threads:
            print(f"  {label:<34} " + ", ".join(f"{n} {c:.2f}" for n, c in ts))
    if ledgers:
        print()
        print("Ledger (records in ledger.db after a graceful stop, vs good responses counted by wrk; a request in "
              "flight when wrk stopped is recorded but not counted, so up to connections x runs more are allowed):")
        for l in ledgers:
            print(f"  {l['instance']:<15} {l['records']:>7} records {l['by_status']} vs {l['good_responses']} good "
                  f"responses ({l['runs']} wrk runs + {l.get('checks', 1)} check call(s), slack {l['slack']}) "
                  f"-> {'OK' if l['ok'] else 'MISMATCH'}")
        main_ledger = next((l for l in ledgers if l["instance"] == "tollgate"), ledgers[0])
        print(f"  newest record of {main_ledger['instance']} (tollgate usage --format json --limit 1): "
              f"{main_ledger['newest']}")


# ---------------------------------------------------------------- perf

PERF_STAGES = [
    ("request handling (Runtime::handle)", "tollgate::api::runtime::(anonymous namespace)::Runtime::handle"),
    ("  resolve the profile (ProfileService::resolve_invocation)", "tollgate::profiles::ProfileService::resolve_invocation"),
    ("    profile store SELECT (SqliteProfileStore::select)", "tollgate::store::sqlite::(anonymous namespace)::SqliteProfileStore::select"),
    ("    of which sqlite3_prepare_v2 (statement compiled per call)", "sqlite3_prepare_v2"),
    ("  openai provider (OpenAiProvider::invoke)", "tollgate::provider::openai::(anonymous namespace)::OpenAiProvider::invoke"),
    ("    upstream HTTP client (HttpClient::Impl::perform)", "tollgate::http::HttpClient::Impl::perform"),
    ("SigV4 verify (Authenticator::authenticate)", "tollgate::auth::Authenticator::authenticate"),
    ("  of which derive_signing_key (4 HMACs per request)", "tollgate::auth::sigv4::derive_signing_key[abi:cxx11]"),
    ("ledger writer thread (SqliteLedger::Impl::run)", "tollgate::ledger::sqlite::SqliteLedger::Impl::run"),
    ("logging (spdlog)", "spdlog::logger::log_it_"),
    ("socket sends (sendmsg, kernel TCP included)", "__libc_sendmsg"),
    ("socket receives (recvmsg)", "__libc_recvmsg"),
    ("epoll_wait", "epoll_wait"),
    ("malloc + free", None),
]


def cmd_perf_summary(args):
    out = subprocess.run(["perf", "report", "-i", args.data, "--children", "--sort", "sym", "-g", "none", "--stdio"],
                         capture_output=True, text=True).stdout
    inclusive, self_pct = {}, {}
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4 and parts[0].endswith("%") and parts[1].endswith("%"):
            name = parts[3].strip()
            inclusive[name] = max(inclusive.get(name, 0.0), float(parts[0][:-1]))
            self_pct[name] = self_pct.get(name, 0.0) + float(parts[1][:-1])
    print(f"  where tollgate's CPU goes (perf, cpu-clock, inclusive % of tollgate's samples):")
    for label, sym in PERF_STAGES:
        if sym is None:
            # glibc's allocator by its internal names, tcmalloc (linked since 2026-12) by its library's symbols.
            pct = sum(v for k, v in self_pct.items()
                      if k in ("malloc", "_int_malloc", "_int_free", "cfree@GLIBC_2.2.5", "malloc_consolidate",
                               "unlink_chunk.constprop.0", "operator new[]", "operator delete[]", "aligned_alloc")
                      or k.startswith(("tc_", "tcmalloc::")))
            print(f"    {pct:5.1f}%  {label} (self)")
            continue
        pct = max((v for k, v in inclusive.items() if k.endswith(sym) or k == sym), default=None)
        if pct is not None:
            print(f"    {pct:5.1f}%  {label}")


# ---------------------------------------------------------------- info

def cmd_info(args):
    row = {"type": "info"}
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            row[key] = json.loads(value)
        except ValueError:
            row[key] = value
    with open(args.results, "a") as f:
        f.write(json.dumps(row) + "\n")


# ---------------------------------------------------------------- budget

def cmd_budget(args):
    import boto3
    from botocore.config import Config

    with open(os.path.join(args.request_dir, "arn.txt")) as f:
        arn = f.read().strip()
    budgets = boto3.client("budgets", endpoint_url=args.endpoint, aws_access_key_id="test",
                           aws_secret_access_key="test", region_name="us-east-1",
                           config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    budgets.create_budget(
        AccountId="123456789012",
        Budget={"BudgetName": "bench-blocking", "BudgetLimit": {"Amount": "1000000", "Unit": "USD"},
                "TimeUnit": "MONTHLY", "BudgetType": "COST", "CostFilters": {"ResourceId": [arn]}},
        ResourceTags=[{"Key": "tollgate:enforcement", "Value": "block"}])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("ports")
    s.add_argument("n", type=int)
    s.set_defaults(fn=cmd_ports)

    s = sub.add_parser("sign")
    s.add_argument("--endpoint", required=True)
    s.add_argument("--model-source", required=True)
    s.add_argument("--name", required=True)
    s.add_argument("--out", required=True)
    s.set_defaults(fn=cmd_sign)

    s = sub.add_parser("budget")
    s.add_argument("--endpoint", required=True)
    s.add_argument("--request-dir", required=True)
    s.set_defaults(fn=cmd_budget)

    s = sub.add_parser("measure")
    for a in ("--row", "--label", "--phase", "--instance", "--url", "--request-dir", "--results", "--work"):
        s.add_argument(a, required=True)
    s.add_argument("--duration", type=int, required=True)
    s.add_argument("--threads", type=int, required=True)
    s.add_argument("--conns", type=int, required=True)
    s.add_argument("--rate", type=float, default=0.0, help="offered load, req/s (0: saturate)")
    s.add_argument("--sut-pids", default="")
    s.add_argument("--upstream-pids", default="")
    s.add_argument("--threads-of-sut", action="store_true", help="also record the CPU of each thread of the first SUT pid")
    s.set_defaults(fn=cmd_measure)

    s = sub.add_parser("rate")
    s.add_argument("--results", required=True)
    s.add_argument("--of-row", required=True)
    s.add_argument("--fraction", type=float, required=True)
    s.set_defaults(fn=cmd_rate)

    s = sub.add_parser("ledger")
    s.add_argument("--data", required=True)
    s.add_argument("--tollgate", required=True)
    s.add_argument("--instance", required=True)
    s.add_argument("--results", required=True)
    s.add_argument("--extra-good", type=int, default=1)
    s.add_argument("--read-back-max", type=int, default=300000)
    s.set_defaults(fn=cmd_ledger)

    s = sub.add_parser("report")
    s.add_argument("--results", required=True)
    s.set_defaults(fn=cmd_report)

    s = sub.add_parser("perf-summary")
    s.add_argument("--data", required=True)
    s.set_defaults(fn=cmd_perf_summary)

    s = sub.add_parser("info")
    s.add_argument("--results", required=True)
    s.add_argument("--set", action="append", default=[], help="key=value (value parsed as JSON when it is)")
    s.set_defaults(fn=cmd_info)

    args = p.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
