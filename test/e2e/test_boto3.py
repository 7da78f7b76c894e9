#!/usr/bin/env python3
"""End-to-end: boto3 (the machine's pip package) against the real tollgate binary.

Covers the application inference profile lifecycle, the paginator, Bedrock API
key (Bearer) authentication and a matrix of bad inputs. Every bad input must get
the AWS error code and HTTP status a real service returns, a message that says
what to fix, and must leave the store unchanged (all APPLICATION profiles of the
regions involved, and the tags of each, compared before and after).

Run: TOLLGATE_BINARY=build/tollgate python3 test/e2e/test_boto3.py
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import re
import sys
import unittest
import urllib.error
import urllib.request
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from e2e_env import isolate_this_process  # noqa: E402
from gateway import ACCESS_KEY, ACCOUNT_ID, API_KEY, E2E_CONFIG, SECRET_KEY, Gateway  # noqa: E402

isolate_this_process()

import boto3  # noqa: E402
import botocore  # noqa: E402
import botocore.auth  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from botocore.exceptions import ClientError, ConnectionError as BotoConnectionError, HTTPClientError  # noqa: E402

REGION = "us-east-1"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
US_HAIKU = "us." + HAIKU
ONE_MIB = 1024 * 1024
APP_ARN = re.compile(rf"^arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:application-inference-profile/([a-z0-9]{{12}})$")


def model_arn(region: str = REGION, model: str = HAIKU) -> str:
    return f"arn:aws:bedrock:{region}::foundation-model/{model}"


def system_profile_arn(region: str = REGION, profile: str = US_HAIKU) -> str:
    return f"arn:aws:bedrock:{region}:{ACCOUNT_ID}:inference-profile/{profile}"


def bedrock(endpoint: str, region: str = REGION, key: str = ACCESS_KEY, secret: str = SECRET_KEY):
    """A bedrock client on its own session, one attempt per call (errors are not retried)."""
    return boto3.session.Session().client(
        "bedrock",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def tag_dict(tags: list[dict]) -> dict:
    return {t["key"]: t["value"] for t in tags}


def strip_metadata(response: dict) -> dict:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


class RawResponse:
    def __init__(self, status: int, headers, body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> dict:
        return json.loads(self.body.decode())

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def raw_request(
    endpoint: str,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict | None = None,
    sign: bool = True,
    signed_at: datetime.datetime | None = None,
    region: str = REGION,
) -> RawResponse:
    """Sends one request with urllib, signed by botocore's SigV4Auth unless sign=False."""
    headers = dict(headers or {})
    if body:
        headers.setdefault("Content-Type", "application/json")
    request = AWSRequest(method=method, url=endpoint + path, data=body, headers=headers)
    if sign:
        signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "bedrock", region)
        if signed_at is None:
            signer.add_auth(request)
        else:
            with mock.patch.object(botocore.auth, "get_current_datetime", return_value=signed_at):
                signer.add_auth(request)
    prepared = request.prepare()
    req = urllib.request.Request(
        prepared.url, data=prepared.body or None, headers=dict(prepared.headers.items()), method=method
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return RawResponse(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as e:
        return RawResponse(e.code, e.headers, e.read())


class GatewayTestCase(unittest.TestCase):
    """One gateway (fresh data directory, free port) per test class."""

    @classmethod
    def setUpClass(cls):
        cls.gateway = Gateway(config=E2E_CONFIG).start()
        cls.endpoint = cls.gateway.endpoint
        cls.client = bedrock(cls.endpoint)

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop_and_close()

    def create(self, name: str, copy_from: str | None = None, client=None, **kwargs) -> str:
        client = client or self.client
        response = client.create_inference_profile(
            inferenceProfileName=name, modelSource={"copyFrom": copy_from or model_arn()}, **kwargs
        )
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 201)
        return response["inferenceProfileArn"]

    def list_all(self, client=None, **kwargs) -> list[dict]:
        client = client or self.client
        items = []
        for page in client.get_paginator("list_inference_profiles").paginate(**kwargs):
            items += page["inferenceProfileSummaries"]
        return items

    def assertClientError(self, error: ClientError, code: str, status: int, *fragments: str) -> None:
        response = error.response
        self.assertEqual(response["Error"]["Code"], code, response)
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], status, response)
        message = response["Error"].get("Message", "")
        for fragment in fragments:
            self.assertIn(fragment, message, f"the {code} message should mention {fragment!r}")
        self.assertTrue(response["ResponseMetadata"].get("RequestId"), "x-amzn-RequestId missing on an error")


