//! The backfill's plan (batches, pacing, the end of the loop) and the
//! one-listing-per-batch shortcut: when a registration may skip the
//! vendor's lookup, and when it must not.

use std::collections::HashSet;

use super::*;
use crate::contract::{Outcome, Unlisted};
use crate::fakes::{FakeVendorBehaviour, Fault};
use crate::tasks::backfill::{
    plan_accounts, plan_batch, BackfillOptions, Batch, BatchResult, PlanRequest,
};
use crate::vendors::AccountToRegister;

const CC: VendorName = VendorName::Cloudcraft;
const RK: VendorName = VendorName::Risken;

/// Cloudcraft (one request lists everything) and RISKEN, and `n` more
/// ACTIVE accounts beside the fixture's own.
fn org_of(n: usize) -> (Fixture, Vec<AccountId>) {
    let f = fixture(&[CC, RK]);
    f.behave(
        CC,
        FakeVendorBehaviour {
            lists_in_one_request: true,
            ..Default::default()
        },
    );
    let mut ids = vec![f.account.clone()];
    for i in 0..n {
        let id: AccountId = format!("5555000000{i:02}").parse().unwrap();
        f.fakes
            .org
            .add_account(&id, &format!("old-{i}"), "ACTIVE", &[WORKLOADS, ROOT]);
        ids.push(id);
    }
    ids.sort();
    (f, ids)
}

