//! Lambda function for the `ensure-trust-role` state machine task.

use vendorlink_shared::tasks;
use vendorlink_shared::Step;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    vendorlink_runtime::serve(
        Step::EnsureTrustRole,
        |ctx, input: tasks::VendorItem| async move { tasks::ensure_trust_role(&ctx, input).await },
    )
    .await
}
