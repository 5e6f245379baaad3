#!/usr/bin/env python3
"""Local, stateful sandboxes of the five vendor APIs vendorlink calls.

One loopback HTTP server serves every vendor under its own path prefix
(``http://127.0.0.1:PORT/<vendor>`` is that vendor's ``base_url``) and a control
API for tests under ``/_sandbox/``. Behaviour follows the vendors' own
documentation (the handbook's ``seeds/`` pages and ``notes/vendor-apis.md``);
where the documentation is silent, the choice made is listed in README.md.
Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import hashlib
import hmac
import ipaddress
import json
import math
import os
import re
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Mapping, NoReturn
from urllib.parse import parse_qs, urlsplit

# An IAM role ARN, path included (arn:aws:iam::123456789012:role/path/Name).
ROLE_ARN = re.compile(r"arn:aws(?:-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
REGION = re.compile(r"[a-z]{2}(?:-gov)?-[a-z]+-\d")

DEFAULT_SEED: dict[str, Any] = {
    "role_not_assumable_seconds": 0.0,
    "datatheorem": {"api_key": "dt-sandbox-api-key"},
    "skyhigh": {
        "username": "sandbox-admin@example.com",
        "password": "skyhigh-sandbox-password",
        "aws_account_id": "522462218264",
        "external_id": "skyhigh-sandbox-external-id",
        "processing_polls": 1,
        "processing_seconds": 0.0,
    },
    "cloudcraft": {
        "api_key": "cloudcraft-sandbox-api-key",
        "aws_account_id": "968898580625",
        "external_id": "ex53e827-a724-4a2a-9fec-b13761540785",
        "rate_limit_per_minute": 20,
    },
    "risken": {
        # RISKEN tokens are base64url("{project_id}@{access_token_id}@{plain text}").
        "access_token": base64.urlsafe_b64encode(b"1001@1@risken-sandbox-token").rstrip(b"=").decode(),
        "project_id": 1001,
        "data_sources": {
            "aws:guard-duty": 1001,
            "aws:access-analyzer": 1002,
            "aws:admin-checker": 1003,
            "aws:cloudsploit": 1004,
            "aws:portscan": 1005,
        },
        "scan_polls": 1,
        "scan_seconds": 0.0,
    },
    "stellarcyber": {
        "user_id": "api-user@example.com",
        "api_key": "stellar-sandbox-api-key",
        "jwt_lifetime_seconds": 600.0,
    },
}


class SeedError(ValueError):
    """The seed file does not describe a valid sandbox."""


def load_seed(path: str | None) -> dict[str, Any]:
    """DEFAULT_SEED overlaid with the seed file at `path` (if any), checked."""
    seed = copy.deepcopy(DEFAULT_SEED)
    if path is None:
        return seed
    with open(path, encoding="utf-8") as seed_file:
        given = json.load(seed_file)
    if not isinstance(given, dict):
        raise SeedError("the seed must be a JSON object")
    for key, value in given.items():
        if key not in seed:
            raise SeedError(f"unknown seed key {key!r}")
        if isinstance(seed[key], dict):
            if not isinstance(value, dict):
                raise SeedError(f"seed key {key!r} must be an object")
            for name, field_value in value.items():
                if name not in seed[key]:
                    raise SeedError(f"unknown seed field {key}.{name}")
                seed[key][name] = _seed_value(f"{key}.{name}", seed[key][name], field_value)
        else:
            seed[key] = _seed_value(key, seed[key], value)
    catalogue = seed["risken"]["data_sources"]
    ids = list(catalogue.values())
    if not catalogue or any(not isinstance(i, int) or isinstance(i, bool) or not 0 < i < 2**32 for i in ids):
        raise SeedError("risken.data_sources must map names to positive integer ids")
    if len(set(ids)) != len(ids):
        raise SeedError("risken.data_sources ids must be unique")
    if not 0 < seed["risken"]["project_id"] < 2**32:
        raise SeedError("risken.project_id must be a positive 32-bit integer")
    if seed["stellarcyber"]["jwt_lifetime_seconds"] <= 0:
        raise SeedError("stellarcyber.jwt_lifetime_seconds must be positive")
    return seed


def _seed_value(name: str, default: Any, value: Any) -> Any:
    if isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        kind = "number" if isinstance(default, float) else type(default).__name__
        raise SeedError(f"seed field {name} must be a {kind}")
    if isinstance(value, (int, float)) and value < 0:
        raise SeedError(f"seed field {name} must not be negative")
    if isinstance(value, str) and not value:
        raise SeedError(f"seed field {name} must not be empty")
    return value


# --------------------------------------------------------------------------- HTTP plumbing


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any) -> Response:
    return Response(status, json.dumps(payload).encode(), "application/json")


class Reject(Exception):
    """Raised to answer a request with `response` instead of going on."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


def control_error(message: str) -> Reject:
    return Reject(json_response(400, {"error": message}))


@dataclass
class Request:
    method: str
    path: str  # relative to the vendor's root, e.g. "/aws/account"
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    base_url: str  # the vendor's root as the client addressed it

    @property
    def media_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()

    @cached_property
    def json_body(self) -> Any:
        """The body parsed as JSON, or None when it is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def authorization(self) -> tuple[str, str]:
        scheme, _, credentials = self.headers.get("Authorization", "").strip().partition(" ")
        return scheme, credentials.strip()

    def basic_credentials(self) -> tuple[str, str] | None:
        """(user, password) from `Authorization: Basic ...`, or None."""
        scheme, encoded = self.authorization()
        if scheme.lower() != "basic":
            return None
        try:
            user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return (user, password) if sep else None


def redact_authorization(value: str | None) -> str | None:
    """Keep only the scheme, so the request log never holds a credential."""
    if value is None:
        return None
    scheme, sep, _ = value.strip().partition(" ")
    return f"{scheme} ***" if sep else "***"


def secret_equals(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def is_role_arn(value: Any) -> bool:
    return isinstance(value, str) and ROLE_ARN.fullmatch(value) is not None


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --------------------------------------------------------------------------- vendors


class Vendor:
    """One vendor's API: its routes, auth, error body shape and state."""

    name = ""
    # (method, path pattern, handler method name, body kind: None, "json" or "form")
    routes: tuple[tuple[str, re.Pattern[str], str, str | None], ...] = ()

    def __init__(self, sandbox: Sandbox, config: dict[str, Any]):
        self.sandbox = sandbox
        self.config = config

    # Each vendor defines these.
    def reset(self) -> None:
        raise NotImplementedError

    def snapshot(self) -> dict[str, Any]:
        raise NotImplementedError

    def error(self, status: int, message: str) -> Response:
        raise NotImplementedError

    def authenticate(self, req: Request) -> None:
        raise NotImplementedError

    # Shared behaviour; vendors override where their documented behaviour differs.
    def not_found(self, req: Request) -> Response:
        return self.error(404, f"Not found: {req.path}")

    def method_not_allowed(self, req: Request, allowed: list[str]) -> Response:
        response = self.error(405, f"Method {req.method} not allowed")
        response.headers["Allow"] = ", ".join(allowed)
        return response

    def unsupported_media_type(self, expected: str) -> Response:
        return self.error(415, f"Content-Type must be {expected}")

    def fail(self, status: int, message: str) -> NoReturn:
        raise Reject(self.error(status, message))

    def handle(self, req: Request) -> Response:
        """Route, then authenticate, then check the content type, then run the handler."""
        try:
            allowed = []
            for method, pattern, handler, body_kind in self.routes:
                match = pattern.fullmatch(req.path)
                if match is None:
                    continue
                if method != req.method:
                    allowed.append(method)
                    continue
                self.authenticate(req)
                self.check_content_type(req, body_kind)
                return getattr(self, handler)(req, *match.groups())
            if allowed:
                return self.method_not_allowed(req, allowed)
            return self.not_found(req)
        except Reject as rejection:
            return rejection.response

    def check_content_type(self, req: Request, body_kind: str | None) -> None:
        # A JSON route checks the type only when a body is sent, as chi's
        # AllowContentType does in RISKEN's gateway; a form route always checks
        # (Stellar Cyber's token call sends the header with an empty body).
        if body_kind == "form":
            expected = "application/x-www-form-urlencoded"
        elif body_kind == "json" and req.body:
            expected = "application/json"
        else:
            return
        if req.media_type != expected:
            raise Reject(self.unsupported_media_type(expected))

    def json_object(self, req: Request) -> dict[str, Any]:
        body = req.json_body
        if not isinstance(body, dict):
            self.fail(400, "The request body must be a JSON object")
        return body