class ProfileLifecycleTest(GatewayTestCase):
    def test_create_get_list_tag_untag_delete(self):
        created = self.client.create_inference_profile(
            inferenceProfileName="support-bot-prod",
            description="Support bot in production",
            modelSource={"copyFrom": model_arn()},
            tags=[{"key": "team", "value": "growth"}, {"key": "env", "value": "prod"}],
        )
        self.assertEqual(created["ResponseMetadata"]["HTTPStatusCode"], 201)
        self.assertEqual(created["status"], "ACTIVE")
        arn = created["inferenceProfileArn"]
        match = APP_ARN.match(arn)
        self.assertIsNotNone(match, arn)
        profile_id = match.group(1)

        by_arn = self.client.get_inference_profile(inferenceProfileIdentifier=arn)
        by_id = self.client.get_inference_profile(inferenceProfileIdentifier=profile_id)
        self.assertEqual(strip_metadata(by_arn), strip_metadata(by_id))
        self.assertEqual(by_arn["inferenceProfileName"], "support-bot-prod")
        self.assertEqual(by_arn["description"], "Support bot in production")
        self.assertEqual(by_arn["inferenceProfileArn"], arn)
        self.assertEqual(by_arn["inferenceProfileId"], profile_id)
        self.assertEqual(by_arn["models"], [{"modelArn": model_arn()}])
        self.assertEqual(by_arn["status"], "ACTIVE")
        self.assertEqual(by_arn["type"], "APPLICATION")
        now = datetime.datetime.now(datetime.timezone.utc)
        for field in ("createdAt", "updatedAt"):
            self.assertIsInstance(by_arn[field], datetime.datetime, field)
            self.assertLess(abs((now - by_arn[field]).total_seconds()), 300, field)

        applications = self.client.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]
        self.assertIn(arn, [p["inferenceProfileArn"] for p in applications])
        self.assertEqual({p["type"] for p in applications}, {"APPLICATION"})
        listed = next(p for p in applications if p["inferenceProfileArn"] == arn)
        self.assertEqual(listed["inferenceProfileName"], "support-bot-prod")
        self.assertEqual(listed["models"], [{"modelArn": model_arn()}])

        systems = self.client.list_inference_profiles(typeEquals="SYSTEM_DEFINED")["inferenceProfileSummaries"]
        self.assertEqual({p["type"] for p in systems}, {"SYSTEM_DEFINED"})
        self.assertIn(US_HAIKU, [p["inferenceProfileId"] for p in systems])
        self.assertNotIn(arn, [p["inferenceProfileArn"] for p in systems])
        untyped = self.client.list_inference_profiles()["inferenceProfileSummaries"]
        self.assertEqual(untyped, systems, "without typeEquals only SYSTEM_DEFINED profiles are listed")

        self.assertEqual(tag_dict(self.client.list_tags_for_resource(resourceARN=arn)["tags"]),
                         {"team": "growth", "env": "prod"})
        self.client.tag_resource(resourceARN=arn, tags=[{"key": "owner", "value": "alice"},
                                                        {"key": "team", "value": "platform"}])
        self.assertEqual(tag_dict(self.client.list_tags_for_resource(resourceARN=arn)["tags"]),
                         {"team": "platform", "env": "prod", "owner": "alice"})
        self.client.untag_resource(resourceARN=arn, tagKeys=["team", "no-such-key"])
        self.assertEqual(tag_dict(self.client.list_tags_for_resource(resourceARN=arn)["tags"]),
                         {"env": "prod", "owner": "alice"})

        deleted = self.client.delete_inference_profile(inferenceProfileIdentifier=arn)
        self.assertEqual(deleted["ResponseMetadata"]["HTTPStatusCode"], 200)
        with self.assertRaises(ClientError) as cm:
            self.client.get_inference_profile(inferenceProfileIdentifier=arn)
        self.assertClientError(cm.exception, "ResourceNotFoundException", 404, profile_id)
        with self.assertRaises(ClientError) as cm:
            self.client.list_tags_for_resource(resourceARN=arn)
        self.assertClientError(cm.exception, "ResourceNotFoundException", 404)
        with self.assertRaises(ClientError) as cm:
            self.client.delete_inference_profile(inferenceProfileIdentifier=arn)
        self.assertClientError(cm.exception, "ResourceNotFoundException", 404)
        applications = self.list_all(typeEquals="APPLICATION")
        self.assertNotIn(arn, [p["inferenceProfileArn"] for p in applications])

    def test_copy_from_system_profile_takes_its_models(self):
        arn = self.create("wraps-us-haiku", system_profile_arn())
        system = self.client.get_inference_profile(inferenceProfileIdentifier=US_HAIKU)
        self.assertEqual(system["type"], "SYSTEM_DEFINED")
        self.assertGreater(len(system["models"]), 1, "a cross-Region profile routes to several Regions")
        application = self.client.get_inference_profile(inferenceProfileIdentifier=arn)
        self.assertEqual(application["type"], "APPLICATION")
        self.assertEqual(sorted(m["modelArn"] for m in application["models"]),
                         sorted(m["modelArn"] for m in system["models"]))
        self.client.delete_inference_profile(inferenceProfileIdentifier=arn)

    def test_client_request_token_is_idempotent(self):
        kwargs = dict(inferenceProfileName="idempotent-one", modelSource={"copyFrom": model_arn()},
                      clientRequestToken="e2e-token-0001")
        first = self.client.create_inference_profile(**kwargs)["inferenceProfileArn"]
        second = self.client.create_inference_profile(**kwargs)["inferenceProfileArn"]
        self.assertEqual(first, second)
        named = [p for p in self.list_all(typeEquals="APPLICATION") if p["inferenceProfileName"] == "idempotent-one"]
        self.assertEqual(len(named), 1)
        self.client.delete_inference_profile(inferenceProfileIdentifier=first)

    def test_paginator_sees_every_profile_once(self):
        arns = {self.create(f"paged-{i}") for i in range(5)}
        pages = list(self.client.get_paginator("list_inference_profiles").paginate(
            typeEquals="APPLICATION", PaginationConfig={"PageSize": 2}))
        ids = [p["inferenceProfileArn"] for page in pages for p in page["inferenceProfileSummaries"]]
        self.assertGreaterEqual(len(pages), 3, "5 profiles in pages of 2 need at least 3 requests")
        self.assertTrue(all(len(page["inferenceProfileSummaries"]) <= 2 for page in pages))
        self.assertEqual(len(ids), len(set(ids)), "a profile was listed twice")
        self.assertTrue(arns <= set(ids), "a profile was missing from the paginated listing")
        one_page = self.client.list_inference_profiles(typeEquals="APPLICATION", maxResults=1000)
        self.assertNotIn("nextToken", one_page)
        self.assertEqual(sorted(ids), sorted(p["inferenceProfileArn"] for p in one_page["inferenceProfileSummaries"]))

        system_pages = list(self.client.get_paginator("list_inference_profiles").paginate(
            typeEquals="SYSTEM_DEFINED", PaginationConfig={"PageSize": 10}))
        system_ids = [p["inferenceProfileId"] for page in system_pages for p in page["inferenceProfileSummaries"]]
        all_systems = self.client.list_inference_profiles(typeEquals="SYSTEM_DEFINED", maxResults=1000)
        self.assertGreater(len(system_pages), 2)
        self.assertEqual(len(system_ids), len(set(system_ids)))
        self.assertEqual(system_ids, [p["inferenceProfileId"] for p in all_systems["inferenceProfileSummaries"]])
        for arn in arns:
            self.client.delete_inference_profile(inferenceProfileIdentifier=arn)

    def test_foundation_models(self):
        anthropic = self.client.list_foundation_models(byProvider="Anthropic")["modelSummaries"]
        self.assertIn(HAIKU, [m["modelId"] for m in anthropic])
        self.assertEqual({m["providerName"] for m in anthropic}, {"Anthropic"})
        everything = self.client.list_foundation_models()["modelSummaries"]
        self.assertGreater(len(everything), len(anthropic))
        images = self.client.list_foundation_models(byOutputModality="IMAGE")["modelSummaries"]
        self.assertTrue(images, "some model in us-east-1 outputs images")
        self.assertTrue(all("IMAGE" in m["outputModalities"] for m in images))

        details = self.client.get_foundation_model(modelIdentifier=HAIKU)["modelDetails"]
        self.assertEqual(details["modelId"], HAIKU)
        self.assertEqual(details["modelArn"], model_arn())
        self.assertEqual(details["providerName"], "Anthropic")
        self.assertIn("TEXT", details["inputModalities"])
        self.assertEqual(details["modelLifecycle"]["status"], "ACTIVE")
        by_arn = self.client.get_foundation_model(modelIdentifier=model_arn())["modelDetails"]
        self.assertEqual(by_arn, details)
        with self.assertRaises(ClientError) as cm:
            self.client.get_foundation_model(modelIdentifier="acme.nothing-v1:0")
        self.assertClientError(cm.exception, "ResourceNotFoundException", 404, "acme.nothing-v1:0")

    def test_request_id_on_success(self):
        first = self.client.list_inference_profiles(typeEquals="APPLICATION")["ResponseMetadata"]
        second = self.client.list_foundation_models(byProvider="Amazon")["ResponseMetadata"]
        for meta in (first, second):
            self.assertTrue(meta.get("RequestId"))
            self.assertEqual(meta["HTTPHeaders"].get("x-amzn-requestid"), meta["RequestId"])
        self.assertNotEqual(first["RequestId"], second["RequestId"])


