#!/usr/bin/env python3
"""Figures for local/bench-backfill, read from the local stack itself.

  progress SFN_URL STARTED_AT   one line: executions started, running, ended
  idle SFN_URL                  exit 0 when no execution is running, else 1
  report ...                    the benchmark's report (see --help)

Execution counts come from the local Step Functions endpoint
(GET /_local/executions); vendor request figures from the vendor sandbox's
own request log (GET /_sandbox/requests): what each vendor's API saw.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
from collections import Counter, defaultdict
from typing import Any

VENDORS = ("datatheorem", "skyhigh", "cloudcraft", "risken", "stellarcyber")
LIMITS = {"cloudcraft": "20/min"}
# The sandbox's Cloudcraft limit, when a benchmark raised it (BENCH_CLOUDCRAFT_PER_MINUTE).
if os.environ.get("BENCH_CLOUDCRAFT_PER_MINUTE"):
    LIMITS["cloudcraft"] = f"{os.environ['BENCH_CLOUDCRAFT_PER_MINUTE']}/min (sandbox; documented 20/min)"


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (loopback only, from our own scripts)
        return json.load(response)


def executions(sfn_url: str) -> dict[str, int]:
    return get(f"{sfn_url.rstrip('/')}/_local/executions")


def busiest_minute(stamps: list[float]) -> int:
    """Most requests in any 60-second window (sliding, as the sandbox's limiter counts)."""
    stamps = sorted(stamps)
    best, lo = 0, 0
    for hi, at in enumerate(stamps):
        while at - stamps[lo] >= 60:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min ({seconds:.0f} s)"


def cmd_progress(args: argparse.Namespace) -> int:
    c = executions(args.sfn_url)
    ended = c["succeeded"] + c["failed"] + c["timedOut"] + c["aborted"]
    print(
        f"{time.time() - args.started_at:.0f} s: {c['total']} executions started, "
        f"{c['running']} running, {ended} ended ({c['succeeded']} succeeded, {c['failed']} failed)"
    )
    return 0


def cmd_idle(args: argparse.Namespace) -> int:
    return 0 if executions(args.sfn_url)["running"] == 0 else 1


def cmd_report(args: argparse.Namespace) -> int:
    with open(args.started, encoding="utf-8") as f:
        started = json.load(f)
    with open(args.status, encoding="utf-8") as f:
        ledger = json.load(f)
    with open(args.replan, encoding="utf-8") as f:
        replan = json.load(f)
    with open(args.reconcile, encoding="utf-8") as f:
        reconciled = json.load(f)["drift"]
    counts = executions(args.sfn)
    requests = get(f"{args.sandbox.rstrip('/')}/_sandbox/requests")["requests"]
    window = [r for r in requests if args.started_at <= r["timestamp"] <= args.finished_at]

    progress = started.get("progress", {})
    states: dict[str, Counter[str]] = defaultdict(Counter)
    for entry in ledger:
        states[entry["vendor"]][entry["state"]] += 1

    run_s = args.finished_at - args.started_at
    starts_s = args.starts_done_at - args.started_at
    out = []
    vendors = sorted({entry["vendor"] for entry in ledger})
    out.append(f"backfill of {args.accounts} existing accounts with {len(vendors)} vendors "
               f"({', '.join(vendors)}), on the local stack")
    out.append(f"  pacing: {args.per_minute} starts a minute (--per-minute; 'default' = the planner's own)")
    out.append(f"  backfill state machine: {progress.get('batches', '?')} batches; onboardings "
               f"{progress.get('succeeded', '?')} succeeded, {progress.get('failed', '?')} failed, "
               f"{progress.get('already_started', '?')} started by an earlier backfill")
    out.append(f"  vendorlink executions: {counts['total']} in all; {counts['succeeded']} succeeded, "
               f"{counts['failed']} failed, {counts['timedOut']} timed out, {counts['aborted']} aborted")
    out.append(f"  wall time: the backfill {minutes(starts_s)}; until the last execution ended {minutes(run_s)}")
    out.append(f"  throughput: {args.accounts / run_s * 60:.1f} accounts a minute")
    cloudcraft = [r for r in window if r["vendor"] == "cloudcraft"]
    if cloudcraft:
        per_account = len(cloudcraft) / args.accounts
        limit = int(os.environ.get("BENCH_CLOUDCRAFT_PER_MINUTE") or 20)
        bound = limit / per_account
        out.append(f"  Cloudcraft bound: {limit} requests a minute / {per_account:.2f} requests an account = "
                   f"{bound:.1f} accounts a minute; reached {args.accounts / run_s * 60 / bound:.0%} of it")
    out.append("  ledger: " + "; ".join(
        f"{v} " + ", ".join(f"{n} {s}" for s, n in sorted(states[v].items())) for v in VENDORS if states[v]))
    out.append(f"  re-run of the plan: {len(replan)} accounts need work ({args.replan_seconds:.1f} s)")
    drifted = sum(bool(r["role"]) or r["registered"] is False for r in reconciled)
    unchecked = sum(r["error"] is not None for r in reconciled)
    out.append(f"  reconcile: {len(reconciled)} registrations checked in {args.reconcile_seconds:.1f} s "
               f"({len(reconciled) / args.reconcile_seconds:.1f} a second), {drifted} drifted, "
               f"{unchecked} could not be checked")
    out.append("")
    out.append("requests each vendor's API saw during the run (from the sandbox's request log):")
    out.append(f"  {'vendor':<13} {'requests':>8} {'per account':>11} {'mean/min':>9} {'busiest 60 s':>12} "
               f"{'429s':>5} {'other errors':>12}  limit")
    for vendor in VENDORS:
        seen = [r for r in window if r["vendor"] == vendor]
        if not seen:
            continue
        throttled = sum(r["status"] == 429 for r in seen)
        errors = sum(r["status"] >= 400 and r["status"] != 429 for r in seen)
        out.append(
            f"  {vendor:<13} {len(seen):>8} {len(seen) / args.accounts:>11.2f} {len(seen) / run_s * 60:>9.1f} "
            f"{busiest_minute([r['timestamp'] for r in seen]):>12} {throttled:>5} {errors:>12}  "
            f"{LIMITS.get(vendor, 'none documented')}"
        )
    by_path: dict[str, Counter[str]] = defaultdict(Counter)
    for r in window:
        by_path[r["vendor"]][f"{r['method']} {r['path']}"] += 1
    cc = by_path.get("cloudcraft")
    if cc:
        out.append("  cloudcraft by call: " + ", ".join(f"{p} {n}" for p, n in cc.most_common()))
    print("\n".join(out))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_report.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("progress")
    p.add_argument("sfn_url")
    p.add_argument("started_at", type=float)
    p.set_defaults(run=cmd_progress)
    p = sub.add_parser("idle")
    p.add_argument("sfn_url")
    p.set_defaults(run=cmd_idle)
    p = sub.add_parser("report")
    p.add_argument("--accounts", type=int, required=True)
    p.add_argument("--sfn", required=True, help="the local Step Functions endpoint")
    p.add_argument("--sandbox", required=True, help="the vendor sandbox's root")
    p.add_argument("--started-at", type=float, required=True)
    p.add_argument("--starts-done-at", type=float, required=True)
    p.add_argument("--finished-at", type=float, required=True)
    p.add_argument("--started", required=True, help="backfill's JSON output")
    p.add_argument("--status", required=True, help="status's JSON output")
    p.add_argument("--replan", required=True, help="the re-run's --dry-run JSON output")
    p.add_argument("--replan-seconds", type=float, required=True)
    p.add_argument("--reconcile", required=True, help="reconcile's JSON output")
    p.add_argument("--reconcile-seconds", type=float, required=True)
    p.add_argument("--per-minute", default="default")
    p.set_defaults(run=cmd_report)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except OSError as e:
        print(f"bench_report.py: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
