"""Stellar Cyber's sandbox against its documented contract."""

from __future__ import annotations

import base64
import json
import time

from tests.harness import OTHER_ROLE, ROLE, SEED, STELLAR_KEY, STELLAR_USER, SandboxCase, basic, sc_body

LIST_PATH = "/stellarcyber/connect/api/v1/connector"


class StellarCyberTest(SandboxCase):
    def test_token_then_connector_lifecycle(self):
        token = self.sc_token()
        self.assertEqual(len(token.split(".")), 3)
        connector = {**sc_body(), "cust_id": "tenant-1"}
        created = self.sc("POST", "", connector, token=token)
        self.assertEqual(created.status, 200, created.text)
        stored = created.json()["data"]
        self.assertRegex(stored["_id"], r"^[0-9a-f]{24}$")
        self.assertEqual({**connector, "_id": stored["_id"]}, stored)
        self.assertEqual(self.sc("GET", "", token=token).json(), {"data": [stored], "total": 1})
        self.assertEqual(self.sc("GET", "?cust_id=tenant-1", token=token).json(), {"data": [stored], "total": 1})
        self.assertEqual(self.sc("GET", "?cust_id=tenant-2", token=token).json(), {"data": [], "total": 0})
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
        for body in ({}, {**sc_body(), "name": ""}, {**sc_body(), "name": 7}, ["name"]):
            with self.subTest(body=body):
                self.assertError(self.sc("POST", "", body, token=token), 400)
        self.assertError(self.sc("POST", "", raw=b'{"name": "x"}', headers={"Content-Type": "text/plain"},
                                 token=token), 415)

    def test_connector_must_be_an_aws_cloudtrail_connector_and_the_error_names_the_field(self):
        token = self.sc_token()
        good = sc_body()
        cases = [
            ({**good, "name": "  "}, "name"),
            ({k: v for k, v in good.items() if k != "type"}, "type"),
            ({**good, "type": "aws"}, "type"),
            ({k: v for k, v in good.items() if k != "config"}, "config"),
            ({**good, "config": "role"}, "config"),
            (sc_body(role_arn="arn:aws:iam::111122223333:user/x"), "config.role_arn"),
            ({**good, "config": {k: v for k, v in good["config"].items() if k != "role_arn"}}, "config.role_arn"),
            (sc_body(bucket=""), "config.bucket"),
            (sc_body(bucket=["b"]), "config.bucket"),
            ({**good, "config": {k: v for k, v in good["config"].items() if k != "prefix"}}, "config.prefix"),
            (sc_body(prefix=None), "config.prefix"),
            (sc_body(file_type="csv"), "config.file_type"),
            ({**good, "config": {k: v for k, v in good["config"].items() if k != "file_type"}}, "config.file_type"),
        ]
        for body, field in cases:
            with self.subTest(field=field, body=body):
                self.assertIn(field, self.assertError(self.sc("POST", "", body, token=token), 400))
        self.assertEqual(self.state()["stellarcyber"]["connectors"], [])
        self.assertEqual(self.state()["sandbox"]["roles_first_seen"], {})
        # The smallest valid connector: an empty prefix, gzip files; other fields are kept.
        for body in (sc_body(prefix="", file_type="gzip"), {**sc_body(region="us-east-1"), "active": True}):
            with self.subTest(body=body):
                created = self.sc("POST", "", body, token=token)
                self.assertEqual(created.status, 200, created.text)
                self.assertEqual({**body, "_id": created.json()["data"]["_id"]}, created.json()["data"])

    def test_duplicate_connector_names_are_allowed(self):
        token = self.sc_token()
        first = self.sc("POST", "", sc_body(), token=token).json()["data"]
        second = self.sc("POST", "", sc_body(), token=token).json()["data"]
        self.assertNotEqual(first["_id"], second["_id"])
        self.assertEqual(self.sc("GET", "", token=token).json()["total"], 2)

    def test_connector_list_is_paged_with_skip_and_limit(self):
        token = self.sc_token()
        ids = [self.sc("POST", "", {**sc_body(name=f"c{i}"), "cust_id": "t1" if i % 2 else "t2"},
                       token=token).json()["data"]["_id"] for i in range(7)]

        def page(query: str) -> tuple[list[str], int]:
            reply = self.sc("GET", query, token=token)
            self.assertEqual(reply.status, 200, reply.text)
            return [c["_id"] for c in reply.json()["data"]], reply.json()["total"]

        self.assertEqual(page("?limit=3"), (ids[:3], 7))
        self.assertEqual(page("?skip=3&limit=3"), (ids[3:6], 7))
        self.assertEqual(page("?skip=6&limit=3"), (ids[6:], 7))
        self.assertEqual(page("?skip=7"), ([], 7))
        self.assertEqual(page("?skip=100&limit=100"), ([], 7))
        self.assertEqual(page("?skip=2"), (ids[2:], 7))
        # cust_id filters first; total counts the matches.
        self.assertEqual(page("?cust_id=t1&limit=2"), ([ids[1], ids[3]], 3))
        self.assertEqual(page("?cust_id=t1&skip=2&limit=2"), ([ids[5]], 3))

    def test_connector_list_pages_50_by_default(self):
        token = self.sc_token()
        for i in range(51):
            self.assertEqual(self.sc("POST", "", sc_body(name=f"c{i}"), token=token).status, 200)
        listed = self.sc("GET", "", token=token).json()
        self.assertEqual((len(listed["data"]), listed["total"]), (50, 51))
        self.assertEqual([c["name"] for c in self.sc("GET", "?skip=50", token=token).json()["data"]], ["c50"])

    def test_connector_list_refuses_invalid_skip_and_limit(self):
        token = self.sc_token()
        for query in ("?skip=-1", "?skip=x", "?skip=", "?skip=1.5", "?limit=0", "?limit=101", "?limit=-5",
                      "?limit=ten", "?limit="):
            with self.subTest(query=query):
                message = self.assertError(self.sc("GET", query, token=token), 400)
                self.assertIn(query[1:].split("=")[0], message)

    def test_accepts_a_role_not_yet_assumable_and_marks_its_role_seen(self):
        self.control("POST", "role-delay", {"seconds": 60})
        token = self.sc_token()
        connector = {**sc_body(), "description": f"also mentions {OTHER_ROLE}"}
        self.assertEqual(self.sc("POST", "", connector, token=token).status, 200)
        # Only config.role_arn is the connector's role.
        self.assertEqual(list(self.state()["sandbox"]["roles_first_seen"]), [ROLE])


