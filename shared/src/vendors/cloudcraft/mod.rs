//! Cloudcraft: accounts are registered by role ARN after a lookup; the trust comes
//! from `iamParameters`; 20 requests a minute per API key.
//!
//! The facts this client relies on, with their sources, and how the local
//! sandbox models the vendor: `docs/vendors/cloudcraft.md`.

mod client;
mod secret;

pub use client::Cloudcraft as Client;
pub use secret::CloudcraftSecret as TypedSecret;

use std::time::Duration;

use crate::policy::RoleTemplate;
use crate::vendor_name::VendorName;
use crate::vendors::profile::{ExternalIdSource, RateLimit, RetryPolicy, VendorProfile};

pub const PROFILE: VendorProfile = VendorProfile {
    name: VendorName::Cloudcraft,
    title: "Cloudcraft",
    default_base_url: Some("https://api.cloudcraft.co"),
    external_id: ExternalIdSource::IssuedByVendor,
    rate_limit: Some(RateLimit {
        requests_per_minute: 20,
        // The account list and the POST (the trust is cached per process).
        requests_per_onboarding: 2,
        // The POST: a backfill reads the list once per batch.
        requests_per_backfilled_account: 1,
    }),
    // Datadog's cloudcraft-go (`internal/xhttp/retry.go`) and its docs: 408,
    // 429 and 502-504 are retried, 1-30 s apart; a 429 means the request was
    // not processed; a 500 is not retried.
    retry: RetryPolicy {
        floor: Duration::from_secs(1),
        ceiling: Duration::from_secs(30),
        statuses: &[408, 429, 502, 503, 504],
    },
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
