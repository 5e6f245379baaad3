"""Security properties of the transformed template (run by local/lint-template
on the SAM transform's output), so a later change cannot quietly widen them:

- no IAM statement allows `*` or `<service>:*` as an action;
- `secretsmanager:GetSecretValue` only on the five vendors' own secrets
  (exact name plus Secrets Manager's suffix), never `<prefix>*`;
- `secretsmanager:PutSecretValue` (and `DescribeSecret`) only on the secrets
  of the vendors whose external ID vendorlink generates (Data Theorem,
  RISKEN), each matched by its exact name plus Secrets Manager's suffix;
- every EventBridge rule matches only events of the stack's own account;
- the ledger table is retained, with deletion protection and point-in-time
  recovery;
- every log group is retained, with a retention period;
- a KMS key policy lets an AWS service use the key only for this account
  (`aws:SourceAccount`);
- an alarm watches the reconcile function's errors.

Usage: template_properties.py TRANSFORMED_TEMPLATE.json
Exit status: 0 when every property holds, 1 otherwise (each failure printed).
"""

from __future__ import annotations

import json
import sys
from typing import Any, Iterator

VENDORS = ("datatheorem", "skyhigh", "cloudcraft", "risken", "stellarcyber")
WRITE_BACK_VENDORS = ("datatheorem", "risken")


def statements(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every IAM statement of a role's inline policies or a managed policy."""
    props = resource.get("Properties", {})
    documents = [p.get("PolicyDocument", {}) for p in props.get("Policies", [])]
    if resource.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        documents.append(props.get("PolicyDocument", {}))
    for document in documents:
        found = document.get("Statement", [])
        yield from (found if isinstance(found, list) else [found])


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def text(value: Any) -> str:
    """A resource ARN as text: a Fn::Sub string, or the JSON of anything else."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else json.dumps(sub)
    return value if isinstance(value, str) else json.dumps(value)


def check(template: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    resources: dict[str, Any] = template.get("Resources", {})
    for name, resource in resources.items():
        for statement in statements(resource):
            if statement.get("Effect") != "Allow":
                continue
            actions = [str(a) for a in as_list(statement.get("Action", []))]
            for action in actions:
                if action == "*" or action.endswith(":*"):
                    problems.append(f"{name}: statement {statement.get('Sid', '?')} allows {action}")
            if "secretsmanager:GetSecretValue" in actions:
                for arn in map(text, as_list(statement.get("Resource", []))):
                    if not any(arn.endswith(f"${{SecretPrefix}}{v}-??????") for v in VENDORS):
                        problems.append(f"{name}: secret reads reach {arn}, not only the vendors' own secrets")
            if any(a in ("secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret") for a in actions):
                for arn in map(text, as_list(statement.get("Resource", []))):
                    if not any(arn.endswith(f"${{SecretPrefix}}{v}-??????") for v in WRITE_BACK_VENDORS):
                        problems.append(f"{name}: secret writes reach {arn}, not only the write-back vendors' secrets")
        kind = resource.get("Type")
        props = resource.get("Properties", {})
        if kind == "AWS::Events::Rule" and "EventPattern" in props:
            account = props["EventPattern"].get("account")
            if account != [{"Ref": "AWS::AccountId"}]:
                problems.append(f"{name}: the rule does not match only the stack's own account ({account})")
        if kind == "AWS::DynamoDB::Table":
            if resource.get("DeletionPolicy") != "Retain" or resource.get("UpdateReplacePolicy") != "Retain":
                problems.append(f"{name}: the table is not retained")
            if props.get("DeletionProtectionEnabled") is not True:
                problems.append(f"{name}: no deletion protection")
            if not props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
                problems.append(f"{name}: no point-in-time recovery")
        if kind == "AWS::KMS::Key":
            for statement in as_list(props.get("KeyPolicy", {}).get("Statement", [])):
                service = statement.get("Principal", {}).get("Service") if isinstance(statement.get("Principal"), dict) else None
                if service and "aws:SourceAccount" not in json.dumps(statement.get("Condition", {})):
                    problems.append(f"{name}: key policy statement {statement.get('Sid', '?')} lets {service} "
                                    "use the key without an aws:SourceAccount condition")
        if kind == "AWS::Logs::LogGroup":
            if resource.get("DeletionPolicy") != "Retain":
                problems.append(f"{name}: the log group is deleted with the stack")
            if "RetentionInDays" not in props:
                problems.append(f"{name}: no retention period")
    alarmed = {json.dumps(d.get("Value")) for r in resources.values() if r.get("Type") == "AWS::CloudWatch::Alarm"
               and r.get("Properties", {}).get("MetricName") == "Errors"
               for d in r.get("Properties", {}).get("Dimensions", [])}
    if json.dumps({"Ref": "ReconcileFunction"}) not in alarmed:
        problems.append("no alarm on the reconcile function's errors")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        template = json.load(f)
    problems = check(template)
    for problem in problems:
        print(f"template property: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