class BearerApiKeyTest(GatewayTestCase):
    """Bedrock API keys: botocore >= 1.39 sends AWS_BEARER_TOKEN_BEDROCK as `Authorization: Bearer`."""

    def bearer_client(self, token: str):
        with mock.patch.dict(os.environ, {"AWS_BEARER_TOKEN_BEDROCK": token}):
            client = bedrock(self.endpoint)
        sent = []
        client.meta.events.register("before-send.bedrock.*",
                                    lambda request, **_: sent.append(request.headers.get("Authorization")))
        return client, sent

    def test_bearer_token(self):
        if not hasattr(botocore.utils, "get_token_from_environment"):  # pragma: no cover - older botocore
            self.skipTest(f"botocore {botocore.__version__} has no bearer auth for bedrock; see test_raw_bearer_request")
        with mock.patch.dict(os.environ, {"AWS_BEARER_TOKEN_BEDROCK": API_KEY}):
            client, sent = self.bearer_client(API_KEY)
            arn = self.create("made-with-api-key", client=client)
            got = client.get_inference_profile(inferenceProfileIdentifier=arn)
        self.assertTrue(sent and all(h == f"Bearer {API_KEY}".encode() for h in sent), sent)
        self.assertEqual(got["inferenceProfileName"], "made-with-api-key")
        # The API key's account and the gateway's default region: the SigV4 principal sees it too.
        self.assertIn(arn, [p["inferenceProfileArn"] for p in self.list_all(typeEquals="APPLICATION")])

        with mock.patch.dict(os.environ, {"AWS_BEARER_TOKEN_BEDROCK": "not-a-key"}):
            client, sent = self.bearer_client("not-a-key")
            with self.assertRaises(ClientError) as cm:
                client.list_inference_profiles(typeEquals="APPLICATION")
        self.assertEqual(sent, [b"Bearer not-a-key"])
        self.assertClientError(cm.exception, "UnrecognizedClientException", 403)

    def test_raw_bearer_request(self):
        ok = raw_request(self.endpoint, "GET", "/inference-profiles?type=APPLICATION", sign=False,
                         headers={"Authorization": f"Bearer {API_KEY}"})
        self.assertEqual(ok.status, 200, ok.body)
        self.assertIn("inferenceProfileSummaries", ok.json())
        self.assertTrue(ok.header("x-amzn-RequestId"))
        bad = raw_request(self.endpoint, "GET", "/inference-profiles?type=APPLICATION", sign=False,
                          headers={"Authorization": "Bearer wrong-token"})
        self.assertEqual(bad.status, 403, bad.body)
        self.assertEqual(bad.header("x-amzn-ErrorType"), "UnrecognizedClientException")


