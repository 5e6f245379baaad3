"""The request log behind `GET /_sandbox/requests`: every request that reached a
vendor prefix, in completion order, with credentials reduced to their scheme."""

from __future__ import annotations

import time
from typing import Any

from sandbox_core.exchange import Request


def redact_authorization(value: str | None) -> str | None:
    """Keep only the scheme, so the request log never holds a credential."""
    if value is None:
        return None
    scheme, sep, _ = value.strip().partition(" ")
    return f"{scheme} ***" if sep else "***"


class RequestLog:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def clear(self) -> None:
        self.entries = []

    def record(self, vendor: str, req: Request, status: int, fault: bool, chaos: str | None = None,
               vendor_status: int | None = None) -> None:
        """Log a request. `status` is what the client got (0: the connection was closed
        without an answer); `vendor_status` is what the vendor itself answered, None if
        the request never reached it; `chaos` is the chaos fault's kind, if any."""
        self.entries.append({
            "vendor": vendor, "method": req.method, "path": req.path, "query": req.query,
            "content_type": req.headers.get("Content-Type"),
            "authorization": redact_authorization(req.headers.get("Authorization")),
            "body": req.json_body, "status": status, "vendor_status": vendor_status,
            "fault": fault or chaos is not None, "chaos": chaos,
            "timestamp": time.time(),
        })

    def select(self, vendor: str | None) -> list[dict[str, Any]]:
        """The entries of `vendor`, or all of them for None."""
        return [entry for entry in self.entries if vendor in (None, entry["vendor"])]
