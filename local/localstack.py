#!/usr/bin/env python3
"""Sets up the local AWS emulator (moto) for vendorlink's local stack.

Every call goes to AWS_ENDPOINT_URL (required: this never talks to AWS), with
the credentials and region from the environment (dummy ones for moto).

  ensure-infra   creates, when absent, what template.yaml creates in AWS: the
                 ledger table ($LEDGER_TABLE, default vendorlink-ledger) and
                 the SNS topic vendorlink-notifications, whose ARN it prints.
  seed-demo      for `make demo`: an organization, one new member account and
                 the five vendor secrets pointing at the vendor sandbox; writes
                 the account-created event for that account and prints its id.
  seed-org       for backfill runs: an organization of N existing member
                 accounts and the five vendor secrets; prints the ids.

Logs go to stderr; stdout carries only the value asked for.
Run it with the repository's .venv/bin/python (boto3 comes with moto).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_EVENT = ROOT / "events" / "create-account-result-succeeded.json"
TOPIC_NAME = "vendorlink-notifications"
DEFAULT_TABLE = "vendorlink-ledger"
VENDORS = ("datatheorem", "skyhigh", "cloudcraft", "risken", "stellarcyber")

# The vendors' own AWS accounts where the customer types them into the secret
# (Data Theorem, RISKEN, Stellar Cyber); Skyhigh and Cloudcraft hand theirs
# out through their API (the sandbox's seed). Placeholder account ids.
DEMO_PRINCIPALS = {
    "datatheorem": "111122223333",
    "risken": "444455556666",
    "stellarcyber": "777788889999",
}


class Refused(Exception):
    """A precondition does not hold; exit 2 with the message."""


def log(message: str) -> None:
    print(f"localstack: {message}", file=sys.stderr, flush=True)


def client(service: str):
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if not endpoint:
        raise Refused("AWS_ENDPOINT_URL is not set: this tool only talks to the local emulator")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.client(service, endpoint_url=endpoint, region_name=region)


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


# --------------------------------------------------------------- ensure-infra


def ensure_table(name: str) -> None:
    dynamodb = client("dynamodb")
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except ClientError as e:
        if error_code(e) != "ResourceNotFoundException":
            raise
    else:
        keys = {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]}
        if keys != {"account_id": "HASH", "vendor": "RANGE"}:
            raise Refused(f"table {name} exists with key schema {keys}, not account_id (HASH) + vendor (RANGE)")
        log(f"ledger table {name} exists")
        return
    try:
        created = dynamodb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "account_id", "AttributeType": "S"},
                {"AttributeName": "vendor", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "account_id", "KeyType": "HASH"},
                {"AttributeName": "vendor", "KeyType": "RANGE"},
            ],
        )
    except ClientError as e:
        if error_code(e) != "ResourceInUseException":  # created meanwhile
            raise
        created = None
    if not created or created["TableDescription"].get("TableStatus") != "ACTIVE":
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    log(f"ledger table {name} created")


def ensure_topic(name: str) -> str:
    # CreateTopic is idempotent: an existing topic's ARN comes back.
    return client("sns").create_topic(Name=name)["TopicArn"]


def cmd_ensure_infra(args: argparse.Namespace) -> int:
    ensure_table(args.table)
    arn = ensure_topic(TOPIC_NAME)
    log(f"notification topic {arn}")
    print(arn)
    return 0


# --------------------------------------------------------------- seed-demo


def sandbox_seed(seed_file: str | None) -> dict[str, Any]:
    """The sandbox's credentials: its DEFAULT_SEED, overlaid with its seed file if one was used."""
    sys.path.insert(0, str(ROOT / "local" / "sandbox"))
    try:
        import vendor_sandbox  # noqa: PLC0415 (the sandbox is a script, not a package)
    finally:
        sys.path.pop(0)
    return vendor_sandbox.load_seed(seed_file)


