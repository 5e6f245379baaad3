"""Tests for vendor_sandbox.py: each test starts from a reset sandbox running as
a subprocess, talks HTTP to it, and reads like a line of the vendor's contract.

Run from the repository root: python3 -m unittest discover -s local/sandbox -v
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from datetime import datetime
from pathlib import Path
from typing import Any

SERVER = Path(__file__).resolve().parent / "vendor_sandbox.py"

DT_KEY = "dt-test-key"
SKY_USER, SKY_PASSWORD = "casb-admin@example.com", "sky-test-password"
CC_KEY = "cc-test-key"
RISKEN_TOKEN, PROJECT = "risken-test-token", 1001
STELLAR_USER, STELLAR_KEY = "soc-bot@example.com", "stellar-test-key"
CATALOGUE = {"aws:guard-duty": 71, "aws:access-analyzer": 72, "aws:admin-checker": 73,
             "aws:cloudsploit": 74, "aws:portscan": 75}

SEED: dict[str, Any] = {
    "datatheorem": {"api_key": DT_KEY},
    "skyhigh": {"username": SKY_USER, "password": SKY_PASSWORD, "aws_account_id": "522462218264",
                "external_id": "sky-ext-123"},
    "cloudcraft": {"api_key": CC_KEY, "aws_account_id": "968898580625", "external_id": "cc-ext-456"},
    "risken": {"access_token": RISKEN_TOKEN, "project_id": PROJECT, "data_sources": CATALOGUE},
    "stellarcyber": {"user_id": STELLAR_USER, "api_key": STELLAR_KEY},
}

ROLE = "arn:aws:iam::111122223333:role/VendorRole"
OTHER_ROLE = "arn:aws:iam::444455556666:role/VendorRole"
ACCOUNT_ID = "111122223333"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Reply:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


class SandboxProcess:
    """vendor_sandbox.py started on port 0 with a seed file and a ready file."""

    def __init__(self, seed: dict[str, Any], extra_args: tuple[str, ...] = ()):
        self.dir = tempfile.TemporaryDirectory()
        seed_path, self.ready_file = Path(self.dir.name, "seed.json"), Path(self.dir.name, "port")
        seed_path.write_text(json.dumps(seed))
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER), "--port", "0", "--seed", str(seed_path),
             "--ready-file", str(self.ready_file), *extra_args],
            stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while not self.ready_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox did not start: {self.process.stderr.read()}")
            time.sleep(0.02)
        self.port = int(self.ready_file.read_text())
        self.banner = self.process.stderr.readline().strip()

    def stop(self) -> tuple[int, bool]:
        """SIGTERM the server: (its exit code, whether it left its ready file behind)."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=5)
        self.process.stderr.close()
        ready_file_left = self.ready_file.exists()
        self.dir.cleanup()
        return code, ready_file_left

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                raw: bytes | None = None) -> Reply:
        headers = dict(headers or {})
        if body is not None:
            raw = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=raw, headers=headers)
            response = connection.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            connection.close()


