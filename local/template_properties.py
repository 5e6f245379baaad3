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

With `--home-region`, the same for the home-region forwarder
(template-home-region.yaml), read as YAML next to the main template.yaml:

- its one rule matches exactly the events of the main template's
  `ControlTowerRule` (the same pattern: source, detail-type, account,
  detail), on the default bus;
- its one target is this account's default bus in `VendorlinkRegion`, put
  through a role of the template;
- that role is trusted only by `events.amazonaws.com`, for this account
  (`aws:SourceAccount`) and this rule (`aws:SourceArn`), and allows nothing
  but `events:PutEvents` on that one bus;
- a `Rules` assertion refuses a stack in `VendorlinkRegion` itself, whose
  default is the region the main template is pinned to.

Usage: template_properties.py TRANSFORMED_TEMPLATE.json
       template_properties.py --self-test TRANSFORMED_TEMPLATE.json
       template_properties.py --home-region HOME_TEMPLATE [MAIN_TEMPLATE]
       template_properties.py --self-test --home-region HOME_TEMPLATE [MAIN_TEMPLATE]
MAIN_TEMPLATE defaults to template.yaml at the repository root; both may be
YAML (CloudFormation short forms included; needs samcli) or JSON.
Exit status: 0 when every property holds, 1 otherwise (each failure printed).
`--self-test` widens the template in each way above and fails unless every
widening is caught (and, with `--home-region`, unless the unchanged template
passes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

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


# ------------------------------------------------------------ home region

MAIN_TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"
MAIN_RULE = "ControlTowerRule"
VENDORLINK_BUS = "arn:${AWS::Partition}:events:${VendorlinkRegion}:${AWS::AccountId}:event-bus/default"


def load(path: str | Path) -> dict[str, Any]:
    """A template, JSON or YAML with CloudFormation's short forms (`!Ref`,
    `!Sub`, ...) read as their long forms."""
    with open(path) as f:
        body = f.read()
    try:
        return json.loads(body)
    except ValueError:
        from samcli.yamlhelper import yaml_parse  # the Python of local/lint-template has it
        return yaml_parse(body)


def normalized(value: Any) -> Any:
    """An event pattern with every array sorted: an array in a pattern is a
    set of alternatives, its order means nothing."""
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((normalized(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    return value


def exactly_one(value: Any) -> Any:
    """The single element of a one-element list, or the value itself."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def pinned_region(template: dict[str, Any]) -> str | None:
    """The region a template's `Rules` pin the stack to (`Fn::Equals` of
    `AWS::Region` and a literal), if any."""
    for rule in template.get("Rules", {}).values():
        for assertion in rule.get("Assertions", []):
            args = assertion.get("Assert", {}).get("Fn::Equals") if isinstance(assertion.get("Assert"), dict) else None
            if isinstance(args, list) and {"Ref": "AWS::Region"} in args:
                literal = [a for a in args if isinstance(a, str)]
                if literal:
                    return literal[0]
    return None


def refuses_vendorlink_region(template: dict[str, Any]) -> bool:
    """A `Rules` assertion, unconditional, that the stack's region is not
    `VendorlinkRegion`."""
    wanted = [{"Fn::Not": [{"Fn::Equals": [{"Ref": "AWS::Region"}, {"Ref": "VendorlinkRegion"}]}]},
              {"Fn::Not": [{"Fn::Equals": [{"Ref": "VendorlinkRegion"}, {"Ref": "AWS::Region"}]}]}]
    return any(assertion.get("Assert") in wanted
               for rule in template.get("Rules", {}).values() if "RuleCondition" not in rule
               for assertion in rule.get("Assertions", []))


def check_home_region(home: dict[str, Any], main: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    resources: dict[str, Any] = home.get("Resources", {})

    main_rule = main.get("Resources", {}).get(MAIN_RULE, {})
    main_pattern = main_rule.get("Properties", {}).get("EventPattern")
    if main_rule.get("Type") != "AWS::Events::Rule" or not isinstance(main_pattern, dict):
        problems.append(f"the main template has no {MAIN_RULE} with an event pattern to compare with")

    rules = [(n, r) for n, r in resources.items() if r.get("Type") == "AWS::Events::Rule"]
    if len(rules) != 1:
        return problems + [f"{len(rules)} EventBridge rules, not exactly one"]
    rule_name, rule = rules[0]
    props = rule.get("Properties", {})
    if props.get("EventBusName", "default") != "default":
        problems.append(f"{rule_name}: on bus {json.dumps(props['EventBusName'])}, not the default bus")
    if props.get("State", "ENABLED") != "ENABLED":
        problems.append(f"{rule_name}: the rule is not enabled")
    if "Condition" in rule:
        problems.append(f"{rule_name}: the rule exists only under condition {rule['Condition']}")
    pattern = props.get("EventPattern")
    if not isinstance(pattern, dict):
        problems.append(f"{rule_name}: no event pattern")
    elif isinstance(main_pattern, dict):
        for key in sorted(set(pattern) | set(main_pattern)):
            if normalized(pattern.get(key)) != normalized(main_pattern.get(key)):
                problems.append(f"{rule_name}: pattern {key} is {json.dumps(pattern.get(key))}, "
                                f"but {MAIN_RULE}'s is {json.dumps(main_pattern.get(key))}")

    targets = props.get("Targets", [])
    if len(targets) != 1:
        return problems + [f"{rule_name}: {len(targets)} targets, not exactly one"]
    target = targets[0]
    if text(target.get("Arn")) != VENDORLINK_BUS:
        problems.append(f"{rule_name}: the target is {text(target.get('Arn'))}, not {VENDORLINK_BUS}")
    for key in ("Input", "InputPath", "InputTransformer"):
        if key in target:
            problems.append(f"{rule_name}: the target rewrites the event ({key}); vendorlink needs it unchanged")
    role_ref = target.get("RoleArn")
    role_name = role_ref.get("Fn::GetAtt", [None])[0] if isinstance(role_ref, dict) else None
    role = resources.get(role_name, {}) if isinstance(role_name, str) else {}
    if role.get("Type") != "AWS::IAM::Role":
        return problems + [f"{rule_name}: the target's RoleArn {json.dumps(role_ref)} is not a role of this template"]

    rule_arns = [{"Fn::GetAtt": [rule_name, "Arn"]}]
    if isinstance(props.get("Name"), str):
        rule_arns.append({"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/"
                                     + props["Name"]})
    trust = as_list(role.get("Properties", {}).get("AssumeRolePolicyDocument", {}).get("Statement", []))
    for statement in trust:
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        service = exactly_one(principal.get("Service")) if isinstance(principal, dict) and len(principal) == 1 else None
        if service != "events.amazonaws.com":
            problems.append(f"{role_name}: the role trusts {json.dumps(principal)}, not only events.amazonaws.com")
        if exactly_one(statement.get("Action")) not in ("sts:AssumeRole", ["sts:AssumeRole"]):
            problems.append(f"{role_name}: the trust allows {json.dumps(statement.get('Action'))}, not only sts:AssumeRole")
        condition = statement.get("Condition", {})
        equals = {**condition.get("StringEquals", {}), **condition.get("ArnEquals", {})}
        if equals.get("aws:SourceAccount") != {"Ref": "AWS::AccountId"}:
            problems.append(f"{role_name}: the trust has no aws:SourceAccount condition on this account")
        if equals.get("aws:SourceArn") not in rule_arns:
            problems.append(f"{role_name}: the trust has no aws:SourceArn condition on {rule_name}'s ARN")
    if not any(s.get("Effect") == "Allow" for s in trust):
        problems.append(f"{role_name}: the role trusts no one")

    if role.get("Properties", {}).get("ManagedPolicyArns"):
        problems.append(f"{role_name}: managed policies are attached")
    allowed = []
    for name, resource in resources.items():
        for statement in statements(resource):
            if statement.get("Effect") != "Allow":
                continue
            if "NotAction" in statement or "NotResource" in statement:
                problems.append(f"{name}: a statement uses NotAction or NotResource")
                continue
            actions = [str(a) for a in as_list(statement.get("Action", []))]
            arns = [text(a) for a in as_list(statement.get("Resource", []))]
            if actions != ["events:PutEvents"]:
                problems.append(f"{name}: allows {', '.join(actions)}, not only events:PutEvents")
            if arns != [VENDORLINK_BUS]:
                problems.append(f"{name}: puts events on {', '.join(arns)}, not only {VENDORLINK_BUS}")
            allowed.append(statement)
    if not allowed:
        problems.append(f"{role_name}: the role may not put events on {VENDORLINK_BUS}")
    for name, resource in resources.items():
        if resource.get("Type", "").startswith("AWS::IAM::") and name != role_name and not (
                resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")):
            problems.append(f"{name}: an IAM {resource['Type']} besides the forwarding role")

    if not refuses_vendorlink_region(home):
        problems.append("no unconditional Rules assertion refuses a stack in VendorlinkRegion")
    default = home.get("Parameters", {}).get("VendorlinkRegion", {}).get("Default")
    pinned = pinned_region(main)
    if default is None:
        problems.append("no VendorlinkRegion parameter with a default")
    elif pinned is not None and default != pinned:
        problems.append(f"VendorlinkRegion defaults to {default}, but the main template is pinned to {pinned}")
    return problems


def home_region_mutations(home: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Copies of a passing home-region template, each widened in one way the
    check must catch."""
    def rule_props(doc: dict[str, Any]) -> dict[str, Any]:
        return next(r["Properties"] for r in doc["Resources"].values() if r.get("Type") == "AWS::Events::Rule")

    def role_props(doc: dict[str, Any]) -> dict[str, Any]:
        return next(r["Properties"] for r in doc["Resources"].values() if r.get("Type") == "AWS::IAM::Role")

    def put_statement(doc: dict[str, Any]) -> dict[str, Any]:
        return next(s for p in role_props(doc).get("Policies", []) for s in as_list(p["PolicyDocument"]["Statement"])
                    if "events:PutEvents" in as_list(s.get("Action")))

    def wildcard_bus(doc: dict[str, Any]) -> None:
        put_statement(doc)["Resource"] = "*"

    def any_bus_of_region(doc: dict[str, Any]) -> None:
        put_statement(doc)["Resource"] = {"Fn::Sub": "arn:${AWS::Partition}:events:${VendorlinkRegion}:${AWS::AccountId}:event-bus/*"}

    def more_actions(doc: dict[str, Any]) -> None:
        put_statement(doc)["Action"] = ["events:PutEvents", "events:PutRule", "events:PutTargets"]

    def no_event_name(doc: dict[str, Any]) -> None:
        del rule_props(doc)["EventPattern"]["detail"]["eventName"]

    def any_account(doc: dict[str, Any]) -> None:
        del rule_props(doc)["EventPattern"]["account"]

    def extra_event_name(doc: dict[str, Any]) -> None:
        rule_props(doc)["EventPattern"]["detail"]["eventName"].append("UpdateLandingZone")

    def own_region_bus(doc: dict[str, Any]) -> None:
        rule_props(doc)["Targets"][0]["Arn"] = {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"}

    def no_source_arn(doc: dict[str, Any]) -> None:
        for statement in as_list(role_props(doc)["AssumeRolePolicyDocument"]["Statement"]):
            for test in statement.get("Condition", {}).values():
                test.pop("aws:SourceArn", None)

    def no_source_account(doc: dict[str, Any]) -> None:
        for statement in as_list(role_props(doc)["AssumeRolePolicyDocument"]["Statement"]):
            for test in statement.get("Condition", {}).values():
                test.pop("aws:SourceAccount", None)

    def no_region_assertion(doc: dict[str, Any]) -> None:
        doc.pop("Rules", None)

    def admin_policy(doc: dict[str, Any]) -> None:
        role_props(doc)["ManagedPolicyArns"] = ["arn:aws:iam::aws:policy/AdministratorAccess"]

    changes: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
        ("PutEvents on any resource (`*`)", wildcard_bus),
        ("PutEvents on every bus of the vendorlink region", any_bus_of_region),
        ("actions beyond events:PutEvents", more_actions),
        ("a pattern without eventName", no_event_name),
        ("a pattern for any account", any_account),
        ("a pattern with one more eventName", extra_event_name),
        ("a target on the home region's own bus", own_region_bus),
        ("a trust without aws:SourceArn", no_source_arn),
        ("a trust without aws:SourceAccount", no_source_account),
        ("no region assertion", no_region_assertion),
        ("a managed policy on the role", admin_policy),
    ]
    for label, change in changes:
        doc = json.loads(json.dumps(home))
        try:
            change(doc)
        except (KeyError, StopIteration, IndexError, AttributeError, TypeError) as e:
            raise SystemExit(f"self-test: nothing to widen for {label!r} ({type(e).__name__}: {e})")
        yield label, doc


def main_home_region(argv: list[str], self_test: bool) -> int:
    if len(argv) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    home = load(argv[0])
    main = load(argv[1] if len(argv) == 2 else MAIN_TEMPLATE)
    problems = check_home_region(home, main)
    if self_test:
        if problems:
            print("home-region self-test: the unchanged template already fails "
                  "(run without --self-test to see why)", file=sys.stderr)
            return 1
        missed = [label for label, doc in home_region_mutations(home) if not check_home_region(doc, main)]
        for label in missed:
            print(f"home-region self-test: not caught: {label}", file=sys.stderr)
        return 1 if missed else 0
    for problem in problems:
        print(f"home-region property: {problem}", file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str]) -> int:
    args = argv[1:]
    self_test = bool(args) and args[0] == "--self-test"
    if self_test:
        args = args[1:]
    if args and args[0] == "--home-region":
        return main_home_region(args[1:], self_test)
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
