#!/usr/bin/env python3
"""End-to-end: `tollgate apply` and `tollgate validate` (doc/governance.md, "CloudFormation" and
"Validating in CI") against the real binary, checked with boto3.

A typical AWS::Bedrock::ApplicationInferenceProfile template — parameters for the name, description,
source ARN, environment and team; several tags, keys with colons among them; outputs with exports — is
applied through a gateway that enforces the published tag policy. A second apply changes nothing, a
changed tag updates the profile in place, a new name replaces it, a removed resource is deleted;
`validate` reports a missing required tag at its line, and a broken indentation at its line.

Run: TOLLGATE_BINARY=build/tollgate python3 test/e2e/test_stacks_cli.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from e2e_env import isolate_this_process, isolated_aws_env  # noqa: E402
from gateway import ACCOUNT_ID, Gateway, binary_path  # noqa: E402

isolate_this_process()

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

REGION = "us-east-1"
HAIKU_ARN = f"arn:aws:bedrock:{REGION}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
SONNET_ARN = f"arn:aws:bedrock:{REGION}::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0"
POLICY = {"requiredTags": ["application", "environment", "owner-team", "cost-center", "workload-type"],
          "allowedEnvironments": ["dev", "staging", "prod"], "namingRule": "lowercase-with-hyphens"}

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Description: Application inference profiles of the support bot
Parameters:
  ProfileName:
    Type: String
    Description: Name of the profile
    AllowedPattern: "[a-z0-9-]+"
    MaxLength: 64
  ProfileDescription:
    Type: String
    Default: Support bot answers
  SourceModelArn:
    Type: String
    Default: {haiku}
  Environment:
    Type: String
    AllowedValues: [dev, staging, prod]
    Default: prod
  Team:
    Type: String
    MinLength: 2
Resources:
  SupportBotProfile:
    Type: AWS::Bedrock::ApplicationInferenceProfile
    Properties:
      InferenceProfileName: !Ref ProfileName
      Description: !Ref ProfileDescription
      ModelSource:
        CopyFrom: !Ref SourceModelArn
      Tags:
        - Key: application
          Value: support-bot
        - Key: environment
          Value: !Ref Environment
        - Key: owner-team
          Value: !Ref Team
        - Key: cost-center
          Value: cc-1234
        - Key: workload-type
          Value: chat
        - Key: team:cost-center
          Value: !Sub "${{Team}}-${{Environment}}"
  AuditLogs:
    Type: AWS::S3::Bucket
Outputs:
  ProfileArn:
    Description: Invoke this ARN
    Value: !GetAtt SupportBotProfile.InferenceProfileArn
    Export:
      Name: !Sub "${{AWS::StackName}}-ProfileArn"
  ProfileId:
    Value:
      Fn::GetAtt: [SupportBotProfile, InferenceProfileId]
    Export:
      Name:
        Fn::Join: ["-", [!Ref "AWS::StackName", ProfileId]]
""".format(haiku=HAIKU_ARN)


# The default principal (no access policy), and a deployer that may do everything but delete profiles.
CONFIG = """\
tag_policy: {policy}
principals:
  - access_key_id: test
    secret_access_key: test
    account_id: "%s"
  - access_key_id: AKIDDEPLOYER
    secret_access_key: deployer-secret
    account_id: "%s"
    name: deployer
    policy:
      Statement:
        - {{Effect: Allow, Action: "bedrock:*", Resource: "*"}}
        - {{Effect: Deny, Action: "bedrock:DeleteInferenceProfile", Resource: "*"}}
""" % (ACCOUNT_ID, ACCOUNT_ID)


