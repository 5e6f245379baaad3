//! Backfill: bringing the organization's existing accounts in.
//!
//! The backfill state machine (`statemachine/backfill.asl.json`) runs in AWS:
//! its `Plan` state calls [`plan_batch`] (the reconcile function, with a
//! `{"backfill": ...}` input), a Map starts one onboarding execution per
//! planned account at the account's `start_at` (paced to the vendors'
//! documented rate limits) and waits for it, and the loop plans again until
//! nothing is left. `vendorlink backfill --dry-run` prints [`plan_accounts`].
//!
//! Every plan is made afresh from the organization and the ledger, so a
//! backfill stopped halfway is resumed by starting it again; execution names
//! derive from the account, its vendors and the ledger's attempts, so no
//! account is started twice for the same work.
//!
//! A vendor whose one listing request answers for every account
//! ([`Vendor::lists_in_one_request`], Cloudcraft) is read once per batch; an
//! account it lacks is marked [`Unlisted`] in its request, so its
//! registration skips the per-account lookup (see `Unlisted` for when that
//! is safe).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use tracing::{info, instrument, warn};

use crate::contract::{execution_name, DirectRequest, Unlisted};
use crate::error::{Error, Result, ResultExt, Step};
use crate::ids::{AccountId, ParentId};
use crate::ledger::{LedgerEntry, LedgerState};
use crate::vendor_name::VendorName;
use crate::vendors::AccountToRegister;

use super::{unix_now, Context};

/// Accounts planned per batch by default; a batch's plan must stay well
/// inside Step Functions' 256 KiB payload limit (about 300 bytes each).
pub const DEFAULT_BATCH_SIZE: u32 = 500;
/// The largest batch accepted.
pub const MAX_BATCH_SIZE: u32 = 600;
/// Onboarding executions running at once by default. An account waiting
/// for its turn holds a place too, and an account whose start time passed
/// while every place was taken starts as soon as one frees: the pace holds
/// only while places are free. 200 places at 18 a minute leave an average
/// onboarding 11 minutes (vendors that scan for longer hold places longer).
pub const DEFAULT_MAX_CONCURRENT: u32 = 200;
/// The most onboarding executions running at once.
pub const MAX_MAX_CONCURRENT: u32 = 1000;

/// What a backfill covers and how fast it goes: `vendorlink backfill`'s
/// flags, and the backfill state machine's execution input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillOptions {
    /// Only accounts below these OUs (default: the stack's `IncludeOus`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ous: Vec<ParentId>,
    /// Never these accounts (on top of the stack's `ExcludeAccounts`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<AccountId>,
    /// Onboardings started a minute (default: [`default_per_minute`]; 0: no pacing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_minute: Option<u32>,
    /// Onboarding executions running at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<u32>,
    /// Accounts per batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u32>,
}

impl BackfillOptions {
    pub fn validate(&self) -> Result<()> {
        if let Some(n) = self.max_concurrent {
            if n == 0 || n > MAX_MAX_CONCURRENT {
                return Err(Error::bad_input(format!(
                    "backfill: max_concurrent must be 1 to {MAX_MAX_CONCURRENT}, not {n}"
                )));
            }
        }
        if let Some(n) = self.batch_size {
            if n == 0 || n > MAX_BATCH_SIZE {
                return Err(Error::bad_input(format!(
                    "backfill: batch_size must be 1 to {MAX_BATCH_SIZE}, not {n}"
                )));
            }
        }
        if let Some(n) = self.per_minute {
            if n > 6000 {
                return Err(Error::bad_input(format!(
                    "backfill: per_minute must be at most 6000 (0: no pacing), not {n}"
                )));
            }
        }
        Ok(())
    }
}

/// The pace that keeps every enabled vendor with a documented rate limit
/// inside it during a backfill (see `RateLimit::backfill_per_minute`); 0 (no
/// pacing) when none has one.
pub fn default_per_minute(vendors: &[VendorName]) -> u32 {
    vendors
        .iter()
        .filter_map(|v| v.profile().rate_limit)
        .map(|limit| limit.backfill_per_minute())
        .min()
        .unwrap_or(0)
}

