//! What people read: the summary of a run and the drift report, and their
//! publication through the [`Notifier`](crate::ports::Notifier) when a
//! topic is configured.

use crate::contract::{Action, Summary};
use crate::error::Result;
use crate::ids::AccountId;

use super::reconcile::DriftReport;
use super::Context;

/// Publishes a run's summary: a subject that says what happened, the text,
/// then the summary as JSON.
pub(crate) async fn publish_summary(
    ctx: &Context,
    account: &AccountId,
    summary: &Summary,
) -> Result<()> {
    let Some(notifier) = &ctx.notifier else {
        return Ok(());
    };
    let verb = match summary.action {
        Action::Offboard => "offboarding",
        _ => "onboarding",
    };
    let verdict = if summary.failed == 0 {
        "succeeded"
    } else {
        "FAILED"
    };
    let subject = format!("vendorlink: {verb} of {account} {verdict}");
    let message = format!(
        "{}\n\n{}",
        summary_text(summary),
        serde_json::to_string_pretty(summary).unwrap_or_default()
    );
    notifier.publish(&subject, &message).await
}

/// Publishes what a reconcile found drifted (nothing when nothing did).
pub(crate) async fn publish_drift(ctx: &Context, reports: &[DriftReport]) -> Result<()> {
    let drifted: Vec<&DriftReport> = reports.iter().filter(|r| r.drifted()).collect();
    let (Some(notifier), false) = (&ctx.notifier, drifted.is_empty()) else {
        return Ok(());
    };
    let lines: Vec<String> = drifted
        .iter()
        .map(|r| {
            format!(
                "- {} {}: role {:?}, vendor lists it: {}{}",
                r.account_id,
                r.vendor,
                r.role,
                r.registered.map_or("unknown".into(), |b| b.to_string()),
                if r.repaired { " (repaired)" } else { "" }
            )
        })
        .collect();
    let subject = format!(
        "vendorlink: drift in {} of {} registrations",
        drifted.len(),
        reports.len()
    );
    notifier.publish(&subject, &lines.join("\n")).await
}

/// Publishes what healing found (nothing when nothing needs it).
pub async fn publish_heal(ctx: &Context, findings: &[super::HealFinding]) -> Result<()> {
    let (Some(notifier), false) = (&ctx.notifier, findings.is_empty()) else {
        return Ok(());
    };
    let lines: Vec<String> = findings
        .iter()
        .map(|f| {
            let action = serde_json::to_value(&f.action)
                .ok()
                .and_then(|v| v.get("action").and_then(|a| a.as_str()).map(str::to_owned))
                .unwrap_or_default();
            format!(
                "- {} {}: {:?} ({action}): {}",
                f.account_id, f.vendor, f.problem, f.detail
            )
        })
        .collect();
    let subject = format!("vendorlink: {} registrations need healing", findings.len());
    notifier.publish(&subject, &lines.join("\n")).await
}

/// The summary as lines a person reads in an email.
pub fn summary_text(summary: &Summary) -> String {
    let mut out = format!(
        "Account {} ({}): {:?} via {}",
        summary
            .account_id
            .as_ref()
            .map(|a| a.as_str())
            .unwrap_or("-"),
        summary.account_name.as_deref().unwrap_or(""),
        summary.action,
        summary.trigger
    );
    if let Some(reason) = &summary.reason {
        out.push_str(&format!("\nSkipped: {reason}"));
    }
    for v in &summary.vendors {
        out.push_str(&format!("\n- {}: {}", v.vendor, v.outcome.as_str()));
        if let Some(e) = &v.error {
            out.push_str(&format!(" [{e}]"));
        }
        if let Some(d) = &v.detail {
            out.push_str(&format!(" {d}"));
        }
        for w in &v.warnings {
            out.push_str(&format!("\n    warning: {w}"));
        }
    }
    out
}
