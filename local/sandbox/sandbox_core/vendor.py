"""The base class of a vendor sandbox: routing, the order of checks, the error
shape hooks, and the credential comparison every vendor's auth uses.

A vendor module (vendors/<name>.py) defines one subclass, naming its path
prefix, routes, default seed and state; vendors/__init__.py registers it.
"""

from __future__ import annotations

import hmac
import math
import re
from typing import Any, NoReturn

from sandbox_core.exchange import Reject, Request, Response, control_error
from sandbox_core.roles import RolePropagation


def secret_equals(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class Vendor:
    """One vendor's API: its routes, auth, error body shape and state."""

    # The path prefix (http://HOST/<name> is the vendor's base_url) and the seed key.
    name = ""
    # (method, path pattern, handler method name, body kind: None, "json" or "form")
    routes: tuple[tuple[str, re.Pattern[str], str, str | None], ...] = ()
    # The vendor's section of the seed: every field a seed file may set, with its default.
    default_seed: dict[str, Any] = {}
    # Control calls of this vendor: (method, path under /_sandbox/<name>/, handler method name).
    # The handler takes the JSON object body and returns the JSON answer.
    control_routes: tuple[tuple[str, str, str], ...] = ()
    # Seed fields (non-negative numbers) that the vendor's control call `POST
    # /_sandbox/<name>/timing` (handler `set_timing`) changes at run time. The vendor
    # reads them from `self.timing`, and its `reset` calls `reset_timing`, so that
    # /_sandbox/reset restores the seed's values.
    timing_fields: tuple[str, ...] = ()

    def __init__(self, roles: RolePropagation, config: dict[str, Any]):
        self.roles = roles
        self.config = config
        self.timing: dict[str, Any] = {}

    @classmethod
    def check_seed(cls, config: dict[str, Any]) -> None:
        """Refuse (SeedError) a seed section whose fields are each valid but do not fit together."""

    # Each vendor defines these.
    def reset(self) -> None:
        raise NotImplementedError

    def snapshot(self) -> dict[str, Any]:
        raise NotImplementedError

    def error(self, status: int, message: str) -> Response:
        raise NotImplementedError

    def authenticate(self, req: Request) -> None:
        raise NotImplementedError

    def registered_accounts(self) -> list[str | None]:
        """The AWS account ID of each live registration (None where one names no
        account), for `GET /_sandbox/duplicates`."""
        raise NotImplementedError

    # Run-time timing knobs (`timing_fields`).
    def reset_timing(self) -> None:
        self.timing = {field: self.config[field] for field in self.timing_fields}

    def set_timing(self, body: dict[str, Any]) -> dict[str, Any]:
        """Control: change some of the timing knobs; answers all of them. A field whose
        seed default is an integer takes an integer, the others any number; none may be
        negative. Nothing changes unless the whole body is valid."""
        unknown = sorted(set(body) - set(self.timing_fields))
        if unknown or not body:
            raise control_error(f"give one or more of {', '.join(self.timing_fields)}"
                                + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
        for field, value in body.items():
            whole = isinstance(self.default_seed[field], int)
            if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)) \
                    or not math.isfinite(value) or value < 0:
                kind = "integer" if whole else "number"
                raise control_error(f"{field} must be a non-negative {kind}")
        self.timing.update(body)
        return dict(self.timing)

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
