#!/usr/bin/env python3
"""End-to-end: access policies and governance.require_application_profiles, with boto3, against the
real tollgate binary (doc/governance.md, "Access policies").

Three principals of one account: `admin` has no policy (everything allowed); `blocked` may not invoke
application profiles nor call ce:GetCostAndUsage; `bare` may invoke Anthropic foundation models by their
ARN — an explicit allow, which lets it past require_application_profiles. Refused calls must reach no
model and leave no usage record; `tollgate bypass-report` must list the bare-model call under its caller.

Run: TOLLGATE_BINARY=build/tollgate python3 test/e2e/test_access_policy_boto3.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from e2e_env import isolate_this_process  # noqa: E402
from gateway import ACCOUNT_ID, Gateway, binary_path  # noqa: E402

isolate_this_process()

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

REGION = "us-east-1"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
HAIKU_ARN = f"arn:aws:bedrock:{REGION}::foundation-model/{HAIKU}"
KEYS = {"admin": "AKIDADMIN", "blocked": "AKIDBLOCKED", "bare": "AKIDBARE"}
SECRET = "e2e-secret"
CONFIG = f"""\
governance:
  require_application_profiles: true
principals:
  - access_key_id: {KEYS["admin"]}
    secret_access_key: {SECRET}
    account_id: "{ACCOUNT_ID}"
    name: admin
  - access_key_id: {KEYS["blocked"]}
    secret_access_key: {SECRET}
    account_id: "{ACCOUNT_ID}"
    name: blocked
    policy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Action: ["bedrock:*", "ce:*"]
          Resource: "*"
        - Sid: NoProfileInvocations
          Effect: Deny
          Action: bedrock:InvokeModel*
          Resource: "arn:aws:bedrock:*:{ACCOUNT_ID}:application-inference-profile/*"
        - Sid: NoCostReports
          Effect: Deny
          Action: ce:GetCostAndUsage
          Resource: "*"
  - access_key_id: {KEYS["bare"]}
    secret_access_key: {SECRET}
    account_id: "{ACCOUNT_ID}"
    name: bare
    policy: '{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "bedrock:InvokeModel",
      "Resource": "arn:aws:bedrock:*::foundation-model/anthropic.*"}}]}}'
"""


def client(service: str, endpoint: str, who: str):
    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id=KEYS[who], aws_secret_access_key=SECRET,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def user_arn(who: str) -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:user/{who}"


def messages(text: str) -> list[dict]:
    return [{"role": "user", "content": [{"text": text}]}]


class AccessPolicyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gateway = Gateway(config=CONFIG).start()
        cls.profile_arn = client("bedrock", cls.gateway.endpoint, "admin").create_inference_profile(
            inferenceProfileName="support-bot", modelSource={"copyFrom": HAIKU_ARN},
            tags=[{"key": "team", "value": "growth"}])["inferenceProfileArn"]

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop_and_close()

    def run_cli(self, *args: str) -> str:
        out = subprocess.run([binary_path(), *args, "--data", str(self.gateway.data_dir)], capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def usage_records(self) -> list[dict]:
        return json.loads(self.run_cli("usage", "--format", "json", "--limit", "1000"))["usageRecords"]

    def refused(self, call, **kwargs) -> str:
        with self.assertRaises(ClientError) as caught:
            call(**kwargs)
        self.assertEqual(caught.exception.response["Error"]["Code"], "AccessDeniedException")
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        return caught.exception.response["Error"]["Message"]

    def test_a_denied_principal_gets_access_denied_and_no_usage_is_recorded(self):
        runtime = client("bedrock-runtime", self.gateway.endpoint, "blocked")
        message = self.refused(runtime.converse, modelId=self.profile_arn, messages=messages("hello"))
        self.assertEqual(message, f"User: {user_arn('blocked')} is not authorized to perform: bedrock:InvokeModel "
                                  f"on resource: {self.profile_arn} with an explicit deny in an identity-based policy")
        self.refused(runtime.converse_stream, modelId=self.profile_arn, messages=messages("hello"))
        self.assertEqual([r for r in self.usage_records() if r["principal"] == user_arn("blocked")],
                         [], "a refused call reaches no model and records nothing")
        # What the policy allows still works.
        listed = client("bedrock", self.gateway.endpoint, "blocked").list_inference_profiles(typeEquals="APPLICATION")
        self.assertIn(self.profile_arn, [p["inferenceProfileArn"] for p in listed["inferenceProfileSummaries"]])

    def test_a_cost_explorer_call_the_policy_denies(self):
        ce = client("ce", self.gateway.endpoint, "blocked")
        message = self.refused(ce.get_cost_and_usage, TimePeriod={"Start": "2026-11-01", "End": "2026-12-01"},
                               Granularity="MONTHLY", Metrics=["UnblendedCost"])
        self.assertIn(f"User: {user_arn('blocked')} is not authorized to perform: ce:GetCostAndUsage", message)
        self.assertIn("with an explicit deny in an identity-based policy", message)
        ce.list_cost_allocation_tags()  # ce:* is allowed otherwise
        message = self.refused(client("ce", self.gateway.endpoint, "bare").list_cost_allocation_tags)
        self.assertIn("because no identity-based policy allows the ce:ListCostAllocationTags action", message)

    def test_a_bare_model_is_refused_naming_the_profiles_the_caller_may_use(self):
        runtime = client("bedrock-runtime", self.gateway.endpoint, "admin")
        before = len(self.usage_records())
        message = self.refused(runtime.converse, modelId=HAIKU, messages=messages("hello"))
        self.assertIn(f"User: {user_arn('admin')} is not authorized to perform: bedrock:InvokeModel on resource: "
                      f"{HAIKU_ARN} because this gateway requires runtime calls to go through an application "
                      "inference profile", message)
        self.assertIn(f"{self.profile_arn} (support-bot)", message)
        self.refused(runtime.converse, modelId=f"us.{HAIKU}", messages=messages("hello"))
        self.assertEqual(len(self.usage_records()), before)
        runtime.converse(modelId=self.profile_arn, messages=messages("hello"))
        self.assertEqual(len(self.usage_records()), before + 1)

    def test_an_explicitly_allowed_bare_model_gets_through_and_the_bypass_report_lists_it(self):
        runtime = client("bedrock-runtime", self.gateway.endpoint, "bare")
        answer = runtime.converse(modelId=HAIKU_ARN, messages=messages("hello"))
        self.assertGreater(answer["usage"]["outputTokens"], 0)
        # Its policy allows no application profile: invoking one is refused by the policy itself.
        message = self.refused(runtime.converse, modelId=self.profile_arn, messages=messages("hello"))
        self.assertIn("because no identity-based policy allows the bedrock:InvokeModel action", message)

        report = json.loads(self.run_cli("bypass-report", "--since", "1h", "--format", "json"))
        rows = {row["principal"]: row for row in report["principals"]}
        self.assertIn(user_arn("bare"), rows, report)
        row = rows[user_arn("bare")]
        self.assertEqual(row["calls"], 1)
        self.assertEqual(row["inputTokens"], answer["usage"]["inputTokens"])
        self.assertEqual(row["outputTokens"], answer["usage"]["outputTokens"])
        self.assertEqual(row["resources"], [{"resourceArn": HAIKU_ARN, "kind": "foundation-model", "calls": 1}])
        self.assertNotIn(user_arn("admin"), rows, "calls through an application profile are no bypass")
        table = self.run_cli("bypass-report")
        self.assertIn(user_arn("bare"), table)
        self.assertIn(f"foundation-model/{HAIKU} (1)", table)


if __name__ == "__main__":
    unittest.main(verbosity=2)
