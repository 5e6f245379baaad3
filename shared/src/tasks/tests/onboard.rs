//! ensure-trust-role, register-account and check-status.

use super::*;
use crate::contract::Outcome;
use crate::error::{ErrorKind, Step};
use crate::fakes::{FakeVendorBehaviour, Fault};
use crate::ledger::{LedgerEntry, LedgerState};
use crate::member_iam::Drift;

#[tokio::test]
async fn onboarding_creates_the_role_registers_and_ends_active() {
    let f = fixture(&[VendorName::Cloudcraft]);
    let item = f.onboard(VendorName::Cloudcraft, "run-1").await.unwrap();
    assert_eq!(item.outcome, Some(Outcome::Active));
    assert_eq!(
        item.role_arn.as_deref(),
        Some("arn:aws:iam::222233334444:role/cloudcraft")
    );
    let entry = f
        .fakes
        .ledger
        .item(&f.account, VendorName::Cloudcraft)
        .unwrap();
    assert_eq!(entry.state, LedgerState::Active);
    assert_eq!(entry.vendor_ref, item.reference);
    assert_eq!(entry.attempts, 1);
    let role = f.fakes.members.role(&f.account, "cloudcraft").unwrap();
    assert_eq!(role.managed_for, Some(VendorName::Cloudcraft));
    assert_eq!(
        f.fakes
            .vendors
            .vendor(VendorName::Cloudcraft)
            .registrations(&f.account),
        1
    );
}

#[tokio::test]
async fn a_pending_registration_is_polled_until_active_and_keeps_the_claim_fresh() {
    let f = fixture(&[VendorName::Skyhigh]);
    f.behave(
        VendorName::Skyhigh,
        FakeVendorBehaviour {
            pending_polls: 3,
            ..Default::default()
        },
    );
    let item = f.role_ready(VendorName::Skyhigh, "run-1").await;
    let mut item = tasks::register_account(&f.ctx, item).await.unwrap();
    assert_eq!(item.status, ItemStatus::Pending);
    assert_eq!(item.wait_seconds, 5, "POLL_SECONDS");
    while item.status == ItemStatus::Pending {
        assert_eq!(
            f.fakes.ledger.state(&f.account, VendorName::Skyhigh),
            Some(LedgerState::Registered)
        );
        item = tasks::check_status(&f.ctx, item).await.unwrap();
    }
    assert_eq!(item.polls, 3);
    assert_eq!(item.outcome, Some(Outcome::Active));
    assert_eq!(
        f.fakes.ledger.state(&f.account, VendorName::Skyhigh),
        Some(LedgerState::Active)
    );
}

#[tokio::test]
async fn a_second_execution_skips_an_account_another_is_onboarding() {
    let f = fixture(&[VendorName::Cloudcraft]);
    let first = f.item(VendorName::Cloudcraft, "run-1").await;
    tasks::ensure_trust_role(&f.ctx, first).await.unwrap();
    let second = f.onboard(VendorName::Cloudcraft, "run-2").await.unwrap();
    assert_eq!(second.outcome, Some(Outcome::Skipped));
    assert!(second
        .detail
        .unwrap()
        .contains("execution run-1 is onboarding"));
    assert_eq!(f.fakes.faults.count("vendor.register"), 0);
}

#[tokio::test]
async fn an_account_already_active_is_reported_active_without_calling_the_vendor() {
    let f = fixture(&[VendorName::Cloudcraft]);
    let first = f.onboard(VendorName::Cloudcraft, "run-1").await.unwrap();
    f.fakes.faults.reset();
    let again = f.onboard(VendorName::Cloudcraft, "run-2").await.unwrap();
    assert_eq!(again.outcome, Some(Outcome::Active));
    assert_eq!(again.reference, first.reference);
    assert_eq!(again.detail.as_deref(), Some("already active (ledger)"));
    assert_eq!(f.fakes.faults.count("vendor.register"), 0);
    assert_eq!(f.fakes.faults.count("members.ensure_role"), 0);
}

