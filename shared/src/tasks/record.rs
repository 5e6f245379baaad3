//! record-outcome: mirrors each vendor's outcome into the ledger (failures)
//! and the account's tags, and publishes the run's summary.

use std::collections::BTreeMap;

use serde_json::Value;
use tracing::{info, instrument, warn};

use crate::contract::{Action, Outcome, RunResults, Summary, VendorItem, VendorSummary};
use crate::error::{Result, ResultExt, Step};
use crate::ids::AccountId;
use crate::ledger::{LedgerState, Transition, OFFBOARDING_FAILED};

use super::onboard::unverified_instruction;

use super::{advance, notify, Context};

/// Mirrors the outcome into the ledger (failures) and the account's tags,
/// and publishes the summary on SNS.
#[instrument(skip_all, fields(step = "record-outcome"))]
pub async fn record_outcome(ctx: &Context, run: RunResults) -> Result<Summary> {
    let account = run.account.as_ref().map(|a| a.account_id.clone());
    let result = record(ctx, run).await.in_step(Step::RecordOutcome);
    match &account {
        Some(a) => result.for_account(a),
        None => result,
    }
}

async fn record(ctx: &Context, run: RunResults) -> Result<Summary> {
    let vendors: Vec<VendorSummary> = run
        .results
        .iter()
        .map(|item| VendorSummary {
            vendor: item.vendor,
            outcome: item.outcome.unwrap_or(Outcome::Failed),
            role_arn: item.role_arn.clone(),
            reference: item.reference.clone(),
            detail: item.detail.as_deref().map(cause_text),
            error: item.error.clone(),
            warnings: item.warnings.clone(),
        })
        .collect();
    let summary = Summary {
        account_id: run.account.as_ref().map(|a| a.account_id.clone()),
        account_name: run.account.as_ref().map(|a| a.account_name.clone()),
        action: run.action,
        trigger: run.trigger.clone(),
        reason: run.reason.clone(),
        failed: vendors
            .iter()
            .filter(|v| v.outcome == Outcome::Failed)
            .count(),
        vendors,
    };
    let Some(account) = summary.account_id.clone() else {
        return Ok(summary);
    };
    if run.action == Action::Skip {
        return Ok(summary);
    }

    for (item, v) in run.results.iter().zip(&summary.vendors) {
        if v.outcome != Outcome::Failed {
            continue;
        }
        let text = format!(
            "{}: {}",
            v.error.as_deref().unwrap_or("failed"),
            v.detail.as_deref().unwrap_or("no detail")
        );
        if summary.action == Action::Offboard {
            // The claim is released as failed, with a note (the vendor may
            // still list the account): `status` shows why, reconcile and
            // healing leave the item alone, and a new offboarding may take it.
            advance(
                ctx,
                &account,
                v.vendor,
                Transition::failed(&format!("{OFFBOARDING_FAILED}{text}"), &item.execution),
            )
            .await?;
            continue;
        }
        fail_onboarding(ctx, &account, item, &text).await?;
    }

    let tags: BTreeMap<String, String> = summary
        .vendors
        .iter()
        .map(|v| {
            (
                format!("{}{}", ctx.config.tag_prefix, v.vendor),
                v.outcome.as_str().to_owned(),
            )
        })
        .collect();
    // Tags are a mirror for people; an account that has left the
    // organization cannot be tagged, which does not change the outcome.
    if let Err(e) = ctx.org.tag_account(&account, &tags).await {
        warn!(error = %e, "could not mirror the outcome into account tags");
    }

    notify::publish_summary(ctx, &account, &summary).await?;
    info!(account = %account, failed = summary.failed, "outcome recorded");
    Ok(summary)
}

/// Marks a vendor failed, unless its create may have reached a vendor that
/// cannot be asked (the item is `registering`): that one is `unverified`,
/// so no later onboarding creates a second registration.
async fn fail_onboarding(
    ctx: &Context,
    account: &AccountId,
    item: &VendorItem,
    text: &str,
) -> Result<()> {
    let entry = ctx.ledger.get(account, item.vendor).await?;
    let registering = entry.is_some_and(|e| {
        e.state == LedgerState::Registering && e.execution.as_deref() == Some(&item.execution)
    });
    if registering {
        // Without a client (no secret) nothing can be asked: unverified.
        let client = ctx.vendor(item.vendor).await.ok();
        if !client.as_ref().is_some_and(|c| c.finds_existing()) {
            let why = format!("the step failed after sending it: {text}");
            let instruction = match &client {
                Some(client) => unverified_instruction(item, client.as_ref(), &why),
                None => format!("unverified: the registration may or may not exist ({why})"),
            };
            return advance(
                ctx,
                account,
                item.vendor,
                Transition::unverified(&instruction).held_by(&item.execution),
            )
            .await;
        }
    }
    advance(
        ctx,
        account,
        item.vendor,
        Transition::failed(text, &item.execution),
    )
    .await
}

/// The text of a vendor's failure. The state machine passes a caught error
/// whole, as JSON text (`{"Error": ..., "Cause": ...}`; a timeout has no
/// `Cause`); a Lambda error's `Cause` is itself JSON holding the function's
/// `errorMessage`. Anything else (a Pass state's own text) is kept as is.
fn cause_text(detail: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(detail) else {
        return detail.to_owned();
    };
    match (
        value.get("Error").and_then(Value::as_str),
        value.get("Cause").and_then(Value::as_str),
    ) {
        (_, Some(cause)) => error_message(cause),
        (Some(error), None) => format!("{error} (no cause given)"),
        (None, None) => error_message(detail),
    }
}

/// A Lambda error's message, from its `Cause` document.
fn error_message(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|v| {
            v.get("errorMessage")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| cause.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_lambda_error_gives_its_message() {
        let cause = r#"{"errorType":"Fatal.Vendor","errorMessage":"risken refused"}"#;
        let caught = serde_json::json!({"Error": "Fatal.Vendor", "Cause": cause}).to_string();
        assert_eq!(cause_text(&caught), "risken refused");
        // As earlier definitions passed it: the Cause alone.
        assert_eq!(cause_text(cause), "risken refused");
    }

    #[test]
    fn a_caught_error_without_a_cause_gives_its_name() {
        let caught = serde_json::json!({"Error": "States.Timeout"}).to_string();
        assert_eq!(cause_text(&caught), "States.Timeout (no cause given)");
    }

    #[test]
    fn plain_text_is_kept() {
        assert_eq!(
            cause_text("the vendor did not finish within the polling budget (POLL_BUDGET_SECONDS)"),
            "the vendor did not finish within the polling budget (POLL_BUDGET_SECONDS)"
        );
        let cause = serde_json::json!({"Error": "X", "Cause": "not json"}).to_string();
        assert_eq!(cause_text(&cause), "not json");
    }
}
