//! Lambda function for the `check-status` state machine task.

use vendorlink_shared::tasks;
use vendorlink_shared::Step;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    vendorlink_runtime::serve(
        Step::CheckStatus,
        |ctx, input: tasks::VendorItem| async move { tasks::check_status(&ctx, input).await },
    )
    .await
}
