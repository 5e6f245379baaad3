//! Skyhigh Security: accounts are provisioned on a CASB instance and polled with
//! `provisionStatus/{id}`; the trust comes from `trustDetails`.
//!
//! The facts this client relies on, with their sources, and how the local
//! sandbox models the vendor: `docs/vendors/skyhigh.md`.

mod answer;
mod client;
mod secret;

pub use client::Skyhigh as Client;
pub use secret::SkyhighSecret as TypedSecret;
pub use secret::ProvisionOptions;

use crate::policy::{allow_all_resources, InlinePolicy, RoleTemplate, SECURITY_AUDIT};
use crate::vendor_name::VendorName;
use crate::vendors::profile::{DEFAULT_RETRY, ExternalIdSource, VendorProfile};

pub const PROFILE: VendorProfile = VendorProfile {
    name: VendorName::Skyhigh,
    title: "Skyhigh Security",
    default_base_url: Some("https://www.myshn.net"),
    external_id: ExternalIdSource::IssuedByVendor,
    rate_limit: None,
    retry: DEFAULT_RETRY,
    default_role,
    docs: "docs/vendors/skyhigh.md",
};

fn default_role() -> RoleTemplate {
    RoleTemplate {
        name: "SkyhighSecurityAudit".into(),
        managed_policies: vec![SECURITY_AUDIT.into()],
        // The permissions Skyhigh's FAILURE response lists as required
        // (docs/vendors/skyhigh.md).
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
    }
}