def demo_secrets(sandbox_url: str, seed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each vendor's secret, as docs/architecture.md ("Secrets contract") and
    shared/src/vendors/<vendor>/secret.rs define them.

    Data Theorem and RISKEN get no external_id: vendorlink generates it and
    writes it back. Skyhigh and Cloudcraft issue principal and external ID
    through their API.
    """
    base = sandbox_url.rstrip("/")
    return {
        "datatheorem": {
            "api_key": seed["datatheorem"]["api_key"],
            "aws_account_id": DEMO_PRINCIPALS["datatheorem"],
            "base_url": f"{base}/datatheorem",
        },
        "skyhigh": {
            "username": seed["skyhigh"]["username"],
            "password": seed["skyhigh"]["password"],
            "instance_name": "Default-AWS",
            "provision_options": {"enableSecurityAudit": True, "securityAuditType": "CONTINUOUS_EVALUATION"},
            "base_url": f"{base}/skyhigh",
        },
        "cloudcraft": {
            "api_key": seed["cloudcraft"]["api_key"],
            "region": "us-east-1",
            "base_url": f"{base}/cloudcraft",
        },
        "risken": {
            "access_token": seed["risken"]["access_token"],
            "project_id": seed["risken"]["project_id"],
            "aws_account_id": DEMO_PRINCIPALS["risken"],
            "base_url": f"{base}/risken",
        },
        "stellarcyber": {
            "user_id": seed["stellarcyber"]["user_id"],
            "api_key": seed["stellarcyber"]["api_key"],
            "tenant_id": "vendorlink-demo-tenant",
            # Stellar Cyber documents no external ID: its role trusts the
            # connector's exact IAM principal.
            "principal_arn": f"arn:aws:iam::{DEMO_PRINCIPALS['stellarcyber']}:role/stellar-connector",
            "base_url": f"{base}/stellarcyber",
            # The appliance's AWS CloudTrail connector (docs/vendors/stellarcyber.md).
            "connector_template": {
                "name": "vendorlink-aws-{{account_id}}", "type": "aws_cloudtrail", "cust_id": "{{tenant_id}}",
                "description": "AWS account {{account_name}} ({{account_id}}), managed by vendorlink",
                "config": {"role_arn": "{{role_arn}}", "bucket": "vendorlink-demo-cloudtrail",
                           "prefix": "AWSLogs/{{account_id}}/CloudTrail", "file_type": "gzip"},
            },
        },
    }


def put_secret(name: str, value: dict[str, Any]) -> None:
    secrets = client("secretsmanager")
    text = json.dumps(value)
    try:
        secrets.create_secret(Name=name, SecretString=text)
        log(f"secret {name} created")
    except ClientError as e:
        if error_code(e) != "ResourceExistsException":
            raise
        secrets.put_secret_value(SecretId=name, SecretString=text)
        log(f"secret {name} updated")


def ensure_organization() -> str:
    """The caller's organization (created, feature set ALL, when there is none); returns the management account id."""
    organizations = client("organizations")
    try:
        org = organizations.describe_organization()["Organization"]
        log(f"organization {org['Id']} exists")
    except ClientError as e:
        if error_code(e) != "AWSOrganizationsNotInUseException":
            raise
        org = organizations.create_organization(FeatureSet="ALL")["Organization"]
        log(f"organization {org['Id']} created")
    return org["MasterAccountId"]


def create_member_account(name: str) -> str:
    organizations = client("organizations")
    email = f"{name}-{uuid.uuid4().hex[:12]}@example.com"
    status = organizations.create_account(Email=email, AccountName=name)["CreateAccountStatus"]
    # moto completes CreateAccount at once; AWS would need polling here.
    if status.get("State") != "SUCCEEDED" or not status.get("AccountId"):
        raise Refused(f"CreateAccount did not succeed at once: {status}")
    log(f"account {status['AccountId']} ({name}) created")
    return status["AccountId"]


def account_created_event(account_id: str, account_name: str, management: str) -> dict[str, Any]:
    """The sample CreateAccountResult event, about the new account, from this management account."""
    event = json.loads(SAMPLE_EVENT.read_text(encoding="utf-8"))
    event["id"] = str(uuid.uuid4())
    event["account"] = management
    detail = event["detail"]
    detail["userIdentity"]["accountId"] = management
    detail["recipientAccountId"] = management
    status = detail["serviceEventDetails"]["createAccountStatus"]
    status["accountId"] = account_id
    status["accountName"] = account_name
    return event


# For an emulator started without AWS's managed policies (they cost moto about
# 32 MB and a second per account: too much for an organization of 1,000):
# roles get an inline read-only policy of ours instead of SecurityAudit and
# ReadOnlyAccess. Vendors whose role already has an inline policy keep it.
WITHOUT_AWS_MANAGED: dict[str, dict[str, Any]] = {
    vendor: {"managed_policies": []} for vendor in VENDORS
}
for _vendor in ("cloudcraft", "stellarcyber"):
    WITHOUT_AWS_MANAGED[_vendor]["inline_policy"] = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["ec2:Describe*", "iam:Get*", "iam:List*", "s3:ListAllMyBuckets"],
                       "Resource": "*"}],
    }