class DataTheorem(Vendor):
    """API Security Results API (seed: datatheorem-aws-onboarding.txt).

    Only the create call is public: no list or delete endpoint is served, so a
    client cannot come to rely on one (the control API shows what was created).
    """

    name = "datatheorem"
    AWS = 3  # CloudAuthenticatorTypesEnum.AMAZON_WEB_SERVICES
    routes = (
        ("POST", re.compile(r"/apis/api_security/results/v1beta1/cloud_authenticators"), "create", "json"),
    )

    def reset(self) -> None:
        self.authenticators: list[dict[str, Any]] = []

    def snapshot(self) -> dict[str, Any]:
        return {"authenticators": self.authenticators}

    def error(self, status: int, message: str) -> Response:
        return json_response(status, {"message": message})

    def authenticate(self, req: Request) -> None:
        scheme, key = req.authorization()
        if scheme.lower() != "apikey" or not secret_equals(key, self.config["api_key"]):
            self.fail(401, "Invalid or missing API key: send 'Authorization: APIKey <key>'")

    def create(self, req: Request) -> Response:
        body = self.json_object(req)
        kind = body.get("cloud_authenticator_type")
        if not isinstance(kind, int) or isinstance(kind, bool):
            self.fail(400, "cloud_authenticator_type is required and must be an integer")
        if kind != self.AWS:
            self.fail(400, f"cloud_authenticator_type {kind} is not supported: use 3 (AMAZON_WEB_SERVICES)")
        credential = body.get("aws_credential")
        if not isinstance(credential, dict):
            self.fail(400, "aws_credential is required for cloud_authenticator_type 3")
        role_arn, external_id = credential.get("role_arn"), credential.get("external_id")
        if not is_role_arn(role_arn):
            self.fail(400, "aws_credential.role_arn must be an IAM role ARN")
        if not isinstance(external_id, str) or not external_id:
            self.fail(400, "aws_credential.external_id is required")
        authenticator = {
            "id": str(uuid.uuid4()),
            "cloud_authenticator_type": self.AWS,
            "aws_credential": {"role_arn": role_arn},
            "date_created": rfc3339(time.time()),
        }
        # State keeps the external ID for tests; the answer does not echo a secret.
        self.authenticators.append({**authenticator, "aws_credential": dict(credential)})
        return json_response(200, authenticator)


# The permissions the seed's FAILURE example lists as required on Skyhigh's role.
SKYHIGH_REQUIRED_PERMISSIONS = (
    "autoscaling:DescribeAutoScalingGroups", "cloudfront:ListDistributions",
    "cloudfront:ListStreamingDistributions", "cloudfront:ListTagsForResource",
    "cloudtrail:DescribeTrails", "cloudtrail:GetEventSelectors", "cloudtrail:GetTrailStatus",
    "cloudtrail:ListTags", "config:DescribeConfigurationRecorderStatus",
    "config:DescribeConfigurationRecorders", "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses",
    "ec2:DescribeCustomerGateways", "ec2:DescribeFlowLogs", "ec2:DescribeImages", "ecs:ListTasks",
    "eks:DescribeCluster", "elasticache:ListTagsForResource",
    "elasticloadbalancing:DescribeListenerCertificates",
)
SKYHIGH_OPTION_FLAGS = (
    "enableDLP", "enableActivityMonitoring", "enableSecurityAudit", "enableVPCFlowLogs",
    "enableVulnerabilities", "ignoreErrors",
)
SKYHIGH_PREFIX = "/shndlpapi/v1/aws/"


