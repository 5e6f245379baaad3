//! `vendorlink status`: accounts x vendors from the ledger.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
use vendorlink_shared::ledger::{Ledger, LedgerEntry};
use vendorlink_shared::{AccountId, Result, VendorName};

use crate::deployment::Deployment;
use crate::table::{self, Format};

pub async fn run(
    sdk: &SdkConfig,
    deployment: &Deployment,
    account: Option<&AccountId>,
    vendor: Option<VendorName>,
    format: Format,
) -> Result<()> {
    let ledger = Ledger::new(
        aws_sdk_dynamodb::Client::new(sdk),
        deployment.config.ledger_table.clone(),
    );
    let mut entries = match account {
        Some(a) => ledger.account_entries(a).await?,
        None => ledger.all_entries().await?,
    };
    entries.retain(|e| vendor.is_none_or(|v| e.vendor == v));
    entries.sort_by(|a, b| (&a.account, a.vendor).cmp(&(&b.account, b.vendor)));
    print!("{}", render(&entries, SystemTime::now(), format));
    Ok(())
}

/// The status report, as a table or as JSON.
pub fn render(entries: &[LedgerEntry], now: SystemTime, format: Format) -> String {
    if format == Format::Json {
        return serde_json::to_string_pretty(entries).unwrap_or_default() + "\n";
    }
    if entries.is_empty() {
        return "The ledger has no entries yet.\n".into();
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.account.to_string(),
                e.vendor.to_string(),
                e.state.to_string(),
                e.role_arn.clone().unwrap_or_else(|| "-".into()),
                e.vendor_ref.clone().unwrap_or_else(|| "-".into()),
                age(&e.updated_at, now),
                e.last_error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    for e in entries {
        *states.entry(e.state.to_string()).or_default() += 1;
    }
    let accounts: BTreeSet<&AccountId> = entries.iter().map(|e| &e.account).collect();
    let counts: Vec<String> = states.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}{}, {}: {}\n",
        table::render(
            &[
                "ACCOUNT",
                "VENDOR",
                "STATE",
                "ROLE ARN",
                "VENDOR REF",
                "AGE",
                "LAST ERROR",
            ],
            &rows,
        ),
        plural(accounts.len(), "account"),
        plural(entries.len(), "registration"),
        counts.join(", ")
    )
}

fn age(updated_at: &str, now: SystemTime) -> String {
    let Ok(at) = DateTime::from_str(updated_at, DateTimeFormat::DateTime) else {
        return "?".into();
    };
    let Ok(at) = SystemTime::try_from(at) else {
        return "?".into();
    };
    let secs = now.duration_since(at).unwrap_or(Duration::ZERO).as_secs();
    match secs {
        0..=119 => format!("{secs}s"),
        120..=7199 => format!("{}m", secs / 60),
        7200..=172_799 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vendorlink_shared::ledger::LedgerState;

    fn entry(
        vendor: VendorName,
        state: LedgerState,
        updated_at: &str,
        error: Option<&str>,
    ) -> LedgerEntry {
        LedgerEntry {
            account: "222222222222".parse().unwrap(),
            vendor,
            state,
            role_arn: Some(format!("arn:aws:iam::222222222222:role/{vendor}")),
            vendor_ref: (state == LedgerState::Active).then(|| "ref-1".into()),
            attempts: 1,
            last_error: error.map(str::to_owned),
            execution: Some("exec-1".into()),
            created_at: "2026-11-20T08:00:00Z".into(),
            updated_at: updated_at.into(),
        }
    }

    fn now() -> SystemTime {
        SystemTime::try_from(
            DateTime::from_str("2026-11-20T10:00:00Z", DateTimeFormat::DateTime).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn table_snapshot() {
        let entries = [
            entry(
                VendorName::Skyhigh,
                LedgerState::Active,
                "2026-11-20T09:59:30Z",
                None,
            ),
            entry(
                VendorName::Cloudcraft,
                LedgerState::Failed,
                "2026-11-20T08:00:00Z",
                Some("Fatal.Vendor: HTTP 400"),
            ),
        ];
        assert_eq!(
            render(&entries, now(), Format::Table),
            "\
ACCOUNT       VENDOR      STATE   ROLE ARN                                   VENDOR REF  AGE  LAST ERROR
------------  ----------  ------  -----------------------------------------  ----------  ---  ----------------------
222222222222  skyhigh     active  arn:aws:iam::222222222222:role/skyhigh     ref-1       30s
222222222222  cloudcraft  failed  arn:aws:iam::222222222222:role/cloudcraft  -           2h   Fatal.Vendor: HTTP 400
1 account, 2 registrations: 1 active, 1 failed
"
        );
    }

    #[test]
    fn json_snapshot() {
        let entries = [entry(
            VendorName::Risken,
            LedgerState::Active,
            "2026-11-20T09:00:00Z",
            None,
        )];
        assert_eq!(
            render(&entries, now(), Format::Json),
            r#"[
  {
    "account": "222222222222",
    "vendor": "risken",
    "state": "active",
    "role_arn": "arn:aws:iam::222222222222:role/risken",
    "vendor_ref": "ref-1",
    "attempts": 1,
    "last_error": null,
    "execution": "exec-1",
    "created_at": "2026-11-20T08:00:00Z",
    "updated_at": "2026-11-20T09:00:00Z"
  }
]
"#
        );
    }

    #[test]
    fn empty_ledger_says_so() {
        assert_eq!(
            render(&[], now(), Format::Table),
            "The ledger has no entries yet.\n"
        );
        assert_eq!(render(&[], now(), Format::Json), "[]\n");
    }
}
