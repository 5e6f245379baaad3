//! What every vendor secret shares: the common fields (base URL and role
//! overrides), the [`SecretFields`] trait each vendor's secret type
//! implements, and the checks that do not depend on the vendor. Each vendor's
//! own secret type lives in its folder (`src/vendors/<vendor>/secret.rs`).

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::ids::AccountId;
use crate::policy::{InlinePolicy, RoleTemplate, TrustPrincipal};
use crate::secret::Secret;

use super::base_url::BaseUrl;
use super::endpoint::Auth;
use super::profile::VendorProfile;

/// Fields every vendor secret may carry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CommonFields {
    pub base_url: Option<BaseUrl>,
    pub role_name: Option<String>,
    pub managed_policies: Option<Vec<String>>,
    pub inline_policy: Option<Value>,
    /// The principal the vendor's role must trust: its account id, or the
    /// exact user or role ARN. A vendor whose API names another one is
    /// refused before any role is created or changed.
    pub expected_principal: Option<TrustPrincipal>,
}

/// The trust a secret names itself, for the vendors that do not issue it
/// through their API: the vendor's AWS account and the external ID.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SecretTrust {
    pub aws_account_id: AccountId,
    pub external_id: Option<Secret>,
}

/// What vendorlink needs from any vendor's secret type.
pub trait SecretFields {
    fn common(&self) -> &CommonFields;

    /// The trust the secret names, when the vendor takes it from there.
    fn trust(&self) -> Option<&SecretTrust> {
        None
    }

    /// The external ID configured in the secret, if the vendor takes one there.
    fn external_id(&self) -> Option<&Secret> {
        self.trust().and_then(|t| t.external_id.as_ref())
    }

    /// The principal the vendor's role trusts, where the secret names it
    /// (the others issue it through their API).
    fn principal(&self) -> Option<TrustPrincipal> {
        self.trust()
            .map(|t| TrustPrincipal::Account(t.aws_account_id.clone()))
    }

    /// The credentials the vendor's API takes (keys, passwords, tokens).
    fn api_credentials(&self) -> Vec<&Secret>;

    /// Every credential the secret holds, the external ID included: the HTTP
    /// layer masks each of them in anything a vendor answers.
    fn credentials(&self) -> Vec<&Secret> {
        let mut all = self.api_credentials();
        all.extend(self.external_id());
        all
    }

    /// How the vendor's API authenticates requests made with this secret.
    fn auth(&self) -> Auth;

    /// The CA certificate(s), PEM, the vendor's host is verified against
    /// instead of the public roots (a self-hosted deployment).
    fn ca_pem(&self) -> Option<&str> {
        None
    }

    /// The vendor's own rules, beyond the common ones.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Parses a secret's JSON into a vendor's type. Errors name the secret and
/// the field but never echo a value.
pub(crate) fn parse_typed<T: DeserializeOwned>(secret_name: &str, json: &str) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // serde's "missing field" and our own validation messages hold
        // no values; its type/value mismatch messages can, so those
        // are reported by field only.
        let msg = inner.to_string();
        let detail = if msg.starts_with("missing field") {
            msg.split(" at line")
                .next()
                .unwrap_or("missing field")
                .to_owned()
        } else if inner.is_syntax() || inner.is_eof() {
            "is not valid JSON".to_owned()
        } else if path == "." {
            "must be a JSON object".to_owned()
        } else {
            format!("field `{path}` has an invalid value (value not shown)")
        };
        Error::config(format!("secret `{secret_name}`: {detail}"))
    })
}

/// The checks every vendor's secret passes, then the vendor's own.
pub(crate) fn validate(profile: &VendorProfile, fields: &dyn SecretFields) -> Result<(), String> {
    let common = fields.common();
    if profile.default_base_url.is_none() && common.base_url.is_none() {
        return Err(format!(
            "missing field `base_url` ({} is hosted per customer)",
            profile.name
        ));
    }
    if let Some(name) = &common.role_name {
        validate_role_name(name)?;
    }
    for arn in common.managed_policies.iter().flatten() {
        if !arn.starts_with("arn:aws") || !arn.contains(":policy/") {
            return Err(format!(
                "`managed_policies` entry `{arn}` is not a policy ARN"
            ));
        }
    }
    if let Some(doc) = &common.inline_policy {
        if doc.get("Statement").is_none() {
            return Err("`inline_policy` must be an IAM policy document with a Statement".into());
        }
    }
    if let Some(ext) = fields.external_id() {
        // RISKEN accepts 8..=255 characters; IAM's sts:ExternalId allows 2..=1224.
        let len = ext.expose().len();
        if !(8..=255).contains(&len) {
            return Err(format!(
                "`external_id` must be 8 to 255 characters, it has {len}"
            ));
        }
    }
    if let (Some(expected), Some(named)) = (&common.expected_principal, fields.principal()) {
        if *expected != named {
            return Err(format!(
                "`expected_principal` {expected} disagrees with the principal the secret names, {named}"
            ));
        }
    }
    fields.validate()
}

