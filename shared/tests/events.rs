//! The sample events in `events/` and malformed variants of them, through
//! the one event parser.

use serde_json::{json, Value};
use vendorlink_shared::events::{decide, AccountRef, Decision};
use vendorlink_shared::VendorName;

fn sample(name: &str) -> Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn onboarded(decision: Decision) -> AccountRef {
    match decision {
        Decision::Onboard(account) => account,
        other => panic!("expected onboard, got {other:?}"),
    }
}

fn offboarded(decision: Decision) -> AccountRef {
    match decision {
        Decision::Offboard(account) => account,
        other => panic!("expected offboard, got {other:?}"),
    }
}

fn skip_reason(decision: Decision) -> String {
    match decision {
        Decision::Skip { reason, .. } => reason,
        other => panic!("expected skip, got {other:?}"),
    }
}

fn bad_input(input: &Value) -> String {
    let err = decide(input).unwrap_err();
    assert_eq!(err.error_type(), "Fatal.BadInput", "{err}");
    err.to_string()
}

#[test]
fn create_account_result_succeeded_onboards_the_new_account() {
    let account = onboarded(decide(&sample("create-account-result-succeeded.json")).unwrap());
    assert_eq!(account.account_id.as_str(), "222222222222");
    assert_eq!(account.account_name.as_deref(), Some("workload-prod"));
    assert_eq!(account.trigger, "CreateAccountResult");
}

#[test]
fn create_account_result_failed_is_skipped_with_the_failure_reason() {
    let reason = skip_reason(decide(&sample("create-account-result-failed.json")).unwrap());
    assert_eq!(reason, "account creation FAILED: EMAIL_ALREADY_EXISTS");
}

#[test]
fn control_tower_create_and_update_onboard_with_the_ou() {
    for (file, trigger) in [
        (
            "control-tower-create-managed-account.json",
            "CreateManagedAccount",
        ),
        (
            "control-tower-update-managed-account.json",
            "UpdateManagedAccount",
        ),
    ] {
        let account = onboarded(decide(&sample(file)).unwrap());
        assert_eq!(account.account_id.as_str(), "222222222222");
        assert_eq!(
            account.organizational_unit.as_deref(),
            Some("ou-ab12-workload1")
        );
        assert_eq!(account.trigger, trigger);
    }
}

#[test]
fn control_tower_event_not_succeeded_is_skipped() {
    let mut event = sample("control-tower-create-managed-account.json");
    event["detail"]["serviceEventDetails"]["createManagedAccountStatus"]["state"] = json!("FAILED");
    let reason = skip_reason(decide(&event).unwrap());
    assert_eq!(
        reason,
        "CreateManagedAccount state is FAILED, not SUCCEEDED"
    );
}

#[test]
fn close_remove_and_close_result_offboard() {
    for (file, trigger) in [
        ("close-account.json", "CloseAccount"),
        (
            "remove-account-from-organization.json",
            "RemoveAccountFromOrganization",
        ),
        ("close-account-result.json", "CloseAccountResult"),
    ] {
        let account = offboarded(decide(&sample(file)).unwrap());
        assert_eq!(account.account_id.as_str(), "222222222222", "{file}");
        assert_eq!(account.trigger, trigger);
    }
}

#[test]
fn failed_cloudtrail_call_is_skipped() {
    let mut event = sample("close-account.json");
    event["detail"]["errorCode"] = json!("AccessDeniedException");
    let reason = skip_reason(decide(&event).unwrap());
    assert_eq!(
        reason,
        "the CloseAccount call failed with AccessDeniedException: nothing to do"
    );
}

#[test]
fn direct_input_onboards_and_may_restrict_vendors() {
    let account = onboarded(decide(&sample("direct.json")).unwrap());
    assert_eq!(account.trigger, "direct");
    assert_eq!(account.vendors, None);
    let account = onboarded(decide(&sample("direct-redrive.json")).unwrap());
    assert_eq!(
        account.vendors,
        Some(vec![VendorName::Cloudcraft, VendorName::Risken])
    );
}

