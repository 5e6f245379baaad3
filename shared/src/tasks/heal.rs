//! Healing: what no event and no running execution will finish by itself.
//!
//! - accounts in scope that were never onboarded with a vendor (their event
//!   was lost: EventBridge delivery is not guaranteed);
//! - items whose last run failed (a vendor down, polling that timed out);
//! - items stuck in an execution's state that has not moved for
//!   [`STALE_CLAIM`] (the execution died);
//! - items `unverified` or whose offboarding failed, which only a person can
//!   settle: these are reported, never started.
//!
//! With [`HealMode::Start`] it starts one onboarding execution per account
//! for the vendors that need one (the scheduled reconcile with `AutoHeal`,
//! `vendorlink reconcile --heal`); otherwise it only reports. Execution names
//! derive from the account, its vendors and their attempts, so a second heal
//! of the same findings starts nothing twice.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use tracing::{info, instrument, warn};

use crate::contract::DirectRequest;
use crate::error::Result;
use crate::ids::AccountId;
use crate::ledger::{LedgerEntry, LedgerState, Transition};
use crate::ports::{Executions, StartOutcome};
use crate::vendor_name::VendorName;

use super::onboard::STALE_CLAIM;
use super::{advance, now_minus, Context};

/// Why an account and vendor need healing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// In scope, and the ledger has no item for the vendor.
    NeverOnboarded,
    /// The last onboarding failed.
    Failed,
    /// An execution's state that has not moved for hours.
    Stuck,
    /// The vendor may or may not hold the registration: a person settles it.
    Unverified,
    /// An offboarding did not finish: a person runs it again.
    OffboardingFailed,
}

impl Problem {
    /// Whether an execution can fix it (else a person must).
    pub fn startable(self) -> bool {
        matches!(
            self,
            Problem::NeverOnboarded | Problem::Failed | Problem::Stuck
        )
    }
}

/// What healing did about a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum HealAction {
    /// Left for a person (or for a run with `--heal` / `AutoHeal`).
    Reported,
    Started {
        execution: String,
    },
    /// A heal run before started the same execution.
    AlreadyStarted {
        execution: String,
    },
    StartFailed {
        error: String,
    },
}

/// One account and vendor that needs healing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealFinding {
    pub account_id: AccountId,
    pub vendor: VendorName,
    pub problem: Problem,
    pub detail: String,
    #[serde(flatten)]
    pub action: HealAction,
}

/// Whether healing starts executions or only reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HealMode {
    #[default]
    Report,
    Start,
}

/// Finds what needs healing (of one account, or all in scope) and, with
/// [`HealMode::Start`], starts the executions that fix it.
#[instrument(skip_all, fields(step = "reconcile"))]
pub async fn heal(
    ctx: &Context,
    account: Option<&AccountId>,
    mode: HealMode,
    executions: Option<&dyn Executions>,
) -> Result<Vec<HealFinding>> {
    let mut findings = find(ctx, account).await?;
    release_stuck(ctx, &mut findings).await;
    if mode == HealMode::Start {
        if let Some(executions) = executions {
            start(ctx, executions, &mut findings).await?;
        }
    }
    info!(
        findings = findings.len(),
        started = findings
            .iter()
            .filter(|f| matches!(f.action, HealAction::Started { .. }))
            .count(),
        "healing"
    );
    Ok(findings)
}

async fn find(ctx: &Context, only: Option<&AccountId>) -> Result<Vec<HealFinding>> {
    let entries = match only {
        Some(a) => ctx.ledger.account_entries(a).await?,
        None => ctx.ledger.all_entries().await?,
    };
    let mut ledger: HashMap<(AccountId, VendorName), LedgerEntry> = entries
        .into_iter()
        .map(|e| ((e.account.clone(), e.vendor), e))
        .collect();
    let stale = now_minus(STALE_CLAIM);
    let mut findings = Vec::new();
    let in_scope: std::collections::HashSet<AccountId> = ctx
        .org
        .members(&ctx.config.include_ous)
        .await?
        .into_iter()
        .map(|a| a.id)
        .filter(|id| !ctx.config.exclude_accounts.contains(id))
        .filter(|id| only.is_none_or(|o| o == id))
        .collect();
    // Items of accounts no longer in scope still show what a person owes.
    let mut accounts: Vec<AccountId> = in_scope
        .iter()
        .cloned()
        .chain(ledger.keys().map(|(a, _)| a.clone()))
        .collect();
    accounts.sort();
    accounts.dedup();
    for account in accounts {
        for vendor in ctx.config.vendors.iter().copied() {
            let entry = ledger.remove(&(account.clone(), vendor));
            let scoped = in_scope.contains(&account);
            if let Some((problem, detail)) = diagnose(entry.as_ref(), scoped, stale.as_deref()) {
                findings.push(HealFinding {
                    account_id: account.clone(),
                    vendor,
                    problem,
                    detail,
                    action: HealAction::Reported,
                });
            }
        }
    }
    Ok(findings)
}

