#!/usr/bin/env python3
"""End-to-end: the bedrock-runtime operations through an application inference
profile, with boto3, against the real tollgate binary serving the simulator.

Every call that reaches the model must leave exactly one usage record whose
tokens equal what the client saw, stamped with the profile's tags and priced;
calls refused before the model leave none.

Run: TOLLGATE_BINARY=build/tollgate python3 test/e2e/test_runtime_boto3.py
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from e2e_env import isolate_this_process  # noqa: E402
from gateway import ACCESS_KEY, ACCOUNT_ID, SECRET_KEY, Gateway, binary_path  # noqa: E402

isolate_this_process()

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError, EventStreamError  # noqa: E402

REGION = "us-east-1"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
HAIKU_ARN = f"arn:aws:bedrock:{REGION}::foundation-model/{HAIKU}"
# Claude 3 Haiku: $0.25 / $1.25 per million input / output tokens = 250 / 1250 nano-USD per token.
HAIKU_INPUT_NANO, HAIKU_OUTPUT_NANO = 250, 1250
CONFIG = """\
simulator:
  tokens_per_second: 200
"""


def client(service: str, endpoint: str):
    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY, config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": [{"text": text}]}]


class RuntimeThroughProfile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gateway = Gateway(config=CONFIG).start()
        cls.bedrock = client("bedrock", cls.gateway.endpoint)
        cls.runtime = client("bedrock-runtime", cls.gateway.endpoint)
        cls.profile_arn = cls.bedrock.create_inference_profile(
            inferenceProfileName="support-bot-prod", modelSource={"copyFrom": HAIKU_ARN},
            tags=[{"key": "team", "value": "growth"}, {"key": "cost-center", "value": "cc-1234"}])["inferenceProfileArn"]

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop_and_close()

    def usage_records(self) -> list[dict]:
        out = subprocess.run([binary_path(), "usage", "--data", str(self.gateway.data_dir), "--format", "json",
                              "--limit", "1000"], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout)["usageRecords"]

    def record_of(self, request_id: str) -> dict:
        matches = [r for r in self.usage_records() if r["requestId"] == request_id]
        self.assertEqual(len(matches), 1, f"expected exactly one usage record for {request_id}")
        return matches[0]

    def assert_priced_and_tagged(self, record: dict, input_tokens: int, output_tokens: int, operation: str):
        self.assertEqual(record["operation"], operation)
        self.assertEqual(record["profileArn"], self.profile_arn)
        self.assertEqual(record["modelId"], HAIKU)
        self.assertEqual((record["inputTokens"], record["outputTokens"]), (input_tokens, output_tokens))
        self.assertEqual(record["costNanoUsd"]["input"], input_tokens * HAIKU_INPUT_NANO)
        self.assertEqual(record["costNanoUsd"]["output"], output_tokens * HAIKU_OUTPUT_NANO)
        self.assertFalse(record["priceMissing"])
        self.assertEqual({t["key"]: t["value"] for t in record["tags"]}, {"team": "growth", "cost-center": "cc-1234"})
        # The caller's IAM ARN: the embedded default principal, named "local".
        self.assertEqual(record["principal"], f"arn:aws:iam::{ACCOUNT_ID}:user/local")
        self.assertEqual(record["billingRegion"], REGION)

    def test_converse(self):
        response = self.runtime.converse(modelId=self.profile_arn, messages=user("Hello, who are you?"),
                                         inferenceConfig={"maxTokens": 200})
        text = response["output"]["message"]["content"][0]["text"]
        self.assertIn("imulated", text)
        usage = response["usage"]
        self.assertEqual(usage["totalTokens"], usage["inputTokens"] + usage["outputTokens"])
        headers = response["ResponseMetadata"]["HTTPHeaders"]
        self.assertEqual(headers.get("x-tollgate-simulated"), "true")
        record = self.record_of(response["ResponseMetadata"]["RequestId"])
        self.assert_priced_and_tagged(record, usage["inputTokens"], usage["outputTokens"], "Converse")
        cost = usage["inputTokens"] * HAIKU_INPUT_NANO + usage["outputTokens"] * HAIKU_OUTPUT_NANO
        self.assertEqual(headers["x-tollgate-cost-usd"], f"{cost // 10**9}.{cost % 10**9:09d}")
        self.assertEqual(record["status"], "success")

    def test_converse_is_deterministic_and_respects_max_tokens(self):
        a = self.runtime.converse(modelId=self.profile_arn, messages=user("same question"))
        b = self.runtime.converse(modelId=self.profile_arn, messages=user("same question"))
        self.assertEqual(a["output"], b["output"])
        short = self.runtime.converse(modelId=self.profile_arn, messages=user("same question"),
                                      inferenceConfig={"maxTokens": 3})
        self.assertEqual(short["stopReason"], "max_tokens")
        self.assertLessEqual(short["usage"]["outputTokens"], 3)

    def test_converse_stream(self):
        response = self.runtime.converse_stream(modelId=self.profile_arn, messages=user("Stream me a story"))
        events = list(response["stream"])
        kinds = [next(iter(e)) for e in events]
        self.assertEqual(kinds[0], "messageStart")
        self.assertIn("contentBlockDelta", kinds)
        self.assertEqual(kinds[-2:], ["messageStop", "metadata"])
        text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
        self.assertIn("imulated", text)
        usage = events[-1]["metadata"]["usage"]
        record = self.record_of(response["ResponseMetadata"]["RequestId"])
        self.assert_priced_and_tagged(record, usage["inputTokens"], usage["outputTokens"], "ConverseStream")

    def test_invoke_model(self):
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
                "messages": [{"role": "user", "content": "Summarise the plan"}]}
        response = self.runtime.invoke_model(modelId=self.profile_arn, body=json.dumps(body))
        reply = json.loads(response["body"].read())
        self.assertEqual(reply["type"], "message")
        headers = response["ResponseMetadata"]["HTTPHeaders"]
        self.assertEqual(int(headers["x-amzn-bedrock-input-token-count"]), reply["usage"]["input_tokens"])
        self.assertEqual(int(headers["x-amzn-bedrock-output-token-count"]), reply["usage"]["output_tokens"])
        record = self.record_of(response["ResponseMetadata"]["RequestId"])
        self.assert_priced_and_tagged(record, reply["usage"]["input_tokens"], reply["usage"]["output_tokens"],
                                      "InvokeModel")

    def test_invoke_model_with_response_stream(self):
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
                "messages": [{"role": "user", "content": "Stream the plan"}]}
        response = self.runtime.invoke_model_with_response_stream(modelId=self.profile_arn, body=json.dumps(body))
        chunks = [json.loads(e["chunk"]["bytes"]) for e in response["body"]]
        self.assertEqual(chunks[0]["type"], "message_start")
        self.assertEqual(chunks[-1]["type"], "message_stop")
        metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
        record = self.record_of(response["ResponseMetadata"]["RequestId"])
        self.assert_priced_and_tagged(record, metrics["inputTokenCount"], metrics["outputTokenCount"],
                                      "InvokeModelWithResponseStream")

    def test_count_tokens_matches_converse_and_is_not_billed(self):
        messages = user("How many tokens is this sentence?")
        before = len(self.usage_records())
        counted = self.runtime.count_tokens(modelId=HAIKU, input={"converse": {"messages": messages}})
        self.assertEqual(len(self.usage_records()), before)
        conversed = self.runtime.converse(modelId=self.profile_arn, messages=messages)
        self.assertEqual(counted["inputTokens"], conversed["usage"]["inputTokens"])

    def test_refusals_before_the_model_are_not_recorded(self):
        before = len(self.usage_records())
        cases = [
            (dict(modelId=f"arn:aws:bedrock:{REGION}:123456789012:application-inference-profile/abcdefabcdef",
                  messages=user("x")), "ResourceNotFoundException"),
            (dict(modelId="support-bot-prod", messages=user("x")), "ResourceNotFoundException"),
            (dict(modelId=self.profile_arn, messages=[]), "ValidationException"),
            (dict(modelId=self.profile_arn, messages=user("[[tollgate:throttle]]")), "ThrottlingException"),
        ]
        for kwargs, code in cases:
            with self.subTest(code=code, model=kwargs["modelId"]):
                with self.assertRaises(ClientError) as caught:
                    self.runtime.converse(**kwargs)
                self.assertEqual(caught.exception.response["Error"]["Code"], code)
                self.assertTrue(caught.exception.response["Error"]["Message"])
        eu = boto3.session.Session().client("bedrock-runtime", endpoint_url=self.gateway.endpoint,
                                            region_name="sa-east-1", aws_access_key_id=ACCESS_KEY,
                                            aws_secret_access_key=SECRET_KEY,
                                            config=Config(retries={"max_attempts": 1}))
        with self.assertRaises(ClientError) as caught:
            eu.converse(modelId=HAIKU, messages=user("x"))
        self.assertEqual(caught.exception.response["Error"]["Code"], "ValidationException")
        self.assertIn("not offered in region sa-east-1", caught.exception.response["Error"]["Message"])
        self.assertEqual(len(self.usage_records()), before)

    def test_a_cut_stream_is_recorded_as_cut(self):
        response = self.runtime.converse_stream(modelId=self.profile_arn,
                                                messages=user("tell me more [[tollgate:cut]]"))
        seen = []
        with self.assertRaises(EventStreamError) as caught:
            for event in response["stream"]:
                seen.append(event)
        self.assertEqual(caught.exception.response["Error"]["Code"], "modelStreamErrorException")
        record = self.record_of(response["ResponseMetadata"]["RequestId"])
        self.assertEqual(record["status"], "upstream_cut")
        deltas = [e for e in seen if "contentBlockDelta" in e]
        self.assertGreater(len(deltas), 0)
        self.assertGreater(record["outputTokens"], 0)

    def test_a_client_that_goes_away_is_recorded_as_cancelled(self):
        response = self.runtime.converse_stream(modelId=self.profile_arn,
                                                messages=user("a long answer please [[tollgate:slow=50]]"),
                                                inferenceConfig={"maxTokens": 400})
        stream = response["stream"]
        first = next(iter(stream))
        self.assertIn("messageStart", first)
        stream.close()  # hang up mid-stream
        request_id = response["ResponseMetadata"]["RequestId"]
        import time
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            matches = [r for r in self.usage_records() if r["requestId"] == request_id]
            if matches:
                break
            time.sleep(0.2)
        self.assertEqual(len(matches), 1)
        self.assertEqual(matches[0]["status"], "client_cancelled")


if __name__ == "__main__":
    unittest.main(verbosity=2)
