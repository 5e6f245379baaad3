//! resolve-account: which accounts and vendors a run is about.

use serde_json::json;

use super::*;
use crate::contract::Action;
use crate::error::{ErrorKind, Step};
use crate::fakes::Fault;
use crate::ledger::Transition;
use crate::ports::LedgerStore;

fn created(account: &AccountId) -> serde_json::Value {
    let mut event: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../events/create-account-result-succeeded.json"
    ))
    .unwrap();
    event["detail"]["serviceEventDetails"]["createAccountStatus"]["accountId"] =
        json!(account.as_str());
    event
}

#[tokio::test]
async fn a_new_active_account_in_scope_gets_one_item_per_enabled_vendor() {
    let f = fixture(&[VendorName::Cloudcraft, VendorName::Risken]);
    let resolved = tasks::resolve_account(&f.ctx, &created(&f.account))
        .await
        .unwrap();
    assert_eq!(resolved.action, Action::Onboard);
    assert_eq!(resolved.trigger, "CreateAccountResult");
    let vendors: Vec<_> = resolved.items.iter().map(|i| i.vendor).collect();
    assert_eq!(vendors, [VendorName::Cloudcraft, VendorName::Risken]);
    assert_eq!(resolved.account.unwrap().account_name, "workload-1");
}

#[tokio::test]
async fn an_account_that_is_not_active_is_skipped() {
    let f = fixture(&[VendorName::Cloudcraft]);
    f.fakes
        .org
        .add_account(&f.account, "workload-1", "SUSPENDED", &[WORKLOADS, ROOT]);
    let resolved = tasks::resolve_account(&f.ctx, &created(&f.account))
        .await
        .unwrap();
    assert_eq!(resolved.action, Action::Skip);
    assert!(resolved.reason.unwrap().contains("SUSPENDED, not ACTIVE"));
    assert!(resolved.items.is_empty());
}

#[tokio::test]
async fn an_account_outside_the_included_ous_is_skipped_with_the_reason() {
    let f = fixture_with(&[VendorName::Cloudcraft], &[("INCLUDE_OUS", SANDBOX_OU)]);
    let resolved = tasks::resolve_account(&f.ctx, &created(&f.account))
        .await
        .unwrap();
    assert_eq!(resolved.action, Action::Skip);
    assert!(resolved.reason.unwrap().contains("INCLUDE_OUS"));
}

#[tokio::test]
async fn a_direct_request_for_a_vendor_that_is_not_enabled_is_bad_input() {
    let f = fixture(&[VendorName::Cloudcraft]);
    let err = tasks::resolve_account(
        &f.ctx,
        &json!({"accountId": f.account, "vendors": ["risken"]}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadInput);
    assert_eq!(err.step(), Some(Step::ResolveAccount));
    assert_eq!(err.account(), Some(&f.account));
    assert!(
        err.message().contains("vendor risken is not enabled"),
        "{err}"
    );
}

#[tokio::test]
async fn offboarding_covers_only_the_vendors_the_account_is_onboarded_with() {
    let f = fixture(&[VendorName::Cloudcraft, VendorName::Risken]);
    f.onboard(VendorName::Risken, "run-1").await.unwrap();
    let resolved = tasks::resolve_account(
        &f.ctx,
        &json!({"accountId": f.account, "action": "offboard"}),
    )
    .await
    .unwrap();
    assert_eq!(resolved.action, Action::Offboard);
    let vendors: Vec<_> = resolved.items.iter().map(|i| i.vendor).collect();
    assert_eq!(vendors, [VendorName::Risken]);
}

#[tokio::test]
async fn offboarding_an_account_that_left_the_organization_goes_on_without_its_name() {
    let f = fixture(&[VendorName::Cloudcraft]);
    f.onboard(VendorName::Cloudcraft, "run-1").await.unwrap();
    f.fakes.org.remove_account(&f.account);
    let resolved = tasks::resolve_account(
        &f.ctx,
        &json!({"accountId": f.account, "action": "offboard"}),
    )
    .await
    .unwrap();
    assert_eq!(resolved.action, Action::Offboard);
    assert_eq!(resolved.account.unwrap().account_name, "");
}

#[tokio::test]
async fn offboarding_an_account_never_onboarded_is_skipped() {
    let f = fixture(&[VendorName::Cloudcraft]);
    let resolved = tasks::resolve_account(
        &f.ctx,
        &json!({"accountId": f.account, "action": "offboard"}),
    )
    .await
    .unwrap();
    assert_eq!(resolved.action, Action::Skip);
    assert!(resolved.reason.unwrap().contains("not onboarded"));
}

fn moved(account: &AccountId) -> serde_json::Value {
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("../../../../events/move-account.json")).unwrap();
    event["detail"]["requestParameters"]["accountId"] = json!(account.as_str());
    event
}