#[tokio::test]
async fn a_retried_step_of_the_holding_execution_goes_on_and_counts_no_attempt() {
    let f = fixture(&[VendorName::Cloudcraft]);
    let item = f.item(VendorName::Cloudcraft, "run-1").await;
    tasks::ensure_trust_role(&f.ctx, item.clone())
        .await
        .unwrap();
    let retried = tasks::ensure_trust_role(&f.ctx, item).await.unwrap();
    assert_eq!(retried.status, ItemStatus::Continue);
    assert!(retried.role_arn.is_some());
    let entry = f
        .fakes
        .ledger
        .item(&f.account, VendorName::Cloudcraft)
        .unwrap();
    assert_eq!(entry.attempts, 1);
    assert_eq!(entry.state, LedgerState::RoleReady);
}

#[tokio::test]
async fn a_claim_left_by_a_dead_execution_is_taken_over() {
    let f = fixture(&[VendorName::Cloudcraft]);
    f.fakes.ledger.put(LedgerEntry {
        account: f.account.clone(),
        vendor: VendorName::Cloudcraft,
        state: LedgerState::Claimed,
        role_arn: None,
        vendor_ref: None,
        attempts: 1,
        last_error: None,
        execution: Some("run-dead".into()),
        created_at: "2020-01-01T00:00:00Z".into(),
        updated_at: "2020-01-01T00:00:00Z".into(),
    });
    let item = f.onboard(VendorName::Cloudcraft, "run-2").await.unwrap();
    assert_eq!(item.outcome, Some(Outcome::Active));
    let entry = f
        .fakes
        .ledger
        .item(&f.account, VendorName::Cloudcraft)
        .unwrap();
    assert_eq!(entry.attempts, 2);
    assert_eq!(entry.execution.as_deref(), Some("run-2"));
}

#[tokio::test]
async fn a_registration_the_vendor_reports_failed_is_a_vendor_error_naming_the_reason() {
    let f = fixture(&[VendorName::Cloudcraft]);
    f.behave(
        VendorName::Cloudcraft,
        FakeVendorBehaviour {
            fails_with: Some("role not assumable".into()),
            ..Default::default()
        },
    );
    let err = f
        .onboard(VendorName::Cloudcraft, "run-1")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Vendor);
    assert_eq!(err.step(), Some(Step::RegisterAccount));
    assert_eq!(err.vendor(), Some(VendorName::Cloudcraft));
    assert!(err.message().contains("role not assumable"), "{err}");
}

#[tokio::test]
async fn a_drifted_role_is_repaired_and_the_repair_reported() {
    let f = fixture(&[VendorName::Cloudcraft]);
    f.onboard(VendorName::Cloudcraft, "run-1").await.unwrap();
    let mut role = f.fakes.members.role(&f.account, "cloudcraft").unwrap();
    role.managed_policies
        .push("arn:aws:iam::aws:policy/AdministratorAccess".into());
    f.fakes.members.put_role(&f.account, "cloudcraft", role);
    let spec = f
        .ctx
        .vendor_and_role(VendorName::Cloudcraft, crate::tasks::SecretRead::AsStored)
        .await
        .unwrap()
        .1;
    let ensured = crate::ports::MemberAccounts::ensure_role(&*f.fakes.members, &f.account, &spec)
        .await
        .unwrap();
    assert_eq!(
        ensured.repaired,
        [Drift::ManagedPolicyExtra(
            "arn:aws:iam::aws:policy/AdministratorAccess".into()
        )]
    );
    assert!(f
        .fakes
        .members
        .role(&f.account, "cloudcraft")
        .unwrap()
        .drift_free(&spec));
}

