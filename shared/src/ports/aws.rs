//! The ports' implementations on AWS (and, for vendors, over HTTP).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_config::SdkConfig;

use crate::error::Result;
use crate::ids::{AccountId, ParentId};
use crate::ledger::{Ledger, LedgerEntry, Transition, TransitionOutcome};
use crate::member_iam::{
    session_policy, EnsuredRole, MemberIam, RoleDeletion, RoleSpec, RoleState, SessionPurpose,
};
use crate::org::{AccountInfo, Organization};
use crate::secret_store::SecretStore;
use crate::vendor_name::VendorName;
use crate::vendors::{self, Vendor, VendorHttp, VendorSecret};

use super::{
    Executions, LedgerStore, MemberAccounts, Notifier, OrgDirectory, SecretSource, StartOutcome,
    VendorConnector,
};

#[async_trait]
impl LedgerStore for Ledger {
    async fn transition(
        &self,
        account: &AccountId,
        vendor: VendorName,
        transition: Transition,
    ) -> Result<TransitionOutcome> {
        Ledger::transition(self, account, vendor, transition).await
    }

    async fn get(&self, account: &AccountId, vendor: VendorName) -> Result<Option<LedgerEntry>> {
        Ledger::get(self, account, vendor).await
    }

    async fn account_entries(&self, account: &AccountId) -> Result<Vec<LedgerEntry>> {
        Ledger::account_entries(self, account).await
    }

    async fn all_entries(&self) -> Result<Vec<LedgerEntry>> {
        Ledger::all_entries(self).await
    }
}

#[async_trait]
impl OrgDirectory for Organization {
    async fn describe_account(&self, account: &AccountId) -> Result<AccountInfo> {
        Organization::describe_account(self, account).await
    }

    async fn ancestors(&self, account: &AccountId) -> Result<Vec<ParentId>> {
        Organization::ancestors(self, account).await
    }

    async fn tag_account(
        &self,
        account: &AccountId,
        tags: &BTreeMap<String, String>,
    ) -> Result<()> {
        Organization::tag_account(self, account, tags).await
    }

    async fn members(&self, include: &[ParentId]) -> Result<Vec<AccountInfo>> {
        Organization::members(self, include).await
    }

    async fn management_account(&self) -> Result<Option<AccountId>> {
        Organization::management_account(self).await
    }
}

/// Executions of the deployed state machine.
pub struct StateMachine {
    client: aws_sdk_sfn::Client,
    arn: String,
}

impl StateMachine {
    pub fn new(client: aws_sdk_sfn::Client, arn: impl Into<String>) -> Self {
        StateMachine {
            client,
            arn: arn.into(),
        }
    }
}

#[async_trait]
impl Executions for StateMachine {
    async fn start(&self, name: &str, input: &str) -> Result<StartOutcome> {
        let result = self
            .client
            .start_execution()
            .state_machine_arn(&self.arn)
            .name(name)
            .input(input)
            .send()
            .await;
        match result {
            Ok(_) => Ok(StartOutcome::Started),
            Err(e) if crate::aws::error_code(&e) == Some("ExecutionAlreadyExists") => {
                Ok(StartOutcome::AlreadyStarted)
            }
            Err(e) => Err(crate::aws::aws_error(
                &format!("starting execution {name}"),
                e,
            )),
        }
    }
}

#[async_trait]
impl SecretSource for SecretStore {
    async fn load(&self, vendor: VendorName) -> Result<VendorSecret> {
        SecretStore::load(self, vendor).await
    }

    async fn load_with_external_id(&self, vendor: VendorName) -> Result<VendorSecret> {
        SecretStore::load_with_external_id(self, vendor).await
    }
}

/// Member accounts entered by assuming `MEMBER_ROLE_NAME` in each, with a
/// session named for the vendor the work is for.
pub struct AssumedMemberAccounts {
    sdk: SdkConfig,
    sts: aws_sdk_sts::Client,
    member_role_name: String,
}

