"""The client side of the sandbox tests: start vendor_sandbox.py as a subprocess,
talk HTTP to it, and make valid requests to each vendor.

Every test module in this package builds on SandboxCase. Run from the repository
root: python3 -m unittest discover -s local/sandbox -v
"""

from __future__ import annotations

import base64
import http.client
import json
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from typing import Any

SERVER = Path(__file__).resolve().parent.parent / "vendor_sandbox.py"

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


# -- valid request bodies, changed by tests to make invalid ones


def dt_body(role_arn: str = ROLE, external_id: str = "3f1c9a7e-5b2d-4e8f-9a61-0c7d2e4b8f13") -> dict[str, Any]:
    return {"cloud_authenticator_type": 3, "aws_credential": {"role_arn": role_arn, "external_id": external_id}}


def sky_accounts(*roles: str) -> list[dict[str, str]]:
    return [{"assumedRole": role, "accountName": f"acct {i}", "awsBucketNames": "cloudtrail-1"}
            for i, role in enumerate(roles)]


def cc_body(name: str = "member-111122223333", role_arn: str = ROLE) -> dict[str, Any]:
    return {"name": name, "roleArn": role_arn, "region": "us-east-1"}


def sc_body(name: str = "aws-111122223333", role_arn: str = ROLE, **config: Any) -> dict[str, Any]:
    """An AWS CloudTrail connector, the one connector type the sandbox models."""
    return {"name": name, "type": "aws_cloudtrail",
            "config": {"role_arn": role_arn, "bucket": "org-cloudtrail", "prefix": "AWSLogs/", "file_type": "json",
                       **config}}


def put_aws_body(name: str = "member", account_id: str = ACCOUNT_ID, project_id: int = PROJECT,
                 nested_project_id: int = PROJECT) -> dict[str, Any]:
    return {"project_id": project_id,
            "aws": {"name": name, "project_id": nested_project_id, "aws_account_id": account_id}}


def attach_body(aws_id: int, source_id: int, **overrides: Any) -> dict[str, Any]:
    attach = {"aws_id": aws_id, "aws_data_source_id": source_id, "project_id": PROJECT,
              "assume_role_arn": ROLE, "external_id": "0123456789abcdef", "status": 2}
    return {"project_id": PROJECT, "attach_data_source": {**attach, **overrides}}
