"""Stellar Cyber's sandbox against its documented contract."""

from __future__ import annotations

import base64
import json
import time

from tests.harness import ROLE, SEED, STELLAR_KEY, STELLAR_USER, SandboxCase, basic


class StellarCyberTest(SandboxCase):
    def test_token_then_connector_lifecycle(self):
        token = self.sc_token()
        self.assertEqual(len(token.split(".")), 3)
        connector = {"name": "aws-111122223333", "cust_id": "tenant-1", "type": "aws_cloudtrail",
                     "role_arn": ROLE}
        created = self.sc("POST", "", connector, token=token)
        self.assertEqual(created.status, 200, created.text)
        stored = created.json()["data"]
        self.assertEqual({**connector, "_id": stored["_id"]}, stored)
        self.assertEqual(self.sc("GET", "", token=token).json(), {"data": [stored]})
        self.assertEqual(self.sc("GET", "?cust_id=tenant-1", token=token).json(), {"data": [stored]})
        self.assertEqual(self.sc("GET", "?cust_id=tenant-2", token=token).json(), {"data": []})
        self.assertEqual(self.sc("DELETE", f"/{stored['_id']}", token=token).status, 200)
        self.assertError(self.sc("DELETE", f"/{stored['_id']}", token=token), 404)
        self.assertEqual(self.state()["stellarcyber"]["connectors"], [])

    def test_token_call_needs_basic_auth_and_a_form_content_type(self):
        path = "/stellarcyber/connect/api/v1/access_token"
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        self.assertError(self.call("POST", path, headers={"Authorization": basic(STELLAR_USER, "wrong"), **form}), 401)
        self.assertError(self.call("POST", path, headers={"Authorization": f"Bearer {STELLAR_KEY}", **form}), 401)
        self.assertError(self.call("POST", path, headers={"Authorization": basic(STELLAR_USER, STELLAR_KEY),
                                                          "Content-Type": "application/json"}), 415)
        self.assertError(self.call("POST", path, headers={"Authorization": basic(STELLAR_USER, STELLAR_KEY)}), 415)
        self.assertError(self.call("GET", path), 405)

    def test_api_needs_a_valid_bearer_token(self):
        header, claims, signature = self.sc_token().split(".")
        forged = base64.urlsafe_b64encode(json.dumps({"sub": "x", "exp": 4102444800}).encode()).rstrip(b"=").decode()
        for auth in ("", "Bearer not.a.jwt", basic(STELLAR_USER, STELLAR_KEY), f"Bearer {header}.{forged}.{signature}"):
            with self.subTest(auth=auth):
                reply = self.call("GET", "/stellarcyber/connect/api/v1/connector", headers={"Authorization": auth})
                self.assertError(reply, 401)

    def test_connector_needs_a_json_object_with_a_name(self):
        token = self.sc_token()
        for body in ({}, {"name": ""}, {"name": 7}, ["name"]):
            with self.subTest(body=body):
                self.assertError(self.sc("POST", "", body, token=token), 400)
        self.assertError(self.sc("POST", "", raw=b'{"name": "x"}', headers={"Content-Type": "text/plain"},
                                 token=token), 415)

    def test_accepts_a_role_not_yet_assumable_and_marks_every_role_arn_in_the_connector_seen(self):
        self.control("POST", "role-delay", {"seconds": 60})
        token = self.sc_token()
        connector = {"name": "aws-111122223333", "config": {"account_id": "111122223333", "role_arn": ROLE}}
        self.assertEqual(self.sc("POST", "", connector, token=token).status, 200)
        self.assertEqual(self.sc("POST", "", {"name": "no-role", "config": {"role_arn": "not-an-arn"}},
                                 token=token).status, 200)
        self.assertEqual(list(self.state()["sandbox"]["roles_first_seen"]), [ROLE])


class StellarCyberTimingTest(SandboxCase):
    seed = {**SEED, "stellarcyber": {**SEED["stellarcyber"], "jwt_lifetime_seconds": 1}}

    def test_jwt_expires_after_the_configured_lifetime(self):
        token = self.sc_token()
        self.assertEqual(self.sc("GET", "", token=token).status, 200)
        time.sleep(2.05)  # the expiry is rounded up to a whole second
        self.assertEqual(self.assertError(self.sc("GET", "", token=token), 401), "Token expired")
        self.assertEqual(self.sc("GET", "").status, 200)  # a fresh token works
