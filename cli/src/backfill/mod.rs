//! `vendorlink backfill`: bring the organization's existing accounts in.
//!
//! The work runs in AWS, in the backfill state machine
//! (`statemachine/backfill.asl.json`): it plans batches from the organization
//! and the ledger, and onboards each account through the vendorlink state
//! machine, paced to the vendors' documented rate limits. This command
//! prints the plan, starts the backfill (or joins the one running) and
//! follows it to the end with a progress bar; Ctrl-C, or a closed laptop,
//! stops only the following. Starting it again resumes: every batch is
//! planned afresh, and execution names derive from the work, so no account
//! is started twice. `--dry-run` prints the plan and starts nothing (it reads
//! the organization and the ledger, never a vendor).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::IsTerminal;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_sfn::types::ExecutionStatus;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use vendorlink_shared::ledger::LedgerState;
use vendorlink_shared::tasks::backfill::{
    plan_accounts, BackfillOptions, BackfillProgress, PlannedAccount,
};
use vendorlink_shared::tasks::Context;
use vendorlink_shared::{AccountId, Error, Result, VendorName};

use crate::deployment::Deployment;
use crate::table::{self, Format};
use crate::Found;

pub struct Options {
    pub backfill: BackfillOptions,
    pub dry_run: bool,
    /// Follow the backfill to its end (else: start it and return).
    pub wait: bool,
}

pub async fn run(
    sdk: &SdkConfig,
    deployment: &Deployment,
    options: &Options,
    format: Format,
) -> Result<Found> {
    options.backfill.validate()?;
    let ctx = Context::new(deployment.config.clone(), sdk.clone())?;
    let plan = plan_accounts(&ctx, &options.backfill, false, None, &HashSet::new()).await?;
    if options.dry_run {
        print!("{}", render_plan(&plan, format));
        return Ok(Found::Nothing);
    }
    if format == Format::Table {
        print!("{}", render_plan(&plan, Format::Table));
    }
    let sfn = aws_sdk_sfn::Client::new(sdk);
    let machine = deployment.backfill_state_machine()?;
    let (execution, joined) = start_or_join(&sfn, machine, &options.backfill).await?;
    if joined {
        eprintln!("vendorlink: a backfill is already running: following it ({execution})");
    } else {
        eprintln!("vendorlink: backfill started: {execution}");
    }
    if !options.wait {
        if format == Format::Json {
            println!(
                "{}",
                serde_json::json!({"execution": execution, "joined": joined, "plan": plan.len()})
            );
        }
        return Ok(Found::Nothing);
    }
    let progress = follow(&ctx, &sfn, &execution, &plan).await?;
    if format == Format::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "execution": execution, "joined": joined, "progress": progress
            }))
            .unwrap_or_default()
        );
    } else {
        println!("{}", summary(&progress));
    }
    Ok(if progress.failed > 0 {
        Found::Something
    } else {
        Found::Nothing
    })
}

/// The running backfill, or a new one started with `options`.
async fn start_or_join(
    sfn: &aws_sdk_sfn::Client,
    machine: &str,
    options: &BackfillOptions,
) -> Result<(String, bool)> {
    let running = sfn
        .list_executions()
        .state_machine_arn(machine)
        .status_filter(ExecutionStatus::Running)
        .max_results(1)
        .send()
        .await
        .map_err(|e| vendorlink_shared::aws::aws_error("listing running backfills", e))?;
    if let Some(execution) = running.executions().first() {
        return Ok((execution.execution_arn().to_owned(), true));
    }
    let input = serde_json::to_string(options)
        .map_err(|e| Error::bad_input(format!("encoding the backfill options: {e}")))?;
    let name = format!(
        "backfill-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
    );
    let out = sfn
        .start_execution()
        .state_machine_arn(machine)
        .name(name)
        .input(input)
        .send()
        .await
        .map_err(|e| vendorlink_shared::aws::aws_error("starting the backfill", e))?;
    Ok((out.execution_arn, false))
}

