//! Creating a vendor role, or repairing it to match its spec.

use aws_sdk_iam::types::Tag;

use crate::aws::{aws_error, error_code};
use crate::error::{Error, ErrorKind, Result};
use crate::policy::InlinePolicy;

use super::{Drift, EnsuredRole, MemberIam, RoleSpec, RoleState, TAG_MANAGED_BY, TAG_VENDOR};

impl MemberIam {
    /// Makes the role exactly match its spec: creates it when absent, repairs
    /// what drifted, and makes no write call when it is already right. If a
    /// role created by this call cannot be completed (a policy that does not
    /// exist, say), it is deleted again so nothing half-made is left behind.
    pub async fn ensure_role(&self, spec: &RoleSpec) -> Result<EnsuredRole> {
        let state = self.inspect_role(spec).await?;
        let result = self.apply(spec, state).await;
        result.map_err(|e| self.scoped(spec.vendor, e))
    }

    pub(super) async fn apply(&self, spec: &RoleSpec, state: RoleState) -> Result<EnsuredRole> {
        state.owned(&self.account, spec)?;
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
                    state.owned(&self.account, spec)?;
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
    pub(super) async fn create(&self, spec: &RoleSpec, trust: &str) -> Result<Option<String>> {
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

    pub(super) async fn complete_new_role(&self, spec: &RoleSpec) -> Result<()> {
        for arn in &spec.managed_policies {
            self.attach(&spec.name, arn).await?;
        }
        if let Some(policy) = &spec.inline_policy {
            self.put_inline(&spec.name, policy).await?;
        }
        Ok(())
    }

    pub(super) async fn repair(&self, spec: &RoleSpec, drift: &[Drift], trust: &str) -> Result<()> {
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

    pub(super) async fn attach(&self, role: &str, arn: &str) -> Result<()> {
        self.iam
            .attach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error(&format!("attaching {arn} to role {role}"), e))
    }

    pub(super) async fn detach(&self, role: &str, arn: &str) -> Result<()> {
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

    pub(super) async fn put_inline(&self, role: &str, policy: &InlinePolicy) -> Result<()> {
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

    pub(super) async fn delete_inline(&self, role: &str, policy: &str) -> Result<()> {
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
}
