//! Reconcile: checks onboarded accounts against the truth (the role
//! against its spec, the vendor's own list against the ledger) and, when
//! asked, repairs what drifted.

use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use tracing::{info, instrument, warn};

use crate::error::Result;
use crate::ids::AccountId;
use crate::ledger::{LedgerEntry, LedgerState, Transition};
use crate::member_iam::{Drift, RoleSpec};
use crate::vendor_name::VendorName;
use crate::vendors::{AccountToRegister, Vendor};

use super::{advance, notify, Context, SecretRead};

/// Accounts reconcile checks at once for one vendor. Serially, a check costs
/// about five AWS calls and one vendor call; 1,000 accounts with five
/// vendors would not fit in the scheduled function's 15 minutes. Cloudcraft's
/// list is read once per run, so this does not spend its rate limit.
const RECONCILE_CONCURRENCY: usize = 8;

/// What reconcile found for one onboarded account and vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftReport {
    pub account_id: AccountId,
    pub vendor: VendorName,
    /// How the trust role differs from its spec (empty: as it should be).
    pub role: Vec<Drift>,
    /// Whether the vendor still lists the account; `None` when the vendor
    /// has no API to look it up.
    pub registered: Option<bool>,
    /// Whether `--repair` fixed what was found.
    pub repaired: bool,
    /// Why the check itself could not be made.
    pub error: Option<String>,
    /// Why `--repair` could not fix what the check found.
    #[serde(default)]
    pub repair_error: Option<String>,
}

impl DriftReport {
    fn unchecked(entry: &LedgerEntry) -> Self {
        DriftReport {
            account_id: entry.account.clone(),
            vendor: entry.vendor,
            role: Vec::new(),
            registered: None,
            repaired: false,
            error: None,
            repair_error: None,
        }
    }

    pub fn drifted(&self) -> bool {
        !self.role.is_empty() || self.registered == Some(false) || self.error.is_some()
    }
}

/// Checks one onboarded account and vendor against the truth: the role
/// against its spec, the vendor's own list against the ledger. With
/// [`ReconcileMode::Repair`], re-ensures the role and registers again what the vendor lost.
/// A check that cannot be made is reported, not raised, so one broken
/// account never hides the others.
#[instrument(skip_all, fields(step = "reconcile", account = %entry.account, vendor = %entry.vendor))]
async fn reconcile(
    ctx: &Context,
    entry: &LedgerEntry,
    client: &dyn Vendor,
    spec: &RoleSpec,
    mode: ReconcileMode,
) -> DriftReport {
    let mut report = DriftReport::unchecked(entry);
    if entry.offboarding_failed() {
        // The vendor may already have dropped the account: "repairing" it
        // would undo the offboarding. It needs the offboarding finished.
        report.error = Some(format!(
            "an offboarding of this account did not finish: run `vendorlink offboard --account {} --vendor {}` again ({})",
            entry.account,
            entry.vendor,
            entry.last_error.as_deref().unwrap_or_default()
        ));
        return report;
    }
    let checked = match check_drift(ctx, entry, client, spec, &mut report).await {
        Ok(checked) => checked,
        Err(e) => {
            warn!(error = %e, "reconcile could not check");
            report.error = Some(e.to_string());
            return report;
        }
    };
    if mode == ReconcileMode::Repair && report.drifted() {
        match repair_drift(ctx, entry, client, spec, checked, &report).await {
            Ok(()) => report.repaired = true,
            Err(e) => {
                warn!(error = %e, "reconcile could not repair");
                report.repair_error = Some(e.to_string());
            }
        }
    }
    report
}

/// Fills the report's role drift and registration; returns the registration
/// as it stands, for a repair.
async fn check_drift(
    ctx: &Context,
    entry: &LedgerEntry,
    client: &dyn Vendor,
    spec: &RoleSpec,
    report: &mut DriftReport,
) -> Result<AccountToRegister> {
    let account = &entry.account;
    let state = ctx.members.inspect_role(account, spec).await?;
    let name = match ctx.org.describe_account(account).await {
        Ok(info) => info.name,
        Err(_) => String::new(),
    };
    let registration = AccountToRegister {
        account_id: account.clone(),
        account_name: name,
        role_arn: state
            .arn
            .clone()
            .or_else(|| entry.role_arn.clone())
            .unwrap_or_else(|| format!("arn:aws:iam::{account}:role/{}", spec.name)),
        unlisted: false,
    };
    report.role = state.drift;
    report.registered = client.is_registered(&registration).await?;
    Ok(registration)
}

