//! Faults at every call of every vendor task: each call, in turn, fails
//! with each kind of fault (a retryable error, a fatal one, a timeout, an
//! answer lost after the other side acted). The task must fail with an
//! error that names its step, account and vendor, and running the task
//! again must reach the same end state as a run without faults: one role,
//! one registration, the ledger where it belongs.

use super::*;
use crate::contract::Outcome;
use crate::fakes::{FakeVendorBehaviour, Fault};
use crate::ledger::LedgerState;

const VENDOR: VendorName = VendorName::Skyhigh;
const ROLE: &str = "SkyhighSecurityAudit";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Task {
    Ensure,
    Register,
    Check,
    Deregister,
}

/// A fixture and the item the task takes, as the steps before it left them.
async fn prepared(task: Task) -> (Fixture, VendorItem) {
    let f = fixture(&[VENDOR]);
    // A vendor that looks accounts up, processes for one check, and can
    // remove an account.
    f.behave(
        VENDOR,
        FakeVendorBehaviour {
            pending_polls: 1,
            ..Default::default()
        },
    );
    let item = f.item(VENDOR, "run-1").await;
    let item = match task {
        Task::Ensure => item,
        Task::Register => tasks::ensure_trust_role(&f.ctx, item).await.unwrap(),
        Task::Check => {
            let item = tasks::ensure_trust_role(&f.ctx, item).await.unwrap();
            tasks::register_account(&f.ctx, item).await.unwrap()
        }
        Task::Deregister => {
            let done = f.onboard(VENDOR, "run-1").await.unwrap();
            assert_eq!(done.outcome, Some(Outcome::Active));
            f.item_for(Action::Offboard, VENDOR, "off-1").await
        }
    };
    f.fakes.faults.reset();
    (f, item)
}

async fn run(task: Task, f: &Fixture, item: VendorItem) -> crate::Result<VendorItem> {
    match task {
        Task::Ensure => tasks::ensure_trust_role(&f.ctx, item).await,
        Task::Register => tasks::register_account(&f.ctx, item).await,
        Task::Check => tasks::check_status(&f.ctx, item).await,
        Task::Deregister => tasks::deregister_account(&f.ctx, item).await,
    }
}

/// Runs the task, then the rest of its branch, without faults.
async fn finish(task: Task, f: &Fixture, item: VendorItem) -> VendorItem {
    let mut item = run(task, f, item).await.unwrap();
    if task == Task::Ensure {
        item = tasks::register_account(&f.ctx, item).await.unwrap();
    }
    for _ in 0..10 {
        if item.status != ItemStatus::Pending {
            break;
        }
        item = tasks::check_status(&f.ctx, item).await.unwrap();
    }
    item
}

fn assert_converged(task: Task, f: &Fixture, item: &VendorItem, case: &str) {
    let vendor = f.fakes.vendors.vendor(VENDOR);
    let state = f.fakes.ledger.state(&f.account, VENDOR);
    if task == Task::Deregister {
        assert_eq!(item.outcome, Some(Outcome::Offboarded), "{case}");
        assert_eq!(state, Some(LedgerState::Offboarded), "{case}");
        assert!(f.fakes.members.role(&f.account, ROLE).is_none(), "{case}");
        assert_eq!(vendor.registrations(&f.account), 0, "{case}");
        return;
    }
    assert_eq!(item.outcome, Some(Outcome::Active), "{case}");
    assert_eq!(state, Some(LedgerState::Active), "{case}");
    let role = f.fakes.members.role(&f.account, ROLE);
    assert!(
        role.is_some_and(|r| r.managed_for == Some(VENDOR)),
        "{case}"
    );
    assert_eq!(
        vendor.registrations(&f.account),
        1,
        "{case}: registered twice"
    );
    assert_eq!(vendor.created(), 1, "{case}: registered twice");
    let entry = f.fakes.ledger.item(&f.account, VENDOR).unwrap();
    assert_eq!(entry.attempts, 1, "{case}: a retry counted as an attempt");
}

async fn fault_matrix(task: Task) -> usize {
    let (f, item) = prepared(task).await;
    run(task, &f, item).await.unwrap();
    let calls = f.fakes.faults.calls();
    assert!(!calls.is_empty());
    let mut cases = 0;
    for (i, call) in calls.iter().enumerate() {
        let nth = calls[..i].iter().filter(|c| *c == call).count();
        for fault in Fault::ALL {
            let case = format!("{task:?}: {fault:?} at {call} (#{nth})");
            let (f, item) = prepared(task).await;
            f.fakes.faults.inject_nth(call, nth, fault);
            let err = run(task, &f, item.clone())
                .await
                .expect_err(&format!("{case}: the task did not fail"));
            assert!(err.step().is_some(), "{case}: {err}");
            assert_eq!(err.account(), Some(&f.account), "{case}: {err}");
            assert_eq!(err.vendor(), Some(VENDOR), "{case}: {err}");
            if fault != Fault::Error(crate::ErrorKind::Config) {
                assert!(err.kind().is_retryable(), "{case}: {err}");
            }
            let done = finish(task, &f, item).await;
            assert_converged(task, &f, &done, &case);
            cases += 1;
        }
    }
    cases
}

#[tokio::test]
async fn ensure_trust_role_converges_after_a_fault_at_any_call() {
    assert!(fault_matrix(Task::Ensure).await >= 16);
}

#[tokio::test]
async fn register_account_converges_after_a_fault_at_any_call() {
    assert!(fault_matrix(Task::Register).await >= 12);
}

#[tokio::test]
async fn check_status_converges_after_a_fault_at_any_call() {
    assert!(fault_matrix(Task::Check).await >= 12);
}

#[tokio::test]
async fn deregister_account_converges_after_a_fault_at_any_call() {
    assert!(fault_matrix(Task::Deregister).await >= 16);
}