def put_demo_secrets(sandbox_url: str, sandbox_seed_file: str | None, aws_managed_policies: bool = True) -> None:
    prefix = os.environ.get("SECRET_PREFIX", "vendorlink/")
    for vendor, secret in demo_secrets(sandbox_url, sandbox_seed(sandbox_seed_file)).items():
        if not aws_managed_policies:
            secret.update(WITHOUT_AWS_MANAGED[vendor])
        put_secret(f"{prefix}{vendor}", secret)


def cmd_seed_demo(args: argparse.Namespace) -> int:
    management = ensure_organization()
    account_id = create_member_account(args.account_name)
    put_demo_secrets(args.sandbox_url, args.sandbox_seed)
    event = account_created_event(account_id, args.account_name, management)
    out = Path(args.event_out)
    out.write_text(json.dumps(event, indent=2) + "\n", encoding="utf-8")
    log(f"event written to {out}")
    print(account_id)
    return 0


def cmd_seed_org(args: argparse.Namespace) -> int:
    if args.accounts < 0:
        raise Refused("--accounts must be 0 or more")
    ensure_organization()
    put_demo_secrets(args.sandbox_url, args.sandbox_seed, aws_managed_policies=not args.no_aws_managed_policies)
    for i in range(args.accounts):
        print(create_member_account(f"{args.name_prefix}-{i:04d}"), flush=True)
    log(f"{args.accounts} accounts created")
    return 0


# --------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="localstack.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    infra = sub.add_parser("ensure-infra", help="create the ledger table and notification topic when absent")
    infra.add_argument(
        "--table",
        default=os.environ.get("LEDGER_TABLE") or DEFAULT_TABLE,
        help="ledger table name (default: $LEDGER_TABLE or %(default)s)",
    )
    infra.set_defaults(run=cmd_ensure_infra)

    demo = sub.add_parser("seed-demo", help="organization, a new account, vendor secrets and its event")
    demo.add_argument("--sandbox-url", required=True, help="the vendor sandbox's root, e.g. http://127.0.0.1:PORT")
    demo.add_argument("--account-name", default="workload-demo", help="the new account's name (default: %(default)s)")
    demo.add_argument("--event-out", required=True, help="where to write the account-created event")
    demo.add_argument("--sandbox-seed", help="the seed file the sandbox was started with, if any")
    demo.set_defaults(run=cmd_seed_demo)

    org = sub.add_parser("seed-org", help="organization of N existing accounts, vendor secrets")
    org.add_argument("--sandbox-url", required=True, help="the vendor sandbox's root, e.g. http://127.0.0.1:PORT")
    org.add_argument("--accounts", type=int, required=True, help="how many member accounts to create")
    org.add_argument("--name-prefix", default="existing", help="account names: PREFIX-0000, ... (default: %(default)s)")
    org.add_argument("--sandbox-seed", help="the seed file the sandbox was started with, if any")
    org.add_argument("--no-aws-managed-policies", action="store_true",
                     help="roles without AWS managed policies (for MOTO_IAM_LOAD_MANAGED_POLICIES=false)")
    org.set_defaults(run=cmd_seed_org)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except Refused as e:
        log(str(e))
        return 2
    except ClientError as e:
        log(f"AWS emulator refused: {e}")
        return 2
    except Exception as e:  # noqa: BLE001 (endpoint down, bad seed: report, don't trace)
        log(f"{type(e).__name__}: {e}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
