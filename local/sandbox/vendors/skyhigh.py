"""Skyhigh Security's sandbox: the AWS Account Management API."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from sandbox_core.exchange import Reject, Request, Response, control_error, json_response
from sandbox_core.formats import is_role_arn, role_account
from sandbox_core.vendor import Vendor, secret_equals

# The permissions Skyhigh's documented FAILURE example lists as required (docs/vendors/skyhigh.md).
REQUIRED_PERMISSIONS = (
    "autoscaling:DescribeAutoScalingGroups", "cloudfront:ListDistributions",
    "cloudfront:ListStreamingDistributions", "cloudfront:ListTagsForResource",
    "cloudtrail:DescribeTrails", "cloudtrail:GetEventSelectors", "cloudtrail:GetTrailStatus",
    "cloudtrail:ListTags", "config:DescribeConfigurationRecorderStatus",
    "config:DescribeConfigurationRecorders", "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses",
    "ec2:DescribeCustomerGateways", "ec2:DescribeFlowLogs", "ec2:DescribeImages", "ecs:ListTasks",
    "eks:DescribeCluster", "elasticache:ListTagsForResource",
    "elasticloadbalancing:DescribeListenerCertificates",
)
OPTION_FLAGS = (
    "enableDLP", "enableActivityMonitoring", "enableSecurityAudit", "enableVPCFlowLogs",
    "enableVulnerabilities", "ignoreErrors",
)
PREFIX = "/shndlpapi/v1/aws/"


class Skyhigh(Vendor):
    """AWS Account Management API, post-5.4.0 (docs/vendors/skyhigh.md).

    provisionAccounts, addAccounts and deleteAccounts answer "being processed"
    with a provisionStatus URL (or, with the seed's `status_url_in_answer` false,
    without one); the request completes after `processing_polls` reads and
    `processing_seconds`, and only then do its accounts appear in (or leave)
    provisionedAccounts.
    """

    name = "skyhigh"
    routes = (
        ("GET", re.compile(PREFIX + "trustDetails"), "trust_details", None),
        ("POST", re.compile(PREFIX + "provisionAccounts"), "provision_accounts", "json"),
        ("PUT", re.compile(PREFIX + "addAccounts"), "add_accounts", "json"),
        ("DELETE", re.compile(PREFIX + "deleteAccounts"), "delete_accounts", "json"),
        ("GET", re.compile(PREFIX + "provisionedAccounts"), "provisioned_accounts", None),
        ("GET", re.compile(PREFIX + r"provisionStatus/([^/]+)"), "provision_status", None),
    )
    default_seed = {
        "username": "sandbox-admin@example.com",
        "password": "skyhigh-sandbox-password",
        "aws_account_id": "522462218264",
        "external_id": "skyhigh-sandbox-external-id",
        "processing_polls": 1,
        "processing_seconds": 0.0,
        "status_url_in_answer": True,
    }
    timing_fields = ("processing_polls", "processing_seconds")
    control_routes = (("POST", "outcome", "set_outcome"), ("POST", "timing", "set_timing"))

    def reset(self) -> None:
        self.instance: dict[str, Any] | None = None  # one instance per tenant, at most
        self.requests: dict[str, dict[str, Any]] = {}
        self.forced_outcomes: dict[str, dict[str, Any]] = {}
        self.reset_timing()

    def snapshot(self) -> dict[str, Any]:
        return {"instance": self.instance, "requests": list(self.requests.values()),
                "forced_outcomes": self.forced_outcomes, "timing": self.timing}

    def registered_accounts(self) -> list[str | None]:
        # Provisioned accounts only, keyed by role ARN as provisionedAccounts lists them:
        # a pending request may still fail, and the same role submitted twice ends as one.
        return [role_account(arn) for arn in self.instance["accounts"]] if self.instance else []

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
            options = {key: body[key] for key in (*OPTION_FLAGS, "securityAuditType", "notificationEmails")
                       if key in body}
            self.instance = {"name": name, "accounts": {}, "options": options}
        elif self.instance["name"] != name and self.instance["accounts"]:
            self.fail(400, f"An AWS instance named '{self.instance['name']}' already exists with accounts; "
                           "multi-instance is not supported for AWS: use addAccounts")
        return self.submit("provision", accounts, req, self.ignore_errors(body))

    def add_accounts(self, req: Request) -> Response:
        body = self.json_object(req)
        name, accounts = self.instance_name(body), self.aws_accounts(body, names_required=True)
        self.check_options(body)
        self.existing_instance(name)
        return self.submit("add", accounts, req, self.ignore_errors(body))

    def delete_accounts(self, req: Request) -> Response:
        body = self.json_object(req)
        name, accounts = self.instance_name(body), self.aws_accounts(body, names_required=False)
        self.existing_instance(name)
        return self.submit("delete", accounts, req, ignore_errors=False)

    def provisioned_accounts(self, req: Request) -> Response:
        name = req.param("instanceName")
        if not name:
            self.fail(400, "instanceName is required")
        self.settle(listing=True)
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
        missing = body.get("missing_permissions", list(REQUIRED_PERMISSIONS))
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
        for flag in OPTION_FLAGS:
            if flag in body and not isinstance(body[flag], bool):
                self.fail(400, f"{flag} must be a boolean")
        if body.get("securityAuditType", "CONTINUOUS_EVALUATION") not in ("CONTINUOUS_EVALUATION", "SCHEDULED_SCAN"):
            self.fail(400, "securityAuditType must be CONTINUOUS_EVALUATION or SCHEDULED_SCAN")
        if not isinstance(body.get("notificationEmails", ""), str):
            self.fail(400, "notificationEmails must be a string")

    def ignore_errors(self, body: dict[str, Any]) -> bool:
        """Whether missing permissions still add the account (SUCCESSFUL_WITH_ERRORS)
        rather than failing it: the request's own `ignoreErrors` (provisionAccounts and
        addAccounts both carry one in the documentation), else the option stored with
        the instance by the provisionAccounts that created it, else false (the page
        names SUCCESSFUL_WITH_ERRORS only for `ignoreErrors : true`)."""
        if "ignoreErrors" in body:
            return body["ignoreErrors"]
        return bool(self.instance and self.instance["options"].get("ignoreErrors", False))

    def existing_instance(self, name: str) -> dict[str, Any]:
        if self.instance is None or self.instance["name"] != name:
            self.fail(400, f"AWS instance '{name}' does not exist: create it with provisionAccounts")
        return self.instance

    def submit(self, kind: str, accounts: list[dict[str, str]], req: Request, ignore_errors: bool) -> Response:
        request_id, status_url = str(uuid.uuid4()), self.config["status_url_in_answer"]
        if kind == "delete":
            result, effective = {"statusMessage": "Success", "status": "SUCCESS", "errors": None}, accounts
        else:
            # The outcome is decided now, when Skyhigh would start assuming the roles.
            result, effective = self.outcome(accounts, ignore_errors)
        self.requests[request_id] = {
            "id": request_id, "kind": kind, "accounts": accounts, "effective_accounts": effective,
            "ignore_errors": ignore_errors, "status_url": status_url,
            "submitted_at": time.time(), "polls": 0, "done": False, "result": result,
        }
        self.settle()
        if not status_url:
            # No id anywhere: the client can follow the request only through provisionedAccounts.
            return json_response(200, {"status": "SUCCESS", "statusMessage": "The request is being processed",
                                       "errors": None})
        if kind == "delete":
            # The documented deleteAccounts answer names a host-relative URL without a final period.
            message = ("The request is being processed. Please call this API "
                       f"/shndlpapi/v1/aws/provisionStatus/{request_id} to get the status")
        else:
            message = ("The request is being processed. Please call this API "
                       f"{req.base_url}/shndlpapi/v1/aws/provisionStatus/{request_id} to get the status.")
        # The id appears only in that URL, as the documentation shows.
        return json_response(200, {"status": "SUCCESS", "statusMessage": message, "errors": None})

    def outcome(self, accounts: list[dict[str, str]],
                ignore_errors: bool) -> tuple[dict[str, Any], list[dict[str, str]]]:
        """The provisionStatus result for adding `accounts`, and the accounts it adds."""
        failed, added, errors = [], [], {}
        for account in accounts:
            role_arn = account["assumedRole"]
            forced = self.forced_outcomes.get(role_arn)
            if not self.roles.assumable(role_arn):
                failed.append(role_arn)
                errors[role_arn] = self.assume_role_denied(role_arn, REQUIRED_PERMISSIONS)
            elif forced and (forced["status"] == "FAILURE" or not ignore_errors):
                # Missing permissions without ignoreErrors fail as the page's example
                # for `ignoreErrors : false` shows: Failed Authentication, AccessDenied
                # text, then the permissions the role lacks.
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
        # Worded as the documented FAILURE example.
        return (f"{{User: arn:aws:iam::{self.config['aws_account_id']}:user/SkyHigh_81374 is not authorized "
                f"to perform: sts:AssumeRole on resource: {role_arn} (Service: AWSSecurityTokenService; "
                f"Status Code: 403; Error Code: AccessDenied; Request ID: {uuid.uuid4()})}}. "
                f"Permissions required on this role={{[{', '.join(permissions)}]}}")

    def settle(self, listing: bool = False) -> None:
        """Complete every request that has been polled and aged enough (by the current
        timing, which /_sandbox/skyhigh/timing may have changed since it was submitted).
        A provisionedAccounts read (`listing`) that still finds a request pending counts
        as a poll of it when its answer gave no provisionStatus URL to poll."""
        now = time.time()
        for record in self.requests.values():
            if record["done"]:
                continue
            if record["polls"] < self.timing["processing_polls"] \
                    or now - record["submitted_at"] < self.timing["processing_seconds"]:
                if listing and not record["status_url"]:
                    record["polls"] += 1
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


VENDOR = Skyhigh
