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

    def submit(self, method: str, api: str, roles: tuple[str, ...], instance: str = "Default-AWS",
               **options: Any) -> str:
        options = {"ignoreErrors": True, "enableSecurityAudit": True, **options}
        options = {key: value for key, value in options.items() if value is not None}  # None: leave it out
        reply = self.sky(method, api, {"awsAccounts": sky_accounts(*roles), "instanceName": instance, **options})
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

    def test_provision_accounts_under_another_name_is_refused_naming_the_existing_instance(self):
        self.final_status(self.submit("POST", "provisionAccounts", (ROLE,), instance="Prod-AWS"))
        reply = self.sky("POST", "provisionAccounts", {"awsAccounts": sky_accounts(OTHER_ROLE),
                                                       "instanceName": "Default-AWS"})
        message = self.assertError(reply, 400, "statusMessage")
        self.assertIn("'Prod-AWS'", message)
        self.assertEqual(reply.json()["status"], "FAILURE")
        self.assertEqual(len(self.state()["skyhigh"]["requests"]), 1)  # nothing submitted

    def test_delete_accounts_refuses_an_empty_account_name_but_not_a_missing_one(self):
        self.final_status(self.submit("POST", "provisionAccounts", (ROLE, OTHER_ROLE)))
        empty = self.sky("DELETE", "deleteAccounts", {"awsAccounts": [{"assumedRole": ROLE, "accountName": ""}],
                                                      "instanceName": "Default-AWS"})
        self.assertIn("accountName", self.assertError(empty, 400, "statusMessage"))
        missing = self.sky("DELETE", "deleteAccounts", {"awsAccounts": [{"assumedRole": ROLE}],
                                                        "instanceName": "Default-AWS"})
        self.assertEqual(missing.status, 200, missing.text)

    def test_missing_permissions_without_ignore_errors_fail_and_add_nothing(self):
        missing = ["s3:GetBucketPolicy", "sns:ListTopics"]
        for ignore_errors in (None, False):  # absent, then false
            with self.subTest(ignoreErrors=ignore_errors):
                self.control("POST", "reset")
                self.control("POST", "skyhigh/outcome", {"role_arn": ROLE, "status": "SUCCESSFUL_WITH_ERRORS",
                                                         "missing_permissions": missing})
                result = self.final_status(self.submit("POST", "provisionAccounts", (ROLE, OTHER_ROLE),
                                                       ignoreErrors=ignore_errors))
                self.assertEqual(result["status"], "FAILURE")
                self.assertEqual(result["statusMessage"], f"Accounts with Failed Authentication: [{ROLE}]")
                self.assertEqual(list(result["errors"]), [ROLE])
                # Worded as the page's example for ignoreErrors false, listing what the role lacks.
                self.assertIn(f"is not authorized to perform: sts:AssumeRole on resource: {ROLE}",
                              result["errors"][ROLE])
                self.assertTrue(result["errors"][ROLE].endswith(
                    "Permissions required on this role={[s3:GetBucketPolicy, sns:ListTopics]}"), result["errors"][ROLE])
                self.assertEqual(self.provisioned(), [OTHER_ROLE])

    def test_add_accounts_uses_its_own_ignore_errors_else_the_instances(self):
        third = "arn:aws:iam::777788889999:role/VendorRole"
        self.final_status(self.submit("POST", "provisionAccounts", (OTHER_ROLE,), ignoreErrors=True))
        for role in (ROLE, third):
            self.control("POST", "skyhigh/outcome", {"role_arn": role, "status": "SUCCESSFUL_WITH_ERRORS"})
        # No ignoreErrors in the request: the instance's (true) applies.
        inherited = self.final_status(self.submit("PUT", "addAccounts", (ROLE,), ignoreErrors=None,
                                                  enableSecurityAudit=None))
        self.assertEqual(inherited["status"], "SUCCESSFUL_WITH_ERRORS")
        # The request's own false wins over the instance's true.
        own = self.final_status(self.submit("PUT", "addAccounts", (third,), ignoreErrors=False,
                                            enableSecurityAudit=None))
        self.assertEqual(own["status"], "FAILURE")
        self.assertEqual(sorted(self.provisioned()), sorted([OTHER_ROLE, ROLE]))

    def test_add_accounts_without_ignore_errors_on_an_instance_created_without_it_fails(self):
        self.final_status(self.submit("POST", "provisionAccounts", (OTHER_ROLE,), ignoreErrors=None))
        self.control("POST", "skyhigh/outcome", {"role_arn": ROLE, "status": "SUCCESSFUL_WITH_ERRORS"})
        self.assertEqual(self.final_status(self.submit("PUT", "addAccounts", (ROLE,), ignoreErrors=None))["status"],
                         "FAILURE")
        self.assertEqual(self.final_status(self.submit("PUT", "addAccounts", (ROLE,)))["status"],
                         "SUCCESSFUL_WITH_ERRORS")  # ignoreErrors true in the request

    def test_role_delay_fails_provisioning_until_the_role_is_assumable(self):
        self.control("POST", "role-delay", {"seconds": 1})
        first = self.final_status(self.submit("POST", "provisionAccounts", (ROLE,)))  # ignoreErrors true
        self.assertEqual((first["status"], first["statusMessage"]),
                         ("FAILURE", f"Accounts with Failed Authentication: [{ROLE}]"))
        self.assertIn("is not authorized to perform: sts:AssumeRole", first["errors"][ROLE])
        self.assertEqual(self.provisioned(), [])
        time.sleep(1.05)  # counted from the first request naming the role
        # The instance has no accounts, so provisionAccounts may be sent again.
        self.assertEqual(self.final_status(self.submit("POST", "provisionAccounts", (ROLE,)))["status"], "SUCCESS")
        self.assertEqual(self.provisioned(), [ROLE])

    def being_processed(self, request_id: str) -> bool:
        answer = self.sky("GET", f"provisionStatus/{request_id}").json()
        return answer["statusMessage"] == "The request is being processed"

    def test_timing_control_makes_provisioning_take_several_polls_and_seconds(self):
        self.assertEqual(self.control("POST", "skyhigh/timing", {"processing_polls": 3, "processing_seconds": 0.5}),
                         {"processing_polls": 3, "processing_seconds": 0.5})
        submitted = time.monotonic()
        request_id = self.submit("POST", "provisionAccounts", (ROLE,))
        self.assertEqual([self.being_processed(request_id) for _ in range(3)], [True] * 3)
        while time.monotonic() - submitted < 0.4:  # polled enough, not old enough
            self.assertTrue(self.being_processed(request_id))
            time.sleep(0.05)
        time.sleep(0.15)
        self.assertFalse(self.being_processed(request_id))
        self.assertEqual(self.provisioned(), [ROLE])
        # One field alone may change; the other keeps its value.
        self.assertEqual(self.control("POST", "skyhigh/timing", {"processing_seconds": 0}),
                         {"processing_polls": 3, "processing_seconds": 0})
        self.assertEqual(self.state()["skyhigh"]["timing"], {"processing_polls": 3, "processing_seconds": 0})

    def test_reset_restores_the_seed_timing(self):
        self.control("POST", "skyhigh/timing", {"processing_polls": 5, "processing_seconds": 30})
        self.control("POST", "reset")
        self.assertEqual(self.state()["skyhigh"]["timing"], {"processing_polls": 1, "processing_seconds": 0})
        self.assertEqual(self.final_status(self.submit("POST", "provisionAccounts", (ROLE,)))["status"], "SUCCESS")

    def test_timing_control_refuses_invalid_values(self):
        for body in ({}, {"processing_polls": -1}, {"processing_polls": 1.5}, {"processing_polls": True},
                     {"processing_seconds": "1"}, {"processing_seconds": -0.1}, {"scan_polls": 1},
                     {"processing_polls": 2, "processing_seconds": -1}):
            with self.subTest(body=body):
                self.assertError(self.call("POST", "/_sandbox/skyhigh/timing", body), 400)
        self.assertEqual(self.state()["skyhigh"]["timing"], {"processing_polls": 1, "processing_seconds": 0})


