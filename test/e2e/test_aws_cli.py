#!/usr/bin/env python3
"""End-to-end: the AWS CLI (`aws` on PATH) against the real tollgate binary.

Every command runs as a subprocess with --endpoint-url, the test credentials in
the environment and empty config/credentials files, so the user's AWS
configuration cannot interfere. Each CLI call costs about half a second of
Python start-up, so the flows are batched into a few tests.

Run: TOLLGATE_BINARY=build/tollgate python3 test/e2e/test_aws_cli.py
Stdlib only.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from e2e_env import isolated_aws_env  # noqa: E402
from gateway import ACCOUNT_ID, Gateway  # noqa: E402

REGION = "us-east-1"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
HAIKU_ARN = f"arn:aws:bedrock:{REGION}::foundation-model/{HAIKU}"
APP_ARN = re.compile(rf"^arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:application-inference-profile/([a-z0-9]{{12}})$")

# The acceptance line, verbatim (PORT is the gateway's port).
ACCEPTANCE = (
    "aws bedrock create-inference-profile --endpoint-url http://127.0.0.1:PORT --region us-east-1 "
    "--inference-profile-name support-bot-prod --model-source "
    "copyFrom=arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0 "
    "--tags key=team,value=growth"
)

# One line per HTTP request in `aws --debug` output (urllib3's connection-pool log).
LIST_REQUEST = re.compile(r'"GET /inference-profiles\?[^"]*" 200 ')


class CliError(AssertionError):
    pass


def tag_dict(tags):
    return {t["key"]: t["value"] for t in tags}


def require_aws_cli():
    if shutil.which("aws") is None:
        raise RuntimeError("the AWS CLI (`aws`) is not on PATH; the e2e tests need it "
                           "(scripts/install-deps.sh --with-test-tools checks for it)")


class AwsCliTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_aws_cli()
        cls.env = isolated_aws_env(REGION)

    def run_aws(self, args: list[str], endpoint: str, expect_ok: bool = True) -> subprocess.CompletedProcess:
        if "--endpoint-url" not in args:
            args = [*args, "--endpoint-url", endpoint]
        result = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=60)
        if expect_ok and result.returncode != 0:
            raise CliError(f"{shlex.join(args)} exited {result.returncode}\nstdout: {result.stdout}\n"
                           f"stderr: {result.stderr}")
        if not expect_ok and result.returncode == 0:
            raise CliError(f"{shlex.join(args)} succeeded but should have failed\nstdout: {result.stdout}")
        return result

    def bedrock(self, endpoint: str, *args: str) -> dict:
        """`aws bedrock ARGS --output json`, parsed; an empty output gives {}."""
        out = self.run_aws(["aws", "bedrock", *args, "--output", "json"], endpoint).stdout
        return json.loads(out) if out.strip() else {}

    def bedrock_fails(self, endpoint: str, *args: str) -> str:
        """Runs a command that must fail; returns its stderr."""
        return self.run_aws(["aws", "bedrock", *args, "--output", "json"], endpoint, expect_ok=False).stderr


class AwsCliTest(AwsCliTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.gateway = Gateway().start()
        cls.endpoint = cls.gateway.endpoint

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop_and_close()

    def test_acceptance_line_and_lifecycle(self):
        args = shlex.split(ACCEPTANCE.replace("PORT", str(self.gateway.port)))
        created = json.loads(self.run_aws(args, self.endpoint).stdout)
        self.assertEqual(created["status"], "ACTIVE")
        arn = created["inferenceProfileArn"]
        match = APP_ARN.match(arn)
        self.assertIsNotNone(match, arn)
        profile_id = match.group(1)

        by_arn = self.bedrock(self.endpoint, "get-inference-profile", "--inference-profile-identifier", arn)
        by_id = self.bedrock(self.endpoint, "get-inference-profile", "--inference-profile-identifier", profile_id)
        self.assertEqual(by_arn, by_id)
        self.assertEqual(by_arn["inferenceProfileName"], "support-bot-prod")
        self.assertEqual(by_arn["inferenceProfileArn"], arn)
        self.assertEqual(by_arn["inferenceProfileId"], profile_id)
        self.assertEqual(by_arn["models"], [{"modelArn": HAIKU_ARN}])
        self.assertEqual(by_arn["type"], "APPLICATION")
        self.assertEqual(by_arn["status"], "ACTIVE")
        self.assertIn("createdAt", by_arn)

        applications = self.bedrock(self.endpoint, "list-inference-profiles", "--type-equals", "APPLICATION")
        listed = {p["inferenceProfileArn"]: p for p in applications["inferenceProfileSummaries"]}
        self.assertIn(arn, listed)
        self.assertEqual(listed[arn]["inferenceProfileName"], "support-bot-prod")
        self.assertEqual({p["type"] for p in listed.values()}, {"APPLICATION"})
        systems = self.bedrock(self.endpoint, "list-inference-profiles", "--type-equals", "SYSTEM_DEFINED")
        system_ids = [p["inferenceProfileId"] for p in systems["inferenceProfileSummaries"]]
        self.assertIn(f"us.{HAIKU}", system_ids)
        self.assertNotIn(profile_id, system_ids)
        self.assertEqual({p["type"] for p in systems["inferenceProfileSummaries"]}, {"SYSTEM_DEFINED"})

        self.assertEqual(self.bedrock(self.endpoint, "list-tags-for-resource", "--resource-arn", arn),
                         {"tags": [{"key": "team", "value": "growth"}]})
        self.bedrock(self.endpoint, "tag-resource", "--resource-arn", arn,
                     "--tags", "key=env,value=prod", "key=owner,value=alice")
        tags = self.bedrock(self.endpoint, "list-tags-for-resource", "--resource-arn", arn)["tags"]
        self.assertEqual(tag_dict(tags), {"team": "growth", "env": "prod", "owner": "alice"})
        self.bedrock(self.endpoint, "untag-resource", "--resource-arn", arn, "--tag-keys", "team", "owner")
        tags = self.bedrock(self.endpoint, "list-tags-for-resource", "--resource-arn", arn)["tags"]
        self.assertEqual(tag_dict(tags), {"env": "prod"})

        stderr = self.bedrock_fails(self.endpoint, "create-inference-profile", "--inference-profile-name",
                                    "support-bot-prod", "--model-source", f"copyFrom={HAIKU_ARN}")
        self.assertIn("(ConflictException)", stderr)

        self.bedrock(self.endpoint, "delete-inference-profile", "--inference-profile-identifier", arn)
        stderr = self.bedrock_fails(self.endpoint, "get-inference-profile", "--inference-profile-identifier", arn)
        self.assertIn("(ResourceNotFoundException)", stderr)
        applications = self.bedrock(self.endpoint, "list-inference-profiles", "--type-equals", "APPLICATION")
        self.assertNotIn(arn, [p["inferenceProfileArn"] for p in applications["inferenceProfileSummaries"]])

    def count_list_requests(self, *args: str) -> tuple[dict, int]:
        """Runs list-inference-profiles with --debug; returns the output and the number of HTTP requests."""
        result = self.run_aws(["aws", "bedrock", "list-inference-profiles", *args, "--output", "json", "--debug"],
                              self.endpoint)
        return json.loads(result.stdout), len(LIST_REQUEST.findall(result.stderr))

    def test_pagination(self):
        created = set()
        for i in range(5):
            out = self.bedrock(self.endpoint, "create-inference-profile", "--inference-profile-name", f"paged-{i}",
                               "--model-source", f"copyFrom={HAIKU_ARN}")
            created.add(out["inferenceProfileArn"])
        everything = self.bedrock(self.endpoint, "list-inference-profiles", "--type-equals", "APPLICATION",
                                  "--page-size", "1000")
        all_arns = [p["inferenceProfileArn"] for p in everything["inferenceProfileSummaries"]]
        self.assertTrue(created <= set(all_arns))

        # --page-size 2: the CLI follows nextToken through every page itself.
        paged, requests = self.count_list_requests("--type-equals", "APPLICATION", "--page-size", "2")
        arns = [p["inferenceProfileArn"] for p in paged["inferenceProfileSummaries"]]
        self.assertGreaterEqual(requests, 3, "at least 5 profiles in pages of 2")
        self.assertEqual(len(arns), len(set(arns)), "a profile was listed twice")
        self.assertEqual(sorted(arns), sorted(all_arns))

        # --max-items 2 --page-size 3: the CLI's NextToken (which cuts pages mid-way) resumes exactly.
        seen, token, calls = [], None, 0
        while True:
            args = ["list-inference-profiles", "--type-equals", "APPLICATION", "--max-items", "2", "--page-size", "3"]
            if token:
                args += ["--starting-token", token]
            out = self.bedrock(self.endpoint, *args)
            calls += 1
            page = [p["inferenceProfileArn"] for p in out["inferenceProfileSummaries"]]
            self.assertLessEqual(len(page), 2)
            seen += page
            token = out.get("NextToken")
            if not token:
                break
            self.assertLess(calls, 10, "pagination does not end")
        self.assertGreaterEqual(calls, 3)
        self.assertEqual(len(seen), len(set(seen)), "a profile was listed twice")
        self.assertEqual(sorted(seen), sorted(all_arns))

        # System-defined profiles, in pages of 20, and without --type-equals (AWS lists SYSTEM_DEFINED only).
        systems, requests = self.count_list_requests("--type-equals", "SYSTEM_DEFINED", "--page-size", "20")
        ids = [p["inferenceProfileId"] for p in systems["inferenceProfileSummaries"]]
        self.assertGreaterEqual(requests, 2)
        self.assertEqual(len(ids), len(set(ids)))
        self.assertGreater(len(ids), 20)
        untyped = self.bedrock(self.endpoint, "list-inference-profiles", "--page-size", "1000")
        self.assertEqual([p["inferenceProfileId"] for p in untyped["inferenceProfileSummaries"]], ids)

        for arn in created:
            self.bedrock(self.endpoint, "delete-inference-profile", "--inference-profile-identifier", arn)

    def test_foundation_models(self):
        anthropic = self.bedrock(self.endpoint, "list-foundation-models", "--by-provider", "Anthropic")
        ids = [m["modelId"] for m in anthropic["modelSummaries"]]
        self.assertIn(HAIKU, ids)
        self.assertEqual({m["providerName"] for m in anthropic["modelSummaries"]}, {"Anthropic"})
        text = self.bedrock(self.endpoint, "list-foundation-models", "--by-output-modality", "EMBEDDING")
        self.assertTrue(text["modelSummaries"])
        self.assertTrue(all("EMBEDDING" in m["outputModalities"] for m in text["modelSummaries"]))
        self.assertNotIn(HAIKU, [m["modelId"] for m in text["modelSummaries"]])

        details = self.bedrock(self.endpoint, "get-foundation-model", "--model-identifier", HAIKU)["modelDetails"]
        self.assertEqual(details["modelId"], HAIKU)
        self.assertEqual(details["modelArn"], HAIKU_ARN)
        self.assertEqual(details["providerName"], "Anthropic")
        stderr = self.bedrock_fails(self.endpoint, "get-foundation-model", "--model-identifier", "acme.nothing-v1:0")
        self.assertIn("(ResourceNotFoundException)", stderr)


class AwsCliRestartTest(AwsCliTestCase):
    """Profiles and tags written through the CLI survive a restart on the same data directory."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data_dir = tempfile.mkdtemp(prefix="tollgate-e2e-restart-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.data_dir, ignore_errors=True)

    def test_state_survives_restart(self):
        with Gateway(data_dir=self.data_dir) as first:
            arn = self.bedrock(first.endpoint, "create-inference-profile", "--inference-profile-name", "survivor",
                               "--description", "kept across restarts", "--model-source", f"copyFrom={HAIKU_ARN}",
                               "--tags", "key=team,value=growth", "key=env,value=prod")["inferenceProfileArn"]
            gone = self.bedrock(first.endpoint, "create-inference-profile", "--inference-profile-name", "deleted-one",
                                "--model-source", f"copyFrom={HAIKU_ARN}")["inferenceProfileArn"]
            self.bedrock(first.endpoint, "untag-resource", "--resource-arn", arn, "--tag-keys", "env")
            self.bedrock(first.endpoint, "delete-inference-profile", "--inference-profile-identifier", gone)
            before = self.bedrock(first.endpoint, "get-inference-profile", "--inference-profile-identifier", arn)
            self.assertEqual(first.stop(), 0, "tollgate should exit 0 on SIGTERM\n" + first.logs())

        with Gateway(data_dir=self.data_dir) as second:
            after = self.bedrock(second.endpoint, "get-inference-profile", "--inference-profile-identifier", arn)
            self.assertEqual(after, before)
            self.assertEqual(after["description"], "kept across restarts")
            tags = self.bedrock(second.endpoint, "list-tags-for-resource", "--resource-arn", arn)["tags"]
            self.assertEqual(tag_dict(tags), {"team": "growth"})
            listed = self.bedrock(second.endpoint, "list-inference-profiles", "--type-equals", "APPLICATION")
            self.assertEqual([p["inferenceProfileArn"] for p in listed["inferenceProfileSummaries"]], [arn])
            stderr = self.bedrock_fails(second.endpoint, "create-inference-profile", "--inference-profile-name",
                                        "survivor", "--model-source", f"copyFrom={HAIKU_ARN}")
            self.assertIn("(ConflictException)", stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
