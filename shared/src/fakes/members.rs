//! Member accounts' IAM in memory: vendor roles by account and name.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::ids::AccountId;
use crate::member_iam::{Drift, EnsuredRole, RoleDeletion, RoleSpec, RoleState};
use crate::policy::{equivalent, InlinePolicy};
use crate::ports::MemberAccounts;
use crate::vendor_name::VendorName;

use super::Faults;

/// A role in a member account, as the fake holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeRole {
    pub trust_policy: Value,
    pub managed_policies: Vec<String>,
    pub inline_policy: Option<InlinePolicy>,
    /// The vendor of the `vendorlink:vendor` tag, when vendorlink made it.
    pub managed_for: Option<VendorName>,
}

impl FakeRole {
    fn from_spec(spec: &RoleSpec) -> FakeRole {
        FakeRole {
            trust_policy: spec.trust_policy(),
            managed_policies: spec.managed_policies.clone(),
            inline_policy: spec.inline_policy.clone(),
            managed_for: Some(spec.vendor),
        }
    }

    /// Whether the role is exactly what the spec asks.
    pub fn drift_free(&self, spec: &RoleSpec) -> bool {
        self.drift(spec).is_empty()
    }

    fn drift(&self, spec: &RoleSpec) -> Vec<Drift> {
        let mut drift = Vec::new();
        if !equivalent(&self.trust_policy, &spec.trust_policy()) {
            drift.push(Drift::TrustPolicy);
        }
        for arn in &spec.managed_policies {
            if !self.managed_policies.contains(arn) {
                drift.push(Drift::ManagedPolicyMissing(arn.clone()));
            }
        }
        for arn in &self.managed_policies {
            if !spec.managed_policies.contains(arn) {
                drift.push(Drift::ManagedPolicyExtra(arn.clone()));
            }
        }
        match (&spec.inline_policy, &self.inline_policy) {
            (Some(want), None) => drift.push(Drift::InlinePolicyMissing(want.name.clone())),
            (Some(want), Some(have)) if want.name != have.name => {
                drift.push(Drift::InlinePolicyMissing(want.name.clone()));
                drift.push(Drift::InlinePolicyExtra(have.name.clone()));
            }
            (Some(want), Some(have)) if !equivalent(&want.document, &have.document) => {
                drift.push(Drift::InlinePolicyDiffers(want.name.clone()))
            }
            (None, Some(have)) => drift.push(Drift::InlinePolicyExtra(have.name.clone())),
            _ => {}
        }
        drift
    }
}

#[derive(Default)]
struct State {
    roles: HashMap<(AccountId, String), FakeRole>,
    unreachable: HashSet<AccountId>,
}

pub struct MemoryMembers {
    state: Mutex<State>,
    faults: Arc<Faults>,
}

fn arn(account: &AccountId, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

impl MemoryMembers {
    pub fn new(faults: Arc<Faults>) -> Self {
        MemoryMembers {
            state: Mutex::new(State::default()),
            faults,
        }
    }

    pub fn role(&self, account: &AccountId, name: &str) -> Option<FakeRole> {
        self.lock()
            .roles
            .get(&(account.clone(), name.to_owned()))
            .cloned()
    }

    pub fn put_role(&self, account: &AccountId, name: &str, role: FakeRole) {
        self.lock()
            .roles
            .insert((account.clone(), name.to_owned()), role);
    }

    pub fn remove_role(&self, account: &AccountId, name: &str) {
        self.lock()
            .roles
            .remove(&(account.clone(), name.to_owned()));
    }

    /// The account can no longer be entered (closed, or the member role gone).
    pub fn make_unreachable(&self, account: &AccountId) {
        self.lock().unreachable.insert(account.clone());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn enter(&self, account: &AccountId) -> Result<()> {
        if self.lock().unreachable.contains(account) {
            return Err(Error::new(
                ErrorKind::RoleNotReady,
                format!("cannot assume the member role in {account} yet"),
            )
            .for_account(account));
        }
        Ok(())
    }
}

#[async_trait]
impl MemberAccounts for MemoryMembers {
    async fn ensure_role(&self, account: &AccountId, spec: &RoleSpec) -> Result<EnsuredRole> {
        self.faults.run("members.ensure_role", || {
            self.enter(account)?;
            let key = (account.clone(), spec.name.clone());
            let mut state = self.lock();
            let repaired = match state.roles.get(&key) {
                None => vec![Drift::RoleMissing],
                Some(role) => {
                    RoleState {
                        arn: Some(arn(account, &spec.name)),
                        drift: Vec::new(),
                        managed: role.managed_for.is_some(),
                    }
                    .owned(account, spec)?;
                    role.drift(spec)
                }
            };
            if !repaired.is_empty() {
                let managed_for = state.roles.get(&key).and_then(|r| r.managed_for);
                let mut role = FakeRole::from_spec(spec);
                if repaired != [Drift::RoleMissing] {
                    // A repair keeps the role's tags as they were.
                    role.managed_for = managed_for;
                }
                state.roles.insert(key, role);
            }
            Ok(EnsuredRole {
                arn: arn(account, &spec.name),
                repaired,
            })
        })
    }

    async fn inspect_role(&self, account: &AccountId, spec: &RoleSpec) -> Result<RoleState> {
        self.faults.run("members.inspect_role", || {
            self.enter(account)?;
            Ok(match self.role(account, &spec.name) {
                None => RoleState::absent(),
                Some(role) => RoleState {
                    arn: Some(arn(account, &spec.name)),
                    drift: role.drift(spec),
                    managed: role.managed_for.is_some(),
                },
            })
        })
    }

    async fn delete_role(
        &self,
        account: &AccountId,
        _vendor: VendorName,
        role_name: &str,
    ) -> Result<RoleDeletion> {
        self.faults.run("members.delete_role", || {
            self.enter(account)?;
            let key = (account.clone(), role_name.to_owned());
            let mut state = self.lock();
            Ok(match state.roles.get(&key) {
                None => RoleDeletion::Absent,
                Some(role) if role.managed_for.is_none() => RoleDeletion::NotManaged,
                Some(_) => {
                    state.roles.remove(&key);
                    RoleDeletion::Deleted
                }
            })
        })
    }
}