class Skyhigh(Vendor):
    """AWS Account Management API, post-5.4.0 (seed: skyhigh-aws-account-api.txt).

    provisionAccounts, addAccounts and deleteAccounts answer "being processed"
    with a provisionStatus URL; the request completes after `processing_polls`
    status reads and `processing_seconds`, and only then do its accounts appear
    in (or leave) provisionedAccounts.
    """

    name = "skyhigh"
    routes = (
        ("GET", re.compile(SKYHIGH_PREFIX + "trustDetails"), "trust_details", None),
        ("POST", re.compile(SKYHIGH_PREFIX + "provisionAccounts"), "provision_accounts", "json"),
        ("PUT", re.compile(SKYHIGH_PREFIX + "addAccounts"), "add_accounts", "json"),
        ("DELETE", re.compile(SKYHIGH_PREFIX + "deleteAccounts"), "delete_accounts", "json"),
        ("GET", re.compile(SKYHIGH_PREFIX + "provisionedAccounts"), "provisioned_accounts", None),
        ("GET", re.compile(SKYHIGH_PREFIX + r"provisionStatus/([^/]+)"), "provision_status", None),
    )

    def reset(self) -> None:
        self.instance: dict[str, Any] | None = None  # one instance per tenant, at most
        self.requests: dict[str, dict[str, Any]] = {}
        self.forced_outcomes: dict[str, dict[str, Any]] = {}

    def snapshot(self) -> dict[str, Any]:
        return {"instance": self.instance, "requests": list(self.requests.values()),
                "forced_outcomes": self.forced_outcomes}

    def error(self, status: int, message: str) -> Response:
        return json_response(status, {"status": "FAILURE", "statusMessage": message, "errors": None})

    def authenticate(self, req: Request) -> None:
        credentials = req.basic_credentials()
        if credentials is None or not (
            secret_equals(credentials[0], self.config["username"])
            and secret_equals(credentials[1], self.config["password"])
        ):
            response = self.error(401, "Unauthorized: HTTP basic authentication with user/password is required")
            response.headers["WWW-Authenticate"] = 'Basic realm="Skyhigh Security"'
            raise Reject(response)

    def trust_details(self, req: Request) -> Response:
        return json_response(200, {
            "Skyhigh CASB AWS Account ID": self.config["aws_account_id"],
            "External ID": self.config["external_id"],
        })

    def provision_accounts(self, req: Request) -> Response:
        body = self.json_object(req)
        name, accounts = self.instance_name(body), self.aws_accounts(body, names_required=True)
        self.check_options(body)
        # Seed: one instance per tenant. Same name: accounts are added; another
        # name with no accounts: added to it; otherwise "the API will throw an error".
        if self.instance is None:
            options = {key: body[key] for key in (*SKYHIGH_OPTION_FLAGS, "securityAuditType", "notificationEmails")
                       if key in body}
            self.instance = {"name": name, "accounts": {}, "options": options}
        elif self.instance["name"] != name and self.instance["accounts"]:
            self.fail(400, f"An AWS instance named '{self.instance['name']}' already exists with accounts; "
                           "multi-instance is not supported for AWS: use addAccounts")
        return self.submit("provision", accounts, req)

    def add_accounts(self, req: Request) -> Response:
        body = self.json_object(req)
        name, accounts = self.instance_name(body), self.aws_accounts(body, names_required=True)
        self.check_options(body)
        self.existing_instance(name)
        return self.submit("add", accounts, req)

    def delete_accounts(self, req: Request) -> Response:
        body = self.json_object(req)
        name, accounts = self.instance_name(body), self.aws_accounts(body, names_required=False)
        self.existing_instance(name)
        return self.submit("delete", accounts, req)

    def provisioned_accounts(self, req: Request) -> Response:
        name = req.param("instanceName")
        if not name:
            self.fail(400, "instanceName is required")
        self.settle()
        if self.instance is None or self.instance["name"] != name:
            return json_response(200, [])
        return json_response(200, list(self.instance["accounts"]))

    def provision_status(self, req: Request, request_id: str) -> Response:
        record = self.requests.get(request_id)
        if record is None:
            self.fail(404, f"No provisioning request with id {request_id}")
        self.settle()
        if not record["done"]:
            record["polls"] += 1
            return json_response(200, {"statusMessage": "The request is being processed",
                                       "status": "SUCCESS", "errors": None})
        return json_response(200, record["result"])

    def set_outcome(self, body: dict[str, Any]) -> dict[str, Any]:
        """Control: how provisioning of a role ARN submitted from now on ends."""
        role_arn, status = body.get("role_arn"), body.get("status")
        missing = body.get("missing_permissions", list(SKYHIGH_REQUIRED_PERMISSIONS))
        if not is_role_arn(role_arn):
            raise control_error("role_arn must be an IAM role ARN")
        if status not in ("SUCCESSFUL_WITH_ERRORS", "FAILURE"):
            raise control_error("status must be SUCCESSFUL_WITH_ERRORS or FAILURE")
        if not isinstance(missing, list) or not missing or not all(isinstance(p, str) and p for p in missing):
            raise control_error("missing_permissions must be a non-empty list of permission names")
        self.forced_outcomes[role_arn] = {"status": status, "missing_permissions": missing}
        return {"role_arn": role_arn, **self.forced_outcomes[role_arn]}

    # -- request handling helpers

    def instance_name(self, body: dict[str, Any]) -> str:
        name = body.get("instanceName")
        if not isinstance(name, str) or not name:
            self.fail(400, "instanceName is required")
        return name

    def aws_accounts(self, body: dict[str, Any], names_required: bool) -> list[dict[str, str]]:
        accounts = body.get("awsAccounts")
        if not isinstance(accounts, list) or not accounts:
            self.fail(400, "awsAccounts must be a non-empty list")
        for i, account in enumerate(accounts):
            if not isinstance(account, dict) or not is_role_arn(account.get("assumedRole")):
                self.fail(400, f"awsAccounts[{i}].assumedRole must be an IAM role ARN")
            account_name = account.get("accountName")
            if (names_required or account_name is not None) and (not isinstance(account_name, str) or not account_name):
                self.fail(400, f"awsAccounts[{i}].accountName is required")
            if not isinstance(account.get("awsBucketNames", ""), str):
                self.fail(400, f"awsAccounts[{i}].awsBucketNames must be a string")
        return accounts

    def check_options(self, body: dict[str, Any]) -> None:
        for flag in SKYHIGH_OPTION_FLAGS:
            if flag in body and not isinstance(body[flag], bool):
                self.fail(400, f"{flag} must be a boolean")
        if body.get("securityAuditType", "CONTINUOUS_EVALUATION") not in ("CONTINUOUS_EVALUATION", "SCHEDULED_SCAN"):
            self.fail(400, "securityAuditType must be CONTINUOUS_EVALUATION or SCHEDULED_SCAN")
        if not isinstance(body.get("notificationEmails", ""), str):
            self.fail(400, "notificationEmails must be a string")

    def existing_instance(self, name: str) -> dict[str, Any]:
        if self.instance is None or self.instance["name"] != name:
            self.fail(400, f"AWS instance '{name}' does not exist: create it with provisionAccounts")
        return self.instance

    def submit(self, kind: str, accounts: list[dict[str, str]], req: Request) -> Response:
        request_id = str(uuid.uuid4())
        if kind == "delete":
            result, effective = {"statusMessage": "Success", "status": "SUCCESS", "errors": None}, accounts
        else:
            # The outcome is decided now, when Skyhigh would start assuming the roles.
            result, effective = self.outcome(accounts)
        self.requests[request_id] = {
            "id": request_id, "kind": kind, "accounts": accounts, "effective_accounts": effective,
            "submitted_at": time.time(), "polls": 0, "done": False, "result": result,
        }
        self.settle()
        if kind == "delete":
            # The seed's deleteAccounts answer names a host-relative URL without a final period.
            message = ("The request is being processed. Please call this API "
                       f"/shndlpapi/v1/aws/provisionStatus/{request_id} to get the status")
        else:
            message = ("The request is being processed. Please call this API "
                       f"{req.base_url}/shndlpapi/v1/aws/provisionStatus/{request_id} to get the status.")
        # The id appears only in that URL, as the seed shows.
        return json_response(200, {"status": "SUCCESS", "statusMessage": message, "errors": None})

    def outcome(self, accounts: list[dict[str, str]]) -> tuple[dict[str, Any], list[dict[str, str]]]:
        """The provisionStatus result for adding `accounts`, and the accounts it adds."""
        failed, added, errors = [], [], {}
        for account in accounts:
            role_arn = account["assumedRole"]
            forced = self.forced_outcomes.get(role_arn)
            if not self.sandbox.role_assumable(role_arn):
                failed.append(role_arn)
                errors[role_arn] = self.assume_role_denied(role_arn, SKYHIGH_REQUIRED_PERMISSIONS)
            elif forced and forced["status"] == "FAILURE":
                failed.append(role_arn)
                errors[role_arn] = self.assume_role_denied(role_arn, forced["missing_permissions"])
            else:
                added.append(account)
                if forced:
                    errors[role_arn] = (f"Role={role_arn} does not have the following permissions="
                                        f"{{{','.join(forced['missing_permissions'])}}}")
        added_arns = ", ".join(account["assumedRole"] for account in added)
        if failed:
            result = {"statusMessage": f"Accounts with Failed Authentication: [{', '.join(failed)}]",
                      "status": "FAILURE", "errors": errors}
        elif errors:
            result = {"statusMessage": f"Successfully added the accounts: [{added_arns}]",
                      "status": "SUCCESSFUL_WITH_ERRORS", "errors": errors}
        else:
            result = {"statusMessage": "Success", "status": "SUCCESS", "errors": None}
        return result, added

    def assume_role_denied(self, role_arn: str, permissions: Any) -> str:
        # Worded as the seed's FAILURE example.
        return (f"{{User: arn:aws:iam::{self.config['aws_account_id']}:user/SkyHigh_81374 is not authorized "
                f"to perform: sts:AssumeRole on resource: {role_arn} (Service: AWSSecurityTokenService; "
                f"Status Code: 403; Error Code: AccessDenied; Request ID: {uuid.uuid4()})}}. "
                f"Permissions required on this role={{[{', '.join(permissions)}]}}")

    def settle(self) -> None:
        """Complete every request that has been polled and aged enough."""
        now = time.time()
        for record in self.requests.values():
            if record["done"] or record["polls"] < self.config["processing_polls"] \
                    or now - record["submitted_at"] < self.config["processing_seconds"]:
                continue
            record["done"] = True
            # Requests exist only while the instance does (both go on reset).
            accounts = self.instance["accounts"]
            for account in record["effective_accounts"]:
                if record["kind"] == "delete":
                    accounts.pop(account["assumedRole"], None)
                else:
                    accounts[account["assumedRole"]] = {"accountName": account["accountName"],
                                                        "awsBucketNames": account.get("awsBucketNames", "")}


