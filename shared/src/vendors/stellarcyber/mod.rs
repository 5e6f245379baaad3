//! Stellar Cyber: a short-lived JWT authorizes the API; an account is a connector
//! created from the operator's template and found again by its name.
//!
//! The facts this client relies on, with their sources, and how the local
//! sandbox models the vendor: `docs/vendors/stellarcyber.md`.

mod client;
mod secret;

pub use client::StellarCyber as Client;
pub use secret::StellarCyberSecret as TypedSecret;

use crate::policy::{RoleTemplate, SECURITY_AUDIT};
use crate::vendor_name::VendorName;
use crate::vendors::profile::{DEFAULT_RETRY, ExternalIdSource, VendorProfile};

pub const PROFILE: VendorProfile = VendorProfile {
    name: VendorName::Stellarcyber,
    title: "Stellar Cyber",
    default_base_url: None,
    external_id: ExternalIdSource::FromSecret,
    rate_limit: None,
    retry: DEFAULT_RETRY,
    default_role,
    docs: "docs/vendors/stellarcyber.md",
};

fn default_role() -> RoleTemplate {
    RoleTemplate {
        name: "StellarCyberConnector".into(),
        managed_policies: vec![SECURITY_AUDIT.into()],
        inline_policy: None,
    }
}
