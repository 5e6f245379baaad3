//! Lambda function for the `check-status` state machine task.

use vendorlink::steps;
use vendorlink::Step;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    vendorlink_lambda::serve(
        Step::CheckStatus,
        |ctx, input: steps::VendorItem| async move { steps::check_status(&ctx, input).await },
    )
    .await
}