#[tokio::test]
async fn a_generated_external_id_is_written_back_once_and_used_in_the_trust() {
    let f = fixture(&[VendorName::Datatheorem, VendorName::Risken]);
    f.onboard(VendorName::Datatheorem, "run-1").await.unwrap();
    let stored = f.fakes.secrets.document(VendorName::Datatheorem).unwrap();
    let external_id = stored["external_id"].as_str().unwrap().to_owned();
    assert_eq!(external_id.len(), 43);
    let role = f
        .fakes
        .members
        .role(&f.account, "DataTheorem-Service")
        .unwrap();
    assert_eq!(
        role.trust_policy["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
        external_id.as_str()
    );
    // Another account reuses it: nothing more is written.
    let other: AccountId = "333344445555".parse().unwrap();
    f.fakes
        .org
        .add_account(&other, "workload-2", "ACTIVE", &[WORKLOADS, ROOT]);
    let item = f.item(VendorName::Datatheorem, "run-2").await;
    let mut item = item;
    item.account.account_id = other;
    tasks::ensure_trust_role(&f.ctx, item).await.unwrap();
    assert_eq!(f.fakes.secrets.writes(), 1);
}

#[tokio::test]
async fn the_vendor_trust_is_read_once_per_process_for_the_same_secret() {
    let f = fixture(&[VendorName::Cloudcraft]);
    f.onboard(VendorName::Cloudcraft, "run-1").await.unwrap();
    let other: AccountId = "333344445555".parse().unwrap();
    f.fakes
        .org
        .add_account(&other, "workload-2", "ACTIVE", &[WORKLOADS, ROOT]);
    let mut item = f.item(VendorName::Cloudcraft, "run-2").await;
    item.account.account_id = other.clone();
    tasks::ensure_trust_role(&f.ctx, item).await.unwrap();
    assert_eq!(f.fakes.faults.count("vendor.trust_parameters"), 1);

    // A changed secret is never served from the cache.
    f.fakes.secrets.put(
        VendorName::Cloudcraft,
        serde_json::json!({"api_key": "cc-SECRET-rotated"}),
    );
    let third: AccountId = "444455556666".parse().unwrap();
    f.fakes
        .org
        .add_account(&third, "workload-3", "ACTIVE", &[WORKLOADS, ROOT]);
    let mut item = f.item(VendorName::Cloudcraft, "run-3").await;
    item.account.account_id = third;
    tasks::ensure_trust_role(&f.ctx, item).await.unwrap();
    assert_eq!(f.fakes.faults.count("vendor.trust_parameters"), 2);
}

#[tokio::test]
async fn a_missing_secret_is_a_configuration_error_naming_the_vendor() {
    let f = fixture(&[VendorName::Cloudcraft]);
    f.fakes
        .secrets
        .put(VendorName::Cloudcraft, serde_json::json!({}));
    let item = f.item(VendorName::Cloudcraft, "run-1").await;
    let err = tasks::ensure_trust_role(&f.ctx, item).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(err.vendor(), Some(VendorName::Cloudcraft));
    assert_eq!(err.account(), Some(&f.account));
    assert_eq!(err.step(), Some(Step::EnsureTrustRole));
    assert!(err.message().contains("missing field `api_key`"), "{err}");
}

#[tokio::test]
async fn register_without_a_role_arn_is_bad_input() {
    let f = fixture(&[VendorName::Cloudcraft]);
    let item = f.item(VendorName::Cloudcraft, "run-1").await;
    let err = tasks::register_account(&f.ctx, item).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadInput);
    assert_eq!(err.step(), Some(Step::RegisterAccount));
}