#[test]
fn direct_offboard_action() {
    let account =
        offboarded(decide(&json!({"accountId": "333333333333", "action": "offboard"})).unwrap());
    assert_eq!(account.account_id.as_str(), "333333333333");
}

#[test]
fn unknown_fields_are_tolerated() {
    let mut event = sample("create-account-result-succeeded.json");
    event["brandNewEnvelopeField"] = json!({"x": 1});
    event["detail"]["serviceEventDetails"]["createAccountStatus"]["futureField"] = json!(true);
    onboarded(decide(&event).unwrap());
}

#[test]
fn unrelated_events_are_skipped_not_failed() {
    let mut event = sample("create-account-result-succeeded.json");
    event["detail"]["eventName"] = json!("InviteAccountToOrganization");
    assert!(skip_reason(decide(&event).unwrap()).contains("not handled"));
    event["source"] = json!("aws.ec2");
    assert!(skip_reason(decide(&event).unwrap()).contains("not account lifecycle events"));
}

#[test]
fn missing_account_id_names_the_field() {
    let mut event = sample("create-account-result-succeeded.json");
    event["detail"]["serviceEventDetails"]["createAccountStatus"]
        .as_object_mut()
        .unwrap()
        .remove("accountId");
    let msg = bad_input(&event);
    assert!(
        msg.contains("event is missing detail.serviceEventDetails.createAccountStatus.accountId"),
        "{msg}"
    );
    assert!(msg.contains("step=resolve-account"), "{msg}");
}

#[test]
fn missing_status_block_names_the_field() {
    let mut event = sample("control-tower-create-managed-account.json");
    event["detail"]["serviceEventDetails"] = json!({});
    let msg = bad_input(&event);
    assert!(
        msg.contains("detail.serviceEventDetails.createManagedAccountStatus"),
        "{msg}"
    );
}

#[test]
fn malformed_account_id_is_bad_input() {
    let mut event = sample("close-account.json");
    event["detail"]["requestParameters"]["accountId"] = json!("22222");
    let msg = bad_input(&event);
    assert!(
        msg.contains("detail.requestParameters.accountId: `22222` is not an AWS account id"),
        "{msg}"
    );
}

#[test]
fn event_without_event_name_is_bad_input() {
    let mut event = sample("close-account.json");
    event["detail"].as_object_mut().unwrap().remove("eventName");
    assert!(bad_input(&event).contains("event is missing detail.eventName"));
}

#[test]
fn non_events_are_bad_input() {
    assert!(bad_input(&json!([1, 2])).contains("must be a JSON object"));
    assert!(bad_input(&json!({"hello": "world"})).contains("neither an EventBridge event"));
    assert!(bad_input(&json!({"detail-type": "x"})).contains("not a valid EventBridge event"));
    assert!(bad_input(&json!({"accountId": "1"})).contains("not an AWS account id"));
    assert!(
        bad_input(&json!({"accountId": "123456789012", "vendors": ["nope"]}))
            .contains("unknown vendor `nope`")
    );
    assert!(
        bad_input(&json!({"accountId": "123456789012", "action": "nuke"}))
            .contains("allowed: onboard, offboard")
    );
}

#[test]
fn decision_serializes_with_an_action_tag() {
    let decision = decide(&sample("direct.json")).unwrap();
    assert_eq!(
        serde_json::to_value(&decision).unwrap(),
        json!({"action": "onboard", "account_id": "222222222222", "trigger": "direct"})
    );
}

#[test]
fn move_account_is_a_move_with_the_destination() {
    let decision = decide(&sample("move-account.json")).unwrap();
    let Decision::Moved(account) = decision else {
        panic!("expected a move, got {decision:?}")
    };
    assert_eq!(account.account_id.as_str(), "222222222222");
    assert_eq!(
        account.organizational_unit.as_deref(),
        Some("ou-ab12-workload1")
    );
    assert_eq!(account.trigger, "MoveAccount");
}

#[test]
fn move_without_a_destination_is_bad_input() {
    let mut event = sample("move-account.json");
    event["detail"]["requestParameters"]
        .as_object_mut()
        .unwrap()
        .remove("destinationParentId");
    assert!(bad_input(&event).contains("detail.requestParameters.destinationParentId"));
}
