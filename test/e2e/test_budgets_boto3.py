#!/usr/bin/env python3
"""End-to-end: the AWS Budgets API (boto3's `budgets` client) against the real tollgate binary.

Budgets, notifications and subscribers are created, described, updated and deleted as AWS does it; a
budget's CalculatedSpend is the ledger's spend in its current period under its filter, current the moment
a call's usage commits, and each notification's state is its threshold against that spend. Bad input is
answered with the AWS error and changes nothing.

Run: TOLLGATE_BINARY=build/tollgate python3 test/e2e/test_budgets_boto3.py
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from e2e_env import isolate_this_process  # noqa: E402
from gateway import ACCESS_KEY, ACCOUNT_ID, SECRET_KEY, Gateway, binary_path  # noqa: E402

isolate_this_process()

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

REGION = "us-east-1"
HAIKU_ARN = f"arn:aws:bedrock:{REGION}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
ALARM_AT_PERCENT = 50


def client(service: str, endpoint: str):
    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY, config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def month_period() -> dict:
    today = dt.datetime.now(dt.timezone.utc).date()
    first = today.replace(day=1)
    return {"Start": first.isoformat(), "End": (first + dt.timedelta(days=32)).replace(day=1).isoformat()}


def notification(threshold=ALARM_AT_PERCENT, kind="ACTUAL", op="GREATER_THAN", threshold_type="PERCENTAGE") -> dict:
    return {"NotificationType": kind, "ComparisonOperator": op, "Threshold": threshold, "ThresholdType": threshold_type}


class Budgets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gateway = Gateway().start()
        cls.bedrock = client("bedrock", cls.gateway.endpoint)
        cls.runtime = client("bedrock-runtime", cls.gateway.endpoint)
        cls.ce = client("ce", cls.gateway.endpoint)
        cls.budgets = client("budgets", cls.gateway.endpoint)
        cls.growth = cls.bedrock.create_inference_profile(
            inferenceProfileName="growth-bot", modelSource={"copyFrom": HAIKU_ARN},
            tags=[{"key": "team", "value": "growth"}])["inferenceProfileArn"]
        cls.search = cls.bedrock.create_inference_profile(
            inferenceProfileName="search-bot", modelSource={"copyFrom": HAIKU_ARN},
            tags=[{"key": "team", "value": "search"}])["inferenceProfileArn"]
        cls.ce.update_cost_allocation_tags_status(CostAllocationTagsStatus=[{"TagKey": "team", "Status": "Active"}])

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop_and_close()

    def converse(self, profile: str) -> None:
        self.runtime.converse(modelId=profile, messages=[{"role": "user", "content": [{"text": "how much?"}]}])

    def ce_cost(self, tag_value: str | None = None) -> Decimal:
        args = {"Filter": {"Tags": {"Key": "team", "Values": [tag_value]}}} if tag_value else {}
        response = self.ce.get_cost_and_usage(TimePeriod=month_period(), Granularity="MONTHLY",
                                              Metrics=["UnblendedCost"], **args)
        return Decimal(response["ResultsByTime"][0]["Total"]["UnblendedCost"]["Amount"])

    def create(self, name: str, amount: str = "100", **budget) -> None:
        self.budgets.create_budget(AccountId=ACCOUNT_ID, Budget={
            "BudgetName": name, "BudgetLimit": {"Amount": amount, "Unit": "USD"}, "TimeUnit": "MONTHLY",
            "BudgetType": "COST", **budget})

    def describe(self, name: str) -> dict:
        return self.budgets.describe_budget(AccountId=ACCOUNT_ID, BudgetName=name)["Budget"]

    def assert_error(self, code: str, call, **kwargs) -> str:
        with self.assertRaises(ClientError) as caught:
            call(**kwargs)
        self.assertEqual(caught.exception.response["Error"]["Code"], code, caught.exception.response["Error"])
        return caught.exception.response["Error"]["Message"]

    def test_calculated_spend_follows_the_ledger_under_the_filter(self):
        self.create("growth-tag", CostFilters={"TagKeyValue": ["user:team$growth"]})
        self.budgets.create_budget(AccountId=ACCOUNT_ID, Budget={
            "BudgetName": "search-expr", "BudgetLimit": {"Amount": "100", "Unit": "USD"}, "TimeUnit": "MONTHLY",
            "BudgetType": "COST", "FilterExpression": {"Tags": {"Key": "team", "Values": ["search"]}}})
        self.create("everything-bedrock", CostFilters={"Service": ["Amazon Bedrock"], "Region": ["us-east-1"]})
        before = Decimal(self.describe("growth-tag")["CalculatedSpend"]["ActualSpend"]["Amount"])
        self.converse(self.growth)
        self.converse(self.search)
        growth = self.describe("growth-tag")
        self.assertGreater(Decimal(growth["CalculatedSpend"]["ActualSpend"]["Amount"]), before)
        self.assertEqual(Decimal(growth["CalculatedSpend"]["ActualSpend"]["Amount"]), self.ce_cost("growth"))
        self.assertEqual(growth["CalculatedSpend"]["ActualSpend"]["Unit"], "USD")
        self.assertEqual(Decimal(self.describe("search-expr")["CalculatedSpend"]["ActualSpend"]["Amount"]),
                         self.ce_cost("search"))
        self.assertEqual(Decimal(self.describe("everything-bedrock")["CalculatedSpend"]["ActualSpend"]["Amount"]),
                         self.ce_cost())
        self.assertEqual(growth["TimeUnit"], "MONTHLY")
        self.assertEqual(growth["TimePeriod"]["Start"].date().isoformat(), month_period()["Start"])
        self.assertIn("LastUpdatedTime", growth)

    def test_notification_state_turns_to_alarm_when_the_spend_crosses_the_threshold(self):
        self.converse(self.growth)
        spent = self.ce_cost("growth")
        # A limit the spend already exceeds by half, another it stays far below.
        self.budgets.create_budget(
            AccountId=ACCOUNT_ID,
            Budget={"BudgetName": "tight", "BudgetLimit": {"Amount": str(spent), "Unit": "USD"},
                    "TimeUnit": "MONTHLY", "BudgetType": "COST", "CostFilters": {"TagKeyValue": ["user:team$growth"]}},
            NotificationsWithSubscribers=[{"Notification": notification(),
                                           "Subscribers": [{"SubscriptionType": "EMAIL", "Address": "fin@example.com"}]}])
        self.create("roomy", CostFilters={"TagKeyValue": ["user:team$growth"]})
        self.budgets.create_notification(AccountId=ACCOUNT_ID, BudgetName="roomy", Notification=notification(),
                                         Subscribers=[{"SubscriptionType": "SNS",
                                                       "Address": "arn:aws:sns:us-east-1:123456789012:finops"}])
        self.budgets.create_notification(AccountId=ACCOUNT_ID, BudgetName="roomy",
                                         Notification=notification(0.000001, threshold_type="ABSOLUTE_VALUE"),
                                         Subscribers=[{"SubscriptionType": "EMAIL", "Address": "x@example.com"}])
        tight = self.budgets.describe_notifications_for_budget(AccountId=ACCOUNT_ID, BudgetName="tight")["Notifications"]
        self.assertEqual([n["NotificationState"] for n in tight], ["ALARM"])
        roomy = self.budgets.describe_notifications_for_budget(AccountId=ACCOUNT_ID, BudgetName="roomy")["Notifications"]
        self.assertEqual({n["ThresholdType"]: n["NotificationState"] for n in roomy},
                         {"PERCENTAGE": "OK", "ABSOLUTE_VALUE": "ALARM"})

    def test_notifications_and_subscribers_are_managed_as_aws_does(self):
        self.create("managed")
        n = notification(80)
        email = {"SubscriptionType": "EMAIL", "Address": "a@example.com"}
        other = {"SubscriptionType": "EMAIL", "Address": "b@example.com"}
        self.budgets.create_notification(AccountId=ACCOUNT_ID, BudgetName="managed", Notification=n, Subscribers=[email])
        self.assert_error("DuplicateRecordException", self.budgets.create_notification, AccountId=ACCOUNT_ID,
                          BudgetName="managed", Notification=n, Subscribers=[email])
        self.budgets.create_subscriber(AccountId=ACCOUNT_ID, BudgetName="managed", Notification=n, Subscriber=other)
        subscribers = self.budgets.describe_subscribers_for_notification(
            AccountId=ACCOUNT_ID, BudgetName="managed", Notification=n)["Subscribers"]
        self.assertEqual(subscribers, [email, other])
        self.budgets.delete_subscriber(AccountId=ACCOUNT_ID, BudgetName="managed", Notification=n, Subscriber=email)
        moved = notification(90, kind="FORECASTED")
        self.budgets.update_notification(AccountId=ACCOUNT_ID, BudgetName="managed", OldNotification=n,
                                         NewNotification=moved)
        listed = self.budgets.describe_notifications_for_budget(AccountId=ACCOUNT_ID, BudgetName="managed")
        self.assertEqual([(x["NotificationType"], x["Threshold"]) for x in listed["Notifications"]], [("FORECASTED", 90.0)])
        self.assertEqual(self.budgets.describe_subscribers_for_notification(
            AccountId=ACCOUNT_ID, BudgetName="managed", Notification=moved)["Subscribers"], [other])
        self.assert_error("NotFoundException", self.budgets.delete_notification, AccountId=ACCOUNT_ID,
                          BudgetName="managed", Notification=n)
        self.budgets.delete_notification(AccountId=ACCOUNT_ID, BudgetName="managed", Notification=moved)
        self.assertEqual(self.budgets.describe_notifications_for_budget(
            AccountId=ACCOUNT_ID, BudgetName="managed")["Notifications"], [])

    def test_update_describe_all_and_delete(self):
        for name in ("page-a", "page-b", "page-c"):
            self.create(name)
        self.budgets.update_budget(AccountId=ACCOUNT_ID, NewBudget={
            "BudgetName": "page-b", "BudgetLimit": {"Amount": "250.5", "Unit": "USD"}, "TimeUnit": "QUARTERLY",
            "BudgetType": "COST"})
        updated = self.describe("page-b")
        self.assertEqual(updated["BudgetLimit"], {"Amount": "250.5", "Unit": "USD"})
        self.assertEqual(updated["TimeUnit"], "QUARTERLY")
        names, token = [], None
        while True:
            page = self.budgets.describe_budgets(AccountId=ACCOUNT_ID, MaxResults=2, **({"NextToken": token} if token else {}))
            names += [b["BudgetName"] for b in page["Budgets"]]
            token = page.get("NextToken")
            if not token:
                break
        self.assertTrue({"page-a", "page-b", "page-c"} <= set(names))
        self.assertEqual(names, sorted(names))
        self.budgets.delete_budget(AccountId=ACCOUNT_ID, BudgetName="page-c")
        self.assert_error("NotFoundException", self.budgets.describe_budget, AccountId=ACCOUNT_ID, BudgetName="page-c")
        self.assert_error("NotFoundException", self.budgets.delete_budget, AccountId=ACCOUNT_ID, BudgetName="page-c")

    def test_bad_input_is_answered_with_the_aws_error_and_changes_nothing(self):
        self.create("original", amount="10")
        self.assert_error("DuplicateRecordException", self.create, name="original", amount="20")
        self.assertEqual(self.describe("original")["BudgetLimit"]["Amount"], "10")
        self.assert_error("NotFoundException", self.budgets.describe_budget, AccountId=ACCOUNT_ID, BudgetName="nope")
        self.assert_error("NotFoundException", self.budgets.update_budget, AccountId=ACCOUNT_ID, NewBudget={
            "BudgetName": "nope", "BudgetLimit": {"Amount": "1", "Unit": "USD"}, "TimeUnit": "MONTHLY",
            "BudgetType": "COST"})
        # (boto3 itself refuses a negative threshold or one above the model's maximum before sending.)
        message = self.assert_error("InvalidParameterException", self.budgets.create_notification,
                                    AccountId=ACCOUNT_ID, BudgetName="original", Notification=notification(2_000_000),
                                    Subscribers=[{"SubscriptionType": "EMAIL", "Address": "a@example.com"}])
        self.assertIn("PERCENTAGE threshold", message)
        self.assert_error("InvalidParameterException", self.budgets.create_notification, AccountId=ACCOUNT_ID,
                          BudgetName="original", Notification=notification(),
                          Subscribers=[{"SubscriptionType": "PIGEON", "Address": "a@example.com"}])
        message = self.assert_error("InvalidParameterException", self.create, name="bad-filter",
                                    CostFilters={"TagKeyValue": ["team-growth"]})
        self.assertIn("user:<key>$<value>", message)
        self.assert_error("InvalidParameterException", self.create, name="bad-key", CostFilters={"InstanceType": ["m5"]})
        self.assert_error("InvalidParameterException", self.create, name="bad-expr",
                          FilterExpression={"Dimensions": {"Key": "NOT_A_DIMENSION", "Values": ["x"]}})
        self.assert_error("InvalidParameterException", self.create, name="bad-amount", amount="ten")
        self.assert_error("InvalidParameterException", self.create, name="custom-no-period", TimeUnit="CUSTOM")
        self.assert_error("InvalidParameterException", self.budgets.create_budget, AccountId=ACCOUNT_ID, Budget={
            "BudgetName": "usage", "BudgetLimit": {"Amount": "1", "Unit": "USD"}, "TimeUnit": "MONTHLY",
            "BudgetType": "USAGE"})
        self.assert_error("AccessDeniedException", self.budgets.describe_budgets, AccountId="999999999999")
        names = [b["BudgetName"] for b in self.budgets.describe_budgets(AccountId=ACCOUNT_ID)["Budgets"]]
        for refused in ("bad-filter", "bad-key", "bad-expr", "bad-amount", "custom-no-period", "usage"):
            self.assertNotIn(refused, names)
        self.assertEqual(self.budgets.describe_notifications_for_budget(
            AccountId=ACCOUNT_ID, BudgetName="original")["Notifications"], [])

    def test_performance_history_lists_each_period_since_the_budget_starts(self):
        first = dt.date.fromisoformat(month_period()["Start"])
        three_back = (first - dt.timedelta(days=80)).replace(day=1)
        start = dt.datetime.combine(three_back, dt.time(), dt.timezone.utc)
        self.create("history", CostFilters={"TagKeyValue": ["user:team$growth"]},
                    TimePeriod={"Start": start, "End": dt.datetime(2087, 6, 15, tzinfo=dt.timezone.utc)})
        self.converse(self.growth)
        history = self.budgets.describe_budget_performance_history(AccountId=ACCOUNT_ID, BudgetName="history")
        amounts = history["BudgetPerformanceHistory"]["BudgetedAndActualAmountsList"]
        starts = [a["TimePeriod"]["Start"].date() for a in amounts]
        self.assertEqual(starts[0], three_back, "from the budget's start")
        self.assertEqual(starts[-1], first, "to the current month")
        self.assertEqual(len(amounts), 4)  # 80 days before a first of a month is in the third month back
        self.assertEqual(Decimal(amounts[-1]["ActualAmount"]["Amount"]), self.ce_cost("growth"))
        self.assertEqual(amounts[-1]["BudgetedAmount"], {"Amount": "100", "Unit": "USD"})
        self.assertTrue(all(Decimal(a["ActualAmount"]["Amount"]) == 0 for a in amounts[:-1]))
        page = self.budgets.describe_budget_performance_history(AccountId=ACCOUNT_ID, BudgetName="history", MaxResults=2)
        self.assertEqual(len(page["BudgetPerformanceHistory"]["BudgetedAndActualAmountsList"]), 2)
        rest = self.budgets.describe_budget_performance_history(AccountId=ACCOUNT_ID, BudgetName="history",
                                                                NextToken=page["NextToken"])
        self.assertEqual(len(rest["BudgetPerformanceHistory"]["BudgetedAndActualAmountsList"]), len(amounts) - 2)

    def test_planned_limits_give_each_month_its_own_limit(self):
        first = dt.datetime.now(dt.timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        following = (first + dt.timedelta(days=32)).replace(day=1)
        key = lambda t: str(int(t.timestamp()))  # noqa: E731
        planned = {key(first): {"Amount": "3", "Unit": "USD"}, key(following): {"Amount": "7.5", "Unit": "USD"}}
        self.budgets.create_budget(AccountId=ACCOUNT_ID, Budget={
            "BudgetName": "planned", "TimeUnit": "MONTHLY", "BudgetType": "COST", "PlannedBudgetLimits": planned})
        budget = self.describe("planned")
        self.assertEqual(budget["BudgetLimit"], {"Amount": "3", "Unit": "USD"}, "this month's planned limit")
        self.assertEqual(budget["PlannedBudgetLimits"], planned)
        self.assert_error("InvalidParameterException", self.budgets.create_budget, AccountId=ACCOUNT_ID, Budget={
            "BudgetName": "planned-daily", "TimeUnit": "DAILY", "BudgetType": "COST", "PlannedBudgetLimits": planned})
        self.assert_error("NotFoundException", self.budgets.describe_budget, AccountId=ACCOUNT_ID,
                          BudgetName="planned-daily")

    def test_a_custom_budget_counts_its_own_period(self):
        now = dt.datetime.now(dt.timezone.utc)
        self.converse(self.growth)
        self.create("custom-future", TimeUnit="CUSTOM",
                    TimePeriod={"Start": now + dt.timedelta(days=40), "End": now + dt.timedelta(days=70)})
        self.assertEqual(Decimal(self.describe("custom-future")["CalculatedSpend"]["ActualSpend"]["Amount"]), 0)
        self.create("custom-now", TimeUnit="CUSTOM",
                    TimePeriod={"Start": now - dt.timedelta(days=1), "End": now + dt.timedelta(days=1)})
        self.assertGreater(Decimal(self.describe("custom-now")["CalculatedSpend"]["ActualSpend"]["Amount"]), 0)


class Notifications(unittest.TestCase):
    """Notifications delivered to the notification log, once per budget period."""

    @classmethod
    def setUpClass(cls):
        cls.gateway = Gateway(config="budgets:\n  evaluate_ms: 200\n").start()
        cls.log = os.path.join(cls.gateway.data_dir, "budget-notifications.log")
        cls.bedrock = client("bedrock", cls.gateway.endpoint)
        cls.runtime = client("bedrock-runtime", cls.gateway.endpoint)
        cls.budgets = client("budgets", cls.gateway.endpoint)

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop_and_close()

    def lines(self) -> list[dict]:
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def wait_for_lines(self, count: int, seconds: float = 10) -> list[dict]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and len(self.lines()) < count:
            time.sleep(0.1)
        return self.lines()

    def test_a_crossed_threshold_is_delivered_once_per_period(self):
        profile = self.bedrock.create_inference_profile(
            inferenceProfileName="notified-bot", modelSource={"copyFrom": HAIKU_ARN})["inferenceProfileArn"]
        email = {"SubscriptionType": "EMAIL", "Address": "finops@example.com"}
        self.budgets.create_budget(
            AccountId=ACCOUNT_ID,
            Budget={"BudgetName": "watched", "BudgetLimit": {"Amount": "0.00001", "Unit": "USD"},
                    "TimeUnit": "MONTHLY", "BudgetType": "COST",
                    "CostFilters": {"ResourceId": [profile]}},
            NotificationsWithSubscribers=[
                {"Notification": notification(80), "Subscribers": [email]},
                {"Notification": notification(1_000_000), "Subscribers": [email]}])  # never crossed
        time.sleep(0.6)
        self.assertEqual(self.lines(), [], "nothing is spent yet")
        self.runtime.converse(modelId=profile, messages=[{"role": "user", "content": [{"text": "spend a little"}]}])
        lines = self.wait_for_lines(1)
        self.assertEqual(len(lines), 1, lines)
        alert = lines[0]
        self.assertEqual((alert["accountId"], alert["budgetName"]), (ACCOUNT_ID, "watched"))
        self.assertEqual(alert["notification"]["Threshold"], 80)
        self.assertEqual(alert["notification"]["NotificationState"], "ALARM")
        self.assertEqual(alert["subscribers"], [email])
        self.assertEqual(alert["budgetLimit"], "0.00001")
        self.assertGreater(Decimal(alert["actualSpend"]), Decimal("0.000008"))
        self.assertEqual(alert["periodStart"][:10], month_period()["Start"])
        # More spend in the same period: no second delivery.
        self.runtime.converse(modelId=profile, messages=[{"role": "user", "content": [{"text": "and more"}]}])
        time.sleep(1.0)
        self.assertEqual(len(self.lines()), 1)


ENFORCE_BLOCK = [{"Key": "tollgate:enforcement", "Value": "block"}]


class BlockingBudgets(unittest.TestCase):
    """Budgets tagged tollgate:enforcement refuse the requests that could cross their limit."""

    @classmethod
    def setUpClass(cls):
        cls.gateway = Gateway(config="io_threads: 4\n").start()
        cls.connect()

    @classmethod
    def connect(cls):
        cls.bedrock = client("bedrock", cls.gateway.endpoint)
        cls.budgets = client("budgets", cls.gateway.endpoint)
        # One connection per worker thread: boto3 clients share a pool of 10 connections by default.
        cls.runtime = boto3.session.Session().client(
            "bedrock-runtime", endpoint_url=cls.gateway.endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=64))

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop_and_close()

    def profile(self, name: str) -> str:
        return self.bedrock.create_inference_profile(
            inferenceProfileName=name, modelSource={"copyFrom": HAIKU_ARN})["inferenceProfileArn"]

    def blocking_budget(self, name: str, profile: str, amount: str, tags=ENFORCE_BLOCK) -> None:
        self.budgets.create_budget(
            AccountId=ACCOUNT_ID,
            Budget={"BudgetName": name, "BudgetLimit": {"Amount": amount, "Unit": "USD"}, "TimeUnit": "MONTHLY",
                    "BudgetType": "COST", "CostFilters": {"ResourceId": [profile]}},
            ResourceTags=tags)

    def converse(self, profile: str, text: str = "what does this cost?", max_tokens: int = 40):
        """(cost in USD, None) for an answered call, (None, error code and message) for a refused one."""
        try:
            response = self.runtime.converse(modelId=profile, messages=[{"role": "user", "content": [{"text": text}]}],
                                             inferenceConfig={"maxTokens": max_tokens})
            return Decimal(response["ResponseMetadata"]["HTTPHeaders"]["x-tollgate-cost-usd"]), None
        except ClientError as e:
            return None, (e.response["Error"]["Code"], e.response["Error"]["Message"])

    def actual_spend(self, name: str) -> Decimal:
        budget = self.budgets.describe_budget(AccountId=ACCOUNT_ID, BudgetName=name)["Budget"]
        return Decimal(budget["CalculatedSpend"]["ActualSpend"]["Amount"])

    def test_hundreds_of_parallel_requests_never_overspend(self):
        from concurrent.futures import ThreadPoolExecutor
        profile = self.profile("capped-bot")
        limit = Decimal("0.005")  # about a third of the 300 calls below, at their worst case
        self.blocking_budget("capped", profile, str(limit))
        with ThreadPoolExecutor(max_workers=48) as pool:
            outcomes = list(pool.map(lambda i: self.converse(profile, f"question {i}: what does this cost?"),
                                     range(300)))
        answered = [cost for cost, error in outcomes if error is None]
        refused = [error for cost, error in outcomes if error is not None]
        self.assertGreater(len(answered), 50)
        self.assertGreater(len(refused), 50)
        self.assertEqual({code for code, _ in refused} - {"AccessDeniedException", "ThrottlingException"}, set(),
                         "every admitted request succeeds; the others are refused by the budget")
        spent = self.actual_spend("capped")
        self.assertEqual(spent, sum(answered), "the budget's actual spend is the answered calls' cost")
        self.assertLessEqual(spent, limit)
        # Now that nothing is in flight, a call that could cross the limit is blocked, naming the budget.
        code, message = self.converse(profile, max_tokens=4096)[1]
        self.assertEqual(code, "AccessDeniedException")
        self.assertIn("Budget 'capped' blocks this request", message)
        self.assertIn("its limit is 0.005 USD per MONTHLY period", message)
        self.assertIn("The period resets at " + month_period()["End"] + "T00:00:00Z", message)
        self.assertEqual(self.actual_spend("capped"), spent, "a refused call costs nothing")

    def test_the_budget_blocks_until_it_changes(self):
        profile = self.profile("changing-bot")
        other = self.profile("unbudgeted-bot")
        self.blocking_budget("tiny", profile, "0.00001")
        code, message = self.converse(profile)[1]
        self.assertEqual(code, "AccessDeniedException", message)
        self.assertIsNone(self.converse(other)[1], "usage outside the budget's filter is not blocked")
        arn = f"arn:aws:budgets::{ACCOUNT_ID}:budget/tiny"
        self.assertEqual(self.budgets.list_tags_for_resource(ResourceARN=arn)["ResourceTags"], ENFORCE_BLOCK)

        # Throttle mode answers ThrottlingException instead.
        self.budgets.tag_resource(ResourceARN=arn, ResourceTags=[{"Key": "tollgate:enforcement", "Value": "throttle"}])
        self.assertEqual(self.converse(profile)[1][0], "ThrottlingException")
        # A higher limit admits the call at once.
        self.budgets.update_budget(AccountId=ACCOUNT_ID, NewBudget={
            "BudgetName": "tiny", "BudgetLimit": {"Amount": "1", "Unit": "USD"}, "TimeUnit": "MONTHLY",
            "BudgetType": "COST", "CostFilters": {"ResourceId": [profile]}})
        cost, error = self.converse(profile)
        self.assertIsNone(error)
        self.assertEqual(self.actual_spend("tiny"), cost)
        # Back to a tiny limit, then untagged: the budget only alerts, and nothing is refused.
        self.budgets.update_budget(AccountId=ACCOUNT_ID, NewBudget={
            "BudgetName": "tiny", "BudgetLimit": {"Amount": "0.00001", "Unit": "USD"}, "TimeUnit": "MONTHLY",
            "BudgetType": "COST", "CostFilters": {"ResourceId": [profile]}})
        self.assertEqual(self.converse(profile)[1][0], "ThrottlingException")
        self.budgets.untag_resource(ResourceARN=arn, ResourceTagKeys=["tollgate:enforcement"])
        self.assertIsNone(self.converse(profile)[1])
        self.assertEqual(self.budgets.list_tags_for_resource(ResourceARN=arn)["ResourceTags"], [])

    def test_a_blocking_budget_survives_a_restart(self):
        profile = self.profile("restarted-bot")
        self.blocking_budget("restart", profile, "0.0001")
        spent = Decimal(0)
        while (outcome := self.converse(profile, max_tokens=20))[1] is None:
            spent += outcome[0]
        self.gateway.stop()
        self.gateway.start()
        self.connect()
        self.assertEqual(self.converse(profile, max_tokens=20)[1][0], "AccessDeniedException",
                         "the spend is counted again from the ledger at start-up")
        self.assertEqual(self.actual_spend("restart"), spent)

    def test_bad_enforcement_settings_are_refused_and_change_nothing(self):
        profile = self.profile("misconfigured-bot")
        with self.assertRaises(ClientError) as caught:
            self.blocking_budget("bad", profile, "0.00001", [{"Key": "tollgate:enforcement", "Value": "stop"}])
        self.assertEqual(caught.exception.response["Error"]["Code"], "InvalidParameterException")
        self.assertIn("block", caught.exception.response["Error"]["Message"])
        self.assertIsNone(self.converse(profile)[1])
        with self.assertRaises(ClientError) as caught:
            self.budgets.tag_resource(ResourceARN=f"arn:aws:budgets::{ACCOUNT_ID}:budget/missing",
                                      ResourceTags=ENFORCE_BLOCK)
        self.assertEqual(caught.exception.response["Error"]["Code"], "NotFoundException")
        with self.assertRaises(ClientError) as caught:
            self.budgets.list_tags_for_resource(ResourceARN="arn:aws:bedrock:us-east-1::foundation-model/x")
        self.assertEqual(caught.exception.response["Error"]["Code"], "InvalidParameterException")


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that records every POST; /flaky answers 503 to its first POST."""

    def __init__(self):
        self.posts: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.posts.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    first_flaky = self.path == "/flaky" and sum(p["path"] == "/flaky" for p in receiver.posts) == 1
                self.send_response(503 if first_flaky else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, seconds: float = 15) -> list[dict]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.posts) >= count:
                    return list(self.posts)
            time.sleep(0.05)
        with self.lock:
            return list(self.posts)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Webhooks(unittest.TestCase):
    """ACTUAL and FORECASTED alerts POSTed to webhooks (retried, signed, logged) and appended to files."""

    SECRET = "webhook-secret"

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.TemporaryDirectory()
        data = os.path.join(cls.work.name, "data")
        today = dt.datetime.now(dt.timezone.utc).date()
        # Three weeks of history, so that the budget has a forecast.
        subprocess.run([binary_path(), "generate-usage", "--data", data, "--records", "2100", "--from",
                        (today - dt.timedelta(days=21)).isoformat(), "--to", today.isoformat()],
                       check=True, capture_output=True)
        cls.receiver = WebhookReceiver()
        cls.gateway = Gateway(data_dir=data, config=(
            f"budgets:\n  evaluate_ms: 200\n  file_directory: {cls.work.name}/alerts\n"
            f"  webhook:\n    attempts: 3\n    backoff_ms: 50\n    timeout_ms: 2000\n    secret: {cls.SECRET}\n")).start()
        cls.budgets = client("budgets", cls.gateway.endpoint)
        cls.runtime = client("bedrock-runtime", cls.gateway.endpoint)
        cls.deliveries = os.path.join(data, "budget-deliveries.log")

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop_and_close()
        cls.receiver.close()
        cls.work.cleanup()

    def delivery_log(self) -> list[dict]:
        with open(self.deliveries) as f:
            return [json.loads(line) for line in f if line.strip()]

    def test_actual_and_forecasted_alerts_reach_their_webhooks_and_files(self):
        # Some spend this month for certain (the generated history ends yesterday).
        self.runtime.converse(modelId=HAIKU_ARN, messages=[{"role": "user", "content": [{"text": "spend"}]}])
        os.makedirs(os.path.join(self.work.name, "alerts"), exist_ok=True)
        alerts_file = os.path.join(self.work.name, "alerts", "alerts.jsonl")
        forbidden = os.path.join(self.work.name, "elsewhere.jsonl")  # outside budgets.file_directory
        dead = "http://127.0.0.1:1/dead"  # nothing listens: every attempt fails to connect
        self.budgets.create_budget(
            AccountId=ACCOUNT_ID,
            Budget={"BudgetName": "hooked", "BudgetLimit": {"Amount": "1000000", "Unit": "USD"},
                    "TimeUnit": "MONTHLY", "BudgetType": "COST"},
            NotificationsWithSubscribers=[
                {"Notification": notification(0.000001, threshold_type="ABSOLUTE_VALUE"),
                 "Subscribers": [{"SubscriptionType": "SNS", "Address": self.receiver.url + "/flaky"},
                                 {"SubscriptionType": "SNS", "Address": "file://" + alerts_file},
                                 {"SubscriptionType": "SNS", "Address": "file://" + forbidden}]},
                {"Notification": notification(0.000001, kind="FORECASTED", threshold_type="ABSOLUTE_VALUE"),
                 "Subscribers": [{"SubscriptionType": "SNS", "Address": self.receiver.url + "/hook"},
                                 {"SubscriptionType": "SNS", "Address": dead}]}])
        posts = self.receiver.wait_for(3)
        self.assertEqual(sorted(p["path"] for p in posts), ["/flaky", "/flaky", "/hook"])
        for post in posts:
            signature = hmac.new(self.SECRET.encode(), post["body"], hashlib.sha256).hexdigest()
            self.assertEqual(post["headers"]["X-Tollgate-Signature"], "sha256=" + signature)
            self.assertEqual(post["headers"]["Content-Type"], "application/json")
        alerts = {p["path"]: json.loads(p["body"]) for p in posts}
        self.assertEqual(alerts["/flaky"]["notification"]["NotificationType"], "ACTUAL")
        self.assertEqual(alerts["/hook"]["notification"]["NotificationType"], "FORECASTED")
        self.assertIn("forecastedSpend", alerts["/hook"])
        self.assertEqual(alerts["/hook"]["budgetName"], "hooked")
        flaky = [p["headers"] for p in posts if p["path"] == "/flaky"]
        self.assertEqual([h["X-Tollgate-Attempt"] for h in flaky], ["1", "2"])
        self.assertEqual(flaky[0]["X-Tollgate-Delivery"], flaky[1]["X-Tollgate-Delivery"], "one delivery, retried")

        # The delivery log: every attempt, the dead webhook given up after 3.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and sum(x["address"] == dead for x in self.delivery_log()) < 3:
            time.sleep(0.1)
        outcomes = {}
        for line in self.delivery_log():
            outcomes.setdefault(line["address"], []).append((line["attempt"], line["outcome"], line.get("status")))
        self.assertEqual(outcomes[self.receiver.url + "/flaky"], [(1, "retrying", 503), (2, "delivered", 200)])
        self.assertEqual(outcomes[self.receiver.url + "/hook"], [(1, "delivered", 200)])
        self.assertEqual(outcomes["file://" + alerts_file], [(1, "delivered", None)])
        self.assertEqual(outcomes["file://" + forbidden], [(1, "failed", None)])
        self.assertFalse(os.path.exists(forbidden), "nothing is written outside budgets.file_directory")
        self.assertEqual(outcomes[dead], [(1, "retrying", None), (2, "retrying", None), (3, "failed", None)])
        with open(alerts_file) as f:
            lines = [json.loads(line) for line in f]
        self.assertEqual([x["notification"]["NotificationType"] for x in lines], ["ACTUAL"])

        # Once per period: later rounds deliver nothing more.
        time.sleep(0.8)
        self.assertEqual(len(self.receiver.posts), 3)

    def test_a_subscriber_address_that_cannot_be_delivered_to_is_refused(self):
        with self.assertRaises(ClientError) as caught:
            self.budgets.create_budget(
                AccountId=ACCOUNT_ID,
                Budget={"BudgetName": "unreachable", "BudgetLimit": {"Amount": "1", "Unit": "USD"},
                        "TimeUnit": "MONTHLY", "BudgetType": "COST"},
                NotificationsWithSubscribers=[{"Notification": notification(),
                                               "Subscribers": [{"SubscriptionType": "SNS", "Address": "finops"}]}])
        self.assertEqual(caught.exception.response["Error"]["Code"], "InvalidParameterException")
        self.assertIn("webhook URL", caught.exception.response["Error"]["Message"])
        with self.assertRaises(ClientError):
            self.budgets.describe_budget(AccountId=ACCOUNT_ID, BudgetName="unreachable")


if __name__ == "__main__":
    unittest.main(verbosity=2)