async fn repair_drift(
    ctx: &Context,
    entry: &LedgerEntry,
    client: &dyn Vendor,
    spec: &RoleSpec,
    mut registration: AccountToRegister,
    report: &DriftReport,
) -> Result<()> {
    let (account, vendor) = (&entry.account, entry.vendor);
    if !report.role.is_empty() {
        registration.role_arn = ctx.members.ensure_role(account, spec).await?.arn;
        advance(
            ctx,
            account,
            vendor,
            Transition::active().with_role(&registration.role_arn),
        )
        .await?;
    }
    if report.registered == Some(false) {
        let again = client.register(&registration).await?;
        info!(reference = %again.reference, "registered again");
        advance(
            ctx,
            account,
            vendor,
            Transition::active().with_reference(&again.reference),
        )
        .await?;
    }
    Ok(())
}

/// Whether reconcile only reports drift or also repairs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReconcileMode {
    #[default]
    Report,
    Repair,
}

/// What a reconcile run covers and does.
#[derive(Debug, Clone, Default)]
pub struct ReconcileOptions {
    /// One account, or every account in the ledger.
    pub account: Option<AccountId>,
    pub mode: ReconcileMode,
    /// Publish what drifted through the notifier (the scheduled reconcile).
    pub notify: bool,
}

/// Reconciles every `active` ledger item of the enabled vendors (of one
/// account, or all), and when asked publishes what drifted.
#[instrument(skip_all, fields(step = "reconcile"))]
pub async fn reconcile_all(ctx: &Context, options: &ReconcileOptions) -> Result<Vec<DriftReport>> {
    let mut entries = match &options.account {
        Some(a) => ctx.ledger.account_entries(a).await?,
        None => ctx.ledger.all_entries().await?,
    };
    entries.retain(|e| {
        (e.state == LedgerState::Active || e.offboarding_failed())
            && ctx.config.vendors.contains(&e.vendor)
    });
    // The role spec and the vendor's client depend on the vendor only (the
    // trust may come from the vendor's API): one of each per vendor.
    let mut reports = Vec::new();
    for vendor in ctx.config.vendors.iter().copied() {
        let mine: Vec<&LedgerEntry> = entries.iter().filter(|e| e.vendor == vendor).collect();
        if mine.is_empty() {
            continue;
        }
        match ctx.vendor_and_role(vendor, SecretRead::AsStored).await {
            Ok((client, spec)) => {
                // The futures are made first: a stream holding a closure over
                // borrowed entries does not prove `Send` to the Lambda runtime.
                let checks: Vec<_> = mine
                    .into_iter()
                    .map(|entry| reconcile(ctx, entry, client.as_ref(), &spec, options.mode))
                    .collect();
                let checks = stream::iter(checks)
                    .buffer_unordered(RECONCILE_CONCURRENCY)
                    .collect::<Vec<_>>()
                    .await;
                reports.extend(checks);
            }
            Err(e) => {
                warn!(vendor = %vendor, error = %e, "reconcile could not read the vendor's trust");
                for entry in mine {
                    let mut report = DriftReport::unchecked(entry);
                    report.error = Some(e.to_string());
                    reports.push(report);
                }
            }
        }
    }
    reports.sort_by(|a, b| (&a.account_id, a.vendor).cmp(&(&b.account_id, b.vendor)));
    info!(
        checked = reports.len(),
        drifted = reports.iter().filter(|r| r.drifted()).count(),
        "reconciled"
    );
    if options.notify {
        notify::publish_drift(ctx, &reports).await?;
    }
    Ok(reports)
}

/// `vendorlink reconcile` through the deployed reconcile function:
/// `{"reconcile": {"account": "...", "repair": true, "heal": true}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorRequest {
    /// Only this account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountId>,
    /// Fix what drifted.
    #[serde(default)]
    pub repair: bool,
    /// Start the executions that heal what was found.
    #[serde(default)]
    pub heal: bool,
}

/// The run an operator asked for: the drift (repaired with `repair`), then
/// what needs healing (started with `heal`, on `executions`). Publishes
/// nothing: the operator reads the answer.
pub async fn operator_run(
    ctx: &Context,
    request: &OperatorRequest,
    executions: Option<&dyn crate::ports::Executions>,
) -> Result<(Vec<DriftReport>, Vec<super::HealFinding>)> {
    let options = ReconcileOptions {
        account: request.account.clone(),
        mode: if request.repair {
            ReconcileMode::Repair
        } else {
            ReconcileMode::Report
        },
        notify: false,
    };
    let mode = if request.heal {
        if executions.is_none() {
            return Err(crate::error::Error::config(
                "healing was asked for, but the function has no STATE_MACHINE_ARN to start executions on",
            ));
        }
        super::HealMode::Start
    } else {
        super::HealMode::Report
    };
    let drift = reconcile_all(ctx, &options).await?;
    let heal = super::heal(ctx, request.account.as_ref(), mode, executions).await?;
    Ok((drift, heal))
}
