"""Fault injection: faults added through `POST /_sandbox/faults`, matched in the
order they were added, each answering (or delaying) the next `count` requests
to its vendor."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from sandbox_core.exchange import Request, Response, control_error
from sandbox_core.vendor import Vendor


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
    echo_request: bool = False

    @property
    def answers(self) -> bool:
        """Whether the fault answers the request itself (else it only delays it)."""
        return bool(self.status or self.malformed)

    def response(self, vendor: Vendor, req: Request | None = None) -> Response:
        if self.echo_request and req is not None:
            # A misbehaving gateway that quotes the request it could not
            # forward: its line, every header (credentials included) and body.
            headers = "\n".join(f"{name}: {value}" for name, value in req.headers.items())
            text = (f"{self.status} upstream error for {req.method} {req.path}\n{headers}\n\n"
                    f"{req.body.decode(errors='replace')}")
            response = Response(self.status, text.encode(), "text/plain; charset=utf-8")
        elif self.malformed:
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


class FaultQueue:
    """The pending faults, in the order they were added."""

    def __init__(self) -> None:
        self.pending: list[Fault] = []

    def add(self, body: dict[str, Any], vendors: Mapping[str, Vendor]) -> Fault:
        """Check a `POST /_sandbox/faults` body and queue its fault."""
        if body.get("vendor") not in vendors:
            raise control_error(f"vendor must be one of {', '.join(vendors)}")
        malformed = body.get("malformed", False)
        if not isinstance(malformed, bool):
            raise control_error("malformed must be a boolean")
        echo_request = body.get("echo_request", False)
        if not isinstance(echo_request, bool):
            raise control_error("echo_request must be a boolean")
        fault = Fault(
            vendor=body["vendor"],
            count=_int_field(body, "count", 1, 1),
            status=_int_field(body, "status", None, 200, 599),
            body=_str_field(body, "body"),
            retry_after=_int_field(body, "retry_after", None, 0),
            latency_ms=_int_field(body, "latency_ms", 0, 0),
            malformed=malformed,
            path_contains=_str_field(body, "path_contains"),
            echo_request=echo_request,
        )
        if fault.status is None and not fault.malformed and not fault.latency_ms:
            raise control_error("a fault needs a status, malformed: true or a latency_ms")
        if fault.body is not None and (fault.status is None or fault.malformed):
            raise control_error("body goes with a status (and not with malformed)")
        if fault.echo_request and (fault.status is None or fault.malformed or fault.body is not None):
            raise control_error("echo_request goes with a status (and not with malformed or body)")
        self.pending.append(fault)
        return fault

    def take(self, vendor: str, path: str) -> Fault | None:
        """The first fault for a request to `vendor` at `path`, used up by one."""
        for fault in self.pending:
            if fault.vendor == vendor and (fault.path_contains is None or fault.path_contains in path):
                fault.count -= 1
                if fault.count == 0:
                    self.pending.remove(fault)
                return fault
        return None

    def clear(self) -> int:
        """Drop every pending fault; returns how many there were."""
        cleared, self.pending = len(self.pending), []
        return cleared

    def snapshot(self) -> list[dict[str, Any]]:
        return [asdict(fault) for fault in self.pending]


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
