//! Onboarding and offboarding exclude each other: an onboarding in flight
//! stops before any vendor call once an offboarding (or another execution,
//! after a stale claim) has taken the account, and never moves the ledger
//! back.

use serde_json::json;

use super::*;
use crate::contract::Outcome;
use crate::fakes::FakeVendorBehaviour;
use crate::ledger::LedgerState;

/// Offboards the account for the vendor in its own execution, while `item`
/// (an onboarding) is in flight.
async fn offboard_meanwhile(f: &Fixture, vendor: VendorName) {
    let item = f.item_for(Action::Offboard, vendor, "off-1").await;
    let item = tasks::deregister_account(&f.ctx, item).await.unwrap();
    assert!(matches!(
        item.outcome,
        Some(Outcome::Offboarded | Outcome::ManualStepRequired)
    ));
}

#[tokio::test]
async fn an_onboarding_offboarded_before_it_registers_stops_without_calling_the_vendor() {
    let f = fixture(&[VendorName::Cloudcraft]);
    let item = f.role_ready(VendorName::Cloudcraft, "run-1").await;
    offboard_meanwhile(&f, VendorName::Cloudcraft).await;
    f.fakes.faults.reset();

    let item = tasks::register_account(&f.ctx, item).await.unwrap();
    assert_eq!(item.outcome, Some(Outcome::Skipped));
    assert!(item.detail.unwrap().contains("execution off-1 has taken"));
    assert_eq!(f.fakes.faults.count("vendor.register"), 0);
    assert_eq!(
        f.fakes.ledger.state(&f.account, VendorName::Cloudcraft),
        Some(LedgerState::Offboarded)
    );
}

#[tokio::test]
async fn an_onboarding_offboarded_while_it_polls_stops_and_never_marks_the_account_active() {
    let f = fixture(&[VendorName::Skyhigh]);
    f.behave(
        VendorName::Skyhigh,
        FakeVendorBehaviour {
            pending_polls: 2,
            ..Default::default()
        },
    );
    let item = f.role_ready(VendorName::Skyhigh, "run-1").await;
    let item = tasks::register_account(&f.ctx, item).await.unwrap();
    assert_eq!(item.status, ItemStatus::Pending);
    offboard_meanwhile(&f, VendorName::Skyhigh).await;

    let item = tasks::check_status(&f.ctx, item).await.unwrap();
    assert_eq!(item.outcome, Some(Outcome::Skipped));
    assert_eq!(
        f.fakes.ledger.state(&f.account, VendorName::Skyhigh),
        Some(LedgerState::Offboarded)
    );
}

#[tokio::test]
async fn a_late_answer_of_an_onboarding_never_overwrites_an_offboarded_item() {
    let f = fixture(&[VendorName::Cloudcraft]);
    let item = f.item(VendorName::Cloudcraft, "run-1").await;
    tasks::ensure_trust_role(&f.ctx, item).await.unwrap();
    offboard_meanwhile(&f, VendorName::Cloudcraft).await;
    // The onboarding's own moves are refused: it no longer holds the item.
    for transition in [
        crate::ledger::Transition::registered("ref-1").held_by("run-1"),
        crate::ledger::Transition::active().held_by("run-1"),
    ] {
        let outcome = crate::ports::LedgerStore::transition(
            &*f.fakes.ledger,
            &f.account,
            VendorName::Cloudcraft,
            transition,
        )
        .await
        .unwrap();
        assert!(matches!(
            outcome,
            crate::ledger::TransitionOutcome::Refused { .. }
        ));
    }
}

#[tokio::test]
async fn a_vendor_named_twice_in_a_direct_request_runs_once() {
    let f = fixture(&[VendorName::Cloudcraft, VendorName::Datatheorem]);
    let resolved = tasks::resolve_account(
        &f.ctx,
        &json!({"accountId": f.account, "vendors": ["datatheorem", "cloudcraft", "datatheorem"]}),
    )
    .await
    .unwrap();
    let vendors: Vec<_> = resolved.items.iter().map(|i| i.vendor).collect();
    assert_eq!(vendors, [VendorName::Datatheorem, VendorName::Cloudcraft]);
}