async fn first_batch(f: &Fixture, options: BackfillOptions) -> Batch {
    plan_batch(
        &f.ctx,
        PlanRequest {
            options,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// The Plan state again, after a batch ended with `last`.
async fn next_batch(
    f: &Fixture,
    options: &BackfillOptions,
    batch: &Batch,
    last: Vec<BatchResult>,
) -> Batch {
    plan_batch(
        &f.ctx,
        PlanRequest {
            options: options.clone(),
            progress: Some(batch.progress.clone()),
            last_batch: last,
        },
    )
    .await
    .unwrap()
}

async fn register_from(f: &Fixture, request: &Value, execution: &str) -> crate::Result<VendorItem> {
    let item = f.item_from(request, CC, execution).await;
    let item = tasks::ensure_trust_role(&f.ctx, item).await.unwrap();
    tasks::register_account(&f.ctx, item).await
}

#[tokio::test]
async fn a_batch_marks_the_accounts_the_one_listing_lacks_and_only_those() {
    let (f, ids) = org_of(2);
    // The vendor already holds the second account (the ledger does not).
    let client = f.ctx.vendor(CC).await.unwrap();
    client
        .register(&AccountToRegister {
            account_id: ids[1].clone(),
            account_name: "old".into(),
            role_arn: format!("arn:aws:iam::{}:role/cloudcraft", ids[1]),
            unlisted: false,
        })
        .await
        .unwrap();
    let batch = first_batch(&f, BackfillOptions::default()).await;
    assert!(!batch.done);
    assert_eq!(batch.accounts.len(), 3);
    let unlisted: Vec<(AccountId, Vec<Unlisted>)> = batch
        .accounts
        .iter()
        .map(|a| (a.account_id.clone(), a.request.unlisted.clone()))
        .collect();
    let hint = vec![Unlisted {
        vendor: CC,
        attempts: 0,
    }];
    assert_eq!(
        unlisted,
        vec![
            (ids[0].clone(), hint.clone()),
            (ids[1].clone(), vec![]),
            (ids[2].clone(), hint),
        ]
    );
    // RISKEN lists per account, so it is never read for a plan.
    assert_eq!(f.fakes.faults.count("vendor.is_registered"), 3);
    // Every enabled vendor is needed: the request does not name them.
    assert_eq!(batch.accounts[0].request.vendors, None);
}

#[tokio::test]
async fn an_unlisted_account_is_registered_with_one_request() {
    let (f, _) = org_of(0);
    let batch = first_batch(&f, BackfillOptions::default()).await;
    let request = serde_json::to_value(&batch.accounts[0].request).unwrap();
    let done = register_from(&f, &request, "backfill-1").await.unwrap();
    assert_eq!(done.outcome, Some(Outcome::Active));
    let vendor = f.fakes.vendors.vendor(CC);
    assert_eq!(vendor.lookups_skipped(), 1);
    assert_eq!(vendor.created(), 1);
}

#[tokio::test]
async fn a_retry_after_a_lost_answer_looks_the_account_up_and_creates_nothing_twice() {
    let (f, _) = org_of(0);
    let batch = first_batch(&f, BackfillOptions::default()).await;
    let request = serde_json::to_value(&batch.accounts[0].request).unwrap();
    let item = f.item_from(&request, CC, "backfill-1").await;
    let item = tasks::ensure_trust_role(&f.ctx, item).await.unwrap();
    f.fakes.faults.inject("vendor.register", Fault::LostAnswer);
    tasks::register_account(&f.ctx, item.clone())
        .await
        .unwrap_err();
    // The state machine's retry of the same step, same input.
    let done = tasks::register_account(&f.ctx, item).await.unwrap();
    assert_eq!(done.outcome, Some(Outcome::Active));
    let vendor = f.fakes.vendors.vendor(CC);
    assert_eq!(vendor.created(), 1, "the retry must look up, not create");
    assert_eq!(vendor.lookups_skipped(), 1, "only the first attempt skips");
}

#[tokio::test]
async fn another_claim_since_the_plan_voids_the_hint() {
    let (f, _) = org_of(0);
    let batch = first_batch(&f, BackfillOptions::default()).await;
    let request = serde_json::to_value(&batch.accounts[0].request).unwrap();
    // An event's execution onboards the account with Cloudcraft after the
    // listing was read, then fails before the end.
    let other = f.role_ready(CC, "event-1").await;
    tasks::register_account(&f.ctx, other).await.unwrap();
    f.fail(CC, "a later step failed", "event-1").await;
    // The backfill's execution: its claim is not the only one since.
    let done = register_from(&f, &request, "backfill-1").await.unwrap();
    assert_eq!(done.outcome, Some(Outcome::Active));
    let vendor = f.fakes.vendors.vendor(CC);
    assert_eq!(vendor.lookups_skipped(), 0);
    assert_eq!(
        vendor.created(),
        1,
        "found the other execution's registration"
    );
}

#[tokio::test]
async fn batches_are_paced_and_the_loop_ends_with_the_outcomes_counted() {
    let (f, ids) = org_of(4);
    let options = BackfillOptions {
        per_minute: Some(30),
        batch_size: Some(2),
        ..Default::default()
    };
    let mut batch = first_batch(&f, options.clone()).await;
    assert_eq!(batch.progress.planned_first, 5);
    let mut seen = Vec::new();
    let mut starts = Vec::new();
    let mut rounds = 0;
    while !batch.done {
        rounds += 1;
        assert!(rounds <= 3, "the loop must end");
        assert!(batch.accounts.len() <= 2);
        let mut last = Vec::new();
        for item in &batch.accounts {
            seen.push(item.account_id.clone());
            starts.push(item.start_at.clone());
            // What the executions do: onboard the account (and touch the ledger).
            let request = serde_json::to_value(&item.request).unwrap();
            for vendor in [CC, RK] {
                let _ = register_from_vendor(&f, &request, vendor, &item.execution_name).await;
            }
            last.push(BatchResult {
                account_id: item.account_id.clone(),
                result: "succeeded".into(),
            });
        }
        batch = next_batch(&f, &options, &batch, last).await;
    }
    assert_eq!(rounds, 3);
    assert_eq!(seen, ids, "every account once, in order");
    assert_eq!(batch.progress.succeeded, 5);
    assert_eq!(batch.progress.batches, 3);
    // 30 a minute: two seconds apart, across batches too.
    let secs: Vec<i64> = starts
        .iter()
        .map(|s| {
            aws_sdk_dynamodb::primitives::DateTime::from_str(
                s,
                aws_sdk_dynamodb::primitives::DateTimeFormat::DateTime,
            )
            .unwrap()
            .secs()
        })
        .collect();
    for pair in secs.windows(2) {
        assert!((2..=3).contains(&(pair[1] - pair[0])), "starts {starts:?}");
    }
}

async fn register_from_vendor(
    f: &Fixture,
    request: &Value,
    vendor: VendorName,
    execution: &str,
) -> crate::Result<VendorItem> {
    let item = f.item_from(request, vendor, execution).await;
    let item = tasks::ensure_trust_role(&f.ctx, item).await?;
    tasks::register_account(&f.ctx, item).await
}

#[tokio::test]
async fn a_batch_whose_executions_never_touched_the_ledger_is_not_planned_forever() {
    // Every start was refused (names taken): nothing moves in the ledger.
    let (f, _) = org_of(2);
    let options = BackfillOptions {
        batch_size: Some(2),
        ..Default::default()
    };
    let mut batch = first_batch(&f, options.clone()).await;
    let mut rounds = 0;
    while !batch.done {
        rounds += 1;
        assert!(rounds <= 4, "the loop must end");
        let last = batch
            .accounts
            .iter()
            .map(|a| BatchResult {
                account_id: a.account_id.clone(),
                result: "already_started".into(),
            })
            .collect();
        batch = next_batch(&f, &options, &batch, last).await;
    }
    assert!(batch.progress.batches <= 3);
}

#[tokio::test]
async fn the_dry_run_plan_reads_no_vendor() {
    let (f, ids) = org_of(1);
    let plan = plan_accounts(
        &f.ctx,
        &BackfillOptions::default(),
        false,
        None,
        &HashSet::new(),
    )
    .await
    .unwrap();
    assert_eq!(plan.len(), ids.len());
    assert!(plan.iter().all(|p| p.unlisted.is_empty()));
    assert_eq!(f.fakes.faults.count("vendor.is_registered"), 0);
    assert_eq!(f.fakes.faults.count("secrets.load"), 0);
}

#[tokio::test]
async fn options_out_of_range_are_refused_before_anything_is_read() {
    let (f, _) = org_of(0);
    let e = plan_batch(
        &f.ctx,
        PlanRequest {
            options: BackfillOptions {
                max_concurrent: Some(0),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("max_concurrent"), "{e}");
    assert!(
        f.fakes.faults.calls().is_empty(),
        "{:?}",
        f.fakes.faults.calls()
    );
}

#[tokio::test]
async fn a_listing_that_fails_only_costs_the_batch_its_shortcut() {
    let (f, _) = org_of(2);
    f.fakes.faults.inject_nth(
        "vendor.is_registered",
        1,
        Fault::Error(crate::error::ErrorKind::Unavailable),
    );
    let batch = first_batch(&f, BackfillOptions::default()).await;
    assert_eq!(batch.accounts.len(), 3);
    assert!(
        batch.accounts.iter().all(|a| a.request.unlisted.is_empty()),
        "no account may keep a mark from a listing read halfway"
    );
    // Each registration then looks the account up itself.
    let request = serde_json::to_value(&batch.accounts[0].request).unwrap();
    register_from(&f, &request, "backfill-1").await.unwrap();
    assert_eq!(f.fakes.vendors.vendor(CC).lookups_skipped(), 0);
}
