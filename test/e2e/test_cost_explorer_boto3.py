#!/usr/bin/env python3
"""End-to-end: the Cost Explorer API (boto3's `ce` client) against the real tollgate binary.

Usage made through an application inference profile is reported per tag as soon as the call has
finished: before a tag key is activated under the empty value ("team$"), after it under its value, and a
backfill moves the earlier usage too. Every amount equals the ledger's records to the nano-dollar. Each
filter form, grouping, pagination and the AWS errors for bad input are covered.

Run: TOLLGATE_BINARY=build/tollgate python3 test/e2e/test_cost_explorer_boto3.py
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import os
import subprocess
import sys
import tempfile
import unittest
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from e2e_env import isolate_this_process  # noqa: E402
from gateway import ACCESS_KEY, SECRET_KEY, Gateway, binary_path  # noqa: E402

isolate_this_process()

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "123456789012"
# A caller's IAM ARN: arn:aws:iam::<account>:user/<name>; the embedded default principal is named "local".
DEFAULT_PRINCIPAL_ARN = f"arn:aws:iam::{ACCOUNT}:user/local"
HAIKU_ARN = f"arn:aws:bedrock:{REGION}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
CONFIG = """\
cost_explorer:
  page_size: 2
"""


def client(service: str, endpoint: str):
    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY, config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def nano(amount: str) -> int:
    """A Cost Explorer amount ("0.00003225") in integer nano-USD, exactly."""
    value = Decimal(amount) * 1_000_000_000
    assert value == value.to_integral_value(), f"{amount} is finer than a nano-dollar"
    return int(value)


def today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


class CostExplorer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gateway = Gateway(config=CONFIG).start()
        cls.bedrock = client("bedrock", cls.gateway.endpoint)
        cls.runtime = client("bedrock-runtime", cls.gateway.endpoint)
        cls.ce = client("ce", cls.gateway.endpoint)
        make = cls.bedrock.create_inference_profile
        cls.growth = make(inferenceProfileName="support-bot", modelSource={"copyFrom": HAIKU_ARN},
                          tags=[{"key": "team", "value": "growth"}, {"key": "cost-center", "value": "cc-42"}])
        cls.search = make(inferenceProfileName="search-bot", modelSource={"copyFrom": HAIKU_ARN},
                          tags=[{"key": "team", "value": "search"}])
        cls.untagged = make(inferenceProfileName="untagged-bot", modelSource={"copyFrom": HAIKU_ARN})
        # Before any activation: one call through each profile, and one with the bare model id.
        cls.before = [cls.converse(p["inferenceProfileArn"], "before activation")
                      for p in (cls.growth, cls.search, cls.untagged)]
        cls.converse(HAIKU_ARN, "a bare model call")
        cls.list_before = cls.ce.list_cost_allocation_tags()
        cls.update = cls.ce.update_cost_allocation_tags_status(CostAllocationTagsStatus=[
            {"TagKey": "team", "Status": "Active"}, {"TagKey": "never-seen", "Status": "Active"}])
        cls.after = [cls.converse(cls.growth["inferenceProfileArn"], "after activation, one"),
                     cls.converse(cls.growth["inferenceProfileArn"], "after activation, two")]
        cls.period = {"Start": today().isoformat(), "End": (today() + dt.timedelta(days=1)).isoformat()}

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop_and_close()

    @classmethod
    def converse(cls, model_id: str, text: str) -> str:
        response = cls.runtime.converse(modelId=model_id, messages=[{"role": "user", "content": [{"text": text}]}])
        return response["ResponseMetadata"]["RequestId"]

    def records(self) -> dict[str, dict]:
        out = subprocess.run([binary_path(), "usage", "--data", str(self.gateway.data_dir), "--format", "json",
                              "--limit", "1000"], check=True, capture_output=True, text=True)
        return {r["requestId"]: r for r in json.loads(out.stdout)["usageRecords"]}

    def cost_of(self, request_ids) -> int:
        records = self.records()
        return sum(records[i]["costNanoUsd"]["total"] for i in request_ids)

    def total(self, **kwargs) -> int:
        response = self.ce.get_cost_and_usage(TimePeriod=self.period, Granularity="DAILY",
                                              Metrics=["UnblendedCost"], **kwargs)
        return sum(nano(r["Total"]["UnblendedCost"]["Amount"]) for r in response["ResultsByTime"])

    def groups(self, group_by, operation=None, **kwargs) -> dict[tuple, int]:
        """Every page's groups, summed over the periods."""
        out: dict[tuple, int] = {}
        token = None
        while True:
            args = dict(TimePeriod=self.period, Granularity="DAILY", Metrics=["UnblendedCost", "UsageQuantity"],
                        GroupBy=group_by, **kwargs)
            if token:
                args["NextPageToken"] = token
            response = (operation or self.ce.get_cost_and_usage)(**args)
            for result in response["ResultsByTime"]:
                self.assertEqual(result["Total"], {})
                for group in result["Groups"]:
                    key = tuple(group["Keys"])
                    out[key] = out.get(key, 0) + nano(group["Metrics"]["UnblendedCost"]["Amount"])
            token = response.get("NextPageToken")
            if not token:
                return out

    def assert_error(self, code: str, call, *args, **kwargs) -> str:
        with self.assertRaises(ClientError) as caught:
            call(*args, **kwargs)
        self.assertEqual(caught.exception.response["Error"]["Code"], code)
        return caught.exception.response["Error"]["Message"]

    # ---- cost-allocation tags ----

    def test_every_profile_tag_key_is_listed_inactive_until_activated(self):
        tags = {t["TagKey"]: t for t in self.list_before["CostAllocationTags"]}
        self.assertEqual(set(tags), {"team", "cost-center"})
        for tag in tags.values():
            self.assertEqual((tag["Type"], tag["Status"]), ("UserDefined", "Inactive"))
            self.assertIn("LastUsedDate", tag)
        self.assertEqual([e["TagKey"] for e in self.update["Errors"]], ["never-seen"])
        self.assertEqual(self.update["Errors"][0]["Code"], "TagKeysNotFoundException")
        active = self.ce.list_cost_allocation_tags(Status="Active")["CostAllocationTags"]
        self.assertEqual([t["TagKey"] for t in active], ["team"])
        self.assertIn("LastUpdatedDate", active[0])
        page = self.ce.list_cost_allocation_tags(MaxResults=1)
        self.assertEqual(len(page["CostAllocationTags"]), 1)
        rest = self.ce.list_cost_allocation_tags(MaxResults=1, NextToken=page["NextToken"])
        self.assertNotEqual(rest["CostAllocationTags"][0]["TagKey"], page["CostAllocationTags"][0]["TagKey"])
        self.assertEqual(self.ce.list_cost_allocation_tags(TagKeys=["cost-center"])["CostAllocationTags"][0]["Status"],
                         "Inactive")
        self.assertEqual(self.ce.list_cost_allocation_tags(Type="AWSGenerated")["CostAllocationTags"], [])
        self.assert_error("ValidationException", self.ce.update_cost_allocation_tags_status,
                          CostAllocationTagsStatus=[{"TagKey": f"k{i}", "Status": "Active"} for i in range(21)])

    def test_usage_before_activation_groups_under_the_empty_value_and_after_under_its_value(self):
        groups = self.groups([{"Type": "TAG", "Key": "team"}])
        # The gateway was started a moment ago, so all of this is one day (a run across midnight UTC would
        # split it over two periods, which the sums above absorb).
        before_and_untagged = self.total() - self.cost_of(self.after)
        self.assertEqual(groups[("team$growth",)], self.cost_of(self.after))
        self.assertEqual(groups[("team$",)], before_and_untagged)
        self.assertNotIn(("team$search",), groups, "search's only call came before the activation")
        self.assertEqual(sum(groups.values()), self.total())
        # cost-center was never activated: everything under its empty value.
        self.assertEqual(self.groups([{"Type": "TAG", "Key": "cost-center"}]), {("cost-center$",): self.total()})

    def test_zz_backfill_reapplies_the_activation_to_earlier_usage_once_a_day(self):
        first_of_month = today().replace(day=1)
        response = self.ce.start_cost_allocation_tag_backfill(BackfillFrom=f"{first_of_month}T00:00:00Z")
        self.assertEqual(response["BackfillRequest"]["BackfillStatus"], "SUCCEEDED")
        groups = self.groups([{"Type": "TAG", "Key": "team"}])
        self.assertEqual(groups[("team$growth",)], self.cost_of([self.before[0]] + self.after))
        self.assertEqual(groups[("team$search",)], self.cost_of([self.before[1]]))
        self.assertEqual(sum(groups.values()), self.total())
        self.assert_error("BackfillLimitExceededException", self.ce.start_cost_allocation_tag_backfill,
                          BackfillFrom=f"{first_of_month}T00:00:00Z")
        history = self.ce.list_cost_allocation_tag_backfill_history()["BackfillRequests"]
        self.assertEqual(len(history), 1)
        self.assertEqual(history[0]["BackfillFrom"], f"{first_of_month}T00:00:00Z")

    def test_backfill_refuses_a_start_that_is_not_a_first_of_month_or_too_old(self):
        self.assert_error("ValidationException", self.ce.start_cost_allocation_tag_backfill,
                          BackfillFrom=f"{today().replace(day=1)}T01:00:00Z")
        self.assert_error("ValidationException", self.ce.start_cost_allocation_tag_backfill,
                          BackfillFrom=f"{today().year - 2}-01-01T00:00:00Z")

    # ---- GetCostAndUsage ----

    def test_the_total_equals_the_ledger_to_the_nano_dollar(self):
        records = self.records()
        self.assertEqual(len(records), 6)
        self.assertEqual(self.total(), sum(r["costNanoUsd"]["total"] for r in records.values()))
        response = self.ce.get_cost_and_usage(TimePeriod=self.period, Granularity="MONTHLY",
                                              Metrics=["UsageQuantity", "BlendedCost", "AmortizedCost",
                                                       "NetUnblendedCost"])
        total = response["ResultsByTime"][0]["Total"]
        self.assertEqual(int(total["UsageQuantity"]["Amount"]),
                         sum(r["inputTokens"] + r["outputTokens"] for r in records.values()))
        self.assertEqual(total["UsageQuantity"]["Unit"], "N/A")
        self.assertEqual(nano(total["BlendedCost"]["Amount"]), self.total())
        self.assertTrue(response["ResultsByTime"][0]["Estimated"])

    def test_two_groupings_usage_types_spelled_as_aws_and_pagination(self):
        groups = self.groups([{"Type": "DIMENSION", "Key": "USAGE_TYPE"}, {"Type": "TAG", "Key": "team"}])
        self.assertGreater(len(groups), 2, "page_size 2: more than one page")
        self.assertEqual({k[0] for k in groups}, {"USE1-Claude3Haiku-input-tokens", "USE1-Claude3Haiku-output-tokens"})
        self.assertEqual(sum(groups.values()), self.total())
        regions = self.groups([{"Type": "DIMENSION", "Key": "REGION"}])
        self.assertEqual(regions, {("us-east-1",): self.total()})
        self.assert_error("InvalidNextTokenException", self.ce.get_cost_and_usage, TimePeriod=self.period,
                          Granularity="DAILY", Metrics=["UnblendedCost"], NextPageToken="bm90IGEgdG9rZW4=")

    def test_each_filter_form(self):
        growth_after = self.cost_of(self.after)
        everything = self.total()
        tag = lambda values, **kw: {"Tags": {"Key": "team", "Values": values, **kw}}  # noqa: E731
        self.assertEqual(self.total(Filter=tag(["growth"])), growth_after)
        self.assertEqual(self.total(Filter=tag(["GROW"], MatchOptions=["STARTS_WITH", "CASE_INSENSITIVE"])),
                         growth_after)
        self.assertEqual(self.total(Filter={"Tags": {"Key": "team", "MatchOptions": ["ABSENT"]}}),
                         everything - growth_after)
        self.assertEqual(self.total(Filter={"Not": tag(["growth"])}), everything - growth_after)
        self.assertEqual(self.total(Filter={"Dimensions": {"Key": "SERVICE", "Values": ["Amazon Bedrock"]}}),
                         everything)
        output_only = {"Dimensions": {"Key": "USAGE_TYPE", "Values": ["-output-tokens"], "MatchOptions": ["ENDS_WITH"]}}
        input_only = {"Dimensions": {"Key": "USAGE_TYPE", "Values": ["input"], "MatchOptions": ["CONTAINS"]}}
        self.assertEqual(self.total(Filter=output_only) + self.total(Filter=input_only), everything)
        self.assertEqual(self.total(Filter={"And": [tag(["growth"]), output_only]})
                         + self.total(Filter={"And": [tag(["growth"]), input_only]}), growth_after)
        self.assertEqual(self.total(Filter={"Or": [tag(["growth"]), {"Not": tag(["growth"])}]}), everything)
        self.assertEqual(self.total(Filter={"Dimensions": {"Key": "REGION", "Values": ["eu-west-1"]}}), 0)
        self.assertEqual(self.total(Filter={"Dimensions": {"Key": "OPERATION", "Values": ["InvokeModelInference"]}}),
                         everything)
        self.assertEqual(self.total(Filter={"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ["123456789012"]}}),
                         everything)

    def test_resources_are_the_profile_arns(self):
        groups = self.groups([{"Type": "DIMENSION", "Key": "RESOURCE_ID"}], self.ce.get_cost_and_usage_with_resources,
                             Filter={"Dimensions": {"Key": "SERVICE", "Values": ["Amazon Bedrock"]}})
        resources = {key[0]: cost for key, cost in groups.items()}
        self.assertIn(self.growth["inferenceProfileArn"], resources)
        self.assertIn(HAIKU_ARN, resources, "a bare model call's resource is the model")
        self.assertEqual(sum(resources.values()), self.total())
        self.assert_error("ValidationException", self.ce.get_cost_and_usage, TimePeriod=self.period,
                          Granularity="DAILY", Metrics=["UnblendedCost"],
                          GroupBy=[{"Type": "DIMENSION", "Key": "RESOURCE_ID"}])

    def test_bad_input_is_answered_with_the_aws_error_and_changes_nothing(self):
        bad = lambda **kw: self.assert_error("ValidationException", self.ce.get_cost_and_usage,  # noqa: E731
                                             **{"TimePeriod": self.period, "Granularity": "DAILY",
                                                "Metrics": ["UnblendedCost"], **kw})
        self.assertIn("Invalid date", bad(TimePeriod={"Start": "2026-13-01", "End": "2026-12-31"}))
        self.assertEqual(bad(TimePeriod={"Start": self.period["End"], "End": self.period["Start"]}),
                         "Start date (and hour) should be before end date (and hour)")
        self.assertEqual(bad(GroupBy=[{"Type": "TAG", "Key": "a"}, {"Type": "TAG", "Key": "b"},
                                      {"Type": "TAG", "Key": "c"}]), "Only two values for GroupBy are allowed")
        self.assertIn("Group Definition dimension is invalid", bad(GroupBy=[{"Type": "DIMENSION", "Key": "NOPE"}]))
        self.assertIn("enum value set", bad(Filter={"Dimensions": {"Key": "NOPE", "Values": ["x"]}}))
        self.assertIn("cost categories", bad(Filter={"CostCategories": {"Key": "x", "Values": ["y"]}}))
        self.assertIn("exactly one", bad(Filter={}))
        self.assertIn("metric", bad(Metrics=["Dollars"]))
        bad(Granularity="WEEKLY")
        self.assertIn("narrow the TimePeriod", bad(TimePeriod={"Start": "2020-01-01", "End": "2026-01-01"},
                                                   Granularity="HOURLY"))
        self.assertEqual(len(self.records()), 6)

    # ---- the command line ----

    def tollgate(self, *args: str) -> str:
        return subprocess.run([binary_path(), *args, "--data", str(self.gateway.data_dir)], check=True,
                              capture_output=True, text=True).stdout

    def test_costs_command_prints_what_get_cost_and_usage_answers(self):
        args = ["--from", self.period["Start"], "--to", self.period["End"], "--granularity", "DAILY",
                "--group-by", "TAG:team", "--group-by", "DIMENSION:USAGE_TYPE"]
        printed = json.loads(self.tollgate("costs", *args, "--format", "json"))
        groups = {tuple(g["Keys"]): nano(g["Metrics"]["UnblendedCost"]["Amount"])
                  for r in printed["ResultsByTime"] for g in r["Groups"]}
        self.assertEqual(groups, self.groups([{"Type": "TAG", "Key": "team"}, {"Type": "DIMENSION", "Key": "USAGE_TYPE"}]))
        table = self.tollgate("costs", *args)
        self.assertIn("(untagged)", table)
        self.assertIn("USE1-Claude3Haiku-output-tokens", table)
        rows = self.tollgate("costs", *args, "--format", "csv").splitlines()
        self.assertEqual(rows[0], "period_start,period_end,team,USAGE_TYPE,gross_usd,credits_usd,net_usd,usage_quantity")
        self.assertEqual(sum(nano(r.split(",")[4]) for r in rows[1:]), self.total())
        self.assertEqual({r.split(",")[5] for r in rows[1:]}, {"0"}, "no credits granted")
        bad = subprocess.run([binary_path(), "costs", "--data", str(self.gateway.data_dir), "--filter", "TAG:team"],
                             capture_output=True, text=True)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--filter", bad.stderr)

    def test_chargeback_names_each_owner_and_the_untagged_remainder(self):
        statement = json.loads(self.tollgate("chargeback", "--by", "TAG:team", "--month", today().strftime("%Y-%m"),
                                             "--format", "json"))
        owners = {o["owner"]: o for o in statement["owners"]}
        self.assertIn("", owners)
        self.assertTrue(owners[""]["untagged"])
        self.assertEqual(sum(nano(o["costUsd"]) for o in owners.values()), nano(statement["totalCostUsd"]))
        self.assertEqual(nano(statement["totalCostUsd"]), self.total())
        self.assertIn(HAIKU_ARN, [r["resource"] for r in owners[""]["resources"]])
        growth = owners["growth"]["resources"]
        self.assertEqual([(r["resource"], r.get("name")) for r in growth],
                         [(self.growth["inferenceProfileArn"], "support-bot")])
        self.assertIn("untagged (usage without an active 'team' cost-allocation tag)",
                      self.tollgate("chargeback", "--by", "TAG:team"))

    def test_exported_cur_and_focus_files_total_what_get_cost_and_usage_answers(self):
        month = today().strftime("%Y-%m")
        first = today().replace(day=1)
        next_first = (first + dt.timedelta(days=32)).replace(day=1)
        response = self.ce.get_cost_and_usage(TimePeriod={"Start": first.isoformat(), "End": next_first.isoformat()},
                                              Granularity="MONTHLY", Metrics=["UnblendedCost", "UsageQuantity"])
        expected = response["ResultsByTime"][0]["Total"]
        with tempfile.TemporaryDirectory() as out:
            for fmt, cost_column, amount_column, tags_column, principal_column in (
                    ("cur", "line_item_unblended_cost", "line_item_usage_amount", "resource_tags",
                     "line_item_iam_principal"),
                    ("focus", "BilledCost", "ConsumedQuantity", "Tags", "x_IamPrincipal")):
                self.tollgate("export", fmt, "--month", month, "--out", out)
                folder = os.path.join(out, "cur2" if fmt == "cur" else "focus1.2", month)
                manifest = json.load(open(os.path.join(folder, "manifest.json")))
                cost = tokens = rows = 0
                tag_values = set()
                principals = set()
                for part in manifest["files"]:
                    with gzip.open(os.path.join(folder, part["path"]), "rt", newline="") as f:
                        reader = csv.DictReader(f)
                        self.assertEqual(reader.fieldnames, manifest["columns"])
                        for row in reader:
                            cost += nano(row[cost_column])
                            tokens += int(row[amount_column])
                            rows += 1
                            tag_values.update(json.loads(row[tags_column]).items())
                            principals.add(row[principal_column])
                # Every call here was made with the default access key: its IAM user's ARN.
                self.assertEqual(principals, {DEFAULT_PRINCIPAL_ARN}, fmt)
                self.assertEqual(cost, nano(expected["UnblendedCost"]["Amount"]), fmt)
                self.assertEqual(tokens, int(expected["UsageQuantity"]["Amount"]), fmt)
                self.assertEqual(rows, manifest["rows"])
                # Only the active key (team) reaches the files; cost-center was never activated.
                team_key = "user_team" if fmt == "cur" else "team"
                self.assertTrue(tag_values <= {(team_key, "growth"), (team_key, "search")}, tag_values)
                self.assertIn((team_key, "growth"), tag_values)

    # ---- the other reads ----

    def test_dimension_values_tags_and_forecast(self):
        values = self.ce.get_dimension_values(TimePeriod=self.period, Dimension="USAGE_TYPE")
        self.assertEqual([v["Value"] for v in values["DimensionValues"]],
                         ["USE1-Claude3Haiku-input-tokens", "USE1-Claude3Haiku-output-tokens"])
        self.assertEqual(values["TotalSize"], 2)
        regions = self.ce.get_dimension_values(TimePeriod=self.period, Dimension="REGION", SearchString="east")
        self.assertEqual([v["Value"] for v in regions["DimensionValues"]], ["us-east-1"])
        self.assertEqual(self.ce.get_dimension_values(TimePeriod=self.period, Dimension="OPERATION")
                         ["DimensionValues"][0]["Value"], "InvokeModelInference")
        self.assertEqual(self.ce.get_dimension_values(TimePeriod=self.period, Dimension="SERVICE")
                         ["DimensionValues"][0]["Value"], "Amazon Bedrock")
        keys = self.ce.get_tags(TimePeriod=self.period)
        self.assertIn("team", keys["Tags"])
        self.assertIn("growth", self.ce.get_tags(TimePeriod=self.period, TagKey="team")["Tags"])
        self.assert_error("ValidationException", self.ce.get_dimension_values, TimePeriod=self.period,
                          Dimension="INSTANCE_TYPE")
        message = self.assert_error("DataUnavailableException", self.ce.get_cost_forecast,
                                    TimePeriod={"Start": today().isoformat(),
                                                "End": (today() + dt.timedelta(days=7)).isoformat()},
                                    Metric="UNBLENDED_COST", Granularity="DAILY")
        self.assertIn("Insufficient amount of historical data", message)
        self.assert_error("ValidationException", self.ce.get_cost_forecast,
                          TimePeriod={"Start": (today() - dt.timedelta(days=3)).isoformat(),
                                      "End": today().isoformat()},
                          Metric="UNBLENDED_COST", Granularity="DAILY")


class Forecast(unittest.TestCase):
    """GetCostForecast over three weeks of history written by `tollgate generate-usage`."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.TemporaryDirectory()
        data = os.path.join(cls.work.name, "data")
        start = today() - dt.timedelta(days=21)
        subprocess.run([binary_path(), "generate-usage", "--data", data, "--records", "4200", "--from",
                        start.isoformat(), "--to", today().isoformat(), "--activate", "team"],
                       check=True, capture_output=True)
        cls.gateway = Gateway(data_dir=data).start()
        cls.ce = client("ce", cls.gateway.endpoint)
        history = cls.ce.get_cost_and_usage(TimePeriod={"Start": start.isoformat(), "End": today().isoformat()},
                                            Granularity="DAILY", Metrics=["UnblendedCost"])
        cls.daily = [Decimal(r["Total"]["UnblendedCost"]["Amount"]) for r in history["ResultsByTime"]]

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop_and_close()
        cls.work.cleanup()

    def forecast(self, days: int, **kwargs):
        return self.ce.get_cost_forecast(
            TimePeriod={"Start": today().isoformat(), "End": (today() + dt.timedelta(days=days)).isoformat()},
            **{"Metric": "UNBLENDED_COST", "Granularity": "DAILY", **kwargs})

    def test_a_flat_history_forecasts_its_daily_average_within_widening_bounds(self):
        self.assertEqual(len(self.daily), 21)
        average = sum(self.daily) / len(self.daily)
        response = self.forecast(7, PredictionIntervalLevel=90)
        results = response["ForecastResultsByTime"]
        self.assertEqual(len(results), 7)
        for r in results:
            mean = Decimal(r["MeanValue"])
            self.assertLessEqual(Decimal(r["PredictionIntervalLowerBound"]), mean)
            self.assertLessEqual(mean, Decimal(r["PredictionIntervalUpperBound"]))
            self.assertTrue(average / 2 < mean < average * 3 / 2, f"{mean} vs the history's {average}/day")
        total = sum(Decimal(r["MeanValue"]) for r in results)
        self.assertAlmostEqual(float(Decimal(response["Total"]["Amount"])), float(total), places=6)
        self.assertEqual(response["Total"]["Unit"], "USD")
        narrow = self.forecast(7, PredictionIntervalLevel=60)["ForecastResultsByTime"][0]
        width = lambda r: Decimal(r["PredictionIntervalUpperBound"]) - Decimal(r["PredictionIntervalLowerBound"])  # noqa: E731
        self.assertLess(width(narrow), width(results[0]), "a lower level gives a narrower interval")

    def test_monthly_usage_and_filtered_forecasts(self):
        monthly = self.forecast(40, Granularity="MONTHLY")["ForecastResultsByTime"]
        self.assertGreaterEqual(len(monthly), 2)
        tokens = self.forecast(3, Metric="USAGE_QUANTITY")
        self.assertEqual(tokens["Total"]["Unit"], "N/A")
        self.assertGreater(int(tokens["Total"]["Amount"]), 0)
        everything = Decimal(self.forecast(3)["Total"]["Amount"])
        growth = Decimal(self.forecast(3, Filter={"Tags": {"Key": "team", "Values": ["growth"]}})["Total"]["Amount"])
        self.assertTrue(0 < growth < everything)
        with self.assertRaises(ClientError) as caught:
            self.forecast(3, Granularity="HOURLY")
        self.assertEqual(caught.exception.response["Error"]["Code"], "ValidationException")


class Credits(unittest.TestCase):
    """A credit from the configuration and one granted with the CLI, applied as AWS applies them."""

    @classmethod
    def setUpClass(cls):
        first = today().replace(day=1)
        cls.next_first = (first + dt.timedelta(days=32)).replace(day=1)
        cls.period = {"Start": first.isoformat(), "End": cls.next_first.isoformat()}
        cls.gateway = Gateway(config=(
            "credits:\n"
            "  - id: promo\n"
            "    account: '123456789012'\n"
            "    amount: '0.00002'\n"
            f"    start: {first.isoformat()}\n"
            f"    expiry: {cls.next_first.isoformat()}\n"
            "    services: [Amazon Bedrock]\n"
            "    description: Promotional credit\n")).start()
        cls.runtime = client("bedrock-runtime", cls.gateway.endpoint)
        cls.ce = client("ce", cls.gateway.endpoint)
        cls.gross = 0
        for i in range(4):  # about 4 × 0.00001 USD: more than the credit
            response = cls.runtime.converse(modelId=HAIKU_ARN, messages=[{"role": "user", "content": [
                {"text": f"question {i}: how long is a piece of string?"}]}])
            cls.gross += nano(response["ResponseMetadata"]["HTTPHeaders"]["x-tollgate-cost-usd"])

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop_and_close()

    def tollgate(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([binary_path(), *args, "--data", str(self.gateway.data_dir)], check=check,
                              capture_output=True, text=True)

    def by_record_type(self) -> dict[str, tuple[int, int]]:
        response = self.ce.get_cost_and_usage(TimePeriod=self.period, Granularity="MONTHLY",
                                              Metrics=["UnblendedCost", "NetUnblendedCost"],
                                              GroupBy=[{"Type": "DIMENSION", "Key": "RECORD_TYPE"}])
        return {g["Keys"][0]: (nano(g["Metrics"]["UnblendedCost"]["Amount"]),
                               nano(g["Metrics"]["NetUnblendedCost"]["Amount"]))
                for g in response["ResultsByTime"][0]["Groups"]}

    def test_a_credit_shows_as_net_unblended_cost_credit_line_items_and_in_the_cli(self):
        promo = 20_000  # nano-USD
        self.assertGreater(self.gross, promo)
        self.assertEqual(self.by_record_type(), {"Usage": (self.gross, self.gross), "Credit": (0, -promo)})
        listed = json.loads(self.tollgate("credits", "list", "--format", "json").stdout)["credits"]
        self.assertEqual([(c["id"], c["usedUsd"], c["remainingUsd"]) for c in listed], [("promo", "0.00002", "0")])

        # tollgate costs: gross, credits, net.
        rows = self.tollgate("costs", "--from", self.period["Start"], "--to", self.period["End"],
                             "--format", "csv").stdout.splitlines()
        self.assertEqual(rows[0], "period_start,period_end,gross_usd,credits_usd,net_usd,usage_quantity")
        gross, credits, net = (nano(x) for x in rows[1].split(",")[2:5])
        self.assertEqual((gross, credits, net), (self.gross, -promo, self.gross - promo))

        # The CUR and FOCUS exports: Credit rows beside the usage, summing to the same amounts.
        month = today().strftime("%Y-%m")
        with tempfile.TemporaryDirectory() as out:
            for fmt, type_column, cost_column in (("cur", "line_item_line_item_type", "line_item_unblended_cost"),
                                                  ("focus", "ChargeCategory", "BilledCost")):
                self.tollgate("export", fmt, "--month", month, "--out", out)
                folder = os.path.join(out, "cur2" if fmt == "cur" else "focus1.2", month)
                sums: dict[str, int] = {}
                descriptions = set()
                principals: dict[str, set[str]] = {}
                with open(os.path.join(folder, "manifest.json")) as f:
                    manifest = json.load(f)
                for part in manifest["files"]:
                    with gzip.open(os.path.join(folder, part["path"]), "rt", newline="") as f:
                        for row in csv.DictReader(f):
                            sums[row[type_column]] = sums.get(row[type_column], 0) + nano(row[cost_column])
                            principals.setdefault(row[type_column], set()).add(
                                row["line_item_iam_principal" if fmt == "cur" else "x_IamPrincipal"])
                            if row[type_column] == "Credit":
                                descriptions.add(row["line_item_line_item_description" if fmt == "cur"
                                                     else "ChargeDescription"].split(" for ")[0])
                self.assertEqual(sums, {"Usage": self.gross, "Credit": -promo}, fmt)
                self.assertEqual(descriptions, {"Promotional credit (credit promo)"}, fmt)
                # Usage rows name their caller; Credit rows none (as they name no resource).
                self.assertEqual(principals, {"Usage": {DEFAULT_PRINCIPAL_ARN}, "Credit": {""}}, fmt)

    def test_zz_a_credit_granted_with_the_cli_applies_at_once_and_bad_grants_are_refused(self):
        granted = self.tollgate("credits", "grant", "--id", "top-up", "--account", "123456789012", "--amount", "1",
                                "--start", self.period["Start"], "--expiry", self.next_first.isoformat())
        self.assertIn("granted credit top-up: 1 USD", granted.stdout)
        self.assertEqual(self.by_record_type(), {"Usage": (self.gross, self.gross), "Credit": (0, -self.gross)},
                         "the second credit pays the rest")
        for args, message in ((["--amount", "-5"], "amount"), (["--amount", "ten"], "amount"),
                              (["--expiry", self.period["Start"]], "before the expiry")):
            options = {"--id": "bad", "--account": "123456789012", "--amount": "1", "--start": self.period["Start"],
                       "--expiry": self.next_first.isoformat()}
            options.update(dict(zip(args[::2], args[1::2])))
            bad = self.tollgate("credits", "grant", *[x for kv in options.items() for x in kv], check=False)
            self.assertEqual(bad.returncode, 2, bad.stderr)
            self.assertIn(message, bad.stderr)
        duplicate = self.tollgate("credits", "grant", "--id", "top-up", "--account", "123456789012", "--amount", "1",
                                  "--start", self.period["Start"], "--expiry", self.next_first.isoformat(), check=False)
        self.assertEqual(duplicate.returncode, 2)
        self.assertIn("exists", duplicate.stderr)
        listed = json.loads(self.tollgate("credits", "list", "--format", "json").stdout)["credits"]
        self.assertEqual([c["id"] for c in listed], ["promo", "top-up"])
        self.tollgate("credits", "revoke", "--id", "top-up")
        self.assertEqual(self.by_record_type()["Credit"], (0, -20_000))


class PrincipalAttribution(unittest.TestCase):
    """Two callers (two access keys of one account) through one profile: each usage record carries the
    caller's IAM ARN, and Cost Explorer's IAM_PRINCIPAL dimension (tollgate's extension) splits the cost
    between them — untagged usage included — in GetCostAndUsage, its Filter, GetDimensionValues, the CLI
    and the CUR / FOCUS exports."""

    ALICE = ("AKIAE2EALICE00000001", "alice-secret", "alice")
    BOB = ("AKIAE2EBOB0000000001", "bob-secret", "bob")

    @classmethod
    def arn(cls, user) -> str:
        return f"arn:aws:iam::{ACCOUNT}:user/{user[2]}"

    @classmethod
    def setUpClass(cls):
        principals = "".join(f"""  - access_key_id: {key}
    secret_access_key: {secret}
    account_id: "{ACCOUNT}"
    name: {name}
""" for key, secret, name in (cls.ALICE, cls.BOB))
        cls.gateway = Gateway(config=f"""\
principals:
  - access_key_id: {ACCESS_KEY}
    secret_access_key: {SECRET_KEY}
    account_id: "{ACCOUNT}"
{principals}""").start()
        cls.period = {"Start": today().isoformat(), "End": (today() + dt.timedelta(days=1)).isoformat()}
        admin = client("bedrock", cls.gateway.endpoint)
        cls.ce = client("ce", cls.gateway.endpoint)
        cls.shared = admin.create_inference_profile(
            inferenceProfileName="shared-bot", modelSource={"copyFrom": HAIKU_ARN},
            tags=[{"key": "team", "value": "growth"}])["inferenceProfileArn"]
        cls.untagged = admin.create_inference_profile(
            inferenceProfileName="no-tags-bot", modelSource={"copyFrom": HAIKU_ARN})["inferenceProfileArn"]
        cls.ce.update_cost_allocation_tags_status(CostAllocationTagsStatus=[{"TagKey": "team", "Status": "Active"}])
        cls.calls: dict[str, list[str]] = {}  # the caller's ARN -> request ids
        for user, profile, text in ((cls.ALICE, cls.shared, "alice asks a question"),
                                    (cls.ALICE, cls.shared, "alice asks a longer question, with more words in it"),
                                    (cls.BOB, cls.shared, "bob asks"),
                                    (cls.BOB, cls.untagged, "bob asks through a profile without tags")):
            runtime = boto3.session.Session().client(
                "bedrock-runtime", endpoint_url=cls.gateway.endpoint, region_name=REGION,
                aws_access_key_id=user[0], aws_secret_access_key=user[1],
                config=Config(retries={"max_attempts": 1, "mode": "standard"}))
            response = runtime.converse(modelId=profile, messages=[{"role": "user", "content": [{"text": text}]}])
            cls.calls.setdefault(cls.arn(user), []).append(response["ResponseMetadata"]["RequestId"])

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop_and_close()

    def tollgate(self, *args: str) -> str:
        return subprocess.run([binary_path(), *args, "--data", str(self.gateway.data_dir)], check=True,
                              capture_output=True, text=True).stdout

    def records(self) -> dict[str, dict]:
        out = self.tollgate("usage", "--format", "json", "--limit", "1000")
        return {r["requestId"]: r for r in json.loads(out)["usageRecords"]}

    def ledger_cost(self, request_ids) -> int:
        records = self.records()
        return sum(records[i]["costNanoUsd"]["total"] for i in request_ids)

    def by_groups(self, group_by, **kwargs) -> dict[tuple, int]:
        response = self.ce.get_cost_and_usage(TimePeriod=self.period, Granularity="MONTHLY",
                                              Metrics=["UnblendedCost"], GroupBy=group_by, **kwargs)
        return {tuple(g["Keys"]): nano(g["Metrics"]["UnblendedCost"]["Amount"])
                for r in response["ResultsByTime"] for g in r["Groups"]}

    def total(self, **kwargs) -> int:
        response = self.ce.get_cost_and_usage(TimePeriod=self.period, Granularity="MONTHLY",
                                               Metrics=["UnblendedCost"], **kwargs)
        return sum(nano(r["Total"]["UnblendedCost"]["Amount"]) for r in response["ResultsByTime"])

    def test_each_record_carries_its_callers_arn(self):
        records = self.records()
        for principal, ids in self.calls.items():
            self.assertEqual({records[i]["principal"] for i in ids}, {principal})

    def test_group_by_iam_principal_splits_the_cost_between_the_callers(self):
        alice, bob = self.arn(self.ALICE), self.arn(self.BOB)
        groups = self.by_groups([{"Type": "DIMENSION", "Key": "IAM_PRINCIPAL"}])
        self.assertEqual(groups, {(alice,): self.ledger_cost(self.calls[alice]),
                                  (bob,): self.ledger_cost(self.calls[bob])})
        self.assertEqual(sum(groups.values()), self.total())
        self.assertTrue(all(cost > 0 for cost in groups.values()))

    def test_a_filter_on_one_principal_returns_only_its_cost(self):
        alice, bob = self.arn(self.ALICE), self.arn(self.BOB)
        only_alice = self.total(Filter={"Dimensions": {"Key": "IAM_PRINCIPAL", "Values": [alice]}})
        self.assertEqual(only_alice, self.ledger_cost(self.calls[alice]))
        only_bob = self.total(Filter={"Dimensions": {"Key": "IAM_PRINCIPAL", "Values": ["USER/BOB"],
                                                     "MatchOptions": ["ENDS_WITH", "CASE_INSENSITIVE"]}})
        self.assertEqual(only_bob, self.ledger_cost(self.calls[bob]))
        self.assertEqual(self.total(Filter={"Not": {"Dimensions": {"Key": "IAM_PRINCIPAL", "Values": [alice]}}}),
                         only_bob)
        nobody = self.total(Filter={"Dimensions": {"Key": "IAM_PRINCIPAL", "Values": [f"arn:aws:iam::{ACCOUNT}:user/x"]}})
        self.assertEqual(nobody, 0)

    def test_untagged_usage_is_still_attributed_to_its_principal(self):
        alice, bob = self.arn(self.ALICE), self.arn(self.BOB)
        groups = self.by_groups([{"Type": "DIMENSION", "Key": "IAM_PRINCIPAL"}, {"Type": "TAG", "Key": "team"}])
        records = self.records()
        bob_untagged = [i for i in self.calls[bob] if records[i]["profileArn"] == self.untagged]
        bob_tagged = [i for i in self.calls[bob] if records[i]["profileArn"] == self.shared]
        self.assertEqual(groups, {(alice, "team$growth"): self.ledger_cost(self.calls[alice]),
                                  (bob, "team$growth"): self.ledger_cost(bob_tagged),
                                  (bob, "team$"): self.ledger_cost(bob_untagged)})
        self.assertGreater(groups[(bob, "team$")], 0)

    def test_dimension_values_list_the_callers(self):
        values = self.ce.get_dimension_values(TimePeriod=self.period, Dimension="IAM_PRINCIPAL")
        self.assertEqual([v["Value"] for v in values["DimensionValues"]],
                         sorted([self.arn(self.ALICE), self.arn(self.BOB)]))
        searched = self.ce.get_dimension_values(TimePeriod=self.period, Dimension="IAM_PRINCIPAL", SearchString="BOB")
        self.assertEqual([v["Value"] for v in searched["DimensionValues"]], [self.arn(self.BOB)])

    def test_costs_command_groups_and_filters_by_iam_principal(self):
        alice, bob = self.arn(self.ALICE), self.arn(self.BOB)
        args = ["--from", self.period["Start"], "--to", self.period["End"]]
        rows = self.tollgate("costs", *args, "--group-by", "DIMENSION:IAM_PRINCIPAL", "--format", "csv").splitlines()
        self.assertEqual(rows[0], "period_start,period_end,IAM_PRINCIPAL,gross_usd,credits_usd,net_usd,usage_quantity")
        by_principal = {r.split(",")[2]: nano(r.split(",")[3]) for r in rows[1:]}
        self.assertEqual(by_principal, {alice: self.ledger_cost(self.calls[alice]),
                                        bob: self.ledger_cost(self.calls[bob])})
        filtered = self.tollgate("costs", *args, "--filter", f"DIMENSION:IAM_PRINCIPAL={alice}",
                                 "--format", "csv").splitlines()
        self.assertEqual(nano(filtered[1].split(",")[2]), self.ledger_cost(self.calls[alice]))
        table = self.tollgate("costs", *args, "--group-by", "DIMENSION:IAM_PRINCIPAL", "--group-by", "TAG:team")
        self.assertIn(bob, table)
        self.assertIn("(untagged)", table)

    def test_exports_split_rows_per_principal(self):
        month = today().strftime("%Y-%m")
        expected = {principal: self.ledger_cost(ids) for principal, ids in self.calls.items()}
        with tempfile.TemporaryDirectory() as out:
            for fmt, column, cost_column in (("cur", "line_item_iam_principal", "line_item_unblended_cost"),
                                             ("focus", "x_IamPrincipal", "BilledCost")):
                self.tollgate("export", fmt, "--month", month, "--out", out)
                folder = os.path.join(out, "cur2" if fmt == "cur" else "focus1.2", month)
                with open(os.path.join(folder, "manifest.json")) as f:
                    manifest = json.load(f)
                self.assertIn(column, manifest["columns"])
                sums: dict[str, int] = {}
                for part in manifest["files"]:
                    with gzip.open(os.path.join(folder, part["path"]), "rt", newline="") as f:
                        for row in csv.DictReader(f):
                            sums[row[column]] = sums.get(row[column], 0) + nano(row[cost_column])
                self.assertEqual(sums, expected, fmt)


if __name__ == "__main__":
    unittest.main(verbosity=2)
