//! The `vendorlink` binary against the AWS emulator (run under
//! local/with-moto, as `make test` does): a fresh organization per test.

use std::process::Command;

use aws_config::retry::RetryConfig;
use aws_config::SdkConfig;
use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};
use serde_json::{json, Value};
use vendorlink_shared::ledger::{Ledger, Transition};
use vendorlink_shared::{AccountId, VendorName};

struct Org {
    sdk: SdkConfig,
    env: Vec<(String, String)>,
    organizations: aws_sdk_organizations::Client,
    accounts: Vec<AccountId>,
    state_machine: String,
    backfill: String,
    ledger: Ledger,
}

async fn org_with_accounts(n: usize) -> Org {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1:"),
        "run under local/with-moto (got `{endpoint}`)"
    );
    let base =
        vendorlink_shared::aws::load_sdk_config_with(RetryConfig::standard().with_max_attempts(1))
            .await;
    let management =
        (uuid::Uuid::new_v4().as_u128() % 900_000_000_000 + 100_000_000_000).to_string();
    let creds = aws_sdk_sts::Client::new(&base)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{management}:role/cli-test"))
        .role_session_name("cli-test")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let env = vec![
        ("AWS_ACCESS_KEY_ID".to_owned(), creds.access_key_id.clone()),
        (
            "AWS_SECRET_ACCESS_KEY".to_owned(),
            creds.secret_access_key.clone(),
        ),
        ("AWS_SESSION_TOKEN".to_owned(), creds.session_token.clone()),
        ("VENDORS".to_owned(), "cloudcraft,risken".to_owned()),
    ];
    let sdk = base
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            creds.access_key_id,
            creds.secret_access_key,
            Some(creds.session_token),
            None,
            "test",
        )))
        .build();
    let organizations = aws_sdk_organizations::Client::new(&sdk);
    organizations
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let mut accounts = Vec::new();
    for i in 0..n {
        let status = organizations
            .create_account()
            .account_name(format!("acct-{i:03}"))
            .email(format!(
                "acct-{i}-{}@example.com",
                uuid::Uuid::new_v4().simple()
            ))
            .send()
            .await
            .unwrap()
            .create_account_status
            .unwrap();
        accounts.push(status.account_id.unwrap().parse().unwrap());
    }
    let backfill = create_state_machine(&sdk, &management, "vendorlink-backfill").await;
    let state_machine = create_state_machine(&sdk, &management, "vendorlink").await;
    let ledger = Ledger::new(aws_sdk_dynamodb::Client::new(&sdk), "ledger");
    ledger.ensure_table().await.unwrap();
    Org {
        sdk,
        env,
        organizations,
        accounts,
        state_machine,
        backfill,
        ledger,
    }
}

/// A state machine in the emulator (moto records executions, runs nothing).
async fn create_state_machine(sdk: &SdkConfig, management: &str, name: &str) -> String {
    aws_sdk_sfn::Client::new(sdk)
        .create_state_machine()
        .name(name)
        .definition(json!({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}).to_string())
        .role_arn(format!("arn:aws:iam::{management}:role/sfn"))
        .send()
        .await
        .unwrap()
        .state_machine_arn
}

impl Org {
    fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_vendorlink"))
            .args([
                "--state-machine-arn",
                &self.state_machine,
                "--backfill-state-machine-arn",
                &self.backfill,
                "--ledger-table",
                "ledger",
            ])
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn json(&self, args: &[&str]) -> Value {
        let (ok, stdout, stderr) = self.cli(args);
        assert!(ok, "vendorlink {args:?} failed: {stderr}");
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }

    async fn executions(&self) -> Vec<aws_sdk_sfn::types::ExecutionListItem> {
        self.executions_of(&self.state_machine).await
    }

    async fn executions_of(&self, machine: &str) -> Vec<aws_sdk_sfn::types::ExecutionListItem> {
        aws_sdk_sfn::Client::new(&self.sdk)
            .list_executions()
            .state_machine_arn(machine)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap()
    }

