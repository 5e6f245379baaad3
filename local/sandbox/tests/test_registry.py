"""The registry (vendors/__init__.py) and the vendor modules agree, and every
registered vendor is served: a vendor cannot be half-added or half-removed."""

from __future__ import annotations

import pkgutil
import unittest
from pathlib import Path

import vendor_sandbox
import vendors
from sandbox_core.vendor import Vendor
from tests.harness import SandboxProcess

NAMES = [cls.name for cls in vendors.VENDOR_CLASSES]


class RegistryTest(unittest.TestCase):
    def test_every_module_in_vendors_is_registered_once(self):
        modules = sorted(info.name for info in pkgutil.iter_modules(vendors.__path__))
        self.assertEqual(modules, sorted(vendors.MODULES))
        self.assertEqual(len(vendors.MODULES), len(set(vendors.MODULES)))

    def test_each_registered_module_defines_a_vendor_named_after_it(self):
        for module, cls in zip(vendors.MODULES, vendors.VENDOR_CLASSES, strict=True):
            with self.subTest(module=module):
                self.assertTrue(issubclass(cls, Vendor))
                self.assertEqual(cls.name, module)
                self.assertTrue(cls.routes)
                self.assertTrue(cls.default_seed)
                for method in ("reset", "snapshot", "error", "authenticate", "registered_accounts"):
                    self.assertIsNot(getattr(cls, method), getattr(Vendor, method), method)

    def test_the_default_seed_has_one_section_per_registered_vendor(self):
        self.assertEqual(list(vendor_sandbox.DEFAULT_SEED), ["role_not_assumable_seconds", *NAMES])

    def test_the_readme_gives_every_registered_vendor_a_base_url(self):
        readme = (Path(vendor_sandbox.__file__).parent / "README.md").read_text()
        for name in NAMES:
            self.assertIn(f"`http://127.0.0.1:PORT/{name}`", readme)

    def test_every_registered_vendor_serves_its_prefix_and_its_control_calls(self):
        sandbox = SandboxProcess({})
        self.addCleanup(sandbox.stop)
        self.assertEqual(list(sandbox.request("GET", "/_sandbox/state").json()), [*NAMES, "sandbox"])
        unknown = sandbox.request("GET", "/nowhere").json()["error"]
        self.assertTrue(unknown.endswith(f"vendors: {', '.join(NAMES)}"), unknown)
        for cls in vendors.VENDOR_CLASSES:
            with self.subTest(vendor=cls.name):
                sandbox.request("GET", f"/{cls.name}/")
                # Only requests that reach a vendor are logged, under that vendor.
                log = sandbox.request("GET", f"/_sandbox/requests?vendor={cls.name}").json()["requests"]
                self.assertEqual([(entry["vendor"], entry["path"]) for entry in log], [(cls.name, "/")])
                fault = sandbox.request("POST", "/_sandbox/faults", {"vendor": cls.name, "latency_ms": 1})
                self.assertEqual(fault.status, 200, fault.text)
                for method, path, _ in cls.control_routes:
                    other = "PATCH" if method != "PATCH" else "PUT"
                    reply = sandbox.request(other, f"/_sandbox/{cls.name}/{path}")
                    self.assertEqual((reply.status, reply.headers["Allow"]), (405, method))
