"""End-to-end: the real state machine (statemachine/vendorlink.asl.json) run
by local/run-event with the real function binaries, against the AWS emulator
(AWS_ENDPOINT_URL, started by local/with-moto) and the vendor sandboxes.

Every test gets its own management account, organization, member account,
secrets and vendor sandbox, so tests never see each other's state. The
assertions read the emulator (roles, policies, ledger, tags) and the
sandboxes' recorded requests, never the run's own word alone.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "local"))
import localstack  # noqa: E402  (the same seeding make demo uses)

VENDORS = ("datatheorem", "skyhigh", "cloudcraft", "risken", "stellarcyber")
ROLE_NAMES = {
    "datatheorem": "DataTheorem-Service",
    "skyhigh": "SkyhighSecurityAudit",
    "cloudcraft": "cloudcraft",
    "risken": "RISKEN",
    "stellarcyber": "StellarCyberConnector",
}


class Sandbox:
    """A private vendor sandbox for one test."""

    def __init__(self, seed: Path | None = None) -> None:
        self.dir = tempfile.TemporaryDirectory()
        ready = Path(self.dir.name) / "port"
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "local/sandbox/vendor_sandbox.py"), "--port", "0",
             "--ready-file", str(ready), "--exit-with-stdin", *(["--seed", str(seed)] if seed else [])],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not (ready.exists() and ready.read_text().strip()):
            if time.time() > deadline:
                raise RuntimeError("vendor sandbox did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{ready.read_text().strip()}"

    def stop(self) -> None:
        self.proc.stdin.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.dir.cleanup()

    def control(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}/_sandbox/{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as res:
            return json.load(res)

    def requests(self, vendor: str) -> list[dict]:
        return self.control("GET", f"requests?vendor={vendor}")["requests"]

    def count(self, vendor: str, method: str, path_part: str) -> int:
        return sum(1 for r in self.requests(vendor)
                   if r["method"] == method and path_part in r["path"] and not r["fault"])

    def state(self) -> dict:
        return self.control("GET", "state")


def fresh_management_account() -> tuple[dict[str, str], boto3.Session]:
    """A management account of its own (the emulator keeps state per account):
    the environment for the local stack's commands, and a boto3 session."""
    management = str(random.randint(10**11, 10**12 - 1))
    sts = boto3.client("sts", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{management}:role/e2e", RoleSessionName="e2e")["Credentials"]
    env = dict(os.environ)
    env.update(AWS_ACCESS_KEY_ID=creds["AccessKeyId"], AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
               AWS_SESSION_TOKEN=creds["SessionToken"], AWS_REGION="us-east-1",
               VENDORLINK_WAIT_SECONDS="0", LEDGER_TABLE="vendorlink-ledger")
    env.pop("NOTIFY_TOPIC_ARN", None)
    session = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"], region_name="us-east-1")
    return env, session


class RunEventTest(unittest.TestCase):
    """One organization with one new member account, and its vendor sandbox."""

    def setUp(self) -> None:
        realistic = self._testMethodName.startswith("test_first_run")
        self.sandbox = Sandbox(ROOT / "local/sandbox/realistic-seed.json" if realistic else None)
        self.addCleanup(self.sandbox.stop)
        self.work = tempfile.TemporaryDirectory()
        self.addCleanup(self.work.cleanup)
        self.env, self.session = fresh_management_account()
        event_path = Path(self.work.name) / "created.json"
        out = subprocess.run(
            [sys.executable, str(ROOT / "local/localstack.py"), "seed-demo",
             "--sandbox-url", self.sandbox.url, "--event-out", str(event_path)],
            env=self.env, capture_output=True, text=True, check=True)
        self.account = out.stdout.strip()
        self.created_event = json.loads(event_path.read_text())

    # -- helpers

    def client(self, service: str):
        return self.session.client(service, endpoint_url=os.environ["AWS_ENDPOINT_URL"])

    def write_event(self, name: str, event: dict) -> Path:
        path = Path(self.work.name) / name
        path.write_text(json.dumps(event))
        return path

    def run_event(self, event: dict, name: str = "event.json") -> tuple[int, dict, str]:
        path = self.write_event(name, event)
        proc = subprocess.run([str(ROOT / "local/run-event"), str(path)], env=self.env,
                              capture_output=True, text=True, timeout=600)
        try:
            output = json.loads(proc.stdout)
        except json.JSONDecodeError:
            self.fail(f"run-event printed no JSON (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr[-4000:]}")
        return proc.returncode, output, proc.stderr

    def outcomes(self, summary: dict) -> dict[str, str]:
        return {v["vendor"]: v["outcome"] for v in summary["vendors"]}

    def member_iam(self):
        creds = self.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{self.account}:role/OrganizationAccountAccessRole",
            RoleSessionName="inspect")["Credentials"]
        return boto3.client("iam", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1",
                            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"])

    def ledger(self) -> dict[str, dict]:
        items = self.client("dynamodb").query(
            TableName="vendorlink-ledger", KeyConditionExpression="account_id = :a",
            ExpressionAttributeValues={":a": {"S": self.account}}, ConsistentRead=True)["Items"]
        return {i["vendor"]["S"]: {k: list(v.values())[0] for k, v in i.items()} for i in items}

    def tags(self) -> dict[str, str]:
        tags = self.client("organizations").list_tags_for_resource(ResourceId=self.account)["Tags"]
        return {t["Key"]: t["Value"] for t in tags}

    def registrations(self) -> dict[str, int]:
        """How many times each vendor was asked to create something."""
        return {
            "datatheorem": self.sandbox.count("datatheorem", "POST", "cloud_authenticators"),
            "skyhigh": self.sandbox.count("skyhigh", "POST", "provisionAccounts")
                       + self.sandbox.count("skyhigh", "PUT", "addAccounts"),
            "cloudcraft": self.sandbox.count("cloudcraft", "POST", "/aws/account"),
            "risken": self.sandbox.count("risken", "POST", "put-aws"),
            "stellarcyber": self.sandbox.count("stellarcyber", "POST", "/connect/api/v1/connector"),
        }

    def assert_onboarded(self, code: int, summary: dict, stderr: str) -> None:
        self.assertEqual(code, 0, stderr[-4000:])
        self.assertEqual(summary["account_id"], self.account)
        self.assertEqual(summary["action"], "onboard")
        self.assertEqual(self.outcomes(summary), {v: "active" for v in VENDORS}, json.dumps(summary, indent=1))
        self.assertEqual(summary["failed"], 0)
        iam = self.member_iam()
        for vendor, role in ROLE_NAMES.items():
            doc = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
            if isinstance(doc, str):
                doc = json.loads(urllib.parse.unquote(doc))
            statement = doc["Statement"][0]
            principal = statement["Principal"]["AWS"]
            self.assertNotIn(self.account, principal, f"{vendor} role trusts its own account")
            if principal.endswith(":root"):
                # A whole account only ever with an external ID.
                self.assertRegex(principal, r"^arn:aws:iam::\d{12}:root$", vendor)
                self.assertIn("sts:ExternalId", statement.get("Condition", {}).get("StringEquals", {}), vendor)
            else:
                self.assertRegex(principal, r"^arn:aws:iam::\d{12}:(role|user)/[\w+=,.@/-]+$", vendor)
        self.assertEqual({v: e["state"] for v, e in self.ledger().items()}, {v: "active" for v in VENDORS})
        tags = self.tags()
        for vendor in VENDORS:
            self.assertEqual(tags.get(f"vendorlink:{vendor}"), "active")

    # -- scenarios

    def test_first_run_onboards_all_five_despite_propagation_delay_and_slow_vendors(self) -> None:
        # The sandboxes as the vendors' pages say the real ones can be: every
        # vendor that assumes the role refuses it for its first 3 s, Skyhigh
        # provisions over several reads, RISKEN's scans take seconds.
        # (setUp starts this test's sandbox with local/sandbox/realistic-seed.json.)
        # Waits of 1 s: shorter than the 3 s delay, so the refusals happen.
        self.env["VENDORLINK_WAIT_SECONDS"] = "1"
        code, summary, stderr = self.run_event(self.created_event)
        self.assert_onboarded(code, summary, stderr)
        # The vendors did refuse the new role at first, and nothing was registered twice.
        state = self.sandbox.state()
        refused = {
            "skyhigh": any(r["result"]["status"] == "FAILURE" for r in state["skyhigh"]["requests"]),
            "cloudcraft": any(r["method"] == "POST" and r["status"] == 400
                              for r in self.sandbox.requests("cloudcraft")),
        }
        self.assertEqual(refused, {"skyhigh": True, "cloudcraft": True}, refused)
        counts = self.sandbox.control("GET", "duplicates")["vendors"]
        self.assertEqual({v: c["registrations"] for v, c in counts.items()}, {v: 1 for v in VENDORS}, counts)

    def test_create_account_result_onboards_all_five_vendors(self) -> None:
        code, summary, stderr = self.run_event(self.created_event)
        self.assert_onboarded(code, summary, stderr)
        self.assertEqual(self.registrations(), {v: 1 for v in VENDORS})
        # RISKEN got every data source attached with the generated external ID.
        attaches = [r for r in self.sandbox.requests("risken") if "attach-datasource" in r["path"]]
        self.assertEqual(len(attaches), 5)
        secret = json.loads(self.client("secretsmanager").get_secret_value(
            SecretId="vendorlink/risken")["SecretString"])
        self.assertEqual({a["body"]["attach_data_source"]["external_id"] for a in attaches}, {secret["external_id"]})
        # No credential or external ID is in the execution's output.
        text = json.dumps(summary)
        self.assertNotIn(secret["external_id"], text)
        self.assertNotIn(secret["access_token"], text)

    def test_control_tower_event_onboards_all_five_vendors(self) -> None:
        event = json.loads((ROOT / "events/control-tower-create-managed-account.json").read_text())
        status = event["detail"]["serviceEventDetails"]["createManagedAccountStatus"]
        status["account"]["accountId"] = self.account
        code, summary, stderr = self.run_event(event)
        self.assert_onboarded(code, summary, stderr)
        self.assertEqual(summary["trigger"], "CreateManagedAccount")

    def test_a_duplicate_event_registers_nothing_twice(self) -> None:
        self.assert_onboarded(*self.run_event(self.created_event))
        code, summary, stderr = self.run_event(self.created_event, "again.json")
        self.assertEqual(code, 0, stderr[-4000:])
        self.assertEqual(self.outcomes(summary), {v: "active" for v in VENDORS})
        self.assertEqual(self.registrations(), {v: 1 for v in VENDORS})

    def test_two_concurrent_executions_register_nothing_twice(self) -> None:
        results: list[tuple[int, dict, str]] = []
        ct = json.loads((ROOT / "events/control-tower-create-managed-account.json").read_text())
        ct["detail"]["serviceEventDetails"]["createManagedAccountStatus"]["account"]["accountId"] = self.account

        def run(event: dict, name: str) -> None:
            results.append(self.run_event(event, name))

        threads = [threading.Thread(target=run, args=(self.created_event, "a.json")),
                   threading.Thread(target=run, args=(ct, "b.json"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(code for code, _, _ in results), [0, 0], [r[2][-2000:] for r in results])
        for vendor in VENDORS:
            outcomes = sorted(self.outcomes(summary)[vendor] for _, summary, _ in results)
            self.assertIn("active", outcomes, vendor)
        self.assertEqual(self.registrations(), {v: 1 for v in VENDORS})
        self.assertEqual({v: e["state"] for v, e in self.ledger().items()}, {v: "active" for v in VENDORS})

    def test_a_failed_creation_touches_nothing(self) -> None:
        event = json.loads((ROOT / "events/create-account-result-failed.json").read_text())
        code, summary, stderr = self.run_event(event)
        self.assertEqual(code, 0, stderr[-4000:])
        self.assertEqual(summary["action"], "skip")
        self.assertIn("EMAIL_ALREADY_EXISTS", summary["reason"])
        for vendor in VENDORS:
            self.assertEqual(self.sandbox.requests(vendor), [], vendor)
        self.assertEqual(self.ledger(), {})
        self.assertEqual(self.member_iam().list_roles()["Roles"][0]["RoleName"], "OrganizationAccountAccessRole")
        self.assertEqual(len(self.member_iam().list_roles()["Roles"]), 1)

    def test_an_unrelated_event_touches_nothing(self) -> None:
        event = dict(self.created_event, source="aws.ec2")
        code, summary, stderr = self.run_event(event)
        self.assertEqual(code, 0, stderr[-4000:])
        self.assertEqual(summary["action"], "skip")
        self.assertEqual(self.ledger(), {})

    def test_one_vendor_down_fails_the_run_and_names_it_while_the_others_finish(self) -> None:
        self.sandbox.control("POST", "faults", {"vendor": "cloudcraft", "status": 503, "count": 1000})
        code, summary, stderr = self.run_event(self.created_event)
        self.assertEqual(code, 1, stderr[-4000:])
        outcomes = self.outcomes(summary)
        self.assertEqual(outcomes.pop("cloudcraft"), "failed")
        self.assertEqual(outcomes, {v: "active" for v in VENDORS if v != "cloudcraft"})
        failed = next(v for v in summary["vendors"] if v["vendor"] == "cloudcraft")
        self.assertEqual(failed["error"], "Retryable.Unavailable")
        self.assertIn("cloudcraft", failed["detail"])
        self.assertIn(self.account, failed["detail"])
        self.assertEqual(summary["failed"], 1)
        ledger = self.ledger()
        self.assertEqual(ledger["cloudcraft"]["state"], "failed")
        self.assertIn("HTTP 503", ledger["cloudcraft"]["last_error"])
        self.assertEqual(self.tags()["vendorlink:cloudcraft"], "failed")

    def test_redriving_one_failed_vendor_finishes_it_and_leaves_the_others(self) -> None:
        self.sandbox.control("POST", "faults", {"vendor": "cloudcraft", "status": 503, "count": 1000})
        code, summary, _ = self.run_event(self.created_event)
        self.assertEqual((code, self.outcomes(summary)["cloudcraft"]), (1, "failed"))
        before = self.registrations()
        self.sandbox.control("DELETE", "faults")
        # What `vendorlink redrive --account A --vendor cloudcraft` starts.
        code, summary, stderr = self.run_event(
            {"accountId": self.account, "action": "onboard", "vendors": ["cloudcraft"]}, "redrive.json")
        self.assertEqual(code, 0, stderr[-4000:])
        self.assertEqual(self.outcomes(summary), {"cloudcraft": "active"})
        after = self.registrations()
        self.assertEqual(after["cloudcraft"], 1)
        self.assertEqual({v: n for v, n in after.items() if v != "cloudcraft"},
                         {v: n for v, n in before.items() if v != "cloudcraft"})
        ledger = self.ledger()
        self.assertEqual(ledger["cloudcraft"]["state"], "active")
        self.assertEqual(ledger["cloudcraft"]["attempts"], "2")
        self.assertEqual(self.tags()["vendorlink:cloudcraft"], "active")

    def test_throttling_is_waited_out(self) -> None:
        # More 429s than one call's own retries absorb: the state machine's
        # Retry on Retryable.Throttled has to wait them out.
        self.sandbox.control("POST", "faults", {"vendor": "cloudcraft", "status": 429, "retry_after": 1,
                                                "count": 4, "path_contains": "/aws/account"})
        code, summary, stderr = self.run_event(self.created_event)
        self.assert_onboarded(code, summary, stderr)
        throttled = [r for r in self.sandbox.requests("cloudcraft") if r["status"] == 429]
        self.assertEqual(len(throttled), 4)
        self.assertEqual(self.registrations()["cloudcraft"], 1)

    def test_closing_the_account_offboards_it(self) -> None:
        self.assert_onboarded(*self.run_event(self.created_event))
        close = json.loads((ROOT / "events/close-account.json").read_text())
        close["detail"]["requestParameters"]["accountId"] = self.account
        code, summary, stderr = self.run_event(close, "close.json")
        self.assertEqual(code, 0, stderr[-4000:])
        self.assertEqual(summary["action"], "offboard")
        expected = {v: "offboarded" for v in VENDORS}
        expected["datatheorem"] = "manual_step_required"
        self.assertEqual(self.outcomes(summary), expected, json.dumps(summary, indent=1))
        dt = next(v for v in summary["vendors"] if v["vendor"] == "datatheorem")
        self.assertIn("no public API", dt["detail"])
        roles = {r["RoleName"] for r in self.member_iam().list_roles()["Roles"]}
        self.assertEqual(roles & set(ROLE_NAMES.values()), set())
        self.assertEqual({v: e["state"] for v, e in self.ledger().items()}, {v: "offboarded" for v in VENDORS})
        state = self.sandbox.state()
        self.assertEqual(state["cloudcraft"]["accounts"], [])
        self.assertEqual(self.sandbox.count("risken", "POST", "delete-aws"), 1)
        self.assertEqual(self.sandbox.count("stellarcyber", "DELETE", "/connector/"), 1)
        self.assertEqual(self.sandbox.count("skyhigh", "DELETE", "deleteAccounts"), 1)


if __name__ == "__main__":
    unittest.main()
