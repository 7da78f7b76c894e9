#!/usr/bin/env python3
"""End-to-end: kill -9 under load. Every request that was answered before the
crash is in the ledger exactly once after a restart; nothing is counted twice.

Eight client threads send Converse calls through an application profile as fast
as they can; the gateway is killed with SIGKILL mid-flight, restarted on the
same data directory, and the ledger is compared with the answers the clients
received.

Run: TOLLGATE_BINARY=build/tollgate python3 test/e2e/test_crash_durability.py
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from e2e_env import isolate_this_process  # noqa: E402
from gateway import ACCESS_KEY, SECRET_KEY, Gateway, binary_path  # noqa: E402

isolate_this_process()

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

THREADS = 8
LOAD_SECONDS = 2.5
HAIKU_ARN = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"


def client(service: str, endpoint: str):
    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10, max_pool_connections=THREADS))


class KillNineUnderLoad(unittest.TestCase):
    def test_every_answered_request_is_recorded_exactly_once(self):
        data_dir = tempfile.mkdtemp(prefix="tollgate-crash-")
        gateway = Gateway(data_dir=data_dir).start()
        try:
            profile = client("bedrock", gateway.endpoint).create_inference_profile(
                inferenceProfileName="crash-bot", modelSource={"copyFrom": HAIKU_ARN},
                tags=[{"key": "team", "value": "sre"}])["inferenceProfileArn"]
            runtime = client("bedrock-runtime", gateway.endpoint)
            answered: list[tuple[str, int, int]] = []
            failures = collections.Counter()
            lock = threading.Lock()
            stop = threading.Event()

            def load(worker: int):
                n = 0
                while not stop.is_set():
                    n += 1
                    try:
                        r = runtime.converse(modelId=profile, messages=[
                            {"role": "user", "content": [{"text": f"worker {worker} request {n}"}]}])
                    except Exception as e:  # the crash: connection refused/reset
                        with lock:
                            failures[type(e).__name__] += 1
                        if gateway.proc is None or gateway.proc.poll() is not None:
                            return
                        continue
                    with lock:
                        answered.append((r["ResponseMetadata"]["RequestId"], r["usage"]["inputTokens"],
                                         r["usage"]["outputTokens"]))

            threads = [threading.Thread(target=load, args=(i,)) for i in range(THREADS)]
            for t in threads:
                t.start()
            time.sleep(LOAD_SECONDS)
            gateway.proc.kill()  # SIGKILL: no shutdown, no flush
            gateway.proc.wait()
            stop.set()
            for t in threads:
                t.join(timeout=30)
            self.assertGreater(len(answered), 50, f"too little load before the crash: {failures}")

            restarted = Gateway(data_dir=data_dir).start()
            try:
                out = subprocess.run([binary_path(), "usage", "--data", data_dir, "--format", "json",
                                      "--limit", "1000000"], capture_output=True, text=True, timeout=60, check=True)
                records = json.loads(out.stdout)["usageRecords"]
                counts = collections.Counter(r["requestId"] for r in records)
                self.assertEqual([rid for rid, c in counts.items() if c > 1], [], "a request was counted twice")
                by_id = {r["requestId"]: r for r in records}
                missing = [rid for rid, _, _ in answered if rid not in by_id]
                self.assertEqual(missing, [], f"{len(missing)} answered requests are not in the ledger")
                for rid, input_tokens, output_tokens in answered:
                    self.assertEqual((by_id[rid]["inputTokens"], by_id[rid]["outputTokens"]),
                                     (input_tokens, output_tokens))
                # The restarted gateway keeps working and its ledger keeps counting.
                r = client("bedrock-runtime", restarted.endpoint).converse(
                    modelId=profile, messages=[{"role": "user", "content": [{"text": "after the crash"}]}])
                self.assertTrue(r["output"]["message"]["content"][0]["text"])
                print(f"answered before the crash: {len(answered)}; records after restart: {len(records)} "
                      f"(in-flight extras: {len(records) - len(answered)}); client errors: {dict(failures)}")
            finally:
                restarted.stop_and_close()
        finally:
            gateway.close()
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
