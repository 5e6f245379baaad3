//! Lambda function for the `ensure-trust-role` state machine task.

use vendorlink::steps;
use vendorlink::Step;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    vendorlink_lambda::serve(
        Step::EnsureTrustRole,
        |ctx, input: steps::VendorItem| async move { steps::ensure_trust_role(&ctx, input).await },
    )
    .await
}