/// What is wrong with one item, if anything.
fn diagnose(
    entry: Option<&LedgerEntry>,
    in_scope: bool,
    stale_before: Option<&str>,
) -> Option<(Problem, String)> {
    let Some(entry) = entry else {
        return in_scope.then(|| {
            (
                Problem::NeverOnboarded,
                "in scope, never onboarded (its event may have been lost)".to_owned(),
            )
        });
    };
    let why = entry.last_error.clone().unwrap_or_default();
    if entry.offboarding_failed() {
        return Some((Problem::OffboardingFailed, why));
    }
    match entry.state {
        LedgerState::Unverified => Some((Problem::Unverified, why)),
        LedgerState::Failed if in_scope => Some((Problem::Failed, why)),
        state
            if state.in_flight()
                && in_scope
                && stale_before.is_some_and(|s| entry.updated_at.as_str() < s) =>
        {
            Some((
                Problem::Stuck,
                format!(
                    "{state} since {} (execution {} no longer moves it)",
                    entry.updated_at,
                    entry.execution.as_deref().unwrap_or("-")
                ),
            ))
        }
        _ => None,
    }
}

/// A stuck item is released before a new execution claims it: `failed`,
/// except a create that may have reached a vendor without a lookup, which
/// becomes `unverified` (a new execution would create a second one).
async fn release_stuck(ctx: &Context, findings: &mut [HealFinding]) {
    for finding in findings.iter_mut().filter(|f| f.problem == Problem::Stuck) {
        let Ok(Some(entry)) = ctx.ledger.get(&finding.account_id, finding.vendor).await else {
            continue;
        };
        let holder = entry.execution.clone().unwrap_or_default();
        let maybe_created = entry.state == LedgerState::Registering
            && !ctx
                .vendor(finding.vendor)
                .await
                .is_ok_and(|c| c.finds_existing());
        let transition = if maybe_created {
            finding.problem = Problem::Unverified;
            finding.detail = format!(
                "unverified: the registration may or may not exist (execution {holder} stopped while registering). \
                 Check in {}'s console; then run `vendorlink resolve-unverified --account {} --vendor {} --present` \
                 or `--absent`",
                finding.vendor.profile().title,
                finding.account_id,
                finding.vendor
            );
            Transition::unverified(&finding.detail).held_by(&holder)
        } else {
            Transition::failed(&format!("stuck: {}", finding.detail), &holder)
        };
        if let Err(e) = advance(ctx, &finding.account_id, finding.vendor, transition).await {
            warn!(error = %e, "could not release a stuck item");
        }
    }
}

/// One onboarding per account, for its vendors that an execution can fix.
async fn start(
    ctx: &Context,
    executions: &dyn Executions,
    findings: &mut [HealFinding],
) -> Result<()> {
    let mut by_account: BTreeMap<AccountId, Vec<usize>> = BTreeMap::new();
    for (i, f) in findings.iter().enumerate() {
        if f.problem.startable() {
            by_account.entry(f.account_id.clone()).or_default().push(i);
        }
    }
    for (account, indexes) in by_account {
        let vendors: Vec<VendorName> = indexes.iter().map(|&i| findings[i].vendor).collect();
        let mut attempts = 0;
        for &vendor in &vendors {
            if let Some(e) = ctx.ledger.get(&account, vendor).await? {
                attempts += e.attempts;
            }
        }
        let name = execution_name(&account, &vendors, attempts);
        let input = serde_json::to_string(&DirectRequest::onboard(account.clone(), &vendors))
            .unwrap_or_default();
        let action = match executions.start(&name, &input).await {
            Ok(StartOutcome::Started) => HealAction::Started { execution: name },
            Ok(StartOutcome::AlreadyStarted) => HealAction::AlreadyStarted { execution: name },
            Err(e) => HealAction::StartFailed {
                error: e.to_string(),
            },
        };
        for i in indexes {
            findings[i].action = action.clone();
        }
    }
    Ok(())
}

/// Stable for the same account, vendors and attempts: a heal run twice
/// starts one execution; a failed heal (another attempt) starts a new one.
pub fn execution_name(account: &AccountId, vendors: &[VendorName], attempts: u32) -> String {
    crate::contract::execution_name("heal", account, vendors, attempts)
}

/// How a person settles an `unverified` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The vendor holds the registration (its reference, if known).
    Present { reference: Option<String> },
    /// It does not: the next onboarding creates it.
    Absent,
}

/// Settles an `unverified` item as a person found it in the vendor's
/// console. Refused (a clear error) for an item in any other state.
pub async fn resolve_unverified(
    ctx: &Context,
    account: &AccountId,
    vendor: VendorName,
    verdict: &Verdict,
    by: &str,
) -> Result<LedgerEntry> {
    let transition = match verdict {
        Verdict::Present { reference } => {
            Transition::verified_present(reference.as_deref()).by(by)
        }
        Verdict::Absent => Transition::verified_absent(
            "settled by hand: the vendor did not hold the registration; the next onboarding creates it",
        )
        .by(by),
    };
    match ctx.ledger.transition(account, vendor, transition).await? {
        crate::ledger::TransitionOutcome::Applied(entry) => Ok(entry),
        crate::ledger::TransitionOutcome::Refused { current } => {
            Err(crate::error::Error::bad_input(format!(
                "{vendor} for account {account} is not unverified (it is {}): nothing to settle",
                current
                    .map(|e| e.state.as_str())
                    .unwrap_or("absent from the ledger")
            ))
            .for_account(account)
            .for_vendor(vendor))
        }
    }
}
