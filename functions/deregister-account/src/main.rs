//! Lambda function for the `deregister-account` state machine task.

use vendorlink::steps;
use vendorlink::Step;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    vendorlink_lambda::serve(
        Step::DeregisterAccount,
        |ctx, input: steps::VendorItem| async move { steps::deregister_account(&ctx, input).await },
    )
    .await
}
