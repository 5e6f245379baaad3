//! Lambda function for the `resolve-account` state machine task.

use vendorlink::steps;
use vendorlink::Step;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    vendorlink_lambda::serve(
        Step::ResolveAccount,
        |ctx, input: serde_json::Value| async move { steps::resolve_account(&ctx, &input).await },
    )
    .await
}
