//! Lambda function for the `deregister-account` state machine task.

use vendorlink_shared::tasks;
use vendorlink_shared::Step;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    vendorlink_runtime::serve(
        Step::DeregisterAccount,
        |ctx, input: tasks::VendorItem| async move { tasks::deregister_account(&ctx, input).await },
    )
    .await
}
