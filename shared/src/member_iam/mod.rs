//! Vendor trust roles in member accounts: assume the member access role,
//! then create, inspect, repair or delete a vendor's role.
//!
//! `inspect.rs` compares a role with its spec, `ensure.rs` creates or
//! repairs it, `delete.rs` removes a role vendorlink created.

use aws_config::SdkConfig;
use aws_sdk_iam::config::Credentials;
use aws_sdk_iam::Client as IamClient;
use aws_sdk_sts::Client as StsClient;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::{aws_error, error_code};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::AccountId;
use crate::policy::trust_policy;
use crate::policy::{InlinePolicy, RoleTemplate, TrustParameters};
use crate::vendor_name::VendorName;

/// Everything a vendor role must be.
#[derive(Debug, Clone)]
pub struct RoleSpec {
    pub vendor: VendorName,
    pub name: String,
    pub trust: TrustParameters,
    pub managed_policies: Vec<String>,
    pub inline_policy: Option<InlinePolicy>,
}

impl RoleSpec {
    pub fn new(vendor: VendorName, template: RoleTemplate, trust: TrustParameters) -> Self {
        RoleSpec {
            vendor,
            name: template.name,
            trust,
            managed_policies: template.managed_policies,
            inline_policy: template.inline_policy,
        }
    }

    pub fn trust_policy(&self) -> Value {
        trust_policy(&self.trust.principal, self.trust.external_id.as_ref())
    }
}

/// One way a role differs from its spec. Never carries policy contents
/// (the trust policy holds the external ID).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "drift", content = "policy")]
pub enum Drift {
    RoleMissing,
    TrustPolicy,
    ManagedPolicyMissing(String),
    ManagedPolicyExtra(String),
    InlinePolicyMissing(String),
    InlinePolicyDiffers(String),
    InlinePolicyExtra(String),
}

/// What [`MemberIam::inspect_role`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleState {
    /// The role's ARN when it exists.
    pub arn: Option<String>,
    pub drift: Vec<Drift>,
    /// The role carries vendorlink's `vendorlink:managed-by` tag: vendorlink
    /// created it, or someone handed it over. Only such a role is changed.
    pub managed: bool,
}

impl RoleState {
    /// No role of the name.
    pub fn absent() -> Self {
        RoleState {
            arn: None,
            drift: vec![Drift::RoleMissing],
            managed: false,
        }
    }

    /// Refuses a role of the vendor role's name that vendorlink does not own.
    pub fn owned(&self, account: &AccountId, spec: &RoleSpec) -> Result<()> {
        if self.arn.is_none() || self.managed {
            return Ok(());
        }
        Err(Error::config(format!(
            "role {name} in account {account} was not created by vendorlink (it has no \
             {TAG_MANAGED_BY}=vendorlink tag) and is left untouched: set another role_name in \
             the {vendor} secret, or tag the role {TAG_MANAGED_BY}=vendorlink to hand it over",
            name = spec.name,
            vendor = spec.vendor,
        ))
        .for_account(account)
        .for_vendor(spec.vendor))
    }
}

/// The outcome of [`MemberIam::ensure_role`]: the role's ARN and the drift
/// that was repaired (empty when the role was already right).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsuredRole {
    pub arn: String,
    pub repaired: Vec<Drift>,
}

impl EnsuredRole {
    pub fn created(&self) -> bool {
        self.repaired.contains(&Drift::RoleMissing)
    }
}

/// What [`MemberIam::delete_role`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleDeletion {
    Deleted,
    /// There was no such role.
    Absent,
    /// The role exists but vendorlink did not create it: left in place.
    NotManaged,
}

/// IAM in a member account, through its access role.
#[derive(Clone)]
pub struct MemberIam {
    iam: IamClient,
    account: AccountId,
}

mod delete;
mod ensure;
mod inspect;
pub mod session;

pub use session::{session_policy, SessionPurpose};

const TAG_MANAGED_BY: &str = "vendorlink:managed-by";
const TAG_VENDOR: &str = "vendorlink:vendor";

impl MemberIam {
    /// Assumes `arn:aws:iam::<account>:role/<member_role_name>`, narrowed by
    /// `session_policy` (see [`session_policy`]). Access denied is
    /// [`ErrorKind::RoleNotReady`]: right after account creation the role
    /// exists but IAM has not propagated it yet.
    pub async fn assume(
        sdk: &SdkConfig,
        sts: &StsClient,
        account: &AccountId,
        member_role_name: &str,
        session_name: &str,
        session_policy: &Value,
    ) -> Result<MemberIam> {
        let role_arn = format!("arn:aws:iam::{account}:role/{member_role_name}");
        let output = sts
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name(session_name)
            .policy(session_policy.to_string())
            .send()
            .await
            .map_err(|e| match error_code(&e) {
                Some("AccessDenied") | Some("AccessDeniedException") => Error::new(
                    ErrorKind::RoleNotReady,
                    format!(
                        "cannot assume {role_arn} yet (new accounts take minutes to become assumable; \
                         if this persists, check MEMBER_ROLE_NAME)"
                    ),
                ),
                _ => aws_error(&format!("assuming {role_arn}"), e),
            })
            .map_err(|e| e.for_account(account))?;
        let creds = output.credentials.ok_or_else(|| {
            Error::new(
                ErrorKind::Unavailable,
                format!("assuming {role_arn} returned no credentials"),
            )
            .for_account(account)
        })?;
        let expiry = std::time::SystemTime::try_from(creds.expiration).ok();
        let credentials = Credentials::new(
            creds.access_key_id,
            creds.secret_access_key,
            Some(creds.session_token),
            expiry,
            "vendorlink-member-role",
        );
        let config = aws_sdk_iam::config::Builder::from(sdk)
            .credentials_provider(credentials)
            .build();
        Ok(MemberIam {
            iam: IamClient::from_conf(config),
            account: account.clone(),
        })
    }

    /// Wraps an IAM client that already acts in the member account.
    pub fn from_client(iam: IamClient, account: AccountId) -> Self {
        MemberIam { iam, account }
    }

    pub fn account(&self) -> &AccountId {
        &self.account
    }

    pub(super) fn scoped(&self, vendor: VendorName, err: Error) -> Error {
        err.for_account(&self.account).for_vendor(vendor)
    }
}
