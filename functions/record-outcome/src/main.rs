//! Lambda function for the `record-outcome` state machine task.

use vendorlink_shared::tasks;
use vendorlink_shared::Step;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    vendorlink_runtime::serve(
        Step::RecordOutcome,
        |ctx, input: tasks::RunResults| async move {
            tasks::record_outcome(&ctx, input)
                .await
                .map(tasks::Recorded::from)
        },
    )
    .await
}
