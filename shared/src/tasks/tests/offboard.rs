//! deregister-account.

use super::*;
use crate::contract::Outcome;
use crate::error::{ErrorKind, Step};
use crate::fakes::{FakeRole, FakeVendorBehaviour};
use crate::ledger::LedgerState;

async fn onboarded(vendors: &[VendorName]) -> Fixture {
    let f = fixture(vendors);
    for vendor in vendors {
        let item = f.onboard(*vendor, "run-1").await.unwrap();
        assert_eq!(item.outcome, Some(Outcome::Active));
    }
    f
}

#[tokio::test]
async fn offboarding_removes_the_account_and_deletes_the_role() {
    let f = onboarded(&[VendorName::Cloudcraft]).await;
    let item = f
        .item_for(Action::Offboard, VendorName::Cloudcraft, "off-1")
        .await;
    let item = tasks::deregister_account(&f.ctx, item).await.unwrap();
    assert_eq!(item.outcome, Some(Outcome::Offboarded));
    assert!(f.fakes.members.role(&f.account, "cloudcraft").is_none());
    assert_eq!(
        f.fakes
            .vendors
            .vendor(VendorName::Cloudcraft)
            .registrations(&f.account),
        0
    );
    let entry = f
        .fakes
        .ledger
        .item(&f.account, VendorName::Cloudcraft)
        .unwrap();
    assert_eq!(entry.state, LedgerState::Offboarded);
    assert_eq!(entry.execution.as_deref(), Some("off-1"));
}

#[tokio::test]
async fn offboarding_can_keep_the_role() {
    let f = onboarded(&[VendorName::Cloudcraft]).await;
    let mut item = f
        .item_for(Action::Offboard, VendorName::Cloudcraft, "off-1")
        .await;
    item.keep_roles = true;
    let item = tasks::deregister_account(&f.ctx, item).await.unwrap();
    assert_eq!(item.outcome, Some(Outcome::Offboarded));
    assert!(f.fakes.members.role(&f.account, "cloudcraft").is_some());
}

#[tokio::test]
async fn a_role_vendorlink_did_not_create_is_left_in_place() {
    let f = onboarded(&[VendorName::Cloudcraft]).await;
    let mut role = f.fakes.members.role(&f.account, "cloudcraft").unwrap();
    role.managed_for = None;
    f.fakes
        .members
        .put_role(&f.account, "cloudcraft", FakeRole { ..role });
    let item = f
        .item_for(Action::Offboard, VendorName::Cloudcraft, "off-1")
        .await;
    let item = tasks::deregister_account(&f.ctx, item).await.unwrap();
    assert!(item.detail.unwrap().contains("not created by vendorlink"));
    assert!(f.fakes.members.role(&f.account, "cloudcraft").is_some());
}

#[tokio::test]
async fn a_closed_account_that_cannot_be_entered_is_offboarded_with_a_note() {
    let f = onboarded(&[VendorName::Cloudcraft]).await;
    f.fakes.members.make_unreachable(&f.account);
    let item = f
        .item_for(Action::Offboard, VendorName::Cloudcraft, "off-1")
        .await;
    let item = tasks::deregister_account(&f.ctx, item).await.unwrap();
    assert_eq!(item.outcome, Some(Outcome::Offboarded));
    assert!(item
        .detail
        .unwrap()
        .contains("the account can no longer be entered"));
}

#[tokio::test]
async fn a_vendor_without_a_removal_api_gives_a_manual_step() {
    let f = onboarded(&[VendorName::Datatheorem]).await;
    f.behave(
        VendorName::Datatheorem,
        FakeVendorBehaviour {
            removal_api: false,
            ..Default::default()
        },
    );
    let item = f
        .item_for(Action::Offboard, VendorName::Datatheorem, "off-1")
        .await;
    let item = tasks::deregister_account(&f.ctx, item).await.unwrap();
    assert_eq!(item.outcome, Some(Outcome::ManualStepRequired));
    let entry = f
        .fakes
        .ledger
        .item(&f.account, VendorName::Datatheorem)
        .unwrap();
    assert_eq!(entry.state, LedgerState::Offboarded);
    assert!(entry
        .last_error
        .unwrap()
        .starts_with("manual step required"));
}

#[tokio::test]
async fn a_pending_removal_is_polled_until_done() {
    let f = onboarded(&[VendorName::Skyhigh]).await;
    f.behave(
        VendorName::Skyhigh,
        FakeVendorBehaviour {
            removal_pending_polls: 2,
            ..Default::default()
        },
    );
    let item = f
        .item_for(Action::Offboard, VendorName::Skyhigh, "off-1")
        .await;
    let mut item = tasks::deregister_account(&f.ctx, item).await.unwrap();
    assert_eq!(item.status, ItemStatus::Pending);
    assert_eq!(
        f.fakes.ledger.state(&f.account, VendorName::Skyhigh),
        Some(LedgerState::Offboarding)
    );
    while item.status == ItemStatus::Pending {
        item = tasks::check_status(&f.ctx, item).await.unwrap();
    }
    assert_eq!(item.outcome, Some(Outcome::Offboarded));
    assert_eq!(
        f.fakes.ledger.state(&f.account, VendorName::Skyhigh),
        Some(LedgerState::Offboarded)
    );
}