class SandboxCase(unittest.TestCase):
    """Shares one sandbox per test class; every test starts from a reset."""

    seed = SEED

    @classmethod
    def setUpClass(cls) -> None:
        cls.sandbox = SandboxProcess(cls.seed)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.sandbox.stop()

    def setUp(self) -> None:
        self.assertEqual(self.call("POST", "/_sandbox/reset").status, 200)

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.sandbox.request(method, path, body, **kwargs)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        reply = self.call(method, "/_sandbox/" + path, body)
        self.assertLess(reply.status, 300, reply.text)
        return reply.json()

    def state(self) -> dict[str, Any]:
        return self.control("GET", "state")

    def assertError(self, reply: Reply, status: int, key: str = "error") -> Any:
        """The reply has `status` and a JSON body with `key`; returns that field."""
        self.assertEqual(reply.status, status, reply.text)
        self.assertEqual(reply.headers["Content-Type"], "application/json")
        self.assertIn(key, reply.json())
        return reply.json()[key]

    # -- vendor calls with valid credentials unless told otherwise

    def dt(self, body: Any, auth: str = f"APIKey {DT_KEY}", **kwargs: Any) -> Reply:
        return self.call("POST", "/datatheorem/apis/api_security/results/v1beta1/cloud_authenticators", body,
                         headers={"Authorization": auth, **kwargs.pop("headers", {})}, **kwargs)

    def sky(self, method: str, api: str, body: Any = None, auth: str = basic(SKY_USER, SKY_PASSWORD),
            **kwargs: Any) -> Reply:
        return self.call(method, "/skyhigh/shndlpapi/v1/aws/" + api, body,
                         headers={"Authorization": auth, **kwargs.pop("headers", {})}, **kwargs)

    def cc(self, method: str, path: str, body: Any = None, auth: str = f"Bearer {CC_KEY}", **kwargs: Any) -> Reply:
        return self.call(method, "/cloudcraft/aws/account" + path, body,
                         headers={"Authorization": auth, **kwargs.pop("headers", {})}, **kwargs)

    def rk(self, method: str, api: str, body: Any = None, auth: str = f"Bearer {RISKEN_TOKEN}",
           **kwargs: Any) -> Reply:
        return self.call(method, "/risken/api/v1/aws/" + api, body,
                         headers={"Authorization": auth, **kwargs.pop("headers", {})}, **kwargs)

    def sc_token(self) -> str:
        reply = self.call("POST", "/stellarcyber/connect/api/v1/access_token", headers={
            "Authorization": basic(STELLAR_USER, STELLAR_KEY),
            "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(reply.status, 200, reply.text)
        return reply.json()["access_token"]

    def sc(self, method: str, path: str, body: Any = None, token: str | None = None, **kwargs: Any) -> Reply:
        auth = f"Bearer {token or self.sc_token()}"
        return self.call(method, "/stellarcyber/connect/api/v1/connector" + path, body,
                         headers={"Authorization": auth, **kwargs.pop("headers", {})}, **kwargs)


def dt_body(role_arn: str = ROLE, external_id: str = "3f1c9a7e-5b2d-4e8f-9a61-0c7d2e4b8f13") -> dict[str, Any]:
    return {"cloud_authenticator_type": 3, "aws_credential": {"role_arn": role_arn, "external_id": external_id}}


class DataTheoremTest(SandboxCase):
    def test_creates_an_aws_authenticator_and_records_it(self):
        reply = self.dt(dt_body())
        self.assertEqual(reply.status, 200, reply.text)
        created = reply.json()
        self.assertEqual(created["cloud_authenticator_type"], 3)
        self.assertEqual(created["aws_credential"], {"role_arn": ROLE})  # the external ID is not echoed
        datetime.fromisoformat(created["date_created"].replace("Z", "+00:00"))
        [stored] = self.state()["datatheorem"]["authenticators"]
        self.assertEqual(stored["id"], created["id"])
        self.assertEqual(stored["aws_credential"]["external_id"], dt_body()["aws_credential"]["external_id"])

    def test_accepts_only_the_apikey_scheme_with_the_right_key(self):
        for auth in (f"Bearer {DT_KEY}", "APIKey wrong-key", DT_KEY, ""):
            with self.subTest(auth=auth):
                self.assertError(self.dt(dt_body(), auth=auth), 401, "message")
        self.assertEqual(self.state()["datatheorem"]["authenticators"], [])

    def test_rejects_bodies_off_the_documented_shape(self):
        bad_bodies = [
            {"cloud_authenticator_type": 2, "aws_credential": dt_body()["aws_credential"]},
            {"cloud_authenticator_type": "3", "aws_credential": dt_body()["aws_credential"]},
            {"cloud_authenticator_type": 3},
            dt_body(role_arn="arn:aws:iam::111122223333:user/VendorRole"),
            {"cloud_authenticator_type": 3, "aws_credential": {"role_arn": ROLE}},
            [dt_body()],
        ]
        for body in bad_bodies:
            with self.subTest(body=body):
                self.assertError(self.dt(body), 400, "message")
        self.assertError(self.dt(None, raw=b"{not json", headers={"Content-Type": "application/json"}), 400, "message")
        self.assertEqual(self.state()["datatheorem"]["authenticators"], [])

    def test_requires_a_json_content_type(self):
        reply = self.dt(None, raw=json.dumps(dt_body()).encode(), headers={"Content-Type": "text/plain"})
        self.assertError(reply, 415, "message")

    def test_serves_no_list_or_delete_api(self):
        for method in ("GET", "DELETE"):
            reply = self.call(method, "/datatheorem/apis/api_security/results/v1beta1/cloud_authenticators",
                              headers={"Authorization": f"APIKey {DT_KEY}"})
            self.assertError(reply, 405, "message")
            self.assertEqual(reply.headers["Allow"], "POST")


def sky_accounts(*roles: str) -> list[dict[str, str]]:
    return [{"assumedRole": role, "accountName": f"acct {i}", "awsBucketNames": "cloudtrail-1"}
            for i, role in enumerate(roles)]


class SkyhighTest(SandboxCase):
    STATUS_URL = re.compile(r"The request is being processed\. Please call this API "
                            r"(http://127\.0\.0\.1:\d+/skyhigh/shndlpapi/v1/aws/provisionStatus/([\w-]+)) "
                            r"to get the status\.")

    def submit(self, method: str, api: str, roles: tuple[str, ...], instance: str = "Default-AWS") -> str:
        reply = self.sky(method, api, {"awsAccounts": sky_accounts(*roles), "instanceName": instance,
                                       "ignoreErrors": True, "enableSecurityAudit": True})
        self.assertEqual(reply.status, 200, reply.text)
        answer = reply.json()
        self.assertEqual((answer["status"], answer["errors"]), ("SUCCESS", None))
        match = self.STATUS_URL.fullmatch(answer["statusMessage"])
        self.assertIsNotNone(match, answer["statusMessage"])
        self.assertEqual(set(answer), {"status", "statusMessage", "errors"})  # the id is only in the URL
        return match.group(2)

    def final_status(self, request_id: str) -> dict[str, Any]:
        """Poll until done; the default seed answers 'processing' once."""
        first = self.sky("GET", f"provisionStatus/{request_id}").json()
        self.assertEqual(first, {"statusMessage": "The request is being processed", "status": "SUCCESS",
                                 "errors": None})
        return self.sky("GET", f"provisionStatus/{request_id}").json()

    def provisioned(self, instance: str = "Default-AWS") -> list[str]:
        reply = self.sky("GET", f"provisionedAccounts?instanceName={instance}")
        self.assertEqual(reply.status, 200, reply.text)
        return reply.json()

    def test_trust_details_need_basic_auth(self):
        reply = self.sky("GET", "trustDetails")
        self.assertEqual(reply.json(), {"Skyhigh CASB AWS Account ID": "522462218264", "External ID": "sky-ext-123"})
        for auth in (basic(SKY_USER, "wrong"), f"Bearer {SKY_PASSWORD}", ""):
            with self.subTest(auth=auth):
                reply = self.sky("GET", "trustDetails", auth=auth)
                self.assertEqual(self.assertError(reply, 401, "status"), "FAILURE")
                self.assertTrue(reply.headers["WWW-Authenticate"].startswith("Basic"))

    def test_provisioning_is_asynchronous_and_reported_by_provision_status(self):
        request_id = self.submit("POST", "provisionAccounts", (ROLE,))
        self.assertEqual(self.provisioned(), [])
        self.assertEqual(self.final_status(request_id), {"statusMessage": "Success", "status": "SUCCESS",
                                                         "errors": None})
        self.assertEqual(self.provisioned(), [ROLE])

    def test_status_url_in_the_answer_can_be_called_as_given(self):
        reply = self.sky("POST", "provisionAccounts", {"awsAccounts": sky_accounts(ROLE), "instanceName": "A"})
        url = self.STATUS_URL.fullmatch(reply.json()["statusMessage"]).group(1)
        path = url.split(str(self.sandbox.port), 1)[1]
        status = self.call("GET", path, headers={"Authorization": basic(SKY_USER, SKY_PASSWORD)})
        self.assertEqual(status.json()["status"], "SUCCESS")

    def test_provision_accounts_creates_the_one_instance_then_add_accounts_extends_it(self):
        self.final_status(self.submit("POST", "provisionAccounts", (ROLE,)))
        # Same name: the accounts are added.
        self.final_status(self.submit("POST", "provisionAccounts", (OTHER_ROLE,)))
        self.assertEqual(sorted(self.provisioned()), sorted([ROLE, OTHER_ROLE]))
        # Another name while the instance has accounts: an error.
        reply = self.sky("POST", "provisionAccounts", {"awsAccounts": sky_accounts(ROLE), "instanceName": "Other"})
        self.assertIn("already exists", self.assertError(reply, 400, "statusMessage"))
        self.assertEqual(self.state()["skyhigh"]["instance"]["name"], "Default-AWS")
        third = "arn:aws:iam::777788889999:role/VendorRole"
        self.final_status(self.submit("PUT", "addAccounts", (third,)))
        self.assertIn(third, self.provisioned())
        self.assertEqual(self.provisioned("Other"), [])

    def test_provision_accounts_may_reuse_an_instance_that_has_no_accounts(self):
        self.control("POST", "skyhigh/outcome", {"role_arn": ROLE, "status": "FAILURE"})
        self.final_status(self.submit("POST", "provisionAccounts", (ROLE,), instance="First"))
        self.final_status(self.submit("POST", "provisionAccounts", (OTHER_ROLE,), instance="Second"))
        self.assertEqual(self.provisioned("First"), [OTHER_ROLE])

    def test_add_and_delete_need_an_existing_instance(self):
        for method, api in (("PUT", "addAccounts"), ("DELETE", "deleteAccounts")):
            with self.subTest(api=api):
                reply = self.sky(method, api, {"awsAccounts": sky_accounts(ROLE), "instanceName": "Default-AWS"})
                self.assertError(reply, 400, "statusMessage")

    def test_delete_accounts_is_asynchronous_with_a_host_relative_status_url(self):
        self.final_status(self.submit("POST", "provisionAccounts", (ROLE, OTHER_ROLE)))
        reply = self.sky("DELETE", "deleteAccounts", {"awsAccounts": [{"assumedRole": ROLE, "accountName": "a"}],
                                                      "instanceName": "Default-AWS"})
        message = reply.json()["statusMessage"]
        match = re.fullmatch(r"The request is being processed\. Please call this API "
                             r"/shndlpapi/v1/aws/provisionStatus/([\w-]+) to get the status", message)
        self.assertIsNotNone(match, message)
        self.assertEqual(sorted(self.provisioned()), sorted([ROLE, OTHER_ROLE]))
        self.assertEqual(self.final_status(match.group(1))["status"], "SUCCESS")
        self.assertEqual(self.provisioned(), [OTHER_ROLE])

    def test_missing_permissions_end_in_successful_with_errors_keyed_by_role(self):
        self.control("POST", "skyhigh/outcome", {"role_arn": ROLE, "status": "SUCCESSFUL_WITH_ERRORS",
                                                 "missing_permissions": ["s3:GetBucketPolicy", "sns:ListTopics"]})
        result = self.final_status(self.submit("POST", "provisionAccounts", (ROLE,)))
        self.assertEqual(result, {
            "statusMessage": f"Successfully added the accounts: [{ROLE}]",
            "status": "SUCCESSFUL_WITH_ERRORS",
            "errors": {ROLE: f"Role={ROLE} does not have the following permissions={{s3:GetBucketPolicy,sns:ListTopics}}"},
        })
        self.assertEqual(self.provisioned(), [ROLE])

    def test_forced_failure_reports_the_role_and_required_permissions(self):
        self.control("POST", "skyhigh/outcome", {"role_arn": ROLE, "status": "FAILURE"})
        result = self.final_status(self.submit("POST", "provisionAccounts", (ROLE, OTHER_ROLE)))
        self.assertEqual(result["status"], "FAILURE")
        self.assertEqual(result["statusMessage"], f"Accounts with Failed Authentication: [{ROLE}]")
        self.assertEqual(list(result["errors"]), [ROLE])
        self.assertIn("sts:AssumeRole", result["errors"][ROLE])
        self.assertIn("cloudtrail:DescribeTrails", result["errors"][ROLE])
        self.assertEqual(self.provisioned(), [OTHER_ROLE])

    def test_a_role_not_yet_assumable_fails_provisioning(self):
        self.control("POST", "role-delay", {"seconds": 60})
        result = self.final_status(self.submit("POST", "provisionAccounts", (ROLE,)))
        self.assertEqual(result["status"], "FAILURE")
        self.assertIn("is not authorized to perform: sts:AssumeRole", result["errors"][ROLE])
        self.assertEqual(self.provisioned(), [])
        self.control("POST", "role-delay", {"seconds": 0})
        self.assertEqual(self.final_status(self.submit("PUT", "addAccounts", (ROLE,)))["status"], "SUCCESS")

    def test_rejects_requests_off_the_documented_shape(self):
        good = {"awsAccounts": sky_accounts(ROLE), "instanceName": "Default-AWS"}
        for change in ({"instanceName": ""}, {"awsAccounts": []}, {"awsAccounts": [{"accountName": "x"}]},
                       {"awsAccounts": [{"assumedRole": "arn:aws:iam::1:role/x", "accountName": "x"}]},
                       {"awsAccounts": [{"assumedRole": ROLE}]}, {"enableDLP": "yes"},
                       {"securityAuditType": "WEEKLY"}):
            with self.subTest(change=change):
                self.assertError(self.sky("POST", "provisionAccounts", {**good, **change}), 400, "statusMessage")
        self.assertIsNone(self.state()["skyhigh"]["instance"])
        reply = self.sky("POST", "provisionAccounts", raw=json.dumps(good).encode(), headers={"Content-Type": "text/plain"})
        self.assertError(reply, 415, "statusMessage")
        self.assertError(self.sky("GET", "provisionAccounts"), 405, "statusMessage")
        self.assertError(self.sky("GET", "provisionStatus/no-such-id"), 404, "statusMessage")
        self.assertError(self.sky("GET", "provisionedAccounts"), 400, "statusMessage")


def cc_body(name: str = "member-111122223333", role_arn: str = ROLE) -> dict[str, Any]:
    return {"name": name, "roleArn": role_arn, "region": "us-east-1"}


class CloudcraftTest(SandboxCase):
    def test_iam_parameters_come_from_the_seed(self):
        params = self.cc("GET", "/iamParameters").json()
        self.assertEqual((params["accountId"], params["externalId"]), ("968898580625", "cc-ext-456"))
        self.assertTrue(params["awsConsoleUrl"].startswith("https://console.aws.amazon.com/iam/"))

    def test_account_lifecycle(self):
        created = self.cc("POST", "", cc_body())
        self.assertEqual(created.status, 201, created.text)
        account = created.json()
        self.assertRegex(account["id"], r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        self.assertEqual((account["name"], account["roleArn"], account["externalId"]),
                         ("member-111122223333", ROLE, "cc-ext-456"))
        datetime.fromisoformat(account["createdAt"].replace("Z", "+00:00"))
        self.assertEqual(self.cc("GET", "").json(), {"accounts": [account]})
        updated = self.cc("PUT", f"/{account['id']}", cc_body(name="renamed"))
        self.assertEqual((updated.status, updated.json()["name"]), (200, "renamed"))
        deleted = self.cc("DELETE", f"/{account['id']}")
        self.assertEqual((deleted.status, deleted.body), (204, b""))
        self.assertEqual(self.cc("GET", "").json(), {"accounts": []})
        self.assertError(self.cc("DELETE", f"/{account['id']}"), 404)
        self.assertError(self.cc("PUT", f"/{account['id']}", cc_body()), 404)

    def test_rejects_requests_off_the_documented_shape(self):
        for body in (cc_body(role_arn="arn:aws:iam::111122223333:policy/x"), cc_body(role_arn="VendorRole"),
                     {"roleArn": ROLE}, cc_body(name=""), {**cc_body(), "region": "mars"}):
            with self.subTest(body=body):
                self.assertError(self.cc("POST", "", body), 400)
        self.assertError(self.cc("POST", "", raw=b"name=x", headers={"Content-Type": "application/json"}), 400)
        self.assertError(self.cc("POST", "", raw=json.dumps(cc_body()).encode(),
                                 headers={"Content-Type": "text/plain"}), 415)
        for auth in (f"APIKey {CC_KEY}", "Bearer wrong", ""):
            with self.subTest(auth=auth):
                self.assertError(self.cc("GET", "", auth=auth), 401)
        self.assertError(self.cc("PATCH", "", cc_body()), 405)
        self.assertEqual(self.state()["cloudcraft"]["accounts"], [])

    def test_accepts_a_chunked_request_body(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.sandbox.port, timeout=10)
        connection.request("POST", "/cloudcraft/aws/account", body=iter([json.dumps(cc_body()).encode()]),
                           headers={"Authorization": f"Bearer {CC_KEY}", "Content-Type": "application/json"},
                           encode_chunked=True)
        self.assertEqual(connection.getresponse().status, 201)
        connection.close()

    def test_refuses_a_role_it_cannot_assume_yet(self):
        self.control("POST", "role-delay", {"seconds": 0.5})
        message = self.assertError(self.cc("POST", "", cc_body()), 400)
        self.assertIn(f"Unable to assume role {ROLE}", message)
        self.assertEqual(self.state()["cloudcraft"]["accounts"], [])
        time.sleep(0.55)  # counted from the first time the sandbox saw the role
        self.assertEqual(self.cc("POST", "", cc_body()).status, 201)

    def test_rate_limits_at_20_requests_per_minute_with_retry_after(self):
        for _ in range(20):
            self.assertEqual(self.cc("GET", "").status, 200)
        reply = self.cc("GET", "")
        self.assertError(reply, 429)
        self.assertTrue(1 <= int(reply.headers["Retry-After"]) <= 60)
        statuses = [entry["status"] for entry in self.control("GET", "requests?vendor=cloudcraft")["requests"]]
        self.assertEqual(statuses, [200] * 20 + [429])


def put_aws_body(name: str = "member", account_id: str = ACCOUNT_ID, project_id: int = PROJECT,
                 nested_project_id: int = PROJECT) -> dict[str, Any]:
    return {"project_id": project_id,
            "aws": {"name": name, "project_id": nested_project_id, "aws_account_id": account_id}}


def attach_body(aws_id: int, source_id: int, **overrides: Any) -> dict[str, Any]:
    attach = {"aws_id": aws_id, "aws_data_source_id": source_id, "project_id": PROJECT,
              "assume_role_arn": ROLE, "external_id": "0123456789abcdef", "status": 2}
    return {"project_id": PROJECT, "attach_data_source": {**attach, **overrides}}


class RiskenTest(SandboxCase):
    def put_aws(self) -> int:
        reply = self.rk("POST", "put-aws", put_aws_body())
        self.assertEqual(reply.status, 200, reply.text)
        return reply.json()["data"]["aws"]["aws_id"]

    def sources(self, aws_id: int, data_source: str = "") -> list[dict[str, Any]]:
        query = f"project_id={PROJECT}&aws_id={aws_id}" + (f"&data_source={data_source}" if data_source else "")
        reply = self.rk("GET", f"list-datasource?{query}")
        self.assertEqual(reply.status, 200, reply.text)
        return reply.json()["data"]["data_source"]

    def guard_duty(self, aws_id: int) -> dict[str, Any]:
        [row] = self.sources(aws_id, "aws:guard-duty")
        return row

    def attach_and_scan(self) -> int:
        aws_id = self.put_aws()
        self.assertEqual(self.rk("POST", "attach-datasource", attach_body(aws_id, 71)).status, 200)
        self.assertEqual(self.rk("POST", "invoke-scan", {"project_id": PROJECT, "aws_id": aws_id,
                                                         "aws_data_source_id": 71}).json(), {"data": {}})
        return aws_id

    def assertBadRequest(self, reply: Reply, message: str) -> None:
        self.assertEqual(self.assertError(reply, 400), message)

    def test_auth_layer_answers_401_and_403_in_plain_text(self):
        for auth in ("", "Bearer wrong-token", basic("x", RISKEN_TOKEN)):
            with self.subTest(auth=auth):
                reply = self.rk("GET", f"list-aws?project_id={PROJECT}", auth=auth)
                self.assertEqual((reply.status, reply.text), (401, "Unauthenticated\n"))
                self.assertTrue(reply.headers["Content-Type"].startswith("text/plain"))
        for reply in (self.rk("GET", "list-aws?project_id=9999"),
                      self.rk("POST", "put-aws", put_aws_body(project_id=9999, nested_project_id=9999))):
            self.assertEqual((reply.status, reply.text), (403, "Unauthorized the project resource for token access\n"))
            self.assertTrue(reply.headers["Content-Type"].startswith("text/plain"))
        self.assertEqual(self.state()["risken"]["aws"], [])

    def test_onboarding_moves_a_data_source_from_configured_through_in_progress_to_ok(self):
        aws = self.rk("POST", "put-aws/", put_aws_body()).json()["data"]["aws"]  # trailing slash as in the docs
        self.assertEqual({k: aws[k] for k in ("name", "project_id", "aws_account_id")},
                         {"name": "member", "project_id": PROJECT, "aws_account_id": ACCOUNT_ID})
        listed = self.rk("GET", f"list-aws?project_id={PROJECT}&aws_account_id={ACCOUNT_ID}").json()
        self.assertEqual(listed, {"data": {"aws": [aws]}})
        # The catalogue, unattached: zero-valued fields are omitted.
        catalogue = self.sources(aws["aws_id"])
        self.assertEqual({row["data_source"]: row["aws_data_source_id"] for row in catalogue}, CATALOGUE)
        self.assertEqual(set(catalogue[0]), {"aws_data_source_id", "data_source", "max_score"})
        attached = self.rk("POST", "attach-datasource", attach_body(aws["aws_id"], 71)).json()["data"]["data_source"]
        self.assertEqual((attached["status"], attached["external_id"]), (2, "0123456789abcdef"))
        self.assertEqual(self.guard_duty(aws["aws_id"])["status"], 2)
        self.rk("POST", "invoke-scan", {"project_id": PROJECT, "aws_id": aws["aws_id"], "aws_data_source_id": 71})
        in_progress = self.guard_duty(aws["aws_id"])
        self.assertEqual(in_progress["status"], 3)
        self.assertTrue(in_progress["status_detail"].startswith("Start scan at "))
        done = self.guard_duty(aws["aws_id"])
        self.assertEqual(done["status"], 1)
        self.assertIn("scan_at", done)
        self.assertNotIn("status_detail", done)

    def test_put_aws_upserts_on_project_and_account_id(self):
        first = self.rk("POST", "put-aws", put_aws_body(name="old")).json()["data"]["aws"]
        second = self.rk("POST", "put-aws", put_aws_body(name="new")).json()["data"]["aws"]
        self.assertEqual((second["aws_id"], second["name"]), (first["aws_id"], "new"))
        self.assertEqual(len(self.state()["risken"]["aws"]), 1)

    def test_validation_errors_are_400_with_the_validators_messages(self):
        self.assertBadRequest(self.rk("POST", "put-aws", put_aws_body(name="n" * 201)),
                              "name: the length must be no more than 200.")
        self.assertBadRequest(self.rk("POST", "put-aws", put_aws_body(account_id="12345")),
                              "aws_account_id: the length must be exactly 12.")
        self.assertBadRequest(self.rk("POST", "put-aws", put_aws_body(account_id="11112222333x")),
                              "aws_account_id: must contain digits only.")
        self.assertBadRequest(self.rk("POST", "put-aws", put_aws_body(nested_project_id=1002)),
                              "project_id: must be a valid value.")
        self.assertBadRequest(self.rk("POST", "put-aws", {"project_id": PROJECT}), "Required Aws")
        aws_id = self.put_aws()
        self.assertBadRequest(self.rk("POST", "attach-datasource", attach_body(aws_id, 71, external_id="short")),
                              "external_id: the length must be between 8 and 255.")
        self.assertBadRequest(self.rk("POST", "attach-datasource", attach_body(aws_id, 71, assume_role_arn="")),
                              "assume_role_arn: cannot be blank.")
        self.assertBadRequest(self.rk("POST", "attach-datasource", attach_body(aws_id, 71, assume_role_arn="a" * 256)),
                              "assume_role_arn: the length must be no more than 255.")
        self.assertBadRequest(self.rk("GET", "list-aws"), "project_id: cannot be blank.")
        self.assertBadRequest(self.rk("GET", f"list-datasource?project_id={PROJECT}"), "aws_id: cannot be blank.")
        self.assertEqual(self.state()["risken"]["data_sources"], [])

    def test_posts_need_a_json_content_type_and_the_documented_method(self):
        reply = self.rk("POST", "put-aws", raw=json.dumps(put_aws_body()).encode(),
                        headers={"Content-Type": "text/plain"})
        self.assertEqual((reply.status, reply.body), (415, b""))
        self.assertEqual(self.rk("GET", "put-aws").status, 405)
        self.assertEqual(self.rk("GET", "no-such-api").status, 404)

    def test_scanning_an_unattached_data_source_is_a_backend_error(self):
        aws_id = self.put_aws()
        reply = self.rk("POST", "invoke-scan", {"project_id": PROJECT, "aws_id": aws_id, "aws_data_source_id": 71})
        self.assertEqual(self.assertError(reply, 500), "rpc error: code = Unknown desc = record not found")

    def test_a_forced_error_ends_the_scan_in_error(self):
        aws_id = self.attach_and_scan()
        self.control("POST", "risken/datasource-error", {"aws_account_id": ACCOUNT_ID, "data_source": "aws:guard-duty",
                                                         "status_detail": "AccessDenied: guardduty:ListDetectors"})
        self.assertEqual(self.guard_duty(aws_id)["status"], 3)
        failed = self.guard_duty(aws_id)
        self.assertEqual((failed["status"], failed["status_detail"]), (4, "AccessDenied: guardduty:ListDetectors"))

    def test_a_forced_error_applies_at_once_to_an_idle_attachment(self):
        aws_id = self.put_aws()
        self.rk("POST", "attach-datasource", attach_body(aws_id, 72))
        self.control("POST", "risken/datasource-error", {"aws_account_id": ACCOUNT_ID,
                                                         "data_source": "aws:access-analyzer", "status_detail": "boom"})
        [row] = self.sources(aws_id, "aws:access-analyzer")
        self.assertEqual((row["status"], row["status_detail"]), (4, "boom"))

    def test_detach_and_delete_remove_the_account(self):
        aws_id = self.attach_and_scan()
        body = {"project_id": PROJECT, "aws_id": aws_id, "aws_data_source_id": 71}
        self.assertEqual(self.rk("POST", "detach-datasource", body).json(), {"data": {}})
        self.assertNotIn("status", self.guard_duty(aws_id))
        self.assertEqual(self.rk("POST", "delete-aws", {"project_id": PROJECT, "aws_id": aws_id}).json(), {"data": {}})
        self.assertEqual(self.rk("GET", f"list-aws?project_id={PROJECT}").json(), {"data": {}})


class StellarCyberTest(SandboxCase):
    def test_token_then_connector_lifecycle(self):
        token = self.sc_token()
        self.assertEqual(len(token.split(".")), 3)
        connector = {"name": "aws-111122223333", "cust_id": "tenant-1", "type": "aws_cloudtrail",
                     "role_arn": ROLE}
        created = self.sc("POST", "", connector, token=token)
        self.assertEqual(created.status, 200, created.text)
        stored = created.json()["data"]
        self.assertEqual({**connector, "_id": stored["_id"]}, stored)
        self.assertEqual(self.sc("GET", "", token=token).json(), {"data": [stored]})
        self.assertEqual(self.sc("GET", "?cust_id=tenant-1", token=token).json(), {"data": [stored]})
        self.assertEqual(self.sc("GET", "?cust_id=tenant-2", token=token).json(), {"data": []})
        self.assertEqual(self.sc("DELETE", f"/{stored['_id']}", token=token).status, 200)
        self.assertError(self.sc("DELETE", f"/{stored['_id']}", token=token), 404)
        self.assertEqual(self.state()["stellarcyber"]["connectors"], [])

    def test_token_call_needs_basic_auth_and_a_form_content_type(self):
        path = "/stellarcyber/connect/api/v1/access_token"
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        self.assertError(self.call("POST", path, headers={"Authorization": basic(STELLAR_USER, "wrong"), **form}), 401)
        self.assertError(self.call("POST", path, headers={"Authorization": f"Bearer {STELLAR_KEY}", **form}), 401)
        self.assertError(self.call("POST", path, headers={"Authorization": basic(STELLAR_USER, STELLAR_KEY),
                                                          "Content-Type": "application/json"}), 415)
        self.assertError(self.call("POST", path, headers={"Authorization": basic(STELLAR_USER, STELLAR_KEY)}), 415)
        self.assertError(self.call("GET", path), 405)

    def test_api_needs_a_valid_bearer_token(self):
        header, claims, signature = self.sc_token().split(".")
        forged = base64.urlsafe_b64encode(json.dumps({"sub": "x", "exp": 4102444800}).encode()).rstrip(b"=").decode()
        for auth in ("", "Bearer not.a.jwt", basic(STELLAR_USER, STELLAR_KEY), f"Bearer {header}.{forged}.{signature}"):
            with self.subTest(auth=auth):
                reply = self.call("GET", "/stellarcyber/connect/api/v1/connector", headers={"Authorization": auth})
                self.assertError(reply, 401)

    def test_connector_needs_a_json_object_with_a_name(self):
        token = self.sc_token()
        for body in ({}, {"name": ""}, {"name": 7}, ["name"]):
            with self.subTest(body=body):
                self.assertError(self.sc("POST", "", body, token=token), 400)
        self.assertError(self.sc("POST", "", raw=b'{"name": "x"}', headers={"Content-Type": "text/plain"},
                                 token=token), 415)


class TimingKnobsTest(SandboxCase):
    seed = {**SEED,
            "skyhigh": {**SEED["skyhigh"], "processing_polls": 0, "processing_seconds": 0.4},
            "risken": {**SEED["risken"], "scan_polls": 0, "scan_seconds": 0.4},
            "stellarcyber": {**SEED["stellarcyber"], "jwt_lifetime_seconds": 1}}

    def test_jwt_expires_after_the_configured_lifetime(self):
        token = self.sc_token()
        self.assertEqual(self.sc("GET", "", token=token).status, 200)
        time.sleep(2.05)  # the expiry is rounded up to a whole second
        self.assertEqual(self.assertError(self.sc("GET", "", token=token), 401), "Token expired")
        self.assertEqual(self.sc("GET", "").status, 200)  # a fresh token works

    def test_skyhigh_request_completes_by_time_without_polling(self):
        reply = self.sky("POST", "provisionAccounts", {"awsAccounts": sky_accounts(ROLE), "instanceName": "Default-AWS"})
        self.assertEqual(reply.status, 200)
        self.assertEqual(self.sky("GET", "provisionedAccounts?instanceName=Default-AWS").json(), [])
        time.sleep(0.45)
        self.assertEqual(self.sky("GET", "provisionedAccounts?instanceName=Default-AWS").json(), [ROLE])

    def test_risken_scan_completes_by_time(self):
        aws_id = self.rk("POST", "put-aws", put_aws_body()).json()["data"]["aws"]["aws_id"]
        self.rk("POST", "attach-datasource", attach_body(aws_id, 71))
        self.rk("POST", "invoke-scan", {"project_id": PROJECT, "aws_id": aws_id, "aws_data_source_id": 71})
        path = f"list-datasource?project_id={PROJECT}&aws_id={aws_id}&data_source=aws:guard-duty"
        self.assertEqual(self.rk("GET", path).json()["data"]["data_source"][0]["status"], 3)
        time.sleep(0.45)
        self.assertEqual(self.rk("GET", path).json()["data"]["data_source"][0]["status"], 1)


class FaultsTest(SandboxCase):
    def test_status_fault_answers_in_the_vendors_error_shape_then_stops(self):
        self.control("POST", "faults", {"vendor": "cloudcraft", "status": 503, "count": 2, "retry_after": 1})
        for _ in range(2):
            reply = self.cc("GET", "")
            self.assertError(reply, 503)
            self.assertEqual(reply.headers["Retry-After"], "1")
        self.assertEqual(self.cc("GET", "").status, 200)
        flags = [entry["fault"] for entry in self.control("GET", "requests")["requests"]]
        self.assertEqual(flags, [True, True, False])
        self.assertError(self.sky("GET", "trustDetails", auth=""), 401, "statusMessage")  # other vendors unaffected

    def test_fault_with_a_body_and_a_path_filter(self):
        self.control("POST", "faults", {"vendor": "skyhigh", "status": 502, "body": "Bad Gateway",
                                        "path_contains": "provisionStatus"})
        self.assertEqual(self.sky("GET", "trustDetails").status, 200)
        reply = self.sky("GET", "provisionStatus/anything")
        self.assertEqual((reply.status, reply.text), (502, "Bad Gateway"))
        self.assertTrue(reply.headers["Content-Type"].startswith("text/plain"))

    def test_risken_auth_faults_are_plain_text_like_its_auth_layer(self):
        self.control("POST", "faults", {"vendor": "risken", "status": 401})
        reply = self.rk("GET", f"list-aws?project_id={PROJECT}")
        self.assertEqual(reply.status, 401)
        self.assertTrue(reply.headers["Content-Type"].startswith("text/plain"))

    def test_latency_fault_delays_a_normal_answer(self):
        self.control("POST", "faults", {"vendor": "risken", "latency_ms": 300})
        started = time.monotonic()
        reply = self.rk("GET", f"list-aws?project_id={PROJECT}")
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.assertEqual((reply.status, reply.json()), (200, {"data": {}}))

    def test_malformed_fault_sends_a_truncated_body_and_changes_nothing(self):
        self.control("POST", "faults", {"vendor": "cloudcraft", "malformed": True})
        reply = self.cc("POST", "", cc_body())
        self.assertEqual(reply.status, 200)
        with self.assertRaises(ValueError):
            reply.json()
        self.assertEqual(self.state()["cloudcraft"]["accounts"], [])

    def test_delete_clears_faults(self):
        self.control("POST", "faults", {"vendor": "datatheorem", "status": 500, "count": 5})
        self.assertEqual(self.control("DELETE", "faults"), {"cleared": 1})
        self.assertEqual(self.dt(dt_body()).status, 200)

    def test_invalid_faults_are_refused(self):
        for fault in ({"vendor": "nope", "status": 500}, {"vendor": "risken"}, {"vendor": "risken", "status": 42},
                      {"vendor": "risken", "status": 500, "count": 0}, {"vendor": "risken", "body": "x"}):
            with self.subTest(fault=fault):
                self.assertEqual(self.call("POST", "/_sandbox/faults", fault).status, 400)
        self.assertEqual(self.state()["sandbox"]["faults"], [])


class ControlTest(SandboxCase):
    def test_request_log_records_requests_with_credentials_redacted(self):
        self.dt(dt_body())
        self.sky("GET", "trustDetails")
        self.cc("GET", "")
        self.rk("GET", f"list-aws?project_id={PROJECT}")
        token = self.sc_token()
        self.sc("GET", "", token=token)
        reply = self.call("GET", "/_sandbox/requests")
        for secret in (DT_KEY, SKY_PASSWORD, basic(SKY_USER, SKY_PASSWORD).split()[1], CC_KEY, RISKEN_TOKEN,
                       STELLAR_KEY, basic(STELLAR_USER, STELLAR_KEY).split()[1], token):
            self.assertNotIn(secret, reply.text)
        log = reply.json()["requests"]
        self.assertEqual([entry["authorization"] for entry in log],
                         ["APIKey ***", "Basic ***", "Bearer ***", "Bearer ***", "Basic ***", "Bearer ***"])
        risken = self.control("GET", "requests?vendor=risken")["requests"]
        self.assertEqual(len(risken), 1)
        self.assertEqual({k: risken[0][k] for k in ("vendor", "method", "path", "query", "status")},
                         {"vendor": "risken", "method": "GET", "path": "/api/v1/aws/list-aws",
                          "query": {"project_id": [str(PROJECT)]}, "status": 200})
        self.assertEqual(log[0]["body"], dt_body())
        self.assertEqual(log[0]["content_type"], "application/json")
        self.assertIsInstance(log[0]["timestamp"], float)

    def test_reset_clears_state_faults_log_and_role_delay(self):
        self.cc("POST", "", cc_body())
        self.control("POST", "faults", {"vendor": "risken", "status": 500})
        self.control("POST", "role-delay", {"seconds": 99})
        self.control("POST", "reset")
        state = self.state()
        self.assertEqual(state["cloudcraft"]["accounts"], [])
        self.assertEqual(state["sandbox"], {"role_not_assumable_seconds": 0.0, "roles_first_seen": {}, "faults": []})
        self.assertEqual(self.control("GET", "requests"), {"requests": []})

    def test_state_shows_every_vendor(self):
        self.assertEqual(set(self.state()), {"datatheorem", "skyhigh", "cloudcraft", "risken", "stellarcyber", "sandbox"})

    def test_unknown_paths_and_methods(self):
        self.assertError(self.call("GET", "/nowhere"), 404)
        self.assertError(self.call("GET", "/_sandbox/nowhere"), 404)
        self.assertError(self.call("GET", "/_sandbox/faults"), 405)
        self.assertError(self.call("GET", "/_sandbox/requests?vendor=nowhere"), 400)
        self.assertError(self.call("POST", "/_sandbox/role-delay", {"seconds": -1}), 400)
        self.assertError(self.call("POST", "/_sandbox/skyhigh/outcome", {"role_arn": ROLE, "status": "SUCCESS"}), 400)
        self.assertError(self.call("POST", "/_sandbox/risken/datasource-error",
                                   {"aws_account_id": ACCOUNT_ID, "data_source": "aws:nope"}), 400)


class CommandLineTest(unittest.TestCase):
    def run_server(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(SERVER), *args], capture_output=True, text=True, timeout=10)

    def test_refuses_a_non_loopback_host(self):
        for host in ("0.0.0.0", "192.168.1.10", "example.com"):
            with self.subTest(host=host):
                result = self.run_server("--host", host)
                self.assertEqual(result.returncode, 2)
                self.assertIn("loopback", result.stderr)

    def test_refuses_an_invalid_seed(self):
        with tempfile.TemporaryDirectory() as directory:
            for seed in ({"cloudcraft": {"api_kee": "x"}}, {"skyhigh": {"processing_polls": "2"}},
                         {"risken": {"data_sources": {"aws:guard-duty": 1, "aws:portscan": 1}}}):
                with self.subTest(seed=seed):
                    path = Path(directory, "seed.json")
                    path.write_text(json.dumps(seed))
                    result = self.run_server("--seed", str(path))
                    self.assertEqual(result.returncode, 2)
                    self.assertIn("--seed", result.stderr)

    def test_announces_its_port_and_stops_cleanly_on_sigterm(self):
        sandbox = SandboxProcess({})
        self.assertEqual(sandbox.banner, f"vendor-sandbox listening on http://127.0.0.1:{sandbox.port}")
        self.assertEqual(sandbox.request("GET", "/_sandbox/state").status, 200)
        self.assertEqual(sandbox.stop(), (0, False))


if __name__ == "__main__":
    unittest.main()
