"""RISKEN's sandbox against its documented contract."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.harness import (
    ACCOUNT_ID, CATALOGUE, PROJECT, RISKEN_TOKEN, ROLE, SEED, Reply, SandboxCase, attach_body, basic, put_aws_body,
)


class RiskenTest(SandboxCase):
    def put_aws(self) -> int:
        reply = self.rk("POST", "put-aws", put_aws_body())
        self.assertEqual(reply.status, 200, reply.text)
        return reply.json()["data"]["aws"]["aws_id"]

    def sources(self, aws_id: int, data_source: str = "") -> list[dict[str, Any]]:
        query = f"project_id={PROJECT}&aws_id={aws_id}" + (f"&data_source={data_source}" if data_source else "")
        reply = self.rk("GET", f"list-datasource?{query}")
        self.assertEqual(reply.status, 200, reply.text)
        return reply.json()["data"]["data_source"]

    def guard_duty(self, aws_id: int) -> dict[str, Any]:
        [row] = self.sources(aws_id, "aws:guard-duty")
        return row

    def attach_and_scan(self) -> int:
        aws_id = self.put_aws()
        self.assertEqual(self.rk("POST", "attach-datasource", attach_body(aws_id, 71)).status, 200)
        self.assertEqual(self.rk("POST", "invoke-scan", {"project_id": PROJECT, "aws_id": aws_id,
                                                         "aws_data_source_id": 71}).json(), {"data": {}})
        return aws_id

    def assertBadRequest(self, reply: Reply, message: str) -> None:
        self.assertEqual(self.assertError(reply, 400), message)

    def test_auth_layer_answers_401_and_403_in_plain_text(self):
        for auth in ("", "Bearer wrong-token", basic("x", RISKEN_TOKEN)):
            with self.subTest(auth=auth):
                reply = self.rk("GET", f"list-aws?project_id={PROJECT}", auth=auth)
                self.assertEqual((reply.status, reply.text), (401, "Unauthenticated\n"))
                self.assertTrue(reply.headers["Content-Type"].startswith("text/plain"))
        for reply in (self.rk("GET", "list-aws?project_id=9999"),
                      self.rk("POST", "put-aws", put_aws_body(project_id=9999, nested_project_id=9999))):
            self.assertEqual((reply.status, reply.text), (403, "Unauthorized the project resource for token access\n"))
            self.assertTrue(reply.headers["Content-Type"].startswith("text/plain"))
        self.assertEqual(self.state()["risken"]["aws"], [])

    def test_onboarding_moves_a_data_source_from_configured_through_in_progress_to_ok(self):
        aws = self.rk("POST", "put-aws/", put_aws_body()).json()["data"]["aws"]  # trailing slash as in the docs
        self.assertEqual({k: aws[k] for k in ("name", "project_id", "aws_account_id")},
                         {"name": "member", "project_id": PROJECT, "aws_account_id": ACCOUNT_ID})
        listed = self.rk("GET", f"list-aws?project_id={PROJECT}&aws_account_id={ACCOUNT_ID}").json()
        self.assertEqual(listed, {"data": {"aws": [aws]}})
        # The catalogue, unattached: zero-valued fields are omitted.
        catalogue = self.sources(aws["aws_id"])
        self.assertEqual({row["data_source"]: row["aws_data_source_id"] for row in catalogue}, CATALOGUE)
        self.assertEqual(set(catalogue[0]), {"aws_data_source_id", "data_source", "max_score"})
        attached = self.rk("POST", "attach-datasource", attach_body(aws["aws_id"], 71)).json()["data"]["data_source"]
        self.assertEqual((attached["status"], attached["external_id"]), (2, "0123456789abcdef"))
        self.assertEqual(self.guard_duty(aws["aws_id"])["status"], 2)
        self.rk("POST", "invoke-scan", {"project_id": PROJECT, "aws_id": aws["aws_id"], "aws_data_source_id": 71})
        in_progress = self.guard_duty(aws["aws_id"])
        self.assertEqual(in_progress["status"], 3)
        self.assertTrue(in_progress["status_detail"].startswith("Start scan at "))
        done = self.guard_duty(aws["aws_id"])
        self.assertEqual(done["status"], 1)
        self.assertIn("scan_at", done)
        self.assertNotIn("status_detail", done)

    def test_put_aws_upserts_on_project_and_account_id(self):
        first = self.rk("POST", "put-aws", put_aws_body(name="old")).json()["data"]["aws"]
        second = self.rk("POST", "put-aws", put_aws_body(name="new")).json()["data"]["aws"]
        self.assertEqual((second["aws_id"], second["name"]), (first["aws_id"], "new"))
        self.assertEqual(len(self.state()["risken"]["aws"]), 1)

    def test_validation_errors_are_400_with_the_validators_messages(self):
        self.assertBadRequest(self.rk("POST", "put-aws", put_aws_body(name="n" * 201)),
                              "name: the length must be no more than 200.")
        self.assertBadRequest(self.rk("POST", "put-aws", put_aws_body(account_id="12345")),
                              "aws_account_id: the length must be exactly 12.")
        self.assertBadRequest(self.rk("POST", "put-aws", put_aws_body(account_id="11112222333x")),
                              "aws_account_id: must contain digits only.")
        self.assertBadRequest(self.rk("POST", "put-aws", put_aws_body(nested_project_id=1002)),
                              "project_id: must be a valid value.")
        self.assertBadRequest(self.rk("POST", "put-aws", {"project_id": PROJECT}), "Required Aws")
        aws_id = self.put_aws()
        self.assertBadRequest(self.rk("POST", "attach-datasource", attach_body(aws_id, 71, external_id="short")),
                              "external_id: the length must be between 8 and 255.")
        self.assertBadRequest(self.rk("POST", "attach-datasource", attach_body(aws_id, 71, assume_role_arn="")),
                              "assume_role_arn: cannot be blank.")
        self.assertBadRequest(self.rk("POST", "attach-datasource", attach_body(aws_id, 71, assume_role_arn="a" * 256)),
                              "assume_role_arn: the length must be no more than 255.")
        self.assertBadRequest(self.rk("GET", "list-aws"), "project_id: cannot be blank.")
        self.assertBadRequest(self.rk("GET", f"list-datasource?project_id={PROJECT}"), "aws_id: cannot be blank.")
        self.assertEqual(self.state()["risken"]["data_sources"], [])

    def test_posts_need_a_json_content_type_and_the_documented_method(self):
        reply = self.rk("POST", "put-aws", raw=json.dumps(put_aws_body()).encode(),
                        headers={"Content-Type": "text/plain"})
        self.assertEqual((reply.status, reply.body), (415, b""))
        self.assertEqual(self.rk("GET", "put-aws").status, 405)
        self.assertEqual(self.rk("GET", "no-such-api").status, 404)

    def test_scanning_an_unattached_data_source_is_a_backend_error(self):
        aws_id = self.put_aws()
        reply = self.rk("POST", "invoke-scan", {"project_id": PROJECT, "aws_id": aws_id, "aws_data_source_id": 71})
        self.assertEqual(self.assertError(reply, 500), "rpc error: code = Unknown desc = record not found")

    def test_a_forced_error_ends_the_scan_in_error(self):
        aws_id = self.attach_and_scan()
        self.control("POST", "risken/datasource-error", {"aws_account_id": ACCOUNT_ID, "data_source": "aws:guard-duty",
                                                         "status_detail": "AccessDenied: guardduty:ListDetectors"})
        self.assertEqual(self.guard_duty(aws_id)["status"], 3)
        failed = self.guard_duty(aws_id)
        self.assertEqual((failed["status"], failed["status_detail"]), (4, "AccessDenied: guardduty:ListDetectors"))

    def test_a_forced_error_applies_at_once_to_an_idle_attachment(self):
        aws_id = self.put_aws()
        self.rk("POST", "attach-datasource", attach_body(aws_id, 72))
        self.control("POST", "risken/datasource-error", {"aws_account_id": ACCOUNT_ID,
                                                         "data_source": "aws:access-analyzer", "status_detail": "boom"})
        [row] = self.sources(aws_id, "aws:access-analyzer")
        self.assertEqual((row["status"], row["status_detail"]), (4, "boom"))

    def scan(self, aws_id: int, source_id: int = 71) -> None:
        body = {"project_id": PROJECT, "aws_id": aws_id, "aws_data_source_id": source_id}
        self.assertEqual(self.rk("POST", "invoke-scan", body).json(), {"data": {}})

    def test_attaching_marks_the_role_first_seen(self):
        aws_id = self.put_aws()
        self.rk("POST", "attach-datasource", attach_body(aws_id, 71))
        self.assertIn(ROLE, self.state()["sandbox"]["roles_first_seen"])

    def test_a_role_not_yet_assumable_ends_the_scan_in_error_with_the_access_denied_text(self):
        self.control("POST", "role-delay", {"seconds": 60})
        aws_id = self.put_aws()
        self.rk("POST", "attach-datasource", attach_body(aws_id, 71))
        self.scan(aws_id)
        self.assertEqual(self.guard_duty(aws_id)["status"], 3)
        failed = self.guard_duty(aws_id)
        self.assertEqual(failed["status"], 4)
        detail = failed["status_detail"]
        # The scanner's AWS SDK error, cut to 200 characters plus " ..." as RISKEN's scanners write it.
        self.assertEqual(len(detail), 204)
        self.assertTrue(detail.endswith(" ..."), detail)
        self.assertTrue(detail.startswith("failed to refresh cached credentials, operation error STS: AssumeRole, "
                                          "https response error StatusCode: 403, RequestID: "), detail)
        self.assertIn(", api error AccessDenied: User: arn:aws:sts:", detail)
        # Once the role can be assumed, a new scan succeeds.
        self.control("POST", "role-delay", {"seconds": 0})
        self.scan(aws_id)
        self.assertEqual(self.guard_duty(aws_id)["status"], 3)
        done = self.guard_duty(aws_id)
        self.assertEqual(done["status"], 1)
        self.assertNotIn("status_detail", done)

    def test_the_role_is_assumed_when_the_scan_completes(self):
        self.control("POST", "role-delay", {"seconds": 0.4})
        aws_id = self.put_aws()
        self.rk("POST", "attach-datasource", attach_body(aws_id, 71))  # first seen: the delay starts
        self.scan(aws_id)
        self.assertEqual(self.guard_duty(aws_id)["status"], 3)
        time.sleep(0.45)
        self.assertEqual(self.guard_duty(aws_id)["status"], 1)

    def test_the_role_delay_precedes_a_forced_error(self):
        self.control("POST", "role-delay", {"seconds": 60})
        aws_id = self.put_aws()
        self.rk("POST", "attach-datasource", attach_body(aws_id, 71))
        self.scan(aws_id)
        self.control("POST", "risken/datasource-error", {"aws_account_id": ACCOUNT_ID, "data_source": "aws:guard-duty",
                                                         "status_detail": "forced"})
        self.guard_duty(aws_id)
        self.assertIn("AccessDenied", self.guard_duty(aws_id)["status_detail"])

    def test_invoking_a_scan_already_in_progress_starts_it_again(self):
        aws_id = self.attach_and_scan()
        self.assertEqual(self.guard_duty(aws_id)["status"], 3)  # one read of the running scan
        self.scan(aws_id)
        restarted = self.guard_duty(aws_id)  # the count of reads starts again
        self.assertEqual(restarted["status"], 3)
        self.assertTrue(restarted["status_detail"].startswith("Start scan at "))
        self.assertEqual(self.guard_duty(aws_id)["status"], 1)

    def test_detach_and_delete_remove_the_account(self):
        aws_id = self.attach_and_scan()
        body = {"project_id": PROJECT, "aws_id": aws_id, "aws_data_source_id": 71}
        self.assertEqual(self.rk("POST", "detach-datasource", body).json(), {"data": {}})
        self.assertNotIn("status", self.guard_duty(aws_id))
        self.assertEqual(self.rk("POST", "delete-aws", {"project_id": PROJECT, "aws_id": aws_id}).json(), {"data": {}})
        self.assertEqual(self.rk("GET", f"list-aws?project_id={PROJECT}").json(), {"data": {}})

    def test_role_delay_ends_the_first_scan_in_error_and_a_rescan_after_it_ends_ok(self):
        self.control("POST", "role-delay", {"seconds": 1})
        aws_id = self.put_aws()
        self.rk("POST", "attach-datasource", attach_body(aws_id, 71))  # first seen: the delay starts
        self.scan(aws_id)
        self.assertEqual(self.guard_duty(aws_id)["status"], 3)
        failed = self.guard_duty(aws_id)
        self.assertEqual(failed["status"], 4)
        self.assertIn("api error AccessDenied", failed["status_detail"])
        self.assertEqual(self.guard_duty(aws_id)["status"], 4)  # an ended scan stays ended
        time.sleep(1.05)
        self.assertEqual(self.guard_duty(aws_id)["status"], 4)  # only a new scan recovers
        self.scan(aws_id)
        self.assertEqual(self.guard_duty(aws_id)["status"], 3)
        done = self.guard_duty(aws_id)
        self.assertEqual(done["status"], 1)
        self.assertNotIn("status_detail", done)

    def test_timing_control_makes_a_scan_take_several_reads_and_seconds(self):
        self.assertEqual(self.control("POST", "risken/timing", {"scan_polls": 3, "scan_seconds": 0.5}),
                         {"scan_polls": 3, "scan_seconds": 0.5})
        started = time.monotonic()
        aws_id = self.attach_and_scan()
        self.assertEqual([self.guard_duty(aws_id)["status"] for _ in range(3)], [3] * 3)
        while time.monotonic() - started < 0.4:  # read enough, not old enough
            self.assertEqual(self.guard_duty(aws_id)["status"], 3)
            time.sleep(0.05)
        time.sleep(0.15)
        self.assertEqual(self.guard_duty(aws_id)["status"], 1)
        self.assertEqual(self.control("POST", "risken/timing", {"scan_polls": 0}),
                         {"scan_polls": 0, "scan_seconds": 0.5})
        self.assertEqual(self.state()["risken"]["timing"], {"scan_polls": 0, "scan_seconds": 0.5})

    def test_timing_changes_apply_to_a_running_scan(self):
        self.control("POST", "risken/timing", {"scan_polls": 100})
        aws_id = self.attach_and_scan()
        self.assertEqual(self.guard_duty(aws_id)["status"], 3)
        self.control("POST", "risken/timing", {"scan_polls": 0})
        self.assertEqual(self.guard_duty(aws_id)["status"], 1)

    def test_reset_restores_the_seed_timing(self):
        self.control("POST", "risken/timing", {"scan_polls": 9, "scan_seconds": 60})
        self.control("POST", "reset")
        self.assertEqual(self.state()["risken"]["timing"], {"scan_polls": 1, "scan_seconds": 0})
        aws_id = self.attach_and_scan()
        self.assertEqual([self.guard_duty(aws_id)["status"] for _ in range(2)], [3, 1])

    def test_timing_control_refuses_invalid_values(self):
        for body in ({}, {"scan_polls": -1}, {"scan_polls": 2.5}, {"scan_polls": False}, {"scan_seconds": "5"},
                     {"scan_seconds": -1}, {"processing_polls": 1}, {"scan_polls": 1, "scan_seconds": None}):
            with self.subTest(body=body):
                self.assertError(self.call("POST", "/_sandbox/risken/timing", body), 400)
        self.assertEqual(self.state()["risken"]["timing"], {"scan_polls": 1, "scan_seconds": 0})


class RiskenTimingTest(SandboxCase):
    seed = {**SEED, "risken": {**SEED["risken"], "scan_polls": 0, "scan_seconds": 0.4}}

    def test_risken_scan_completes_by_time(self):
        aws_id = self.rk("POST", "put-aws", put_aws_body()).json()["data"]["aws"]["aws_id"]
        self.rk("POST", "attach-datasource", attach_body(aws_id, 71))
        self.rk("POST", "invoke-scan", {"project_id": PROJECT, "aws_id": aws_id, "aws_data_source_id": 71})
        path = f"list-datasource?project_id={PROJECT}&aws_id={aws_id}&data_source=aws:guard-duty"
        self.assertEqual(self.rk("GET", path).json()["data"]["data_source"][0]["status"], 3)
        time.sleep(0.45)
        self.assertEqual(self.rk("GET", path).json()["data"]["data_source"][0]["status"], 1)
