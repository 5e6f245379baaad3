//! The typed contracts between the state machine, the functions and the
//! CLI: every task's input and output, and the direct request the CLI (and
//! any operator) starts an execution with. Both sides use these types; no
//! payload is built by hand. `docs/state-machine.md` describes them as JSON.
//!
//! Payloads carry ids, names, references and outcomes, never a credential
//! or an external ID.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ids::AccountId;
use crate::vendor_name::VendorName;
use crate::vendors::AccountToRegister;

/// What a direct request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DirectAction {
    #[default]
    Onboard,
    Offboard,
}

impl DirectAction {
    pub fn as_str(self) -> &'static str {
        match self {
            DirectAction::Onboard => "onboard",
            DirectAction::Offboard => "offboard",
        }
    }
}

impl Serialize for DirectAction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for DirectAction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match String::deserialize(d)?.as_str() {
            "onboard" => Ok(DirectAction::Onboard),
            "offboard" => Ok(DirectAction::Offboard),
            other => Err(serde::de::Error::custom(format!(
                "`{other}` is not an action (allowed: onboard, offboard)"
            ))),
        }
    }
}

/// What an offboarding does with the vendors' trust roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OffboardRoles {
    /// Delete the roles vendorlink created (the default).
    #[default]
    Delete,
    /// Leave them in place.
    Keep,
}

/// The input of an execution started directly (backfill, redrive, offboard)
/// rather than by an EventBridge event:
/// `{"accountId": "...", "action": "onboard"|"offboard", "vendors": [...], "keepRoles": true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectRequest {
    pub account_id: AccountId,
    #[serde(default)]
    pub action: DirectAction,
    /// Only these vendors (all enabled ones when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendors: Option<Vec<VendorName>>,
    /// Offboarding only: leave the trust roles in place.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_roles: bool,
    /// Vendors whose listing, read once for a whole backfill batch, did not
    /// hold the account (see [`Unlisted`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unlisted: Vec<Unlisted>,
}

/// A vendor whose listing, read once for a whole backfill batch, did not hold
/// the account while the ledger had counted `attempts` claims of it. Its
/// register-account step may then skip the vendor's own lookup (for
/// Cloudcraft: one request instead of two, at 20 a minute), but only while
/// its execution's claim is the one claim since (`attempts + 1`) and no
/// earlier attempt of the step sent the create: any other claim, and any
/// retry after a lost answer, looks the account up again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unlisted {
    pub vendor: VendorName,
    pub attempts: u32,
}

impl DirectRequest {
    pub fn onboard(account_id: AccountId, vendors: &[VendorName]) -> Self {
        DirectRequest {
            account_id,
            action: DirectAction::Onboard,
            vendors: (!vendors.is_empty()).then(|| vendors.to_vec()),
            keep_roles: false,
            unlisted: Vec::new(),
        }
    }

    pub fn offboard(account_id: AccountId, vendors: &[VendorName], roles: OffboardRoles) -> Self {
        DirectRequest {
            action: DirectAction::Offboard,
            keep_roles: roles == OffboardRoles::Keep,
            ..DirectRequest::onboard(account_id, vendors)
        }
    }
}

/// What to do, as the state machine branches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Onboard,
    Offboard,
    Skip,
}

/// The account a run is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub account_id: AccountId,
    #[serde(default)]
    pub account_name: String,
}

/// One vendor's work in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkItem {
    pub action: Action,
    pub account: AccountSummary,
    pub vendor: VendorName,
    /// Offboarding: leave the vendor's trust role in place.
    #[serde(default)]
    pub keep_roles: bool,
    /// [`Unlisted::attempts`] for this vendor, when the request had one.
    /// Always serialised (as `null` when absent): the state machine's
    /// `ItemSelector` reads it by path.
    #[serde(default)]
    pub unlisted_after: Option<u32>,
}

/// The output of resolve-account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    pub action: Action,
    pub account: Option<AccountSummary>,
    pub trigger: String,
    pub reason: Option<String>,
    pub items: Vec<WorkItem>,
}

/// Where a vendor branch is: go on, wait for the vendor, or done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    #[default]
    Continue,
    Pending,
    Done,
}

/// How a vendor branch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Active,
    RegisteredWithWarnings,
    Failed,
    Skipped,
    ManualStepRequired,
    /// The vendor may or may not hold the registration; `detail` says what
    /// a person checks and how to settle it.
    Unverified,
    Offboarded,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Active => "active",
            Outcome::RegisteredWithWarnings => "registered_with_warnings",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::ManualStepRequired => "manual_step_required",
            Outcome::Unverified => "unverified",
            Outcome::Offboarded => "offboarded",
        }
    }
}