#[tokio::test]
async fn a_member_account_not_yet_assumable_is_retryable_and_a_retry_converges() {
    let f = fixture(&[VendorName::Cloudcraft]);
    f.fakes
        .faults
        .inject("members.ensure_role", Fault::Error(ErrorKind::RoleNotReady));
    let item = f.item(VendorName::Cloudcraft, "run-1").await;
    let err = tasks::ensure_trust_role(&f.ctx, item.clone())
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Retryable.RoleNotReady");
    let item = tasks::ensure_trust_role(&f.ctx, item).await.unwrap();
    assert!(item.role_arn.is_some());
    assert_eq!(
        f.fakes
            .ledger
            .item(&f.account, VendorName::Cloudcraft)
            .unwrap()
            .attempts,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_eight_executions_claiming_at_once_exactly_one_onboards() {
    let f = std::sync::Arc::new(fixture(&[VendorName::Cloudcraft]));
    let mut handles = Vec::new();
    for i in 0..8 {
        let f = f.clone();
        handles.push(tokio::spawn(async move {
            f.onboard(VendorName::Cloudcraft, &format!("run-{i}"))
                .await
                .unwrap()
                .outcome
        }));
    }
    let mut active = 0;
    for handle in handles {
        match handle.await.unwrap() {
            Some(Outcome::Active) => active += 1,
            Some(Outcome::Skipped) => {}
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    // Skipped runs are those that found another holding the claim; one that
    // came after the holder finished reports active from the ledger.
    assert!(active >= 1);
    assert_eq!(f.fakes.vendors.vendor(VendorName::Cloudcraft).created(), 1);
    let entry = f
        .fakes
        .ledger
        .item(&f.account, VendorName::Cloudcraft)
        .unwrap();
    assert_eq!(entry.attempts, 1);
}

#[tokio::test]
async fn a_retried_registration_follows_the_one_the_ledger_recorded_instead_of_submitting_again() {
    let f = fixture(&[VendorName::Datatheorem]);
    // Like Data Theorem: no lookup, so a second submission would be a
    // second registration.
    f.without_lookup(VendorName::Datatheorem);
    let item = f.role_ready(VendorName::Datatheorem, "run-1").await;
    // The ledger records `registering`, the vendor accepts and the ledger
    // records `registered`; then marking the account active fails, and the
    // step is retried.
    f.fakes
        .faults
        .inject_nth("ledger.transition", 2, Fault::Error(ErrorKind::Unavailable));
    let err = tasks::register_account(&f.ctx, item.clone())
        .await
        .unwrap_err();
    assert!(err.kind().is_retryable());
    let done = tasks::register_account(&f.ctx, item).await.unwrap();
    assert_eq!(done.outcome, Some(Outcome::Active));
    let vendor = f.fakes.vendors.vendor(VendorName::Datatheorem);
    assert_eq!(vendor.created(), 1, "submitted twice");
    assert_eq!(
        f.fakes.ledger.state(&f.account, VendorName::Datatheorem),
        Some(LedgerState::Active)
    );
}

#[tokio::test]
async fn a_retried_registration_that_the_vendor_reports_failed_is_submitted_again() {
    let f = fixture(&[VendorName::Skyhigh]);
    f.behave(
        VendorName::Skyhigh,
        FakeVendorBehaviour {
            lookup: false,
            pending_polls: 1,
            ..Default::default()
        },
    );
    let item = f.role_ready(VendorName::Skyhigh, "run-1").await;
    let pending = tasks::register_account(&f.ctx, item.clone()).await.unwrap();
    assert_eq!(pending.status, ItemStatus::Pending);
    // The vendor forgets the request (it failed on its side): a retry of
    // the step submits the account again.
    f.fakes
        .vendors
        .vendor(VendorName::Skyhigh)
        .forget(&f.account);
    let again = tasks::register_account(&f.ctx, item).await.unwrap();
    assert_eq!(again.status, ItemStatus::Pending);
    assert_eq!(f.fakes.vendors.vendor(VendorName::Skyhigh).created(), 2);
}

#[tokio::test]
async fn a_lost_answer_from_a_vendor_without_a_lookup_is_unverified_and_never_sent_twice() {
    for fault in [Fault::LostAnswer, Fault::Timeout] {
        let f = fixture(&[VendorName::Datatheorem]);
        f.without_lookup(VendorName::Datatheorem);
        let item = f.role_ready(VendorName::Datatheorem, "run-1").await;
        f.fakes.faults.inject("vendor.register", fault);
        let done = tasks::register_account(&f.ctx, item.clone()).await.unwrap();
        assert_eq!(done.outcome, Some(Outcome::Unverified), "{fault:?}");
        let detail = done.detail.unwrap();
        assert!(
            detail.contains(
                "vendorlink resolve-unverified --account 222233334444 --vendor datatheorem"
            ),
            "{detail}"
        );
        assert!(
            detail.contains("Data Theorem portal") || detail.contains("console"),
            "{detail}"
        );
        // A retry, a redrive, a new execution: none sends it again.
        let again = tasks::register_account(&f.ctx, item).await.unwrap();
        assert_eq!(again.outcome, Some(Outcome::Unverified));
        let redrive = f.role_ready(VendorName::Datatheorem, "run-2").await;
        assert_eq!(redrive.outcome, Some(Outcome::Skipped), "{fault:?}");
        assert_eq!(f.fakes.faults.count("vendor.register"), 1, "{fault:?}");
        let entry = f
            .fakes
            .ledger
            .item(&f.account, VendorName::Datatheorem)
            .unwrap();
        assert_eq!(entry.state, LedgerState::Unverified);
        assert!(entry.last_error.unwrap().contains("resolve-unverified"));
    }
}

#[tokio::test]
async fn a_clear_refusal_before_acting_is_retried_without_becoming_unverified() {
    let f = fixture(&[VendorName::Datatheorem]);
    f.without_lookup(VendorName::Datatheorem);
    let item = f.role_ready(VendorName::Datatheorem, "run-1").await;
    f.fakes
        .faults
        .inject("vendor.register", Fault::Error(ErrorKind::Throttled));
    let err = tasks::register_account(&f.ctx, item.clone())
        .await
        .unwrap_err();
    assert!(err.kind().is_retryable());
    assert_eq!(
        f.fakes.ledger.state(&f.account, VendorName::Datatheorem),
        Some(LedgerState::RoleReady)
    );
    let done = tasks::register_account(&f.ctx, item).await.unwrap();
    assert_eq!(done.outcome, Some(Outcome::Active));
    assert_eq!(f.fakes.vendors.vendor(VendorName::Datatheorem).created(), 1);
}

#[tokio::test]
async fn a_step_that_died_after_sending_leaves_a_vendor_without_a_lookup_unverified() {
    let f = fixture(&[VendorName::Datatheorem]);
    f.without_lookup(VendorName::Datatheorem);
    let item = f.role_ready(VendorName::Datatheorem, "run-1").await;
    // The vendor acted; recording `registered` failed (the Lambda's end).
    f.fakes
        .faults
        .inject_nth("ledger.transition", 1, Fault::Error(ErrorKind::Unavailable));
    tasks::register_account(&f.ctx, item.clone())
        .await
        .unwrap_err();
    let again = tasks::register_account(&f.ctx, item).await.unwrap();
    assert_eq!(again.outcome, Some(Outcome::Unverified));
    assert_eq!(f.fakes.vendors.vendor(VendorName::Datatheorem).created(), 1);
}

#[tokio::test]
async fn a_vendor_with_a_lookup_is_simply_asked_again_after_a_lost_answer() {
    let f = fixture(&[VendorName::Cloudcraft]);
    let item = f.role_ready(VendorName::Cloudcraft, "run-1").await;
    f.fakes.faults.inject("vendor.register", Fault::LostAnswer);
    tasks::register_account(&f.ctx, item.clone())
        .await
        .unwrap_err();
    let done = tasks::register_account(&f.ctx, item).await.unwrap();
    assert_eq!(done.outcome, Some(Outcome::Active));
    assert_eq!(f.fakes.vendors.vendor(VendorName::Cloudcraft).created(), 1);
}

#[tokio::test]
async fn a_stalled_registration_is_registered_again_until_it_converges() {
    let f = fixture(&[VendorName::Risken]);
    f.behave(
        VendorName::Risken,
        FakeVendorBehaviour {
            stalls_until_registers: 3,
            ..Default::default()
        },
    );
    let item = f.onboard(VendorName::Risken, "run-1").await.unwrap();
    assert_eq!(item.outcome, Some(Outcome::Active), "{:?}", item.detail);
    assert_eq!(item.resumes, 2);
    assert_eq!(f.fakes.vendors.vendor(VendorName::Risken).created(), 1);
    // One that never converges fails with the vendor's reason, bounded.
    f.behave(
        VendorName::Risken,
        FakeVendorBehaviour {
            stalls_until_registers: 1000,
            ..Default::default()
        },
    );
    f.fakes
        .vendors
        .vendor(VendorName::Risken)
        .forget(&f.account);
    f.fail(VendorName::Risken, "x", "run-1").await;
    let err = f.onboard(VendorName::Risken, "run-2").await.unwrap_err();
    assert!(
        err.to_string().contains("could not assume the role"),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Vendor);
}

/// Skyhigh whose requests stay "being processed" for three status reads,
/// and whose list of accounts does not show them meanwhile.
fn skyhigh_still_processing() -> Fixture {
    let f = fixture(&[VendorName::Skyhigh]);
    f.behave(
        VendorName::Skyhigh,
        FakeVendorBehaviour {
            lookup_misses_pending: true,
            pending_polls: 3,
            ..Default::default()
        },
    );
    f
}

#[tokio::test]
async fn a_redrive_follows_the_earlier_request_while_the_vendor_still_processes_it() {
    // Skyhigh: a request being processed is not in its list of accounts.
    // A new execution after a failed one must not submit the account again
    // while the request the ledger recorded is still being processed.
    let f = skyhigh_still_processing();
    let first = f.role_ready(VendorName::Skyhigh, "run-1").await;
    let first = tasks::register_account(&f.ctx, first).await.unwrap();
    assert_eq!(first.status, ItemStatus::Pending);
    let reference = first.reference.clone().unwrap();
    f.fail(VendorName::Skyhigh, "the execution was stopped", "run-1")
        .await;
    let again = f.role_ready(VendorName::Skyhigh, "run-2").await;
    let mut again = tasks::register_account(&f.ctx, again).await.unwrap();
    assert_eq!(again.status, ItemStatus::Pending);
    assert_eq!(again.reference.as_deref(), Some(reference.as_str()));
    while again.status == ItemStatus::Pending {
        again = tasks::check_status(&f.ctx, again).await.unwrap();
    }
    assert_eq!(again.outcome, Some(Outcome::Active));
    assert_eq!(f.fakes.vendors.vendor(VendorName::Skyhigh).created(), 1);
    // Without the earlier reference the lookup would have missed it: the
    // fake is able to create a second one.
    let f2 = skyhigh_still_processing();
    let item = f2.role_ready(VendorName::Skyhigh, "run-1").await;
    tasks::register_account(&f2.ctx, item.clone())
        .await
        .unwrap();
    let client = f2.ctx.vendor(VendorName::Skyhigh).await.unwrap();
    client.register(&item.registration(None)).await.unwrap();
    assert_eq!(f2.fakes.vendors.vendor(VendorName::Skyhigh).created(), 2);
}

#[tokio::test]
async fn a_role_of_the_vendor_s_name_that_is_not_ours_is_left_untouched() {
    // The customer's own role under Cloudcraft's role name, trusting the
    // management account, with an inline policy of its own.
    let f = fixture(&[VendorName::Cloudcraft]);
    let theirs = crate::fakes::FakeRole {
        trust_policy: serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "sts:AssumeRole"}]}),
        managed_policies: vec!["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess".into()],
        inline_policy: None,
        managed_for: None,
    };
    f.fakes
        .members
        .put_role(&f.account, "cloudcraft", theirs.clone());
    let err = f
        .onboard(VendorName::Cloudcraft, "run-1")
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Fatal.Config");
    assert_eq!(err.step(), Some(Step::EnsureTrustRole));
    assert_eq!(err.account(), Some(&f.account));
    assert_eq!(err.vendor(), Some(VendorName::Cloudcraft));
    let text = err.to_string();
    assert!(
        text.contains("role cloudcraft") && text.contains("vendorlink:managed-by=vendorlink"),
        "{text}"
    );
    assert!(text.contains("role_name"), "{text}");
    assert_eq!(f.fakes.members.role(&f.account, "cloudcraft"), Some(theirs));
    assert_eq!(f.fakes.vendors.vendor(VendorName::Cloudcraft).created(), 0);
}

