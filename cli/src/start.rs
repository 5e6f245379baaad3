//! `vendorlink redrive` and `vendorlink offboard`: start one execution of the
//! deployed state machine with a direct request; with `--wait`, follow it to
//! its end and print each vendor's outcome.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use serde_json::{json, Value};
use vendorlink_shared::tasks::{DirectRequest, OffboardRoles};
use vendorlink_shared::{AccountId, Error, Result, VendorName};

use crate::deployment::Deployment;
use crate::table::Format;
use crate::Found;

pub async fn redrive(
    sdk: &SdkConfig,
    deployment: &Deployment,
    account: &AccountId,
    vendors: &[VendorName],
    wait: bool,
    format: Format,
) -> Result<Found> {
    let input = DirectRequest::onboard(account.clone(), vendors);
    start(
        sdk,
        deployment,
        &format!("redrive-{account}"),
        input,
        wait,
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
    wait: bool,
    format: Format,
) -> Result<Found> {
    let input = DirectRequest::offboard(account.clone(), vendors, roles);
    start(
        sdk,
        deployment,
        &format!("offboard-{account}"),
        input,
        wait,
        format,
    )
    .await
}

async fn start(
    sdk: &SdkConfig,
    deployment: &Deployment,
    prefix: &str,
    input: DirectRequest,
    wait: bool,
    format: Format,
) -> Result<Found> {
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
    let input: Value = serde_json::from_str(&input).unwrap_or_default();
    if !wait {
        if format == Format::Json {
            println!(
                "{}",
                json!({"execution": name, "execution_arn": out.execution_arn, "input": input})
            );
        } else {
            println!("started {name}\n  {}", out.execution_arn);
        }
        return Ok(Found::Nothing);
    }
    if format == Format::Table {
        eprintln!(
            "started {name}, waiting for it to end\n  {}",
            out.execution_arn
        );
    }
    let (status, result) = follow(&sfn, &out.execution_arn).await?;
    if format == Format::Json {
        println!(
            "{}",
            json!({"execution": name, "execution_arn": out.execution_arn, "input": input,
                   "status": status, "result": result})
        );
    } else {
        println!("{name}: {status}");
        for vendor in result["vendors"].as_array().into_iter().flatten() {
            println!(
                "  {:<13} {:<10} {}",
                vendor["vendor"].as_str().unwrap_or("?"),
                vendor["outcome"].as_str().unwrap_or("?"),
                vendor["detail"].as_str().unwrap_or_default()
            );
        }
    }
    Ok(if status == "SUCCEEDED" {
        Found::Nothing
    } else {
        Found::Something
    })
}

/// Polls the execution until it ends: its status, and its summary (the
/// output, or the failure's cause, which record-outcome makes the summary).
async fn follow(sfn: &aws_sdk_sfn::Client, execution_arn: &str) -> Result<(String, Value)> {
    let spinner = indicatif::ProgressBar::new_spinner();
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        spinner.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    loop {
        let d = sfn
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .map_err(|e| vendorlink_shared::aws::aws_error("following the execution", e))?;
        let status = d.status().as_str().to_owned();
        spinner.set_message(status.to_lowercase());
        if status != "RUNNING" {
            spinner.finish_and_clear();
            let text = d.output().or(d.cause()).unwrap_or("null");
            let result = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into()));
            return Ok((status, result));
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}