/// One account that needs work, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedAccount {
    pub account_id: AccountId,
    pub account_name: String,
    pub vendors: Vec<VendorName>,
    /// The vendors whose last run failed (the others were never onboarded).
    pub retrying: Vec<VendorName>,
    pub execution_name: String,
    /// Vendors whose one listing lacked the account (only when asked for).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unlisted: Vec<Unlisted>,
}

impl PlannedAccount {
    pub fn request(&self) -> DirectRequest {
        DirectRequest {
            unlisted: self.unlisted.clone(),
            ..DirectRequest::onboard(self.account_id.clone(), &self.vendors)
        }
    }
}

/// How far a backfill is, carried by the state machine from batch to batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillProgress {
    /// When the first batch was planned (RFC 3339): later plans leave out
    /// accounts the ledger saw since (this backfill, or an event, has them).
    pub started_at: String,
    pub batches: u32,
    /// Accounts that needed work at the first plan.
    pub planned_first: u32,
    /// Executions that ended, by how.
    pub succeeded: u32,
    pub failed: u32,
    /// Started before (a backfill resumed): not started again.
    pub already_started: u32,
    /// The earliest start of the next batch (Unix seconds), so the pace
    /// holds across batches.
    pub next_start_at: u64,
}

/// How one account of the last batch ended (the Map's result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResult {
    pub account_id: AccountId,
    /// `succeeded`, `failed` or `already_started`.
    pub result: String,
}

/// The `Plan` state's input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRequest {
    #[serde(default)]
    pub options: BackfillOptions,
    #[serde(default)]
    pub progress: Option<BackfillProgress>,
    #[serde(default)]
    pub last_batch: Vec<BatchResult>,
}

/// One account of a batch, as the Map runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItem {
    pub account_id: AccountId,
    pub execution_name: String,
    /// When to start it (RFC 3339, whole seconds): the Map's Wait.
    pub start_at: String,
    /// The onboarding execution's input.
    pub request: DirectRequest,
}

/// The `Plan` state's output: the next batch, and what the loop carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub options: BackfillOptions,
    pub progress: BackfillProgress,
    pub accounts: Vec<BatchItem>,
    pub max_concurrent: u32,
    pub per_minute: u32,
    /// Nothing is left: the backfill ends (with `progress` as its output).
    pub done: bool,
}

/// Which accounts in scope need which vendors. `unlisted_hints` also reads
/// the listing of each vendor that lists in one request (a vendor call per
/// such vendor); without it the plan only reads the organization and the
/// ledger. Accounts the ledger saw at or after `touched_since` (RFC 3339),
/// and those in `skip`, are left out.
#[instrument(skip_all, fields(step = "reconcile"))]
pub async fn plan_accounts(
    ctx: &Context,
    options: &BackfillOptions,
    unlisted_hints: bool,
    touched_since: Option<&str>,
    skip: &HashSet<AccountId>,
) -> Result<Vec<PlannedAccount>> {
    options.validate()?;
    let config = &ctx.config;
    let include: &[ParentId] = if options.ous.is_empty() {
        &config.include_ous
    } else {
        &options.ous
    };
    let excluded: HashSet<&AccountId> = config
        .exclude_accounts
        .iter()
        .chain(&options.exclude)
        .collect();
    let entries = ctx.ledger.all_entries().await?;
    let touched: HashSet<&AccountId> = match touched_since {
        Some(since) => entries
            .iter()
            .filter(|e| e.updated_at.as_str() >= since)
            .map(|e| &e.account)
            .collect(),
        None => HashSet::new(),
    };
    let ledger: HashMap<(&AccountId, VendorName), &LedgerEntry> = entries
        .iter()
        .map(|e| ((&e.account, e.vendor), e))
        .collect();
    let management = ctx.org.management_account().await?;

    let mut planned = Vec::new();
    for account in ctx.org.members(include).await? {
        if account.status != "ACTIVE"
            || management.as_ref() == Some(&account.id)
            || excluded.contains(&account.id)
            || touched.contains(&account.id)
            || skip.contains(&account.id)
        {
            continue;
        }
        let mut vendors = Vec::new();
        let mut retrying = Vec::new();
        let mut attempts = 0;
        for vendor in &config.vendors {
            match ledger.get(&(&account.id, *vendor)) {
                None => vendors.push(*vendor),
                Some(e) if e.state == LedgerState::Offboarded => {
                    vendors.push(*vendor);
                    attempts += e.attempts;
                }
                Some(e) if e.state == LedgerState::Failed => {
                    vendors.push(*vendor);
                    retrying.push(*vendor);
                    attempts += e.attempts;
                }
                // Active, unverified, or an execution is on it right now.
                Some(_) => {}
            }
        }
        if !vendors.is_empty() {
            planned.push(PlannedAccount {
                execution_name: execution_name("backfill", &account.id, &vendors, attempts),
                account_id: account.id,
                account_name: account.name,
                vendors,
                retrying,
                unlisted: Vec::new(),
            });
        }
    }
    planned.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    if unlisted_hints {
        mark_unlisted(ctx, &mut planned, &ledger).await;
    }
    Ok(planned)
}