class Cloudcraft(Vendor):
    """Developer API, AWS accounts (seed: cloudcraft-add-aws-accounts.txt)."""

    name = "cloudcraft"
    routes = (
        ("GET", re.compile(r"/aws/account/iamParameters"), "iam_parameters", None),
        ("GET", re.compile(r"/aws/account"), "list_accounts", None),
        ("POST", re.compile(r"/aws/account"), "create_account", "json"),
        ("PUT", re.compile(r"/aws/account/([^/]+)"), "update_account", "json"),
        ("DELETE", re.compile(r"/aws/account/([^/]+)"), "delete_account", None),
    )

    def __init__(self, sandbox: Sandbox, config: dict[str, Any]):
        super().__init__(sandbox, config)
        self.creator_id = str(uuid.uuid4())  # the user the API key belongs to

    def reset(self) -> None:
        self.accounts: dict[str, dict[str, Any]] = {}
        self.recent_requests: deque[float] = deque()  # for the per-key rate limit

    def snapshot(self) -> dict[str, Any]:
        return {"accounts": list(self.accounts.values())}

    def error(self, status: int, message: str) -> Response:
        return json_response(status, {"error": message})

    def authenticate(self, req: Request) -> None:
        scheme, key = req.authorization()
        if scheme.lower() != "bearer" or not secret_equals(key, self.config["api_key"]):
            self.fail(401, "Unauthorized: send 'Authorization: Bearer <API key>'")
        # Notes: 20 requests per minute per API key, then 429 (a sliding window).
        limit, now = self.config["rate_limit_per_minute"], time.time()
        while self.recent_requests and self.recent_requests[0] <= now - 60:
            self.recent_requests.popleft()
        if limit and len(self.recent_requests) >= limit:
            response = self.error(429, f"Too many requests: the API allows {limit} requests per minute")
            response.headers["Retry-After"] = str(max(1, math.ceil(self.recent_requests[0] + 60 - now)))
            raise Reject(response)
        self.recent_requests.append(now)

    def iam_parameters(self, req: Request) -> Response:
        account_id, external_id = self.config["aws_account_id"], self.config["external_id"]
        return json_response(200, {
            "accountId": account_id,
            "externalId": external_id,
            "awsConsoleUrl": ("https://console.aws.amazon.com/iam/home?#/roles$new?step=type&roleType=crossAccount"
                              f"&isThirdParty&accountID={account_id}&externalID={external_id}"
                              "&policies=arn:aws:iam::aws:policy%2FReadOnlyAccess"),
        })

    def list_accounts(self, req: Request) -> Response:
        return json_response(200, {"accounts": list(self.accounts.values())})

    def create_account(self, req: Request) -> Response:
        name, role_arn = self.account_fields(req)
        now = rfc3339(time.time())
        account = {
            "id": str(uuid.uuid4()), "name": name, "roleArn": role_arn,
            "externalId": self.config["external_id"],  # one external ID per API key
            "readAccess": [], "writeAccess": [], "createdAt": now, "updatedAt": now,
            "CreatorId": self.creator_id, "source": "aws",
        }
        self.accounts[account["id"]] = account
        return json_response(201, account)

    def update_account(self, req: Request, account_id: str) -> Response:
        account = self.accounts.get(account_id)
        if account is None:
            self.fail(404, f"AWS account {account_id} not found")
        name, role_arn = self.account_fields(req)
        account.update(name=name, roleArn=role_arn, updatedAt=rfc3339(time.time()))
        return json_response(200, account)

    def delete_account(self, req: Request, account_id: str) -> Response:
        if self.accounts.pop(account_id, None) is None:
            self.fail(404, f"AWS account {account_id} not found")
        return Response(204)

    def account_fields(self, req: Request) -> tuple[str, str]:
        body = self.json_object(req)
        name, role_arn, region = body.get("name"), body.get("roleArn"), body.get("region", "us-east-1")
        if not isinstance(name, str) or not name.strip():
            self.fail(400, "name is required")
        if not is_role_arn(role_arn):
            self.fail(400, "roleArn must be an IAM role ARN (arn:aws:iam::<account id>:role/<name>)")
        if not isinstance(region, str) or REGION.fullmatch(region) is None:
            self.fail(400, "region must be an AWS region name such as us-east-1")
        # Notes: Cloudcraft assumes the role at once to validate it, so IAM
        # propagation delays surface here as a refused request.
        if not self.sandbox.role_assumable(role_arn):
            self.fail(400, f"Unable to assume role {role_arn} from {region}: AccessDenied: "
                           f"User: arn:aws:sts::{self.config['aws_account_id']}:assumed-role/cloudcraft/cloudcraft "
                           f"is not authorized to perform: sts:AssumeRole on resource: {role_arn}. "
                           "Check the role's trust policy and external ID.")
        return name, role_arn


# RISKEN data source status (notes; proto aws.Status).
UNKNOWN, OK, CONFIGURED, IN_PROGRESS, ERROR = range(5)
RISKEN_PREFIX = "/api/v1/aws/"


