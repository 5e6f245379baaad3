//! What vendorlink knows of a vendor before talking to it: its default role,
//! its public host, who chooses its external ID, its rate limit. Each vendor
//! folder defines one [`VendorProfile`] constant, `PROFILE`.

use std::time::Duration;

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

/// How a request is retried inside one call, after the vendor's published
/// guidance: which statuses (a failure with no answer is always retryable),
/// and the backoff's floor and ceiling. A `Retry-After` is a minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub floor: Duration,
    pub ceiling: Duration,
    pub statuses: &'static [u16],
}

/// For vendors that publish no retry guidance: the usual transient
/// statuses, a short backoff.
pub const DEFAULT_RETRY: RetryPolicy = RetryPolicy {
    floor: Duration::from_millis(250),
    ceiling: Duration::from_secs(5),
    statuses: &[408, 429, 500, 502, 503, 504],
};

impl RetryPolicy {
    /// Whether a failure with this HTTP status (none: no answer) is retried.
    pub fn retries(&self, status: Option<u16>) -> bool {
        status.is_none_or(|s| self.statuses.contains(&s))
    }

    /// The wait before attempt `attempt + 1`: the floor doubled per attempt
    /// up to the ceiling, never shorter than the vendor's `Retry-After`.
    pub fn wait(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = self
            .floor
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.ceiling);
        backoff.max(retry_after.unwrap_or_default())
    }
}

/// A vendor's documented request budget per API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests the vendor accepts in any 60-second window.
    pub requests_per_minute: u32,
    /// Requests one onboarding makes (the trust parameters are read once per
    /// warm process and not counted).
    pub requests_per_onboarding: u32,
    /// Requests one account of a backfill makes, where a batch reads the
    /// vendor's listing once for all its accounts (not counted here).
    pub requests_per_backfilled_account: u32,
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

    /// Backfill starts a minute, by the same rule with the backfill's
    /// per-account requests: `per_account x (N + 1) + 1 <= per_minute`
    /// (Cloudcraft: 1 x (18 + 1) + 1 = 20). The batch's one listing is read
    /// a whole gap before its first start.
    pub fn backfill_per_minute(self) -> u32 {
        (self.requests_per_minute.saturating_sub(1) / self.requests_per_backfilled_account.max(1))
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
    /// In-call retries, after the vendor's guidance.
    pub retry: RetryPolicy,
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
    fn retry_waits_double_from_the_floor_to_the_ceiling_and_honour_retry_after() {
        let cloudcraft = crate::vendors::cloudcraft::PROFILE.retry;
        let waits: Vec<u64> = (1..=7)
            .map(|n| cloudcraft.wait(n, None).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(
            cloudcraft.wait(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert!(cloudcraft.retries(Some(429)) && cloudcraft.retries(None));
        assert!(
            !cloudcraft.retries(Some(500)),
            "Cloudcraft's SDK does not retry a 500"
        );
        assert!(DEFAULT_RETRY.retries(Some(500)));
    }

    #[test]
    fn cloudcraft_budget_allows_eight_onboardings_a_minute() {
        let limit = RateLimit {
            requests_per_minute: 20,
            requests_per_onboarding: 2,
            requests_per_backfilled_account: 1,
        };
        assert_eq!(limit.onboardings_per_minute(), 8);
        assert_eq!(limit.backfill_per_minute(), 18);
    }

    #[test]
    fn a_budget_too_small_for_one_onboarding_allows_none() {
        let limit = RateLimit {
            requests_per_minute: 2,
            requests_per_onboarding: 2,
            requests_per_backfilled_account: 2,
        };
        assert_eq!(limit.onboardings_per_minute(), 0);
    }
}
