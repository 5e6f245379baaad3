use vendorlink_shared::ledger::{Ledger, LedgerState, Transition, TransitionOutcome};
use vendorlink_shared::{AccountId, VendorName};

use crate::support::{fresh_account, random_account_id};

async fn fresh_ledger() -> Ledger {
    let (sdk, _) = fresh_account().await;
    let ledger = Ledger::new(aws_sdk_dynamodb::Client::new(&sdk), "vendorlink-ledger");
    ledger.ensure_table().await.unwrap();
    // A second call finds the table and is not an error.
    ledger.ensure_table().await.unwrap();
    ledger
}

async fn apply(
    ledger: &Ledger,
    account: &AccountId,
    vendor: VendorName,
    t: Transition,
) -> TransitionOutcome {
    ledger.transition(account, vendor, t).await.unwrap()
}

fn applied(outcome: TransitionOutcome) -> vendorlink_shared::ledger::LedgerEntry {
    match outcome {
        TransitionOutcome::Applied(entry) => entry,
        other => panic!("expected the transition to apply, got {other:?}"),
    }
}

#[tokio::test]
async fn onboarding_moves_through_every_state_recording_its_fields() {
    let ledger = fresh_ledger().await;
    let account = random_account_id();
    let v = VendorName::Skyhigh;
    let e = applied(apply(&ledger, &account, v, Transition::claim("exec-1", None)).await);
    assert_eq!(
        (e.state, e.attempts, e.execution.as_deref()),
        (LedgerState::Claimed, 1, Some("exec-1"))
    );
    let e = applied(
        apply(
            &ledger,
            &account,
            v,
            Transition::role_ready("arn:aws:iam::1:role/r"),
        )
        .await,
    );
    assert_eq!(e.state, LedgerState::RoleReady);
    assert_eq!(e.role_arn.as_deref(), Some("arn:aws:iam::1:role/r"));
    let e = applied(apply(&ledger, &account, v, Transition::registered("status-42")).await);
    assert_eq!(e.vendor_ref.as_deref(), Some("status-42"));
    let e = applied(apply(&ledger, &account, v, Transition::active()).await);
    assert_eq!(e.state, LedgerState::Active);
    assert_eq!(e.role_arn.as_deref(), Some("arn:aws:iam::1:role/r"));
    assert_eq!(e.attempts, 1);
    assert!(!e.created_at.is_empty() && e.updated_at >= e.created_at);
    assert_eq!(ledger.get(&account, v).await.unwrap(), Some(e));
}

/// Every execution after the first is refused its claim. (This checks the
/// condition expression. DynamoDB applies a conditional write atomically;
/// moto 5.2.5 does not: with eight claims sent at once it let two through in
/// one of three `make test` runs, so concurrency is not tested here.)
#[tokio::test]
async fn claims_after_the_first_are_refused_to_every_other_execution() {
    let ledger = fresh_ledger().await;
    let account = random_account_id();
    let mut winners = 0;
    for i in 0..8 {
        let outcome = ledger
            .transition(
                &account,
                VendorName::Cloudcraft,
                Transition::claim(&format!("exec-{i}"), None),
            )
            .await
            .unwrap();
        match outcome {
            TransitionOutcome::Applied(_) => winners += 1,
            TransitionOutcome::Refused { current } => {
                assert_eq!(current.unwrap().state, LedgerState::Claimed);
            }
        }
    }
    assert_eq!(winners, 1);
    let entry = ledger
        .get(&account, VendorName::Cloudcraft)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.attempts, 1);
}

#[tokio::test]
async fn an_active_account_cannot_be_claimed_again() {
    let ledger = fresh_ledger().await;
    let account = random_account_id();
    let v = VendorName::Risken;
    for t in [
        Transition::claim("e1", None),
        Transition::role_ready("arn"),
        Transition::registered("r"),
        Transition::active(),
    ] {
        applied(apply(&ledger, &account, v, t).await);
    }
    match apply(&ledger, &account, v, Transition::claim("e2", None)).await {
        TransitionOutcome::Refused { current } => {
            assert_eq!(current.unwrap().state, LedgerState::Active)
        }
        other => panic!("claim of an active account applied: {other:?}"),
    }
}

#[tokio::test]
async fn a_failed_account_can_be_claimed_again_and_counts_the_attempt() {
    let ledger = fresh_ledger().await;
    let account = random_account_id();
    let v = VendorName::Datatheorem;
    applied(apply(&ledger, &account, v, Transition::claim("e1", None)).await);
    let e = applied(
        apply(
            &ledger,
            &account,
            v,
            Transition::failed("Fatal.Vendor: 400 bad role", "e1"),
        )
        .await,
    );
    assert_eq!(e.last_error.as_deref(), Some("Fatal.Vendor: 400 bad role"));
    let e = applied(apply(&ledger, &account, v, Transition::claim("e2", None)).await);
    assert_eq!((e.state, e.attempts), (LedgerState::Claimed, 2));
    assert_eq!(e.execution.as_deref(), Some("e2"));
}

