"""Random chaos faults (`POST /_sandbox/chaos`): with probability `rate`, a vendor
request gets a fault drawn from one `random.Random(seed)`, so the same requests in
the same order get the same faults on every run.

A fault is one of two families:

- a lost answer (`lost_share` of the faults): the vendor handles the request, so
  its state changes, and then the client gets no answer (the connection is
  closed) or a gateway's 502 or 504 instead of the vendor's;
- a refusal before acting (the rest): the request never reaches the vendor, and
  the client gets 500, 502 or 503 in the vendor's error shape, 429 with
  `Retry-After`, or a closed connection.

Callers hold the sandbox's lock, so draws follow the order requests are handled.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from sandbox_core.exchange import Response, control_error, dropped_connection
from sandbox_core.vendor import Vendor

# The kinds of fault, each family's picked uniformly.
LOST = ("lost_drop", "lost_502", "lost_504")
REFUSED = ("refused_500", "refused_502", "refused_503", "refused_429", "refused_drop")

GATEWAY_REASONS = {502: "Bad Gateway", 504: "Gateway Time-out"}


@dataclass(frozen=True)
class ChaosConfig:
    rate: float  # the probability that a request gets a fault
    seed: int
    lost_share: float  # the probability that a fault is a lost answer
    vendors: list[str]  # the vendors whose requests draw
    retry_after: int = 1  # the Retry-After of a refused_429


def parse_config(body: dict[str, Any], vendor_names: Sequence[str]) -> ChaosConfig:
    """Check a `POST /_sandbox/chaos` body."""
    seed = body.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise control_error("seed must be an integer")
    vendors = body.get("vendors", list(vendor_names))
    if not isinstance(vendors, list) or not vendors or any(name not in vendor_names for name in vendors):
        raise control_error(f"vendors must be a non-empty list of {', '.join(vendor_names)}")
    retry_after = body.get("retry_after", 1)
    if not isinstance(retry_after, int) or isinstance(retry_after, bool) or retry_after < 0:
        raise control_error("retry_after must be an integer from 0")
    return ChaosConfig(rate=_fraction(body, "rate"), seed=seed, lost_share=_fraction(body, "lost_share"),
                       vendors=list(dict.fromkeys(vendors)), retry_after=retry_after)


def _fraction(body: dict[str, Any], key: str) -> float:
    value = body.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
        raise control_error(f"{key} must be a number from 0 to 1")
    return value


class Chaos:
    """The chaos configuration (None when off), its random draws and its counters."""

    def __init__(self, vendor_names: Sequence[str]):
        self.vendor_names = tuple(vendor_names)
        self.reset()

    def reset(self) -> None:
        """Chaos off, counters cleared."""
        self.config: ChaosConfig | None = None
        self.random = random.Random()
        self.clear_counters()

    def clear_counters(self) -> None:
        self.requests: dict[str, int] = {name: 0 for name in self.vendor_names}
        self.faults: dict[str, dict[str, int]] = {name: {} for name in self.vendor_names}

    def start(self, body: dict[str, Any]) -> ChaosConfig:
        """Turn chaos on with a new configuration, replacing any earlier one and its counters."""
        self.config = parse_config(body, self.vendor_names)
        self.random = random.Random(self.config.seed)
        self.clear_counters()
        return self.config

    def stop(self) -> bool:
        """Turn chaos off, keeping the counters; returns whether it was on."""
        was_on, self.config = self.config is not None, None
        return was_on

    def draw(self, vendor: str, explicit_fault: bool) -> ChaosFault | None:
        """Count a request to `vendor` and draw its fault, or None for no fault.
        A request that an explicit fault (`/_sandbox/faults`) took draws nothing."""
        if self.config is None:
            return None
        self.requests[vendor] += 1
        if explicit_fault or vendor not in self.config.vendors:
            return None
        if self.random.random() >= self.config.rate:
            return None
        kind = self.random.choice(LOST if self.random.random() < self.config.lost_share else REFUSED)
        self.faults[vendor][kind] = self.faults[vendor].get(kind, 0) + 1
        return ChaosFault(kind, self.config.retry_after)

    def snapshot(self) -> dict[str, Any]:
        return {"config": None if self.config is None else asdict(self.config),
                "requests": dict(self.requests),
                "faults": {name: dict(kinds) for name, kinds in self.faults.items()}}


@dataclass(frozen=True)
class ChaosFault:
    """One drawn fault."""

    kind: str
    retry_after: int

    @property
    def lost(self) -> bool:
        """Whether the vendor acts first (a lost answer) rather than never seeing the request."""
        return self.kind in LOST

    def refusal(self, vendor: Vendor) -> Response:
        """The answer to a request refused before it reached the vendor."""
        if self.kind == "refused_drop":
            return dropped_connection()
        status = int(self.kind.removeprefix("refused_"))
        response = vendor.error(status, f"sandbox chaos: HTTP {status}")
        if status == 429:
            response.headers["Retry-After"] = str(self.retry_after)
        return response

    def lost_answer(self) -> Response:
        """What the client gets instead of the vendor's answer: nothing, or a gateway's
        error page (a proxy in front of the vendor answers, not the vendor)."""
        if self.kind == "lost_drop":
            return dropped_connection()
        status = int(self.kind.removeprefix("lost_"))
        title = f"{status} {GATEWAY_REASONS[status]}"
        page = f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1></center></body></html>\n"
        return Response(status, page.encode(), "text/html")
