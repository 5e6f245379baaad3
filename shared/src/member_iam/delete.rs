//! Deleting a vendor role, only when vendorlink created it.

use crate::aws::{aws_error, error_code};
use crate::error::Result;
use crate::vendor_name::VendorName;

use super::{MemberIam, RoleDeletion, TAG_MANAGED_BY};

impl MemberIam {
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
    pub(super) async fn managed_by_vendorlink(&self, name: &str) -> Result<Option<bool>> {
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

    pub(super) async fn delete(&self, name: &str) -> Result<bool> {
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

    pub(super) async fn role_exists(&self, name: &str) -> Result<bool> {
        match self.iam.get_role().role_name(name).send().await {
            Ok(_) => Ok(true),
            Err(e) if error_code(&e) == Some("NoSuchEntity") => Ok(false),
            Err(e) => Err(aws_error(&format!("reading role {name}"), e)),
        }
    }
}