#[tokio::test]
async fn a_role_handed_over_with_the_tag_is_repaired() {
    let f = fixture(&[VendorName::Cloudcraft]);
    f.fakes.members.put_role(
        &f.account,
        "cloudcraft",
        crate::fakes::FakeRole {
            trust_policy: serde_json::json!({"Version": "2012-10-17", "Statement": []}),
            managed_policies: Vec::new(),
            inline_policy: None,
            managed_for: Some(VendorName::Cloudcraft),
        },
    );
    let item = f.onboard(VendorName::Cloudcraft, "run-1").await.unwrap();
    assert_eq!(item.outcome, Some(Outcome::Active));
    let role = f.fakes.members.role(&f.account, "cloudcraft").unwrap();
    assert!(role.trust_policy.to_string().contains("sts:AssumeRole"));
}

#[tokio::test]
async fn a_secret_naming_the_member_access_role_is_refused_and_touches_nothing() {
    let f = fixture_with(
        &[VendorName::Cloudcraft],
        &[("MEMBER_ROLE_NAME", "CorpAccess")],
    );
    let mut secret = secret_document(VendorName::Cloudcraft);
    secret["role_name"] = serde_json::json!("corpaccess");
    f.fakes.secrets.put(VendorName::Cloudcraft, secret);
    let err = f
        .onboard(VendorName::Cloudcraft, "run-1")
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Fatal.Config");
    assert!(err.to_string().contains("MEMBER_ROLE_NAME"), "{err}");
    assert_eq!(f.fakes.members.role(&f.account, "corpaccess"), None);
    assert_eq!(f.fakes.vendors.vendor(VendorName::Cloudcraft).created(), 0);
}

