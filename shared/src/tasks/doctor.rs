//! `vendorlink doctor`: before the first account, is every enabled vendor
//! usable? For each one: its secret is read and validated (the same checks
//! an onboarding makes: role name, managed policies, the trust's second
//! factor, `expected_principal`), its trust parameters are read (from the
//! vendor's API where the vendor issues them: Skyhigh, Cloudcraft), and one
//! read-only call lists its registrations, where the vendor has a listing.
//! Nothing is written: not a role, not a registration, not a secret.

use serde::{Deserialize, Serialize};

use crate::ids::AccountId;
use crate::vendor_name::VendorName;
use crate::vendors::AccountToRegister;

use super::{Context, SecretRead};

/// What the doctor found for one vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorCheck {
    pub vendor: VendorName,
    /// Every check passed (a call the vendor has no API for is not a failure).
    pub ok: bool,
    /// The secret: `ok`, or why it is refused.
    pub secret: String,
    /// The principal the vendor's roles will trust, and whether with an
    /// external ID; or why it cannot be established.
    pub trust: String,
    /// The read-only call made to the vendor's API, and its result.
    pub api: String,
}

/// The account no listing holds, to make a listing call with.
const PROBE_ACCOUNT: &str = "000000000000";

/// Checks every enabled vendor; a vendor's failure never hides another's.
pub async fn check_vendors(ctx: &Context) -> Vec<VendorCheck> {
    let mut checks = Vec::new();
    for vendor in ctx.config.vendors.iter().copied() {
        checks.push(check(ctx, vendor).await);
    }
    checks
}

async fn check(ctx: &Context, vendor: VendorName) -> VendorCheck {
    let mut report = VendorCheck {
        vendor,
        ok: false,
        secret: String::new(),
        trust: "-".into(),
        api: "-".into(),
    };
    let secret = match ctx.secrets.load(vendor).await {
        Ok(secret) => secret,
        Err(e) => {
            report.secret = e.to_string();
            return report;
        }
    };
    report.secret = "ok".into();
    // An external ID vendorlink generates and writes back is made by the
    // first onboarding; the doctor writes nothing.
    let awaiting_external_id =
        vendor.profile().writes_back_secret() && secret.external_id().is_none();
    let client = if awaiting_external_id {
        // The checks that need no trust: the role's name and policies.
        if let Err(e) = ctx.checked_template(vendor, &secret) {
            report.secret = e.to_string();
            return report;
        }
        report.trust = "external ID not generated yet: the first onboarding generates it and \
                        writes it back to the secret"
            .into();
        match ctx.vendors.connect(secret) {
            Ok(client) => client,
            Err(e) => {
                report.secret = e.to_string();
                return report;
            }
        }
    } else {
        match ctx.vendor_and_role(vendor, SecretRead::AsStored).await {
            Ok((client, spec)) => {
                report.trust = format!(
                    "role {} trusts {}{}",
                    spec.name,
                    spec.trust.principal,
                    if spec.trust.external_id.is_some() {
                        " with an external ID"
                    } else {
                        " (exact principal, no external ID)"
                    }
                );
                client
            }
            Err(e) => {
                report.trust = e.to_string();
                return report;
            }
        }
    };
    let Ok(account_id) = PROBE_ACCOUNT.parse::<AccountId>() else {
        return report;
    };
    let probe = AccountToRegister {
        account_id,
        account_name: "vendorlink-doctor".into(),
        role_arn: format!("arn:aws:iam::{PROBE_ACCOUNT}:role/vendorlink-doctor"),
        unlisted: false,
    };
    match client.is_registered(&probe).await {
        Ok(Some(_)) => {
            report.api = "answered a read-only lookup: the credentials work".into();
            report.ok = true;
        }
        Ok(None) => {
            report.api = format!(
                "{} has no read-only call to try the credentials with: the first onboarding does",
                vendor.profile().title
            );
            report.ok = true;
        }
        Err(e) => report.api = e.to_string(),
    }
    report
}
