//! RISKEN: self-hosted; the account is upserted, each data source attached and
//! scanned, and status read back from the data sources.
//!
//! The facts this client relies on, with their sources, and how the local
//! sandbox models the vendor: `docs/vendors/risken.md`.

mod client;
mod secret;

pub use client::Risken as Client;
pub use secret::RiskenSecret as TypedSecret;
pub use secret::RISKEN_DATA_SOURCES;

use crate::policy::{allow_all_resources, InlinePolicy, RoleTemplate, SECURITY_AUDIT};
use crate::vendor_name::VendorName;
use crate::vendors::profile::{DEFAULT_RETRY, ExternalIdSource, VendorProfile};

pub const PROFILE: VendorProfile = VendorProfile {
    name: VendorName::Risken,
    title: "RISKEN",
    default_base_url: None,
    external_id: ExternalIdSource::CustomerGenerated,
    rate_limit: None,
    retry: DEFAULT_RETRY,
    default_role,
    docs: "docs/vendors/risken.md",
};

fn default_role() -> RoleTemplate {
    RoleTemplate {
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
    }
}
