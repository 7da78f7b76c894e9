#!/usr/bin/env python3
"""End-to-end: the openai and bedrock providers behind an application profile.

* openai: tollgate forwards Converse / ConverseStream to a local OpenAI-compatible
  server (fake_openai.py) and answers in Bedrock's shapes; the usage recorded is
  the upstream's.
* bedrock: tollgate A forwards to a second tollgate B acting as Bedrock (the
  simulator), re-signing with SigV4; B verifies that signature (a wrong secret
  is refused), and A's answer is B's answer.

Run: TOLLGATE_BINARY=build/tollgate python3 test/e2e/test_providers.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from e2e_env import isolate_this_process  # noqa: E402
from fake_openai import COMPLETION_TOKENS, PROMPT_TOKENS, STREAM_PIECES, FakeOpenAi  # noqa: E402
from gateway import ACCESS_KEY, ACCOUNT_ID, SECRET_KEY, Gateway, binary_path  # noqa: E402

isolate_this_process()

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

REGION = "us-east-1"
LLAMA = "meta.llama3-1-8b-instruct-v1:0"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def client(service: str, endpoint: str):
    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY, config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def create_profile(endpoint: str, name: str, model: str) -> str:
    return client("bedrock", endpoint).create_inference_profile(
        inferenceProfileName=name, modelSource={"copyFrom": f"arn:aws:bedrock:{REGION}::foundation-model/{model}"},
        tags=[{"key": "team", "value": "platform"}])["inferenceProfileArn"]


def usage_records(gateway: Gateway) -> list[dict]:
    out = subprocess.run([binary_path(), "usage", "--data", str(gateway.data_dir), "--format", "json"],
                         capture_output=True, text=True, timeout=30, check=True)
    return json.loads(out.stdout)["usageRecords"]


class OpenAiProvider(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeOpenAi().__enter__()
        config = f"""\
providers:
  - name: local-llm
    type: openai
    base_url: {cls.fake.base_url}
    api_key: sk-e2e
    model: upstream-llama
    models: ["{LLAMA}"]
"""
        cls.gateway = Gateway(config=config).start()
        cls.runtime = client("bedrock-runtime", cls.gateway.endpoint)
        cls.profile = create_profile(cls.gateway.endpoint, "llm-bot", LLAMA)

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop_and_close()
        cls.fake.__exit__()

    def test_converse_is_translated_both_ways_and_metered(self):
        response = self.runtime.converse(
            modelId=self.profile, system=[{"text": "You are terse."}],
            messages=[{"role": "user", "content": [{"text": "ping"}]}],
            inferenceConfig={"maxTokens": 50, "temperature": 0.5})
        self.assertEqual(response["output"]["message"]["content"][0]["text"], "Echo: ping")
        self.assertEqual(response["stopReason"], "end_turn")
        self.assertEqual((response["usage"]["inputTokens"], response["usage"]["outputTokens"]),
                         (PROMPT_TOKENS, COMPLETION_TOKENS))
        self.assertEqual(response["ResponseMetadata"]["HTTPHeaders"]["x-tollgate-provider"], "openai")
        sent = self.fake.requests[-1]
        self.assertEqual(sent["headers"].get("Authorization"), "Bearer sk-e2e")
        self.assertEqual(sent["body"]["model"], "upstream-llama")
        self.assertEqual(sent["body"]["messages"][0], {"role": "system", "content": "You are terse."})
        self.assertEqual(sent["body"]["max_tokens"], 50)
        record = [r for r in usage_records(self.gateway) if r["requestId"] == response["ResponseMetadata"]["RequestId"]]
        self.assertEqual(len(record), 1)
        self.assertEqual((record[0]["inputTokens"], record[0]["outputTokens"]), (PROMPT_TOKENS, COMPLETION_TOKENS))
        self.assertEqual(record[0]["profileArn"], self.profile)
        self.assertEqual(record[0]["tags"], [{"key": "team", "value": "platform"}])

    def test_converse_stream_turns_sse_into_bedrock_events(self):
        response = self.runtime.converse_stream(modelId=self.profile,
                                                messages=[{"role": "user", "content": [{"text": "stream"}]}])
        events = list(response["stream"])
        text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
        self.assertEqual(text, "".join(STREAM_PIECES))
        self.assertEqual(next(iter(events[0])), "messageStart")
        usage = events[-1]["metadata"]["usage"]
        self.assertEqual((usage["inputTokens"], usage["outputTokens"]), (PROMPT_TOKENS, len(STREAM_PIECES)))
        self.assertTrue(self.fake.requests[-1]["body"]["stream_options"]["include_usage"])
        record = [r for r in usage_records(self.gateway) if r["requestId"] == response["ResponseMetadata"]["RequestId"]]
        self.assertEqual((record[0]["inputTokens"], record[0]["outputTokens"]), (PROMPT_TOKENS, len(STREAM_PIECES)))

    def test_other_models_still_go_to_the_simulator(self):
        response = self.runtime.converse(modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "hi"}]}])
        self.assertEqual(response["ResponseMetadata"]["HTTPHeaders"]["x-tollgate-provider"], "simulator")


class BedrockProvider(unittest.TestCase):
    """tollgate A → (SigV4) → tollgate B, which plays Bedrock with its simulator."""

    @classmethod
    def setUpClass(cls):
        cls.upstream = Gateway().start()
        cls.gateway = Gateway(config=cls.config(SECRET_KEY)).start()
        cls.runtime = client("bedrock-runtime", cls.gateway.endpoint)
        cls.profile = create_profile(cls.gateway.endpoint, "forwarded-bot", HAIKU)

    @classmethod
    def config(cls, secret: str) -> str:
        return f"""\
