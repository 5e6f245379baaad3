#!/usr/bin/env python3
"""For local/cli-demo: drift made by hand, for reconcile to find.

Deletes the first account's Cloudcraft role (detaching its policies first, as
IAM requires), points the second account's RISKEN role trust at another
account, and removes the third account from Cloudcraft through Cloudcraft's
own API on the sandbox. Needs AWS_ENDPOINT_URL (the emulator).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
import localstack  # noqa: E402


def member_iam(account: str):
    endpoint, region = os.environ["AWS_ENDPOINT_URL"], os.environ.get("AWS_REGION", "us-east-1")
    creds = boto3.client("sts", endpoint_url=endpoint, region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="cli-demo"
    )["Credentials"]
    return boto3.client("iam", endpoint_url=endpoint, region_name=region, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


def delete_role(account: str, role: str) -> None:
    iam = member_iam(account)
    for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=role, PolicyArn=p["PolicyArn"])
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        iam.delete_role_policy(RoleName=role, PolicyName=name)
    iam.delete_role(RoleName=role)


def trust_someone_else(account: str, role: str) -> None:
    member_iam(account).update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                       "Action": "sts:AssumeRole"}],
    }))


def remove_from_cloudcraft(sandbox_url: str, account: str) -> None:
    key = localstack.sandbox_seed(None)["cloudcraft"]["api_key"]
    base = f"{sandbox_url.rstrip('/')}/cloudcraft/aws/account"

    def call(method: str, url: str):
        req = urllib.request.Request(url, method=method, headers={"Authorization": f"Bearer {key}"})
        with urllib.request.urlopen(req, timeout=10) as res:  # noqa: S310 (the loopback sandbox)
            return res.read()

    for entry in json.loads(call("GET", base))["accounts"]:
        if f":{account}:" in entry["roleArn"]:
            call("DELETE", f"{base}/{entry['id']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sandbox-url", required=True)
    parser.add_argument("first")
    parser.add_argument("second")
    parser.add_argument("third")
    args = parser.parse_args()
    delete_role(args.first, "cloudcraft")
    trust_someone_else(args.second, "RISKEN")
    remove_from_cloudcraft(args.sandbox_url, args.third)
    return 0


if __name__ == "__main__":
    sys.exit(main())
