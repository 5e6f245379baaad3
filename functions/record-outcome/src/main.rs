//! Lambda function for the `record-outcome` state machine task.

use vendorlink::steps;
use vendorlink::Step;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    vendorlink_lambda::serve(
        Step::RecordOutcome,
        |ctx, input: steps::RunResults| async move {
            steps::record_outcome(&ctx, input)
                .await
                .map(steps::Recorded::from)
        },
    )
    .await
}
