//! Onboarding a vendor: ensure-trust-role (claim, then create or repair the
//! role), register-account, and check-status while the vendor works.

use std::time::Duration;

use tracing::{info, instrument};

use crate::contract::{Action, ItemStatus, Outcome, VendorItem};
use crate::error::{Error, ErrorKind, Result, Step};
use crate::ledger::{LedgerEntry, LedgerState, Transition, TransitionOutcome};
use crate::vendors::RegistrationStatus;

use super::{advance, in_scope, now_minus, Context, SecretRead};

/// A claim not moved for this long belongs to an execution that died.
/// (An execution polls a vendor for at most 60 checks of at most an hour
/// each by configuration; in practice minutes. Two hours leaves room.)
const STALE_CLAIM: Duration = Duration::from_secs(2 * 3600);

/// Claims the account for the vendor in the ledger, then creates or repairs
/// the vendor's trust role in it.
#[instrument(skip_all, fields(step = "ensure-trust-role", account = %item.account.account_id, vendor = %item.vendor))]
pub async fn ensure_trust_role(ctx: &Context, item: VendorItem) -> Result<VendorItem> {
    in_scope(&item, Step::EnsureTrustRole, ensure(ctx, item.clone())).await
}

async fn ensure(ctx: &Context, mut item: VendorItem) -> Result<VendorItem> {
    let account = item.account.account_id.clone();
    let vendor = item.vendor;
    let stale = now_minus(STALE_CLAIM);
    match ctx
        .ledger
        .transition(
            &account,
            vendor,
            Transition::claim(&item.execution, stale.as_deref()),
        )
        .await?
    {
        TransitionOutcome::Applied(_) => {}
        // This execution holds it already: a retry of this step goes on.
        TransitionOutcome::Refused {
            current: Some(entry),
        } if entry.execution.as_deref() == Some(item.execution.as_str())
            && entry.state != LedgerState::Active => {}
        TransitionOutcome::Refused { current } => return Ok(already(item, current)),
    }
    let (_, spec) = ctx
        .vendor_and_role(vendor, SecretRead::EnsureExternalId)
        .await?;
    let ensured = ctx.members.ensure_role(&account, &spec).await?;
    info!(role = %ensured.arn, repaired = ensured.repaired.len(), "trust role ready");
    advance(
        ctx,
        &account,
        vendor,
        Transition::role_ready(&ensured.arn).held_by(&item.execution),
    )
    .await?;
    item.role_arn = Some(ensured.arn);
    item.status = ItemStatus::Continue;
    Ok(item)
}

/// Why this execution may no longer act for the account, if it may not: an
/// offboarding (or, after a stale claim, another execution) has taken the
/// item since this one claimed it. Read before any vendor call, so an
/// onboarding in flight never registers an account that is being removed.
async fn lost_hold(ctx: &Context, item: &VendorItem) -> Result<Option<String>> {
    Ok(held(ctx, item).await?.err())
}

/// The ledger item when this execution holds it, else why it does not.
async fn held(ctx: &Context, item: &VendorItem) -> Result<Result<LedgerEntry, String>> {
    let entry = ctx
        .ledger
        .get(&item.account.account_id, item.vendor)
        .await?;
    Ok(match entry {
        Some(entry) if entry.execution.as_deref() == Some(item.execution.as_str()) => Ok(entry),
        Some(entry) => Err(format!(
            "stopped: execution {} has taken this account since ({})",
            entry.execution.as_deref().unwrap_or("-"),
            entry.state
        )),
        None => Err("stopped: the ledger no longer holds this account".into()),
    })
}

/// The claim was refused: the account is already onboarded, or another
/// execution is onboarding it right now. Either way this run does nothing.
fn already(item: VendorItem, current: Option<LedgerEntry>) -> VendorItem {
    match current {
        Some(entry) if entry.state == LedgerState::Active => {
            let mut item = item;
            item.role_arn = entry.role_arn;
            item.reference = entry.vendor_ref;
            item.done(Outcome::Active, Some("already active (ledger)".into()))
        }
        Some(entry) => {
            let holder = entry
                .execution
                .unwrap_or_else(|| "another execution".into());
            item.done(
                Outcome::Skipped,
                Some(format!(
                    "execution {holder} is onboarding this account ({})",
                    entry.state
                )),
            )
        }
        None => item.done(
            Outcome::Skipped,
            Some("the ledger refused the claim".into()),
        ),
    }
}

// ---------------------------------------------------------------- register-account