impl AssumedMemberAccounts {
    pub fn new(sdk: &SdkConfig, member_role_name: impl Into<String>) -> Self {
        AssumedMemberAccounts {
            sdk: sdk.clone(),
            sts: aws_sdk_sts::Client::new(sdk),
            member_role_name: member_role_name.into(),
        }
    }

    /// A session in the account that can do only `purpose` to the one
    /// vendor role (see `member_iam::session`).
    async fn enter(
        &self,
        account: &AccountId,
        vendor: VendorName,
        purpose: SessionPurpose,
        role_name: &str,
        managed_policies: &[String],
    ) -> Result<MemberIam> {
        MemberIam::assume(
            &self.sdk,
            &self.sts,
            account,
            &self.member_role_name,
            &format!("vendorlink-{vendor}-{}", purpose.as_str()),
            &session_policy(purpose, account, role_name, managed_policies),
        )
        .await
        .map_err(|e| e.for_vendor(vendor))
    }
}

#[async_trait]
impl MemberAccounts for AssumedMemberAccounts {
    async fn ensure_role(&self, account: &AccountId, spec: &RoleSpec) -> Result<EnsuredRole> {
        let purpose = SessionPurpose::Ensure;
        self.enter(
            account,
            spec.vendor,
            purpose,
            &spec.name,
            &spec.managed_policies,
        )
        .await?
        .ensure_role(spec)
        .await
    }

    async fn inspect_role(&self, account: &AccountId, spec: &RoleSpec) -> Result<RoleState> {
        let purpose = SessionPurpose::Inspect;
        self.enter(account, spec.vendor, purpose, &spec.name, &[])
            .await?
            .inspect_role(spec)
            .await
    }

    async fn delete_role(
        &self,
        account: &AccountId,
        vendor: VendorName,
        role_name: &str,
    ) -> Result<RoleDeletion> {
        self.enter(account, vendor, SessionPurpose::Delete, role_name, &[])
            .await?
            .delete_role(vendor, role_name)
            .await
    }
}

/// Publishes on one SNS topic.
pub struct SnsTopic {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsTopic {
    pub fn new(sdk: &SdkConfig, topic_arn: impl Into<String>) -> Self {
        SnsTopic {
            client: aws_sdk_sns::Client::new(sdk),
            topic_arn: topic_arn.into(),
        }
    }
}

#[async_trait]
impl Notifier for SnsTopic {
    async fn publish(&self, subject: &str, message: &str) -> Result<()> {
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map_err(|e| crate::aws::aws_error(&format!("publishing `{subject}`"), e))?;
        Ok(())
    }
}

/// Vendor clients over the one shared HTTP client.
pub struct HttpVendors {
    http: std::sync::OnceLock<VendorHttp>,
    /// Builds the client the first time a vendor is connected: a function
    /// that never calls a vendor (resolve-account, record-outcome) never
    /// reads the TLS root store.
    make: fn() -> Result<VendorHttp>,
}

impl HttpVendors {
    pub fn new(http: VendorHttp) -> Self {
        HttpVendors {
            http: std::sync::OnceLock::from(http),
            make: VendorHttp::new,
        }
    }

    /// The client is built on first use (`allowing_loopback_http` as given).
    pub fn lazy(loopback_http: bool) -> Self {
        HttpVendors {
            http: std::sync::OnceLock::new(),
            make: if loopback_http {
                || VendorHttp::new().map(|h| h.allowing_loopback_http(true))
            } else {
                VendorHttp::new
            },
        }
    }

    fn http(&self) -> Result<&VendorHttp> {
        if let Some(http) = self.http.get() {
            return Ok(http);
        }
        let made = (self.make)()?;
        Ok(self.http.get_or_init(|| made))
    }
}

impl VendorConnector for HttpVendors {
    fn connect(&self, secret: VendorSecret) -> Result<Arc<dyn Vendor>> {
        vendors::connect(self.http()?, secret)
    }
}
