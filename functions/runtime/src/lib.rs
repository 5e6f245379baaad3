//! What every vendorlink Lambda function shares: JSON logs, building the
//! step [`Context`] once, decoding the input, and turning a step's error
//! into the error type Step Functions `Retry`/`Catch` match on.

use std::future::Future;
use std::sync::Arc;

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use vendorlink_shared::Context;
use vendorlink_shared::{Error, Step};

/// A step's error as the Lambda runtime reports it: the error type is the
/// Step Functions error name (`Retryable.*`, `Fatal.*`), the message is the
/// error's full text (kind, step, account, vendor, cause; never a secret).
#[derive(Debug)]
pub struct StepError {
    error_type: String,
    message: String,
}

impl From<&Error> for StepError {
    fn from(e: &Error) -> Self {
        StepError {
            error_type: e.error_type().to_owned(),
            message: e.to_string(),
        }
    }
}

impl From<StepError> for Diagnostic {
    fn from(e: StepError) -> Self {
        Diagnostic {
            error_type: e.error_type,
            error_message: e.message,
        }
    }
}

/// Runs one step as a Lambda function until the runtime stops it.
///
/// A configuration that does not validate does not crash the function: every
/// invocation then answers `Fatal.Config` with the problem, so the state
/// machine records it against each vendor instead of retrying a dead
/// runtime.
pub async fn serve<I, O, F, Fut>(step: Step, handler: F) -> Result<(), lambda_runtime::Error>
where
    I: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    F: Fn(Arc<Context>, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = vendorlink_shared::Result<O>> + Send + 'static,
{
    lambda_runtime::tracing::init_default_subscriber();
    let context = match Context::from_env().await {
        Ok(ctx) => Ok(Arc::new(ctx)),
        Err(e) => {
            tracing::error!(step = %step, error = %e, "configuration is invalid");
            Err(Arc::new(e.in_step(step)))
        }
    };
    let handler = Arc::new(handler);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let context = context.clone();
        let handler = handler.clone();
        async move {
            let ctx = context.map_err(|e| StepError::from(&*e))?;
            let input: I = serde_json::from_value(event.payload).map_err(|e| {
                StepError::from(&Error::bad_input(format!("{step} input: {e}")).in_step(step))
            })?;
            // Boxed: the step futures nest deeply, and a box keeps the
            // compiler's layout computation of `main` shallow.
            match Box::pin(handler(ctx, input)).await {
                Ok(output) => Ok(output),
                Err(e) => {
                    tracing::error!(
                        step = %step,
                        account = e.account().map(|a| a.as_str()).unwrap_or("-"),
                        vendor = e.vendor().map(|v| v.as_str()).unwrap_or("-"),
                        error_type = e.error_type(),
                        error = %e,
                        "step failed"
                    );
                    Err(StepError::from(&e))
                }
            }
        }
    }))
    .await
}
