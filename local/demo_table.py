#!/usr/bin/env python3
"""Prints the demo's per-vendor table from the execution's summary and the
ledger (for when each vendor's registration started and finished), then the
summary itself. Usage: demo_table.py SUMMARY.json ELAPSED_SECONDS"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime

import boto3


def ledger_times(account: str) -> dict[str, float]:
    dynamodb = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                            region_name=os.environ.get("AWS_REGION", "us-east-1"))
    items = dynamodb.query(TableName=os.environ.get("LEDGER_TABLE", "vendorlink-ledger"),
                           KeyConditionExpression="account_id = :a",
                           ExpressionAttributeValues={":a": {"S": account}})["Items"]
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return {i["vendor"]["S"]: (parse(i["updated_at"]["S"]) - parse(i["created_at"]["S"])).total_seconds()
            for i in items if "created_at" in i and "updated_at" in i}


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    try:
        summary = json.loads(text)
    except json.JSONDecodeError:
        print("demo: the run printed no summary; see the log above", file=sys.stderr)
        return 2
    account = summary.get("account_id") or "-"
    times = ledger_times(account) if summary.get("account_id") else {}
    rows = [("vendor", "status", "role ARN", "vendor reference", "time")]
    for v in summary.get("vendors", []):
        took = times.get(v["vendor"])
        rows.append((v["vendor"], v["outcome"], v.get("role_arn") or "-", v.get("reference") or "-",
                     f"{took:.1f} s" if took is not None else "-"))
    widths = [max(len(str(r[i])) for r in rows) for i in range(5)]
    print(f"\nAccount {account} ({summary.get('account_name') or ''}): {summary.get('action')} "
          f"via {summary.get('trigger')}, {sys.argv[2]} s in all\n")
    for n, row in enumerate(rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    for v in summary.get("vendors", []):
        for line in filter(None, [v.get("error"), v.get("detail")] + v.get("warnings", [])):
            print(f"  {v['vendor']}: {line}")
    print("\nSummary (the execution's output):")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
