//! The tasks' decisions against the in-memory fakes ([`crate::fakes`]):
//! every task's paths, and faults at every call it makes (an error, a
//! timeout, an answer lost after the other side acted). No emulator.

mod backfill;
mod doctor;
mod faults;
mod heal;
mod lifecycle;
mod offboard;
mod onboard;
mod propagation;
mod reconcile;
mod record;
mod resolve;
mod trust;

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::config::Config;
use crate::contract::{Action, ItemStatus, VendorItem};
use crate::fakes::FakeWorld;
use crate::ids::AccountId;
use crate::tasks::{self, Context};
use crate::vendor_name::VendorName;

/// The root and the workloads OU of the fake organization.
const ROOT: &str = "r-ab12";
const WORKLOADS: &str = "ou-ab12-11111111";
const SANDBOX_OU: &str = "ou-ab12-22222222";

/// A CloudTrail connector for Stellar Cyber (docs/vendors/stellarcyber.md).
fn stellar_template() -> Value {
    json!({"name": "vendorlink-aws-{{account_id}}", "type": "aws_cloudtrail",
           "config": {"role_arn": "{{role_arn}}", "bucket": "org-trail",
                      "prefix": "AWSLogs/{{account_id}}", "file_type": "gzip"}})
}

/// A valid secret for each vendor; every credential holds `SECRET`.
fn secret_document(vendor: VendorName) -> Value {
    match vendor {
        VendorName::Datatheorem => {
            json!({"api_key": "dt-SECRET-key", "aws_account_id": "111122223333"})
        }
        VendorName::Skyhigh => json!({"username": "admin", "password": "sky-SECRET-pw"}),
        VendorName::Cloudcraft => json!({"api_key": "cc-SECRET-key"}),
        VendorName::Risken => json!({"access_token": "rk-SECRET-token", "project_id": 1,
            "aws_account_id": "444455556666", "base_url": "https://risken.example.com"}),
        VendorName::Stellarcyber => json!({"user_id": "u", "api_key": "st-SECRET-key",
            "tenant_id": "t1", "principal_arn": "arn:aws:iam::777788889999:role/stellar-connector",
            "connector_template": stellar_template(),
            "base_url": "https://stellar.example.com"}),
    }
}

/// One test's world: the fakes, a context over them, and one new member
/// account (ACTIVE, in the workloads OU) with every vendor's secret stored.
struct Fixture {
    fakes: FakeWorld,
    ctx: Context,
    account: AccountId,
}

fn config(vendors: &[VendorName], extra: &[(&str, &str)]) -> Config {
    let names: Vec<&str> = vendors.iter().map(|v| v.as_str()).collect();
    let mut vars: HashMap<String, String> = HashMap::from([
        ("VENDORS".into(), names.join(",")),
        ("LEDGER_TABLE".into(), "ledger".into()),
        ("POLL_SECONDS".into(), "5".into()),
        (
            "NOTIFY_TOPIC_ARN".into(),
            "arn:aws:sns:us-east-1:123456789012:vendorlink".into(),
        ),
    ]);
    for (k, v) in extra {
        vars.insert((*k).into(), (*v).into());
    }
    Config::from_lookup(|k| vars.get(k).cloned().filter(|v| !v.is_empty())).unwrap()
}

fn fixture(vendors: &[VendorName]) -> Fixture {
    fixture_with(vendors, &[])
}

fn fixture_with(vendors: &[VendorName], extra: &[(&str, &str)]) -> Fixture {
    let fakes = FakeWorld::new();
    let account: AccountId = "222233334444".parse().unwrap();
    fakes
        .org
        .add_account(&account, "workload-1", "ACTIVE", &[WORKLOADS, ROOT]);
    for vendor in VendorName::ALL {
        fakes.secrets.put(vendor, secret_document(vendor));
    }
    let ctx = fakes.context(config(vendors, extra));
    Fixture {
        fakes,
        ctx,
        account,
    }
}

impl Fixture {
    /// Makes the fake vendor behave so.
    fn behave(&self, vendor: VendorName, behaviour: crate::fakes::FakeVendorBehaviour) {
        self.fakes.vendors.vendor(vendor).set_behaviour(behaviour);
    }

    /// The work item resolve-account makes for the vendor, in an execution.
    async fn item(&self, vendor: VendorName, execution: &str) -> VendorItem {
        self.item_for(Action::Onboard, vendor, execution).await
    }

    async fn item_for(&self, action: Action, vendor: VendorName, execution: &str) -> VendorItem {
        let input = match action {
            Action::Offboard => json!({"accountId": self.account, "action": "offboard"}),
            _ => json!({"accountId": self.account}),
        };
        self.item_from(&input, vendor, execution).await
    }

    /// The work item for `vendor` of the execution started with `input`, as
    /// the state machine's ItemSelector passes it on.
    async fn item_from(&self, input: &Value, vendor: VendorName, execution: &str) -> VendorItem {
        let resolved = tasks::resolve_account(&self.ctx, input).await.unwrap();
        let work = resolved
            .items
            .into_iter()
            .find(|i| i.vendor == vendor)
            .unwrap();
        serde_json::from_value(json!({"action": work.action, "account": work.account,
            "vendor": work.vendor, "keep_roles": work.keep_roles,
            "unlisted_after": work.unlisted_after, "execution": execution}))
        .unwrap()
    }

    /// `vendor` behaves like Data Theorem: no lookup, so a second
    /// submission would be a second registration.
    fn without_lookup(&self, vendor: VendorName) {
        self.behave(
            vendor,
            crate::fakes::FakeVendorBehaviour {
                lookup: false,
                ..Default::default()
            },
        );
    }

    /// Records that `execution`'s run of `vendor` failed with `error`.
    async fn fail(&self, vendor: VendorName, error: &str, execution: &str) {
        use crate::ports::LedgerStore;
        self.fakes
            .ledger
            .transition(
                &self.account,
                vendor,
                crate::ledger::Transition::failed(error, execution),
            )
            .await
            .unwrap();
    }

    /// A work item of `execution` for `vendor`, past ensure-trust-role.
    async fn role_ready(&self, vendor: VendorName, execution: &str) -> VendorItem {
        let item = self.item(vendor, execution).await;
        tasks::ensure_trust_role(&self.ctx, item).await.unwrap()
    }

    /// Runs one vendor's onboarding branch as the state machine does
    /// (without its retries): ensure, register, then checks until done.
    async fn onboard(&self, vendor: VendorName, execution: &str) -> crate::Result<VendorItem> {
        let item = self.item(vendor, execution).await;
        let mut item = tasks::ensure_trust_role(&self.ctx, item).await?;
        if item.status == ItemStatus::Done {
            return Ok(item);
        }
        item = tasks::register_account(&self.ctx, item).await?;
        for _ in 0..20 {
            if item.status != ItemStatus::Pending {
                break;
            }
            item = tasks::check_status(&self.ctx, item).await?;
        }
        Ok(item)
    }
}
