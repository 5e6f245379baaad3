//! Ports made on first use. Each AWS SDK client parses its service's
//! endpoint rules and partitions when it is built, a millisecond or two of
//! CPU each: a function that never touches Secrets Manager, IAM or SNS
//! (resolve-account, record-outcome) should not pay for them at start-up.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;

use crate::error::Result;
use crate::ids::{AccountId, ParentId};
use crate::ledger::{LedgerEntry, Transition, TransitionOutcome};
use crate::member_iam::{EnsuredRole, RoleDeletion, RoleSpec, RoleState};
use crate::org::AccountInfo;
use crate::vendor_name::VendorName;
use crate::vendors::VendorSecret;

use super::{LedgerStore, MemberAccounts, Notifier, OrgDirectory, SecretSource};

/// A port built by `make` the first time it is called.
pub struct Lazy<T> {
    cell: OnceLock<T>,
    make: Box<dyn Fn() -> T + Send + Sync>,
}

impl<T> Lazy<T> {
    pub fn new(make: impl Fn() -> T + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Lazy {
            cell: OnceLock::new(),
            make: Box::new(make),
        })
    }

    fn get(&self) -> &T {
        self.cell.get_or_init(|| (self.make)())
    }

    /// Whether it was built (tests).
    pub fn is_built(&self) -> bool {
        self.cell.get().is_some()
    }
}

#[async_trait]
impl<T: LedgerStore> LedgerStore for Lazy<T> {
    async fn transition(
        &self,
        account: &AccountId,
        vendor: VendorName,
        transition: Transition,
    ) -> Result<TransitionOutcome> {
        self.get().transition(account, vendor, transition).await
    }

    async fn get(&self, account: &AccountId, vendor: VendorName) -> Result<Option<LedgerEntry>> {
        Lazy::get(self).get(account, vendor).await
    }

    async fn account_entries(&self, account: &AccountId) -> Result<Vec<LedgerEntry>> {
        self.get().account_entries(account).await
    }

    async fn all_entries(&self) -> Result<Vec<LedgerEntry>> {
        self.get().all_entries().await
    }
}

#[async_trait]
impl<T: OrgDirectory> OrgDirectory for Lazy<T> {
    async fn describe_account(&self, account: &AccountId) -> Result<AccountInfo> {
        self.get().describe_account(account).await
    }

    async fn ancestors(&self, account: &AccountId) -> Result<Vec<ParentId>> {
        self.get().ancestors(account).await
    }

    async fn tag_account(
        &self,
        account: &AccountId,
        tags: &BTreeMap<String, String>,
    ) -> Result<()> {
        self.get().tag_account(account, tags).await
    }

    async fn members(&self, include: &[ParentId]) -> Result<Vec<AccountInfo>> {
        self.get().members(include).await
    }

    async fn management_account(&self) -> Result<Option<AccountId>> {
        self.get().management_account().await
    }
}

#[async_trait]
impl<T: SecretSource> SecretSource for Lazy<T> {
    async fn load(&self, vendor: VendorName) -> Result<VendorSecret> {
        self.get().load(vendor).await
    }

    async fn load_with_external_id(&self, vendor: VendorName) -> Result<VendorSecret> {
        self.get().load_with_external_id(vendor).await
    }
}

#[async_trait]
impl<T: MemberAccounts> MemberAccounts for Lazy<T> {
    async fn ensure_role(&self, account: &AccountId, spec: &RoleSpec) -> Result<EnsuredRole> {
        self.get().ensure_role(account, spec).await
    }

    async fn inspect_role(&self, account: &AccountId, spec: &RoleSpec) -> Result<RoleState> {
        self.get().inspect_role(account, spec).await
    }

    async fn delete_role(
        &self,
        account: &AccountId,
        vendor: VendorName,
        role_name: &str,
    ) -> Result<RoleDeletion> {
        self.get().delete_role(account, vendor, role_name).await
    }
}

#[async_trait]
impl<T: Notifier> Notifier for Lazy<T> {
    async fn publish(&self, subject: &str, message: &str) -> Result<()> {
        self.get().publish(subject, message).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::{Faults, MemoryLedger};

    #[tokio::test]
    async fn a_lazy_port_is_built_on_its_first_call_only() {
        let made = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = made.clone();
        let ledger = Lazy::new(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            MemoryLedger::new(Arc::new(Faults::default()))
        });
        assert!(!ledger.is_built());
        assert!(ledger.all_entries().await.unwrap().is_empty());
        assert!(ledger.all_entries().await.unwrap().is_empty());
        assert!(ledger.is_built());
        assert_eq!(made.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
