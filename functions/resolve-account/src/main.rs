//! Lambda function for the `resolve-account` state machine task.

use vendorlink_shared::tasks;
use vendorlink_shared::Step;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    vendorlink_runtime::serve(
        Step::ResolveAccount,
        |ctx, input: serde_json::Value| async move { tasks::resolve_account(&ctx, &input).await },
    )
    .await
}
