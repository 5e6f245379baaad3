//! `vendorlink status`: accounts x vendors from the ledger. For the whole
//! organization, a matrix people can scan (one row per account, one column
//! per vendor, a symbol per state, totals per vendor); for one account or
//! vendor (or `--detail`), one row per registration with its role,
//! reference, age and last error.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
use vendorlink_shared::ledger::{Ledger, LedgerEntry, LedgerState};
use vendorlink_shared::{AccountId, Result, VendorName};

use crate::deployment::Deployment;
use crate::table::{self, Format};

/// What `vendorlink status` shows.
pub struct Query<'a> {
    pub account: Option<&'a AccountId>,
    pub vendor: Option<VendorName>,
    /// Only accounts (matrix) or registrations (detail) in this state.
    pub state: Option<LedgerState>,
    /// One row per registration even for the whole organization.
    pub detail: bool,
}

/// The states `--state` accepts, by name.
pub fn parse_state(s: &str) -> std::result::Result<LedgerState, String> {
    LedgerState::ALL
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or_else(|| {
            let names: Vec<&str> = LedgerState::ALL.iter().map(|st| st.as_str()).collect();
            format!("`{s}` is not a state (one of: {})", names.join(", "))
        })
}

pub async fn run(
    sdk: &SdkConfig,
    deployment: &Deployment,
    query: &Query<'_>,
    format: Format,
) -> Result<()> {
    let (account, vendor) = (query.account, query.vendor);
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
    let matrix = format == Format::Table && !query.detail && account.is_none() && vendor.is_none();
    if matrix {
        if let Some(state) = query.state {
            let hit: BTreeSet<AccountId> = entries
                .iter()
                .filter(|e| e.state == state)
                .map(|e| e.account.clone())
                .collect();
            entries.retain(|e| hit.contains(&e.account));
        }
        let colour = std::io::IsTerminal::is_terminal(&std::io::stdout())
            && std::env::var_os("NO_COLOR").is_none();
        print!(
            "{}",
            render_matrix(&entries, &deployment.config.vendors, colour)
        );
        return Ok(());
    }
    entries.retain(|e| query.state.is_none_or(|s| e.state == s));
    print!("{}", render(&entries, SystemTime::now(), format));
    Ok(())
}

/// A state's symbol in the matrix, and its ANSI colour.
fn symbol(state: Option<LedgerState>) -> (&'static str, &'static str) {
    match state {
        None => (".", "2"),
        Some(LedgerState::Active) => ("ok", "32"),
        Some(LedgerState::Failed) => ("FAIL", "31"),
        Some(LedgerState::Unverified) => ("?", "33"),
        Some(LedgerState::Offboarded) => ("off", "2"),
        Some(_) => ("...", "36"),
    }
}

/// One row per account, one column per vendor, then each vendor's totals.
pub fn render_matrix(entries: &[LedgerEntry], vendors: &[VendorName], colour: bool) -> String {
    if entries.is_empty() {
        return "No account matches (the ledger may have no entries yet).\n".into();
    }
    let mut by_account: BTreeMap<&AccountId, BTreeMap<VendorName, LedgerState>> = BTreeMap::new();
    for e in entries {
        by_account
            .entry(&e.account)
            .or_default()
            .insert(e.vendor, e.state);
    }
    let paint = |cell: &str, code: &str| {
        if colour {
            format!("\x1b[{code}m{cell}\x1b[0m")
        } else {
            cell.to_owned()
        }
    };
    let mut headers = vec!["ACCOUNT".to_owned()];
    headers.extend(vendors.iter().map(|v| v.as_str().to_uppercase()));
    let rows: Vec<Vec<String>> = by_account
        .iter()
        .map(|(account, states)| {
            let mut row = vec![account.to_string()];
            row.extend(
                vendors
                    .iter()
                    .map(|v| symbol(states.get(v).copied()).0.to_owned()),
            );
            row
        })
        .collect();
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    // Colour is added after the layout: escape codes have no width.
    let mut out = String::new();
    for (i, line) in table::render(&header_refs, &rows).lines().enumerate() {
        if colour && i >= 2 {
            let mut painted = line.to_owned();
            for cell in [" FAIL", " ok", " ...", " ?", " off"] {
                let code = match cell.trim() {
                    "ok" => "32",
                    "FAIL" => "31",
                    "?" => "33",
                    "off" => "2",
                    _ => "36",
                };
                painted = painted.replace(cell, &format!(" {}", paint(cell.trim(), code)));
            }
            out.push_str(&painted);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out.push_str(&format!("{} accounts\n", by_account.len()));
    for v in vendors {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for states in by_account.values() {
            let name = match states.get(v) {
                None => "never onboarded",
                Some(s) if s.in_flight() => "in progress",
                Some(s) => s.as_str(),
            };
            *counts.entry(name).or_default() += 1;
        }
        let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
        out.push_str(&format!("  {:<13} {}\n", v.as_str(), parts.join(", ")));
    }
    out.push_str("legend: ok active, FAIL failed, ? unverified, ... in progress, off offboarded, . never onboarded\n");
    out
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

    #[test]
    fn the_matrix_has_a_row_per_account_a_column_per_vendor_and_totals() {
        let mut a = entry(
            VendorName::Cloudcraft,
            LedgerState::Active,
            "2026-11-20T08:00:00Z",
            None,
        );
        let mut b = entry(
            VendorName::Risken,
            LedgerState::Failed,
            "2026-11-20T08:00:00Z",
            Some("x"),
        );
        let mut c = entry(
            VendorName::Cloudcraft,
            LedgerState::Registering,
            "2026-11-20T08:00:00Z",
            None,
        );
        a.account = "111111111111".parse().unwrap();
        b.account = "111111111111".parse().unwrap();
        c.account = "222222222222".parse().unwrap();
        let out = render_matrix(
            &[a, b, c],
            &[VendorName::Cloudcraft, VendorName::Risken],
            false,
        );
        assert_eq!(
            out,
            "\
ACCOUNT       CLOUDCRAFT  RISKEN
------------  ----------  ------
111111111111  ok          FAIL
222222222222  ...         .
2 accounts
  cloudcraft    1 active, 1 in progress
  risken        1 failed, 1 never onboarded
legend: ok active, FAIL failed, ? unverified, ... in progress, off offboarded, . never onboarded
"
        );
        let coloured = render_matrix(
            &[entry(
                VendorName::Risken,
                LedgerState::Failed,
                "2026-11-20T08:00:00Z",
                None,
            )],
            &[VendorName::Risken],
            true,
        );
        assert!(coloured.contains("\x1b[31mFAIL\x1b[0m"), "{coloured:?}");
    }

    #[test]
    fn states_are_parsed_by_name_with_the_choices_on_error() {
        assert_eq!(parse_state("failed"), Ok(LedgerState::Failed));
        let e = parse_state("broken").unwrap_err();
        assert!(e.contains("failed") && e.contains("role_ready"), "{e}");
    }

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