def as_uint32(value: Any) -> int:
    """A Go uint32 bound from JSON or a query string; undecodable values stay 0,
    because RISKEN's gateway ignores bind errors and validation then sees zero."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**32:
        return value
    return 0


def as_int64(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and -2**63 <= value < 2**63 else 0


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def omit_zero(value: Any) -> Any:
    """Drop zero-valued fields, as Go's encoding/json does for RISKEN's protobuf
    structs (`omitempty`): notes, "zero-valued fields are omitted"."""
    if isinstance(value, dict):
        cleaned = {key: omit_zero(item) for key, item in value.items()}
        return {key: item for key, item in cleaned.items() if item not in (None, "", 0, [], {})}
    if isinstance(value, list):
        return [omit_zero(item) for item in value]
    return value


# ozzo-validation rules, with its messages, as RISKEN's validators use them.
def required(value: Any) -> str | None:
    return "cannot be blank" if value in (0, "", None) else None


def length(low: int, high: int):
    def rule(value: str) -> str | None:
        if not value or low <= len(value) <= high:
            return None
        if low == high:
            return f"the length must be exactly {low}"
        return f"the length must be no more than {high}" if low == 0 else f"the length must be between {low} and {high}"
    return rule


def digits(value: str) -> str | None:
    return "must contain digits only" if value and not re.fullmatch(r"[0-9]+", value) else None


def one_of(*allowed: Any):
    return lambda value: None if not value or value in allowed else "must be a valid value"


def unix_time(value: int) -> str | None:
    if value < 0:
        return "must be no less than 0"
    return "must be no greater than 253402268399" if value > 253402268399 else None


def first_error(value: Any, *rules) -> str | None:
    return next((message for rule in rules if (message := rule(value))), None)


class Risken(Vendor):
    """RISKEN gateway, AWS API (seed: risken-aws-api.txt; the open-source gateway
    for the auth layer's plain-text errors and validation messages)."""

    name = "risken"
    routes = (
        ("GET", re.compile(RISKEN_PREFIX + "list-aws/?"), "list_aws", None),
        ("GET", re.compile(RISKEN_PREFIX + "list-datasource/?"), "list_datasource", None),
        ("POST", re.compile(RISKEN_PREFIX + "put-aws/?"), "put_aws", "json"),
        ("POST", re.compile(RISKEN_PREFIX + "delete-aws/?"), "delete_aws", "json"),
        ("POST", re.compile(RISKEN_PREFIX + "attach-datasource/?"), "attach_datasource", "json"),
        ("POST", re.compile(RISKEN_PREFIX + "detach-datasource/?"), "detach_datasource", "json"),
        ("POST", re.compile(RISKEN_PREFIX + "invoke-scan/?"), "invoke_scan", "json"),
    )

    def reset(self) -> None:
        self.next_aws_id = 3001
        self.aws: dict[int, dict[str, Any]] = {}
        self.attachments: dict[tuple[int, int], dict[str, Any]] = {}  # (aws_id, aws_data_source_id)
        self.scans: dict[tuple[int, int], dict[str, Any]] = {}  # running scans, same keys
        self.forced_errors: dict[tuple[str, str], str] = {}  # (aws_account_id, data source) -> detail

    def snapshot(self) -> dict[str, Any]:
        return {"aws": list(self.aws.values()), "data_sources": list(self.attachments.values()),
                "forced_errors": [{"aws_account_id": account, "data_source": source, "status_detail": detail}
                                  for (account, source), detail in self.forced_errors.items()]}

    def error(self, status: int, message: str) -> Response:
        if status in (401, 403):  # the auth layer answers with http.Error: plain text
            response = Response(status, f"{message}\n".encode(), "text/plain; charset=utf-8")
            response.headers["X-Content-Type-Options"] = "nosniff"
            return response
        return json_response(status, {"error": message})

    # chi's not-found, method-not-allowed and AllowContentType answers have no body.
    def not_found(self, req: Request) -> Response:
        return Response(404)

    def method_not_allowed(self, req: Request, allowed: list[str]) -> Response:
        return Response(405, headers={"Allow": ", ".join(allowed)})

    def unsupported_media_type(self, expected: str) -> Response:
        return Response(415)

    def authenticate(self, req: Request) -> None:
        scheme, token = req.authorization()
        if scheme.lower() != "bearer" or not secret_equals(token, self.config["access_token"]):
            self.fail(401, "Unauthenticated")
        # The token belongs to one project; a request naming another is refused
        # (an absent project_id passes here and fails validation instead).
        project_id = as_uint32(req.param("project_id") if req.method == "GET" else self.bound(req).get("project_id"))
        if project_id and project_id != self.config["project_id"]:
            self.fail(403, "Unauthorized the project resource for token access")

    def bound(self, req: Request) -> dict[str, Any]:
        """The JSON body, or {} when it does not decode (the gateway ignores bind errors)."""
        return req.json_body if isinstance(req.json_body, dict) else {}

    def validate(self, errors: dict[str, str | None]) -> None:
        failed = {name: message for name, message in errors.items() if message}
        if failed:  # ozzo-validation's Errors format
            self.fail(400, "; ".join(f"{name}: {message}" for name, message in sorted(failed.items())) + ".")

    def backend_error(self, message: str) -> NoReturn:
        # The gateway answers any error from the datasource-api backend with 500.
        self.fail(500, f"rpc error: code = Unknown desc = {message}")

    def ok(self, data: dict[str, Any]) -> Response:
        return json_response(200, {"data": omit_zero(data)})

    def project_aws(self, project_id: int, aws_id: int) -> dict[str, Any] | None:
        aws = self.aws.get(aws_id)
        return aws if aws is not None and aws["project_id"] == project_id else None

    def list_aws(self, req: Request) -> Response:
        project_id, aws_id = as_uint32(req.param("project_id")), as_uint32(req.param("aws_id"))
        account_id = req.param("aws_account_id") or ""
        self.validate({"project_id": first_error(project_id, required),
                       "aws_account_id": first_error(account_id, length(12, 12), digits)})
        return self.ok({"aws": [
            aws for aws in self.aws.values()
            if aws["project_id"] == project_id and aws_id in (0, aws["aws_id"])
            and account_id in ("", aws["aws_account_id"])
        ]})

    def put_aws(self, req: Request) -> Response:
        body = self.bound(req)
        aws = body.get("aws")
        if not isinstance(aws, dict):
            self.fail(400, "Required Aws")
        project_id, nested_project_id = as_uint32(body.get("project_id")), as_uint32(aws.get("project_id"))
        self.validate({"project_id": first_error(project_id, required, one_of(nested_project_id))})
        name, account_id = as_str(aws.get("name")), as_str(aws.get("aws_account_id"))
        self.validate({"name": first_error(name, length(0, 200)),
                       "project_id": first_error(nested_project_id, required),
                       "aws_account_id": first_error(account_id, required, digits, length(12, 12))})
        now = int(time.time())
        # Upsert on project + 12-digit account ID.
        record = next((a for a in self.aws.values()
                       if a["project_id"] == project_id and a["aws_account_id"] == account_id), None)
        if record is None:
            record = {"aws_id": self.next_aws_id, "name": name, "project_id": project_id,
                      "aws_account_id": account_id, "created_at": now, "updated_at": now}
            self.aws[record["aws_id"]] = record
            self.next_aws_id += 1
        else:
            record.update(name=name, updated_at=now)
        return self.ok({"aws": record})

    def delete_aws(self, req: Request) -> Response:
        body = self.bound(req)
        project_id, aws_id = as_uint32(body.get("project_id")), as_uint32(body.get("aws_id"))
        self.validate({"project_id": first_error(project_id, required), "aws_id": first_error(aws_id, required)})
        if self.project_aws(project_id, aws_id) is not None:
            del self.aws[aws_id]
            for key in [key for key in self.attachments if key[0] == aws_id]:
                self.attachments.pop(key)
                self.scans.pop(key, None)
        return self.ok({})

    def list_datasource(self, req: Request) -> Response:
        project_id, aws_id = as_uint32(req.param("project_id")), as_uint32(req.param("aws_id"))
        source_filter = req.param("data_source") or ""
        self.validate({"project_id": first_error(project_id, required),
                       "data_source": first_error(source_filter, length(0, 64)),
                       "aws_id": first_error(aws_id, required)})
        rows = []
        # The catalogue joined with this account's attachments.
        for source, source_id in self.config["data_sources"].items():
            if source_filter and source != source_filter:
                continue
            row = {"aws_data_source_id": source_id, "data_source": source, "max_score": 10.0}
            attachment = self.attachments.get((aws_id, source_id))
            if attachment is not None and attachment["project_id"] == project_id:
                self.advance_scan((aws_id, source_id))
                row.update({key: attachment[key] for key in (
                    "aws_id", "project_id", "assume_role_arn", "external_id", "status", "status_detail",
                    "scan_at", "specific_version")})
            rows.append(row)
        return self.ok({"data_source": rows})

    def attach_datasource(self, req: Request) -> Response:
        body = self.bound(req)
        attach = body.get("attach_data_source")
        if not isinstance(attach, dict):
            self.fail(400, "Required AttachDataSource")
        project_id, nested_project_id = as_uint32(body.get("project_id")), as_uint32(attach.get("project_id"))
        self.validate({"project_id": first_error(project_id, required, one_of(nested_project_id))})
        aws_id, source_id = as_uint32(attach.get("aws_id")), as_uint32(attach.get("aws_data_source_id"))
        role_arn, external_id = as_str(attach.get("assume_role_arn")), as_str(attach.get("external_id"))
        scan_at = as_int64(attach.get("scan_at"))
        self.validate({
            "aws_id": first_error(aws_id, required),
            "aws_data_source_id": first_error(source_id, required),
            "project_id": first_error(nested_project_id, required),
            "assume_role_arn": first_error(role_arn, required, length(0, 255)),
            "external_id": first_error(external_id, required, length(8, 255)),
            "scan_at": first_error(scan_at, unix_time),
        })
        if self.project_aws(project_id, aws_id) is None or source_id not in self.config["data_sources"].values():
            self.backend_error("record not found")
        status = as_uint32(attach.get("status"))
        now, key = int(time.time()), (aws_id, source_id)
        attachment = self.attachments.setdefault(key, {"created_at": now})
        attachment.update({
            "aws_id": aws_id, "aws_data_source_id": source_id, "project_id": project_id,
            "assume_role_arn": role_arn, "external_id": external_id,
            "status": status if status <= ERROR else UNKNOWN,  # unknown statuses read back as UNKNOWN
            "status_detail": as_str(attach.get("status_detail")), "scan_at": scan_at,
            "specific_version": as_str(attach.get("specific_version")), "updated_at": now,
        })
        return self.ok({"data_source": attachment})

    def detach_datasource(self, req: Request) -> Response:
        project_id, aws_id, source_id = self.scan_target(req)
        if self.project_aws(project_id, aws_id) is not None:
            self.attachments.pop((aws_id, source_id), None)
            self.scans.pop((aws_id, source_id), None)
        return self.ok({})

    def invoke_scan(self, req: Request) -> Response:
        project_id, aws_id, source_id = self.scan_target(req)
        attachment = self.attachments.get((aws_id, source_id))
        if attachment is None or attachment["project_id"] != project_id:
            self.backend_error("record not found")
        now = time.time()
        # As datasource-api's InvokeScan: IN_PROGRESS with a "Start scan at" detail.
        attachment.update(status=IN_PROGRESS, status_detail=f"Start scan at {rfc3339(now)}", updated_at=int(now))
        self.scans[(aws_id, source_id)] = {"started_at": now, "polls": 0}
        return self.ok({})

    def scan_target(self, req: Request) -> tuple[int, int, int]:
        body = self.bound(req)
        target = (as_uint32(body.get("project_id")), as_uint32(body.get("aws_id")),
                  as_uint32(body.get("aws_data_source_id")))
        self.validate({name: first_error(value, required)
                       for name, value in zip(("project_id", "aws_id", "aws_data_source_id"), target)})
        return target

    def advance_scan(self, key: tuple[int, int]) -> None:
        """A list-datasource read of a scanning attachment: complete it once it has
        been read `scan_polls` times and `scan_seconds` have passed."""
        scan = self.scans.get(key)
        if scan is None:
            return
        if scan["polls"] < self.config["scan_polls"] or time.time() - scan["started_at"] < self.config["scan_seconds"]:
            scan["polls"] += 1
            return
        del self.scans[key]
        attachment, now = self.attachments[key], int(time.time())
        forced = self.forced_errors.get(self.error_key(attachment))
        if forced is None:
            attachment.update(status=OK, status_detail="", scan_at=now, updated_at=now)
        else:
            attachment.update(status=ERROR, status_detail=forced, scan_at=now, updated_at=now)

    def error_key(self, attachment: dict[str, Any]) -> tuple[str, str]:
        names = {source_id: name for name, source_id in self.config["data_sources"].items()}
        return self.aws[attachment["aws_id"]]["aws_account_id"], names[attachment["aws_data_source_id"]]

    def force_error(self, body: dict[str, Any]) -> dict[str, Any]:
        """Control: make a data source of an account end in ERROR (now if it is
        attached and not scanning, else when its scan completes)."""
        account_id, source = body.get("aws_account_id"), body.get("data_source")
        detail = body.get("status_detail", "sandbox: forced scan error")
        if not isinstance(account_id, str) or not re.fullmatch(r"[0-9]{12}", account_id):
            raise control_error("aws_account_id must be a 12-digit AWS account ID")
        if source not in self.config["data_sources"]:
            raise control_error(f"data_source must be one of {sorted(self.config['data_sources'])}")
        if not isinstance(detail, str) or not detail:
            raise control_error("status_detail must be a non-empty string")
        self.forced_errors[(account_id, source)] = detail
        for key, attachment in self.attachments.items():
            if key not in self.scans and self.error_key(attachment) == (account_id, source):
                attachment.update(status=ERROR, status_detail=detail, updated_at=int(time.time()))
        return {"aws_account_id": account_id, "data_source": source, "status_detail": detail}


STELLAR_PREFIX = "/connect/api/v1/"


class StellarCyber(Vendor):
    """Public API: JWT from an API key, then connectors
    (seed: stellarcyber-api-authentication.txt; notes for the connectors API)."""

    name = "stellarcyber"
    TOKEN_PATH = STELLAR_PREFIX + "access_token"
    routes = (
        ("POST", re.compile(TOKEN_PATH), "access_token", "form"),
        ("GET", re.compile(STELLAR_PREFIX + "connector"), "list_connectors", None),
        ("POST", re.compile(STELLAR_PREFIX + "connector"), "create_connector", "json"),
        ("DELETE", re.compile(STELLAR_PREFIX + r"connector/([^/]+)"), "delete_connector", None),
    )

    def __init__(self, sandbox: Sandbox, config: dict[str, Any]):
        super().__init__(sandbox, config)
        # Tokens are verified by signature, so they outlive /_sandbox/reset, as a
        # real JWT outlives any server-side change until it expires.
        self.signing_key = os.urandom(32)

    def reset(self) -> None:
        self.connectors: dict[str, dict[str, Any]] = {}

    def snapshot(self) -> dict[str, Any]:
        return {"connectors": list(self.connectors.values())}

    def error(self, status: int, message: str) -> Response:
        return json_response(status, {"error": message})

    def authenticate(self, req: Request) -> None:
        if req.path == self.TOKEN_PATH:
            credentials = req.basic_credentials()
            if credentials is None or not (secret_equals(credentials[0], self.config["user_id"])
                                           and secret_equals(credentials[1], self.config["api_key"])):
                self.fail(401, "Invalid user ID or API key: send 'Authorization: Basic base64(user_id:api_key)'")
            return
        scheme, token = req.authorization()
        problem = self.token_problem(token) if scheme.lower() == "bearer" else "Missing bearer token"
        if problem:
            self.fail(401, problem)

    def sign(self, signing_input: str) -> str:
        return b64url(hmac.new(self.signing_key, signing_input.encode(), hashlib.sha256).digest())

    def token_problem(self, token: str) -> str | None:
        parts = token.split(".")
        if len(parts) != 3 or not hmac.compare_digest(self.sign(f"{parts[0]}.{parts[1]}"), parts[2]):
            return "Invalid token"
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        # The seed: JWTs expire (ten minutes by default); then the API answers 401.
        return "Token expired" if time.time() >= claims["exp"] else None

    def access_token(self, req: Request) -> Response:
        now = time.time()
        expires = math.ceil(now + self.config["jwt_lifetime_seconds"])
        compact = {"separators": (",", ":")}
        header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, **compact).encode())
        claims = b64url(json.dumps({"sub": self.config["user_id"], "iat": int(now), "exp": expires,
                                    "jti": uuid.uuid4().hex}, **compact).encode())
        token = f"{header}.{claims}.{self.sign(f'{header}.{claims}')}"
        return json_response(200, {"access_token": token, "exp": expires})

    def list_connectors(self, req: Request) -> Response:
        tenant = req.param("cust_id")
        return json_response(200, {"data": [
            connector for connector in self.connectors.values()
            if tenant is None or connector.get("cust_id") == tenant
        ]})

    def create_connector(self, req: Request) -> Response:
        body = self.json_object(req)
        if not isinstance(body.get("name"), str) or not body["name"].strip():
            self.fail(400, "name is required")
        connector = {**body, "_id": uuid.uuid4().hex[:24]}  # a MongoDB ObjectId-sized id
        self.connectors[connector["_id"]] = connector
        return json_response(200, {"data": connector})

    def delete_connector(self, req: Request, connector_id: str) -> Response:
        if self.connectors.pop(connector_id, None) is None:
            self.fail(404, f"Connector {connector_id} not found")
        return json_response(200, {"data": {"_id": connector_id}})


