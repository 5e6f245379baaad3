//! Organizations in memory: accounts, their parents and their tags.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::ids::{AccountId, ParentId};
use crate::org::AccountInfo;
use crate::ports::OrgDirectory;

use super::Faults;

#[derive(Default)]
struct State {
    accounts: HashMap<AccountId, (AccountInfo, Vec<ParentId>)>,
    tags: HashMap<AccountId, BTreeMap<String, String>>,
    management: Option<AccountId>,
}

pub struct MemoryOrg {
    state: Mutex<State>,
    faults: Arc<Faults>,
}

impl MemoryOrg {
    pub fn new(faults: Arc<Faults>) -> Self {
        MemoryOrg {
            state: Mutex::new(State::default()),
            faults,
        }
    }

    /// Adds (or replaces) a member account with its status and its parents,
    /// nearest first, ending with the root.
    pub fn add_account(&self, id: &AccountId, name: &str, status: &str, parents: &[&str]) {
        let info = AccountInfo {
            id: id.clone(),
            name: name.to_owned(),
            email: format!("{name}@example.com"),
            status: status.to_owned(),
        };
        let parents = parents
            .iter()
            .filter_map(|p| p.parse::<ParentId>().ok())
            .collect();
        self.lock().accounts.insert(id.clone(), (info, parents));
    }

    /// Makes `id` the organization's management account (it is also a
    /// member of the organization, as on AWS).
    pub fn set_management(&self, id: &AccountId) {
        self.lock().management = Some(id.clone());
    }

    /// Removes the account from the organization.
    pub fn remove_account(&self, id: &AccountId) {
        self.lock().accounts.remove(id);
    }

    pub fn tags(&self, id: &AccountId) -> BTreeMap<String, String> {
        self.lock().tags.get(id).cloned().unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn member(&self, account: &AccountId) -> Result<(AccountInfo, Vec<ParentId>)> {
        self.lock().accounts.get(account).cloned().ok_or_else(|| {
            Error::bad_input(format!(
                "account {account} is not a member of this organization"
            ))
            .for_account(account)
        })
    }
}

#[async_trait]
impl OrgDirectory for MemoryOrg {
    async fn describe_account(&self, account: &AccountId) -> Result<AccountInfo> {
        self.faults
            .run("org.describe_account", || Ok(self.member(account)?.0))
    }

    async fn ancestors(&self, account: &AccountId) -> Result<Vec<ParentId>> {
        self.faults
            .run("org.ancestors", || Ok(self.member(account)?.1))
    }

    async fn tag_account(
        &self,
        account: &AccountId,
        tags: &BTreeMap<String, String>,
    ) -> Result<()> {
        self.faults.run("org.tag_account", || {
            self.member(account)?;
            self.lock()
                .tags
                .entry(account.clone())
                .or_default()
                .extend(tags.clone());
            Ok(())
        })
    }

    async fn members(&self, include: &[ParentId]) -> Result<Vec<AccountInfo>> {
        self.faults.run("org.members", || {
            let state = self.lock();
            let mut members: Vec<AccountInfo> = state
                .accounts
                .values()
                .filter(|(info, parents)| {
                    info.status == "ACTIVE"
                        && state.management.as_ref() != Some(&info.id)
                        && (include.is_empty() || parents.iter().any(|p| include.contains(p)))
                })
                .map(|(info, _)| info.clone())
                .collect();
            members.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(members)
        })
    }

    async fn management_account(&self) -> Result<Option<AccountId>> {
        self.faults.run("org.management_account", || {
            Ok(self.lock().management.clone())
        })
    }
}
