"""Whether a vendor can assume a role yet: IAM propagation, as the sandbox models it.

A role ARN becomes assumable `delay_seconds` after the sandbox first saw it
(the first vendor request naming it, at any vendor). Shared by every vendor,
so one control call (`POST /_sandbox/role-delay`) delays them all. Vendors
that only store a role ARN call `see`; vendors that assume the role call
`assumable`, which also counts as seeing it.
"""

from __future__ import annotations

import time
from typing import Any

from sandbox_core.formats import rfc3339


class RolePropagation:
    def __init__(self, initial_delay_seconds: float):
        self.initial_delay_seconds = initial_delay_seconds  # the seed's value, restored on reset
        self.reset()

    def reset(self) -> None:
        self.first_seen: dict[str, float] = {}
        self.delay_seconds: float = self.initial_delay_seconds

    def see(self, role_arn: str) -> None:
        """Note that a vendor request named `role_arn` (only its first time counts)."""
        self.first_seen.setdefault(role_arn, time.time())

    def assumable(self, role_arn: str) -> bool:
        """Whether a vendor can assume `role_arn` now. IAM propagation is modelled as
        the role becoming assumable `delay_seconds` after the sandbox first saw it."""
        self.see(role_arn)
        return time.time() >= self.first_seen[role_arn] + self.delay_seconds

    def snapshot(self) -> dict[str, Any]:
        return {
            "role_not_assumable_seconds": self.delay_seconds,
            "roles_first_seen": {arn: rfc3339(ts) for arn, ts in self.first_seen.items()},
        }
