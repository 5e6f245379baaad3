//! The session policy every AssumeRole into a member account passes.
//!
//! The member access role is usually administrator of its account. A
//! session policy narrows a session to the intersection of the role's own
//! policies and itself, so each session vendorlink opens can do only what
//! its step does, and only to the one vendor role the step is about:
//!
//! - [`SessionPurpose::Inspect`] (reconcile's report, the first half of
//!   ensure): read the role, its tags and its policies. Nothing else.
//! - [`SessionPurpose::Ensure`]: also create the role (only with vendorlink's
//!   tag), tag it, rewrite its trust, put and delete its inline policy,
//!   detach policies, attach only the managed policies of the spec, and
//!   delete it (a role this step created and could not complete).
//! - [`SessionPurpose::Delete`] (offboarding): read, then detach, delete
//!   inline policies and delete the role, only while it carries vendorlink's
//!   tag.

use serde_json::{json, Value};

use crate::ids::AccountId;

use super::TAG_MANAGED_BY;

/// What a member-account session is opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionPurpose {
    Inspect,
    Ensure,
    Delete,
}

impl SessionPurpose {
    /// The session name's suffix (CloudTrail shows it).
    pub fn as_str(self) -> &'static str {
        match self {
            SessionPurpose::Inspect => "inspect",
            SessionPurpose::Ensure => "ensure",
            SessionPurpose::Delete => "delete",
        }
    }
}

/// Reading a role and its policies.
pub const READ_ACTIONS: &[&str] = &[
    "iam:GetRole",
    "iam:ListRoleTags",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:GetRolePolicy",
];

/// Changing a role's trust and inline policy, and removing what the spec
/// does not hold.
pub const CHANGE_ACTIONS: &[&str] = &[
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:DeleteRole",
];

/// Taking a role apart.
pub const DELETE_ACTIONS: &[&str] = &[
    "iam:DetachRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:DeleteRole",
];

