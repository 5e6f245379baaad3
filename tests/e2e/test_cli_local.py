"""End-to-end: the `vendorlink` CLI against the whole local stack.

The CLI talks to the AWS emulator (AWS_ENDPOINT_URL, from local/with-moto)
for Organizations and the ledger, and to the local Step Functions endpoint
(AWS_ENDPOINT_URL_SFN, from `local/with-functions --sfn`) to start
executions, which run the real state machine on the real function binaries
against the vendor sandboxes. So `backfill`, `redrive` and `offboard` really
onboard and offboard here, and the assertions read the emulator and the
sandboxes, not the CLI's own word.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_run_event import ROLE_NAMES, VENDORS, Sandbox, fresh_management_account  # noqa: E402

CLI = ROOT / "target" / "debug" / "vendorlink"


class CliOnLocalStackTest(unittest.TestCase):
    """An organization of three existing accounts, its sandbox and its local stack."""

    @classmethod
    def setUpClass(cls) -> None:
        subprocess.run(["cargo", "build", "--quiet", "-p", "vendorlink-cli"], cwd=ROOT, check=True)

    def setUp(self) -> None:
        self.sandbox = Sandbox()
        self.addCleanup(self.sandbox.stop)
        self.work = tempfile.TemporaryDirectory()
        self.addCleanup(self.work.cleanup)
        self.env, self.session = fresh_management_account()
        out = subprocess.run(
            [sys.executable, str(ROOT / "local/localstack.py"), "seed-org", "--sandbox-url", self.sandbox.url,
             "--accounts", "3"],
            env=self.env, capture_output=True, text=True, check=True)
        self.accounts = out.stdout.split()
        self.assertEqual(len(self.accounts), 3)
        self.start_stack()

    def start_stack(self) -> None:
        """`local/with-functions --sfn` around a command that hands over its variables and waits."""
        ready = Path(self.work.name) / "stack.env"
        self.stack_log = open(Path(self.work.name) / "stack.log", "w")  # noqa: SIM115 (closed in cleanup)
        self.stack = subprocess.Popen(
            [str(ROOT / "local/with-functions"), "--sfn", "sh", "-c",
             f'env | grep -E "^(AWS_ENDPOINT_URL_SFN|AWS_ENDPOINT_URL_LAMBDA|VENDORLINK_RECONCILE_FUNCTION|VENDORLINK_STATE_MACHINE_ARN|VENDORLINK_BACKFILL_STATE_MACHINE_ARN|VENDORLINK_LEDGER_TABLE|NOTIFY_TOPIC_ARN|VENDORS)=" > "{ready}.tmp"'
             f' && mv "{ready}.tmp" "{ready}" && exec sleep 3600'],
            env=self.env, stdout=subprocess.DEVNULL, stderr=self.stack_log)
        self.addCleanup(self.stop_stack)
        deadline = time.time() + 600  # a cold build of the functions
        while not ready.exists():
            if self.stack.poll() is not None or time.time() > deadline:
                self.fail(f"the local stack did not start:\n{Path(self.stack_log.name).read_text()[-4000:]}")
            time.sleep(0.2)
        for line in ready.read_text().splitlines():
            key, _, value = line.partition("=")
            self.env[key] = value

    def stop_stack(self) -> None:
        self.stack.send_signal(signal.SIGTERM)
        self.stack.wait(timeout=30)
        self.stack_log.close()

    # -- helpers

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(CLI), "--format", "json", *args], env=self.env, capture_output=True,
                              text=True, timeout=300)
        if check:
            self.assertEqual(proc.returncode, 0, f"vendorlink {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def sfn(self):
        return self.session.client("stepfunctions", endpoint_url=self.env["AWS_ENDPOINT_URL_SFN"])

    def wait_for(self, execution_arns: list[str]) -> dict[str, dict]:
        """Each execution's final description (through boto3: the endpoint speaks the real protocol)."""
        sfn, done, deadline = self.sfn(), {}, time.time() + 300
        while len(done) < len(execution_arns):
            self.assertLess(time.time(), deadline, "executions still running after 300 s")
            for arn in execution_arns:
                if arn not in done:
                    d = sfn.describe_execution(executionArn=arn)
                    if d["status"] != "RUNNING":
                        done[arn] = d
            time.sleep(0.5)
        return done

    def backfill(self, *args: str) -> dict:
        """`vendorlink backfill` run to its end in the backfill state machine;
        exit status 2 when an onboarding failed."""
        proc = self.cli("backfill", *args, check=False)
        self.assertIn(proc.returncode, (0, 2), f"vendorlink backfill:\n{proc.stdout}\n{proc.stderr}")
        out = json.loads(proc.stdout)
        self.assertEqual(proc.returncode, 2 if out["progress"]["failed"] else 0)
        return out

    def onboardings(self) -> list[dict]:
        """Every vendorlink execution, described."""
        sfn = self.sfn()
        listed = sfn.list_executions(stateMachineArn=self.env["VENDORLINK_STATE_MACHINE_ARN"])["executions"]
        return [sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]

    def states(self) -> dict[tuple[str, str], str]:
        return {(e["account"], e["vendor"]): e["state"] for e in json.loads(self.cli("status").stdout)}

    def member_roles(self, account: str) -> set[str]:
        creds = self.session.client("sts", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
            RoleSessionName="inspect")["Credentials"]
        iam = boto3.client("iam", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1",
                           aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                           aws_session_token=creds["SessionToken"])
        return {r["RoleName"] for r in iam.list_roles()["Roles"]} & set(ROLE_NAMES.values())

    # -- the scenario

    def test_backfill_redrive_reconcile_and_offboard_on_the_local_stack(self) -> None:
        a, b, c = self.accounts
        # Before anything: every vendor's secret and credentials work.
        doctor = json.loads(self.cli("doctor").stdout)
        self.assertEqual({d["vendor"]: d["ok"] for d in doctor}, {v: True for v in VENDORS}, doctor)
        # RISKEN is down for the first backfill: every account's RISKEN fails.
        self.sandbox.control("POST", "faults", {"vendor": "risken", "status": 503, "count": 100000})
        proc = self.cli("doctor", check=False)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual([d["vendor"] for d in json.loads(proc.stdout) if not d["ok"]], ["risken"])
        # What the two doctor runs asked Cloudcraft and Skyhigh: not the backfill's.
        doctor_calls = {
            "cc-trust": self.sandbox.count("cloudcraft", "GET", "iamParameters"),
            "cc-get": self.sandbox.count("cloudcraft", "GET", "/aws/account"),
            "sky-trust": self.sandbox.count("skyhigh", "GET", "trustDetails"),
        }
        out = self.backfill("--per-minute", "0")
        self.assertEqual((out["progress"]["failed"], out["progress"]["succeeded"], out["progress"]["batches"]),
                         (3, 0, 1), out)
        ended = self.onboardings()
        self.assertEqual(sorted(d["status"] for d in ended), ["FAILED"] * 3)
        for d in ended:
            summary = json.loads(d["cause"])
            self.assertEqual([v["vendor"] for v in summary["vendors"] if v["outcome"] == "failed"], ["risken"])
        states = self.states()
        for account in self.accounts:
            for vendor in VENDORS:
                self.assertEqual(states[(account, vendor)], "failed" if vendor == "risken" else "active")
        # The trust a vendor asks for is read once per warm process, not once per account.
        cc_trust = self.sandbox.count("cloudcraft", "GET", "iamParameters") - doctor_calls["cc-trust"]
        self.assertEqual(cc_trust, 1)
        self.assertEqual(self.sandbox.count("skyhigh", "GET", "trustDetails") - doctor_calls["sky-trust"], 1)
        # Cloudcraft's listing is read once for the batch; each account is one POST.
        listings = self.sandbox.count("cloudcraft", "GET", "/aws/account") - doctor_calls["cc-get"] - cc_trust
        self.assertEqual((listings, self.sandbox.count("cloudcraft", "POST", "/aws/account")), (1, 3))

        # RISKEN is back. Redrive one account's RISKEN...
        self.sandbox.control("DELETE", "faults")
        proc = self.cli("redrive", "--account", a, "--vendor", "risken")
        redriven = json.loads(proc.stdout)["execution_arn"]
        self.assertEqual(self.wait_for([redriven])[redriven]["status"], "SUCCEEDED")
        self.assertEqual(self.states()[(a, "risken")], "active")

        # ...and the backfill plan now holds only the other two, for RISKEN alone.
        plan = json.loads(self.cli("backfill", "--dry-run").stdout)
        self.assertEqual({p["account_id"]: p["vendors"] for p in plan}, {b: ["risken"], c: ["risken"]})
        self.assertEqual({p["account_id"]: p["retrying"] for p in plan}, {b: ["risken"], c: ["risken"]})
        out = self.backfill("--per-minute", "0")
        self.assertEqual((out["progress"]["succeeded"], out["progress"]["failed"]), (2, 0), out)
        # The first backfill's three, the redrive, and these two.
        self.assertEqual(sorted(d["status"] for d in self.onboardings()), ["FAILED"] * 3 + ["SUCCEEDED"] * 3)
        self.assertEqual(set(self.states().values()), {"active"})
        self.assertEqual(len(self.states()), 15)
        # Nothing is left to do, and nothing was registered twice.
        self.assertEqual(json.loads(self.cli("backfill", "--dry-run").stdout), [])
        self.assertEqual(self.sandbox.count("cloudcraft", "POST", "/aws/account"), 3)
        self.assertEqual(self.sandbox.count("risken", "POST", "put-aws"), 3)

        # Reconcile finds nothing wrong.
        both = json.loads(self.cli("reconcile").stdout)
        self.assertEqual(both["heal"], [], json.dumps(both["heal"], indent=1))
        report = both["drift"]
        self.assertEqual(len(report), 15, json.dumps(report, indent=1))
        for r in report:
            self.assertEqual((r["role"], r["error"]), ([], None), r)
            # Data Theorem has no lookup API.
            self.assertEqual(r["registered"], None if r["vendor"] == "datatheorem" else True, r)

        # Offboarding while Stellar Cyber is down: the others are removed;
        # Stellar Cyber's claim is released as failed and `status` shows why.
        self.sandbox.control("POST", "faults", {"vendor": "stellarcyber", "status": 503, "count": 100000})
        # --wait follows it to its end: exit status 2, each vendor's outcome.
        proc = self.cli("offboard", "--yes", "--wait", "--account", b, check=False)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        waited = json.loads(proc.stdout)
        self.assertEqual(waited["status"], "FAILED")
        outcomes = {v["vendor"]: v["outcome"] for v in waited["result"]["vendors"]}
        self.assertEqual(outcomes["stellarcyber"], "failed", waited)
        self.assertEqual(set(outcomes), set(VENDORS), waited)
        entries = {e["vendor"]: e for e in json.loads(self.cli("status", "--account", b).stdout)}
        self.assertEqual(entries["stellarcyber"]["state"], "failed")
        self.assertRegex(entries["stellarcyber"]["last_error"], r"^offboarding failed: Retryable\.Unavailable")
        self.assertEqual(entries["cloudcraft"]["state"], "offboarded")
        self.sandbox.control("DELETE", "faults")
        # Reconcile leaves an unfinished offboarding alone, even with --repair.
        connectors = self.sandbox.count("stellarcyber", "POST", "/connect/api/v1/connector")
        proc = self.cli("reconcile", "--repair", "--account", b, check=False)
        # Exit status 2: something found that needs a person (0 all clear, 1 an error).
        self.assertEqual(proc.returncode, 2, proc.stderr)
        report = json.loads(proc.stdout)["drift"]
        (stellar,) = [r for r in report if r["vendor"] == "stellarcyber"]
        self.assertIn("offboarding of this account did not finish", stellar["error"])
        self.assertFalse(stellar["repaired"])
        self.assertEqual(self.sandbox.count("stellarcyber", "POST", "/connect/api/v1/connector"), connectors)

        # Offboard it again: gone from every vendor, roles deleted, ledger says so.
        proc = self.cli("offboard", "--yes", "--account", b)
        offboarding = json.loads(proc.stdout)["execution_arn"]
        final = self.wait_for([offboarding])[offboarding]
        self.assertEqual(final["status"], "SUCCEEDED", final.get("cause"))
        states = self.states()
        self.assertEqual({v: states[(b, v)] for v in VENDORS}, {v: "offboarded" for v in VENDORS})
        self.assertEqual({v: states[(a, v)] for v in VENDORS}, {v: "active" for v in VENDORS})
        self.assertEqual(self.member_roles(b), set())
        self.assertEqual(len(self.member_roles(a)), 5)
        self.assertEqual(len(self.sandbox.state()["cloudcraft"]["accounts"]), 2)


if __name__ == "__main__":
    unittest.main()
