//! Cloudcraft: accounts are registered by role ARN after a lookup; the trust comes
//! from `iamParameters`; 20 requests a minute per API key.
//!
//! The facts this client relies on, with their sources, and how the local
//! sandbox models the vendor: `docs/vendors/cloudcraft.md`.

mod client;
mod secret;

pub use client::Cloudcraft as Client;
pub use secret::CloudcraftSecret as TypedSecret;

use crate::policy::{RoleTemplate};
use crate::vendor_name::VendorName;
use crate::vendors::profile::{ExternalIdSource, RateLimit, VendorProfile};

pub const PROFILE: VendorProfile = VendorProfile {
    name: VendorName::Cloudcraft,
    title: "Cloudcraft",
    default_base_url: Some("https://api.cloudcraft.co"),
    external_id: ExternalIdSource::IssuedByVendor,
    rate_limit: Some(RateLimit {
        requests_per_minute: 20,
        // The account list and the POST (the trust is cached per process).
        requests_per_onboarding: 2,
    }),
    default_role,
    docs: "docs/vendors/cloudcraft.md",
};

fn default_role() -> RoleTemplate {
    RoleTemplate {
        name: "cloudcraft".into(),
        managed_policies: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
        inline_policy: None,
    }
}
