"""Data Theorem's sandbox against its documented contract."""

from __future__ import annotations

import json
import time
from datetime import datetime

from tests.harness import DT_KEY, ROLE, SandboxCase, cc_body, dt_body


class DataTheoremTest(SandboxCase):
    def test_creates_an_aws_authenticator_and_records_it(self):
        reply = self.dt(dt_body())
        self.assertEqual(reply.status, 200, reply.text)
        created = reply.json()
        self.assertEqual(created["cloud_authenticator_type"], 3)
        self.assertEqual(created["aws_credential"], {"role_arn": ROLE})  # the external ID is not echoed
        datetime.fromisoformat(created["date_created"].replace("Z", "+00:00"))
        [stored] = self.state()["datatheorem"]["authenticators"]
        self.assertEqual(stored["id"], created["id"])
        self.assertEqual(stored["aws_credential"]["external_id"], dt_body()["aws_credential"]["external_id"])

    def test_accepts_only_the_apikey_scheme_with_the_right_key(self):
        for auth in (f"Bearer {DT_KEY}", "APIKey wrong-key", DT_KEY, ""):
            with self.subTest(auth=auth):
                self.assertError(self.dt(dt_body(), auth=auth), 401, "message")
        self.assertEqual(self.state()["datatheorem"]["authenticators"], [])

    def test_rejects_bodies_off_the_documented_shape(self):
        bad_bodies = [
            {"cloud_authenticator_type": 2, "aws_credential": dt_body()["aws_credential"]},
            {"cloud_authenticator_type": "3", "aws_credential": dt_body()["aws_credential"]},
            {"cloud_authenticator_type": 3},
            dt_body(role_arn="arn:aws:iam::111122223333:user/VendorRole"),
            {"cloud_authenticator_type": 3, "aws_credential": {"role_arn": ROLE}},
            [dt_body()],
        ]
        for body in bad_bodies:
            with self.subTest(body=body):
                self.assertError(self.dt(body), 400, "message")
        self.assertError(self.dt(None, raw=b"{not json", headers={"Content-Type": "application/json"}), 400, "message")
        self.assertEqual(self.state()["datatheorem"]["authenticators"], [])

    def test_requires_a_json_content_type(self):
        reply = self.dt(None, raw=json.dumps(dt_body()).encode(), headers={"Content-Type": "text/plain"})
        self.assertError(reply, 415, "message")

    def test_serves_no_list_or_delete_api(self):
        for method in ("GET", "DELETE"):
            reply = self.call(method, "/datatheorem/apis/api_security/results/v1beta1/cloud_authenticators",
                              headers={"Authorization": f"APIKey {DT_KEY}"})
            self.assertError(reply, 405, "message")
            self.assertEqual(reply.headers["Allow"], "POST")

    def test_accepts_a_role_not_yet_assumable_and_starts_its_delay(self):
        self.control("POST", "role-delay", {"seconds": 0.4})
        self.assertEqual(self.dt(dt_body()).status, 200)  # no documented check, no status API
        self.assertIn(ROLE, self.state()["sandbox"]["roles_first_seen"])
        # The delay runs from Data Theorem's request, for every vendor.
        self.assertError(self.cc("POST", "", cc_body()), 400)
        time.sleep(0.45)
        self.assertEqual(self.cc("POST", "", cc_body()).status, 201)
