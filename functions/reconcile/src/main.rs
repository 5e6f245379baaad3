//! Lambda function for the scheduled reconcile: checks every onboarded
//! account (roles, vendor listings) and publishes drift on SNS. Report-only
//! unless `RECONCILE_REPAIR` is `true`.

use vendorlink::steps;
use vendorlink::Step;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let repair = std::env::var("RECONCILE_REPAIR").is_ok_and(|v| v == "true");
    vendorlink_lambda::serve(
        Step::Reconcile,
        move |ctx, _schedule: serde_json::Value| async move {
            steps::reconcile_all(&ctx, None, repair, true).await
        },
    )
    .await
}
