//! A new role and a vendor that cannot assume it yet; polling by time.

use super::*;
use crate::config::PollPolicy;
use crate::contract::Outcome;
use crate::error::{ErrorKind, Step};
use crate::fakes::FakeVendorBehaviour;

#[tokio::test]
async fn a_created_role_waits_for_propagation_and_one_already_right_does_not() {
    let f = fixture_with(
        &[VendorName::Cloudcraft],
        &[("ROLE_PROPAGATION_SECONDS", "20")],
    );
    let item = f.role_ready(VendorName::Cloudcraft, "run-1").await;
    assert_eq!(item.wait_seconds, 20);
    assert!(item.role_changed_at.is_some());

    // The same role, already right, in a later execution: no wait.
    f.fail(VendorName::Cloudcraft, "x", "run-1").await;
    let again = f.role_ready(VendorName::Cloudcraft, "run-2").await;
    assert_eq!(again.wait_seconds, 0);
    assert_eq!(again.role_changed_at, None);
}

#[tokio::test]
async fn a_vendor_refusing_a_new_role_is_retried_as_role_not_ready_until_it_accepts() {
    let f = fixture(&[VendorName::Cloudcraft]);
    f.behave(
        VendorName::Cloudcraft,
        FakeVendorBehaviour {
            refuses_role: 2,
            ..Default::default()
        },
    );
    let item = f.role_ready(VendorName::Cloudcraft, "run-1").await;
    for _ in 0..2 {
        let err = tasks::register_account(&f.ctx, item.clone())
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "Retryable.RoleNotReady", "{err}");
        assert_eq!(err.step(), Some(Step::RegisterAccount));
        assert_eq!(err.vendor(), Some(VendorName::Cloudcraft));
    }
    let done = tasks::register_account(&f.ctx, item).await.unwrap();
    assert_eq!(done.outcome, Some(Outcome::Active));
    assert_eq!(f.fakes.vendors.vendor(VendorName::Cloudcraft).created(), 1);
}

#[tokio::test]
async fn a_refusal_of_a_role_that_is_not_new_is_a_vendor_error() {
    let f = fixture(&[VendorName::Cloudcraft]);
    f.behave(
        VendorName::Cloudcraft,
        FakeVendorBehaviour {
            refuses_role: 1,
            ..Default::default()
        },
    );
    let mut item = f.role_ready(VendorName::Cloudcraft, "run-1").await;
    // Changed 20 minutes ago: long propagated, so the vendor means it.
    item.role_changed_at = item.role_changed_at.map(|at| at - 20 * 60);
    let err = tasks::register_account(&f.ctx, item).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Vendor, "{err}");
}

#[tokio::test]
async fn a_stalled_registration_of_a_new_role_is_resumed_past_the_usual_count() {
    let f = fixture(&[VendorName::Risken]);
    f.behave(
        VendorName::Risken,
        FakeVendorBehaviour {
            stalls_until_registers: 12,
            ..Default::default()
        },
    );
    let item = f.onboard(VendorName::Risken, "run-1").await.unwrap();
    assert_eq!(item.outcome, Some(Outcome::Active), "{:?}", item.error);
    assert_eq!(item.resumes, 11);
    assert_eq!(f.fakes.vendors.vendor(VendorName::Risken).created(), 1);
}

#[test]
fn waits_grow_by_half_up_to_the_ceiling() {
    let poll = PollPolicy {
        first_wait: 30,
        max_wait: 600,
        budget: 3600,
    };
    let waits: Vec<u32> = (0..10).map(|n| poll.wait(n)).collect();
    assert_eq!(waits, [30, 45, 68, 102, 153, 230, 345, 518, 600, 600]);
    let zero = PollPolicy {
        first_wait: 0,
        max_wait: 600,
        budget: 60,
    };
    assert_eq!(zero.wait(5), 0);
    assert_eq!(poll.wait(u32::MAX), 600);
}

#[tokio::test]
async fn polling_stops_by_time_not_by_count() {
    let f = fixture_with(
        &[VendorName::Risken],
        &[("POLL_SECONDS", "10"), ("POLL_BUDGET_SECONDS", "3600")],
    );
    f.behave(
        VendorName::Risken,
        FakeVendorBehaviour {
            pending_polls: 1000,
            ..Default::default()
        },
    );
    let item = f.role_ready(VendorName::Risken, "run-1").await;
    let mut item = tasks::register_account(&f.ctx, item).await.unwrap();
    assert_eq!(item.status, ItemStatus::Pending);
    assert!(!item.expired);
    assert_eq!(item.wait_seconds, 10);
    // Far more than 60 checks, all within the hour: still polling.
    for _ in 0..80 {
        item = tasks::check_status(&f.ctx, item).await.unwrap();
        assert_eq!(item.status, ItemStatus::Pending);
        assert!(!item.expired);
    }
    assert_eq!(item.wait_seconds, 600);
    // The first pending answer was more than an hour ago: expired.
    item.polling_since = item.polling_since.map(|at| at - 3600);
    let item = tasks::check_status(&f.ctx, item).await.unwrap();
    assert_eq!(item.status, ItemStatus::Pending);
    assert!(item.expired);
}
