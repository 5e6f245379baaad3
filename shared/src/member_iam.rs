//! Vendor trust roles in member accounts: assume the member access role,
//! then create, inspect, repair or delete a vendor's role.

use aws_config::SdkConfig;
use aws_sdk_iam::config::Credentials;
use aws_sdk_iam::types::Tag;
use aws_sdk_iam::Client as IamClient;
use aws_sdk_sts::Client as StsClient;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::{aws_error, error_code};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::AccountId;
use crate::policy::{decode_policy, equivalent, trust_policy};
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

const TAG_MANAGED_BY: &str = "vendorlink:managed-by";
const TAG_VENDOR: &str = "vendorlink:vendor";

impl MemberIam {
    /// Assumes `arn:aws:iam::<account>:role/<member_role_name>`. Access denied
    /// is [`ErrorKind::RoleNotReady`]: right after account creation the role
    /// exists but IAM has not propagated it yet.
    pub async fn assume(
        sdk: &SdkConfig,
        sts: &StsClient,
        account: &AccountId,
        member_role_name: &str,
        session_name: &str,
    ) -> Result<MemberIam> {
        let role_arn = format!("arn:aws:iam::{account}:role/{member_role_name}");
        let output = sts
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name(session_name)
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

    fn scoped(&self, vendor: VendorName, err: Error) -> Error {
        err.for_account(&self.account).for_vendor(vendor)
    }

    /// Compares the role with its spec without changing anything.
    pub async fn inspect_role(&self, spec: &RoleSpec) -> Result<RoleState> {
        self.inspect(spec)
            .await
            .map_err(|e| self.scoped(spec.vendor, e))
    }

    async fn inspect(&self, spec: &RoleSpec) -> Result<RoleState> {
        let name = &spec.name;
        let role = match self.iam.get_role().role_name(name).send().await {
            Ok(out) => out.role,
            Err(e) if error_code(&e) == Some("NoSuchEntity") => {
                return Ok(RoleState {
                    arn: None,
                    drift: vec![Drift::RoleMissing],
                })
            }
            Err(e) => return Err(aws_error(&format!("reading role {name}"), e)),
        };
        let Some(role) = role else {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!("reading role {name} returned no role"),
            ));
        };
        let mut drift = Vec::new();
        let trust_ok = role
            .assume_role_policy_document
            .as_deref()
            .and_then(decode_policy)
            .is_some_and(|doc| equivalent(&doc, &spec.trust_policy()));
        if !trust_ok {
            drift.push(Drift::TrustPolicy);
        }

        let attached = self.attached_policies(name).await?;
        for arn in &spec.managed_policies {
            if !attached.contains(arn) {
                drift.push(Drift::ManagedPolicyMissing(arn.clone()));
            }
        }
        for arn in attached {
            if !spec.managed_policies.contains(&arn) {
                drift.push(Drift::ManagedPolicyExtra(arn));
            }
        }

