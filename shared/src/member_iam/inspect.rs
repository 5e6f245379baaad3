//! Comparing a vendor role with its spec, without changing anything.

use crate::aws::{aws_error, error_code};
use crate::error::{Error, ErrorKind, Result};
use crate::policy::{decode_policy, equivalent, InlinePolicy};

use super::{Drift, MemberIam, RoleSpec, RoleState, TAG_MANAGED_BY};

impl MemberIam {
    /// Compares the role with its spec without changing anything.
    pub async fn inspect_role(&self, spec: &RoleSpec) -> Result<RoleState> {
        self.inspect(spec)
            .await
            .map_err(|e| self.scoped(spec.vendor, e))
    }

    pub(super) async fn inspect(&self, spec: &RoleSpec) -> Result<RoleState> {
        let name = &spec.name;
        let role = match self.iam.get_role().role_name(name).send().await {
            Ok(out) => out.role,
            Err(e) if error_code(&e) == Some("NoSuchEntity") => return Ok(RoleState::absent()),
            Err(e) => return Err(aws_error(&format!("reading role {name}"), e)),
        };
        let Some(role) = role else {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!("reading role {name} returned no role"),
            ));
        };
        let managed = role
            .tags()
            .iter()
            .any(|t| t.key == TAG_MANAGED_BY && t.value == "vendorlink");
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
            managed,
        })
    }

    pub(super) async fn attached_policies(&self, role: &str) -> Result<Vec<String>> {
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

    pub(super) async fn inline_policy_names(&self, role: &str) -> Result<Vec<String>> {
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

    pub(super) async fn inline_policy_matches(
        &self,
        role: &str,
        wanted: &InlinePolicy,
    ) -> Result<bool> {
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
}