#[tokio::test]
async fn a_vendor_s_huge_failure_reason_is_bounded_everywhere_it_goes() {
    let f = fixture(&[VendorName::Risken]);
    let reason = format!("scan failed\u{7}: {}", "x".repeat(1_000_000));
    f.behave(
        VendorName::Risken,
        FakeVendorBehaviour {
            fails_with: Some(reason),
            ..Default::default()
        },
    );
    let err = f.onboard(VendorName::Risken, "run-1").await.unwrap_err();
    let message = err.message();
    assert!(
        message.chars().count() <= crate::error::MAX_MESSAGE + 1,
        "{}",
        message.len()
    );
    assert!(message.contains("scan failed :"), "control character kept");
    f.fail(VendorName::Risken, message, "run-1").await;
    let entry = f.fakes.ledger.item(&f.account, VendorName::Risken).unwrap();
    assert!(entry.last_error.unwrap().chars().count() <= crate::error::MAX_MESSAGE + 1);
}

#[test]
fn warnings_are_bounded_in_size_and_number() {
    use crate::vendors::RegistrationStatus;
    let status = RegistrationStatus::ActiveWithWarnings {
        warnings: vec!["w".repeat(5000); 80],
    }
    .bounded();
    let RegistrationStatus::ActiveWithWarnings { warnings } = status else {
        panic!()
    };
    assert_eq!(warnings.len(), 51);
    assert!(warnings[0].chars().count() <= 1001);
    assert_eq!(warnings[50], "... and 30 more warnings");
}

