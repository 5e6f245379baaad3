"""Whether a vendor can assume a role yet: IAM propagation, as the sandbox models it.

A role ARN becomes assumable `delay_seconds` after the sandbox first saw it
(the first vendor request naming it). Shared by every vendor that assumes
roles, so one control call (`POST /_sandbox/role-delay`) delays them all.
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

    def assumable(self, role_arn: str) -> bool:
        """Whether a vendor can assume `role_arn` now. IAM propagation is modelled as
        the role becoming assumable `delay_seconds` after the sandbox first saw it."""
        first_seen = self.first_seen.setdefault(role_arn, time.time())
        return time.time() >= first_seen + self.delay_seconds

    def snapshot(self) -> dict[str, Any]:
        return {
            "role_not_assumable_seconds": self.delay_seconds,
            "roles_first_seen": {arn: rfc3339(ts) for arn, ts in self.first_seen.items()},
        }
