"""Security properties of the transformed template (run by local/lint-template
on the SAM transform's output), so a later change cannot quietly widen them:

- no IAM statement allows `*` or `<service>:*` as an action;
- `secretsmanager:GetSecretValue` only on the five vendors' own secrets
  (exact name plus Secrets Manager's suffix), never `<prefix>*`, each only
  while its vendor is enabled (`Fn::If` on `Enables<Vendor>`);
- `secretsmanager:PutSecretValue` (and `DescribeSecret`) only on the secrets
  of the vendors whose external ID vendorlink generates (Data Theorem,
  RISKEN), each matched by its exact name plus Secrets Manager's suffix, each
  only while its vendor is enabled;
- every `sts:AssumeRole` a function may call is conditioned on the target
  account being in this organization (`aws:ResourceOrgID` equal to
  `${aws:PrincipalOrgID}`); the only exception is the deregister function's
  statement for accounts in no organization (`Null` `aws:ResourceOrgID`),
  which offboards an account that has left;
- every EventBridge rule matches only events of the stack's own account;
- the ledger table is retained, with deletion protection and point-in-time
  recovery;
- every log group is retained, with a retention period;
- a KMS key policy lets an AWS service use the key only for this account
  (`aws:SourceAccount`);
- an alarm watches the reconcile function's errors;
- the state machine calls published function versions (each deploy's own),
  never `$LATEST` or an alias, so a running execution keeps its code.

Usage: template_properties.py TRANSFORMED_TEMPLATE.json
       template_properties.py --self-test TRANSFORMED_TEMPLATE.json
Exit status: 0 when every property holds, 1 otherwise (each failure printed).
`--self-test` widens the template in each way above and fails unless every
widening is caught.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Iterator

VENDORS = ("datatheorem", "skyhigh", "cloudcraft", "risken", "stellarcyber")
WRITE_BACK_VENDORS = ("datatheorem", "risken")


NO_VALUE = {"Ref": "AWS::NoValue"}


def branches(value: Any) -> list[Any]:
    """What a value can be once conditions are resolved: both branches of an
    `Fn::If` (without `AWS::NoValue`), else the value itself."""
    if isinstance(value, dict) and "Fn::If" in value:
        _, yes, no = value["Fn::If"]
        return [b for branch in (yes, no) if branch != NO_VALUE for b in branches(branch)]
    return [value]


def statements(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every IAM statement of a role's inline policies or a managed policy,
    whatever the conditions."""
    props = resource.get("Properties", {})
    documents = [p.get("PolicyDocument", {}) for p in props.get("Policies", [])]
    if resource.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        documents.append(props.get("PolicyDocument", {}))
    for document in documents:
        found = document.get("Statement", [])
        for statement in (found if isinstance(found, list) else [found]):
            yield from branches(statement)


def vendor_secret(value: Any, vendors: tuple[str, ...]) -> str | None:
    """The vendor whose own secret `value` names, only while that vendor is
    enabled: `Fn::If [Enables<Vendor>, <its secret ARN>, AWS::NoValue]`."""
    if not (isinstance(value, dict) and "Fn::If" in value):
        return None
    condition, arn, otherwise = value["Fn::If"]
    for vendor in vendors:
        if (condition == f"Enables{vendor.capitalize()}" and otherwise == NO_VALUE
                and text(arn).endswith(f"${{SecretPrefix}}{vendor}-??????")):
            return vendor
    return None