VENDOR_CLASSES = (DataTheorem, Skyhigh, Cloudcraft, Risken, StellarCyber)


# --------------------------------------------------------------------------- the sandbox


@dataclass
class Fault:
    vendor: str
    count: int = 1
    status: int | None = None
    body: str | None = None
    retry_after: int | None = None
    latency_ms: int = 0
    malformed: bool = False
    path_contains: str | None = None

    def response(self, vendor: Vendor) -> Response:
        if self.malformed:
            # Cut off mid-document, as a dropped connection or a broken proxy leaves it.
            response = Response(self.status or 200, b'{"sandbox": "malformed response", "trunc', "application/json")
        elif self.body is not None:
            try:
                json.loads(self.body)
                content_type = "application/json"
            except ValueError:
                content_type = "text/plain; charset=utf-8"
            response = Response(self.status, self.body.encode(), content_type)
        else:
            response = vendor.error(self.status, f"sandbox fault: HTTP {self.status}")
        if self.retry_after is not None:
            response.headers["Retry-After"] = str(self.retry_after)
        return response


def _int_field(body: dict[str, Any], key: str, default: int | None, low: int, high: int | None = None) -> int | None:
    value = body.get(key, default)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                              or value < low or (high is not None and value > high)):
        raise control_error(f"{key} must be an integer from {low}" + (f" to {high}" if high else ""))
    return value


