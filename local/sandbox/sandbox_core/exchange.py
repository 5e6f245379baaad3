"""One HTTP exchange as the vendors and the control API see it: the request,
the response, and the exception that answers a request early."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Close the connection without sending anything, as a dead proxy or a
    # crashed backend does; `status` is then only what the request log shows.
    drop: bool = False


def dropped_connection() -> Response:
    """No answer at all: the server closes the connection (logged with status 0)."""
    return Response(0, drop=True)


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
