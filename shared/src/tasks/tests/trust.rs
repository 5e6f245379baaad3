//! Who a vendor role trusts: never a whole account without an external ID,
//! never a principal other than the one the secret pins.

use serde_json::json;

use super::*;
use crate::contract::Outcome;
use crate::error::Step;

fn trusted_principal(role: &crate::fakes::FakeRole) -> (String, Option<String>) {
    let statement = &role.trust_policy["Statement"][0];
    (
        statement["Principal"]["AWS"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        statement["Condition"]["StringEquals"]["sts:ExternalId"]
            .as_str()
            .map(str::to_owned),
    )
}

#[tokio::test]
async fn no_vendor_role_trusts_a_whole_account_without_an_external_id() {
    let f = fixture(&VendorName::ALL);
    for vendor in VendorName::ALL {
        f.role_ready(vendor, "run-1").await;
        let role = f
            .fakes
            .members
            .role(&f.account, &vendor.default_role().name)
            .unwrap();
        let (principal, external_id) = trusted_principal(&role);
        assert!(
            !principal.ends_with(":root") || external_id.is_some(),
            "{vendor}: {}",
            role.trust_policy
        );
    }
}

#[tokio::test]
async fn stellar_cyber_s_role_trusts_the_exact_principal_the_secret_names() {
    let f = fixture(&[VendorName::Stellarcyber]);
    f.role_ready(VendorName::Stellarcyber, "run-1").await;
    let role = f
        .fakes
        .members
        .role(&f.account, "StellarCyberConnector")
        .unwrap();
    assert_eq!(
        trusted_principal(&role),
        (
            "arn:aws:iam::777788889999:role/stellar-connector".into(),
            None
        )
    );
}

#[tokio::test]
async fn a_stellar_cyber_secret_with_neither_an_external_id_nor_an_exact_principal_is_refused() {
    let f = fixture(&[VendorName::Stellarcyber]);
    for (document, names) in [
        (
            json!({"user_id": "u", "api_key": "st-SECRET-key", "tenant_id": "t1",
                   "base_url": "https://stellar.example.com",
                   "connector_template": stellar_template()}),
            "principal_arn",
        ),
        (
            json!({"user_id": "u", "api_key": "st-SECRET-key", "tenant_id": "t1",
                   "aws_account_id": "777788889999", "base_url": "https://stellar.example.com",
                   "connector_template": stellar_template()}),
            "without `external_id`",
        ),
        (
            json!({"user_id": "u", "api_key": "st-SECRET-key", "tenant_id": "t1",
                   "principal_arn": "arn:aws:iam::777788889999:root",
                   "base_url": "https://stellar.example.com",
                   "connector_template": stellar_template()}),
            "principal_arn",
        ),
    ] {
        f.fakes.secrets.put(VendorName::Stellarcyber, document);
        let err = f
            .onboard(VendorName::Stellarcyber, "run-1")
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "Fatal.Config", "{err}");
        assert!(err.to_string().contains(names), "{err}");
        assert!(!err.to_string().contains("st-SECRET-key"), "{err}");
        assert_eq!(
            f.fakes.members.role(&f.account, "StellarCyberConnector"),
            None
        );
    }
    assert_eq!(
        f.fakes.vendors.vendor(VendorName::Stellarcyber).created(),
        0
    );
}

#[tokio::test]
async fn a_vendor_answer_naming_another_principal_than_the_pinned_one_creates_nothing() {
    let f = fixture(&[VendorName::Cloudcraft]);
    let mut document = secret_document(VendorName::Cloudcraft);
    document["expected_principal"] = json!("123412341234");
    f.fakes.secrets.put(VendorName::Cloudcraft, document);
    let err = f
        .onboard(VendorName::Cloudcraft, "run-1")
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Fatal.Vendor");
    assert_eq!(err.step(), Some(Step::EnsureTrustRole));
    assert_eq!(err.vendor(), Some(VendorName::Cloudcraft));
    let text = err.to_string();
    assert!(
        text.contains("expected_principal is arn:aws:iam::123412341234:root"),
        "{text}"
    );
    assert_eq!(
        f.fakes
            .members
            .role(&f.account, &VendorName::Cloudcraft.default_role().name),
        None
    );
    assert_eq!(f.fakes.vendors.vendor(VendorName::Cloudcraft).created(), 0);
}

#[tokio::test]
async fn a_vendor_answer_naming_the_pinned_principal_goes_on() {
    let f = fixture(&[VendorName::Cloudcraft]);
    let mut document = secret_document(VendorName::Cloudcraft);
    document["expected_principal"] = json!(crate::fakes::FAKE_PRINCIPAL);
    f.fakes.secrets.put(VendorName::Cloudcraft, document);
    let item = f.onboard(VendorName::Cloudcraft, "run-1").await.unwrap();
    assert_eq!(item.outcome, Some(Outcome::Active));
}
