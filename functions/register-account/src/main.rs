//! Lambda function for the `register-account` state machine task.

use vendorlink_shared::tasks;
use vendorlink_shared::Step;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    vendorlink_runtime::serve(
        Step::RegisterAccount,
        |ctx, input: tasks::VendorItem| async move { tasks::register_account(&ctx, input).await },
    )
    .await
}
