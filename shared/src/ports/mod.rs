//! The ports: the small traits the tasks reach the outside world through.
//! Each has its AWS (or HTTP) implementation in [`aws`], and an in-memory
//! fake in [`crate::fakes`] for unit tests of the tasks' decisions.

pub mod aws;
pub mod lazy;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Result;
use crate::ids::{AccountId, ParentId};
use crate::ledger::{LedgerEntry, Transition, TransitionOutcome};
use crate::member_iam::{EnsuredRole, RoleDeletion, RoleSpec, RoleState};
use crate::org::AccountInfo;
use crate::vendor_name::VendorName;
use crate::vendors::{Vendor, VendorSecret};

/// The ledger: one item per account and vendor, moved by conditional
/// transitions.
#[async_trait]
pub trait LedgerStore: Send + Sync {
    /// Applies a transition if the item's state allows it.
    async fn transition(
        &self,
        account: &AccountId,
        vendor: VendorName,
        transition: Transition,
    ) -> Result<TransitionOutcome>;

    async fn get(&self, account: &AccountId, vendor: VendorName) -> Result<Option<LedgerEntry>>;

    async fn account_entries(&self, account: &AccountId) -> Result<Vec<LedgerEntry>>;

    async fn all_entries(&self) -> Result<Vec<LedgerEntry>>;
}

/// AWS Organizations, as far as the tasks need it.
#[async_trait]
pub trait OrgDirectory: Send + Sync {
    async fn describe_account(&self, account: &AccountId) -> Result<AccountInfo>;

    /// The account's parents up to the root, nearest first.
    async fn ancestors(&self, account: &AccountId) -> Result<Vec<ParentId>>;

    async fn tag_account(&self, account: &AccountId, tags: &BTreeMap<String, String>)
        -> Result<()>;

    /// The ACTIVE member accounts (never the management account), under
    /// `include` when it names parents, else all.
    async fn members(&self, include: &[ParentId]) -> Result<Vec<AccountInfo>>;

    /// The organization's management account, where vendorlink runs and
    /// which it never onboards.
    async fn management_account(&self) -> Result<Option<AccountId>>;
}

/// Whether starting an execution started one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOutcome {
    Started,
    /// An execution of that name exists already (Step Functions' same-name
    /// rule): a heal run again starts nothing twice.
    AlreadyStarted,
}

/// Starts state machine executions (healing).
#[async_trait]
pub trait Executions: Send + Sync {
    async fn start(&self, name: &str, input: &str) -> Result<StartOutcome>;
}

/// The vendors' secrets.
#[async_trait]
pub trait SecretSource: Send + Sync {
    /// The vendor's secret as stored.
    async fn load(&self, vendor: VendorName) -> Result<VendorSecret>;

    /// The vendor's secret, with an external ID generated and stored first
    /// where the customer must choose one and the secret has none.
    async fn load_with_external_id(&self, vendor: VendorName) -> Result<VendorSecret>;
}

/// IAM in member accounts, entered through the member access role. An
/// account that cannot be entered is `Retryable.RoleNotReady`.
#[async_trait]
pub trait MemberAccounts: Send + Sync {
    /// Creates the vendor's role, or repairs it to match the spec.
    async fn ensure_role(&self, account: &AccountId, spec: &RoleSpec) -> Result<EnsuredRole>;

    /// How the role differs from the spec, without changing anything.
    async fn inspect_role(&self, account: &AccountId, spec: &RoleSpec) -> Result<RoleState>;

    /// Deletes the vendor's role if vendorlink created it.
    async fn delete_role(
        &self,
        account: &AccountId,
        vendor: VendorName,
        role_name: &str,
    ) -> Result<RoleDeletion>;
}

/// Where outcome summaries and drift reports go (an SNS topic).
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn publish(&self, subject: &str, message: &str) -> Result<()>;
}

/// Makes a vendor's client from its secret.
pub trait VendorConnector: Send + Sync {
    fn connect(&self, secret: VendorSecret) -> Result<Arc<dyn Vendor>>;
}

/// Every port a task may use.
#[derive(Clone)]
pub struct Ports {
    pub ledger: Arc<dyn LedgerStore>,
    pub org: Arc<dyn OrgDirectory>,
    pub secrets: Arc<dyn SecretSource>,
    pub members: Arc<dyn MemberAccounts>,
    /// `None` when no topic is configured.
    pub notifier: Option<Arc<dyn Notifier>>,
    pub vendors: Arc<dyn VendorConnector>,
}
