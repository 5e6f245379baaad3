"""Stellar Cyber's sandbox: the public API's token call and connectors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import os
import re
import time
import uuid
from typing import Any

from sandbox_core.exchange import Request, Response, json_response
from sandbox_core.formats import is_role_arn, role_account
from sandbox_core.roles import RolePropagation
from sandbox_core.seed import SeedError
from sandbox_core.vendor import Vendor, secret_equals


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


PREFIX = "/connect/api/v1/"
MAX_PAGE = 100  # the largest `limit` a connector listing takes (a sandbox choice)
CONNECTOR_TYPE = "aws_cloudtrail"  # the one connector type the sandbox models
FILE_TYPES = ("json", "gzip")


class StellarCyber(Vendor):
    """Public API: JWT from an API key, then connectors (docs/vendors/stellarcyber.md,
    which also gives the sources for the connectors API).

    The connector schema and the list's shape are not public: the sandbox models
    only the AWS CloudTrail connector (role ARN, bucket, prefix, file type, as the
    connector's documentation lists them) and pages the list with skip/limit,
    both documented sandbox choices.
    """

    name = "stellarcyber"
    TOKEN_PATH = PREFIX + "access_token"
    routes = (
        ("POST", re.compile(TOKEN_PATH), "access_token", "form"),
        ("GET", re.compile(PREFIX + "connector"), "list_connectors", None),
        ("POST", re.compile(PREFIX + "connector"), "create_connector", "json"),
        ("DELETE", re.compile(PREFIX + r"connector/([^/]+)"), "delete_connector", None),
    )
    default_seed = {
        "user_id": "api-user@example.com",
        "api_key": "stellar-sandbox-api-key",
        "jwt_lifetime_seconds": 600.0,
        "page_size": 50,
    }

    @classmethod
    def check_seed(cls, config: dict[str, Any]) -> None:
        if config["jwt_lifetime_seconds"] <= 0:
            raise SeedError("stellarcyber.jwt_lifetime_seconds must be positive")
        if not 1 <= config["page_size"] <= MAX_PAGE:
            raise SeedError(f"stellarcyber.page_size must be from 1 to {MAX_PAGE}")

    def __init__(self, roles: RolePropagation, config: dict[str, Any]):
        super().__init__(roles, config)
        # Tokens are verified by signature, so they outlive /_sandbox/reset, as a
        # real JWT outlives any server-side change until it expires.
        self.signing_key = os.urandom(32)

    def reset(self) -> None:
        self.connectors: dict[str, dict[str, Any]] = {}

    def snapshot(self) -> dict[str, Any]:
        return {"connectors": list(self.connectors.values())}

    def registered_accounts(self) -> list[str | None]:
        return [connector_account(connector) for connector in self.connectors.values()]

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
        # Documented: JWTs expire (ten minutes by default); then the API answers 401.
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
        skip = self.page_param(req, "skip", 0, 0, None)
        limit = self.page_param(req, "limit", self.config["page_size"], 1, MAX_PAGE)
        tenant = req.param("cust_id")
        matching = [connector for connector in self.connectors.values()
                    if tenant is None or connector.get("cust_id") == tenant]
        # Creation order; `total` counts every match, so a client can tell it saw a page.
        return json_response(200, {"data": matching[skip:skip + limit], "total": len(matching)})

    def page_param(self, req: Request, name: str, default: int, low: int, high: int | None) -> int:
        text = req.param(name)
        if text is None:
            return default
        value = int(text) if text.isascii() and text.isdigit() else None
        if value is None or value < low or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"of {low} or more"
            self.fail(400, f"{name} must be an integer {bounds}")
        return value

    def create_connector(self, req: Request) -> Response:
        body = self.json_object(req)
        if not isinstance(body.get("name"), str) or not body["name"].strip():
            self.fail(400, "name is required")
        if body.get("type") != CONNECTOR_TYPE:
            self.fail(400, f'type must be "{CONNECTOR_TYPE}" (the AWS CloudTrail connector)')
        config = body.get("config")
        if not isinstance(config, dict):
            self.fail(400, "config must be an object")
        if not is_role_arn(config.get("role_arn")):
            self.fail(400, "config.role_arn must be an IAM role ARN (arn:aws:iam::<account id>:role/<name>)")
        if not isinstance(config.get("bucket"), str) or not config["bucket"]:
            self.fail(400, "config.bucket must be a non-empty string")
        if not isinstance(config.get("prefix"), str):
            self.fail(400, "config.prefix must be a string (it may be empty)")
        if config.get("file_type") not in FILE_TYPES:
            self.fail(400, f"config.file_type must be one of {', '.join(FILE_TYPES)}")
        # Nothing documents a check of the role when a connector is created, nor a
        # status to report one later, so a role not yet assumable is accepted; it
        # still counts as seen, so the role delay runs from here for other vendors.
        self.roles.see(config["role_arn"])
        connector = {**body, "_id": uuid.uuid4().hex[:24]}  # a MongoDB ObjectId-sized id
        self.connectors[connector["_id"]] = connector
        return json_response(200, {"data": connector})

    def delete_connector(self, req: Request, connector_id: str) -> Response:
        if self.connectors.pop(connector_id, None) is None:
            self.fail(404, f"Connector {connector_id} not found")
        return json_response(200, {"data": {"_id": connector_id}})


def connector_account(connector: dict[str, Any]) -> str | None:
    """The AWS account a connector covers: that of its `config.role_arn` (every
    stored connector has one)."""
    return role_account(connector["config"]["role_arn"])


VENDOR = StellarCyber