def _str_field(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise control_error(f"{key} must be a string")
    return value


class Sandbox:
    """All vendors' state, faults and the request log, behind one lock."""

    def __init__(self, seed: dict[str, Any]):
        self.seed = seed
        self.lock = threading.Lock()
        self.vendors: dict[str, Vendor] = {cls.name: cls(self, seed[cls.name]) for cls in VENDOR_CLASSES}
        self.control_routes = {
            ("POST", "/_sandbox/faults"): self.add_fault,
            ("DELETE", "/_sandbox/faults"): self.clear_faults,
            ("POST", "/_sandbox/role-delay"): self.set_role_delay,
            ("POST", "/_sandbox/skyhigh/outcome"): lambda req: self.vendors["skyhigh"].set_outcome(self.control_body(req)),
            ("POST", "/_sandbox/risken/datasource-error"): lambda req: self.vendors["risken"].force_error(self.control_body(req)),
            ("GET", "/_sandbox/requests"): self.list_requests,
            ("GET", "/_sandbox/state"): self.state,
            ("POST", "/_sandbox/reset"): self.reset,
        }
        self.reset()

    def reset(self, req: Request | None = None) -> dict[str, Any]:
        self.faults: list[Fault] = []
        self.request_log: list[dict[str, Any]] = []
        self.roles_first_seen: dict[str, float] = {}
        self.role_delay_seconds: float = self.seed["role_not_assumable_seconds"]
        for vendor in self.vendors.values():
            vendor.reset()
        return {"reset": True}

    def role_assumable(self, role_arn: str) -> bool:
        """Whether a vendor can assume `role_arn` now. IAM propagation is modelled as
        the role becoming assumable `role_delay_seconds` after the sandbox first saw it."""
        first_seen = self.roles_first_seen.setdefault(role_arn, time.time())
        return time.time() >= first_seen + self.role_delay_seconds

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes, host: str) -> Response:
        url = urlsplit(target)
        query = parse_qs(url.query, keep_blank_values=True)
        if url.path == "/_sandbox" or url.path.startswith("/_sandbox/"):
            req = Request(method, url.path, query, headers, body, f"http://{host}")
            with self.lock:
                return self.control(req)
        vendor_name, _, rest = url.path.lstrip("/").partition("/")
        vendor = self.vendors.get(vendor_name)
        if vendor is None:
            return json_response(404, {"error": f"no vendor at {url.path}; vendors: {', '.join(self.vendors)}"})
        req = Request(method, "/" + rest, query, headers, body, f"http://{host}/{vendor_name}")
        with self.lock:
            fault = self.take_fault(vendor_name, req.path)
        if fault is not None and fault.latency_ms:
            time.sleep(fault.latency_ms / 1000)  # outside the lock: other requests go on
        with self.lock:
            if fault is not None and (fault.status or fault.malformed):
                response = fault.response(vendor)
            else:
                response = vendor.handle(req)
            self.request_log.append({
                "vendor": vendor_name, "method": method, "path": req.path, "query": query,
                "content_type": headers.get("Content-Type"),
                "authorization": redact_authorization(headers.get("Authorization")),
                "body": req.json_body, "status": response.status, "fault": fault is not None,
                "timestamp": time.time(),
            })
        return response

    def take_fault(self, vendor: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.vendor == vendor and (fault.path_contains is None or fault.path_contains in path):
                fault.count -= 1
                if fault.count == 0:
                    self.faults.remove(fault)
                return fault
        return None

    # -- control API

    def control(self, req: Request) -> Response:
        handler = self.control_routes.get((req.method, req.path.rstrip("/")))
        if handler is None:
            methods = [method for method, path in self.control_routes if path == req.path.rstrip("/")]
            if not methods:
                return json_response(404, {"error": f"no control endpoint at {req.path}"})
            response = json_response(405, {"error": f"use {', '.join(methods)}"})
            response.headers["Allow"] = ", ".join(methods)
            return response
        try:
            return json_response(200, handler(req))
        except Reject as rejection:
            return rejection.response

    @staticmethod
    def control_body(req: Request) -> dict[str, Any]:
        if isinstance(req.json_body, dict):
            return req.json_body
        raise control_error("the request body must be a JSON object")

    def add_fault(self, req: Request) -> dict[str, Any]:
        body = self.control_body(req)
        if body.get("vendor") not in self.vendors:
            raise control_error(f"vendor must be one of {', '.join(self.vendors)}")
        malformed = body.get("malformed", False)
        if not isinstance(malformed, bool):
            raise control_error("malformed must be a boolean")
        fault = Fault(
            vendor=body["vendor"],
            count=_int_field(body, "count", 1, 1),
            status=_int_field(body, "status", None, 200, 599),
            body=_str_field(body, "body"),
            retry_after=_int_field(body, "retry_after", None, 0),
            latency_ms=_int_field(body, "latency_ms", 0, 0),
            malformed=malformed,
            path_contains=_str_field(body, "path_contains"),
        )
        if fault.status is None and not fault.malformed and not fault.latency_ms:
            raise control_error("a fault needs a status, malformed: true or a latency_ms")
        if fault.body is not None and (fault.status is None or fault.malformed):
            raise control_error("body goes with a status (and not with malformed)")
        self.faults.append(fault)
        return {"fault": asdict(fault)}

    def clear_faults(self, req: Request) -> dict[str, Any]:
        cleared, self.faults = len(self.faults), []
        return {"cleared": cleared}

    def set_role_delay(self, req: Request) -> dict[str, Any]:
        seconds = self.control_body(req).get("seconds")
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            raise control_error("seconds must be a non-negative number")
        self.role_delay_seconds = seconds
        return {"seconds": seconds}

    def list_requests(self, req: Request) -> dict[str, Any]:
        vendor = req.param("vendor")
        if vendor is not None and vendor not in self.vendors:
            raise control_error(f"vendor must be one of {', '.join(self.vendors)}")
        return {"requests": [entry for entry in self.request_log if vendor in (None, entry["vendor"])]}

    def state(self, req: Request) -> dict[str, Any]:
        return {
            **{name: vendor.snapshot() for name, vendor in self.vendors.items()},
            "sandbox": {
                "role_not_assumable_seconds": self.role_delay_seconds,
                "roles_first_seen": {arn: rfc3339(ts) for arn, ts in self.roles_first_seen.items()},
                "faults": [asdict(fault) for fault in self.faults],
            },
        }


# --------------------------------------------------------------------------- server


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vendor-sandbox/1"

    def do_GET(self) -> None:
        body = self.read_body()
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        self.send(self.server.sandbox.handle(self.command, self.path, self.headers, body, host))

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while (size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)) > 0:
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return b"".join(chunks)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(length) if length > 0 else b""

    def send(self, response: Response) -> None:
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 204:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.status != 204:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # GET /_sandbox/requests is the access log


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sandbox: Sandbox):
        self.sandbox = sandbox
        super().__init__(address, SandboxHandler)


