//! IAM policy documents: building the vendor trust policy, decoding what IAM
//! returns, and comparing documents by meaning rather than by bytes.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::ids::AccountId;
use crate::secret::Secret;

/// An inline policy: its name in IAM and its document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InlinePolicy {
    pub name: String,
    pub document: Value,
}

/// The shape of a vendor's role, before the trust (principal, external ID)
/// is known.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleTemplate {
    pub name: String,
    pub managed_policies: Vec<String>,
    pub inline_policy: Option<InlinePolicy>,
}

/// Who may assume a vendor role, and the second factor it must present.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustParameters {
    pub principal: TrustPrincipal,
    pub external_id: Option<Secret>,
}

impl TrustParameters {
    /// Refuses a trust with no second factor: a whole account (`:root`)
    /// without an external ID is the confused deputy external IDs exist to
    /// prevent (any customer of the vendor could point it at this account).
    pub fn check_second_factor(&self) -> Result<(), String> {
        match (&self.principal, &self.external_id) {
            (TrustPrincipal::Account(account), None) => Err(format!(
                "the role would trust the whole AWS account {account} with no external ID: \
                 give the vendor's external ID, or the exact IAM user or role ARN it assumes \
                 roles from (`principal_arn`)"
            )),
            _ => Ok(()),
        }
    }
}

/// The principal a vendor role's trust policy names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustPrincipal {
    /// The vendor's whole account (`arn:aws:iam::<account>:root`): only ever
    /// together with an external ID.
    Account(AccountId),
    /// One IAM user or role, by its exact ARN.
    Exact(PrincipalArn),
}

impl TrustPrincipal {
    /// The ARN the trust policy's `Principal.AWS` holds.
    pub fn arn(&self) -> String {
        match self {
            TrustPrincipal::Account(account) => format!("arn:aws:iam::{account}:root"),
            TrustPrincipal::Exact(arn) => arn.as_str().to_owned(),
        }
    }

    pub fn account(&self) -> &AccountId {
        match self {
            TrustPrincipal::Account(account) => account,
            TrustPrincipal::Exact(arn) => arn.account(),
        }
    }
}

impl std::fmt::Display for TrustPrincipal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.arn())
    }
}

impl std::str::FromStr for TrustPrincipal {
    type Err = String;

    /// `123456789012` or `arn:aws:iam::123456789012:root` is an account;
    /// `arn:aws:iam::123456789012:role/Name` (or `user/`) an exact principal.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(account) = s.parse::<AccountId>() {
            return Ok(TrustPrincipal::Account(account));
        }
        if let Some(account) = s
            .strip_prefix("arn:aws:iam::")
            .and_then(|rest| rest.strip_suffix(":root"))
        {
            return account
                .parse()
                .map(TrustPrincipal::Account)
                .map_err(|_| format!("`{s}` is not an account root ARN"));
        }
        s.parse().map(TrustPrincipal::Exact)
    }
}

impl<'de> Deserialize<'de> for TrustPrincipal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The exact ARN of an IAM user or role in another account:
/// `arn:<partition>:iam::<12 digits>:(user|role)/<path/>name`. Never an
/// account's `:root`, never a wildcard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalArn {
    arn: String,
    account: AccountId,
}

impl PrincipalArn {
    pub fn as_str(&self) -> &str {
        &self.arn
    }

    pub fn account(&self) -> &AccountId {
        &self.account
    }
}

impl std::str::FromStr for PrincipalArn {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "`{s}` is not the ARN of an IAM user or role \
                 (arn:aws:iam::<12-digit account>:role/<name> or :user/<name>)"
            )
        };
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        let [arn, partition, service, region, account, resource] = parts[..] else {
            return Err(bad());
        };
        if arn != "arn"
            || !matches!(partition, "aws" | "aws-cn" | "aws-us-gov")
            || service != "iam"
            || !region.is_empty()
        {
            return Err(bad());
        }
        let account: AccountId = account.parse().map_err(|_| bad())?;
        let Some((kind, path_and_name)) = resource.split_once('/') else {
            return Err(bad());
        };
        let name = path_and_name.rsplit('/').next().unwrap_or_default();
        let valid_chars = path_and_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-/".contains(c));
        if !matches!(kind, "user" | "role") || name.is_empty() || name.len() > 64 || !valid_chars {
            return Err(bad());
        }
        Ok(PrincipalArn {
            arn: s.to_owned(),
            account,
        })
    }
}

impl<'de> Deserialize<'de> for PrincipalArn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The AWS managed policy most vendors' roles attach.
pub const SECURITY_AUDIT: &str = "arn:aws:iam::aws:policy/SecurityAudit";