class SkyhighTimingTest(SandboxCase):
    seed = {**SEED, "skyhigh": {**SEED["skyhigh"], "processing_polls": 0, "processing_seconds": 0.4}}

    def test_skyhigh_request_completes_by_time_without_polling(self):
        reply = self.sky("POST", "provisionAccounts", {"awsAccounts": sky_accounts(ROLE), "instanceName": "Default-AWS"})
        self.assertEqual(reply.status, 200)
        self.assertEqual(self.sky("GET", "provisionedAccounts?instanceName=Default-AWS").json(), [])
        time.sleep(0.45)
        self.assertEqual(self.sky("GET", "provisionedAccounts?instanceName=Default-AWS").json(), [ROLE])


class SkyhighWithoutStatusUrlTest(SandboxCase):
    """Seed `status_url_in_answer: false`: the answer names no provisionStatus URL or id."""

    seed = {**SEED, "skyhigh": {**SEED["skyhigh"], "status_url_in_answer": False}}
    PROCESSING = {"status": "SUCCESS", "statusMessage": "The request is being processed", "errors": None}

    def send(self, method: str, api: str, *roles: str) -> None:
        reply = self.sky(method, api, {"awsAccounts": sky_accounts(*roles), "instanceName": "Default-AWS"})
        self.assertEqual(reply.status, 200, reply.text)
        self.assertEqual(reply.json(), self.PROCESSING)
        for record in self.state()["skyhigh"]["requests"]:
            self.assertNotIn(record["id"], reply.text)

    def listed(self) -> list[str]:
        return self.sky("GET", "provisionedAccounts?instanceName=Default-AWS").json()

    def test_provision_add_and_delete_answer_without_a_status_url(self):
        self.send("POST", "provisionAccounts", ROLE)
        self.assertEqual(self.listed(), [])  # counts as the one poll the default seed asks for
        self.assertEqual(self.listed(), [ROLE])
        self.send("PUT", "addAccounts", OTHER_ROLE)
        self.assertEqual(self.listed(), [ROLE])
        self.assertEqual(sorted(self.listed()), sorted([ROLE, OTHER_ROLE]))
        self.send("DELETE", "deleteAccounts", ROLE)
        self.assertEqual(sorted(self.listed()), sorted([ROLE, OTHER_ROLE]))
        self.assertEqual(self.listed(), [OTHER_ROLE])

    def test_provisioned_accounts_reads_count_as_polls_and_time_still_counts(self):
        self.control("POST", "skyhigh/timing", {"processing_polls": 2, "processing_seconds": 0.4})
        self.send("POST", "provisionAccounts", ROLE)
        self.assertEqual([self.listed() for _ in range(3)], [[], [], []])  # polled enough, not old enough
        time.sleep(0.45)
        self.assertEqual(self.listed(), [ROLE])

    def test_outcomes_still_apply(self):
        self.control("POST", "skyhigh/outcome", {"role_arn": ROLE, "status": "SUCCESSFUL_WITH_ERRORS"})
        self.send("POST", "provisionAccounts", ROLE, OTHER_ROLE)  # no ignoreErrors: missing permissions fail
        self.listed()
        self.assertEqual(self.listed(), [OTHER_ROLE])
        [record] = self.state()["skyhigh"]["requests"]
        self.assertEqual((record["done"], record["result"]["status"]), (True, "FAILURE"))
