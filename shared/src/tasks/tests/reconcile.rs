//! reconcile.

use super::*;
use crate::error::ErrorKind;
use crate::fakes::Fault;
use crate::ledger::{LedgerState, Transition, TransitionOutcome};
use crate::member_iam::Drift;
use crate::ports::LedgerStore;
use crate::tasks::reconcile::{ReconcileMode, ReconcileOptions};

fn report_all() -> ReconcileOptions {
    ReconcileOptions {
        notify: true,
        ..Default::default()
    }
}

fn repair_all() -> ReconcileOptions {
    ReconcileOptions {
        mode: ReconcileMode::Repair,
        ..Default::default()
    }
}

async fn onboarded() -> Fixture {
    let f = fixture(&[VendorName::Cloudcraft, VendorName::Datatheorem]);
    // Like Data Theorem itself: no API lists what it holds.
    f.behave(
        VendorName::Datatheorem,
        crate::fakes::FakeVendorBehaviour {
            lookup: false,
            ..Default::default()
        },
    );
    for vendor in [VendorName::Cloudcraft, VendorName::Datatheorem] {
        f.onboard(vendor, "run-1").await.unwrap();
    }
    f
}

#[tokio::test]
async fn nothing_drifted_reports_clean_and_publishes_nothing() {
    let f = onboarded().await;
    let reports = tasks::reconcile_all(&f.ctx, &report_all()).await.unwrap();
    assert_eq!(reports.len(), 2);
    assert!(reports.iter().all(|r| !r.drifted()), "{reports:?}");
    // Data Theorem has no list API: it cannot tell.
    let dt = reports
        .iter()
        .find(|r| r.vendor == VendorName::Datatheorem)
        .unwrap();
    assert_eq!(dt.registered, None);
    assert!(f.fakes.notifier.published().is_empty());
}

#[tokio::test]
async fn a_deleted_role_and_a_lost_registration_are_reported_then_repaired() {
    let f = onboarded().await;
    f.fakes.members.remove_role(&f.account, "cloudcraft");
    f.fakes
        .vendors
        .vendor(VendorName::Cloudcraft)
        .forget(&f.account);
    let reports = tasks::reconcile_all(&f.ctx, &report_all()).await.unwrap();
    let cc = reports
        .iter()
        .find(|r| r.vendor == VendorName::Cloudcraft)
        .unwrap();
    assert_eq!(cc.role, [Drift::RoleMissing]);
    assert_eq!(cc.registered, Some(false));
    assert!(!cc.repaired);
    let published = f.fakes.notifier.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].0, "vendorlink: drift in 1 of 2 registrations");

    let reports = tasks::reconcile_all(&f.ctx, &repair_all()).await.unwrap();
    let cc = reports
        .iter()
        .find(|r| r.vendor == VendorName::Cloudcraft)
        .unwrap();
    assert!(cc.repaired, "{cc:?}");
    assert!(f.fakes.members.role(&f.account, "cloudcraft").is_some());
    assert_eq!(
        f.fakes
            .vendors
            .vendor(VendorName::Cloudcraft)
            .registrations(&f.account),
        1
    );
    let again = tasks::reconcile_all(&f.ctx, &report_all()).await.unwrap();
    assert!(again.iter().all(|r| !r.drifted()), "{again:?}");
}

#[tokio::test]
async fn a_vendor_whose_trust_cannot_be_read_marks_its_accounts_unchecked() {
    let f = onboarded().await;
    f.fakes.faults.inject(
        "vendor.trust_parameters",
        Fault::Error(ErrorKind::Unavailable),
    );
    // The trust cache answers within the process: a new context asks again.
    let ctx = f.fakes.context(f.ctx.config.clone());
    let reports = tasks::reconcile_all(&ctx, &report_all()).await.unwrap();
    let unchecked: Vec<_> = reports.iter().filter(|r| r.error.is_some()).collect();
    assert_eq!(unchecked.len(), 1, "{reports:?}");
}

#[tokio::test]
async fn a_check_that_fails_for_one_account_is_reported_not_raised() {
    let f = onboarded().await;
    f.fakes.members.make_unreachable(&f.account);
    let reports = tasks::reconcile_all(&f.ctx, &repair_all()).await.unwrap();
    assert!(reports.iter().all(|r| r.error.is_some() && !r.repaired));
}

#[tokio::test]
async fn an_unfinished_offboarding_is_never_repaired() {
    let f = onboarded().await;
    let held = f
        .fakes
        .ledger
        .transition(
            &f.account,
            VendorName::Cloudcraft,
            Transition::offboarding("offboard-1", None),
        )
        .await
        .unwrap();
    assert!(matches!(held, TransitionOutcome::Applied(_)));
    f.fail(
        VendorName::Cloudcraft,
        "offboarding failed: cloudcraft is down",
        "offboard-1",
    )
    .await;
    f.fakes.members.remove_role(&f.account, "cloudcraft");
    let reports = tasks::reconcile_all(&f.ctx, &repair_all()).await.unwrap();
    let cc = reports
        .iter()
        .find(|r| r.vendor == VendorName::Cloudcraft)
        .unwrap();
    assert!(cc.error.as_deref().unwrap().contains("did not finish"));
    assert!(f.fakes.members.role(&f.account, "cloudcraft").is_none());
}

#[tokio::test]
async fn only_active_items_of_enabled_vendors_are_checked() {
    let f = onboarded().await;
    f.fakes
        .ledger
        .transition(
            &f.account,
            VendorName::Datatheorem,
            Transition::offboarded(),
        )
        .await
        .unwrap();
    let reports = tasks::reconcile_all(&f.ctx, &report_all()).await.unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        f.fakes.ledger.state(&f.account, VendorName::Datatheorem),
        Some(LedgerState::Offboarded)
    );
}
