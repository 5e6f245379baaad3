//! The ledger in memory, with the DynamoDB ledger's transition rules
//! ([`Transition::permits`] is the rule its condition expression writes).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};

use crate::error::{Error, Result};
use crate::ids::AccountId;
use crate::ledger::{LedgerEntry, LedgerState, Transition, TransitionOutcome};
use crate::ports::LedgerStore;
use crate::vendor_name::VendorName;

use super::Faults;

type Key = (AccountId, VendorName);

pub struct MemoryLedger {
    items: Mutex<BTreeMap<Key, LedgerEntry>>,
    faults: Arc<Faults>,
}

impl MemoryLedger {
    pub fn new(faults: Arc<Faults>) -> Self {
        MemoryLedger {
            items: Mutex::new(BTreeMap::new()),
            faults,
        }
    }

    /// Puts an item as it is (a test's starting state).
    pub fn put(&self, entry: LedgerEntry) {
        self.lock()
            .insert((entry.account.clone(), entry.vendor), entry);
    }

    /// The item, read without the fault script.
    pub fn item(&self, account: &AccountId, vendor: VendorName) -> Option<LedgerEntry> {
        self.lock().get(&(account.clone(), vendor)).cloned()
    }

    /// The item's state, or `None` when there is no item.
    /// Makes the item look last moved at `when` (an execution that died).
    pub fn backdate(&self, account: &AccountId, vendor: VendorName, when: &str) {
        if let Some(entry) = self.lock().get_mut(&(account.clone(), vendor)) {
            entry.updated_at = when.to_owned();
        }
    }

    pub fn state(&self, account: &AccountId, vendor: VendorName) -> Option<LedgerState> {
        self.item(account, vendor).map(|e| e.state)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Key, LedgerEntry>> {
        // A test that panicked while holding the lock has failed already.
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn now() -> Result<String> {
    DateTime::from(std::time::SystemTime::now())
        .fmt(DateTimeFormat::DateTime)
        .map_err(|e| Error::config(format!("formatting the time: {e}")))
}

#[async_trait]
impl LedgerStore for MemoryLedger {
    async fn transition(
        &self,
        account: &AccountId,
        vendor: VendorName,
        transition: Transition,
    ) -> Result<TransitionOutcome> {
        let now = now()?;
        self.faults.run("ledger.transition", || {
            let mut items = self.lock();
            let key = (account.clone(), vendor);
            let current = items.get(&key).cloned();
            if !transition.permits(current.as_ref()) {
                return Ok(TransitionOutcome::Refused { current });
            }
            let entry = transition
                .apply(account, vendor, current, &now)
                .ok_or_else(|| Error::config("a ledger transition needs a target state"))?;
            items.insert(key, entry.clone());
            Ok(TransitionOutcome::Applied(entry))
        })
    }

    async fn get(&self, account: &AccountId, vendor: VendorName) -> Result<Option<LedgerEntry>> {
        self.faults
            .run("ledger.get", || Ok(self.item(account, vendor)))
    }

    async fn account_entries(&self, account: &AccountId) -> Result<Vec<LedgerEntry>> {
        self.faults.run("ledger.account_entries", || {
            Ok(self
                .lock()
                .values()
                .filter(|e| &e.account == account)
                .cloned()
                .collect())
        })
    }

    async fn all_entries(&self) -> Result<Vec<LedgerEntry>> {
        self.faults.run("ledger.all_entries", || {
            Ok(self.lock().values().cloned().collect())
        })
    }
}
