//! Lambda function for the scheduled reconcile: checks every onboarded
//! account (roles, vendor listings) and publishes drift on SNS. Report-only
//! unless `RECONCILE_REPAIR` is `true`.

use vendorlink_shared::tasks::{self, reconcile::ReconcileMode, ReconcileOptions};
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
    vendorlink_runtime::serve(Step::Reconcile, move |ctx, _schedule: serde_json::Value| {
        let options = options.clone();
        async move { tasks::reconcile_all(&ctx, &options).await }
    })
    .await
}