/// Follows the backfill to its end: a progress bar (accounts whose every
/// planned vendor has settled in the ledger since the backfill began, with
/// rate and ETA) on a terminal, a line a minute otherwise.
async fn follow(
    ctx: &Context,
    sfn: &aws_sdk_sfn::Client,
    execution: &str,
    plan: &[PlannedAccount],
) -> Result<BackfillProgress> {
    let bar = ProgressBar::with_draw_target(
        Some(plan.len() as u64),
        if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template(
            "backfill [{bar:30}] {pos}/{len} accounts  {per_sec}  ETA {eta}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("#>-"),
    );
    let interval = Duration::from_secs(if plan.len() > 200 { 15 } else { 5 });
    let mut last_line = std::time::Instant::now();
    loop {
        let described = sfn
            .describe_execution()
            .execution_arn(execution)
            .send()
            .await
            .map_err(|e| vendorlink_shared::aws::aws_error("following the backfill", e))?;
        let started = described
            .start_date()
            .fmt(aws_sdk_sfn::primitives::DateTimeFormat::DateTime)
            .unwrap_or_default();
        let settled = settled(ctx, plan, &started).await?;
        bar.set_position(settled as u64);
        if bar.is_hidden() && last_line.elapsed() >= Duration::from_secs(60) {
            eprintln!("backfill: {settled}/{} accounts settled", plan.len());
            last_line = std::time::Instant::now();
        }
        match described.status() {
            ExecutionStatus::Running => {}
            ExecutionStatus::Succeeded => {
                bar.finish_and_clear();
                let output = described.output().unwrap_or("{}");
                return serde_json::from_str(output).map_err(|e| {
                    Error::bad_input(format!(
                        "the backfill's output is not its progress ({e}): {output}"
                    ))
                });
            }
            status => {
                bar.abandon();
                return Err(Error::config(format!(
                    "the backfill {execution} ended {status}: {} {}",
                    described.error().unwrap_or_default(),
                    described.cause().unwrap_or_default()
                )));
            }
        }
        tokio::time::sleep(interval).await;
    }
}

/// Planned accounts whose every planned vendor the ledger moved since
/// `since` (RFC 3339) to a state no execution holds.
async fn settled(ctx: &Context, plan: &[PlannedAccount], since: &str) -> Result<usize> {
    let entries = ctx.ledger.all_entries().await?;
    let fresh: HashMap<(&AccountId, VendorName), LedgerState> = entries
        .iter()
        .filter(|e| e.updated_at.as_str() >= since)
        .map(|e| ((&e.account, e.vendor), e.state))
        .collect();
    Ok(plan
        .iter()
        .filter(|p| {
            p.vendors.iter().all(|v| {
                fresh
                    .get(&(&p.account_id, *v))
                    .is_some_and(|state| !state.in_flight())
            })
        })
        .count())
}

fn summary(progress: &BackfillProgress) -> String {
    format!(
        "backfill done in {} batches: {} onboarded, {} failed, {} started by an earlier backfill (of {} that needed work)",
        progress.batches, progress.succeeded, progress.failed, progress.already_started, progress.planned_first
    )
}

pub fn render_plan(plan: &[PlannedAccount], format: Format) -> String {
    if format == Format::Json {
        return serde_json::to_string_pretty(plan).unwrap_or_default() + "\n";
    }
    if plan.is_empty() {
        return "Nothing to do: every account in scope is onboarded with every enabled vendor.\n"
            .into();
    }
    let names = |vs: &[VendorName]| {
        let set: BTreeSet<&str> = vs.iter().map(|v| v.as_str()).collect();
        set.into_iter().collect::<Vec<_>>().join(",")
    };
    let rows: Vec<Vec<String>> = plan
        .iter()
        .map(|p| {
            vec![
                p.account_id.to_string(),
                p.account_name.clone(),
                names(&p.vendors),
                if p.retrying.is_empty() {
                    "-".into()
                } else {
                    names(&p.retrying)
                },
                p.execution_name.clone(),
            ]
        })
        .collect();
    format!(
        "{}{} accounts need work\n",
        table::render(
            &["ACCOUNT", "NAME", "VENDORS", "RETRYING", "EXECUTION"],
            &rows
        ),
        plan.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(id: &str, vendors: &[VendorName], retrying: &[VendorName]) -> PlannedAccount {
        let account: AccountId = id.parse().unwrap();
        PlannedAccount {
            execution_name: vendorlink_shared::contract::execution_name(
                "backfill",
                &account,
                vendors,
                retrying.len() as u32,
            ),
            account_id: account,
            account_name: format!("acct-{}", &id[10..]),
            vendors: vendors.to_vec(),
            retrying: retrying.to_vec(),
            unlisted: Vec::new(),
        }
    }

    #[test]
    fn execution_names_are_stable_and_depend_on_the_work() {
        let a = planned("111111111111", &[VendorName::Skyhigh], &[]);
        let b = planned("111111111111", &[VendorName::Skyhigh], &[]);
        let c = planned(
            "111111111111",
            &[VendorName::Skyhigh],
            &[VendorName::Skyhigh],
        );
        assert_eq!(a.execution_name, b.execution_name);
        assert_ne!(a.execution_name, c.execution_name);
        assert!(
            a.execution_name.starts_with("backfill-111111111111-") && a.execution_name.len() <= 80
        );
    }

    #[test]
    fn plan_table_snapshot() {
        let plan = [
            planned(
                "111111111111",
                &[VendorName::Skyhigh, VendorName::Cloudcraft],
                &[],
            ),
            planned("222222222222", &[VendorName::Risken], &[VendorName::Risken]),
        ];
        let out = render_plan(&plan, Format::Table);
        let expected = format!(
            "\
ACCOUNT       NAME     VENDORS             RETRYING  EXECUTION
------------  -------  ------------------  --------  ----------------------------------
111111111111  acct-11  cloudcraft,skyhigh  -         {}
222222222222  acct-22  risken              risken    {}
2 accounts need work
",
            plan[0].execution_name, plan[1].execution_name
        );
        assert_eq!(out, expected);
    }

    #[test]
    fn plan_json_snapshot() {
        let plan = [planned("111111111111", &[VendorName::Skyhigh], &[])];
        assert_eq!(
            render_plan(&plan, Format::Json),
            format!(
                "[\n  {{\n    \"account_id\": \"111111111111\",\n    \"account_name\": \"acct-11\",\n    \"vendors\": [\n      \"skyhigh\"\n    ],\n    \"retrying\": [],\n    \"execution_name\": \"{}\"\n  }}\n]\n",
                plan[0].execution_name
            )
        );
    }
}
