"""Data Theorem's sandbox: the API Security Results API's cloud authenticators."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from sandbox_core.exchange import Request, Response, json_response
from sandbox_core.formats import is_role_arn, rfc3339, role_account
from sandbox_core.vendor import Vendor, secret_equals


class DataTheorem(Vendor):
    """API Security Results API (docs/vendors/datatheorem.md).

    Only the create call is public: no list or delete endpoint is served, so a
    client cannot come to rely on one (the control API shows what was created).
    """

    name = "datatheorem"
    AWS = 3  # CloudAuthenticatorTypesEnum.AMAZON_WEB_SERVICES
    routes = (
        ("POST", re.compile(r"/apis/api_security/results/v1beta1/cloud_authenticators"), "create", "json"),
    )
    default_seed = {"api_key": "dt-sandbox-api-key"}

    def reset(self) -> None:
        self.authenticators: list[dict[str, Any]] = []

    def snapshot(self) -> dict[str, Any]:
        return {"authenticators": self.authenticators}

    def registered_accounts(self) -> list[str | None]:
        return [role_account(a["aws_credential"]["role_arn"]) for a in self.authenticators]

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
        # Data Theorem's onboarding page (the seed's revision and the current one) says
        # nothing of assuming the role when the authenticator is created, gives no error
        # for it, and there is no status API: a role not yet assumable is accepted. It
        # still counts as seen, so the role delay runs from here for the other vendors.
        self.roles.see(role_arn)
        authenticator = {
            "id": str(uuid.uuid4()),
            "cloud_authenticator_type": self.AWS,
            "aws_credential": {"role_arn": role_arn},
            "date_created": rfc3339(time.time()),
        }
        # State keeps the external ID for tests; the answer does not echo a secret.
        self.authenticators.append({**authenticator, "aws_credential": dict(credential)})
        return json_response(200, authenticator)


VENDOR = DataTheorem