def org_condition(name: str, statement: dict[str, Any]) -> bool:
    """An AssumeRole statement reaches only this organization's accounts (or,
    for the deregister function alone, accounts in no organization)."""
    condition = statement.get("Condition", {})
    if condition == {"StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}}:
        return True
    return (name == "DeregisterAccountFunctionRole"
            and condition == {"Null": {"aws:ResourceOrgID": "true"}})


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
                for arn in as_list(statement.get("Resource", [])):
                    if vendor_secret(arn, VENDORS) is None:
                        problems.append(f"{name}: secret reads reach {text(arn)}, not only the enabled "
                                        "vendors' own secrets")
            if any(a in ("secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret") for a in actions):
                for arn in as_list(statement.get("Resource", [])):
                    if vendor_secret(arn, WRITE_BACK_VENDORS) is None:
                        problems.append(f"{name}: secret writes reach {text(arn)}, not only the enabled "
                                        "write-back vendors' secrets")
            if "sts:AssumeRole" in actions and not org_condition(name, statement):
                problems.append(f"{name}: statement {statement.get('Sid', '?')} allows sts:AssumeRole "
                                "outside the organization")
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
        if kind == "AWS::StepFunctions::StateMachine":
            for key, value in props.get("DefinitionSubstitutions", {}).items():
                target = value.get("Ref") if isinstance(value, dict) else None
                if not key.endswith("FunctionArn"):
                    continue
                if resources.get(target, {}).get("Type") != "AWS::Lambda::Version":
                    problems.append(f"{name}: {key} is {json.dumps(value)}, not a published function version")
    alarmed = {json.dumps(d.get("Value")) for r in resources.values() if r.get("Type") == "AWS::CloudWatch::Alarm"
               and r.get("Properties", {}).get("MetricName") == "Errors"
               for d in r.get("Properties", {}).get("Dimensions", [])}
    if json.dumps({"Ref": "ReconcileFunction"}) not in alarmed:
        problems.append("no alarm on the reconcile function's errors")
    return problems


def mutations(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Copies of a passing template, each widened in one way the check must
    catch: proof that the check can fail."""
    def each_statement(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for resource in doc["Resources"].values():
            for policy in resource.get("Properties", {}).get("Policies", []):
                for statement in policy.get("PolicyDocument", {}).get("Statement", []):
                    yield from (b for b in branches(statement) if isinstance(b, dict))

    def widened(change: Any) -> dict[str, Any] | None:
        doc = json.loads(json.dumps(template))
        for statement in each_statement(doc):
            if change(statement):
                return doc
        return None

    def drop_org_condition(statement: dict[str, Any]) -> bool:
        if statement.get("Action") == "sts:AssumeRole" and "Condition" in statement:
            del statement["Condition"]
            return True
        return False

    def secret_prefix(statement: dict[str, Any]) -> bool:
        if "secretsmanager:GetSecretValue" in as_list(statement.get("Action")):
            statement["Resource"] = [{"Fn::Sub": "arn:aws:secretsmanager:*:*:secret:${SecretPrefix}*"}]
            return True
        return False

    def secret_unconditioned(statement: dict[str, Any]) -> bool:
        if "secretsmanager:GetSecretValue" in as_list(statement.get("Action")):
            statement["Resource"] = [branches(r)[0] for r in as_list(statement["Resource"])]
            return True
        return False

    def star_action(statement: dict[str, Any]) -> bool:
        statement["Action"] = "iam:*"
        return True

    def unversioned(doc: dict[str, Any]) -> bool:
        for resource in doc["Resources"].values():
            subs = resource.get("Properties", {}).get("DefinitionSubstitutions", {})
            for key in subs:
                if key.endswith("FunctionArn"):
                    subs[key] = {"Fn::GetAtt": [key[: -len("Arn")], "Arn"]}
                    return True
        return False

    doc = json.loads(json.dumps(template))
    if not unversioned(doc):
        raise SystemExit("self-test: no state machine task to unversion")
    yield "a state machine task on $LATEST", doc

    for label, change in [("AssumeRole without the organization condition", drop_org_condition),
                          ("secret reads on the prefix", secret_prefix),
                          ("secret reads whatever the enabled vendors", secret_unconditioned),
                          ("a service wildcard action", star_action)]:
        doc = widened(change)
        if doc is None:
            raise SystemExit(f"self-test: nothing to widen for {label!r}")
        yield label, doc


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "--self-test":
        with open(argv[2]) as f:
            template = json.load(f)
        missed = [label for label, doc in mutations(template) if not check(doc)]
        for label in missed:
            print(f"template property self-test: not caught: {label}", file=sys.stderr)
        return 1 if missed else 0
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
