//! Data Theorem: one documented call creates a cloud authenticator; there is no public
//! list, status or delete API.
//!
//! The facts this client relies on, with their sources, and how the local
//! sandbox models the vendor: `docs/vendors/datatheorem.md`.

mod client;
mod secret;

pub use client::DataTheorem as Client;
pub use secret::DataTheoremSecret as TypedSecret;

use crate::policy::{allow_all_resources, InlinePolicy, RoleTemplate, SECURITY_AUDIT};
use crate::vendor_name::VendorName;
use crate::vendors::profile::{DEFAULT_RETRY, ExternalIdSource, VendorProfile};

pub const PROFILE: VendorProfile = VendorProfile {
    name: VendorName::Datatheorem,
    title: "Data Theorem",
    default_base_url: Some("https://api.securetheorem.com"),
    external_id: ExternalIdSource::CustomerGenerated,
    rate_limit: None,
    retry: DEFAULT_RETRY,
    default_role,
    docs: "docs/vendors/datatheorem.md",
};

fn default_role() -> RoleTemplate {
    RoleTemplate {
        name: "DataTheorem-Service".into(),
        managed_policies: vec![SECURITY_AUDIT.into()],
        inline_policy: Some(InlinePolicy {
            name: "DataTheorem-APIGateway-SecurityAudit".into(),
            document: allow_all_resources(&["apigateway:GET"]),
        }),
    }
}
