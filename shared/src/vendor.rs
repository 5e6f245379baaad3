//! The vendors vendorlink knows, their default trust-role shapes, and the
//! [`Vendor`] trait each vendor client implements.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::Result;
use crate::ids::AccountId;
use crate::secret::Secret;

/// One of the five supported vendors. The string form is the name used in
/// `VENDORS`, secret names and the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VendorName {
    Datatheorem,
    Skyhigh,
    Cloudcraft,
    Risken,
    Stellarcyber,
}

impl VendorName {
    pub const ALL: [VendorName; 5] = [
        VendorName::Datatheorem,
        VendorName::Skyhigh,
        VendorName::Cloudcraft,
        VendorName::Risken,
        VendorName::Stellarcyber,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VendorName::Datatheorem => "datatheorem",
            VendorName::Skyhigh => "skyhigh",
            VendorName::Cloudcraft => "cloudcraft",
            VendorName::Risken => "risken",
            VendorName::Stellarcyber => "stellarcyber",
        }
    }

    /// Whether the customer (not the vendor) chooses the external ID, so
    /// vendorlink generates one when the secret has none.
    pub fn customer_generates_external_id(self) -> bool {
        matches!(self, VendorName::Datatheorem | VendorName::Risken)
    }

    /// The role vendorlink creates when the secret does not override it.
    pub fn default_role(self) -> RoleTemplate {
        const SECURITY_AUDIT: &str = "arn:aws:iam::aws:policy/SecurityAudit";
        match self {
            VendorName::Datatheorem => RoleTemplate {
                name: "DataTheorem-Service".into(),
                managed_policies: vec![SECURITY_AUDIT.into()],
                inline_policy: Some(InlinePolicy {
                    name: "DataTheorem-APIGateway-SecurityAudit".into(),
                    document: allow_all_resources(&["apigateway:GET"]),
                }),
            },
            VendorName::Skyhigh => RoleTemplate {
                name: "SkyhighSecurityAudit".into(),
                managed_policies: vec![SECURITY_AUDIT.into()],
                // The permissions Skyhigh's FAILURE response lists as required
                // (seed: skyhigh-aws-account-api.txt).
                inline_policy: Some(InlinePolicy {
                    name: "SkyhighSecurityAudit-Required".into(),
                    document: allow_all_resources(&[
                        "autoscaling:DescribeAutoScalingGroups",
                        "cloudfront:ListDistributions",
                        "cloudfront:ListStreamingDistributions",
                        "cloudfront:ListTagsForResource",
                        "cloudtrail:DescribeTrails",
                        "cloudtrail:GetEventSelectors",
                        "cloudtrail:GetTrailStatus",
                        "cloudtrail:ListTags",
                        "config:DescribeConfigurationRecorderStatus",
                        "config:DescribeConfigurationRecorders",
                        "ec2:DescribeAccountAttributes",
                        "ec2:DescribeAddresses",
                        "ec2:DescribeCustomerGateways",
                        "ec2:DescribeFlowLogs",
                        "ec2:DescribeImages",
                        "ecs:ListTasks",
                        "eks:DescribeCluster",
                        "elasticache:ListTagsForResource",
                        "elasticloadbalancing:DescribeListenerCertificates",
                    ]),
                }),
            },
            VendorName::Cloudcraft => RoleTemplate {
                name: "cloudcraft".into(),
                managed_policies: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
                inline_policy: None,
            },
            VendorName::Risken => RoleTemplate {
                name: "RISKEN".into(),
                managed_policies: vec![SECURITY_AUDIT.into()],
                inline_policy: Some(InlinePolicy {
                    name: "RISKEN-Additional".into(),
                    document: allow_all_resources(&[
                        "ses:DescribeActiveReceiptRuleSet",
                        "athena:GetWorkGroup",
                        "logs:DescribeLogGroups",
                        "logs:DescribeMetricFilters",
                        "elastictranscoder:ListPipelines",
                        "elasticfilesystem:DescribeFileSystems",
                        "servicequotas:ListServiceQuotas",
                    ]),
                }),
            },
            VendorName::Stellarcyber => RoleTemplate {
                name: "StellarCyberConnector".into(),
                managed_policies: vec![SECURITY_AUDIT.into()],
                inline_policy: None,
            },
        }
    }
}