providers:
  - name: upstream-bedrock
    type: bedrock
    endpoint: {cls.upstream.endpoint}
    access_key_id: {ACCESS_KEY}
    secret_access_key: {secret}
"""

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop_and_close()
        cls.upstream.stop_and_close()

    def test_converse_is_forwarded_signed_and_metered_on_both_sides(self):
        messages = [{"role": "user", "content": [{"text": "forward me"}]}]
        through_a = self.runtime.converse(modelId=self.profile, messages=messages)
        direct_b = client("bedrock-runtime", self.upstream.endpoint).converse(modelId=HAIKU, messages=messages)
        self.assertEqual(through_a["output"], direct_b["output"])  # the simulator is deterministic
        self.assertEqual(through_a["ResponseMetadata"]["HTTPHeaders"]["x-tollgate-provider"], "bedrock")
        usage = through_a["usage"]
        a_records = usage_records(self.gateway)
        self.assertEqual(len(a_records), 1)
        self.assertEqual((a_records[0]["inputTokens"], a_records[0]["outputTokens"]),
                         (usage["inputTokens"], usage["outputTokens"]))
        self.assertEqual(a_records[0]["profileArn"], self.profile)
        # B verified A's signature and metered the forwarded call (plus the direct one above).
        b_records = usage_records(self.upstream)
        self.assertEqual(len(b_records), 2)
        # The caller's IAM ARN: the embedded default principal, named "local".
        self.assertTrue(all(r["principal"] == f"arn:aws:iam::{ACCOUNT_ID}:user/local" for r in b_records))

    def test_converse_stream_is_forwarded(self):
        response = self.runtime.converse_stream(modelId=self.profile,
                                                messages=[{"role": "user", "content": [{"text": "stream it"}]}])
        events = list(response["stream"])
        self.assertEqual(next(iter(events[-1])), "metadata")
        self.assertIn("imulated", "".join(e["contentBlockDelta"]["delta"]["text"]
                                          for e in events if "contentBlockDelta" in e))

    def test_a_wrong_upstream_secret_is_refused_by_the_upstream(self):
        wrong = Gateway(config=self.config("not-the-secret")).start()
        try:
            profile = create_profile(wrong.endpoint, "wrong-secret-bot", HAIKU)
            before = len(usage_records(self.upstream))
            with self.assertRaises(ClientError) as caught:
                client("bedrock-runtime", wrong.endpoint).converse(
                    modelId=profile, messages=[{"role": "user", "content": [{"text": "x"}]}])
            self.assertEqual(caught.exception.response["Error"]["Code"], "InternalServerException")
            self.assertIn("credentials", caught.exception.response["Error"]["Message"])
            self.assertEqual(len(usage_records(self.upstream)), before)
            self.assertEqual(usage_records(wrong), [])
        finally:
            wrong.stop_and_close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