#[tokio::test]
async fn a_secret_may_not_attach_a_policy_beyond_the_allow_list() {
    let f = fixture(&[VendorName::Cloudcraft]);
    let mut secret = secret_document(VendorName::Cloudcraft);
    secret["managed_policies"] = serde_json::json!(["arn:aws:iam::aws:policy/AdministratorAccess"]);
    f.fakes.secrets.put(VendorName::Cloudcraft, secret.clone());
    let err = f
        .onboard(VendorName::Cloudcraft, "run-1")
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Fatal.Config");
    assert!(err.to_string().contains("AdministratorAccess"), "{err}");
    assert!(err.to_string().contains("ExtraManagedPolicies"), "{err}");
    assert_eq!(f.fakes.members.role(&f.account, "cloudcraft"), None);

    // Listed by the stack's parameter, it is allowed.
    let f = fixture_with(
        &[VendorName::Cloudcraft],
        &[(
            "EXTRA_MANAGED_POLICIES",
            "arn:aws:iam::aws:policy/AdministratorAccess",
        )],
    );
    f.fakes.secrets.put(VendorName::Cloudcraft, secret);
    let item = f.onboard(VendorName::Cloudcraft, "run-1").await.unwrap();
    assert_eq!(item.outcome, Some(Outcome::Active));
}

#[test]
fn the_vendors_default_policies_are_on_the_allow_list() {
    for vendor in VendorName::ALL {
        for arn in (vendor.profile().default_role)().managed_policies {
            assert!(
                crate::policy::managed_policy_allowed(&arn, &[]),
                "{vendor}: {arn}"
            );
        }
    }
    assert!(crate::policy::managed_policy_allowed(
        "arn:aws-us-gov:iam::aws:policy/SecurityAudit",
        &[]
    ));
    assert!(!crate::policy::managed_policy_allowed(
        "arn:aws:iam::aws:policy/PowerUserAccess",
        &[]
    ));
    assert!(!crate::policy::managed_policy_allowed(
        "arn:aws:iam::123456789012:policy/SecurityAudit",
        &[]
    ));
}