class BadInputTest(GatewayTestCase):
    """Each bad input gets the right error, says what to fix, and changes nothing."""

    REGIONS = (REGION, "us-west-2", "sa-east-1")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        created = cls.client.create_inference_profile(
            inferenceProfileName="baseline-one", modelSource={"copyFrom": model_arn()},
            tags=[{"key": "team", "value": "growth"}, {"key": "env", "value": "prod"}])
        cls.baseline_arn = created["inferenceProfileArn"]
        cls.baseline_id = cls.baseline_arn.rsplit("/", 1)[1]
        fifty = [{"key": f"k{i:02d}", "value": f"v{i}"} for i in range(50)]
        created = cls.client.create_inference_profile(
            inferenceProfileName="fifty-tags", modelSource={"copyFrom": model_arn()}, tags=fifty)
        cls.full_arn = created["inferenceProfileArn"]
        cls.clients = {region: bedrock(cls.endpoint, region) for region in cls.REGIONS}

    def snapshot(self) -> dict:
        state = {}
        for region, client in self.clients.items():
            for p in self.list_all(client=client, typeEquals="APPLICATION"):
                tags = client.list_tags_for_resource(resourceARN=p["inferenceProfileArn"])["tags"]
                state[p["inferenceProfileArn"]] = (p, sorted((t["key"], t["value"]) for t in tags))
        return state

    def test_snapshot_sees_the_baseline(self):
        state = self.snapshot()
        self.assertIn(self.baseline_arn, state)
        self.assertEqual(state[self.baseline_arn][1], [("env", "prod"), ("team", "growth")])
        self.assertEqual(len(state[self.full_arn][1]), 50)

    def rejected(self, call, code: str, status: int, *fragments: str) -> ClientError:
        before = self.snapshot()
        with self.assertRaises(ClientError) as cm:
            call()
        self.assertClientError(cm.exception, code, status, *fragments)
        self.assertEqual(self.snapshot(), before, "a rejected request changed the store")
        return cm.exception

    def raw_rejected(self, code: str, status: int, fragments: tuple[str, ...], *args, **kwargs) -> RawResponse:
        before = self.snapshot()
        response = raw_request(self.endpoint, *args, **kwargs)
        self.assertEqual(response.status, status, response.body)
        self.assertEqual(response.header("x-amzn-ErrorType"), code, response.body)
        self.assertTrue(response.header("x-amzn-RequestId"), "x-amzn-RequestId missing on an error")
        message = response.json().get("message", "")
        for fragment in fragments:
            self.assertIn(fragment, message)
        self.assertEqual(self.snapshot(), before, "a rejected request changed the store")
        return response

    def create_call(self, name="new-profile", copy_from=None, client=None, **kwargs):
        client = client or self.client
        return lambda: client.create_inference_profile(
            inferenceProfileName=name, modelSource={"copyFrom": copy_from or model_arn()}, **kwargs)

    @staticmethod
    def create_body(name="raw-profile") -> bytes:
        return json.dumps({"inferenceProfileName": name, "modelSource": {"copyFrom": model_arn()}}).encode()

    # -- names, models, regions ------------------------------------------
    def test_invalid_name(self):
        self.rejected(self.create_call("bad name!"), "ValidationException", 400, "inferenceProfileName", "bad name!")

    def test_name_too_long(self):
        self.rejected(self.create_call("n" * 65), "ValidationException", 400, "inferenceProfileName", "64")

    def test_unknown_model(self):
        # The service model lists ResourceNotFoundException for CreateInferenceProfile; a
        # ValidationException is also what AWS answers for some invalid sources. Either way the
        # status must match the code and the message must name the model.
        before = self.snapshot()
        with self.assertRaises(ClientError) as cm:
            self.create_call(copy_from=model_arn(model="acme.nothing-v1:0"))()
        code = cm.exception.response["Error"]["Code"]
        self.assertIn(code, ("ResourceNotFoundException", "ValidationException"))
        self.assertClientError(cm.exception, code, {"ResourceNotFoundException": 404, "ValidationException": 400}[code],
                               "acme.nothing-v1:0")
        self.assertEqual(self.snapshot(), before)

    def test_model_not_offered_in_region(self):
        self.rejected(self.create_call("in-sao-paulo", model_arn("sa-east-1"), client=self.clients["sa-east-1"]),
                      "ValidationException", 400, HAIKU, "sa-east-1", "us-east-1")

    def test_copy_from_another_region(self):
        self.rejected(self.create_call(copy_from=model_arn("us-west-2")), "ValidationException", 400, "us-west-2")

    def test_duplicate_name(self):
        self.rejected(self.create_call("baseline-one"), "ConflictException", 400, "baseline-one", self.baseline_arn)

    # -- tags ------------------------------------------------------------
    def test_too_many_tags_on_create(self):
        tags = [{"key": f"key{i}", "value": "v"} for i in range(51)]
        self.rejected(self.create_call(tags=tags), "TooManyTagsException", 400, "50")

    def test_tagging_past_fifty(self):
        self.rejected(lambda: self.client.tag_resource(resourceARN=self.full_arn, tags=[{"key": "one-more", "value": "x"}]),
                      "TooManyTagsException", 400, self.full_arn, "50")
        tags = [{"key": f"extra{i}", "value": "x"} for i in range(49)]  # 2 existing + 49 = 51
        self.rejected(lambda: self.client.tag_resource(resourceARN=self.baseline_arn, tags=tags),
                      "TooManyTagsException", 400, self.baseline_arn, "50")
        # Re-setting an existing key adds no tag: still 50, accepted.
        self.client.tag_resource(resourceARN=self.full_arn, tags=[{"key": "k00", "value": "v0"}])
        self.assertEqual(len(self.client.list_tags_for_resource(resourceARN=self.full_arn)["tags"]), 50)

    def test_more_than_200_tags_in_one_request(self):
        tags = [{"key": f"key{i}", "value": "v"} for i in range(201)]
        self.rejected(lambda: self.client.tag_resource(resourceARN=self.baseline_arn, tags=tags),
                      "ValidationException", 400, "200")

    def test_invalid_tag_key(self):
        with self.subTest("create"):
            self.rejected(self.create_call(tags=[{"key": "bad#key", "value": "v"}]),
                          "ValidationException", 400, "bad#key")
        with self.subTest("tag-resource"):
            self.rejected(lambda: self.client.tag_resource(resourceARN=self.baseline_arn,
                                                           tags=[{"key": "bad#key", "value": "v"}]),
                          "ValidationException", 400, "bad#key")

    def test_reserved_aws_prefix(self):
        for key in ("aws:team", "AWS:Team"):
            with self.subTest(key=key):
                self.rejected(lambda: self.client.tag_resource(resourceARN=self.baseline_arn,
                                                               tags=[{"key": key, "value": "v"}]),
                              "ValidationException", 400, key, "aws:")
        with self.subTest("create"):
            self.rejected(self.create_call(tags=[{"key": "aws:createdBy", "value": "me"}]),
                          "ValidationException", 400, "aws:")

    # -- identifiers -----------------------------------------------------
    def test_profile_name_as_identifier(self):
        with self.subTest("get"):
            self.rejected(lambda: self.client.get_inference_profile(inferenceProfileIdentifier="baseline-one"),
                          "ResourceNotFoundException", 404, self.baseline_arn)
        with self.subTest("delete"):
            self.rejected(lambda: self.client.delete_inference_profile(inferenceProfileIdentifier="baseline-one"),
                          "ResourceNotFoundException", 404, self.baseline_arn)

    def test_application_id_in_system_profile_arn(self):
        wrong = f"arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:inference-profile/{self.baseline_id}"
        with self.subTest("get"):
            self.rejected(lambda: self.client.get_inference_profile(inferenceProfileIdentifier=wrong),
                          "ResourceNotFoundException", 404, self.baseline_arn)
        with self.subTest("delete"):
            self.rejected(lambda: self.client.delete_inference_profile(inferenceProfileIdentifier=wrong),
                          "ResourceNotFoundException", 404, self.baseline_arn)

    # -- authentication --------------------------------------------------
    def test_raw_signing_control(self):
        """The raw-request helper signs correctly, so the failures below are the intended ones."""
        response = raw_request(self.endpoint, "GET", "/inference-profiles?type=APPLICATION")
        self.assertEqual(response.status, 200, response.body)
        self.assertIn(self.baseline_arn, [p["inferenceProfileArn"] for p in response.json()["inferenceProfileSummaries"]])

    def test_wrong_secret(self):
        client = bedrock(self.endpoint, secret="not-the-secret")
        self.rejected(self.create_call(client=client), "InvalidSignatureException", 403,
                      "signature we calculated does not match")

    def test_unknown_access_key(self):
        client = bedrock(self.endpoint, key="AKIDUNKNOWN0000000000", secret="whatever")
        self.rejected(self.create_call(client=client), "UnrecognizedClientException", 403,
                      "security token included in the request is invalid")

    def test_expired_signature(self):
        twenty_minutes_ago = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=20)
        self.raw_rejected("InvalidSignatureException", 403, ("Signature expired",),
                          "POST", "/inference-profiles", self.create_body(), signed_at=twenty_minutes_ago)

    def test_missing_authentication(self):
        self.raw_rejected("MissingAuthenticationTokenException", 403, ("Missing Authentication Token",),
                          "POST", "/inference-profiles", self.create_body(), sign=False)

    def test_malformed_authorization_header(self):
        amz_date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        header = (f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{amz_date[:8]}/{REGION}/bedrock/aws4_request, "
                  "SignedHeaders=host;x-amz-date")  # no Signature
        self.raw_rejected("IncompleteSignatureException", 400, ("Signature",),
                          "POST", "/inference-profiles", self.create_body(), sign=False,
                          headers={"Authorization": header, "X-Amz-Date": amz_date,
                                   "Content-Type": "application/json"})

    # -- bodies ----------------------------------------------------------
    def test_malformed_json(self):
        self.raw_rejected("ValidationException", 400, ("JSON",), "POST", "/inference-profiles", b"{not json")

    def test_oversized_body(self):
        """Content-Length over the limit: 413 ValidationException, answered (no connection reset)."""
        before = self.snapshot()
        with self.assertRaises(ClientError) as cm:
            try:
                self.create_call(description="a" * (ONE_MIB + 16))()
            except (HTTPClientError, BotoConnectionError) as e:
                raise self.failureException(
                    f"the gateway closed the connection instead of answering 413 ({type(e).__name__}: {e})") from None
        self.assertClientError(cm.exception, "ValidationException", 413, str(ONE_MIB))
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-errortype"),
                         "ValidationException")
        self.assertEqual(self.snapshot(), before)

    def test_oversized_chunked_body(self):
        """A chunked body that grows past the limit is refused the same way, while it is still arriving."""
        before = self.snapshot()
        conn = http.client.HTTPConnection("127.0.0.1", self.gateway.port, timeout=30)
        try:
            chunks = (b"x" * 65536 for _ in range(2 * ONE_MIB // 65536))
            conn.request("POST", "/inference-profiles", body=chunks, encode_chunked=True,
                         headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        self.assertEqual(response.status, 413, body)
        self.assertEqual(response.getheader("x-amzn-ErrorType"), "ValidationException")
        self.assertTrue(response.getheader("x-amzn-RequestId"))
        self.assertIn(str(ONE_MIB), json.loads(body)["message"])
        self.assertEqual(self.snapshot(), before)


class TagPolicyTest(unittest.TestCase):
    """A tag policy in the configuration: creates, tags and untags must leave every profile conforming."""

    POLICY = {"requiredTags": ["application", "environment", "owner-team", "cost-center", "workload-type"],
              "allowedEnvironments": ["dev", "staging", "prod"], "namingRule": "lowercase-with-hyphens"}
    COMPLIANT = [{"key": "application", "value": "support-bot"}, {"key": "environment", "value": "prod"},
                 {"key": "owner-team", "value": "growth"}, {"key": "cost-center", "value": "cc-42"},
                 {"key": "workload-type", "value": "chat"}]

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.work = tempfile.TemporaryDirectory()
        policy = os.path.join(cls.work.name, "tag-policy.json")
        with open(policy, "w") as f:
            json.dump(cls.POLICY, f)
        cls.gateway = Gateway(config=f"tag_policy: {policy}\n").start()
        cls.client = bedrock(cls.gateway.endpoint)

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop_and_close()
        cls.work.cleanup()

    def application_profiles(self) -> list[str]:
        listed = self.client.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]
        return sorted(p["inferenceProfileName"] for p in listed)

    def refused(self, call, **kwargs) -> str:
        with self.assertRaises(ClientError) as caught:
            call(**kwargs)
        self.assertEqual(caught.exception.response["Error"]["Code"], "ValidationException")
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        return caught.exception.response["Error"]["Message"]

    def test_a_non_compliant_profile_is_refused_and_nothing_is_stored(self):
        before = self.application_profiles()
        message = self.refused(self.client.create_inference_profile, inferenceProfileName="untidy",
                               modelSource={"copyFrom": model_arn()},
                               tags=[{"key": "environment", "value": "production"}, {"key": "Owner", "value": "x"}])
        self.assertIn("The tag 'application' is required (requiredTags of tag-policy.json)", message)
        self.assertIn("must be one of dev, staging, prod", message)
        self.assertIn("Example: environment=dev", message)
        self.assertIn("breaks the naming rule lowercase-with-hyphens", message)
        self.assertEqual(self.application_profiles(), before)

    def test_tags_and_untags_must_keep_a_profile_compliant(self):
        arn = self.client.create_inference_profile(inferenceProfileName="tidy", modelSource={"copyFrom": model_arn()},
                                                   tags=self.COMPLIANT)["inferenceProfileArn"]
        message = self.refused(self.client.tag_resource, resourceARN=arn, tags=[{"key": "environment", "value": "qa"}])
        self.assertIn("'qa' is not", message)
        message = self.refused(self.client.untag_resource, resourceARN=arn, tagKeys=["cost-center"])
        self.assertIn("The tag 'cost-center' is required", message)
        self.assertEqual(sorted(self.client.list_tags_for_resource(resourceARN=arn)["tags"], key=lambda t: t["key"]),
                         sorted(self.COMPLIANT, key=lambda t: t["key"]), "refusals change nothing")
        self.client.tag_resource(resourceARN=arn, tags=[{"key": "environment", "value": "staging"}])


if __name__ == "__main__":
    unittest.main(verbosity=2)
