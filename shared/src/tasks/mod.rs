//! The task layer: one module per state machine task, each taking its typed
//! input (see [`contract`](crate::contract)) and the [`Context`] of ports.
//! The Lambda binaries and the CLI call these; nothing here knows about
//! Lambda or a terminal.
//!
//! - [`resolve`] (resolve-account): event in; the account, the action and
//!   the per-vendor work out.
//! - [`onboard`] (ensure-trust-role, register-account, check-status).
//! - [`offboard`] (deregister-account).
//! - [`record`] (record-outcome): ledger, account tags, summary.
//! - [`notify`]: the texts people read, published through the notifier.
//! - [`reconcile`]: the scheduled (and CLI) drift check and repair.
//! - [`heal`]: what no event and no running execution will finish.
//! - [`backfill`]: the backfill state machine's Plan state (batches of
//!   existing accounts, paced) and `vendorlink backfill --dry-run`.
//! - [`doctor`]: `vendorlink doctor`, every vendor checked, nothing written.

pub mod backfill;
pub mod context;
pub mod doctor;
pub mod heal;
pub mod notify;
pub mod offboard;
pub mod onboard;
pub mod reconcile;
pub mod record;
pub mod resolve;

use std::time::{Duration, SystemTime};

use crate::config::ROLE_NOT_READY_WINDOW_SECONDS;

use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
use tracing::warn;

pub use crate::contract::*;
pub use context::{Context, SecretRead};
pub use heal::{heal, resolve_unverified, HealFinding, HealMode, Verdict};
pub use notify::summary_text;
pub use offboard::deregister_account;
pub use onboard::{check_status, ensure_trust_role, register_account};
pub use reconcile::{reconcile_all, DriftReport, ReconcileOptions};
pub use record::record_outcome;
pub use resolve::resolve_account;

use crate::error::{Result, ResultExt, Step};
use crate::ids::AccountId;
use crate::ledger::{Transition, TransitionOutcome};
use crate::vendor_name::VendorName;

/// Moves the ledger; a refusal (another execution holds the item, or it
/// is already past this state) is logged, since the step's own outcome
/// still stands.
pub(crate) async fn advance(
    ctx: &Context,
    account: &AccountId,
    vendor: VendorName,
    transition: Transition,
) -> Result<()> {
    if let TransitionOutcome::Refused { current } =
        ctx.ledger.transition(account, vendor, transition).await?
    {
        warn!(
            state = current
                .as_ref()
                .map(|e| e.state.as_str())
                .unwrap_or("absent"),
            holder = current
                .as_ref()
                .and_then(|e| e.execution.as_deref())
                .unwrap_or("-"),
            "the ledger refused a transition"
        );
    }
    Ok(())
}

/// Runs a vendor step, putting its step, account and vendor on any error.
pub(crate) async fn in_scope<T>(
    item: &VendorItem,
    step: Step,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    work.await
        .in_step(step)
        .for_account(&item.account.account_id)
        .for_vendor(item.vendor)
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Whether a role created or changed at `changed_at` may still be
/// propagating to the vendor (see [`ROLE_NOT_READY_WINDOW_SECONDS`]).
pub(crate) fn role_may_be_propagating(changed_at: Option<u64>) -> bool {
    changed_at.is_some_and(|at| unix_now().saturating_sub(at) < ROLE_NOT_READY_WINDOW_SECONDS)
}

pub(crate) fn now_minus(age: Duration) -> Option<String> {
    let at = SystemTime::now().checked_sub(age)?;
    DateTime::from(at).fmt(DateTimeFormat::DateTime).ok()
}

#[cfg(test)]
mod tests;
