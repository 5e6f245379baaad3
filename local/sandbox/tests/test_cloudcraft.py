"""Cloudcraft's sandbox against its documented contract."""

from __future__ import annotations

import http.client
import json
import time
from datetime import datetime

from tests.harness import CC_KEY, ROLE, SandboxCase, cc_body


class CloudcraftTest(SandboxCase):
    def test_iam_parameters_come_from_the_seed(self):
        params = self.cc("GET", "/iamParameters").json()
        self.assertEqual((params["accountId"], params["externalId"]), ("968898580625", "cc-ext-456"))
        self.assertTrue(params["awsConsoleUrl"].startswith("https://console.aws.amazon.com/iam/"))

    def test_account_lifecycle(self):
        created = self.cc("POST", "", cc_body())
        self.assertEqual(created.status, 201, created.text)
        account = created.json()
        self.assertRegex(account["id"], r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        self.assertEqual((account["name"], account["roleArn"], account["externalId"]),
                         ("member-111122223333", ROLE, "cc-ext-456"))
        datetime.fromisoformat(account["createdAt"].replace("Z", "+00:00"))
        self.assertEqual(self.cc("GET", "").json(), {"accounts": [account]})
        updated = self.cc("PUT", f"/{account['id']}", cc_body(name="renamed"))
        self.assertEqual((updated.status, updated.json()["name"]), (200, "renamed"))
        deleted = self.cc("DELETE", f"/{account['id']}")
        self.assertEqual((deleted.status, deleted.body), (204, b""))
        self.assertEqual(self.cc("GET", "").json(), {"accounts": []})
        self.assertError(self.cc("DELETE", f"/{account['id']}"), 404)
        self.assertError(self.cc("PUT", f"/{account['id']}", cc_body()), 404)

    def test_rejects_requests_off_the_documented_shape(self):
        for body in (cc_body(role_arn="arn:aws:iam::111122223333:policy/x"), cc_body(role_arn="VendorRole"),
                     {"roleArn": ROLE}, cc_body(name=""), {**cc_body(), "region": "mars"}):
            with self.subTest(body=body):
                self.assertError(self.cc("POST", "", body), 400)
        self.assertError(self.cc("POST", "", raw=b"name=x", headers={"Content-Type": "application/json"}), 400)
        self.assertError(self.cc("POST", "", raw=json.dumps(cc_body()).encode(),
                                 headers={"Content-Type": "text/plain"}), 415)
        for auth in (f"APIKey {CC_KEY}", "Bearer wrong", ""):
            with self.subTest(auth=auth):
                self.assertError(self.cc("GET", "", auth=auth), 401)
        self.assertError(self.cc("PATCH", "", cc_body()), 405)
        self.assertEqual(self.state()["cloudcraft"]["accounts"], [])

    def test_accepts_a_chunked_request_body(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.sandbox.port, timeout=10)
        connection.request("POST", "/cloudcraft/aws/account", body=iter([json.dumps(cc_body()).encode()]),
                           headers={"Authorization": f"Bearer {CC_KEY}", "Content-Type": "application/json"},
                           encode_chunked=True)
        self.assertEqual(connection.getresponse().status, 201)
        connection.close()

    def test_refuses_a_role_it_cannot_assume_yet(self):
        self.control("POST", "role-delay", {"seconds": 0.5})
        message = self.assertError(self.cc("POST", "", cc_body()), 400)
        self.assertIn(f"Unable to assume role {ROLE}", message)
        self.assertEqual(self.state()["cloudcraft"]["accounts"], [])
        time.sleep(0.55)  # counted from the first time the sandbox saw the role
        self.assertEqual(self.cc("POST", "", cc_body()).status, 201)

    def test_rate_limits_at_20_requests_per_minute_with_retry_after(self):
        for _ in range(20):
            self.assertEqual(self.cc("GET", "").status, 200)
        reply = self.cc("GET", "")
        self.assertError(reply, 429)
        self.assertTrue(1 <= int(reply.headers["Retry-After"]) <= 60)
        statuses = [entry["status"] for entry in self.control("GET", "requests?vendor=cloudcraft")["requests"]]
        self.assertEqual(statuses, [200] * 20 + [429])

    def test_21_requests_of_every_kind_inside_a_minute_give_429_with_retry_after(self):
        key = {"Authorization": f"Bearer {CC_KEY}"}
        account = self.cc("POST", "", cc_body()).json()
        counted = [
            self.cc("GET", "/iamParameters"), self.cc("GET", ""), self.cc("PUT", f"/{account['id']}", cc_body()),
            self.cc("POST", "", cc_body(name="")),  # refused by validation: still a request of the key
            self.cc("POST", "", raw=b"{}", headers={"Content-Type": "text/plain"}),
            self.call("GET", "/cloudcraft/no/such/api", headers=key),
            self.cc("PATCH", "", cc_body()),
            self.cc("DELETE", f"/{account['id']}"),
        ]
        self.assertEqual([r.status for r in counted], [200, 200, 200, 400, 415, 404, 405, 204])
        self.assertEqual(self.cc("GET", "", auth="Bearer wrong").status, 401)  # not the key's request
        for _ in range(20 - 1 - len(counted)):
            self.assertEqual(self.cc("GET", "").status, 200)
        self.assertEqual(self.state()["cloudcraft"]["rate_window_requests"], 20)
        for reply in (self.cc("GET", ""), self.cc("POST", "", cc_body()),
                      self.call("GET", "/cloudcraft/no/such/api", headers=key)):
            self.assertIn("requests per minute", self.assertError(reply, 429))
            self.assertTrue(1 <= int(reply.headers["Retry-After"]) <= 60, reply.headers["Retry-After"])
        self.assertEqual(len(self.state()["cloudcraft"]["accounts"]), 0)  # the refused POST did nothing

    def test_the_rate_window_spans_scenarios_until_a_reset(self):
        for _ in range(20):
            self.assertEqual(self.cc("GET", "").status, 200)
        # What a test run does between scenarios, short of a reset, leaves the window alone.
        self.control("POST", "faults", {"vendor": "cloudcraft", "status": 500, "path_contains": "nowhere"})
        self.control("DELETE", "faults")
        self.control("POST", "chaos", {"rate": 0, "seed": 1, "lost_share": 0})
        self.control("DELETE", "chaos")
        self.control("POST", "role-delay", {"seconds": 0})
        self.control("GET", "state")
        self.control("GET", "duplicates")
        reply = self.cc("GET", "")
        self.assertError(reply, 429)
        self.assertIn("Retry-After", reply.headers)
        self.control("POST", "reset")
        self.assertEqual(self.cc("GET", "").status, 200)
        self.assertEqual(self.state()["cloudcraft"]["rate_window_requests"], 1)

    def test_role_delay_refuses_the_first_post_and_accepts_one_after_the_delay(self):
        self.control("POST", "role-delay", {"seconds": 1})
        started = time.monotonic()
        self.assertIn(f"Unable to assume role {ROLE} from us-east-1: AccessDenied",
                      self.assertError(self.cc("POST", "", cc_body()), 400))
        time.sleep(0.5)
        self.assertError(self.cc("POST", "", cc_body()), 400)  # a retry does not restart the delay
        time.sleep(max(0.0, 1.1 - (time.monotonic() - started)))  # the delay ran from the first POST
        created = self.cc("POST", "", cc_body())
        self.assertEqual(created.status, 201, created.text)
        self.assertEqual([a["roleArn"] for a in self.state()["cloudcraft"]["accounts"]], [ROLE])