/// The AWS managed policies a vendor role may carry without a stack
/// parameter: the vendors' documented ones (SecurityAudit, ReadOnlyAccess)
/// and AWS's read-only job-function policy. Never one that can change an
/// account (AdministratorAccess, PowerUserAccess, IAMFullAccess, ...).
pub const ALLOWED_MANAGED_POLICIES: &[&str] = &[
    "arn:aws:iam::aws:policy/SecurityAudit",
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
];

/// Whether a role may carry the managed policy `arn`: on the allow-list
/// (in any partition), or among `extra` (the stack's parameter).
pub fn managed_policy_allowed(arn: &str, extra: &[String]) -> bool {
    if extra.iter().any(|e| e == arn) {
        return true;
    }
    // arn:<partition>:iam::aws:policy/<path/name>
    let Some(rest) = arn.strip_prefix("arn:") else {
        return false;
    };
    let Some((_partition, tail)) = rest.split_once(':') else {
        return false;
    };
    ALLOWED_MANAGED_POLICIES
        .iter()
        .any(|allowed| allowed.strip_prefix("arn:aws:") == Some(tail))
}

/// A policy document allowing `actions` on every resource.
pub fn allow_all_resources(actions: &[&str]) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]
    })
}

/// The trust policy of a vendor role: only `sts:AssumeRole`, only from the
/// vendor's account root, with `StringEquals` on `sts:ExternalId` whenever an
/// external ID exists.
pub fn trust_policy(principal: &TrustPrincipal, external_id: Option<&Secret>) -> Value {
    let mut statement = json!({
        "Effect": "Allow",
        "Principal": {"AWS": principal.arn()},
        "Action": "sts:AssumeRole",
    });
    if let Some(id) = external_id {
        statement["Condition"] = json!({"StringEquals": {"sts:ExternalId": id.expose()}});
    }
    json!({"Version": "2012-10-17", "Statement": [statement]})
}

/// Parses a policy document as IAM returns it: URL-encoded JSON (RFC 3986),
/// as both real IAM and the emulator send it; plain JSON is accepted too.
pub fn decode_policy(raw: &str) -> Option<Value> {
    if let Ok(v) = serde_json::from_str(raw) {
        return Some(v);
    }
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?;
    serde_json::from_str(&decoded).ok()
}

/// Whether two policy documents mean the same thing: statement and value
/// lists compared as sets, a single string equal to a one-element list.
pub fn equivalent(a: &Value, b: &Value) -> bool {
    normalize(a) == normalize(b)
}

/// Keys whose values IAM accepts as a string or a list of strings.
const LIST_KEYS: &[&str] = &["Action", "NotAction", "Resource", "NotResource"];

fn normalize(doc: &Value) -> Value {
    let Some(obj) = doc.as_object() else {
        return doc.clone();
    };
    let mut out = obj.clone();
    if let Some(statements) = obj.get("Statement") {
        let list = match statements {
            Value::Array(items) => items.iter().map(normalize_statement).collect(),
            single => vec![normalize_statement(single)],
        };
        out.insert("Statement".into(), sorted(list));
    }
    Value::Object(out)
}

fn normalize_statement(statement: &Value) -> Value {
    let Some(obj) = statement.as_object() else {
        return statement.clone();
    };
    let mut out = Map::new();
    for (key, value) in obj {
        let value = if LIST_KEYS.contains(&key.as_str()) {
            as_string_set(value)
        } else if key == "Principal" || key == "NotPrincipal" {
            map_values(value, as_string_set)
        } else if key == "Condition" {
            map_values(value, |keys| map_values(keys, as_string_set))
        } else {
            value.clone()
        };
        out.insert(key.clone(), value);
    }
    Value::Object(out)
}

fn map_values(value: &Value, f: impl Fn(&Value) -> Value) -> Value {
    match value.as_object() {
        Some(obj) => Value::Object(obj.iter().map(|(k, v)| (k.clone(), f(v))).collect()),
        None => value.clone(),
    }
}

fn as_string_set(value: &Value) -> Value {
    match value {
        Value::Array(items) => sorted(items.clone()),
        single => Value::Array(vec![single.clone()]),
    }
}