    async fn mark(&self, account: &AccountId, vendor: VendorName, failed: bool) {
        for t in [
            Transition::claim("earlier", None),
            Transition::role_ready("arn"),
            Transition::registered("r"),
            Transition::active(),
        ] {
            self.ledger.transition(account, vendor, t).await.unwrap();
        }
        if failed {
            self.ledger
                .transition(
                    account,
                    vendor,
                    Transition::failed("Fatal.Vendor: no", "earlier"),
                )
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn backfill_plans_then_starts_one_backfill_in_aws_and_joins_it_when_run_again() {
    let org = org_with_accounts(50).await;
    // Ten accounts are onboarded already; five of them failed with RISKEN.
    for (i, account) in org.accounts.iter().take(10).enumerate() {
        org.mark(account, VendorName::Cloudcraft, false).await;
        org.mark(account, VendorName::Risken, i < 5).await;
    }

    let plan = org.json(&["--format", "json", "backfill", "--dry-run"]);
    let plan = plan.as_array().unwrap();
    assert_eq!(plan.len(), 45, "40 new accounts and 5 to retry");
    let retry: Vec<&Value> = plan
        .iter()
        .filter(|p| p["retrying"] == json!(["risken"]))
        .collect();
    assert_eq!(retry.len(), 5);
    assert!(retry.iter().all(|p| p["vendors"] == json!(["risken"])));
    assert!(
        org.executions().await.is_empty(),
        "a dry run started something"
    );

    // The backfill runs in AWS: one execution of the backfill state
    // machine, with the options as its input, and none of vendorlink's yet.
    let run = org.json(&[
        "--format",
        "json",
        "backfill",
        "--per-minute",
        "0",
        "--max-concurrent",
        "100",
        "--no-wait",
    ]);
    assert_eq!(run["joined"], json!(false), "{run}");
    assert_eq!(run["plan"], json!(45));
    let backfills = org.executions_of(&org.backfill).await;
    assert_eq!(backfills.len(), 1);
    let input: Value = serde_json::from_str(
        &aws_sdk_sfn::Client::new(&org.sdk)
            .describe_execution()
            .execution_arn(&backfills[0].execution_arn)
            .send()
            .await
            .unwrap()
            .input
            .unwrap(),
    )
    .unwrap();
    assert_eq!(input, json!({"per_minute": 0, "max_concurrent": 100}));
    assert!(org.executions().await.is_empty());

    // While it runs, running the command again joins it: nothing new starts.
    let again = org.json(&["--format", "json", "backfill", "--no-wait"]);
    assert_eq!(again["joined"], json!(true), "{again}");
    assert_eq!(again["execution"], run["execution"]);
    assert_eq!(org.executions_of(&org.backfill).await.len(), 1);

    // Options out of range are refused before anything starts.
    let (ok, _, stderr) = org.cli(&["backfill", "--max-concurrent", "0", "--no-wait"]);
    assert!(!ok && stderr.contains("max_concurrent"), "{stderr}");
}

#[tokio::test]
async fn backfill_respects_ous_and_exclusions() {
    let org = org_with_accounts(6).await;
    let root = org
        .organizations
        .list_roots()
        .send()
        .await
        .unwrap()
        .roots
        .unwrap()
        .remove(0)
        .id
        .unwrap();
    let ou = org
        .organizations
        .create_organizational_unit()
        .parent_id(&root)
        .name("Prod")
        .send()
        .await
        .unwrap()
        .organizational_unit
        .unwrap()
        .id
        .unwrap();
    for account in &org.accounts[..3] {
        org.organizations
            .move_account()
            .account_id(account.as_str())
            .source_parent_id(&root)
            .destination_parent_id(&ou)
            .send()
            .await
            .unwrap();
    }
    let plan = org.json(&[
        "--format",
        "json",
        "backfill",
        "--dry-run",
        "--ou",
        &ou,
        "--exclude-account",
        org.accounts[0].as_str(),
    ]);
    let ids: Vec<&str> = plan
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["account_id"].as_str().unwrap())
        .collect();
    let mut expected: Vec<&str> = org.accounts[1..3].iter().map(|a| a.as_str()).collect();
    expected.sort();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn status_redrive_and_offboard() {
    let org = org_with_accounts(1).await;
    let account = &org.accounts[0];
    org.mark(account, VendorName::Cloudcraft, true).await;

    // The organization as a matrix; --state keeps the accounts in that state.
    let (ok, matrix, _) = org.cli(&["status"]);
    assert!(ok);
    assert!(
        matrix.starts_with("ACCOUNT       CLOUDCRAFT  RISKEN"),
        "{matrix}"
    );
    assert!(
        matrix.contains(&format!("{account}  FAIL        .")),
        "{matrix}"
    );
    let (ok, active, _) = org.cli(&["status", "--state", "active"]);
    assert!(ok && active.starts_with("No account matches"), "{active}");
    // --detail: a row per registration.
    let (ok, table, _) = org.cli(&["status", "--detail"]);
    assert!(ok);
    assert!(table.starts_with("ACCOUNT "), "{table}");
    assert!(
        table.contains(&format!("{account}  cloudcraft  failed")),
        "{table}"
    );
    let status = org.json(&[
        "--format",
        "json",
        "status",
        "--account",
        account.as_str(),
        "--vendor",
        "cloudcraft",
    ]);
    assert_eq!(status[0]["last_error"], "Fatal.Vendor: no");

    let redrive = org.json(&[
        "--format",
        "json",
        "redrive",
        "--account",
        account.as_str(),
        "--vendor",
        "cloudcraft",
    ]);
    assert_eq!(
        redrive["input"],
        json!({"accountId": account.as_str(), "action": "onboard", "vendors": ["cloudcraft"]})
    );
    // Offboarding asks first: with no terminal to ask on, it is refused
    // and starts nothing.
    let before = org.executions().await.len();
    let (ok, _, stderr) = org.cli(&["offboard", "--account", account.as_str()]);
    assert!(!ok);
    assert!(stderr.contains("--yes"), "{stderr}");
    assert_eq!(org.executions().await.len(), before);
    let offboard = org.json(&[
        "--output",
        "json",
        "offboard",
        "--yes",
        "--account",
        account.as_str(),
        "--keep-roles",
    ]);
    assert_eq!(
        offboard["input"],
        json!({"accountId": account.as_str(), "action": "offboard", "keepRoles": true})
    );
    assert_eq!(org.executions().await.len(), 2);
}

#[tokio::test]
async fn bad_arguments_are_refused_clearly() {
    let out = Command::new(env!("CARGO_BIN_EXE_vendorlink"))
        .args(["redrive", "--account", "123"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an AWS account id"));
    let out = Command::new(env!("CARGO_BIN_EXE_vendorlink"))
        .args(["status", "--vendor", "wiz"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown vendor `wiz`"));
}