/// The session policy for `purpose` on the role `role_name` in `account`;
/// `managed_policies` are the only policies an ensure session may attach.
pub fn session_policy(
    purpose: SessionPurpose,
    account: &AccountId,
    role_name: &str,
    managed_policies: &[String],
) -> Value {
    let role = format!("arn:aws:iam::{account}:role/{role_name}");
    let mut statements = vec![json!({
        "Sid": "ReadTheVendorRole",
        "Effect": "Allow",
        "Action": READ_ACTIONS,
        "Resource": role,
    })];
    match purpose {
        SessionPurpose::Inspect => {}
        SessionPurpose::Ensure => {
            statements.push(json!({
                "Sid": "CreateItTaggedAsVendorlinks",
                "Effect": "Allow",
                "Action": ["iam:CreateRole", "iam:TagRole"],
                "Resource": role,
                "Condition": {"StringEquals": {
                    format!("aws:RequestTag/{TAG_MANAGED_BY}"): "vendorlink"
                }},
            }));
            statements.push(json!({
                "Sid": "ChangeIt",
                "Effect": "Allow",
                "Action": CHANGE_ACTIONS,
                "Resource": role,
            }));
            if !managed_policies.is_empty() {
                statements.push(json!({
                    "Sid": "AttachOnlyTheSpecsPolicies",
                    "Effect": "Allow",
                    "Action": "iam:AttachRolePolicy",
                    "Resource": role,
                    "Condition": {"ArnEquals": {"iam:PolicyARN": managed_policies}},
                }));
            }
        }
        SessionPurpose::Delete => {
            statements.push(json!({
                "Sid": "DeleteItOnlyWhileItIsVendorlinks",
                "Effect": "Allow",
                "Action": DELETE_ACTIONS,
                "Resource": role,
                "Condition": {"StringEquals": {
                    format!("aws:ResourceTag/{TAG_MANAGED_BY}"): "vendorlink"
                }},
            }));
        }
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> AccountId {
        "222233334444".parse().unwrap()
    }

    fn actions(doc: &Value) -> Vec<String> {
        doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| match &s["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Array(list) => list
                    .iter()
                    .map(|a| a.as_str().unwrap().to_owned())
                    .collect(),
                _ => vec![],
            })
            .collect()
    }

    #[test]
    fn every_statement_names_only_the_one_role_and_no_wildcard() {
        for purpose in [
            SessionPurpose::Inspect,
            SessionPurpose::Ensure,
            SessionPurpose::Delete,
        ] {
            let doc = session_policy(
                purpose,
                &account(),
                "cloudcraft",
                &["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
            );
            for statement in doc["Statement"].as_array().unwrap() {
                assert_eq!(statement["Effect"], "Allow");
                assert_eq!(
                    statement["Resource"],
                    "arn:aws:iam::222233334444:role/cloudcraft"
                );
            }
            assert!(actions(&doc)
                .iter()
                .all(|a| a.starts_with("iam:") && !a.contains('*')));
        }
    }

    #[test]
    fn an_inspect_session_only_reads() {
        let doc = session_policy(SessionPurpose::Inspect, &account(), "r", &[]);
        let actions = actions(&doc);
        assert!(!actions.is_empty());
        for action in actions {
            assert!(
                action.starts_with("iam:Get") || action.starts_with("iam:List"),
                "{action}"
            );
        }
    }

    #[test]
    fn an_ensure_session_attaches_only_the_spec_s_policies_and_creates_only_tagged_roles() {
        let policies = vec![
            "arn:aws:iam::aws:policy/SecurityAudit".to_owned(),
            "arn:aws:iam::aws:policy/ReadOnlyAccess".to_owned(),
        ];
        let doc = session_policy(SessionPurpose::Ensure, &account(), "r", &policies);
        let statements = doc["Statement"].as_array().unwrap();
        let attach = statements
            .iter()
            .find(|s| s["Action"] == "iam:AttachRolePolicy")
            .unwrap();
        assert_eq!(
            attach["Condition"]["ArnEquals"]["iam:PolicyARN"],
            json!(policies)
        );
        let create = statements
            .iter()
            .find(|s| {
                s["Action"]
                    .as_array()
                    .is_some_and(|a| a.contains(&json!("iam:CreateRole")))
            })
            .unwrap();
        assert_eq!(
            create["Condition"]["StringEquals"]["aws:RequestTag/vendorlink:managed-by"],
            "vendorlink"
        );
        // No managed policy in the spec: no attach at all.
        let none = session_policy(SessionPurpose::Ensure, &account(), "r", &[]);
        assert!(!actions(&none).contains(&"iam:AttachRolePolicy".to_owned()));
    }

    #[test]
    fn a_delete_session_deletes_only_a_role_tagged_as_vendorlink_s() {
        let doc = session_policy(SessionPurpose::Delete, &account(), "r", &[]);
        let statements = doc["Statement"].as_array().unwrap();
        for statement in statements {
            let acts = actions(&json!({"Statement": [statement]}));
            if acts.iter().any(|a| DELETE_ACTIONS.contains(&a.as_str())) {
                assert_eq!(
                    statement["Condition"]["StringEquals"]["aws:ResourceTag/vendorlink:managed-by"],
                    "vendorlink"
                );
            }
        }
        assert!(!actions(&doc).contains(&"iam:CreateRole".to_owned()));
        assert!(!actions(&doc).contains(&"iam:AttachRolePolicy".to_owned()));
    }

    #[test]
    fn the_largest_session_policy_fits_sts_s_limit() {
        // STS refuses a session policy over 2,048 characters.
        let policies: Vec<String> = (0..10)
            .map(|i| format!("arn:aws:iam::123456789012:policy/path/to/vendor-policy-{i:02}"))
            .collect();
        let name = "r".repeat(64);
        let doc = session_policy(SessionPurpose::Ensure, &account(), &name, &policies);
        let len = doc.to_string().len();
        assert!(len <= 2048, "{len}");
    }
}