fn allow_all_resources(actions: &[&str]) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]
    })
}

impl fmt::Display for VendorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for VendorName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VendorName::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown vendor `{s}` (allowed: {})",
                    VendorName::ALL.map(VendorName::as_str).join(", ")
                )
            })
    }
}

/// An inline policy: its name in IAM and its document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InlinePolicy {
    pub name: String,
    pub document: Value,
}

/// The shape of a vendor's role, before the trust (principal, external ID)
/// is known.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleTemplate {
    pub name: String,
    pub managed_policies: Vec<String>,
    pub inline_policy: Option<InlinePolicy>,
}

/// Who may assume a vendor role: the vendor's AWS account, with an external
/// ID condition when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustParameters {
    pub principal: AccountId,
    pub external_id: Option<Secret>,
}

/// An account as a vendor sees it at registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountToRegister {
    pub account_id: AccountId,
    pub account_name: String,
    pub role_arn: String,
}

/// The state of a registration at a vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum RegistrationStatus {
    Pending,
    Active,
    /// Registered, but the vendor reported problems (e.g. missing permissions).
    ActiveWithWarnings {
        warnings: Vec<String>,
    },
    Failed {
        reason: String,
    },
}

/// A registration at a vendor: the vendor's own reference for it (an id, a
/// status id to poll) and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub reference: String,
    #[serde(flatten)]
    pub status: RegistrationStatus,
}

/// What deregistering did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Deregistration {
    Removed,
    /// The vendor accepted the removal and processes it; poll
    /// [`Vendor::status`] with this reference until it is active (done).
    Pending {
        reference: String,
    },
    /// The vendor no longer knew the account: nothing to do.
    NotFound,
    /// The vendor has no API for it: a person must do it, as instructed.
    ManualStepRequired {
        instruction: String,
    },
}

/// A vendor client. One module per vendor implements it; each method is one
/// bounded call sequence (long waits belong to the state machine).
#[allow(async_fn_in_trait)]
pub trait Vendor {
    fn name(&self) -> VendorName;

    /// The principal and external ID the vendor role must trust, from the
    /// vendor's configuration or its API.
    async fn trust_parameters(&self) -> Result<TrustParameters>;

    /// Registers the account, or finds its existing registration.
    async fn register(&self, account: &AccountToRegister) -> Result<Registration>;

    /// One status check of a registration.
    async fn status(
        &self,
        account: &AccountToRegister,
        reference: &str,
    ) -> Result<RegistrationStatus>;

    /// Removes the account from the vendor.
    async fn deregister(&self, account: &AccountToRegister) -> Result<Deregistration>;

    /// Whether the vendor still lists the account; `None` when the vendor
    /// has no API to look it up (the reconcile cannot tell).
    async fn is_registered(&self, account: &AccountToRegister) -> Result<Option<bool>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_names_round_trip() {
        for v in VendorName::ALL {
            assert_eq!(v.as_str().parse::<VendorName>(), Ok(v));
            assert_eq!(serde_json::to_value(v).unwrap(), json!(v.as_str()));
        }
    }

    #[test]
    fn unknown_vendor_lists_the_allowed_names() {
        let err = "wiz".parse::<VendorName>().unwrap_err();
        assert_eq!(
            err,
            "unknown vendor `wiz` (allowed: datatheorem, skyhigh, cloudcraft, risken, stellarcyber)"
        );
    }

    #[test]
    fn only_datatheorem_and_risken_get_generated_external_ids() {
        let generated: Vec<_> = VendorName::ALL
            .into_iter()
            .filter(|v| v.customer_generates_external_id())
            .collect();
        assert_eq!(generated, [VendorName::Datatheorem, VendorName::Risken]);
    }
}