/// Reads, once, the listing of every enabled vendor that lists in one
/// request, and marks each planned account it lacks. The marks only save
/// requests: a vendor whose secret or listing fails gets none (each
/// registration then looks the account up itself), and the batch goes on.
async fn mark_unlisted(
    ctx: &Context,
    planned: &mut [PlannedAccount],
    ledger: &HashMap<(&AccountId, VendorName), &LedgerEntry>,
) {
    for vendor in ctx.config.vendors.iter().copied() {
        if !planned.iter().any(|p| p.vendors.contains(&vendor)) {
            continue;
        }
        if let Err(e) = mark_vendor(ctx, vendor, planned, ledger).await {
            warn!(vendor = %vendor, error = %e, "no listing for this batch: each registration looks the account up");
            for account in planned.iter_mut() {
                account.unlisted.retain(|u| u.vendor != vendor);
            }
        }
    }
}

async fn mark_vendor(
    ctx: &Context,
    vendor: VendorName,
    planned: &mut [PlannedAccount],
    ledger: &HashMap<(&AccountId, VendorName), &LedgerEntry>,
) -> Result<()> {
    // The client and the role's name only: the trust parameters are not
    // needed to read a listing.
    let client = ctx.vendor(vendor).await?;
    if !client.lists_in_one_request() {
        return Ok(());
    }
    let role_name = ctx.role_name(vendor).await?;
    for account in planned.iter_mut().filter(|p| p.vendors.contains(&vendor)) {
        let registration = AccountToRegister {
            account_id: account.account_id.clone(),
            account_name: account.account_name.clone(),
            role_arn: format!("arn:aws:iam::{}:role/{role_name}", account.account_id),
            unlisted: false,
        };
        if client.is_registered(&registration).await? == Some(false) {
            account.unlisted.push(Unlisted {
                vendor,
                attempts: ledger
                    .get(&(&account.account_id, vendor))
                    .map_or(0, |e| e.attempts),
            });
        }
    }
    Ok(())
}

/// The backfill state machine's `Plan` state: the next batch.
pub async fn plan_batch(ctx: &Context, request: PlanRequest) -> Result<Batch> {
    plan(ctx, request, unix_now())
        .await
        .in_step(Step::Reconcile)
}

/// [`plan_batch`] of the Plan state's JSON input; a bad one is `BadInput`
/// naming the field.
pub async fn plan_from_input(ctx: &Context, input: &serde_json::Value) -> Result<Batch> {
    let request: PlanRequest = serde_path_to_error::deserialize(input)
        .map_err(|e| {
            let path = e.path().to_string();
            Error::bad_input(format!("backfill request: {path}: {}", e.into_inner()))
        })
        .in_step(Step::Reconcile)?;
    plan_batch(ctx, request).await
}

