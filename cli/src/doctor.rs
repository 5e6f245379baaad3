//! `vendorlink doctor`: is every enabled vendor usable before the first
//! account? Reads each secret, checks it as an onboarding would, reads the
//! trust parameters and makes one read-only call per vendor
//! (`vendorlink_shared::tasks::doctor`). Writes nothing.

use aws_config::SdkConfig;
use vendorlink_shared::tasks::doctor::{check_vendors, VendorCheck};
use vendorlink_shared::tasks::Context;
use vendorlink_shared::Result;

use crate::deployment::Deployment;
use crate::table::{self, Format};
use crate::Found;

pub async fn run(sdk: &SdkConfig, deployment: &Deployment, format: Format) -> Result<Found> {
    let ctx = Context::new(deployment.config.clone(), sdk.clone())?;
    let checks = check_vendors(&ctx).await;
    print!("{}", render(&checks, format));
    Ok(if checks.iter().all(|c| c.ok) {
        Found::Nothing
    } else {
        Found::Something
    })
}

pub fn render(checks: &[VendorCheck], format: Format) -> String {
    if format == Format::Json {
        return serde_json::to_string_pretty(checks).unwrap_or_default() + "\n";
    }
    let rows: Vec<Vec<String>> = checks
        .iter()
        .map(|c| {
            vec![
                c.vendor.to_string(),
                if c.ok { "ok" } else { "PROBLEM" }.into(),
                c.secret.clone(),
                c.trust.clone(),
                c.api.clone(),
            ]
        })
        .collect();
    let bad = checks.iter().filter(|c| !c.ok).count();
    format!(
        "{}{}\n",
        table::render(&["VENDOR", "RESULT", "SECRET", "TRUST", "API"], &rows),
        if bad == 0 {
            format!("all {} vendors ready", checks.len())
        } else {
            format!("{bad} of {} vendors need attention", checks.len())
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use vendorlink_shared::VendorName;

    #[test]
    fn table_snapshot() {
        let checks = [
            VendorCheck {
                vendor: VendorName::Cloudcraft,
                ok: true,
                secret: "ok".into(),
                trust: "role cloudcraft trusts arn:aws:iam::968898580625:root with an external ID"
                    .into(),
                api: "answered a read-only lookup: the credentials work".into(),
            },
            VendorCheck {
                vendor: VendorName::Skyhigh,
                ok: false,
                secret: "Fatal.Config: skyhigh: missing `password`".into(),
                trust: "-".into(),
                api: "-".into(),
            },
        ];
        let out = render(&checks, Format::Table);
        assert!(out.starts_with("VENDOR      RESULT   SECRET"), "{out}");
        assert!(
            out.contains("skyhigh     PROBLEM  Fatal.Config: skyhigh: missing `password`"),
            "{out}"
        );
        assert!(out.ends_with("1 of 2 vendors need attention\n"), "{out}");
    }
}