#[tokio::test]
async fn out_of_order_transition_is_refused_and_changes_nothing() {
    let ledger = fresh_ledger().await;
    let account = random_account_id();
    let v = VendorName::Stellarcyber;
    // Nothing claimed yet: registering is not allowed.
    assert_eq!(
        apply(&ledger, &account, v, Transition::registered("x")).await,
        TransitionOutcome::Refused { current: None }
    );
    assert_eq!(ledger.get(&account, v).await.unwrap(), None);
    applied(apply(&ledger, &account, v, Transition::claim("e1", None)).await);
    match apply(&ledger, &account, v, Transition::active()).await {
        TransitionOutcome::Refused { current } => {
            assert_eq!(current.unwrap().state, LedgerState::Claimed)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn offboarding_is_allowed_from_any_state_and_an_offboarded_account_can_return() {
    let ledger = fresh_ledger().await;
    let account = random_account_id();
    let v = VendorName::Cloudcraft;
    applied(apply(&ledger, &account, v, Transition::offboarded().by("close")).await);
    assert!(matches!(
        apply(&ledger, &account, v, Transition::failed("x", "close")).await,
        TransitionOutcome::Refused { .. }
    ));
    let e = applied(apply(&ledger, &account, v, Transition::claim("again", None)).await);
    assert_eq!(e.state, LedgerState::Claimed);
}

#[tokio::test]
async fn entries_are_listed_per_account_and_in_full() {
    let ledger = fresh_ledger().await;
    let (a, b) = (random_account_id(), random_account_id());
    for v in [VendorName::Skyhigh, VendorName::Risken] {
        applied(apply(&ledger, &a, v, Transition::claim("e", None)).await);
    }
    applied(
        apply(
            &ledger,
            &b,
            VendorName::Skyhigh,
            Transition::claim("e", None),
        )
        .await,
    );
    let mut vendors: Vec<_> = ledger
        .account_entries(&a)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.vendor)
        .collect();
    vendors.sort();
    assert_eq!(vendors, [VendorName::Skyhigh, VendorName::Risken]);
    assert_eq!(ledger.all_entries().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_claim_is_refused_while_held_and_names_the_holder() {
    let ledger = fresh_ledger().await;
    let account = random_account_id();
    let v = VendorName::Skyhigh;
    applied(apply(&ledger, &account, v, Transition::claim("exec-a", None)).await);
    applied(apply(&ledger, &account, v, Transition::role_ready("arn")).await);
    // Any second claim, even by the holder's retried step, is refused and
    // tells who holds it (the step then knows whether it is the holder).
    for execution in ["exec-a", "exec-b"] {
        match apply(&ledger, &account, v, Transition::claim(execution, None)).await {
            TransitionOutcome::Refused { current } => {
                let current = current.unwrap();
                assert_eq!(
                    (current.execution.as_deref(), current.attempts),
                    (Some("exec-a"), 1)
                );
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn a_stale_claim_can_be_taken_over_but_never_an_active_account() {
    let ledger = fresh_ledger().await;
    let account = random_account_id();
    let v = VendorName::Risken;
    applied(apply(&ledger, &account, v, Transition::claim("died", None)).await);
    // Everything updated before the far future counts as stale.
    let e = applied(
        apply(
            &ledger,
            &account,
            v,
            Transition::claim("rescuer", Some("9999-01-01T00:00:00Z")),
        )
        .await,
    );
    assert_eq!((e.execution.as_deref(), e.attempts), (Some("rescuer"), 2));
    for t in [
        Transition::role_ready("arn"),
        Transition::registered("r"),
        Transition::active(),
    ] {
        applied(apply(&ledger, &account, v, t).await);
    }
    assert!(matches!(
        apply(
            &ledger,
            &account,
            v,
            Transition::claim("late", Some("9999-01-01T00:00:00Z"))
        )
        .await,
        TransitionOutcome::Refused { .. }
    ));
}

#[tokio::test]
async fn an_offboarding_claim_excludes_a_second_offboarding_and_the_onboarding() {
    let ledger = fresh_ledger().await;
    let account = random_account_id();
    let v = VendorName::Stellarcyber;
    applied(apply(&ledger, &account, v, Transition::claim("onboard-1", None)).await);
    applied(
        apply(
            &ledger,
            &account,
            v,
            Transition::offboarding("close-1", None),
        )
        .await,
    );
    // A second offboarding and the onboarding's next move are refused.
    assert!(matches!(
        apply(
            &ledger,
            &account,
            v,
            Transition::offboarding("close-2", None)
        )
        .await,
        TransitionOutcome::Refused { .. }
    ));
    assert!(matches!(
        apply(
            &ledger,
            &account,
            v,
            Transition::role_ready("arn:aws:iam::1:role/x").held_by("onboard-1")
        )
        .await,
        TransitionOutcome::Refused { .. }
    ));
    // A failed offboarding releases the claim with a note; a new one may take it.
    applied(
        apply(
            &ledger,
            &account,
            v,
            Transition::failed("offboarding failed: HTTP 503", "close-1"),
        )
        .await,
    );
    let e = ledger.get(&account, v).await.unwrap().unwrap();
    assert!(e.offboarding_failed());
    applied(
        apply(
            &ledger,
            &account,
            v,
            Transition::offboarding("close-2", None),
        )
        .await,
    );
    applied(
        apply(
            &ledger,
            &account,
            v,
            Transition::offboarded().held_by("close-2"),
        )
        .await,
    );
    assert!(matches!(
        apply(
            &ledger,
            &account,
            v,
            Transition::offboarding("close-3", None)
        )
        .await,
        TransitionOutcome::Refused { .. }
    ));
}