/// The vendor's role template with the secret's overrides applied. An
/// `inline_policy` override replaces the default document and keeps its
/// policy name (or is named `vendorlink-<vendor>` where there is none).
pub(crate) fn role_template(profile: &VendorProfile, common: &CommonFields) -> RoleTemplate {
    let mut template = (profile.default_role)();
    if let Some(name) = &common.role_name {
        template.name = name.clone();
    }
    if let Some(policies) = &common.managed_policies {
        template.managed_policies = policies.clone();
    }
    if let Some(document) = &common.inline_policy {
        let name = template
            .inline_policy
            .map(|p| p.name)
            .unwrap_or_else(|| format!("vendorlink-{}", profile.name));
        template.inline_policy = Some(InlinePolicy {
            name,
            document: document.clone(),
        });
    }
    template
}

fn validate_role_name(name: &str) -> Result<(), String> {
    // IAM role names: 1..=64 of [\w+=,.@-].
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if !ok {
        return Err(format!(
            "`role_name` `{name}` is not a valid IAM role name (1-64 of letters, digits and _+=,.@-)"
        ));
    }
    // Roles the organization, Control Tower or AWS itself enter or run
    // accounts through; IAM compares role names without case.
    let lower = name.to_ascii_lowercase();
    let reserved = RESERVED_ROLE_NAMES
        .iter()
        .any(|r| lower == r.to_ascii_lowercase())
        || RESERVED_ROLE_PREFIXES
            .iter()
            .any(|p| lower.starts_with(&p.to_ascii_lowercase()));
    if reserved {
        return Err(format!(
            "`role_name` `{name}` is reserved (an organization access role, Control Tower's, or an \
             AWS-reserved name): vendorlink never creates or changes it; choose another name"
        ));
    }
    Ok(())
}

/// Role names a vendor's role may never take.
const RESERVED_ROLE_NAMES: &[&str] = &["OrganizationAccountAccessRole", "AWSControlTowerExecution"];
/// Prefixes of roles that AWS services, IAM Identity Center and Control
/// Tower create and own.
const RESERVED_ROLE_PREFIXES: &[&str] = &[
    "AWSServiceRoleFor",
    "AWSReservedSSO_",
    "aws-controltower-",
    "AWSControlTower",
];

#[cfg(test)]
mod tests {
    use crate::error::ErrorKind;
    use crate::vendors::{skyhigh, VendorSecret};
    use crate::VendorName;
    use serde_json::json;

    #[test]
    fn parsed_vendor_secret_debug_hides_every_credential() {
        let json = json!({
            "access_token": "tok-SENSITIVE", "project_id": 7,
            "aws_account_id": "111122223333", "external_id": "ext-SENSITIVE-123",
            "base_url": "https://risken.example.com"
        });
        let secret =
            VendorSecret::parse(VendorName::Risken, "vendorlink/risken", &json.to_string())
                .unwrap();
        let debug = format!("{secret:?}");
        assert!(!debug.contains("SENSITIVE"), "{debug}");
        assert!(debug.contains("111122223333"));
    }

    #[test]
    fn missing_field_error_names_field_and_secret() {
        let err =
            VendorSecret::parse(VendorName::Cloudcraft, "vendorlink/cloudcraft", "{}").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(
            err.message()
                .contains("secret `vendorlink/cloudcraft`: missing field `api_key`"),
            "{err}"
        );
    }

    #[test]
    fn wrong_type_error_names_field_but_never_the_value() {
        let json = json!({"api_key": ["TOPSECRET-IN-A-LIST"]}).to_string();
        let err = VendorSecret::parse(VendorName::Cloudcraft, "vendorlink/cloudcraft", &json)
            .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(
            text.contains("field `api_key` has an invalid value"),
            "{text}"
        );
        assert!(!text.contains("TOPSECRET"), "{text}");
    }

