"""The chaos benchmark's driver and report (run by local/bench-chaos inside
the local stack): starts the onboardings, the duplicate storm and the heal
pass, then reads the outcome from the ledger (the CLI), the duplicates and
fault counts from the sandbox's own state, and scans every output for the
vendors' credentials."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "target" / "debug" / "vendorlink"
STORM_ACCOUNTS = 5
STORM_COPIES = 3


def sandbox(url: str, method: str, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{url}/_sandbox/{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.load(res)


def cli(*args: str) -> str:
    proc = subprocess.run([str(CLI), "--format", "json", *args], capture_output=True, text=True, timeout=1800)
    # Exit status 2: the command worked and found something (reconcile --heal
    # that healed); 1 is a failure.
    if proc.returncode not in (0, 2):
        sys.exit(f"bench-chaos: vendorlink {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout


def sfn():
    return boto3.client("stepfunctions", endpoint_url=os.environ["AWS_ENDPOINT_URL_SFN"],
                        region_name=os.environ.get("AWS_REGION", "us-east-1"))


def start_all(accounts: list[str], prefix: str) -> list[str]:
    machine = os.environ["VENDORLINK_STATE_MACHINE_ARN"]
    client = sfn()

    def start(account: str) -> str:
        name = f"{prefix}-{account}-{uuid.uuid4().hex[:8]}"
        return client.start_execution(stateMachineArn=machine, name=name,
                                      input=json.dumps({"accountId": account}))["executionArn"]

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(start, accounts))


def running() -> int:
    url = os.environ["AWS_ENDPOINT_URL_SFN"].rstrip("/") + "/_local/executions"
    with urllib.request.urlopen(url, timeout=30) as res:
        return int(json.load(res).get("running", 0))


def wait_idle(timeout: float = 3600) -> None:
    """Until the local endpoint runs no execution."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if running() == 0:
            return
        time.sleep(2)
    sys.exit("bench-chaos: executions still running after an hour")


def start_paced(accounts: list[str], prefix: str, max_running: int, storm: list[str]) -> tuple[list[str], list[str]]:
    """Starts one execution per account, never more than `max_running` at
    once (accounts are created over time, and the local function host is two
    cores); right after the first accounts have started, their duplicate
    copies are started all at once, whatever is running."""
    machine = os.environ["VENDORLINK_STATE_MACHINE_ARN"]
    client = sfn()
    arns: list[str] = []
    storm_arns: list[str] = []
    for i, account in enumerate(accounts):
        while running() >= max_running:
            time.sleep(0.5)
        name = f"{prefix}-{account}-{uuid.uuid4().hex[:8]}"
        arns.append(client.start_execution(stateMachineArn=machine, name=name,
                                           input=json.dumps({"accountId": account}))["executionArn"])
        if i + 1 == len(storm):
            storm_arns = start_all([a for a in storm for _ in range(STORM_COPIES)], "storm")
    return arns, storm_arns


def outcomes(accounts: list[str]) -> tuple[dict[str, str], list[dict]]:
    """Per account: `active` (every vendor active), `unverified` (the rest
    active, Data Theorem unverified with its instruction), else `failed`."""
    entries = json.loads(cli("status"))
    by_account: dict[str, dict[str, dict]] = {}
    for e in entries:
        by_account.setdefault(e["account"], {})[e["vendor"]] = e
    result = {}
    vendors = os.environ.get("VENDORS", "datatheorem,skyhigh,cloudcraft,risken,stellarcyber").split(",")
    for account in accounts:
        states = {v: by_account.get(account, {}).get(v, {}).get("state") for v in vendors}
        unverified = [v for v, s in states.items() if s == "unverified"]
        if all(s == "active" for s in states.values()):
            result[account] = "active"
        elif all(s in ("active", "unverified") for s in states.values()) and unverified == ["datatheorem"] \
                and "resolve-unverified" in (by_account[account]["datatheorem"].get("last_error") or ""):
            result[account] = "unverified"
        else:
            result[account] = "failed: " + ", ".join(f"{v}={s}" for v, s in states.items() if s != "active")
    return result, entries


def credentials() -> list[str]:
    """Every credential the sandbox's default seed gives the vendors, plus the external IDs."""
    sys.path.insert(0, str(ROOT / "local" / "sandbox"))
    from vendor_sandbox import DEFAULT_SEED  # noqa: E402
    found = []
    for section in DEFAULT_SEED.values():
        if isinstance(section, dict):
            for key in ("api_key", "password", "access_token", "external_id"):
                if isinstance(section.get(key), str):
                    found.append(section[key])
    return found


