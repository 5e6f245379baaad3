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

/// Who may assume a vendor role: the vendor's AWS account, with an external
/// ID condition when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustParameters {
    pub principal: AccountId,
    pub external_id: Option<Secret>,
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
pub fn trust_policy(principal: &AccountId, external_id: Option<&Secret>) -> Value {
    let mut statement = json!({
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{principal}:root")},
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

    fn account() -> AccountId {
        "999988887777".parse().unwrap()
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
    fn trust_policy_without_external_id_has_no_condition() {
        let doc = trust_policy(&account(), None);
        assert!(doc["Statement"][0].get("Condition").is_none());
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