    #[test]
    fn invalid_json_is_reported_without_content() {
        let err = VendorSecret::parse(VendorName::Cloudcraft, "s", "{\"api_key\": \"SECRETVALUE")
            .unwrap_err();
        assert!(err.message().ends_with("is not valid JSON"), "{err}");
        assert!(!format!("{err:?}").contains("SECRETVALUE"));
    }

    #[test]
    fn risken_and_stellarcyber_require_base_url() {
        let json = json!({"access_token": "t", "project_id": 1, "aws_account_id": "111122223333"});
        let err = VendorSecret::parse(VendorName::Risken, "s", &json.to_string()).unwrap_err();
        assert!(err.message().contains("missing field `base_url`"), "{err}");
    }

    #[test]
    fn unknown_fields_are_tolerated_and_defaults_apply() {
        let json = json!({"username": "u", "password": "p", "future_field": 1});
        let VendorSecret::Skyhigh(s) =
            VendorSecret::parse(VendorName::Skyhigh, "s", &json.to_string()).unwrap()
        else {
            panic!("wrong variant")
        };
        assert_eq!(s.instance_name, "Default-AWS");
        assert_eq!(s.provision_options, skyhigh::ProvisionOptions::default());
    }

    #[test]
    fn external_id_length_is_checked() {
        let json =
            json!({"api_key": "k", "aws_account_id": "111122223333", "external_id": "short"});
        let err = VendorSecret::parse(VendorName::Datatheorem, "s", &json.to_string()).unwrap_err();
        assert!(err.message().contains("8 to 255 characters"), "{err}");
        assert!(!err.message().contains("short"));
    }

    #[test]
    fn unknown_risken_data_source_is_rejected() {
        let json = json!({"access_token": "t", "project_id": 1, "aws_account_id": "111122223333",
            "base_url": "https://r.example", "data_sources": ["aws:guard-duty", "aws:nope"]});
        let err = VendorSecret::parse(VendorName::Risken, "s", &json.to_string()).unwrap_err();
        assert!(
            err.message()
                .contains("unknown RISKEN data source `aws:nope`"),
            "{err}"
        );
    }

    #[test]
    fn role_overrides_replace_defaults_and_keep_inline_policy_name() {
        let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]});
        let json = json!({"api_key": "k", "aws_account_id": "111122223333", "role_name": "DT",
            "managed_policies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"], "inline_policy": doc});
        let secret = VendorSecret::parse(VendorName::Datatheorem, "s", &json.to_string()).unwrap();
        let t = secret.role_template();
        assert_eq!(t.name, "DT");
        assert_eq!(
            t.managed_policies,
            ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
        );
        let inline = t.inline_policy.unwrap();
        assert_eq!(inline.name, "DataTheorem-APIGateway-SecurityAudit");
        assert_eq!(inline.document, doc);
    }

    #[test]
    fn reserved_role_names_are_refused() {
        for name in [
            "OrganizationAccountAccessRole",
            "organizationaccountaccessrole",
            "AWSControlTowerExecution",
            "AWSServiceRoleForSupport",
            "AWSReservedSSO_AdministratorAccess_0123",
            "aws-controltower-AdministratorExecutionRole",
        ] {
            let json = json!({"api_key": "k", "role_name": name});
            let err =
                VendorSecret::parse(VendorName::Cloudcraft, "s", &json.to_string()).unwrap_err();
            assert!(err.message().contains("reserved"), "{name}: {err}");
        }
        let json = json!({"api_key": "k", "role_name": "CloudcraftReadOnly"});
        assert!(VendorSecret::parse(VendorName::Cloudcraft, "s", &json.to_string()).is_ok());
    }

    #[test]
    fn bad_role_name_and_policy_arn_are_rejected() {
        let json = json!({"api_key": "k", "role_name": "has space"});
        assert!(
            VendorSecret::parse(VendorName::Cloudcraft, "s", &json.to_string())
                .unwrap_err()
                .message()
                .contains("not a valid IAM role name")
        );
        let json = json!({"api_key": "k", "managed_policies": ["SecurityAudit"]});
        assert!(
            VendorSecret::parse(VendorName::Cloudcraft, "s", &json.to_string())
                .unwrap_err()
                .message()
                .contains("not a policy ARN")
        );
    }
}
