"""The registry of vendor sandboxes: the one list of the vendors the sandbox serves.

Each entry names a module of this package that defines a sandbox_core.vendor.Vendor
subclass and exports it as `VENDOR`; its `name` is both the module's name and its
path prefix (http://HOST/<name>). The server, the default seed, the control API and
the tests derive the vendors from this list, in this order (the order of the state
and of error messages that list vendors). Adding a vendor: write vendors/<name>.py,
add its line here (tests/test_registry.py checks the two agree).
"""

from __future__ import annotations

from importlib import import_module

from sandbox_core.vendor import Vendor

MODULES = (
    "datatheorem",
    "skyhigh",
    "cloudcraft",
    "risken",
    "stellarcyber",
)

VENDOR_CLASSES: tuple[type[Vendor], ...] = tuple(import_module(f"{__name__}.{module}").VENDOR for module in MODULES)
