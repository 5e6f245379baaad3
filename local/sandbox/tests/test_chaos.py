"""Random chaos faults (`/_sandbox/chaos`): reproducible by seed, lost answers after the
vendor acted, refusals before it did, counters, and the server surviving closed connections."""

from __future__ import annotations

import http.client
import signal
import unittest
from typing import Any

from tests.harness import (
    PROJECT, ROLE, SEED, Reply, SandboxCase, SandboxProcess, cc_body, dt_body, put_aws_body, sky_accounts,
)

LOST = {"lost_drop", "lost_502", "lost_504"}
REFUSED = {"refused_500", "refused_502", "refused_503", "refused_429", "refused_drop"}


class ChaosTest(SandboxCase):
    def chaos(self, **config: Any) -> dict[str, Any]:
        return self.control("POST", "chaos", {"rate": 1.0, "seed": 7, "lost_share": 0.5, **config})["config"]

    def attempt(self, method: str, *args: Any, **kwargs: Any) -> Reply | None:
        """A vendor call, or None when the sandbox closed the connection without answering."""
        try:
            return getattr(self, method)(*args, **kwargs)
        except http.client.RemoteDisconnected:
            return None

    def list_aws(self) -> Reply | None:
        return self.attempt("rk", "GET", f"list-aws?project_id={PROJECT}")

    def kinds(self, vendor: str | None = None) -> list[str | None]:
        query = f"?vendor={vendor}" if vendor else ""
        return [entry["chaos"] for entry in self.control("GET", "requests" + query)["requests"]]

    def test_the_same_seed_gives_the_same_faults(self):
        runs = []
        for seed in (7, 7, 8):
            self.control("POST", "reset")
            self.chaos(rate=0.5, seed=seed, lost_share=0.33)
            for _ in range(40):
                self.list_aws()
            runs.append(self.kinds())
        self.assertEqual(runs[0], runs[1])
        self.assertNotEqual(runs[0], runs[2])
        drawn = {kind for kind in runs[0] if kind}
        self.assertTrue(drawn and drawn <= LOST | REFUSED, drawn)
        self.assertIn(None, runs[0])

    def test_a_lost_answer_still_creates_the_cloudcraft_account(self):
        self.chaos(lost_share=1.0, vendors=["cloudcraft"])
        replies = [self.attempt("cc", "POST", "", cc_body(name=f"member-{i}")) for i in range(10)]
        self.assertIn(None, replies)  # some answers never came: the connection was closed
        for reply in filter(None, replies):  # the others were a gateway's error page
            self.assertIn(reply.status, (502, 504))
            self.assertEqual(reply.headers["Content-Type"], "text/html")
            self.assertIn(b"Gateway", reply.body)
        # Every request was handled all the same.
        self.assertEqual(sorted(a["name"] for a in self.state()["cloudcraft"]["accounts"]),
                         sorted(f"member-{i}" for i in range(10)))
        log = self.control("GET", "requests?vendor=cloudcraft")["requests"]
        self.assertEqual({entry["vendor_status"] for entry in log}, {201})
        self.assertTrue(all(entry["fault"] and entry["chaos"] in LOST for entry in log))
        for entry, reply in zip(log, replies, strict=True):
            self.assertEqual(entry["status"], 0 if reply is None else reply.status)
            self.assertEqual(entry["chaos"] == "lost_drop", reply is None)

    def test_refusals_never_reach_the_vendor(self):
        token = self.sc_token()
        self.chaos(lost_share=0, retry_after=3)
        provision = {"instanceName": "A", "awsAccounts": sky_accounts(ROLE)}
        replies = []
        for i in range(6):
            replies += [self.attempt("dt", dt_body()), self.attempt("cc", "POST", "", cc_body(name=f"m{i}")),
                        self.attempt("rk", "POST", "put-aws", put_aws_body()),
                        self.attempt("sc", "POST", "", {"name": f"c{i}", "role_arn": ROLE}, token=token),
                        self.attempt("sky", "POST", "provisionAccounts", provision)]
        self.assertIn(None, replies)
        for reply in filter(None, replies):
            self.assertIn(reply.status, (500, 502, 503, 429))
            self.assertEqual(reply.headers["Content-Type"], "application/json")  # the vendor's own error shape
            self.assertEqual(reply.headers["Retry-After"], "3" if reply.status == 429 else None)
        state = self.state()
        self.assertEqual((state["datatheorem"]["authenticators"], state["cloudcraft"]["accounts"],
                          state["risken"]["aws"], state["stellarcyber"]["connectors"], state["skyhigh"]["instance"]),
                         ([], [], [], [], None))
        log = self.control("GET", "requests")["requests"][1:]  # after the token call, made before chaos
        self.assertEqual(len(log), len(replies))
        self.assertTrue(all(entry["chaos"] in REFUSED and entry["vendor_status"] is None for entry in log))

    def test_counters_add_up(self):
        self.chaos(rate=0.5, seed=3, lost_share=0.5)
        for _ in range(12):
            self.list_aws()
            self.attempt("sky", "GET", "trustDetails")
        report = self.control("GET", "chaos")
        self.assertEqual(report["config"], {"rate": 0.5, "seed": 3, "lost_share": 0.5, "retry_after": 1,
                                            "vendors": ["datatheorem", "skyhigh", "cloudcraft", "risken",
                                                        "stellarcyber"]})
        self.assertEqual(report["requests"], {"datatheorem": 0, "skyhigh": 12, "cloudcraft": 0, "risken": 12,
                                              "stellarcyber": 0})
        for vendor in ("risken", "skyhigh"):
            kinds = [kind for kind in self.kinds(vendor) if kind]
            self.assertEqual(report["faults"][vendor], {kind: kinds.count(kind) for kind in set(kinds)})
        self.assertEqual(report["faults"]["cloudcraft"], {})
        self.assertGreater(sum(report["faults"]["risken"].values()), 0)

    def test_rate_zero_gives_no_faults(self):
        self.chaos(rate=0)
        for _ in range(10):
            self.assertEqual(self.list_aws().status, 200)
        report = self.control("GET", "chaos")
        self.assertEqual((report["requests"]["risken"], report["faults"]["risken"]), (10, {}))
        log = self.control("GET", "requests")["requests"]
        self.assertEqual({(e["fault"], e["chaos"], e["status"], e["vendor_status"]) for e in log},
                         {(False, None, 200, 200)})

    def test_only_the_listed_vendors_get_faults(self):
        self.chaos(vendors=["cloudcraft"])
        for _ in range(5):
            self.assertEqual(self.list_aws().status, 200)
        report = self.control("GET", "chaos")
        self.assertEqual((report["requests"]["risken"], report["faults"]["risken"]), (5, {}))

    def test_an_explicit_fault_takes_precedence_and_draws_nothing(self):
        self.chaos(rate=1.0, lost_share=0)
        self.control("POST", "faults", {"vendor": "risken", "status": 418, "body": "explicit"})
        reply = self.list_aws()
        self.assertEqual((reply.status, reply.text), (418, "explicit"))
        self.list_aws()
        [explicit, drawn] = self.control("GET", "requests")["requests"]
        self.assertEqual((explicit["fault"], explicit["chaos"], explicit["vendor_status"]), (True, None, None))
        self.assertIn(drawn["chaos"], REFUSED)
        report = self.control("GET", "chaos")
        self.assertEqual((report["requests"]["risken"], sum(report["faults"]["risken"].values())), (2, 1))

    def test_delete_turns_chaos_off_and_keeps_the_counters_until_reset(self):
        self.chaos(rate=1.0)
        self.list_aws()
        self.assertEqual(self.control("DELETE", "chaos"), {"stopped": True})
        self.assertEqual(self.control("DELETE", "chaos"), {"stopped": False})
        self.assertEqual(self.list_aws().status, 200)
        report = self.control("GET", "chaos")
        self.assertIsNone(report["config"])
        self.assertEqual((report["requests"]["risken"], sum(report["faults"]["risken"].values())), (1, 1))
        self.chaos(rate=0)  # a new configuration starts its counters afresh
        self.assertEqual(self.control("GET", "chaos")["requests"]["risken"], 0)
        self.control("POST", "reset")
        self.assertEqual(self.control("GET", "chaos"), {
            "config": None, "requests": dict.fromkeys(report["requests"], 0),
            "faults": {vendor: {} for vendor in report["faults"]}})

    def test_invalid_configurations_are_refused(self):
        good = {"rate": 0.2, "seed": 7, "lost_share": 0.33}
        for change in ({"rate": 1.5}, {"rate": -0.1}, {"rate": "0.2"}, {"rate": True}, {"seed": 1.5},
                       {"seed": "7"}, {"seed": True}, {"seed": None}, {"lost_share": 2}, {"lost_share": None},
                       {"vendors": ["nope"]}, {"vendors": []}, {"vendors": "risken"}, {"retry_after": -1},
                       {"retry_after": 1.5}):
            with self.subTest(change=change):
                self.assertError(self.call("POST", "/_sandbox/chaos", {**good, **change}), 400)
        self.assertError(self.call("POST", "/_sandbox/chaos", [good]), 400)
        self.assertError(self.call("PUT", "/_sandbox/chaos", good), 405)
        self.assertIsNone(self.control("GET", "chaos")["config"])


class ClosedConnectionTest(unittest.TestCase):
    def test_the_server_survives_closed_connections_without_a_traceback(self):
        sandbox = SandboxProcess(SEED)
        self.addCleanup(sandbox.dir.cleanup)
        sandbox.request("POST", "/_sandbox/chaos", {"rate": 1.0, "seed": 1, "lost_share": 1.0})
        dropped = 0
        for _ in range(12):
            try:
                sandbox.request("GET", f"/risken/api/v1/aws/list-aws?project_id={PROJECT}")
            except http.client.RemoteDisconnected:
                dropped += 1
        self.assertGreater(dropped, 0)
        sandbox.request("DELETE", "/_sandbox/chaos")
        self.assertEqual(sandbox.request("GET", "/_sandbox/state").status, 200)
        sandbox.process.send_signal(signal.SIGTERM)
        stderr = sandbox.process.stderr.read()
        sandbox.process.stderr.close()
        self.assertEqual(sandbox.process.wait(timeout=5), 0)
        self.assertNotIn("Traceback", stderr)
        self.assertNotIn("Exception", stderr)
