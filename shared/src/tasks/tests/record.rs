//! record-outcome.

use serde_json::json;

use super::*;
use crate::contract::RunResults;
use crate::error::{ErrorKind, Step};
use crate::fakes::Fault;
use crate::ledger::{LedgerState, Transition};
use crate::ports::LedgerStore;

fn results(f: &Fixture, action: &str, items: Vec<VendorItem>) -> RunResults {
    serde_json::from_value(json!({
        "action": action,
        "account": {"account_id": f.account, "account_name": "workload-1"},
        "trigger": "CreateAccountResult",
        "results": items,
    }))
    .unwrap()
}

/// Cloudcraft active, RISKEN failed (as the state machine's Catch leaves it).
async fn one_failed(f: &Fixture) -> RunResults {
    let active = f.onboard(VendorName::Cloudcraft, "run-1").await.unwrap();
    let mut failed = tasks::ensure_trust_role(&f.ctx, f.item(VendorName::Risken, "run-1").await)
        .await
        .unwrap();
    failed.error = Some("Fatal.Vendor".into());
    failed.detail = Some(
        json!({"errorMessage": "risken reported the scan failed", "errorType": "Fatal.Vendor"})
            .to_string(),
    );
    results(f, "onboard", vec![active, failed])
}

#[tokio::test]
async fn failures_go_to_the_ledger_outcomes_to_tags_and_the_summary_to_the_topic() {
    let f = fixture(&[VendorName::Cloudcraft, VendorName::Risken]);
    let run = one_failed(&f).await;
    let summary = tasks::record_outcome(&f.ctx, run).await.unwrap();
    assert_eq!(summary.failed, 1);
    let risken = f.fakes.ledger.item(&f.account, VendorName::Risken).unwrap();
    assert_eq!(risken.state, LedgerState::Failed);
    assert_eq!(
        risken.last_error.as_deref(),
        Some("Fatal.Vendor: risken reported the scan failed")
    );
    let tags = f.fakes.org.tags(&f.account);
    assert_eq!(tags["vendorlink:cloudcraft"], "active");
    assert_eq!(tags["vendorlink:risken"], "failed");
    let published = f.fakes.notifier.published();
    assert_eq!(published.len(), 1);
    assert_eq!(
        published[0].0,
        "vendorlink: onboarding of 222233334444 FAILED"
    );
    assert!(published[0].1.contains("- risken: failed [Fatal.Vendor]"));
}

#[tokio::test]
async fn a_failure_of_another_execution_never_overwrites_the_holder() {
    let f = fixture(&[VendorName::Cloudcraft, VendorName::Risken]);
    let mut run = one_failed(&f).await;
    for item in &mut run.results {
        item.execution = "run-other".into();
    }
    tasks::record_outcome(&f.ctx, run).await.unwrap();
    assert_eq!(
        f.fakes.ledger.state(&f.account, VendorName::Risken),
        Some(LedgerState::RoleReady)
    );
}

#[tokio::test]
async fn tags_that_cannot_be_written_do_not_fail_the_record() {
    let f = fixture(&[VendorName::Cloudcraft, VendorName::Risken]);
    let run = one_failed(&f).await;
    f.fakes
        .faults
        .inject("org.tag_account", Fault::Error(ErrorKind::Config));
    assert!(tasks::record_outcome(&f.ctx, run).await.is_ok());
}

#[tokio::test]
async fn a_failing_ledger_or_topic_fails_the_record_and_a_retry_converges() {
    for call in ["ledger.transition", "notifier.publish"] {
        let f = fixture(&[VendorName::Cloudcraft, VendorName::Risken]);
        let run = one_failed(&f).await;
        f.fakes
            .faults
            .inject(call, Fault::Error(ErrorKind::Throttled));
        let err = tasks::record_outcome(&f.ctx, run.clone())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Throttled, "{call}");
        assert_eq!(err.step(), Some(Step::RecordOutcome), "{call}");
        assert_eq!(err.account(), Some(&f.account), "{call}");
        tasks::record_outcome(&f.ctx, run).await.unwrap();
        assert_eq!(
            f.fakes.ledger.state(&f.account, VendorName::Risken),
            Some(LedgerState::Failed),
            "{call}"
        );
        assert_eq!(f.fakes.notifier.published().len(), 1, "{call}");
    }
}

#[tokio::test]
async fn a_failed_offboarding_releases_the_claim_and_notes_why() {
    let f = fixture(&[VendorName::Cloudcraft]);
    f.onboard(VendorName::Cloudcraft, "run-1").await.unwrap();
    let mut item = f
        .item_for(Action::Offboard, VendorName::Cloudcraft, "off-1")
        .await;
    // deregister-account took the item, then failed.
    f.fakes
        .ledger
        .transition(
            &f.account,
            VendorName::Cloudcraft,
            Transition::offboarding("off-1", None),
        )
        .await
        .unwrap();
    item.error = Some("Retryable.Unavailable".into());
    item.detail = Some("cloudcraft is down".into());
    let run = results(&f, "offboard", vec![item]);
    tasks::record_outcome(&f.ctx, run).await.unwrap();
    let entry = f
        .fakes
        .ledger
        .item(&f.account, VendorName::Cloudcraft)
        .unwrap();
    // Released as failed, with why: a new offboarding may take it.
    assert_eq!(entry.state, LedgerState::Failed);
    assert!(entry.offboarding_failed());
    assert_eq!(
        f.fakes.notifier.published()[0].0,
        "vendorlink: offboarding of 222233334444 FAILED"
    );
}

#[tokio::test]
async fn a_skipped_run_writes_nothing_and_publishes_nothing() {
    let f = fixture(&[VendorName::Cloudcraft]);
    let run: RunResults = serde_json::from_value(json!({
        "action": "skip", "account": {"account_id": f.account}, "trigger": "CreateAccountResult",
        "reason": "account creation FAILED: EMAIL_ALREADY_EXISTS"
    }))
    .unwrap();
    let summary = tasks::record_outcome(&f.ctx, run).await.unwrap();
    assert_eq!(summary.failed, 0);
    assert!(f.fakes.notifier.published().is_empty());
    assert!(f.fakes.org.tags(&f.account).is_empty());
}

#[tokio::test]
async fn without_a_topic_nothing_is_published() {
    let f = fixture_with(
        &[VendorName::Cloudcraft, VendorName::Risken],
        &[("NOTIFY_TOPIC_ARN", "")],
    );
    let run = one_failed(&f).await;
    tasks::record_outcome(&f.ctx, run).await.unwrap();
    assert!(f.fakes.notifier.published().is_empty());
}

#[tokio::test]
async fn the_summary_never_carries_a_credential() {
    let f = fixture(&[VendorName::Cloudcraft, VendorName::Risken]);
    let run = one_failed(&f).await;
    let summary = tasks::record_outcome(&f.ctx, run).await.unwrap();
    let text = serde_json::to_string(&summary).unwrap();
    let published = format!("{:?}", f.fakes.notifier.published());
    for leak in [text, published] {
        assert!(!leak.contains("SECRET"), "{leak}");
    }
}
