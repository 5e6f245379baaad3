//! Lambda function for the scheduled reconcile: checks every onboarded
//! account (roles, vendor listings) and publishes drift on SNS. Report-only
//! unless `RECONCILE_REPAIR` is `true`. Then heals: finds accounts never
//! onboarded (a lost event) and items failed or stuck, publishes them, and
//! with `AUTO_HEAL=true` starts the executions that fix them on the state
//! machine `STATE_MACHINE_ARN`.

use serde_json::json;
use vendorlink_shared::ports::aws::StateMachine;
use vendorlink_shared::tasks::{self, reconcile::ReconcileMode, HealMode, ReconcileOptions};
use vendorlink_shared::Step;

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
    let state_machine = match std::env::var("STATE_MACHINE_ARN") {
        Ok(arn) if !arn.is_empty() && std::env::var("AUTO_HEAL").as_deref() == Ok("true") => Some(
            std::sync::Arc::new(StateMachine::new(aws_sdk_sfn::Client::new(&sdk), arn)),
        ),
        _ => None,
    };
    vendorlink_runtime::serve(Step::Reconcile, move |ctx, _schedule: serde_json::Value| {
        let options = options.clone();
        let state_machine = state_machine.clone();
        async move {
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
