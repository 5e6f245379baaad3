//! resolve-account: an event (or a direct request) in; the account, the
//! action and one work item per vendor out.

use serde_json::Value;
use tracing::{info, instrument};

use crate::config::Scope;
use crate::contract::{AccountSummary, Action, OffboardRoles, Resolved, Unlisted, WorkItem};
use crate::error::{Error, ErrorKind, Result, ResultExt, Step};
use crate::events::{decide, AccountRef, Decision};
use crate::ids::AccountId;
use crate::ledger::LedgerState;
use crate::vendor_name::VendorName;

use super::Context;

/// Event in; the account, the action and the per-vendor work out.
#[instrument(skip_all, fields(step = "resolve-account"))]
pub async fn resolve_account(ctx: &Context, event: &Value) -> Result<Resolved> {
    resolve(ctx, event).await.in_step(Step::ResolveAccount)
}

async fn resolve(ctx: &Context, event: &Value) -> Result<Resolved> {
    let decision = decide(event)?;
    let moved = matches!(decision, Decision::Moved(_));
    let event_name = event
        .pointer("/detail/eventName")
        .and_then(Value::as_str)
        .unwrap_or("event");
    let skip = |account: Option<AccountSummary>, trigger: &str, reason: String| {
        info!(reason = %reason, "skipping");
        Resolved {
            action: Action::Skip,
            account,
            trigger: trigger.to_owned(),
            reason: Some(reason),
            items: Vec::new(),
        }
    };
    match decision {
        Decision::Skip { account_id, reason } => Ok(skip(
            account_id.map(|account_id| AccountSummary {
                account_id,
                account_name: String::new(),
            }),
            event_name,
            reason,
        )),
        Decision::Onboard(account) | Decision::Moved(account) => {
            let id = account.account_id.clone();
            if ctx.org.management_account().await?.as_ref() == Some(&id) {
                // vendorlink runs there with the organization's keys: no
                // vendor role, no registration, whatever the event says.
                return Ok(skip(
                    Some(AccountSummary {
                        account_id: id.clone(),
                        account_name: String::new(),
                    }),
                    &account.trigger,
                    format!("account {id} is the organization's management account: vendorlink never onboards it"),
                ));
            }
            let info = ctx.org.describe_account(&id).await?;
            let summary = AccountSummary {
                account_id: id.clone(),
                account_name: info.name.clone(),
            };
            if info.status != "ACTIVE" {
                return Ok(skip(
                    Some(summary),
                    &account.trigger,
                    format!("account {id} is {}, not ACTIVE", info.status),
                ));
            }
            let ancestors = ctx.org.ancestors(&id).await?;
            if let Scope::Out(reason) = ctx.config.scope(&id, &ancestors) {
                if !moved {
                    return Ok(skip(Some(summary), &account.trigger, reason));
                }
                // Moved out of scope: offboard, or only report, as configured.
                let onboarded = onboarded_vendors(ctx, &id).await?;
                if onboarded.is_empty() {
                    return Ok(skip(Some(summary), &account.trigger, reason));
                }
                if !ctx.config.offboard_on_scope_exit {
                    let names: Vec<&str> = onboarded.iter().map(|v| v.as_str()).collect();
                    return Ok(skip(
                        Some(summary),
                        &account.trigger,
                        format!(
                            "{reason}; it stays onboarded with {} because OFFBOARD_ON_SCOPE_EXIT is false",
                            names.join(", ")
                        ),
                    ));
                }
                info!(account = %id, vendors = onboarded.len(), "moved out of scope: offboarding");
                return Ok(work(
                    Action::Offboard,
                    summary,
                    &account.trigger,
                    onboarded,
                    OffboardRoles::Delete,
                    &[],
                ));
            }
            let vendors = requested_vendors(ctx, &account)?;
            info!(account = %id, vendors = vendors.len(), "onboarding");
            Ok(work(
                Action::Onboard,
                summary,
                &account.trigger,
                vendors,
                OffboardRoles::Delete,
                &account.unlisted,
            ))
        }
        Decision::Offboard(account) => {
            let id = account.account_id.clone();
            // An account removed from the organization can no longer be
            // described; offboarding goes on with what the ledger knows.
            let name = match ctx.org.describe_account(&id).await {
                Ok(info) => info.name,
                Err(e) if e.kind() == ErrorKind::BadInput => String::new(),
                Err(e) => return Err(e),
            };
            let summary = AccountSummary {
                account_id: id.clone(),
                account_name: name,
            };
            let onboarded = onboarded_vendors(ctx, &id).await?;
            let vendors: Vec<VendorName> = requested_vendors(ctx, &account)?
                .into_iter()
                .filter(|v| onboarded.contains(v))
                .collect();
            if vendors.is_empty() {
                return Ok(skip(
                    Some(summary),
                    &account.trigger,
                    format!("account {id} is not onboarded with any enabled vendor"),
                ));
            }
            info!(account = %id, vendors = vendors.len(), "offboarding");
            let roles = if account.keep_roles {
                OffboardRoles::Keep
            } else {
                OffboardRoles::Delete
            };
            Ok(work(
                Action::Offboard,
                summary,
                &account.trigger,
                vendors,
                roles,
                &[],
            ))
        }
    }
}

/// The vendors the ledger has the account with (anything but offboarded).
async fn onboarded_vendors(ctx: &Context, account: &AccountId) -> Result<Vec<VendorName>> {
    Ok(ctx
        .ledger
        .account_entries(account)
        .await?
        .into_iter()
        .filter(|e| e.state != LedgerState::Offboarded && ctx.config.vendors.contains(&e.vendor))
        .map(|e| e.vendor)
        .collect())
}

/// The enabled vendors, narrowed to those a direct request names.
fn requested_vendors(ctx: &Context, account: &AccountRef) -> Result<Vec<VendorName>> {
    let enabled = &ctx.config.vendors;
    match &account.vendors {
        None => Ok(enabled.clone()),
        Some(asked) => {
            for v in asked {
                if !enabled.contains(v) {
                    return Err(Error::bad_input(format!(
                        "vendor {v} is not enabled (VENDORS is {})",
                        enabled
                            .iter()
                            .map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    ))
                    .for_account(&account.account_id));
                }
            }
            // A vendor named twice would run two branches for it at once.
            let mut unique = Vec::with_capacity(asked.len());
            for v in asked {
                if !unique.contains(v) {
                    unique.push(*v);
                }
            }
            Ok(unique)
        }
    }
}

fn work(
    action: Action,
    account: AccountSummary,
    trigger: &str,
    vendors: Vec<VendorName>,
    roles: OffboardRoles,
    unlisted: &[Unlisted],
) -> Resolved {
    Resolved {
        action,
        items: vendors
            .into_iter()
            .map(|vendor| WorkItem {
                action,
                account: account.clone(),
                vendor,
                keep_roles: roles == OffboardRoles::Keep,
                unlisted_after: unlisted
                    .iter()
                    .find(|u| u.vendor == vendor)
                    .map(|u| u.attempts),
            })
            .collect(),
        account: Some(account),
        trigger: trigger.to_owned(),
        reason: None,
    }
}
