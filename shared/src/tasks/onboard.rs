//! Onboarding a vendor: ensure-trust-role (claim, then create or repair the
//! role), register-account, and check-status while the vendor works.

use std::time::Duration;

use tracing::{info, instrument};

use crate::contract::{Action, ItemStatus, Outcome, VendorItem};
use crate::error::{Error, ErrorKind, Result, Step};
use crate::ledger::{LedgerEntry, LedgerState, Transition, TransitionOutcome};
use crate::vendors::{AccountToRegister, RegistrationStatus, Vendor};

use super::{advance, in_scope, now_minus, role_may_be_propagating, unix_now, Context, SecretRead};

/// A claim not moved for this long belongs to an execution that died.
/// (A polling execution refreshes its claim at every check, and checks are
/// at most `MAX_POLL_WAIT_SECONDS` apart: two hours leaves ample room.)
pub(crate) const STALE_CLAIM: Duration = Duration::from_secs(2 * 3600);

/// How many times a stalled registration is registered again before it
/// fails: with the poll wait between them (30 s by default), IAM has
/// minutes to propagate a new role to the vendor.
const MAX_RESUMES: u32 = 6;

/// Whether a stalled registration (the vendor could not assume the role) is
/// registered again: a few times in any case, and for as long as the role
/// may still be propagating.
fn may_resume(item: &VendorItem) -> bool {
    item.resumes < MAX_RESUMES || role_may_be_propagating(item.role_changed_at)
}

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
    // A role just created or changed waits (a Step Functions Wait) for IAM
    // to propagate it before the vendor is asked to assume it.
    if !ensured.repaired.is_empty() {
        item.role_changed_at = Some(unix_now());
        item.wait_seconds = ctx.config.role_propagation_seconds;
    } else {
        item.wait_seconds = 0;
    }
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
    if item.role_arn.is_none() {
        return Err(Error::bad_input(
            "register-account needs the role_arn from ensure-trust-role",
        ));
    }
    let entry = match held(ctx, &item).await? {
        Ok(entry) => entry,
        Err(why) => return Ok(item.done(Outcome::Skipped, Some(why))),
    };
    let client = ctx.vendor(item.vendor).await?;
    match (entry.state, entry.vendor_ref.clone()) {
        // A retry of this step after the vendor accepted the registration and
        // the ledger recorded it: follow that registration instead of
        // submitting the account again (a vendor without a lookup, or whose
        // pending requests it does not list, would get a second one).
        (LedgerState::Registered, Some(reference)) => {
            let status = client.status(&item.registration(None), &reference).await?;
            if !matches!(status, RegistrationStatus::Failed { .. }) {
                info!(reference = %reference, status = ?status, "already registered by this execution");
                return settle(ctx, item, reference, status).await;
            }
        }
        // An earlier attempt of this execution sent the create and never
        // learned its outcome (its Lambda died, or the answer was lost), and
        // the vendor cannot be asked: never create a second one.
        (LedgerState::Registering, _) if !client.finds_existing() => {
            return unverified(
                ctx,
                item,
                client.as_ref(),
                "an earlier attempt got no answer",
            )
            .await;
        }
        (LedgerState::Unverified, _) => {
            let detail = entry.last_error.unwrap_or_default();
            return Ok(item.done(Outcome::Unverified, Some(detail)));
        }
        _ => {}
    }
    let unlisted = unlisted_still_holds(&item, &entry);
    submit(
        ctx,
        item,
        client.as_ref(),
        entry.vendor_ref.as_deref(),
        unlisted,
    )
    .await
}

/// Whether the backfill's "not in the vendor's listing" still holds: only
/// this execution's claim since the listing was read, and no earlier attempt
/// of this step sent the create (`registering` or later), so nothing can
/// have registered the account at the vendor since.
fn unlisted_still_holds(item: &VendorItem, entry: &LedgerEntry) -> bool {
    item.unlisted_after
        .is_some_and(|attempts| entry.attempts == attempts.saturating_add(1))
        && matches!(entry.state, LedgerState::Claimed | LedgerState::RoleReady)
        && entry.vendor_ref.is_none()
}

