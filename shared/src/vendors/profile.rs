//! What vendorlink knows of a vendor before talking to it: its default role,
//! its public host, who chooses its external ID, its rate limit. Each vendor
//! folder defines one [`VendorProfile`] constant, `PROFILE`.

use crate::policy::RoleTemplate;
use crate::vendor_name::VendorName;

/// Who chooses the external ID the vendor role's trust policy requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalIdSource {
    /// The customer chooses it: vendorlink generates one when the secret has
    /// none and writes it back to the secret (the only secrets vendorlink
    /// writes).
    CustomerGenerated,
    /// The vendor issues it through its API, with its AWS principal.
    IssuedByVendor,
    /// The secret may carry one; none is generated.
    FromSecret,
}

/// A vendor's documented request budget per API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests the vendor accepts in any 60-second window.
    pub requests_per_minute: u32,
    /// Requests one onboarding makes (the trust parameters are read once per
    /// warm process and not counted).
    pub requests_per_onboarding: u32,
}

impl RateLimit {
    /// Onboardings a minute that keep every 60-second window inside the
    /// budget. Starts N a minute apart put N + 1 starts in some windows, as
    /// executions make their requests at uneven offsets, and one request is
    /// left for a retry: `per_onboarding x (N + 1) + 1 <= per_minute`.
    /// (Cloudcraft: 2 x (8 + 1) + 1 = 19 <= 20. Measured on the local stack,
    /// 9 a minute filled the window after five minutes and a quarter of
    /// Cloudcraft's answers became 429s.)
    pub fn onboardings_per_minute(self) -> u32 {
        (self.requests_per_minute.saturating_sub(1) / self.requests_per_onboarding.max(1))
            .saturating_sub(1)
    }
}

/// One vendor's static facts.
#[derive(Debug, Clone, Copy)]
pub struct VendorProfile {
    pub name: VendorName,
    /// The vendor's name as people write it.
    pub title: &'static str,
    /// The public API host; `None` when every customer has its own (the
    /// secret must then give `base_url`).
    pub default_base_url: Option<&'static str>,
    pub external_id: ExternalIdSource,
    pub rate_limit: Option<RateLimit>,
    /// The role vendorlink creates when the secret does not override it.
    pub default_role: fn() -> RoleTemplate,
    /// Where the facts this vendor's client relies on are written down,
    /// with their sources.
    pub docs: &'static str,
}

impl VendorProfile {
    /// Whether vendorlink may write this vendor's secret (to store a
    /// generated external ID).
    pub fn writes_back_secret(&self) -> bool {
        self.external_id == ExternalIdSource::CustomerGenerated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudcraft_budget_allows_eight_onboardings_a_minute() {
        let limit = RateLimit {
            requests_per_minute: 20,
            requests_per_onboarding: 2,
        };
        assert_eq!(limit.onboardings_per_minute(), 8);
    }

    #[test]
    fn a_budget_too_small_for_one_onboarding_allows_none() {
        let limit = RateLimit {
            requests_per_minute: 2,
            requests_per_onboarding: 2,
        };
        assert_eq!(limit.onboardings_per_minute(), 0);
    }
}
