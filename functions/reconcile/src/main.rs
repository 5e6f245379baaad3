//! Lambda function for the scheduled reconcile: checks every onboarded
//! account (roles, vendor listings) and publishes drift on SNS. Report-only
//! unless `RECONCILE_REPAIR` is `true`. Then heals: finds accounts never
//! onboarded (a lost event) and items failed or stuck, publishes them, and
//! with `AUTO_HEAL=true` starts the executions that fix them on the state
//! machine `STATE_MACHINE_ARN`.
//!
//! Invoked with `{"backfill": {...}}` (the backfill state machine's Plan
//! state), it plans the backfill's next batch instead
//! (`vendorlink_shared::tasks::backfill`). Invoked with
//! `{"reconcile": {"account", "repair", "heal"}}` (`vendorlink reconcile`),
//! it runs the reconcile an operator asked for with this function's own
//! permissions (not the operator's) and answers `{"drift", "heal"}`,
//! publishing nothing.

use serde_json::json;
use vendorlink_shared::ports::aws::StateMachine;
use vendorlink_shared::tasks::reconcile::{OperatorRequest, ReconcileMode};
use vendorlink_shared::tasks::{self, HealMode, ReconcileOptions};
use vendorlink_shared::{Error, Step};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let options = ReconcileOptions {
        account: None,
        mode: match std::env::var("RECONCILE_REPAIR").as_deref() {
            Ok("true") => ReconcileMode::Repair,
            _ => ReconcileMode::Report,
        },
        notify: true,
    };
    let sdk = vendorlink_shared::aws::load_sdk_config().await;
    // An operator's `--heal` may start executions; the schedule only with AUTO_HEAL.
    let operator_state_machine = match std::env::var("STATE_MACHINE_ARN") {
        Ok(arn) if !arn.is_empty() => Some(std::sync::Arc::new(StateMachine::new(
            aws_sdk_sfn::Client::new(&sdk),
            arn,
        ))),
        _ => None,
    };
    let state_machine = operator_state_machine
        .clone()
        .filter(|_| std::env::var("AUTO_HEAL").as_deref() == Ok("true"));
    vendorlink_runtime::serve(Step::Reconcile, move |ctx, input: serde_json::Value| {
        let options = options.clone();
        let state_machine = state_machine.clone();
        let operator_state_machine = operator_state_machine.clone();
        async move {
            if let Some(request) = input.get("reconcile") {
                let request: OperatorRequest = serde_json::from_value(request.clone())
                    .map_err(|e| Error::bad_input(format!("reconcile request: {e}")))?;
                let executions = operator_state_machine
                    .as_deref()
                    .map(|s| s as &dyn vendorlink_shared::ports::Executions);
                let (drift, heal) =
                    tasks::reconcile::operator_run(&ctx, &request, executions).await?;
                // `operator` tells the CLI this function understood the
                // request (an older one would have run the scheduled reconcile).
                return Ok(json!({"operator": true, "drift": drift, "heal": heal}));
            }
            // The backfill state machine's Plan state: the next batch.
            if let Some(request) = input.get("backfill") {
                let batch = tasks::backfill::plan_from_input(&ctx, request).await?;
                return serde_json::to_value(batch)
                    .map_err(|e| Error::bad_input(format!("encoding the batch: {e}")));
            }
            let drift = tasks::reconcile_all(&ctx, &options).await?;
            let mode = if state_machine.is_some() {
                HealMode::Start
            } else {
                HealMode::Report
            };
            let executions = state_machine
                .as_deref()
                .map(|s| s as &dyn vendorlink_shared::ports::Executions);
            let heal = tasks::heal(&ctx, None, mode, executions).await?;
            tasks::notify::publish_heal(&ctx, &heal).await?;
            Ok(json!({"drift": drift, "heal": heal}))
        }
    })
    .await
}
