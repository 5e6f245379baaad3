"""What the server shares across vendors: faults, the request log, the control API, the command line."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from tests.harness import (
    ACCOUNT_ID, CC_KEY, DT_KEY, PROJECT, RISKEN_TOKEN, ROLE, SERVER, SKY_PASSWORD, SKY_USER, STELLAR_KEY,
    STELLAR_USER, SandboxCase, SandboxProcess, basic, cc_body, dt_body,
)


class FaultsTest(SandboxCase):
    def test_status_fault_answers_in_the_vendors_error_shape_then_stops(self):
        self.control("POST", "faults", {"vendor": "cloudcraft", "status": 503, "count": 2, "retry_after": 1})
        for _ in range(2):
            reply = self.cc("GET", "")
            self.assertError(reply, 503)
            self.assertEqual(reply.headers["Retry-After"], "1")
        self.assertEqual(self.cc("GET", "").status, 200)
        flags = [entry["fault"] for entry in self.control("GET", "requests")["requests"]]
        self.assertEqual(flags, [True, True, False])
        self.assertError(self.sky("GET", "trustDetails", auth=""), 401, "statusMessage")  # other vendors unaffected

    def test_fault_with_a_body_and_a_path_filter(self):
        self.control("POST", "faults", {"vendor": "skyhigh", "status": 502, "body": "Bad Gateway",
                                        "path_contains": "provisionStatus"})
        self.assertEqual(self.sky("GET", "trustDetails").status, 200)
        reply = self.sky("GET", "provisionStatus/anything")
        self.assertEqual((reply.status, reply.text), (502, "Bad Gateway"))
        self.assertTrue(reply.headers["Content-Type"].startswith("text/plain"))

    def test_an_echoing_gateway_quotes_the_request_with_its_credentials(self):
        self.control("POST", "faults", {"vendor": "skyhigh", "status": 502, "echo_request": True})
        reply = self.sky("GET", "trustDetails")
        self.assertEqual(reply.status, 502)
        self.assertTrue(reply.headers["Content-Type"].startswith("text/plain"))
        self.assertIn("GET /shndlpapi/v1/aws/trustDetails", reply.text)
        self.assertIn("Authorization: Basic ", reply.text)
        self.assertEqual(self.sky("GET", "trustDetails").status, 200)
        for bad in ({"vendor": "skyhigh", "echo_request": True},
                    {"vendor": "skyhigh", "status": 502, "echo_request": True, "body": "x"},
                    {"vendor": "skyhigh", "status": 502, "echo_request": "yes"}):
            self.assertEqual(self.call("POST", "/_sandbox/faults", bad).status, 400, bad)

    def test_risken_auth_faults_are_plain_text_like_its_auth_layer(self):
        self.control("POST", "faults", {"vendor": "risken", "status": 401})
        reply = self.rk("GET", f"list-aws?project_id={PROJECT}")
        self.assertEqual(reply.status, 401)
        self.assertTrue(reply.headers["Content-Type"].startswith("text/plain"))

    def test_latency_fault_delays_a_normal_answer(self):
        self.control("POST", "faults", {"vendor": "risken", "latency_ms": 300})
        started = time.monotonic()
        reply = self.rk("GET", f"list-aws?project_id={PROJECT}")
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.assertEqual((reply.status, reply.json()), (200, {"data": {}}))

    def test_malformed_fault_sends_a_truncated_body_and_changes_nothing(self):
        self.control("POST", "faults", {"vendor": "cloudcraft", "malformed": True})
        reply = self.cc("POST", "", cc_body())
        self.assertEqual(reply.status, 200)
        with self.assertRaises(ValueError):
            reply.json()
        self.assertEqual(self.state()["cloudcraft"]["accounts"], [])

    def test_delete_clears_faults(self):
        self.control("POST", "faults", {"vendor": "datatheorem", "status": 500, "count": 5})
        self.assertEqual(self.control("DELETE", "faults"), {"cleared": 1})
        self.assertEqual(self.dt(dt_body()).status, 200)

    def test_invalid_faults_are_refused(self):
        for fault in ({"vendor": "nope", "status": 500}, {"vendor": "risken"}, {"vendor": "risken", "status": 42},
                      {"vendor": "risken", "status": 500, "count": 0}, {"vendor": "risken", "body": "x"}):
            with self.subTest(fault=fault):
                self.assertEqual(self.call("POST", "/_sandbox/faults", fault).status, 400)
        self.assertEqual(self.state()["sandbox"]["faults"], [])


class ControlTest(SandboxCase):
    def test_request_log_records_requests_with_credentials_redacted(self):
        self.dt(dt_body())
        self.sky("GET", "trustDetails")
        self.cc("GET", "")
        self.rk("GET", f"list-aws?project_id={PROJECT}")
        token = self.sc_token()
        self.sc("GET", "", token=token)
        reply = self.call("GET", "/_sandbox/requests")
        for secret in (DT_KEY, SKY_PASSWORD, basic(SKY_USER, SKY_PASSWORD).split()[1], CC_KEY, RISKEN_TOKEN,
                       STELLAR_KEY, basic(STELLAR_USER, STELLAR_KEY).split()[1], token):
            self.assertNotIn(secret, reply.text)
        log = reply.json()["requests"]
        self.assertEqual([entry["authorization"] for entry in log],
                         ["APIKey ***", "Basic ***", "Bearer ***", "Bearer ***", "Basic ***", "Bearer ***"])
        risken = self.control("GET", "requests?vendor=risken")["requests"]
        self.assertEqual(len(risken), 1)
        self.assertEqual({k: risken[0][k] for k in ("vendor", "method", "path", "query", "status")},
                         {"vendor": "risken", "method": "GET", "path": "/api/v1/aws/list-aws",
                          "query": {"project_id": [str(PROJECT)]}, "status": 200})
        self.assertEqual(log[0]["body"], dt_body())
        self.assertEqual(log[0]["content_type"], "application/json")
        self.assertIsInstance(log[0]["timestamp"], float)

    def test_reset_clears_state_faults_log_and_role_delay(self):
        self.cc("POST", "", cc_body())
        self.control("POST", "faults", {"vendor": "risken", "status": 500})
        self.control("POST", "role-delay", {"seconds": 99})
        self.control("POST", "reset")
        state = self.state()
        self.assertEqual(state["cloudcraft"]["accounts"], [])
        self.assertEqual(state["sandbox"], {"role_not_assumable_seconds": 0.0, "roles_first_seen": {}, "faults": []})
        self.assertEqual(self.control("GET", "requests"), {"requests": []})

    def test_state_shows_every_vendor(self):
        self.assertEqual(set(self.state()), {"datatheorem", "skyhigh", "cloudcraft", "risken", "stellarcyber", "sandbox"})

    def test_unknown_paths_and_methods(self):
        self.assertError(self.call("GET", "/nowhere"), 404)
        self.assertError(self.call("GET", "/_sandbox/nowhere"), 404)
        self.assertError(self.call("GET", "/_sandbox/faults"), 405)
        self.assertError(self.call("GET", "/_sandbox/requests?vendor=nowhere"), 400)
        self.assertError(self.call("POST", "/_sandbox/role-delay", {"seconds": -1}), 400)
        self.assertError(self.call("POST", "/_sandbox/skyhigh/outcome", {"role_arn": ROLE, "status": "SUCCESS"}), 400)
        self.assertError(self.call("POST", "/_sandbox/risken/datasource-error",
                                   {"aws_account_id": ACCOUNT_ID, "data_source": "aws:nope"}), 400)


class CommandLineTest(unittest.TestCase):
    def run_server(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(SERVER), *args], capture_output=True, text=True, timeout=10)

    def test_refuses_a_non_loopback_host(self):
        for host in ("0.0.0.0", "192.168.1.10", "example.com"):
            with self.subTest(host=host):
                result = self.run_server("--host", host)
                self.assertEqual(result.returncode, 2)
                self.assertIn("loopback", result.stderr)

    def test_refuses_an_invalid_seed(self):
        with tempfile.TemporaryDirectory() as directory:
            for seed in ({"cloudcraft": {"api_kee": "x"}}, {"skyhigh": {"processing_polls": "2"}},
                         {"risken": {"data_sources": {"aws:guard-duty": 1, "aws:portscan": 1}}},
                         {"skyhigh": {"status_url_in_answer": 0}}, {"skyhigh": {"status_url_in_answer": "false"}},
                         {"skyhigh": {"processing_polls": True}},
                         {"stellarcyber": {"page_size": 0}}, {"stellarcyber": {"page_size": 101}}):
                with self.subTest(seed=seed):
                    path = Path(directory, "seed.json")
                    path.write_text(json.dumps(seed))
                    result = self.run_server("--seed", str(path))
                    self.assertEqual(result.returncode, 2)
                    self.assertIn("--seed", result.stderr)

    def test_announces_its_port_and_stops_cleanly_on_sigterm(self):
        sandbox = SandboxProcess({})
        self.assertEqual(sandbox.banner, f"vendor-sandbox listening on http://127.0.0.1:{sandbox.port}")
        self.assertEqual(sandbox.request("GET", "/_sandbox/state").status, 200)
        self.assertEqual(sandbox.stop(), (0, False))