#[tokio::test]
async fn an_account_moved_out_of_scope_is_only_reported_unless_configured_to_offboard() {
    let f = fixture_with(&[VendorName::Cloudcraft], &[("INCLUDE_OUS", WORKLOADS)]);
    f.onboard(VendorName::Cloudcraft, "run-1").await.unwrap();
    f.fakes
        .org
        .add_account(&f.account, "workload-1", "ACTIVE", &[SANDBOX_OU, ROOT]);
    let resolved = tasks::resolve_account(&f.ctx, &moved(&f.account))
        .await
        .unwrap();
    assert_eq!(resolved.action, Action::Skip);
    assert!(resolved
        .reason
        .unwrap()
        .contains("OFFBOARD_ON_SCOPE_EXIT is false"));

    let ctx = f.fakes.context(config(
        &[VendorName::Cloudcraft],
        &[
            ("INCLUDE_OUS", WORKLOADS),
            ("OFFBOARD_ON_SCOPE_EXIT", "true"),
        ],
    ));
    let resolved = tasks::resolve_account(&ctx, &moved(&f.account))
        .await
        .unwrap();
    assert_eq!(resolved.action, Action::Offboard);
    assert_eq!(resolved.items.len(), 1);
}

#[tokio::test]
async fn a_failing_organizations_call_is_a_retryable_error_naming_the_account() {
    let f = fixture(&[VendorName::Cloudcraft]);
    for call in ["org.describe_account", "org.ancestors"] {
        f.fakes
            .faults
            .inject(call, Fault::Error(ErrorKind::Throttled));
        let err = tasks::resolve_account(&f.ctx, &created(&f.account))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Throttled, "{call}");
        assert_eq!(err.step(), Some(Step::ResolveAccount), "{call}");
    }
    // Resolving changes nothing, so a retry simply works.
    assert!(tasks::resolve_account(&f.ctx, &created(&f.account))
        .await
        .is_ok());
    assert_eq!(
        f.fakes.ledger.item(&f.account, VendorName::Cloudcraft),
        None
    );
}

#[tokio::test]
async fn an_account_already_offboarded_is_not_offboarded_again() {
    let f = fixture(&[VendorName::Cloudcraft]);
    f.fakes
        .ledger
        .transition(&f.account, VendorName::Cloudcraft, Transition::offboarded())
        .await
        .unwrap();
    let resolved = tasks::resolve_account(
        &f.ctx,
        &json!({"accountId": f.account, "action": "offboard"}),
    )
    .await
    .unwrap();
    assert_eq!(resolved.action, Action::Skip);
}

#[tokio::test]
async fn the_management_account_is_never_onboarded_whatever_the_event_says() {
    let f = fixture(&[VendorName::Cloudcraft, VendorName::Risken]);
    f.fakes.org.set_management(&f.account);
    for event in [
        created(&f.account),
        json!({"accountId": f.account.as_str()}),
        json!({"accountId": f.account.as_str(), "vendors": ["cloudcraft"]}),
    ] {
        let resolved = tasks::resolve_account(&f.ctx, &event).await.unwrap();
        assert_eq!(resolved.action, Action::Skip, "{event}");
        assert!(resolved.items.is_empty());
        assert!(
            resolved.reason.unwrap().contains("management account"),
            "{event}"
        );
    }
    assert!(f.fakes.members.role(&f.account, "cloudcraft").is_none());
}