#[tokio::test]
async fn a_stalled_removal_is_an_error_and_never_offboarded() {
    // Skyhigh's deleteAccounts can end in FAILURE on sts:AssumeRole, which
    // its client reports as stalled: nothing was removed.
    let f = onboarded(&[VendorName::Skyhigh]).await;
    f.behave(
        VendorName::Skyhigh,
        FakeVendorBehaviour {
            removal_pending_polls: 1,
            removal_stalls: true,
            ..Default::default()
        },
    );
    let item = f
        .item_for(Action::Offboard, VendorName::Skyhigh, "off-1")
        .await;
    let item = tasks::deregister_account(&f.ctx, item).await.unwrap();
    assert_eq!(item.status, ItemStatus::Pending);
    let err = tasks::check_status(&f.ctx, item).await.unwrap_err();
    assert_eq!(err.error_type(), "Fatal.Vendor");
    assert!(err.message().contains("removal failed"), "{err}");
    assert_eq!(
        f.fakes.ledger.state(&f.account, VendorName::Skyhigh),
        Some(LedgerState::Offboarding)
    );
}

#[tokio::test]
async fn a_failing_vendor_is_an_error_naming_the_step_account_and_vendor() {
    let f = onboarded(&[VendorName::Cloudcraft]).await;
    f.fakes.faults.inject(
        "vendor.deregister",
        crate::fakes::Fault::Error(ErrorKind::Unavailable),
    );
    let item = f
        .item_for(Action::Offboard, VendorName::Cloudcraft, "off-1")
        .await;
    let err = tasks::deregister_account(&f.ctx, item).await.unwrap_err();
    assert_eq!(err.step(), Some(Step::DeregisterAccount));
    assert_eq!(err.account(), Some(&f.account));
    assert_eq!(err.vendor(), Some(VendorName::Cloudcraft));
    // Nothing was deleted before the vendor let go of the account.
    assert!(f.fakes.members.role(&f.account, "cloudcraft").is_some());
}

#[tokio::test]
async fn two_offboardings_at_once_remove_the_account_once() {
    let f = onboarded(&[VendorName::Skyhigh]).await;
    f.behave(
        VendorName::Skyhigh,
        FakeVendorBehaviour {
            removal_pending_polls: 2,
            ..Default::default()
        },
    );
    let first = f
        .item_for(Action::Offboard, VendorName::Skyhigh, "close-1")
        .await;
    let second = f
        .item_for(Action::Offboard, VendorName::Skyhigh, "close-2")
        .await;
    let mut late = second.clone();
    late.execution = "close-3".into();
    let first = tasks::deregister_account(&f.ctx, first).await.unwrap();
    assert_eq!(first.status, ItemStatus::Pending);
    // The second CloseAccount event's execution finds the claim and stops.
    let second = tasks::deregister_account(&f.ctx, second).await.unwrap();
    assert_eq!(second.outcome, Some(Outcome::Skipped));
    assert!(second.detail.unwrap().contains("close-1"));
    // A retry of the first's step goes on (the vendor no longer lists the
    // account, or is still removing it: either way it converges).
    let mut item = tasks::deregister_account(&f.ctx, first).await.unwrap();
    while item.status == ItemStatus::Pending {
        item = tasks::check_status(&f.ctx, item).await.unwrap();
    }
    assert_eq!(item.outcome, Some(Outcome::Offboarded));
    // Offboarded: a late duplicate says so and does nothing.
    let late = tasks::deregister_account(&f.ctx, late).await.unwrap();
    assert_eq!(late.outcome, Some(Outcome::Offboarded));
    assert_eq!(f.fakes.faults.count("vendor.deregister"), 2);
}

#[tokio::test]
async fn an_onboarding_in_flight_stops_once_an_offboarding_holds_the_account() {
    let f = fixture(&[VendorName::Cloudcraft]);
    let item = f.role_ready(VendorName::Cloudcraft, "run-1").await;
    let off = f
        .item_for(Action::Offboard, VendorName::Cloudcraft, "close-1")
        .await;
    let off = tasks::deregister_account(&f.ctx, off).await.unwrap();
    assert_eq!(off.outcome, Some(Outcome::Offboarded));
    let late = tasks::register_account(&f.ctx, item).await.unwrap();
    assert_eq!(late.outcome, Some(Outcome::Skipped));
    assert_eq!(f.fakes.vendors.vendor(VendorName::Cloudcraft).created(), 0);
    assert_eq!(
        f.fakes.ledger.state(&f.account, VendorName::Cloudcraft),
        Some(LedgerState::Offboarded)
    );
}