class StellarCyberTimingTest(SandboxCase):
    seed = {**SEED, "stellarcyber": {**SEED["stellarcyber"], "jwt_lifetime_seconds": 1}}

    def test_jwt_expires_after_the_configured_lifetime(self):
        token = self.sc_token()
        self.assertEqual(self.sc("GET", "", token=token).status, 200)
        time.sleep(2.05)  # the expiry is rounded up to a whole second
        self.assertEqual(self.assertError(self.sc("GET", "", token=token), 401), "Token expired")
        self.assertEqual(self.sc("GET", "").status, 200)  # a fresh token works


class StellarCyberPagingTest(SandboxCase):
    seed = {**SEED, "stellarcyber": {**SEED["stellarcyber"], "page_size": 2}}

    def test_a_client_that_never_pages_sees_only_the_first_page(self):
        token = self.sc_token()
        for i in range(3):
            self.assertEqual(self.sc("POST", "", sc_body(name=f"c{i}"), token=token).status, 200)
        listed = self.sc("GET", "", token=token).json()
        self.assertEqual(([c["name"] for c in listed["data"]], listed["total"]), (["c0", "c1"], 3))
        self.assertEqual([c["name"] for c in self.sc("GET", "?skip=2", token=token).json()["data"]], ["c2"])
        self.assertEqual(len(self.sc("GET", "?limit=100", token=token).json()["data"]), 3)
