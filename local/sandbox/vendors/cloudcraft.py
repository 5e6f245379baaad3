"""Cloudcraft's sandbox: the Developer API's AWS accounts."""

from __future__ import annotations

import math
import re
import time
import uuid
from collections import deque
from typing import Any

from sandbox_core.exchange import Reject, Request, Response, json_response
from sandbox_core.formats import is_role_arn, rfc3339, role_account
from sandbox_core.roles import RolePropagation
from sandbox_core.vendor import Vendor, secret_equals

REGION = re.compile(r"[a-z]{2}(?:-gov)?-[a-z]+-\d")


class Cloudcraft(Vendor):
    """Developer API, AWS accounts (docs/vendors/cloudcraft.md)."""

    name = "cloudcraft"
    routes = (
        ("GET", re.compile(r"/aws/account/iamParameters"), "iam_parameters", None),
        ("GET", re.compile(r"/aws/account"), "list_accounts", None),
        ("POST", re.compile(r"/aws/account"), "create_account", "json"),
        ("PUT", re.compile(r"/aws/account/([^/]+)"), "update_account", "json"),
        ("DELETE", re.compile(r"/aws/account/([^/]+)"), "delete_account", None),
    )
    default_seed = {
        "api_key": "cloudcraft-sandbox-api-key",
        "aws_account_id": "968898580625",
        "external_id": "ex53e827-a724-4a2a-9fec-b13761540785",
        "rate_limit_per_minute": 20,
    }

    def __init__(self, roles: RolePropagation, config: dict[str, Any]):
        super().__init__(roles, config)
        self.creator_id = str(uuid.uuid4())  # the user the API key belongs to

    def reset(self) -> None:
        # The only place the rate window is cleared: it spans every request of the
        # key between two /_sandbox/reset calls, whatever else the control API does.
        self.accounts: dict[str, dict[str, Any]] = {}
        self.recent_requests: deque[float] = deque()  # for the per-key rate limit

    def snapshot(self) -> dict[str, Any]:
        window_start = time.time() - 60
        return {"accounts": list(self.accounts.values()),
                "rate_window_requests": sum(1 for ts in self.recent_requests if ts > window_start)}

    def registered_accounts(self) -> list[str | None]:
        return [role_account(account["roleArn"]) for account in self.accounts.values()]

    def error(self, status: int, message: str) -> Response:
        return json_response(status, {"error": message})

    def has_key(self, req: Request) -> bool:
        scheme, key = req.authorization()
        return scheme.lower() == "bearer" and secret_equals(key, self.config["api_key"])

    def authenticate(self, req: Request) -> None:
        if not self.has_key(req):
            self.fail(401, "Unauthorized: send 'Authorization: Bearer <API key>'")
        self.count_request()

    # A request with the key counts against its limit whatever it asks for, so an
    # unknown path or a wrong method counts too (and gets 429 once over the limit).
    def not_found(self, req: Request) -> Response:
        if self.has_key(req):
            self.count_request()
        return super().not_found(req)

    def method_not_allowed(self, req: Request, allowed: list[str]) -> Response:
        if self.has_key(req):
            self.count_request()
        return super().method_not_allowed(req, allowed)

    def count_request(self) -> None:
        """Count a request of the API key, or refuse it with 429 when the key is over
        its limit. Notes: 20 requests per minute per API key (a sliding window)."""
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
        if not self.roles.assumable(role_arn):
            self.fail(400, f"Unable to assume role {role_arn} from {region}: AccessDenied: "
                           f"User: arn:aws:sts::{self.config['aws_account_id']}:assumed-role/cloudcraft/cloudcraft "
                           f"is not authorized to perform: sts:AssumeRole on resource: {role_arn}. "
                           "Check the role's trust policy and external ID.")
        return name, role_arn


VENDOR = Cloudcraft
