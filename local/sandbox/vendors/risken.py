"""RISKEN's sandbox: the gateway's AWS API."""

from __future__ import annotations

import base64
import re
import time
import uuid
from typing import Any, NoReturn

from sandbox_core.exchange import Request, Response, control_error, json_response
from sandbox_core.formats import rfc3339
from sandbox_core.seed import SeedError
from sandbox_core.vendor import Vendor, secret_equals

# RISKEN data source status (proto aws.Status; docs/vendors/risken.md).
UNKNOWN, OK, CONFIGURED, IN_PROGRESS, ERROR = range(5)
PREFIX = "/api/v1/aws/"
# Who RISKEN's scanners are when they call sts:AssumeRole (the sandbox's own
# deployment; a real one runs in the operator's AWS account).
SCANNER_PRINCIPAL = "arn:aws:sts::210987654321:assumed-role/risken-aws-scanner/aws-go-sdk"
DETAIL_LIMIT = 200  # the scanners cut status_detail to this many characters, then add " ..."


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
    structs (`omitempty`): "zero-valued fields are omitted" (docs/vendors/risken.md)."""
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
    """RISKEN gateway, AWS API (docs/vendors/risken.md: the documented API, and the
    open-source gateway for the auth layer's plain-text errors and validation
    messages)."""

    name = "risken"
    routes = (
        ("GET", re.compile(PREFIX + "list-aws/?"), "list_aws", None),
        ("GET", re.compile(PREFIX + "list-datasource/?"), "list_datasource", None),
        ("POST", re.compile(PREFIX + "put-aws/?"), "put_aws", "json"),
        ("POST", re.compile(PREFIX + "delete-aws/?"), "delete_aws", "json"),
        ("POST", re.compile(PREFIX + "attach-datasource/?"), "attach_datasource", "json"),
        ("POST", re.compile(PREFIX + "detach-datasource/?"), "detach_datasource", "json"),
        ("POST", re.compile(PREFIX + "invoke-scan/?"), "invoke_scan", "json"),
    )
    default_seed = {
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
    }
    timing_fields = ("scan_polls", "scan_seconds")
    control_routes = (("POST", "datasource-error", "force_error"), ("POST", "timing", "set_timing"))

    @classmethod
    def check_seed(cls, config: dict[str, Any]) -> None:
        catalogue = config["data_sources"]
        ids = list(catalogue.values())
        if not catalogue or any(not isinstance(i, int) or isinstance(i, bool) or not 0 < i < 2**32 for i in ids):
            raise SeedError("risken.data_sources must map names to positive integer ids")
        if len(set(ids)) != len(ids):
            raise SeedError("risken.data_sources ids must be unique")
        if not 0 < config["project_id"] < 2**32:
            raise SeedError("risken.project_id must be a positive 32-bit integer")

    def reset(self) -> None:
        self.next_aws_id = 3001
        self.aws: dict[int, dict[str, Any]] = {}
        self.attachments: dict[tuple[int, int], dict[str, Any]] = {}  # (aws_id, aws_data_source_id)
        self.scans: dict[tuple[int, int], dict[str, Any]] = {}  # running scans, same keys
        self.forced_errors: dict[tuple[str, str], str] = {}  # (aws_account_id, data source) -> detail
        self.reset_timing()

    def snapshot(self) -> dict[str, Any]:
        return {"aws": list(self.aws.values()), "data_sources": list(self.attachments.values()),
                "forced_errors": [{"aws_account_id": account, "data_source": source, "status_detail": detail}
                                  for (account, source), detail in self.forced_errors.items()],
                "timing": self.timing}

    def registered_accounts(self) -> list[str | None]:
        # One registration per aws entry; attachments hang off an entry, one per data source.
        return [aws["aws_account_id"] for aws in self.aws.values()]

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
        self.roles.see(role_arn)  # the role delay runs from here if no vendor named it before
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
        # The queued message carries the role as attached now (datasource-api's InvokeScan).
        # A scan already IN_PROGRESS is simply started again: InvokeScan checks no status.
        self.scans[(aws_id, source_id)] = {"started_at": now, "polls": 0, "role_arn": attachment["assume_role_arn"]}
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
        been read `scan_polls` times and `scan_seconds` have passed (by the current
        timing, which /_sandbox/risken/timing may have changed since the scan began)."""
        scan = self.scans.get(key)
        if scan is None:
            return
        if scan["polls"] < self.timing["scan_polls"] or time.time() - scan["started_at"] < self.timing["scan_seconds"]:
            scan["polls"] += 1
            return
        del self.scans[key]
        attachment, now = self.attachments[key], int(time.time())
        # The scanner assumes the role when it runs, which the sandbox puts at completion.
        if not self.roles.assumable(scan["role_arn"]):
            detail = scanner_detail(self.assume_role_denied(scan["role_arn"]))
        else:
            detail = self.forced_errors.get(self.error_key(attachment))
        if detail is None:
            attachment.update(status=OK, status_detail="", scan_at=now, updated_at=now)
        else:
            attachment.update(status=ERROR, status_detail=detail, scan_at=now, updated_at=now)

    @staticmethod
    def assume_role_denied(role_arn: str) -> str:
        """The AWS SDK for Go v2's error for an sts:AssumeRole that IAM refuses, as a
        scanner gets it from its credentials cache."""
        return ("failed to refresh cached credentials, operation error STS: AssumeRole, https response error "
                f"StatusCode: 403, RequestID: {uuid.uuid4()}, api error AccessDenied: User: {SCANNER_PRINCIPAL} "
                f"is not authorized to perform: sts:AssumeRole on resource: {role_arn}")

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


def scanner_detail(message: str) -> str:
    """A scanner's error as it writes it into status_detail (ca-risken/aws's
    updateScanStatusError): cut to 200 characters plus " ..."."""
    return message[:DETAIL_LIMIT] + " ..." if len(message) > DETAIL_LIMIT else message


VENDOR = Risken
