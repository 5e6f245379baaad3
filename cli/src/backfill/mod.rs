//! `vendorlink backfill`: bring the organization's existing accounts in.
//!
//! Lists the ACTIVE accounts (all pages), keeps those in scope, compares each
//! with the ledger, prints the plan, and starts one execution per account
//! that needs work. Execution names are derived from the account and the
//! vendors it needs, so running backfill again starts nothing twice (Step
//! Functions refuses a name it has seen in the last 90 days).

use std::collections::{BTreeSet, HashMap, HashSet};

use aws_config::SdkConfig;
use serde::Serialize;
use vendorlink_shared::ledger::{Ledger, LedgerState};
use vendorlink_shared::org::Organization;
use vendorlink_shared::{AccountId, ParentId, Result, VendorName};

use crate::deployment::Deployment;
use crate::table::{self, Format};

mod starts;

use starts::start;
#[cfg(test)]
use starts::{default_per_minute, progress_bar};

pub struct Options {
    pub ous: Vec<ParentId>,
    pub exclude: Vec<AccountId>,
    pub dry_run: bool,
    pub max_concurrent: usize,
    pub per_minute: Option<u32>,
}

/// One account that needs work, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedAccount {
    pub account_id: AccountId,
    pub account_name: String,
    pub vendors: Vec<VendorName>,
    /// The vendors whose last run failed (the others were never onboarded).
    pub retrying: Vec<VendorName>,
    pub execution_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Started {
    pub account_id: AccountId,
    pub execution_name: String,
    /// `started`, or `already_started` when a previous backfill started it.
    pub result: &'static str,
}

pub async fn run(
    sdk: &SdkConfig,
    deployment: &Deployment,
    options: &Options,
    format: Format,
) -> Result<()> {
    let plan = plan(sdk, deployment, options).await?;
    if options.dry_run || plan.is_empty() {
        print!("{}", render_plan(&plan, format));
        return Ok(());
    }
    if format == Format::Table {
        print!("{}", render_plan(&plan, Format::Table));
    }
    let started = start(sdk, deployment, options, &plan).await?;
    if format == Format::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"plan": plan, "started": started}))
                .unwrap_or_default()
        );
    } else {
        let new = started.iter().filter(|s| s.result == "started").count();
        println!(
            "{new} executions started, {} already started before",
            started.len() - new
        );
    }
    Ok(())
}

/// Which accounts need which vendors.
pub async fn plan(
    sdk: &SdkConfig,
    deployment: &Deployment,
    options: &Options,
) -> Result<Vec<PlannedAccount>> {
    let config = &deployment.config;
    let org = Organization::new(aws_sdk_organizations::Client::new(sdk));
    let management = org.management_account().await?;

    let include: Vec<ParentId> = if options.ous.is_empty() {
        config.include_ous.clone()
    } else {
        options.ous.clone()
    };
    let in_scope: Option<HashSet<AccountId>> = if include.is_empty() {
        None
    } else {
        let mut ids = HashSet::new();
        for parent in &include {
            ids.extend(org.accounts_below(parent).await?);
        }
        Some(ids)
    };
    let excluded: HashSet<&AccountId> = config
        .exclude_accounts
        .iter()
        .chain(&options.exclude)
        .collect();

    let ledger = Ledger::new(
        aws_sdk_dynamodb::Client::new(sdk),
        config.ledger_table.clone(),
    );
    let mut states: HashMap<(AccountId, VendorName), (LedgerState, u32)> = HashMap::new();
    for e in ledger.all_entries().await? {
        states.insert((e.account, e.vendor), (e.state, e.attempts));
    }

    let mut planned = Vec::new();
    for account in org.list_accounts().await? {
        // The management account runs vendorlink; it is not a member to onboard.
        if account.status != "ACTIVE"
            || management.as_ref() == Some(&account.id)
            || excluded.contains(&account.id)
            || in_scope
                .as_ref()
                .is_some_and(|ids| !ids.contains(&account.id))
        {
            continue;
        }
        let mut vendors = Vec::new();
        let mut retrying = Vec::new();
        let mut attempts = 0;
        for vendor in &config.vendors {
            match states.get(&(account.id.clone(), *vendor)) {
                None => vendors.push(*vendor),
                Some((LedgerState::Offboarded, n)) => {
                    vendors.push(*vendor);
                    attempts += n;
                }
                Some((LedgerState::Failed, n)) => {
                    vendors.push(*vendor);
                    retrying.push(*vendor);
                    attempts += n;
                }
                // Active, or an execution is on it right now.
                Some(_) => {}
            }
        }
        if !vendors.is_empty() {
            planned.push(PlannedAccount {
                execution_name: execution_name(&account.id, &vendors, attempts),
                account_id: account.id,
                account_name: account.name,
                vendors,
                retrying,
            });
        }
    }
    planned.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    Ok(planned)
}

/// Stable for the same account, vendors and ledger history (the attempts
/// the ledger counted), so a repeated backfill reuses it; every failed
/// attempt changes it, so the next backfill retries.
fn execution_name(account: &AccountId, vendors: &[VendorName], attempts: u32) -> String {
    vendorlink_shared::contract::execution_name("backfill", account, vendors, attempts)
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
            execution_name: execution_name(&account, vendors, retrying.len() as u32),
            account_id: account,
            account_name: format!("acct-{}", &id[10..]),
            vendors: vendors.to_vec(),
            retrying: retrying.to_vec(),
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

    #[test]
    fn the_progress_bar_fills_with_the_starts() {
        assert_eq!(
            progress_bar(0, 10),
            "backfill [------------------------------] 0/10 accounts"
        );
        assert_eq!(
            progress_bar(5, 10),
            "backfill [###############---------------] 5/10 accounts"
        );
        assert_eq!(
            progress_bar(1000, 1000),
            "backfill [##############################] 1000/1000 accounts"
        );
    }

    #[test]
    fn cloudcraft_sets_the_default_pace() {
        assert_eq!(
            default_per_minute(&[VendorName::Cloudcraft, VendorName::Risken]),
            8
        );
        assert_eq!(default_per_minute(&[VendorName::Risken]), 0);
    }
}
