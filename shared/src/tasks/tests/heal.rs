//! Healing: missed events, failed and stuck items are found; only those an
//! execution can fix are started, once; the rest wait for a person.

use std::sync::Mutex;

use async_trait::async_trait;

use super::*;
use crate::contract::Outcome;
use crate::error::ErrorKind;
use crate::fakes::Fault;
use crate::ledger::{LedgerState, Transition};
use crate::ports::{Executions, LedgerStore, StartOutcome};
use crate::tasks::heal::{HealAction, Problem};
use crate::tasks::{HealMode, Verdict};

/// Step Functions' same-name rule, in memory.
#[derive(Default)]
struct Started(Mutex<Vec<(String, String)>>);

#[async_trait]
impl Executions for Started {
    async fn start(&self, name: &str, input: &str) -> crate::Result<StartOutcome> {
        let mut started = self.0.lock().unwrap();
        if started.iter().any(|(n, _)| n == name) {
            return Ok(StartOutcome::AlreadyStarted);
        }
        started.push((name.to_owned(), input.to_owned()));
        Ok(StartOutcome::Started)
    }
}

#[tokio::test]
async fn a_missed_event_is_found_and_started_once() {
    let f = fixture(&[VendorName::Cloudcraft, VendorName::Risken]);
    let report = tasks::heal(&f.ctx, None, HealMode::Report, None)
        .await
        .unwrap();
    assert_eq!(report.len(), 2);
    assert!(report
        .iter()
        .all(|r| r.problem == Problem::NeverOnboarded && r.action == HealAction::Reported));

    let started = Started::default();
    let healed = tasks::heal(&f.ctx, None, HealMode::Start, Some(&started))
        .await
        .unwrap();
    assert!(matches!(healed[0].action, HealAction::Started { .. }));
    let runs = started.0.lock().unwrap().clone();
    assert_eq!(runs.len(), 1, "one execution per account");
    let input: serde_json::Value = serde_json::from_str(&runs[0].1).unwrap();
    assert_eq!(
        input,
        json!({"accountId": "222233334444", "action": "onboard", "vendors": ["cloudcraft", "risken"]})
    );
    // A second heal of the same findings starts nothing twice.
    let again = tasks::heal(&f.ctx, None, HealMode::Start, Some(&started))
        .await
        .unwrap();
    assert!(matches!(again[0].action, HealAction::AlreadyStarted { .. }));
    assert_eq!(started.0.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_failed_item_is_healed_and_an_active_one_is_not() {
    let f = fixture(&[VendorName::Cloudcraft, VendorName::Risken]);
    f.onboard(VendorName::Cloudcraft, "run-1").await.unwrap();
    f.fakes
        .faults
        .inject("vendor.register", Fault::Error(ErrorKind::Vendor));
    f.onboard(VendorName::Risken, "run-1").await.unwrap_err();
    f.fail(VendorName::Risken, "risken refused", "run-1").await;
    let report = tasks::heal(&f.ctx, None, HealMode::Report, None)
        .await
        .unwrap();
    assert_eq!(report.len(), 1, "{report:?}");
    assert_eq!(
        (report[0].vendor, report[0].problem),
        (VendorName::Risken, Problem::Failed)
    );
    assert!(report[0].detail.contains("risken refused"));
    // The started execution (here: its branch) converges.
    let done = f.onboard(VendorName::Risken, "heal-1").await.unwrap();
    assert_eq!(done.outcome, Some(Outcome::Active));
    assert!(tasks::heal(&f.ctx, None, HealMode::Report, None)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn unverified_items_are_reported_and_never_started_until_settled() {
    let f = fixture(&[VendorName::Datatheorem]);
    f.without_lookup(VendorName::Datatheorem);
    f.fakes.faults.inject("vendor.register", Fault::LostAnswer);
    let item = f.onboard(VendorName::Datatheorem, "run-1").await.unwrap();
    assert_eq!(item.outcome, Some(Outcome::Unverified));
    let started = Started::default();
    let report = tasks::heal(&f.ctx, None, HealMode::Start, Some(&started))
        .await
        .unwrap();
    assert_eq!(report[0].problem, Problem::Unverified);
    assert_eq!(report[0].action, HealAction::Reported);
    assert!(started.0.lock().unwrap().is_empty());
    assert!(report[0].detail.contains("resolve-unverified"));

    // Settled by hand as absent: the next heal starts it, and it converges.
    tasks::resolve_unverified(
        &f.ctx,
        &f.account,
        VendorName::Datatheorem,
        &Verdict::Absent,
        "operator",
    )
    .await
    .unwrap();
    let report = tasks::heal(&f.ctx, None, HealMode::Start, Some(&started))
        .await
        .unwrap();
    assert_eq!(report[0].problem, Problem::Failed);
    assert_eq!(started.0.lock().unwrap().len(), 1);
    let done = f.onboard(VendorName::Datatheorem, "heal-1").await.unwrap();
    assert_eq!(done.outcome, Some(Outcome::Active));
    assert_eq!(f.fakes.vendors.vendor(VendorName::Datatheorem).created(), 2);
}

#[tokio::test]
async fn settling_as_present_makes_it_active_and_anything_else_is_refused() {
    let f = fixture(&[VendorName::Datatheorem]);
    f.without_lookup(VendorName::Datatheorem);
    let err = tasks::resolve_unverified(
        &f.ctx,
        &f.account,
        VendorName::Datatheorem,
        &Verdict::Absent,
        "operator",
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadInput);
    assert!(err.to_string().contains("not unverified"), "{err}");
    f.fakes.faults.inject("vendor.register", Fault::Timeout);
    f.onboard(VendorName::Datatheorem, "run-1").await.unwrap();
    let entry = tasks::resolve_unverified(
        &f.ctx,
        &f.account,
        VendorName::Datatheorem,
        &Verdict::Present {
            reference: Some("auth-7".into()),
        },
        "operator",
    )
    .await
    .unwrap();
    assert_eq!(entry.state, LedgerState::Active);
    assert_eq!(entry.vendor_ref.as_deref(), Some("auth-7"));
    assert_eq!(entry.last_error, None);
}

#[tokio::test]
async fn a_stuck_registering_item_is_released_unverified_without_a_lookup_and_failed_with_one() {
    let f = fixture(&[VendorName::Datatheorem, VendorName::Cloudcraft]);
    f.without_lookup(VendorName::Datatheorem);
    for vendor in [VendorName::Datatheorem, VendorName::Cloudcraft] {
        let item = f.item(vendor, "died-1").await;
        tasks::ensure_trust_role(&f.ctx, item).await.unwrap();
        f.fakes
            .ledger
            .transition(
                &f.account,
                vendor,
                Transition::registering().held_by("died-1"),
            )
            .await
            .unwrap();
        f.fakes
            .ledger
            .backdate(&f.account, vendor, "2020-01-01T00:00:00Z");
    }
    let started = Started::default();
    let report = tasks::heal(&f.ctx, None, HealMode::Start, Some(&started))
        .await
        .unwrap();
    let dt = report
        .iter()
        .find(|r| r.vendor == VendorName::Datatheorem)
        .unwrap();
    let cc = report
        .iter()
        .find(|r| r.vendor == VendorName::Cloudcraft)
        .unwrap();
    assert_eq!(dt.problem, Problem::Unverified);
    assert_eq!(dt.action, HealAction::Reported);
    assert_eq!(cc.problem, Problem::Stuck);
    assert!(matches!(cc.action, HealAction::Started { .. }));
    assert_eq!(
        f.fakes.ledger.state(&f.account, VendorName::Datatheorem),
        Some(LedgerState::Unverified)
    );
    assert_eq!(
        f.fakes.ledger.state(&f.account, VendorName::Cloudcraft),
        Some(LedgerState::Failed)
    );
    let input = &started.0.lock().unwrap()[0].1;
    assert!(
        input.contains("cloudcraft") && !input.contains("datatheorem"),
        "{input}"
    );
}

#[tokio::test]
async fn accounts_out_of_scope_and_offboarded_items_are_not_onboarded() {
    let f = fixture_with(&[VendorName::Cloudcraft], &[("INCLUDE_OUS", SANDBOX_OU)]);
    assert!(tasks::heal(&f.ctx, None, HealMode::Report, None)
        .await
        .unwrap()
        .is_empty());
    let f = fixture(&[VendorName::Cloudcraft]);
    f.fakes
        .ledger
        .transition(&f.account, VendorName::Cloudcraft, Transition::offboarded())
        .await
        .unwrap();
    assert!(tasks::heal(&f.ctx, None, HealMode::Report, None)
        .await
        .unwrap()
        .is_empty());
}