        let inline_names = self.inline_policy_names(name).await?;
        if let Some(wanted) = &spec.inline_policy {
            if !inline_names.contains(&wanted.name) {
                drift.push(Drift::InlinePolicyMissing(wanted.name.clone()));
            } else if !self.inline_policy_matches(name, wanted).await? {
                drift.push(Drift::InlinePolicyDiffers(wanted.name.clone()));
            }
        }
        for policy in inline_names {
            if spec.inline_policy.as_ref().map(|p| &p.name) != Some(&policy) {
                drift.push(Drift::InlinePolicyExtra(policy));
            }
        }
        Ok(RoleState {
            arn: Some(role.arn),
            drift,
        })
    }

    async fn attached_policies(&self, role: &str) -> Result<Vec<String>> {
        let mut arns = Vec::new();
        let mut pages = self
            .iam
            .list_attached_role_policies()
            .role_name(role)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| aws_error(&format!("listing policies of role {role}"), e))?;
            arns.extend(
                page.attached_policies
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| p.policy_arn),
            );
        }
        Ok(arns)
    }

    async fn inline_policy_names(&self, role: &str) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut pages = self
            .iam
            .list_role_policies()
            .role_name(role)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| aws_error(&format!("listing inline policies of role {role}"), e))?;
            names.extend(page.policy_names);
        }
        Ok(names)
    }

    async fn inline_policy_matches(&self, role: &str, wanted: &InlinePolicy) -> Result<bool> {
        let out = self
            .iam
            .get_role_policy()
            .role_name(role)
            .policy_name(&wanted.name)
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    &format!("reading inline policy {} of role {role}", wanted.name),
                    e,
                )
            })?;
        Ok(decode_policy(&out.policy_document)
            .is_some_and(|doc| equivalent(&doc, &wanted.document)))
    }

    /// Makes the role exactly match its spec: creates it when absent, repairs
    /// what drifted, and makes no write call when it is already right. If a
    /// role created by this call cannot be completed (a policy that does not
    /// exist, say), it is deleted again so nothing half-made is left behind.
    pub async fn ensure_role(&self, spec: &RoleSpec) -> Result<EnsuredRole> {
        let state = self.inspect_role(spec).await?;
        let result = self.apply(spec, state).await;
        result.map_err(|e| self.scoped(spec.vendor, e))
    }

    async fn apply(&self, spec: &RoleSpec, state: RoleState) -> Result<EnsuredRole> {
        let name = &spec.name;
        let trust = spec.trust_policy().to_string();
        let arn = match state.arn {
            Some(arn) => arn,
            None => match self.create(spec, &trust).await? {
                Some(arn) => {
                    if let Err(err) = self.complete_new_role(spec).await {
                        if !err.kind().is_retryable() {
                            // Leave nothing half-created behind a fatal error.
                            if let Err(cleanup) = self.delete(name).await {
                                tracing::warn!(
                                    account = %self.account, vendor = %spec.vendor, role = %name,
                                    error = %cleanup, "could not remove half-created role"
                                );
                            }
                        }
                        return Err(err);
                    }
                    return Ok(EnsuredRole {
                        arn,
                        repaired: state.drift,
                    });
                }
                // Created concurrently by another execution: repair it instead.
                None => {
                    let state = self.inspect(spec).await?;
                    let Some(arn) = state.arn.clone() else {
                        return Err(Error::new(
                            ErrorKind::Unavailable,
                            format!("role {name} exists but cannot be read yet"),
                        ));
                    };
                    self.repair(spec, &state.drift, &trust).await?;
                    return Ok(EnsuredRole {
                        arn,
                        repaired: state.drift,
                    });
                }
            },
        };
        self.repair(spec, &state.drift, &trust).await?;
        Ok(EnsuredRole {
            arn,
            repaired: state.drift,
        })
    }

    /// Creates the role; `None` when it already exists.
    async fn create(&self, spec: &RoleSpec, trust: &str) -> Result<Option<String>> {
        let name = &spec.name;
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
        let tags = [
            tag(TAG_MANAGED_BY, "vendorlink"),
            tag(TAG_VENDOR, spec.vendor.as_str()),
        ]
        .into_iter()
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::config(format!("building role tags: {e}")))?;
        match self
            .iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust)
            .description(format!(
                "Lets {} read this account (managed by vendorlink)",
                spec.vendor
            ))
            .set_tags(Some(tags))
            .send()
            .await
        {
            Ok(out) => match out.role {
                Some(role) => {
                    tracing::info!(account = %self.account, vendor = %spec.vendor, role = %name, "role created");
                    Ok(Some(role.arn))
                }
                None => Err(Error::new(
                    ErrorKind::Unavailable,
                    format!("creating role {name} returned no role"),
                )),
            },
            Err(e) if error_code(&e) == Some("EntityAlreadyExists") => Ok(None),
            Err(e) => Err(aws_error(&format!("creating role {name}"), e)),
        }
    }

    async fn complete_new_role(&self, spec: &RoleSpec) -> Result<()> {
        for arn in &spec.managed_policies {
            self.attach(&spec.name, arn).await?;
        }
        if let Some(policy) = &spec.inline_policy {
            self.put_inline(&spec.name, policy).await?;
        }
        Ok(())
    }

    async fn repair(&self, spec: &RoleSpec, drift: &[Drift], trust: &str) -> Result<()> {
        let name = &spec.name;
        for item in drift {
            match item {
                Drift::RoleMissing => {}
                Drift::TrustPolicy => {
                    self.iam
                        .update_assume_role_policy()
                        .role_name(name)
                        .policy_document(trust)
                        .send()
                        .await
                        .map_err(|e| {
                            aws_error(&format!("updating trust policy of role {name}"), e)
                        })?;
                }
                Drift::ManagedPolicyMissing(arn) => self.attach(name, arn).await?,
                Drift::ManagedPolicyExtra(arn) => self.detach(name, arn).await?,
                Drift::InlinePolicyMissing(_) | Drift::InlinePolicyDiffers(_) => {
                    if let Some(policy) = &spec.inline_policy {
                        self.put_inline(name, policy).await?;
                    }
                }
                Drift::InlinePolicyExtra(policy) => self.delete_inline(name, policy).await?,
            }
            tracing::info!(account = %self.account, vendor = %spec.vendor, role = %name, drift = ?item, "role repaired");
        }
        Ok(())
    }

    async fn attach(&self, role: &str, arn: &str) -> Result<()> {
        self.iam
            .attach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error(&format!("attaching {arn} to role {role}"), e))
    }

    async fn detach(&self, role: &str, arn: &str) -> Result<()> {
        match self
            .iam
            .detach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("NoSuchEntity") => Ok(()),
            Err(e) => Err(aws_error(&format!("detaching {arn} from role {role}"), e)),
        }
    }

    async fn put_inline(&self, role: &str, policy: &InlinePolicy) -> Result<()> {
        self.iam
            .put_role_policy()
            .role_name(role)
            .policy_name(&policy.name)
            .policy_document(policy.document.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                aws_error(
                    &format!("putting inline policy {} on role {role}", policy.name),
                    e,
                )
            })
    }

    async fn delete_inline(&self, role: &str, policy: &str) -> Result<()> {
        match self
            .iam
            .delete_role_policy()
            .role_name(role)
            .policy_name(policy)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("NoSuchEntity") => Ok(()),
            Err(e) => Err(aws_error(
                &format!("deleting inline policy {policy} of role {role}"),
                e,
            )),
        }
    }

    /// Deletes a role vendorlink created (tagged `vendorlink:managed-by`):
    /// detaches its managed policies, deletes its inline policies, then the
    /// role. A role of the same name that someone else made is left alone.
    pub async fn delete_role(&self, vendor: VendorName, name: &str) -> Result<RoleDeletion> {
        let result = async {
            match self.managed_by_vendorlink(name).await? {
                None => Ok(RoleDeletion::Absent),
                Some(false) => Ok(RoleDeletion::NotManaged),
                Some(true) => Ok(match self.delete(name).await? {
                    true => RoleDeletion::Deleted,
                    false => RoleDeletion::Absent,
                }),
            }
        };
        result.await.map_err(|e| self.scoped(vendor, e))
    }

    /// Whether the role carries vendorlink's tag; `None` when there is no role.
    async fn managed_by_vendorlink(&self, name: &str) -> Result<Option<bool>> {
        match self.iam.list_role_tags().role_name(name).send().await {
            Ok(out) => {
                Ok(Some(out.tags.iter().any(|t| {
                    t.key == TAG_MANAGED_BY && t.value == "vendorlink"
                })))
            }
            Err(e) if error_code(&e) == Some("NoSuchEntity") => Ok(None),
            Err(e) => Err(aws_error(&format!("reading the tags of role {name}"), e)),
        }
    }

    async fn delete(&self, name: &str) -> Result<bool> {
        let attached = match self.attached_policies(name).await {
            Ok(list) => list,
            Err(_) if !self.role_exists(name).await? => return Ok(false),
            Err(e) => return Err(e),
        };
        for arn in attached {
            self.detach(name, &arn).await?;
        }
        for policy in self.inline_policy_names(name).await? {
            self.delete_inline(name, &policy).await?;
        }
        match self.iam.delete_role().role_name(name).send().await {
            Ok(_) => {
                tracing::info!(account = %self.account, role = %name, "role deleted");
                Ok(true)
            }
            Err(e) if error_code(&e) == Some("NoSuchEntity") => Ok(false),
            Err(e) => Err(aws_error(&format!("deleting role {name}"), e)),
        }
    }

    async fn role_exists(&self, name: &str) -> Result<bool> {
        match self.iam.get_role().role_name(name).send().await {
            Ok(_) => Ok(true),
            Err(e) if error_code(&e) == Some("NoSuchEntity") => Ok(false),
            Err(e) => Err(aws_error(&format!("reading role {name}"), e)),
        }
    }
}
