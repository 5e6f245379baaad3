//! `vendorlink redrive` and `vendorlink offboard`: start one execution of the
//! deployed state machine with a direct request.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use serde_json::{json, Value};
use vendorlink_shared::tasks::{DirectRequest, OffboardRoles};
use vendorlink_shared::{AccountId, Error, Result, VendorName};

use crate::deployment::Deployment;
use crate::table::Format;

pub async fn redrive(
    sdk: &SdkConfig,
    deployment: &Deployment,
    account: &AccountId,
    vendors: &[VendorName],
    format: Format,
) -> Result<()> {
    let input = DirectRequest::onboard(account.clone(), vendors);
    start(
        sdk,
        deployment,
        &format!("redrive-{account}"),
        input,
        format,
    )
    .await
}

pub async fn offboard(
    sdk: &SdkConfig,
    deployment: &Deployment,
    account: &AccountId,
    vendors: &[VendorName],
    roles: OffboardRoles,
    format: Format,
) -> Result<()> {
    let input = DirectRequest::offboard(account.clone(), vendors, roles);
    start(
        sdk,
        deployment,
        &format!("offboard-{account}"),
        input,
        format,
    )
    .await
}

async fn start(
    sdk: &SdkConfig,
    deployment: &Deployment,
    prefix: &str,
    input: DirectRequest,
    format: Format,
) -> Result<()> {
    let input = serde_json::to_string(&input)
        .map_err(|e| Error::bad_input(format!("encoding the request: {e}")))?;
    // Milliseconds: two redrives of one account in the same second are two runs.
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let name = format!("{prefix}-{stamp}");
    let sfn = aws_sdk_sfn::Client::new(sdk);
    let out = sfn
        .start_execution()
        .state_machine_arn(deployment.state_machine()?)
        .name(&name)
        .input(&input)
        .send()
        .await
        .map_err(|e| vendorlink_shared::aws::aws_error(&format!("starting execution {name}"), e))?;
    if format == Format::Json {
        println!(
            "{}",
            json!({"execution": name, "execution_arn": out.execution_arn, "input": serde_json::from_str::<Value>(&input).unwrap_or_default()})
        );
    } else {
        println!("started {name}\n  {}", out.execution_arn);
    }
    Ok(())
}
