//! Starting the planned executions: paced to the vendors' documented rate
//! limits, bounded in how many run at once, each start reported.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use aws_config::SdkConfig;
use vendorlink_shared::tasks::DirectRequest;
use vendorlink_shared::{Error, Result, VendorName};

use super::{Options, PlannedAccount, Started};
use crate::deployment::Deployment;

/// The pace that keeps every vendor with a documented rate limit inside it
/// (see `RateLimit::onboardings_per_minute`); 0 (no pacing) when none has one.
pub(super) fn default_per_minute(vendors: &[VendorName]) -> u32 {
    vendors
        .iter()
        .filter_map(|v| v.profile().rate_limit)
        .map(|limit| limit.onboardings_per_minute())
        .min()
        .unwrap_or(0)
}

pub(super) async fn start(
    sdk: &SdkConfig,
    deployment: &Deployment,
    options: &Options,
    plan: &[PlannedAccount],
) -> Result<Vec<Started>> {
    let sfn = aws_sdk_sfn::Client::new(sdk);
    let state_machine = deployment.state_machine()?;
    let per_minute = options
        .per_minute
        .unwrap_or_else(|| default_per_minute(&deployment.config.vendors));
    let gap = (per_minute > 0).then(|| Duration::from_secs_f64(60.0 / f64::from(per_minute)));
    let terminal = std::io::stderr().is_terminal();
    let mut running: Vec<String> = Vec::new();
    let mut started = Vec::new();
    for (n, account) in plan.iter().enumerate() {
        while running.len() >= options.max_concurrent {
            running = still_running(&sfn, running).await?;
            if running.len() >= options.max_concurrent {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
        // StartExecution answers a running execution of the same name and
        // input with that execution, so ask first to report it truthfully.
        if execution_exists(&sfn, state_machine, &account.execution_name).await? {
            report(terminal, n, plan.len(), "already_started", account);
            started.push(Started {
                account_id: account.account_id.clone(),
                execution_name: account.execution_name.clone(),
                result: "already_started",
            });
            continue;
        }
        let input = serde_json::to_string(&DirectRequest::onboard(
            account.account_id.clone(),
            &account.vendors,
        ))
        .map_err(|e| Error::bad_input(format!("encoding the request: {e}")))?;
        let result = sfn
            .start_execution()
            .state_machine_arn(state_machine)
            .name(&account.execution_name)
            .input(input)
            .send()
            .await;
        let outcome = match result {
            Ok(out) => {
                running.push(out.execution_arn);
                "started"
            }
            Err(e) if vendorlink_shared::aws::error_code(&e) == Some("ExecutionAlreadyExists") => {
                "already_started"
            }
            Err(e) => {
                return Err(vendorlink_shared::aws::aws_error(
                    &format!(
                        "starting {} for account {}",
                        account.execution_name, account.account_id
                    ),
                    e,
                ))
            }
        };
        report(terminal, n, plan.len(), outcome, account);
        started.push(Started {
            account_id: account.account_id.clone(),
            execution_name: account.execution_name.clone(),
            result: outcome,
        });
        if let (Some(gap), true, true) = (gap, outcome == "started", n + 1 < plan.len()) {
            tokio::time::sleep(gap).await;
        }
    }
    if terminal {
        eprintln!();
    }
    Ok(started)
}

/// Progress: a bar on a terminal, a line per account otherwise.
fn report(terminal: bool, n: usize, total: usize, outcome: &str, account: &PlannedAccount) {
    if terminal {
        eprint!("\r{}", progress_bar(n + 1, total));
        let _ = std::io::stderr().flush();
    } else {
        eprintln!(
            "backfill: {outcome} {} for account {}",
            account.execution_name, account.account_id
        );
    }
}

/// `backfill [##########----------] 500/1000 accounts`
pub(super) fn progress_bar(done: usize, total: usize) -> String {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH)
        .min(WIDTH);
    format!(
        "backfill [{}{}] {done}/{total} accounts",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled)
    )
}

/// Whether the state machine has an execution of this name (an execution's
/// ARN is its state machine's, with `execution` and the name).
async fn execution_exists(
    sfn: &aws_sdk_sfn::Client,
    state_machine: &str,
    name: &str,
) -> Result<bool> {
    let arn = format!(
        "{}:{name}",
        state_machine.replacen(":stateMachine:", ":execution:", 1)
    );
    match sfn.describe_execution().execution_arn(&arn).send().await {
        Ok(_) => Ok(true),
        Err(e) if vendorlink_shared::aws::error_code(&e) == Some("ExecutionDoesNotExist") => {
            Ok(false)
        }
        Err(e) => Err(vendorlink_shared::aws::aws_error(
            &format!("looking up execution {name}"),
            e,
        )),
    }
}

async fn still_running(sfn: &aws_sdk_sfn::Client, arns: Vec<String>) -> Result<Vec<String>> {
    let mut running = Vec::new();
    for arn in arns {
        let out = sfn
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .map_err(|e| vendorlink_shared::aws::aws_error("reading an execution's status", e))?;
        if out.status.as_str() == "RUNNING" {
            running.push(arn);
        }
    }
    Ok(running)
}
