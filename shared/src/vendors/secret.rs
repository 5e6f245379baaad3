//! Vendor secrets: the redacted [`Secret`] type, each vendor's typed secret,
//! and reading them from Secrets Manager (including the write-back of a
//! generated external ID).

use std::fmt;

use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_sdk_secretsmanager::Client as SecretsManagerClient;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::aws::{aws_error, error_code};
use crate::error::{Error, ErrorKind, Result, ResultExt};
use crate::ids::AccountId;
use crate::vendor::{InlinePolicy, RoleTemplate, VendorName};

const REDACTED: &str = "<redacted>";

/// A credential or external ID. Its `Debug`, `Display` and `Serialize` never
/// show the value; only [`Secret::expose`] does, at the point of use.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one place that must send it (an HTTP
    /// header, a policy condition, the secret write-back).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A fresh external ID: 32 random bytes from the OS, URL-safe base64
    /// without padding (43 characters; fits RISKEN's 8..=255 rule).
    pub fn generate_external_id() -> Result<Secret> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| {
            Error::new(
                ErrorKind::Unavailable,
                format!("the OS random number generator failed: {e}"),
            )
        })?;
        Ok(Secret(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        ))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// A vendor's root URL: https, or http on a loopback host (the sandboxes).
/// Stored without a trailing slash so documented paths append cleanly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    pub fn parse(raw: &str) -> Result<BaseUrl, String> {
        let url = url::Url::parse(raw).map_err(|e| format!("`{raw}` is not a URL: {e}"))?;
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            other => {
                return Err(format!(
                    "`{raw}` uses {other}: vendor URLs must be https (http only on loopback)"
                ))
            }
        }
        if url.host().is_none() || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "`{raw}` must be a root URL: scheme, host, optional port and path prefix"
            ));
        }
        Ok(BaseUrl(url.as_str().trim_end_matches('/').to_owned()))
    }

    /// A vendor's public host, from a constant in this crate.
    pub(crate) fn from_static(url: &'static str) -> BaseUrl {
        BaseUrl(url.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The base URL with a documented API path (starting with `/`) appended.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

impl<'de> Deserialize<'de> for BaseUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        BaseUrl::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Fields every vendor secret may carry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CommonFields {
    pub base_url: Option<BaseUrl>,
    pub role_name: Option<String>,
    pub managed_policies: Option<Vec<String>>,
    pub inline_policy: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DataTheoremSecret {
    pub api_key: Secret,
    pub aws_account_id: AccountId,
    pub external_id: Option<Secret>,
    #[serde(flatten)]
    pub common: CommonFields,
}

/// Skyhigh's optional provisioning flags, sent as given (seed:
/// skyhigh-aws-account-api.txt, `provisionAccounts` body).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkyhighProvisionOptions {
    #[serde(rename = "enableDLP", skip_serializing_if = "Option::is_none")]
    pub enable_dlp: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_activity_monitoring: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_security_audit: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_audit_type: Option<String>,
    #[serde(rename = "enableVPCFlowLogs", skip_serializing_if = "Option::is_none")]
    pub enable_vpc_flow_logs: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_vulnerabilities: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_emails: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_errors: Option<bool>,
}

fn default_skyhigh_instance() -> String {
    "Default-AWS".into()
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SkyhighSecret {
    pub username: String,
    pub password: Secret,
    #[serde(default = "default_skyhigh_instance")]
    pub instance_name: String,
    #[serde(default)]
    pub provision_options: SkyhighProvisionOptions,
    pub aws_bucket_names: Option<String>,
    #[serde(flatten)]
    pub common: CommonFields,
}

fn default_cloudcraft_region() -> String {
    "us-east-1".into()
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CloudcraftSecret {
    pub api_key: Secret,
    #[serde(default = "default_cloudcraft_region")]
    pub region: String,
    #[serde(flatten)]
    pub common: CommonFields,
}

/// RISKEN's AWS data sources, by their catalogue names.
pub const RISKEN_DATA_SOURCES: [&str; 5] = [
    "aws:guard-duty",
    "aws:access-analyzer",
    "aws:admin-checker",
    "aws:cloudsploit",
    "aws:portscan",
];

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RiskenSecret {
    pub access_token: Secret,
    pub project_id: u32,
    pub aws_account_id: AccountId,
    pub external_id: Option<Secret>,
    pub data_sources: Option<Vec<String>>,
    #[serde(flatten)]
    pub common: CommonFields,
}

impl RiskenSecret {
    /// The configured data sources, all five by default.
    pub fn data_sources(&self) -> Vec<String> {
        match &self.data_sources {
            Some(list) => list.clone(),
            None => RISKEN_DATA_SOURCES.map(String::from).to_vec(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StellarCyberSecret {
    pub user_id: String,
    pub api_key: Secret,
    pub tenant_id: String,
    pub aws_account_id: AccountId,
    pub external_id: Option<Secret>,
    pub connector_template: Option<Value>,
    #[serde(flatten)]
    pub common: CommonFields,
}

/// One vendor's secret, parsed and validated.
#[derive(Debug, Clone, PartialEq)]
pub enum VendorSecret {
    Datatheorem(DataTheoremSecret),
    Skyhigh(SkyhighSecret),
    Cloudcraft(CloudcraftSecret),
    Risken(RiskenSecret),
    Stellarcyber(StellarCyberSecret),
}

impl VendorSecret {
    /// Parses a secret's JSON. Errors name the secret and the field but
    /// never echo a value.
    pub fn parse(vendor: VendorName, secret_name: &str, json: &str) -> Result<VendorSecret> {
        fn typed<T: serde::de::DeserializeOwned>(secret_name: &str, json: &str) -> Result<T> {
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
        let secret = match vendor {
            VendorName::Datatheorem => VendorSecret::Datatheorem(typed(secret_name, json)?),
            VendorName::Skyhigh => VendorSecret::Skyhigh(typed(secret_name, json)?),
            VendorName::Cloudcraft => VendorSecret::Cloudcraft(typed(secret_name, json)?),
            VendorName::Risken => VendorSecret::Risken(typed(secret_name, json)?),
            VendorName::Stellarcyber => VendorSecret::Stellarcyber(typed(secret_name, json)?),
        };
        secret
            .validate()
            .map_err(|detail| Error::config(format!("secret `{secret_name}`: {detail}")))?;
        Ok(secret)
    }

    fn validate(&self) -> Result<(), String> {
        let common = self.common();
        if matches!(
            self,
            VendorSecret::Risken(_) | VendorSecret::Stellarcyber(_)
        ) && common.base_url.is_none()
        {
            return Err(format!(
                "missing field `base_url` ({} is hosted per customer)",
                self.vendor()
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
                return Err(
                    "`inline_policy` must be an IAM policy document with a Statement".into(),
                );
            }
        }
        if let Some(ext) = self.external_id() {
            // RISKEN accepts 8..=255 characters; IAM's sts:ExternalId allows 2..=1224.
            let len = ext.expose().len();
            if !(8..=255).contains(&len) {
                return Err(format!(
                    "`external_id` must be 8 to 255 characters, it has {len}"
                ));
            }
        }
        if let VendorSecret::Risken(r) = self {
            for ds in r.data_sources.iter().flatten() {
                if !RISKEN_DATA_SOURCES.contains(&ds.as_str()) {
                    return Err(format!(
                        "unknown RISKEN data source `{ds}` (allowed: {})",
                        RISKEN_DATA_SOURCES.join(", ")
                    ));
                }
            }
            if r.project_id == 0 {
                return Err("`project_id` must be a positive number".into());
            }
        }
        Ok(())
    }

    pub fn vendor(&self) -> VendorName {
        match self {
            VendorSecret::Datatheorem(_) => VendorName::Datatheorem,
            VendorSecret::Skyhigh(_) => VendorName::Skyhigh,
            VendorSecret::Cloudcraft(_) => VendorName::Cloudcraft,
            VendorSecret::Risken(_) => VendorName::Risken,
            VendorSecret::Stellarcyber(_) => VendorName::Stellarcyber,
        }
    }

    pub fn common(&self) -> &CommonFields {
        match self {
            VendorSecret::Datatheorem(s) => &s.common,
            VendorSecret::Skyhigh(s) => &s.common,
            VendorSecret::Cloudcraft(s) => &s.common,
            VendorSecret::Risken(s) => &s.common,
            VendorSecret::Stellarcyber(s) => &s.common,
        }
    }

    /// The external ID configured in the secret, if the vendor takes one there.
    pub fn external_id(&self) -> Option<&Secret> {
        match self {
            VendorSecret::Datatheorem(s) => s.external_id.as_ref(),
            VendorSecret::Risken(s) => s.external_id.as_ref(),
            VendorSecret::Stellarcyber(s) => s.external_id.as_ref(),
            VendorSecret::Skyhigh(_) | VendorSecret::Cloudcraft(_) => None,
        }
    }

    /// The vendor's AWS account, where the secret holds it (the others issue
    /// it through their API).
    pub fn principal(&self) -> Option<&AccountId> {
        match self {
            VendorSecret::Datatheorem(s) => Some(&s.aws_account_id),
            VendorSecret::Risken(s) => Some(&s.aws_account_id),
            VendorSecret::Stellarcyber(s) => Some(&s.aws_account_id),
            VendorSecret::Skyhigh(_) | VendorSecret::Cloudcraft(_) => None,
        }
    }

    /// The vendor's role template with the secret's overrides applied. An
    /// `inline_policy` override replaces the default document and keeps its
    /// policy name (or is named `vendorlink-<vendor>` where there is none).
    pub fn role_template(&self) -> RoleTemplate {
        let vendor = self.vendor();
        let common = self.common();
        let mut template = vendor.default_role();
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
                .unwrap_or_else(|| format!("vendorlink-{vendor}"));
            template.inline_policy = Some(InlinePolicy {
                name,
                document: document.clone(),
            });
        }
        template
    }
}

fn validate_role_name(name: &str) -> Result<(), String> {
    // IAM role names: 1..=64 of [\w+=,.@-].
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`role_name` `{name}` is not a valid IAM role name (1-64 of letters, digits and _+=,.@-)"
        ))
    }
}

/// Reads vendor secrets from Secrets Manager, named `<prefix><vendor>`.
#[derive(Clone)]
pub struct SecretStore {
    client: SecretsManagerClient,
    prefix: String,
}

impl SecretStore {
    pub fn new(client: SecretsManagerClient, prefix: impl Into<String>) -> Self {
        SecretStore {
            client,
            prefix: prefix.into(),
        }
    }

    pub fn secret_name(&self, vendor: VendorName) -> String {
        format!("{}{vendor}", self.prefix)
    }

    /// The vendor's secret as stored.
    pub async fn load(&self, vendor: VendorName) -> Result<VendorSecret> {
        let name = self.secret_name(vendor);
        let (_, json) = self.read(&name, None).await.for_vendor(vendor)?;
        VendorSecret::parse(vendor, &name, json.expose()).for_vendor(vendor)
    }

    /// The vendor's secret, with an external ID guaranteed where the customer
    /// must generate one (Data Theorem, RISKEN).
    ///
    /// When the ID is missing, a new one is written back as a new secret
    /// version whose `ClientRequestToken` is derived from the version just
    /// read. Secrets Manager versions are immutable, so concurrent first runs
    /// that read the same version compete for the same token: exactly one
    /// value is stored under it, and every writer then reads that version back
    /// and uses what it holds.
    pub async fn load_with_external_id(&self, vendor: VendorName) -> Result<VendorSecret> {
        let name = self.secret_name(vendor);
        let (version, json) = self.read(&name, None).await.for_vendor(vendor)?;
        let secret = VendorSecret::parse(vendor, &name, json.expose()).for_vendor(vendor)?;
        if !vendor.customer_generates_external_id() || secret.external_id().is_some() {
            return Ok(secret);
        }
        let mut document: serde_json::Map<String, Value> = serde_json::from_str(json.expose())
            .map_err(|_| {
                Error::config(format!("secret `{name}` must be a JSON object")).for_vendor(vendor)
            })?;
        let generated = Secret::generate_external_id()?;
        document.insert("external_id".into(), Value::String(generated.0.clone()));
        let new_json = Secret(Value::Object(document).to_string());
        let token = write_back_token(&version);
        match self
            .client
            .put_secret_value()
            .secret_id(&name)
            .secret_string(new_json.expose())
            .client_request_token(&token)
            .send()
            .await
        {
            Ok(_) => {}
            // Another writer won the race for this token: its value stands.
            Err(e) if error_code(&e) == Some("ResourceExistsException") => {}
            Err(e) => {
                return Err(
                    aws_error(&format!("writing the external ID to secret `{name}`"), e)
                        .for_vendor(vendor),
                )
            }
        }
        let (_, stored) = self.read(&name, Some(&token)).await.for_vendor(vendor)?;
        let secret = VendorSecret::parse(vendor, &name, stored.expose()).for_vendor(vendor)?;
        if secret.external_id().is_none() {
            return Err(Error::config(format!(
                "secret `{name}` version {token} has no external_id after the write-back"
            ))
            .for_vendor(vendor));
        }
        tracing::info!(vendor = %vendor, secret = %name, "external ID generated and stored");
        Ok(secret)
    }

    /// Reads a secret (a given version, or the current one): its version id
    /// and its string value.
    async fn read(&self, name: &str, version_id: Option<&str>) -> Result<(String, Secret)> {
        let output: GetSecretValueOutput = self
            .client
            .get_secret_value()
            .secret_id(name)
            .set_version_id(version_id.map(str::to_owned))
            .send()
            .await
            .map_err(|e| match error_code(&e) {
                Some("ResourceNotFoundException") => Error::config(format!(
                    "secret `{name}` does not exist: create it as the README's vendor secrets section shows"
                )),
                _ => aws_error(&format!("reading secret `{name}`"), e),
            })?;
        let value = output.secret_string.ok_or_else(|| {
            Error::config(format!(
                "secret `{name}` has no string value (binary secrets are not supported)"
            ))
        })?;
        let version = output.version_id.ok_or_else(|| {
            Error::new(
                ErrorKind::Unavailable,
                format!("secret `{name}`: Secrets Manager returned no version id"),
            )
        })?;
        Ok((version, Secret(value)))
    }
}

/// The write-back's idempotency token: a UUID derived from the version it
/// replaces, so every writer that saw that version uses the same token.
fn write_back_token(previous_version: &str) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x7665_6e64_6f72_6c69_6e6b_6578_7469_6431);
    uuid::Uuid::new_v5(&NAMESPACE, previous_version.as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_debug_display_and_serialize_are_redacted() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(s.to_string(), "<redacted>");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"<redacted>\"");
        assert_eq!(s.expose(), "hunter2-very-secret");
    }

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
    fn generated_external_ids_are_43_url_safe_chars_and_distinct() {
        let a = Secret::generate_external_id().unwrap();
        let b = Secret::generate_external_id().unwrap();
        assert_eq!(a.expose().len(), 43);
        assert!(a
            .expose()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(a, b);
    }

    #[test]
    fn write_back_token_is_stable_and_valid_for_secrets_manager() {
        let t = write_back_token("v1");
        assert_eq!(t, write_back_token("v1"));
        assert_ne!(t, write_back_token("v2"));
        assert!((32..=64).contains(&t.len()));
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
    fn base_url_must_be_https_except_on_loopback() {
        assert!(BaseUrl::parse("https://www.myshn.net").is_ok());
        assert_eq!(
            BaseUrl::parse("http://127.0.0.1:8080/skyhigh/")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8080/skyhigh"
        );
        assert!(BaseUrl::parse("http://localhost:1").is_ok());
        assert!(BaseUrl::parse("http://[::1]:1").is_ok());
        assert!(BaseUrl::parse("http://example.com")
            .unwrap_err()
            .contains("must be https"));
        assert!(BaseUrl::parse("ftp://127.0.0.1").is_err());
        assert!(BaseUrl::parse("https://x.example/?a=b").is_err());
        assert!(BaseUrl::parse("not a url").is_err());
    }

    #[test]
    fn base_url_join_appends_documented_path() {
        let base = BaseUrl::parse("https://www.myshn.net/").unwrap();
        assert_eq!(
            base.join("/shndlpapi/v1/aws/trustDetails"),
            "https://www.myshn.net/shndlpapi/v1/aws/trustDetails"
        );
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
        assert_eq!(s.provision_options, SkyhighProvisionOptions::default());
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