/// Records the intent, then asks the vendor to register the account (its
/// client finds an existing registration first, where it can, and follows
/// an earlier run's request, `earlier`, while the vendor still processes it).
async fn submit(
    ctx: &Context,
    item: VendorItem,
    client: &dyn Vendor,
    earlier: Option<&str>,
    unlisted: bool,
) -> Result<VendorItem> {
    let (account, vendor) = (item.account.account_id.clone(), item.vendor);
    advance(
        ctx,
        &account,
        vendor,
        Transition::registering().held_by(&item.execution),
    )
    .await?;
    let account_to_register = AccountToRegister {
        unlisted,
        ..item.registration(None)
    };
    let attempt = match earlier {
        Some(reference) => client.register_again(&account_to_register, reference).await,
        None => client.register(&account_to_register).await,
    };
    // A vendor that says it cannot assume the role yet, while the role may
    // still be propagating, is asked again later (the step's RoleNotReady
    // retries), never failed.
    let attempt = attempt.map_err(|e| {
        if e.is_role_refusal() && role_may_be_propagating(item.role_changed_at) {
            Error::new(
                ErrorKind::RoleNotReady,
                format!(
                    "{vendor} cannot assume the role yet (created or changed moments ago; IAM \
                     propagates it within minutes): {}",
                    e.message()
                ),
            )
        } else {
            e
        }
    });
    let registration = match attempt {
        Ok(registration) => registration,
        Err(e) if e.is_ambiguous() && !client.finds_existing() => {
            return unverified(ctx, item, client, e.message()).await;
        }
        Err(e) => {
            if !client.finds_existing() {
                // Refused before acting: a retry may create it.
                let role_arn = item.role_arn.as_deref().unwrap_or_default();
                advance(
                    ctx,
                    &account,
                    vendor,
                    Transition::role_ready(role_arn).held_by(&item.execution),
                )
                .await?;
            }
            return Err(e);
        }
    };
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

/// The vendor may hold the registration or not, and cannot be asked: the
/// item waits for a person, with what to check and how to settle it.
async fn unverified(
    ctx: &Context,
    item: VendorItem,
    client: &dyn Vendor,
    why: &str,
) -> Result<VendorItem> {
    let instruction = unverified_instruction(&item, client, why);
    advance(
        ctx,
        &item.account.account_id,
        item.vendor,
        Transition::unverified(&instruction).held_by(&item.execution),
    )
    .await?;
    tracing::warn!(instruction = %instruction, "registration unverified");
    Ok(item.done(Outcome::Unverified, Some(instruction)))
}

/// What a person does about an unverified registration.
pub(crate) fn unverified_instruction(item: &VendorItem, client: &dyn Vendor, why: &str) -> String {
    let (account, vendor) = (&item.account.account_id, item.vendor);
    format!(
        "unverified: the registration may or may not exist ({why}). {}; then run \
         `vendorlink resolve-unverified --account {account} --vendor {vendor} --present` if it is there, \
         or `--absent` if it is not (the next onboarding creates it)",
        client.where_to_check(&item.registration(None))
    )
}

/// Records what a vendor said of a registration and decides the next move.
async fn settle(
    ctx: &Context,
    mut item: VendorItem,
    reference: String,
    status: RegistrationStatus,
) -> Result<VendorItem> {
    let (account, vendor) = (item.account.account_id.clone(), item.vendor);
    let (outcome, warnings) = match status.bounded() {
        RegistrationStatus::Pending => {
            return Ok(item.pending(reference, ctx.config.poll_policy(), unix_now()))
        }
        RegistrationStatus::Active => (Outcome::Active, Vec::new()),
        RegistrationStatus::ActiveWithWarnings { warnings } => {
            (Outcome::RegisteredWithWarnings, warnings)
        }
        RegistrationStatus::Stalled { reason } if may_resume(&item) => {
            // Checked again after the usual wait; the next check registers
            // again (which converges: it does only what is missing).
            info!(reason = %reason, resumes = item.resumes, "registration stalled; resuming after a wait");
            return Ok(item.pending(reference, ctx.config.poll_policy(), unix_now()));
        }
        RegistrationStatus::Failed { reason } | RegistrationStatus::Stalled { reason } => {
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
    let Some(mut reference) = item.reference.clone() else {
        return Err(Error::bad_input("check-status needs the vendor reference"));
    };
    if item.action == Action::Onboard {
        if let Some(why) = lost_hold(ctx, &item).await? {
            return Ok(item.done(Outcome::Skipped, Some(why)));
        }
    }
    let client = ctx.vendor(vendor).await?;
    let mut status = client
        .status(&item.registration(None), &reference)
        .await?
        .bounded();
    item.polls += 1;
    // What the vendor says it is still doing, for the execution's history
    // ("still scanning: 3 of 5 data sources OK; ...").
    item.detail = client.progress();
    if item.action == Action::Offboard {
        return match status {
            RegistrationStatus::Pending => {
                Ok(item.pending(reference, ctx.config.poll_policy(), unix_now()))
            }
            // A stalled removal (the vendor could not assume the role) did
            // not remove anything either: never record it as offboarded.
            RegistrationStatus::Failed { reason } | RegistrationStatus::Stalled { reason } => {
                Err(Error::new(
                    ErrorKind::Vendor,
                    format!("{vendor} reported the removal failed: {reason}"),
                ))
            }
            _ => {
                advance(
                    ctx,
                    &item.account.account_id,
                    vendor,
                    Transition::offboarded().held_by(&item.execution),
                )
                .await?;
                Ok(item.done(Outcome::Offboarded, None))
            }
        };
    }
    if let RegistrationStatus::Stalled { reason } = &status {
        if may_resume(&item) {
            // Register again: the client does only what is missing (RISKEN
            // scans again, Skyhigh submits an account its failed request
            // left out), then keep polling.
            info!(reason = %reason, resumes = item.resumes, "resuming a stalled registration");
            item.resumes += 1;
            let again = client.register(&item.registration(None)).await?;
            (reference, status) = (again.reference, again.status);
        }
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
