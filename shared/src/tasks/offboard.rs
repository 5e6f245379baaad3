//! Offboarding a vendor: deregister-account removes the account from the
//! vendor and deletes the vendor's role where the account can be entered.

use tracing::{instrument, warn};

use crate::contract::{Outcome, VendorItem};
use crate::error::{ErrorKind, Result, Step};
use crate::ids::AccountId;
use crate::ledger::{LedgerState, Transition, TransitionOutcome};
use crate::member_iam::RoleDeletion;
use crate::vendor_name::VendorName;
use crate::vendors::Deregistration;

use super::onboard::STALE_CLAIM;
use super::{advance, in_scope, now_minus, Context};

/// Removes the account from the vendor and deletes the vendor's trust role
/// where the account is still reachable.
#[instrument(skip_all, fields(step = "deregister-account", account = %item.account.account_id, vendor = %item.vendor))]
pub async fn deregister_account(ctx: &Context, item: VendorItem) -> Result<VendorItem> {
    in_scope(
        &item,
        Step::DeregisterAccount,
        deregister(ctx, item.clone()),
    )
    .await
}

async fn deregister(ctx: &Context, mut item: VendorItem) -> Result<VendorItem> {
    let account = item.account.account_id.clone();
    let vendor = item.vendor;
    let stale = now_minus(STALE_CLAIM);
    let entry = match ctx
        .ledger
        .transition(
            &account,
            vendor,
            Transition::offboarding(&item.execution, stale.as_deref()),
        )
        .await?
    {
        TransitionOutcome::Applied(entry) => entry,
        // A retry of this step: this execution holds the item already.
        TransitionOutcome::Refused {
            current: Some(entry),
        } if entry.state == LedgerState::Offboarding
            && entry.execution.as_deref() == Some(item.execution.as_str()) =>
        {
            entry
        }
        TransitionOutcome::Refused {
            current: Some(entry),
        } if entry.state == LedgerState::Offboarded => {
            return Ok(item.done(
                Outcome::Offboarded,
                Some("already offboarded (ledger)".into()),
            ));
        }
        TransitionOutcome::Refused { current } => {
            let holder = current
                .and_then(|e| e.execution)
                .unwrap_or_else(|| "another execution".into());
            return Ok(item.done(
                Outcome::Skipped,
                Some(format!("execution {holder} is offboarding this account")),
            ));
        }
    };
    let entry = Some(entry);
    let secret = ctx.secrets.load(vendor).await?;
    let role_name = secret.role_template().name;
    if item.role_arn.is_none() {
        item.role_arn = entry.as_ref().and_then(|e| e.role_arn.clone());
    }
    let client = ctx.vendors.connect(secret)?;
    let outcome = client
        .deregister(&item.registration(Some(&role_name)))
        .await?;

    // The role goes whatever the vendor said (unless asked to keep it); a
    // closed account can no longer be entered, which is reported, not an error.
    let role_note = if item.keep_roles {
        Some(format!("role {role_name} kept, as asked"))
    } else {
        delete_role(ctx, &account, vendor, &role_name).await?
    };
    if let Some(note) = &role_note {
        warn!(note = %note, "role");
    }

    match outcome {
        Deregistration::Pending { reference } => {
            Ok(item.pending(reference, ctx.config.poll_policy(), super::unix_now()))
        }
        Deregistration::ManualStepRequired { instruction } => {
            advance(
                ctx,
                &account,
                vendor,
                Transition::offboarded_with_note(&format!("manual step required: {instruction}"))
                    .held_by(&item.execution),
            )
            .await?;
            Ok(item.done(Outcome::ManualStepRequired, Some(instruction)))
        }
        Deregistration::Removed | Deregistration::NotFound => {
            advance(
                ctx,
                &account,
                vendor,
                Transition::offboarded().held_by(&item.execution),
            )
            .await?;
            Ok(item.done(Outcome::Offboarded, role_note))
        }
    }
}

/// Deletes the vendor's role in the account; a note when there was nothing
/// to delete or the account cannot be entered any more.
async fn delete_role(
    ctx: &Context,
    account: &AccountId,
    vendor: VendorName,
    role_name: &str,
) -> Result<Option<String>> {
    match ctx.members.delete_role(account, vendor, role_name).await {
        Ok(deletion) => Ok(match deletion {
            RoleDeletion::Deleted => None,
            RoleDeletion::Absent => Some(format!("role {role_name} was already gone")),
            RoleDeletion::NotManaged => Some(format!(
                "role {role_name} was not created by vendorlink: left in place"
            )),
        }),
        Err(e) if e.kind() == ErrorKind::RoleNotReady => Ok(Some(format!(
            "role {role_name} not deleted: the account can no longer be entered"
        ))),
        Err(e) => Err(e),
    }
}
