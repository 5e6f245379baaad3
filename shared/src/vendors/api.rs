//! The [`Vendor`] trait every vendor client implements, and the types it
//! speaks: the account as a vendor sees it, registrations and removals.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::policy::{TrustParameters, TrustPrincipal};
use crate::secret::Secret;
use crate::vendor_name::VendorName;
use crate::vendors::http::VendorCall;

/// An account as a vendor sees it at registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountToRegister {
    pub account_id: crate::ids::AccountId,
    pub account_name: String,
    pub role_arn: String,
    /// The caller knows the vendor's listing lacks the account (a backfill
    /// read it for the whole batch, and no attempt was made since): a client
    /// that looks the account up before creating it may skip the lookup.
    pub unlisted: bool,
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
    /// The vendor stopped short of done for a reason registering again can
    /// fix: it could not assume a role that IAM had not yet propagated, or a
    /// step it needs (a scan) was never started. The state machine registers
    /// again, a bounded number of times, then fails with the reason.
    Stalled {
        reason: String,
    },
}

impl RegistrationStatus {
    /// The status with the vendor's text bounded: each reason or warning at
    /// most 1000 characters, at most 50 warnings (the rest counted).
    pub fn bounded(self) -> Self {
        use crate::error::bounded;
        const MAX_TEXT: usize = 1000;
        const MAX_WARNINGS: usize = 50;
        match self {
            RegistrationStatus::ActiveWithWarnings { warnings } => {
                let more = warnings.len().saturating_sub(MAX_WARNINGS);
                let mut kept: Vec<String> = warnings
                    .iter()
                    .take(MAX_WARNINGS)
                    .map(|w| bounded(w, MAX_TEXT))
                    .collect();
                if more > 0 {
                    kept.push(format!("... and {more} more warnings"));
                }
                RegistrationStatus::ActiveWithWarnings { warnings: kept }
            }
            RegistrationStatus::Failed { reason } => RegistrationStatus::Failed {
                reason: bounded(&reason, MAX_TEXT),
            },
            RegistrationStatus::Stalled { reason } => RegistrationStatus::Stalled {
                reason: bounded(&reason, MAX_TEXT),
            },
            other => other,
        }
    }
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

/// A vendor client: only the vendor's API. Each method is one bounded call
/// sequence (long waits belong to the state machine).
#[async_trait]
pub trait Vendor: Send + Sync {
    fn name(&self) -> VendorName;

    /// The principal and external ID the vendor role must trust, from the
    /// vendor's configuration or its API.
    async fn trust_parameters(&self) -> Result<TrustParameters>;

    /// Registers the account, or finds its existing registration.
    async fn register(&self, account: &AccountToRegister) -> Result<Registration>;

    /// As [`Vendor::register`], when an earlier run recorded `earlier` as
    /// the registration's reference (a redrive, a heal, a new execution
    /// after one that died). A vendor whose lookup does not show requests
    /// still being processed (Skyhigh) follows that request instead of
    /// submitting the account again; for the others the lookup is enough.
    async fn register_again(
        &self,
        account: &AccountToRegister,
        earlier: &str,
    ) -> Result<Registration> {
        let _ = earlier;
        self.register(account).await
    }

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

    /// Whether [`Vendor::register`] finds an existing registration before
    /// creating one, so calling it again after a lost answer creates nothing
    /// twice. A vendor that cannot look up never gets a second create after
    /// an ambiguous outcome: the item becomes `unverified` instead.
    fn finds_existing(&self) -> bool {
        true
    }

    /// Whether one request lists every registration (so a backfill reads it
    /// once per batch through [`Vendor::is_registered`]), and
    /// [`Vendor::register`] skips its own lookup for an account marked
    /// [`AccountToRegister::unlisted`].
    fn lists_in_one_request(&self) -> bool {
        false
    }

    /// What the last `status` call saw of a registration still pending, in
    /// words ("2 of 5 data sources OK; still scanning: ..."), where the vendor
    /// tells more than "pending".
    fn progress(&self) -> Option<String> {
        None
    }