/// Registers the account with the vendor (the vendor client looks it up first).
#[instrument(skip_all, fields(step = "register-account", account = %item.account.account_id, vendor = %item.vendor))]
pub async fn register_account(ctx: &Context, item: VendorItem) -> Result<VendorItem> {
    in_scope(&item, Step::RegisterAccount, register(ctx, item.clone())).await
}

async fn register(ctx: &Context, item: VendorItem) -> Result<VendorItem> {
    let account = item.account.account_id.clone();
    let vendor = item.vendor;
    if item.role_arn.is_none() {
        return Err(Error::bad_input(
            "register-account needs the role_arn from ensure-trust-role",
        ));
    }
    let entry = match held(ctx, &item).await? {
        Ok(entry) => entry,
        Err(why) => return Ok(item.done(Outcome::Skipped, Some(why))),
    };
    let client = ctx.vendor(vendor).await?;
    // A retry of this step after the vendor accepted the registration and
    // the ledger recorded it: follow that registration instead of
    // submitting the account again (a vendor without a lookup, or whose
    // pending requests it does not list, would get a second one).
    if let (LedgerState::Registered, Some(reference)) = (entry.state, entry.vendor_ref) {
        let status = client.status(&item.registration(None), &reference).await?;
        if !matches!(status, RegistrationStatus::Failed { .. }) {
            info!(reference = %reference, status = ?status, "already registered by this execution");
            return settle(ctx, item, reference, status).await;
        }
    }
    let registration = client.register(&item.registration(None)).await?;
    advance(
        ctx,
        &account,
        vendor,
        Transition::registered(&registration.reference).held_by(&item.execution),
    )
    .await?;
    info!(reference = %registration.reference, status = ?registration.status, "registered");
    settle(ctx, item, registration.reference, registration.status).await
}

/// Records what a vendor said of a registration and decides the next move.
async fn settle(
    ctx: &Context,
    mut item: VendorItem,
    reference: String,
    status: RegistrationStatus,
) -> Result<VendorItem> {
    let (account, vendor) = (item.account.account_id.clone(), item.vendor);
    let (outcome, warnings) = match status {
        RegistrationStatus::Pending => return Ok(item.pending(reference, ctx.config.poll_seconds)),
        RegistrationStatus::Active => (Outcome::Active, Vec::new()),
        RegistrationStatus::ActiveWithWarnings { warnings } => {
            (Outcome::RegisteredWithWarnings, warnings)
        }
        RegistrationStatus::Failed { reason } => {
            return Err(Error::new(
                ErrorKind::Vendor,
                format!("{vendor} reported the registration failed: {reason}"),
            ))
        }
    };
    advance(
        ctx,
        &account,
        vendor,
        Transition::active().held_by(&item.execution),
    )
    .await?;
    item.reference = Some(reference);
    item.warnings = warnings;
    Ok(item.done(outcome, None))
}

// ---------------------------------------------------------------- check-status

/// One status check of a pending registration (or, offboarding, of a
/// pending removal).
#[instrument(skip_all, fields(step = "check-status", account = %item.account.account_id, vendor = %item.vendor))]
pub async fn check_status(ctx: &Context, item: VendorItem) -> Result<VendorItem> {
    in_scope(&item, Step::CheckStatus, check(ctx, item.clone())).await
}

async fn check(ctx: &Context, mut item: VendorItem) -> Result<VendorItem> {
    let vendor = item.vendor;
    let Some(reference) = item.reference.clone() else {
        return Err(Error::bad_input("check-status needs the vendor reference"));
    };
    if item.action == Action::Onboard {
        if let Some(why) = lost_hold(ctx, &item).await? {
            return Ok(item.done(Outcome::Skipped, Some(why)));
        }
    }
    let client = ctx.vendor(vendor).await?;
    let status = client.status(&item.registration(None), &reference).await?;
    item.polls += 1;
    if item.action == Action::Offboard {
        return match status {
            RegistrationStatus::Pending => Ok(item.pending(reference, ctx.config.poll_seconds)),
            RegistrationStatus::Failed { reason } => Err(Error::new(
                ErrorKind::Vendor,
                format!("{vendor} reported the removal failed: {reason}"),
            )),
            _ => {
                advance(
                    ctx,
                    &item.account.account_id,
                    vendor,
                    Transition::offboarded().by(&item.execution),
                )
                .await?;
                Ok(item.done(Outcome::Offboarded, None))
            }
        };
    }
    if status == RegistrationStatus::Pending {
        // Still the holder: keep the claim fresh so a long wait never looks
        // like a dead execution to a duplicate one.
        advance(
            ctx,
            &item.account.account_id,
            vendor,
            Transition::registered(&reference).held_by(&item.execution),
        )
        .await?;
    }
    settle(ctx, item, reference, status).await
}
