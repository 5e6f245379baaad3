//! Stellar Cyber's secret (docs/vendors/stellarcyber.md).
//!
//! Stellar Cyber documents no external ID for its AWS connector (it assumes
//! the role from an IAM user or role of its own), so its role's trust names
//! that exact principal, `principal_arn`. A deployment that does send an
//! external ID may give `aws_account_id` and `external_id` instead. A secret
//! with neither is refused: the role would trust a whole account.

use serde::Deserialize;
use serde_json::Value;

use crate::ids::AccountId;
use crate::policy::{PrincipalArn, TrustPrincipal};
use crate::secret::Secret;
use crate::vendors::endpoint::Auth;
use crate::vendors::secret::{CommonFields, SecretFields};

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StellarCyberSecret {
    pub user_id: String,
    pub api_key: Secret,
    pub tenant_id: String,
    /// The exact IAM user or role ARN the connector assumes roles from.
    pub principal_arn: Option<PrincipalArn>,
    /// The account the connector runs from, with `external_id`, where the
    /// deployment presents one.
    pub aws_account_id: Option<AccountId>,
    pub external_id: Option<Secret>,
    /// The connector's JSON, with placeholders (required: the schema is the
    /// appliance's own, so there is no default to guess).
    pub connector_template: Value,
    /// The CA certificate(s), PEM, of a self-hosted appliance: then the only
    /// roots trusted for its `base_url`.
    pub ca_pem: Option<String>,
    #[serde(flatten)]
    pub common: CommonFields,
}

impl SecretFields for StellarCyberSecret {
    fn common(&self) -> &CommonFields {
        &self.common
    }
    fn external_id(&self) -> Option<&Secret> {
        self.external_id.as_ref()
    }
    fn principal(&self) -> Option<TrustPrincipal> {
        match (&self.principal_arn, &self.aws_account_id) {
            (Some(arn), _) => Some(TrustPrincipal::Exact(arn.clone())),
            (None, Some(account)) => Some(TrustPrincipal::Account(account.clone())),
            (None, None) => None,
        }
    }
    fn api_credentials(&self) -> Vec<&Secret> {
        vec![&self.api_key]
    }
    fn auth(&self) -> Auth {
        // The API key buys a JWT (Basic); the client sends the JWT itself.
        Auth::Basic {
            user: self.user_id.clone(),
            password: self.api_key.clone(),
        }
    }
    fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }
    fn validate(&self) -> Result<(), String> {
        let name = self.connector_template.get("name").and_then(Value::as_str);
        if !self.connector_template.is_object() {
            return Err("`connector_template` must be a JSON object (the connector Stellar \
                        Cyber's API creates; see docs/vendors/stellarcyber.md)"
                .into());
        }
        if !name.is_some_and(|n| n.contains("{{account_id}}")) {
            return Err("`connector_template.name` must be a string containing {{account_id}}: \
                        it is how vendorlink finds each account's connector again"
                .into());
        }
        match (&self.principal_arn, &self.aws_account_id, &self.external_id) {
            (Some(arn), Some(account), _) if arn.account() != account => Err(format!(
                "`principal_arn` is in account {}, `aws_account_id` says {account}",
                arn.account()
            )),
            (Some(_), _, _) | (None, Some(_), Some(_)) => Ok(()),
            (None, Some(account), None) => Err(format!(
                "`aws_account_id` {account} without `external_id` would let any principal of that \
                 account assume the role: Stellar Cyber documents no external ID, so give \
                 `principal_arn`, the exact IAM user or role ARN its connector runs as"
            )),
            (None, None, _) => Err(
                "missing field `principal_arn`: the exact IAM user or role ARN Stellar Cyber's \
                 connector assumes roles from (or `aws_account_id` with `external_id`, where \
                 your deployment sends one)"
                    .into(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::vendor_name::VendorName;
    use crate::vendors::{connect, VendorHttp, VendorSecret};

    /// A self-signed CA (public certificate only), as a self-hosted
    /// appliance's would be.
    const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBhDCCASugAwIBAgIUaoV8kIwkijZooBQrCT3mHVfDSvswCgYIKoZIzj0EAwIw\nGDEWMBQGA1UEAwwNc3RlbGxhci5sb2NhbDAeFw0yNjEyMDIwNzM5MTZaFw0zNjEx\nMjkwNzM5MTZaMBgxFjAUBgNVBAMMDXN0ZWxsYXIubG9jYWwwWTATBgcqhkjOPQIB\nBggqhkjOPQMBBwNCAARq6z78SUnvz6ErzQ0ksxW9bV4B8w0ObP9Z61AyYJL0ZTh+\n6YArSeK7uuLwDgM3RQw2WvWpHIVfztTa6MJgKP15o1MwUTAdBgNVHQ4EFgQUMcXS\nsGRleG46LulwxAAE4X5PeEMwHwYDVR0jBBgwFoAUMcXSsGRleG46LulwxAAE4X5P\neEMwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiBK4ZpGRC6kgYBG\niMHIlW6Jf0BALxIOksKyKMz2cI5ZbAIgJAfzQk10YgBKuNThgWty3WBYya6iNz42\ngdqH98kIBwo=\n-----END CERTIFICATE-----\n";

    fn document(template: Value) -> Value {
        json!({"user_id": "u", "api_key": "st-SECRET-key", "tenant_id": "t",
               "base_url": "https://stellar.example.com",
               "principal_arn": "arn:aws:iam::777788889999:role/connector",
               "connector_template": template})
    }

    fn parse(doc: Value) -> crate::Result<VendorSecret> {
        VendorSecret::parse(VendorName::Stellarcyber, "vendorlink/stellarcyber", &doc.to_string())
    }

    #[test]
    fn the_connector_template_is_required_and_named_per_account() {
        let mut without = document(json!({}));
        without.as_object_mut().unwrap().remove("connector_template");
        let err = parse(without).unwrap_err();
        assert!(err.message().contains("missing field `connector_template`"), "{err}");
        for (template, says) in [
            (json!("not an object"), "must be a JSON object"),
            (json!({"name": "one-connector-for-all"}), "{{account_id}}"),
            (json!({"type": "aws_cloudtrail"}), "{{account_id}}"),
        ] {
            let err = parse(document(template)).unwrap_err();
            assert_eq!(err.error_type(), "Fatal.Config");
            assert!(err.message().contains(says), "{err}");
        }
        assert!(parse(document(json!({"name": "aws-{{account_id}}"}))).is_ok());
    }

    #[test]
    fn a_ca_pem_must_hold_a_certificate_and_then_builds_its_own_client() {
        let http = VendorHttp::new().unwrap();
        let mut doc = document(json!({"name": "aws-{{account_id}}"}));
        doc["ca_pem"] = json!("not a certificate");
        let err = connect(&http, parse(doc.clone()).unwrap()).err().unwrap();
        assert_eq!(err.error_type(), "Fatal.Config");
        assert_eq!(err.vendor(), Some(VendorName::Stellarcyber));
        assert!(err.message().contains("ca_pem"), "{err}");
        doc["ca_pem"] = json!(CA);
        assert!(connect(&http, parse(doc).unwrap()).is_ok());
    }
}
