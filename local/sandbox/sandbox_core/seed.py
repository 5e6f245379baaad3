"""The seed: the sandbox's own settings plus one section per vendor, each field
defaulted by the vendor's `default_seed` and overlaid by the seed file."""

from __future__ import annotations

import copy
import json
from typing import Any, Sequence

from sandbox_core.vendor import Vendor

# Seed keys of the sandbox itself rather than of one vendor.
SANDBOX_DEFAULTS: dict[str, Any] = {"role_not_assumable_seconds": 0.0}


class SeedError(ValueError):
    """The seed file does not describe a valid sandbox."""


def default_seed(vendor_classes: Sequence[type[Vendor]]) -> dict[str, Any]:
    """The full default seed: the sandbox's keys, then each vendor's section in registry order."""
    return copy.deepcopy({**SANDBOX_DEFAULTS, **{cls.name: cls.default_seed for cls in vendor_classes}})


def load_seed(path: str | None, vendor_classes: Sequence[type[Vendor]]) -> dict[str, Any]:
    """The default seed overlaid with the seed file at `path` (if any), checked."""
    seed = default_seed(vendor_classes)
    if path is None:
        return seed
    with open(path, encoding="utf-8") as seed_file:
        given = json.load(seed_file)
    if not isinstance(given, dict):
        raise SeedError("the seed must be a JSON object")
    for key, value in given.items():
        if key not in seed:
            raise SeedError(f"unknown seed key {key!r}")
        if isinstance(seed[key], dict):
            if not isinstance(value, dict):
                raise SeedError(f"seed key {key!r} must be an object")
            for name, field_value in value.items():
                if name not in seed[key]:
                    raise SeedError(f"unknown seed field {key}.{name}")
                seed[key][name] = _seed_value(f"{key}.{name}", seed[key][name], field_value)
        else:
            seed[key] = _seed_value(key, seed[key], value)
    for cls in vendor_classes:
        cls.check_seed(seed[cls.name])
    return seed


def _seed_value(name: str, default: Any, value: Any) -> Any:
    if isinstance(default, bool):  # before int: a bool is an int to Python, not to a seed file
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        kind = ("boolean" if isinstance(default, bool) else "number" if isinstance(default, float)
                else type(default).__name__)
        raise SeedError(f"seed field {name} must be a {kind}")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        raise SeedError(f"seed field {name} must not be negative")
    if isinstance(value, str) and not value:
        raise SeedError(f"seed field {name} must not be empty")
    return value