async fn plan(ctx: &Context, request: PlanRequest, now: u64) -> Result<Batch> {
    let options = request.options;
    options.validate()?;
    let per_minute = options
        .per_minute
        .unwrap_or_else(|| default_per_minute(&ctx.config.vendors));
    let max_concurrent = options.max_concurrent.unwrap_or(DEFAULT_MAX_CONCURRENT);
    let batch_size = options.batch_size.unwrap_or(DEFAULT_BATCH_SIZE) as usize;
    let first = request.progress.is_none();
    let mut progress = request.progress.unwrap_or_else(|| BackfillProgress {
        started_at: rfc3339(now),
        ..BackfillProgress::default()
    });
    for result in &request.last_batch {
        match result.result.as_str() {
            "succeeded" => progress.succeeded += 1,
            "already_started" => progress.already_started += 1,
            _ => progress.failed += 1,
        }
    }
    // The last batch's accounts are never planned again by this backfill
    // (one that started nothing would otherwise come back); nor is any
    // account the ledger saw since the backfill began.
    let skip: HashSet<AccountId> = request
        .last_batch
        .iter()
        .map(|r| r.account_id.clone())
        .collect();
    let since = (!first).then_some(progress.started_at.as_str());
    let mut planned = plan_accounts(ctx, &options, false, since, &skip).await?;
    if first {
        progress.planned_first = u32::try_from(planned.len()).unwrap_or(u32::MAX);
    }
    // However the ledger moves, a backfill ends: at most one batch more
    // than the first plan needed.
    let most_batches = progress.planned_first.div_ceil(batch_size.max(1) as u32) + 1;
    let done = planned.is_empty() || progress.batches >= most_batches;
    if done {
        info!(
            batches = progress.batches,
            succeeded = progress.succeeded,
            failed = progress.failed,
            "backfill done"
        );
        return Ok(Batch {
            options,
            progress,
            accounts: Vec::new(),
            max_concurrent,
            per_minute,
            done: true,
        });
    }
    planned.truncate(batch_size);
    // The listings are read for this batch only, right before it starts.
    let entries = ctx.ledger.all_entries().await?;
    let ledger: HashMap<(&AccountId, VendorName), &LedgerEntry> = entries
        .iter()
        .map(|e| ((&e.account, e.vendor), e))
        .collect();
    mark_unlisted(ctx, &mut planned, &ledger).await;

    // Starts `60 / per_minute` seconds apart, the first one gap after now
    // (the listing just read counts against the same budget).
    let gap = if per_minute == 0 {
        0.0
    } else {
        60.0 / f64::from(per_minute)
    };
    let origin = (progress.next_start_at as f64).max(now as f64 + gap);
    let accounts: Vec<BatchItem> = planned
        .iter()
        .enumerate()
        .map(|(i, p)| BatchItem {
            account_id: p.account_id.clone(),
            execution_name: p.execution_name.clone(),
            start_at: rfc3339((origin + gap * i as f64).ceil() as u64),
            request: compact(p.request(), &ctx.config.vendors),
        })
        .collect();
    progress.next_start_at = (origin + gap * accounts.len() as f64).ceil() as u64;
    progress.batches += 1;
    info!(
        batch = progress.batches,
        accounts = accounts.len(),
        per_minute,
        max_concurrent,
        "backfill batch planned"
    );
    Ok(Batch {
        options,
        progress,
        accounts,
        max_concurrent,
        per_minute,
        done: false,
    })
}

/// All enabled vendors need not be named: the request stays small (a batch
/// must fit in one state machine payload).
fn compact(mut request: DirectRequest, enabled: &[VendorName]) -> DirectRequest {
    if request
        .vendors
        .as_ref()
        .is_some_and(|vs| vs.len() == enabled.len() && enabled.iter().all(|e| vs.contains(e)))
    {
        request.vendors = None;
    }
    request
}

fn rfc3339(unix: u64) -> String {
    use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
    DateTime::from_secs(i64::try_from(unix).unwrap_or(i64::MAX))
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_whole_seconds_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_764_669_600), "2025-12-02T10:00:00Z");
    }

    #[test]
    fn options_out_of_range_are_refused_with_the_field() {
        for (options, field) in [
            (
                BackfillOptions {
                    max_concurrent: Some(0),
                    ..Default::default()
                },
                "max_concurrent",
            ),
            (
                BackfillOptions {
                    batch_size: Some(MAX_BATCH_SIZE + 1),
                    ..Default::default()
                },
                "batch_size",
            ),
        ] {
            let e = options.validate().unwrap_err();
            assert!(e.to_string().contains(field), "{e}");
        }
        assert!(serde_json::from_str::<BackfillOptions>(r#"{"per_minit": 3}"#).is_err());
    }

    #[test]
    fn cloudcraft_sets_the_default_pace() {
        assert_eq!(
            default_per_minute(&[VendorName::Cloudcraft, VendorName::Risken]),
            18
        );
        assert_eq!(default_per_minute(&[VendorName::Risken]), 0);
    }
}