def write_atomically(path: str, text: str) -> None:
    """Write via a temporary file and a rename, so readers never see a partial file."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".vendor-sandbox-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def loopback_address(host: str) -> str | None:
    """The IPv4 loopback address to bind for `host`, or None if it is not loopback."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        return host if ipaddress.IPv4Address(host).is_loopback else None
    except ValueError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Stateful local sandboxes of vendorlink's five vendor APIs.")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 (default) picks a free one")
    parser.add_argument("--seed", help="seed JSON file (see README.md); defaults apply to what it leaves out")
    parser.add_argument("--ready-file", help="write the chosen port here (atomically) once listening")
    parser.add_argument("--host", default="127.0.0.1", help="IPv4 loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--exit-with-stdin", action="store_true",
                        help="stop when standard input closes, so a test harness that dies takes the sandbox with it")
    args = parser.parse_args(argv)
    host = loopback_address(args.host)
    if host is None:
        parser.error(f"--host {args.host} is not an IPv4 loopback address: the sandbox binds to loopback only")
    try:
        seed = load_seed(args.seed)
    except (OSError, ValueError) as problem:
        parser.error(f"--seed: {problem}")

    server = SandboxServer((host, args.port), Sandbox(seed))
    port = server.server_address[1]

    def stop(signum: int, frame: Any) -> None:
        # shutdown() waits for serve_forever() to return, so it cannot run on this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.exit_with_stdin:
        def watch_stdin() -> None:
            while sys.stdin.buffer.read(4096):
                pass
            stop(signal.SIGTERM, None)
        threading.Thread(target=watch_stdin, daemon=True).start()
    if args.ready_file:
        write_atomically(args.ready_file, f"{port}\n")
    print(f"vendor-sandbox listening on http://{host}:{port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
        if args.ready_file:
            try:
                os.unlink(args.ready_file)
            except FileNotFoundError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