fn sorted(mut items: Vec<Value>) -> Value {
    items.sort_by_key(|v| v.to_string());
    items.dedup();
    Value::Array(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> TrustPrincipal {
        TrustPrincipal::Account("999988887777".parse().unwrap())
    }

    #[test]
    fn trust_policy_with_external_id_allows_only_assume_role_from_root() {
        let ext = Secret::new("ext-123456789");
        let doc = trust_policy(&account(), Some(&ext));
        assert_eq!(
            doc,
            json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::999988887777:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "ext-123456789"}}
            }]})
        );
    }

    #[test]
    fn an_exact_principal_is_trusted_by_its_arn_and_passes_without_an_external_id() {
        let principal: TrustPrincipal = "arn:aws:iam::999988887777:role/Connector".parse().unwrap();
        let doc = trust_policy(&principal, None);
        assert_eq!(
            doc["Statement"][0]["Principal"]["AWS"],
            "arn:aws:iam::999988887777:role/Connector"
        );
        assert!(doc["Statement"][0].get("Condition").is_none());
        let trust = TrustParameters {
            principal,
            external_id: None,
        };
        assert_eq!(trust.check_second_factor(), Ok(()));
    }

    #[test]
    fn a_whole_account_without_an_external_id_is_refused() {
        let trust = TrustParameters {
            principal: account(),
            external_id: None,
        };
        let err = trust.check_second_factor().unwrap_err();
        assert!(err.contains("whole AWS account 999988887777"), "{err}");
        let with_id = TrustParameters {
            principal: account(),
            external_id: Some(Secret::new("ext-123456789")),
        };
        assert_eq!(with_id.check_second_factor(), Ok(()));
    }

    #[test]
    fn principals_parse_as_accounts_or_exact_user_and_role_arns_only() {
        for account in ["999988887777", "arn:aws:iam::999988887777:root"] {
            assert_eq!(account.parse::<TrustPrincipal>(), Ok(self::account()));
        }
        for exact in [
            "arn:aws:iam::999988887777:role/Connector",
            "arn:aws:iam::999988887777:role/path/to/Connector",
            "arn:aws:iam::999988887777:user/stellar",
            "arn:aws-us-gov:iam::999988887777:role/Connector",
        ] {
            let parsed: TrustPrincipal = exact.parse().unwrap();
            assert!(matches!(parsed, TrustPrincipal::Exact(_)), "{exact}");
            assert_eq!(parsed.arn(), exact);
            assert_eq!(parsed.account().as_str(), "999988887777");
        }
        for bad in [
            "*",
            "arn:aws:iam::*:role/Connector",
            "arn:aws:iam::999988887777:role/*",
            "arn:aws:iam::999988887777:role/",
            "arn:aws:iam::999988887777:group/admins",
            "arn:aws:sts::999988887777:assumed-role/Connector/session",
            "arn:aws:iam:us-east-1:999988887777:role/Connector",
            "arn:aws:iam::99998888777:role/Connector",
            "arn:aws:iam::999988887777:root:x",
            "",
        ] {
            assert!(bad.parse::<TrustPrincipal>().is_err(), "{bad}");
        }
    }

    #[test]
    fn decode_accepts_url_encoded_and_plain_json() {
        let plain = r#"{"Version":"2012-10-17","Statement":[]}"#;
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(decode_policy(plain), decode_policy(encoded));
        assert!(decode_policy(encoded).is_some());
        assert!(decode_policy("%7Bnot json").is_none());
    }

    #[test]
    fn string_and_single_element_list_are_equivalent() {
        let a = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:Get", "Resource": "*",
            "Principal": {"AWS": "arn:aws:iam::1:root"}}});
        let b = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:Get"], "Resource": ["*"],
            "Principal": {"AWS": ["arn:aws:iam::1:root"]}}]});
        assert!(equivalent(&a, &b));
    }

    #[test]
    fn action_order_does_not_matter_but_content_does() {
        let a =
            json!({"Statement": [{"Effect": "Allow", "Action": ["a:B", "a:A"], "Resource": "*"}]});
        let b =
            json!({"Statement": [{"Effect": "Allow", "Action": ["a:A", "a:B"], "Resource": "*"}]});
        let c =
            json!({"Statement": [{"Effect": "Allow", "Action": ["a:A", "a:C"], "Resource": "*"}]});
        assert!(equivalent(&a, &b));
        assert!(!equivalent(&a, &c));
    }

    #[test]
    fn changed_external_id_is_not_equivalent() {
        let a = trust_policy(&account(), Some(&Secret::new("one-external-id")));
        let b = trust_policy(&account(), Some(&Secret::new("two-external-id")));
        let c = trust_policy(&account(), None);
        assert!(!equivalent(&a, &b));
        assert!(!equivalent(&a, &c));
    }

    #[test]
    fn extra_statement_is_not_equivalent() {
        let a = trust_policy(&account(), None);
        let mut b = a.clone();
        b["Statement"].as_array_mut().unwrap().push(json!({
            "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}));
        assert!(!equivalent(&a, &b));
    }
}
