#!/usr/bin/env python3
"""End-to-end: `aws bedrock-runtime converse` (the AWS CLI shipped on this
machine) through an application inference profile, and the usage record it
leaves, read back with `tollgate usage`.

Run: TOLLGATE_BINARY=build/tollgate python3 test/e2e/test_runtime_cli.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from e2e_env import isolated_aws_env  # noqa: E402
from gateway import Gateway, binary_path  # noqa: E402

HAIKU_ARN = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"


class RuntimeWithTheCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gateway = Gateway().start()
        cls.env = isolated_aws_env()

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop_and_close()

    def aws(self, *args: str) -> dict:
        out = subprocess.run(["aws", *args, "--endpoint-url", self.gateway.endpoint, "--region", "us-east-1",
                              "--output", "json"], capture_output=True, text=True, env=self.env, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout)

    def test_converse_through_a_profile_is_recorded(self):
        arn = self.aws("bedrock", "create-inference-profile", "--inference-profile-name", "cli-bot",
                       "--model-source", f"copyFrom={HAIKU_ARN}", "--tags", "key=team,value=growth")["inferenceProfileArn"]
        answer = self.aws("bedrock-runtime", "converse", "--model-id", arn,
                          "--messages", '[{"role":"user","content":[{"text":"Hello from the CLI"}]}]')
        self.assertIn("imulated", answer["output"]["message"]["content"][0]["text"])
        usage = answer["usage"]
        listed = subprocess.run([binary_path(), "usage", "--data", str(self.gateway.data_dir), "--format", "json"],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        records = json.loads(listed.stdout)["usageRecords"]
        self.assertEqual(len(records), 1)
        self.assertEqual(records[0]["profileArn"], arn)
        self.assertEqual((records[0]["inputTokens"], records[0]["outputTokens"]),
                         (usage["inputTokens"], usage["outputTokens"]))
        self.assertEqual(records[0]["tags"], [{"key": "team", "value": "growth"}])
        table = subprocess.run([binary_path(), "usage", "--data", str(self.gateway.data_dir)],
                               capture_output=True, text=True, timeout=30)
        self.assertIn("Converse", table.stdout)
        self.assertIn("1 record(s)", table.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