/// A vendor branch's state, passed from task to task inside the `Map`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorItem {
    pub action: Action,
    pub account: AccountSummary,
    pub vendor: VendorName,
    #[serde(default)]
    pub keep_roles: bool,
    #[serde(default)]
    pub unlisted_after: Option<u32>,
    #[serde(default)]
    pub execution: String,
    #[serde(default)]
    pub status: ItemStatus,
    #[serde(default)]
    pub outcome: Option<Outcome>,
    #[serde(default)]
    pub role_arn: Option<String>,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Status checks made so far (the state machine bounds them).
    #[serde(default)]
    pub polls: u32,
    /// Times a stalled registration was registered again.
    #[serde(default)]
    pub resumes: u32,
    /// How long the state machine waits before the next step: IAM
    /// propagation after ensure-trust-role changed the role, else the wait
    /// before the next status check.
    #[serde(default)]
    pub wait_seconds: u32,
    /// When ensure-trust-role created or changed the role (Unix seconds):
    /// for a while after, a vendor that cannot assume it yet is waited for.
    #[serde(default)]
    pub role_changed_at: Option<u64>,
    /// When the vendor first answered "pending" (Unix seconds).
    #[serde(default)]
    pub polling_since: Option<u64>,
    /// The polling budget ran out while the vendor was still pending.
    #[serde(default)]
    pub expired: bool,
}

impl VendorItem {
    pub(crate) fn done(mut self, outcome: Outcome, detail: Option<String>) -> Self {
        self.status = ItemStatus::Done;
        self.outcome = Some(outcome);
        self.detail = detail;
        self
    }

    /// Waits for the vendor: the first wait is `poll.first_wait`, each next
    /// one half again as long, up to `poll.max_wait`; once `poll.budget`
    /// seconds have gone since the first pending answer, the item is
    /// `expired` (the state machine stops polling it).
    pub(crate) fn pending(
        mut self,
        reference: String,
        poll: crate::config::PollPolicy,
        now: u64,
    ) -> Self {
        self.status = ItemStatus::Pending;
        self.reference = Some(reference);
        let since = *self.polling_since.get_or_insert(now);
        self.wait_seconds = poll.wait(self.polls);
        self.expired = now.saturating_sub(since) >= u64::from(poll.budget);
        self
    }

    pub(crate) fn registration(&self, role_name_fallback: Option<&str>) -> AccountToRegister {
        let role_arn = self.role_arn.clone().unwrap_or_else(|| {
            format!(
                "arn:aws:iam::{}:role/{}",
                self.account.account_id,
                role_name_fallback.unwrap_or_default()
            )
        });
        AccountToRegister {
            account_id: self.account.account_id.clone(),
            account_name: self.account.account_name.clone(),
            role_arn,
            unlisted: false,
        }
    }
}

/// The input of record-outcome: the resolved run with each vendor's result.
#[derive(Debug, Clone, Deserialize)]
pub struct RunResults {
    pub action: Action,
    pub account: Option<AccountSummary>,
    #[serde(default)]
    pub trigger: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub results: Vec<VendorItem>,
}

/// One vendor's line in the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorSummary {
    pub vendor: VendorName,
    pub outcome: Outcome,
    pub role_arn: Option<String>,
    pub reference: Option<String>,
    pub detail: Option<String>,
    pub error: Option<String>,
    pub warnings: Vec<String>,
}

/// The execution's output: one summary of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub account_id: Option<AccountId>,
    pub account_name: Option<String>,
    pub action: Action,
    pub trigger: String,
    pub reason: Option<String>,
    pub vendors: Vec<VendorSummary>,
    /// How many vendors failed; the execution fails when this is not zero.
    pub failed: usize,
}

/// The output of record-outcome: the summary (the execution's output), how
/// many vendors failed (the state machine's last choice), and the summary as
/// JSON text (the failure's cause when one failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    pub summary: Summary,
    pub failed: usize,
    pub cause: String,
}

impl From<Summary> for Recorded {
    fn from(summary: Summary) -> Self {
        Recorded {
            failed: summary.failed,
            cause: serde_json::to_string(&summary).unwrap_or_default(),
            summary,
        }
    }
}

/// The name of an execution that onboards `vendors` of `account`: stable for
/// the same work and ledger history (`attempts`, what the ledger counted),
/// so starting it twice starts one execution (Step Functions refuses a
/// second of the same name); another attempt changes it. `prefix` says who
/// started it (`heal`, `backfill`). At most 80 characters.
pub fn execution_name(
    prefix: &str,
    account: &AccountId,
    vendors: &[VendorName],
    attempts: u32,
) -> String {
    let names: Vec<&str> = vendors.iter().map(|v| v.as_str()).collect();
    let key = format!("{account}|{}|{attempts}", names.join(","));
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, key.as_bytes())
        .simple()
        .to_string();
    format!("{prefix}-{account}-{}", &id[..12])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn direct_requests_serialise_as_the_state_machine_reads_them() {
        let account: AccountId = "123456789012".parse().unwrap();
        let onboard = DirectRequest::onboard(account.clone(), &[VendorName::Cloudcraft]);
        assert_eq!(
            serde_json::to_value(&onboard).unwrap(),
            json!({"accountId": "123456789012", "action": "onboard", "vendors": ["cloudcraft"]})
        );
        let offboard = DirectRequest::offboard(account, &[], OffboardRoles::Keep);
        assert_eq!(
            serde_json::to_value(&offboard).unwrap(),
            json!({"accountId": "123456789012", "action": "offboard", "keepRoles": true})
        );
        let back: DirectRequest =
            serde_json::from_value(json!({"accountId": "123456789012"})).unwrap();
        assert_eq!(back.action, DirectAction::Onboard);
    }

    #[test]
    fn an_unknown_action_names_the_allowed_ones() {
        let err = serde_json::from_value::<DirectRequest>(
            json!({"accountId": "123456789012", "action": "nuke"}),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("allowed: onboard, offboard"),
            "{err}"
        );
    }
}
