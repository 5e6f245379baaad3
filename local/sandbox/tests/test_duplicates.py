"""`GET /_sandbox/duplicates`: live registrations per vendor, the AWS accounts they
cover, and each account registered more than once, from the sandbox's own state."""

from __future__ import annotations

from typing import Any

from tests.harness import (
    ACCOUNT_ID, OTHER_ROLE, PROJECT, ROLE, SandboxCase, attach_body, cc_body, dt_body, put_aws_body, sc_body,
    sky_accounts,
)

SAME_ACCOUNT_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/AnotherRole"
OTHER_ACCOUNT_ID = OTHER_ROLE.split(":")[4]


class DuplicatesTest(SandboxCase):
    def counts(self, vendor: str) -> dict[str, Any]:
        return self.control("GET", "duplicates")["vendors"][vendor]

    def test_nothing_registered(self):
        empty = {"registrations": 0, "accounts": 0, "duplicates": {}}
        self.assertEqual(self.control("GET", "duplicates"), {"vendors": {
            name: empty for name in ("datatheorem", "skyhigh", "cloudcraft", "risken", "stellarcyber")}})

    def test_data_theorem_counts_authenticators_by_the_account_of_their_role(self):
        self.dt(dt_body())
        self.dt(dt_body())
        self.dt(dt_body(role_arn=OTHER_ROLE))
        self.assertEqual(self.counts("datatheorem"),
                         {"registrations": 3, "accounts": 2, "duplicates": {ACCOUNT_ID: 2}})

    def test_cloudcraft_counts_accounts_by_the_account_in_role_arn(self):
        self.cc("POST", "", cc_body(name="a"))
        self.cc("POST", "", cc_body(name="b", role_arn=SAME_ACCOUNT_ROLE))
        self.cc("POST", "", cc_body(name="c", role_arn=OTHER_ROLE))
        self.assertEqual(self.counts("cloudcraft"),
                         {"registrations": 3, "accounts": 2, "duplicates": {ACCOUNT_ID: 2}})

    def test_skyhigh_counts_provisioned_accounts_only(self):
        body = {"awsAccounts": sky_accounts(ROLE, SAME_ACCOUNT_ROLE, ROLE), "instanceName": "Default-AWS"}
        status_url = self.sky("POST", "provisionAccounts", body).json()["statusMessage"]
        request_id = status_url.rsplit("/", 1)[1].split()[0]
        self.assertEqual(self.counts("skyhigh")["registrations"], 0)  # pending: it may still fail
        self.sky("GET", f"provisionStatus/{request_id}")
        self.sky("GET", f"provisionStatus/{request_id}")
        # The same role twice is one provisioned account; two roles of one account are two.
        self.assertEqual(self.counts("skyhigh"), {"registrations": 2, "accounts": 1, "duplicates": {ACCOUNT_ID: 2}})

    def test_risken_counts_aws_entries_which_put_aws_keeps_unique(self):
        self.rk("POST", "put-aws", put_aws_body(name="first"))
        aws_id = self.rk("POST", "put-aws", put_aws_body(name="again")).json()["data"]["aws"]["aws_id"]
        self.rk("POST", "put-aws", put_aws_body(account_id=OTHER_ACCOUNT_ID))
        for source_id in (71, 72):
            self.rk("POST", "attach-datasource", attach_body(aws_id, source_id))
        self.assertEqual(self.counts("risken"), {"registrations": 2, "accounts": 2, "duplicates": {}})
        self.rk("POST", "delete-aws", {"project_id": PROJECT, "aws_id": aws_id})
        self.assertEqual(self.counts("risken"), {"registrations": 1, "accounts": 1, "duplicates": {}})

    def test_stellar_cyber_counts_connectors_by_the_account_of_config_role_arn(self):
        token = self.sc_token()
        for connector in (sc_body(name="a"), sc_body(name="a"), sc_body(name="b", role_arn=SAME_ACCOUNT_ROLE),
                          {**sc_body(name="c", role_arn=OTHER_ROLE), "description": f"not {ROLE}"}):
            self.assertEqual(self.sc("POST", "", connector, token=token).status, 200)
        self.assertEqual(self.counts("stellarcyber"),
                         {"registrations": 4, "accounts": 2, "duplicates": {ACCOUNT_ID: 3}})
