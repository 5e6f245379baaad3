//! Lambda function for the `register-account` state machine task.

use vendorlink::steps;
use vendorlink::Step;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    vendorlink_lambda::serve(
        Step::RegisterAccount,
        |ctx, input: steps::VendorItem| async move { steps::register_account(&ctx, input).await },
    )
    .await
}
