"""The control API under /_sandbox/ (no auth, loopback only): faults, chaos, the
role delay, the request log, state, duplicate registrations and reset, plus each
vendor's own control calls under /_sandbox/<vendor>/. Callers hold the sandbox's
lock."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from typing import Any, Callable, Mapping

from sandbox_core.chaos import Chaos
from sandbox_core.exchange import Reject, Request, Response, control_error, json_response
from sandbox_core.faults import FaultQueue
from sandbox_core.request_log import RequestLog
from sandbox_core.roles import RolePropagation
from sandbox_core.vendor import Vendor

PREFIX = "/_sandbox"


def is_control_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def control_body(req: Request) -> dict[str, Any]:
    if isinstance(req.json_body, dict):
        return req.json_body
    raise control_error("the request body must be a JSON object")


class ControlApi:
    def __init__(self, vendors: Mapping[str, Vendor], faults: FaultQueue, request_log: RequestLog,
                 roles: RolePropagation, chaos: Chaos):
        self.vendors, self.faults, self.request_log, self.roles = vendors, faults, request_log, roles
        self.chaos = chaos
        self.routes: dict[tuple[str, str], Callable[[Request], dict[str, Any]]] = {
            ("POST", f"{PREFIX}/faults"): self.add_fault,
            ("DELETE", f"{PREFIX}/faults"): self.clear_faults,
            ("POST", f"{PREFIX}/chaos"): self.start_chaos,
            ("DELETE", f"{PREFIX}/chaos"): self.stop_chaos,
            ("GET", f"{PREFIX}/chaos"): self.chaos_report,
            ("POST", f"{PREFIX}/role-delay"): self.set_role_delay,
            ("GET", f"{PREFIX}/requests"): self.list_requests,
            ("GET", f"{PREFIX}/state"): self.state,
            ("GET", f"{PREFIX}/duplicates"): self.duplicates,
            ("POST", f"{PREFIX}/reset"): self.reset,
        }
        for vendor in vendors.values():
            for method, path, handler in vendor.control_routes:
                self.routes[(method, f"{PREFIX}/{vendor.name}/{path}")] = self.vendor_call(getattr(vendor, handler))

    @staticmethod
    def vendor_call(handler: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[Request], dict[str, Any]]:
        return lambda req: handler(control_body(req))

    def handle(self, req: Request) -> Response:
        handler = self.routes.get((req.method, req.path.rstrip("/")))
        if handler is None:
            methods = [method for method, path in self.routes if path == req.path.rstrip("/")]
            if not methods:
                return json_response(404, {"error": f"no control endpoint at {req.path}"})
            response = json_response(405, {"error": f"use {', '.join(methods)}"})
            response.headers["Allow"] = ", ".join(methods)
            return response
        try:
            return json_response(200, handler(req))
        except Reject as rejection:
            return rejection.response

    def reset(self, req: Request | None = None) -> dict[str, Any]:
        self.faults.clear()
        self.chaos.reset()
        self.request_log.clear()
        self.roles.reset()
        for vendor in self.vendors.values():
            vendor.reset()
        return {"reset": True}

    def add_fault(self, req: Request) -> dict[str, Any]:
        return {"fault": asdict(self.faults.add(control_body(req), self.vendors))}

    def clear_faults(self, req: Request) -> dict[str, Any]:
        return {"cleared": self.faults.clear()}

    def start_chaos(self, req: Request) -> dict[str, Any]:
        return {"config": asdict(self.chaos.start(control_body(req)))}

    def stop_chaos(self, req: Request) -> dict[str, Any]:
        return {"stopped": self.chaos.stop()}

    def chaos_report(self, req: Request) -> dict[str, Any]:
        return self.chaos.snapshot()

    def set_role_delay(self, req: Request) -> dict[str, Any]:
        seconds = control_body(req).get("seconds")
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            raise control_error("seconds must be a non-negative number")
        self.roles.delay_seconds = seconds
        return {"seconds": seconds}

    def list_requests(self, req: Request) -> dict[str, Any]:
        vendor = req.param("vendor")
        if vendor is not None and vendor not in self.vendors:
            raise control_error(f"vendor must be one of {', '.join(self.vendors)}")
        return {"requests": self.request_log.select(vendor)}

    def state(self, req: Request) -> dict[str, Any]:
        return {
            **{name: vendor.snapshot() for name, vendor in self.vendors.items()},
            "sandbox": {**self.roles.snapshot(), "faults": self.faults.snapshot()},
        }

    def duplicates(self, req: Request) -> dict[str, Any]:
        """Each vendor's live registrations, the distinct AWS accounts they cover, and
        every account registered more than once."""
        return {"vendors": {name: registration_counts(vendor.registered_accounts())
                            for name, vendor in self.vendors.items()}}


def registration_counts(accounts: list[str | None]) -> dict[str, Any]:
    """Counts over one vendor's live registrations, given the AWS account of each
    (None where a registration names no account)."""
    per_account = Counter(account for account in accounts if account is not None)
    return {"registrations": len(accounts), "accounts": len(per_account),
            "duplicates": {account: n for account, n in sorted(per_account.items()) if n > 1}}
