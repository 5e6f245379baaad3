"""Skyhigh Security's sandbox against its documented contract."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from tests.harness import OTHER_ROLE, ROLE, SEED, SKY_PASSWORD, SKY_USER, SandboxCase, basic, sky_accounts


class SkyhighTest(SandboxCase):
    STATUS_URL = re.compile(r"The request is being processed\. Please call this API "
                            r"(http://127\.0\.0\.1:\d+/skyhigh/shndlpapi/v1/aws/provisionStatus/([\w-]+)) "
                            r"to get the status\.")

    def submit(self, method: str, api: str, roles: tuple[str, ...], instance: str = "Default-AWS") -> str:
        reply = self.sky(method, api, {"awsAccounts": sky_accounts(*roles), "instanceName": instance,
                                       "ignoreErrors": True, "enableSecurityAudit": True})
        self.assertEqual(reply.status, 200, reply.text)
        answer = reply.json()
        self.assertEqual((answer["status"], answer["errors"]), ("SUCCESS", None))
        match = self.STATUS_URL.fullmatch(answer["statusMessage"])
        self.assertIsNotNone(match, answer["statusMessage"])
        self.assertEqual(set(answer), {"status", "statusMessage", "errors"})  # the id is only in the URL
        return match.group(2)

    def final_status(self, request_id: str) -> dict[str, Any]:
        """Poll until done; the default seed answers 'processing' once."""
        first = self.sky("GET", f"provisionStatus/{request_id}").json()
        self.assertEqual(first, {"statusMessage": "The request is being processed", "status": "SUCCESS",
                                 "errors": None})
        return self.sky("GET", f"provisionStatus/{request_id}").json()

    def provisioned(self, instance: str = "Default-AWS") -> list[str]:
        reply = self.sky("GET", f"provisionedAccounts?instanceName={instance}")
        self.assertEqual(reply.status, 200, reply.text)
        return reply.json()

    def test_trust_details_need_basic_auth(self):
        reply = self.sky("GET", "trustDetails")
        self.assertEqual(reply.json(), {"Skyhigh CASB AWS Account ID": "522462218264", "External ID": "sky-ext-123"})
        for auth in (basic(SKY_USER, "wrong"), f"Bearer {SKY_PASSWORD}", ""):
            with self.subTest(auth=auth):
                reply = self.sky("GET", "trustDetails", auth=auth)
                self.assertEqual(self.assertError(reply, 401, "status"), "FAILURE")
                self.assertTrue(reply.headers["WWW-Authenticate"].startswith("Basic"))

    def test_provisioning_is_asynchronous_and_reported_by_provision_status(self):
        request_id = self.submit("POST", "provisionAccounts", (ROLE,))
        self.assertEqual(self.provisioned(), [])
        self.assertEqual(self.final_status(request_id), {"statusMessage": "Success", "status": "SUCCESS",
                                                         "errors": None})
        self.assertEqual(self.provisioned(), [ROLE])

    def test_status_url_in_the_answer_can_be_called_as_given(self):
        reply = self.sky("POST", "provisionAccounts", {"awsAccounts": sky_accounts(ROLE), "instanceName": "A"})
        url = self.STATUS_URL.fullmatch(reply.json()["statusMessage"]).group(1)
        path = url.split(str(self.sandbox.port), 1)[1]
        status = self.call("GET", path, headers={"Authorization": basic(SKY_USER, SKY_PASSWORD)})
        self.assertEqual(status.json()["status"], "SUCCESS")

    def test_provision_accounts_creates_the_one_instance_then_add_accounts_extends_it(self):
        self.final_status(self.submit("POST", "provisionAccounts", (ROLE,)))
        # Same name: the accounts are added.
        self.final_status(self.submit("POST", "provisionAccounts", (OTHER_ROLE,)))
        self.assertEqual(sorted(self.provisioned()), sorted([ROLE, OTHER_ROLE]))
        # Another name while the instance has accounts: an error.
        reply = self.sky("POST", "provisionAccounts", {"awsAccounts": sky_accounts(ROLE), "instanceName": "Other"})
        self.assertIn("already exists", self.assertError(reply, 400, "statusMessage"))
        self.assertEqual(self.state()["skyhigh"]["instance"]["name"], "Default-AWS")
        third = "arn:aws:iam::777788889999:role/VendorRole"
        self.final_status(self.submit("PUT", "addAccounts", (third,)))
        self.assertIn(third, self.provisioned())
        self.assertEqual(self.provisioned("Other"), [])

    def test_provision_accounts_may_reuse_an_instance_that_has_no_accounts(self):
        self.control("POST", "skyhigh/outcome", {"role_arn": ROLE, "status": "FAILURE"})
        self.final_status(self.submit("POST", "provisionAccounts", (ROLE,), instance="First"))
        self.final_status(self.submit("POST", "provisionAccounts", (OTHER_ROLE,), instance="Second"))
        self.assertEqual(self.provisioned("First"), [OTHER_ROLE])

    def test_add_and_delete_need_an_existing_instance(self):
        for method, api in (("PUT", "addAccounts"), ("DELETE", "deleteAccounts")):
            with self.subTest(api=api):
                reply = self.sky(method, api, {"awsAccounts": sky_accounts(ROLE), "instanceName": "Default-AWS"})
                self.assertError(reply, 400, "statusMessage")

    def test_delete_accounts_is_asynchronous_with_a_host_relative_status_url(self):
        self.final_status(self.submit("POST", "provisionAccounts", (ROLE, OTHER_ROLE)))
        reply = self.sky("DELETE", "deleteAccounts", {"awsAccounts": [{"assumedRole": ROLE, "accountName": "a"}],
                                                      "instanceName": "Default-AWS"})
        message = reply.json()["statusMessage"]
        match = re.fullmatch(r"The request is being processed\. Please call this API "
                             r"/shndlpapi/v1/aws/provisionStatus/([\w-]+) to get the status", message)
        self.assertIsNotNone(match, message)
        self.assertEqual(sorted(self.provisioned()), sorted([ROLE, OTHER_ROLE]))
        self.assertEqual(self.final_status(match.group(1))["status"], "SUCCESS")
        self.assertEqual(self.provisioned(), [OTHER_ROLE])

    def test_missing_permissions_end_in_successful_with_errors_keyed_by_role(self):
        self.control("POST", "skyhigh/outcome", {"role_arn": ROLE, "status": "SUCCESSFUL_WITH_ERRORS",
                                                 "missing_permissions": ["s3:GetBucketPolicy", "sns:ListTopics"]})
        result = self.final_status(self.submit("POST", "provisionAccounts", (ROLE,)))
        self.assertEqual(result, {
            "statusMessage": f"Successfully added the accounts: [{ROLE}]",
            "status": "SUCCESSFUL_WITH_ERRORS",
            "errors": {ROLE: f"Role={ROLE} does not have the following permissions={{s3:GetBucketPolicy,sns:ListTopics}}"},
        })
        self.assertEqual(self.provisioned(), [ROLE])

    def test_forced_failure_reports_the_role_and_required_permissions(self):
        self.control("POST", "skyhigh/outcome", {"role_arn": ROLE, "status": "FAILURE"})
        result = self.final_status(self.submit("POST", "provisionAccounts", (ROLE, OTHER_ROLE)))
        self.assertEqual(result["status"], "FAILURE")
        self.assertEqual(result["statusMessage"], f"Accounts with Failed Authentication: [{ROLE}]")
        self.assertEqual(list(result["errors"]), [ROLE])
        self.assertIn("sts:AssumeRole", result["errors"][ROLE])
        self.assertIn("cloudtrail:DescribeTrails", result["errors"][ROLE])
        self.assertEqual(self.provisioned(), [OTHER_ROLE])

    def test_a_role_not_yet_assumable_fails_provisioning(self):
        self.control("POST", "role-delay", {"seconds": 60})
        result = self.final_status(self.submit("POST", "provisionAccounts", (ROLE,)))
        self.assertEqual(result["status"], "FAILURE")
        self.assertIn("is not authorized to perform: sts:AssumeRole", result["errors"][ROLE])
        self.assertEqual(self.provisioned(), [])
        self.control("POST", "role-delay", {"seconds": 0})
        self.assertEqual(self.final_status(self.submit("PUT", "addAccounts", (ROLE,)))["status"], "SUCCESS")

    def test_rejects_requests_off_the_documented_shape(self):
        good = {"awsAccounts": sky_accounts(ROLE), "instanceName": "Default-AWS"}
        for change in ({"instanceName": ""}, {"awsAccounts": []}, {"awsAccounts": [{"accountName": "x"}]},
                       {"awsAccounts": [{"assumedRole": "arn:aws:iam::1:role/x", "accountName": "x"}]},
                       {"awsAccounts": [{"assumedRole": ROLE}]}, {"enableDLP": "yes"},
                       {"securityAuditType": "WEEKLY"}):
            with self.subTest(change=change):
                self.assertError(self.sky("POST", "provisionAccounts", {**good, **change}), 400, "statusMessage")
        self.assertIsNone(self.state()["skyhigh"]["instance"])
        reply = self.sky("POST", "provisionAccounts", raw=json.dumps(good).encode(), headers={"Content-Type": "text/plain"})
        self.assertError(reply, 415, "statusMessage")
        self.assertError(self.sky("GET", "provisionAccounts"), 405, "statusMessage")
        self.assertError(self.sky("GET", "provisionStatus/no-such-id"), 404, "statusMessage")
        self.assertError(self.sky("GET", "provisionedAccounts"), 400, "statusMessage")


class SkyhighTimingTest(SandboxCase):
    seed = {**SEED, "skyhigh": {**SEED["skyhigh"], "processing_polls": 0, "processing_seconds": 0.4}}

    def test_skyhigh_request_completes_by_time_without_polling(self):
        reply = self.sky("POST", "provisionAccounts", {"awsAccounts": sky_accounts(ROLE), "instanceName": "Default-AWS"})
        self.assertEqual(reply.status, 200)
        self.assertEqual(self.sky("GET", "provisionedAccounts?instanceName=Default-AWS").json(), [])
        time.sleep(0.45)
        self.assertEqual(self.sky("GET", "provisionedAccounts?instanceName=Default-AWS").json(), [ROLE])