def main() -> int:
    p = argparse.ArgumentParser()
    for flag in ("--accounts", "--sandbox", "--work", "--out"):
        p.add_argument(flag, required=True)
    p.add_argument("--rate", type=float, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--role-delay", type=float, default=0)
    p.add_argument("--max-running", type=int, default=20)
    args = p.parse_args()
    accounts = Path(args.accounts).read_text().split()
    work = Path(args.work)

    if args.role_delay:
        sandbox(args.sandbox, "POST", "role-delay", {"seconds": args.role_delay})
    if args.rate > 0:
        sandbox(args.sandbox, "POST", "chaos", {"rate": args.rate, "seed": args.seed, "lost_share": 1 / 3})
    t0 = time.time()
    arns, storm = start_paced(accounts, "chaos", args.max_running, accounts[:STORM_ACCOUNTS])
    wait_idle()
    first_seconds = time.time() - t0
    first, _ = outcomes(accounts)
    sandbox(args.sandbox, "DELETE", "chaos")
    chaos = sandbox(args.sandbox, "GET", "chaos")
    # Counted from the request log, so a run without faults counts too.
    first_requests: dict[str, int] = {}
    for request in sandbox(args.sandbox, "GET", "requests")["requests"]:
        first_requests[request["vendor"]] = first_requests.get(request["vendor"], 0) + 1

    t1 = time.time()
    heal_out = cli("reconcile", "--heal")
    (work / "heal.json").write_text(heal_out)
    time.sleep(1)
    wait_idle()
    heal_seconds = time.time() - t1
    healed, entries = outcomes(accounts)
    duplicates = sandbox(args.sandbox, "GET", "duplicates")["vendors"]

    # Every output a person or a machine sees: execution outputs and causes,
    # the ledger, the heal report, the functions' and endpoint's logs.
    client = sfn()
    texts = [json.dumps(entries), heal_out]
    for arn in arns + storm:
        d = client.describe_execution(executionArn=arn)
        texts += [d.get("output") or "", d.get("cause") or "", d.get("error") or ""]
    stack_log = work / "stack.log"
    if stack_log.exists():
        texts.append(stack_log.read_text(errors="replace"))
    leaked = sorted({c for c in credentials() for t in texts if c in t})

    def share(results: dict[str, str], kinds: tuple[str, ...]) -> str:
        ok = sum(1 for r in results.values() if r in kinds)
        return f"{ok}/{len(results)} ({100 * ok / len(results):.0f}%)"

    out = [
        f"chaos benchmark: {len(accounts)} accounts x 5 vendors, fault rate {args.rate:.0%}"
        f"{' (a third answers lost after the vendor acted)' if args.rate else ''}, seed {args.seed}, role delay {args.role_delay:g} s, "
        f"duplicate storm: {min(STORM_ACCOUNTS, len(accounts))} accounts x {STORM_COPIES} more executions at once, "
        f"at most {args.max_running} first-run executions at once, "
        f"Wait states {os.environ.get('VENDORLINK_WAIT_SECONDS', 'as defined')} s, "
        f"Retry pauses {os.environ.get('VENDORLINK_RETRY_SECONDS') or os.environ.get('VENDORLINK_WAIT_SECONDS', 'definition')}"
        f"{'' if os.environ.get('VENDORLINK_RETRY_SECONDS') == 'definition' else ' s'}",
        f"  first run ({first_seconds:.0f} s): every vendor active {share(first, ('active',))}; "
        f"active or Data Theorem unverified with its instruction {share(first, ('active', 'unverified'))}",
        f"  after one heal pass with the faults off ({heal_seconds:.0f} s): "
        f"{share(healed, ('active', 'unverified'))} (every vendor active {share(healed, ('active',))})",
    ]
    missed: dict[str, int] = {}
    for result in first.values():
        if result.startswith("failed: "):
            for part in result[len("failed: "):].split(", "):
                missed[part] = missed.get(part, 0) + 1
    if missed:
        out.insert(2, "    first-run misses (vendor=state: accounts): " + ", ".join(
            f"{k}: {v}" for k, v in sorted(missed.items(), key=lambda kv: -kv[1])))
    failed = {a: r for a, r in healed.items() if r not in ("active", "unverified")}
    for account, result in sorted(failed.items())[:10]:
        out.append(f"    not healed: {account} {result}")
    out.append("  duplicate registrations (sandbox state): " + ", ".join(
        f"{v} {sum(c - 1 for c in d['duplicates'].values())}" for v, d in duplicates.items()))
    out.append("  requests and faults during the first run, per vendor:")
    for vendor in chaos["requests"]:
        requests = first_requests.get(vendor, 0)
        faults = chaos["faults"].get(vendor, {})
        lost = sum(c for k, c in faults.items() if k.startswith("lost_"))
        out.append(f"    {vendor:13} {requests:6} requests, {sum(faults.values()):5} faults ({lost} answers lost after acting)")
    out.append(f"  credentials in any output: {', '.join(leaked) if leaked else 'none'}")
    text = "\n".join(out) + "\n"
    print(text, end="")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)

    dup_total = sum(sum(c - 1 for c in d["duplicates"].values()) for d in duplicates.values())
    if dup_total or failed or leaked:
        print(f"bench-chaos: targets missed: {dup_total} duplicates, {len(failed)} accounts not healed, "
              f"{len(leaked)} credentials leaked", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
