"""Value formats that more than one vendor API uses: IAM role ARNs and RFC 3339 timestamps."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

# An IAM role ARN, path included (arn:aws:iam::123456789012:role/path/Name).
ROLE_ARN = re.compile(r"arn:aws(?:-[a-z]+)*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}")


def is_role_arn(value: Any) -> bool:
    return isinstance(value, str) and ROLE_ARN.fullmatch(value) is not None


def role_account(value: Any) -> str | None:
    """The 12-digit AWS account ID of a role ARN, or None if `value` is not one."""
    match = ROLE_ARN.fullmatch(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