    /// What a person checks in the vendor's console when a create's outcome
    /// is unknown.
    fn where_to_check(&self, account: &AccountToRegister) -> String {
        format!(
            "check in {}'s console whether it holds account {} (role {})",
            self.name().profile().title,
            account.account_id,
            account.role_arn
        )
    }
}

/// The trust a vendor issued through its API (Cloudcraft `iamParameters`,
/// Skyhigh `trustDetails`): its AWS account, which must be an account id
/// (`field` names where it was read), and the external ID.
pub(crate) fn issued_trust(
    call: &VendorCall<'_>,
    field: &str,
    account_id: &str,
    external_id: Secret,
) -> Result<TrustParameters> {
    // Account ids are 12 digits; a vendor may drop the leading zeros (the
    // Skyhigh page's own example has 11).
    let digits = account_id.trim();
    let padded =
        if !digits.is_empty() && digits.len() < 12 && digits.chars().all(|c| c.is_ascii_digit()) {
            format!("{digits:0>12}")
        } else {
            digits.to_owned()
        };
    let principal = padded
        .parse()
        .map_err(|e| call.unexpected(&format!("{field}: {e}")))?;
    Ok(TrustParameters {
        principal: TrustPrincipal::Account(principal),
        external_id: Some(external_id),
    })
}

/// An id a vendor gave (or the ledger kept) checked before it goes into a
/// URL path: 1 to 128 of letters, digits and `._:-`. Anything else (a `/`,
/// `..`, `?`, `%`) could point the request elsewhere: `Fatal.Vendor`.
pub fn path_segment<'a>(vendor: VendorName, what: &str, id: &'a str) -> Result<&'a str> {
    let safe = (1..=128).contains(&id.len())
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:-".contains(c));
    if safe {
        Ok(id)
    } else {
        Err(crate::error::Error::new(
            crate::error::ErrorKind::Vendor,
            format!(
                "{vendor}: the {what} `{}` is not a plain id (1-128 of letters, digits and ._:-); \
                 it is not put into a request path",
                crate::error::bounded(id, 80)
            ),
        )
        .for_vendor(vendor))
    }
}

/// IAM answers while a new role has not propagated yet (an AccessDenied on
/// `sts:AssumeRole`, in the AWS SDKs' wordings), so registering again later
/// can succeed.
pub fn role_not_assumable(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    text.contains("assumerole")
        && (text.contains("accessdenied")
            || text.contains("access denied")
            || text.contains("not authorized"))
}

#[cfg(test)]
mod path_tests {
    use super::*;

    #[test]
    fn only_plain_ids_go_into_a_path() {
        for ok in [
            "123",
            "a1b2-c3d4",
            "5f3e0c2a-4b1d-4c8e-9f00-1234567890ab",
            "acct:1.2",
        ] {
            assert_eq!(
                path_segment(VendorName::Cloudcraft, "account id", ok).unwrap(),
                ok
            );
        }
        for bad in [
            "",
            ".",
            "..",
            "../admin",
            "a/b",
            "x?y=1",
            "%2e%2e",
            "a b",
            "a#b",
            &"x".repeat(129),
        ] {
            let err = path_segment(VendorName::Cloudcraft, "account id", bad).unwrap_err();
            assert_eq!(err.error_type(), "Fatal.Vendor", "{bad}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::role_not_assumable;

    #[test]
    fn assume_role_refusals_are_recognised_in_the_vendors_wordings() {
        // Skyhigh's documented FAILURE example.
        assert!(role_not_assumable(
            "User: arn:aws:iam::522462218264:user/skyhigh is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/x"
        ));
        // The AWS SDK for Go v2, as RISKEN's scanners log it.
        assert!(role_not_assumable(
            "operation error STS: AssumeRole, https response error StatusCode: 403, api error AccessDenied: ..."
        ));
        assert!(!role_not_assumable("AccessDenied: guardduty:ListDetectors"));
        assert!(!role_not_assumable("the role may be assumed by anyone"));
    }
}