def bedrock(endpoint: str):
    return boto3.session.Session().client("bedrock", endpoint_url=endpoint, region_name=REGION,
                                          config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def tags_of(client, arn: str) -> dict[str, str]:
    return {t["key"]: t["value"] for t in client.list_tags_for_resource(resourceARN=arn)["tags"]}


class StacksTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.TemporaryDirectory()
        cls.dir = Path(cls.work.name)
        cls.policy = cls.dir / "tag-policy.json"
        cls.policy.write_text(json.dumps(POLICY))
        cls.gateway = Gateway(config=CONFIG.format(policy=cls.policy)).start()
        cls.client = bedrock(cls.gateway.endpoint)

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop_and_close()
        cls.work.cleanup()

    def write(self, name: str, text: str) -> Path:
        path = self.dir / name
        path.write_text(text)
        return path

    def tollgate(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([binary_path(), *args], capture_output=True, text=True, timeout=60,
                              env=isolated_aws_env(REGION))

    def apply(self, template: Path, *args: str, stack: str = "support-bot") -> dict:
        done = self.tollgate("apply", str(template), "--stack", stack, "--endpoint-url", self.gateway.endpoint,
                             "--format", "json", *args)
        self.assertEqual(done.returncode, 0, done.stderr)
        return json.loads(done.stdout)

    def application_profiles(self) -> dict[str, str]:
        listed = self.client.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]
        return {p["inferenceProfileName"]: p["inferenceProfileArn"] for p in listed}

    @staticmethod
    def actions(result: dict) -> dict[str, str]:
        return {c["LogicalResourceId"]: c["Action"] for c in result["Changes"]}

    def test_apply_creates_then_changes_nothing_then_updates_in_place_replaces_and_deletes(self):
        template = self.write("support-bot.yaml", TEMPLATE)
        params = ["--param", "ProfileName=support-bot-prod", "--param", "Team=search"]

        planned = self.apply(template, *params, "--dry-run")
        self.assertTrue(planned["DryRun"])
        self.assertEqual(self.actions(planned), {"SupportBotProfile": "Create", "AuditLogs": "Skip"})
        self.assertNotIn("support-bot-prod", self.application_profiles(), "a dry run creates nothing")

        created = self.apply(template, *params)
        self.assertEqual(self.actions(created), {"SupportBotProfile": "Create", "AuditLogs": "Skip"})
        arn = self.application_profiles()["support-bot-prod"]
        profile = self.client.get_inference_profile(inferenceProfileIdentifier=arn)
        self.assertEqual(profile["description"], "Support bot answers")
        self.assertEqual([m["modelArn"] for m in profile["models"]], [HAIKU_ARN])
        self.assertEqual(tags_of(self.client, arn),
                         {"application": "support-bot", "environment": "prod", "owner-team": "search",
                          "cost-center": "cc-1234", "workload-type": "chat", "team:cost-center": "search-prod"})
        outputs = {o["OutputKey"]: o for o in created["Outputs"]}
        self.assertEqual(outputs["ProfileArn"]["OutputValue"], arn)
        self.assertEqual(outputs["ProfileArn"]["ExportName"], "support-bot-ProfileArn")
        self.assertEqual(outputs["ProfileId"]["OutputValue"], arn.rsplit("/", 1)[1])
        self.assertEqual(outputs["ProfileId"]["ExportName"], "support-bot-ProfileId")
        # The table form prints the outputs with their exports.
        table = self.tollgate("apply", str(template), "--stack", "support-bot", "--endpoint-url",
                              self.gateway.endpoint, *params)
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertIn(f"ProfileArn = {arn}  (export support-bot-ProfileArn)", table.stdout)
        self.assertIn("No changes: the stack matches the template.", table.stdout)

        again = self.apply(template, *params)
        self.assertEqual(self.actions(again), {"SupportBotProfile": "NoChange", "AuditLogs": "Skip"})
        self.assertEqual(self.client.get_inference_profile(inferenceProfileIdentifier=arn)["updatedAt"],
                         profile["updatedAt"], "an unchanged template writes nothing")

        edited = self.apply(template, *params, "--param", "Environment=staging")
        self.assertEqual(self.actions(edited)["SupportBotProfile"], "Update")
        self.assertIn("tag environment: 'prod' → 'staging'", edited["Changes"][0]["Details"] +
                      edited["Changes"][1]["Details"])
        self.assertEqual(self.application_profiles()["support-bot-prod"], arn, "updated in place")
        self.assertEqual(tags_of(self.client, arn)["environment"], "staging")
        self.assertEqual(tags_of(self.client, arn)["team:cost-center"], "search-staging")

        renamed = self.apply(template, "--param", "ProfileName=support-bot-v2", "--param", "Team=search",
                             "--param", "Environment=staging", "--param", f"SourceModelArn={SONNET_ARN}")
        self.assertEqual(self.actions(renamed)["SupportBotProfile"], "Replace")
        profiles = self.application_profiles()
        self.assertNotIn("support-bot-prod", profiles, "the replaced profile is deleted")
        new_arn = profiles["support-bot-v2"]
        self.assertNotEqual(new_arn, arn)
        self.assertEqual([m["modelArn"] for m in
                          self.client.get_inference_profile(inferenceProfileIdentifier=new_arn)["models"]],
                         [SONNET_ARN])

        # A resource removed from the template is deleted.
        removed = self.write("support-bot-other.yaml", TEMPLATE.replace("SupportBotProfile", "OtherProfile"))
        moved = self.apply(removed, "--param", "ProfileName=support-bot-other", "--param", "Team=search")
        self.assertEqual(self.actions(moved), {"OtherProfile": "Create", "SupportBotProfile": "Delete",
                                               "AuditLogs": "Skip"})
        profiles = self.application_profiles()
        self.assertNotIn("support-bot-v2", profiles)
        self.assertIn("support-bot-other", profiles)

    def test_a_template_the_tag_policy_refuses_changes_nothing(self):
        text = TEMPLATE.replace("        - Key: cost-center\n          Value: cc-1234\n", "")
        template = self.write("untagged.yaml", text)
        done = self.tollgate("apply", str(template), "--endpoint-url", self.gateway.endpoint,
                             "--param", "ProfileName=untagged-bot", "--param", "Team=search")
        self.assertEqual(done.returncode, 1, done.stdout)
        self.assertIn("ValidationException", done.stderr)
        self.assertIn("The tag 'cost-center' is required", done.stderr)
        self.assertIn("untagged.yaml:", done.stderr)
        self.assertNotIn("untagged-bot", self.application_profiles())

    def test_validate_reports_a_missing_required_tag_at_its_line(self):
        text = TEMPLATE.replace("        - Key: cost-center\n          Value: cc-1234\n", "")
        template = self.write("missing-tag.yaml", text)
        good = self.write("good.yaml", TEMPLATE)
        done = self.tollgate("validate", "--policy", str(self.policy), str(good), str(template),
                             "--param", "ProfileName=x-bot")
        self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
        tags_line = text.splitlines().index("      Tags:") + 1
        self.assertIn(f"{template}:{tags_line}:7: SupportBotProfile: The tag 'cost-center' is required "
                      "(requiredTags of tag-policy.json)", done.stdout)
        self.assertEqual([line for line in done.stdout.splitlines() if line.startswith(f"{good}:") and
                          ": note: " not in line], [], "the good template has no violation")
        self.assertIn("1 violation(s)", done.stderr)

        # A parameter value its constraints refuse is reported naming the parameter.
        done = self.tollgate("validate", "--policy", str(self.policy), str(good), "--param", "Environment=qa")
        self.assertEqual(done.returncode, 1, done.stdout)
        self.assertIn("Environment: 'qa' is not one of the AllowedValues: dev, staging, prod", done.stdout)
        # A tag value that breaks allowedEnvironments is reported at its tag's line.
        literal = self.write("literal.yaml", TEMPLATE.replace("Value: !Ref Environment", "Value: qa"))
        done = self.tollgate("validate", "--policy", str(self.policy), str(literal))
        self.assertEqual(done.returncode, 1, done.stdout)
        env_line = TEMPLATE.splitlines().index("        - Key: environment") + 1
        self.assertIn(f"{literal}:{env_line}:11: SupportBotProfile: The tag 'environment' must be one of dev, "
                      "staging, prod", done.stdout)

        done = self.tollgate("validate", "--policy", str(self.policy), str(good))
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("OK: 1 profile(s) checked", done.stdout)

    def test_validate_live_lists_the_profiles_a_stricter_policy_refuses_by_arn(self):
        arn = self.client.create_inference_profile(
            inferenceProfileName="live-check", modelSource={"copyFrom": HAIKU_ARN},
            tags=[{"key": k, "value": v} for k, v in {"application": "live", "environment": "dev", "owner-team": "a",
                                                       "cost-center": "cc-1", "workload-type": "batch"}.items()]
        )["inferenceProfileArn"]
        stricter = self.write("stricter.yaml", "requiredTags: [application, data-classification]\n")
        done = self.tollgate("validate", "--policy", str(stricter), "--live", "--endpoint-url", self.gateway.endpoint)
        self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
        self.assertIn(f"{arn}: The tag 'data-classification' is required", done.stdout)

    def test_broken_indentation_is_reported_at_its_line_and_nothing_is_applied(self):
        text = TEMPLATE.replace("      Tags:\n", "     Tags:\n")
        template = self.write("indent.yaml", text)
        line = text.splitlines().index("     Tags:") + 1
        done = self.tollgate("apply", str(template), "--endpoint-url", self.gateway.endpoint,
                             "--param", "ProfileName=indent-bot", "--param", "Team=search")
        self.assertEqual(done.returncode, 1)
        self.assertIn(f"indent.yaml:{line}:", done.stderr)
        self.assertIn("check the indentation", done.stderr)
        self.assertNotIn("indent-bot", self.application_profiles())
        done = self.tollgate("validate", "--policy", str(self.policy), str(template))
        self.assertEqual(done.returncode, 1)
        self.assertIn(f"indent.yaml:{line}:", done.stdout)

    def test_a_change_the_callers_policy_denies_is_refused_and_nothing_changes(self):
        template = self.write("deployer.yaml", TEMPLATE)
        params = ["--param", "ProfileName=deployer-bot", "--param", "Team=search"]
        deployer = {**isolated_aws_env(REGION), "AWS_ACCESS_KEY_ID": "AKIDDEPLOYER",
                    "AWS_SECRET_ACCESS_KEY": "deployer-secret"}

        def run(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([binary_path(), "apply", str(template), "--stack", "deployer", "--endpoint-url",
                                   self.gateway.endpoint, *params, *args],
                                  capture_output=True, text=True, timeout=60, env=deployer)

        created = run()
        self.assertEqual(created.returncode, 0, created.stderr)
        arn = self.application_profiles()["deployer-bot"]
        # A new name replaces the profile, which deletes the old one: the deployer may not.
        refused = run("--param", "ProfileName=deployer-bot-v2")
        self.assertEqual(refused.returncode, 1, refused.stdout)
        self.assertIn(f"AccessDeniedException: User: arn:aws:iam::{ACCOUNT_ID}:user/deployer is not authorized to "
                      f"perform: bedrock:DeleteInferenceProfile on resource: {arn} with an explicit deny",
                      refused.stderr)
        profiles = self.application_profiles()
        self.assertEqual(profiles.get("deployer-bot"), arn)
        self.assertNotIn("deployer-bot-v2", profiles, "nothing of a refused apply is made")

    def test_a_json_template_with_long_form_functions_and_bad_parameters(self):
        template = self.write("json-stack.json", json.dumps({
            "Parameters": {"Env": {"Type": "String", "AllowedValues": ["dev", "prod"]},
                           "Team": {"Type": "String", "AllowedPattern": "[a-z]+"}},
            "Resources": {"Profile": {
                "Type": "AWS::Bedrock::ApplicationInferenceProfile",
                "Properties": {
                    "InferenceProfileName": {"Fn::Join": ["-", [{"Ref": "Team"}, {"Ref": "Env"}, "json"]]},
                    "ModelSource": {"CopyFrom": HAIKU_ARN},
                    "Tags": [{"Key": k, "Value": v} for k, v in {
                        "application": "json-app", "environment": {"Ref": "Env"}, "owner-team": {"Ref": "Team"},
                        "cost-center": "cc-9", "workload-type": "batch"}.items()]}}},
            "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Profile", "InferenceProfileArn"]},
                                "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-arn"}}}},
        }, indent=2))
        done = self.tollgate("apply", str(template), "--endpoint-url", self.gateway.endpoint,
                             "--param", "Env=qa", "--param", "Team=Search", "--param", "Nope=1")
        self.assertEqual(done.returncode, 1)
        for problem in ("Env: 'qa' is not one of the AllowedValues: dev, prod",
                        "Team: 'Search' does not match AllowedPattern [a-z]+",
                        "--param Nope: the template has no parameter 'Nope'"):
            self.assertIn(problem, done.stderr)
        result = self.apply(template, "--param", "Env=dev", "--param", "Team=search", stack="json-stack")
        arn = self.application_profiles()["search-dev-json"]
        self.assertEqual(result["Outputs"], [{"OutputKey": "Arn", "OutputValue": arn, "ExportName": "json-stack-arn"}])
        # The same export name from another stack is refused.
        done = self.tollgate("apply", str(template), "--stack", "json-stack", "--endpoint-url", self.gateway.endpoint,
                             "--param", "Env=prod", "--param", "Team=search")
        self.assertEqual(done.returncode, 0, done.stderr)
        other = self.write("other-stack.json", template.read_text().replace("${AWS::StackName}-arn", "json-stack-arn")
                           .replace('"json"', '"other"'))
        done = self.tollgate("apply", str(other), "--stack", "other-stack", "--endpoint-url", self.gateway.endpoint,
                             "--param", "Env=dev", "--param", "Team=search")
        self.assertEqual(done.returncode, 1)
        self.assertIn("json-stack-arn", done.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
