//! `vendorlink redrive` and `vendorlink offboard`: start one execution of the
//! deployed state machine with a direct request.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use serde_json::{json, Value};
use vendorlink::{AccountId, Result, VendorName};

use crate::deployment::Deployment;

pub async fn redrive(
    sdk: &SdkConfig,
    deployment: &Deployment,
    account: &AccountId,
    vendors: &[VendorName],
    json_out: bool,
) -> Result<()> {
    let mut input = json!({"accountId": account, "action": "onboard"});
    if !vendors.is_empty() {
        input["vendors"] = json!(vendors);
    }
    start(
        sdk,
        deployment,
        &format!("redrive-{account}"),
        input,
        json_out,
    )
    .await
}

pub async fn offboard(
    sdk: &SdkConfig,
    deployment: &Deployment,
    account: &AccountId,
    vendors: &[VendorName],
    keep_roles: bool,
    json_out: bool,
) -> Result<()> {
    let mut input = json!({"accountId": account, "action": "offboard", "keepRoles": keep_roles});
    if !vendors.is_empty() {
        input["vendors"] = json!(vendors);
    }
    start(
        sdk,
        deployment,
        &format!("offboard-{account}"),
        input,
        json_out,
    )
    .await
}

async fn start(
    sdk: &SdkConfig,
    deployment: &Deployment,
    prefix: &str,
    input: Value,
    json_out: bool,
) -> Result<()> {
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
        .input(input.to_string())
        .send()
        .await
        .map_err(|e| vendorlink::aws::aws_error(&format!("starting execution {name}"), e))?;
    if json_out {
        println!(
            "{}",
            json!({"execution": name, "execution_arn": out.execution_arn, "input": input})
        );
    } else {
        println!("started {name}\n  {}", out.execution_arn);
    }
    Ok(())
}
