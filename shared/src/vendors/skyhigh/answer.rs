//! Skyhigh's answers to account management: what `provisionAccounts`,
//! `addAccounts`, `deleteAccounts` and `provisionStatus/{id}` mean
//! (docs/vendors/skyhigh.md).

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::Result;
use crate::vendors::api::{role_not_assumable, RegistrationStatus};
use crate::vendors::http::VendorCall;

/// Every Skyhigh account-management answer: `status`, `statusMessage`,
/// `errors`, and whatever else a release adds (kept to look for an id).
#[derive(Debug, Deserialize)]
pub(super) struct Answer {
    #[serde(default)]
    status: String,
    #[serde(default, rename = "statusMessage")]
    status_message: String,
    #[serde(default)]
    errors: Option<Value>,
    #[serde(flatten)]
    other: Map<String, Value>,
}

/// What an answer means.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Accepted for processing: poll `provisionStatus/{id}`.
    Processing(String),
    /// Accepted for processing, with no id to poll (where the id comes from
    /// is undocumented): watch `provisionedAccounts` instead.
    ProcessingUntracked,
    Done(RegistrationStatus),
}

fn is_processing(message: &str) -> bool {
    message.to_ascii_lowercase().contains("being processed")
}

/// Reads the immediate answer of provisionAccounts/addAccounts/deleteAccounts.
pub(super) fn interpret(answer: &Answer, call: &VendorCall<'_>) -> Result<Outcome> {
    if let Some(id) = status_id(answer) {
        if answer.status != "FAILURE" {
            return Ok(Outcome::Processing(id));
        }
    }
    if answer.status == "SUCCESS" && is_processing(&answer.status_message) {
        return Ok(Outcome::ProcessingUntracked);
    }
    match answer.status.as_str() {
        // Pre-5.4.0 answers are synchronous.
        "SUCCESS" | "SUCCESSFUL_WITH_ERRORS" | "FAILURE" => Ok(Outcome::Done(status_of(answer))),
        other => Err(call.unexpected(&format!(
            "unknown status {other:?} without a provisionStatus id"
        ))),
    }
}

/// The id to poll: a field a release may add, or the id in the URL of
/// `statusMessage` ("... call this API https://.../provisionStatus/{id} ...").
pub(super) fn status_id(answer: &Answer) -> Option<String> {
    for key in ["id", "requestId", "provisionId", "statusId", "trackingId"] {
        match answer.other.get(key) {
            Some(Value::String(s)) if is_id(s) => return Some(s.clone()),
            Some(Value::Number(n)) => return Some(n.to_string()),
            _ => {}
        }
    }
    let (_, rest) = answer.status_message.split_once("provisionStatus/")?;
    let id: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    is_id(&id).then_some(id)
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Reads a provisionStatus answer.
pub(super) fn status_of(answer: &Answer) -> RegistrationStatus {
    match answer.status.as_str() {
        "SUCCESS" if is_processing(&answer.status_message) => RegistrationStatus::Pending,
        "SUCCESS" => RegistrationStatus::Active,
        "SUCCESSFUL_WITH_ERRORS" => RegistrationStatus::ActiveWithWarnings {
            warnings: error_lines(answer.errors.as_ref()),
        },
        "FAILURE" => {
            let mut reason = answer.status_message.clone();
            for line in error_lines(answer.errors.as_ref()) {
                reason.push_str("; ");
                reason.push_str(&line);
            }
            // Skyhigh could not assume a role IAM had not propagated yet:
            // submitting the account again later succeeds.
            if role_not_assumable(&reason) {
                RegistrationStatus::Stalled { reason }
            } else {
                RegistrationStatus::Failed { reason }
            }
        }
        // Unknown values are tolerated: keep polling; the state machine's
        // attempt bound ends it if it never settles.
        other => {
            tracing::warn!(
                vendor = "skyhigh",
                status = other,
                "unknown provisionStatus value"
            );
            RegistrationStatus::Pending
        }
    }
}

/// `errors` is keyed by role ARN; each value says what is wrong.
fn error_lines(errors: Option<&Value>) -> Vec<String> {
    match errors {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(role, v)| {
                let text = v
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string());
                format!(
                    "{role}: {}",
                    text.split_whitespace().collect::<Vec<_>>().join(" ")
                )
            })
            .collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use crate::vendor_name::VendorName;
    use serde_json::json;

    fn answer(v: Value) -> Answer {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn status_id_is_found_in_the_status_message_url() {
        let a = answer(json!({"status": "SUCCESS", "errors": null,
            "statusMessage": "The request is being processed. Please call this API https://www.myshn.net/shndlpapi/v1/aws/provisionStatus/8f2c-77 to get the status."}));
        assert_eq!(status_id(&a).as_deref(), Some("8f2c-77"));
        let relative = answer(json!({"status": "SUCCESS",
            "statusMessage": "The request is being processed. Please call this API /shndlpapi/v1/aws/provisionStatus/12345 to get the status"}));
        assert_eq!(status_id(&relative).as_deref(), Some("12345"));
    }

    #[test]
    fn status_id_field_wins_and_placeholder_is_not_an_id() {
        let a = answer(json!({"status": "SUCCESS", "id": 991,
            "statusMessage": "The request is being processed. Please call this API /provisionStatus/{id} to get the status"}));
        assert_eq!(status_id(&a).as_deref(), Some("991"));
        let placeholder = answer(json!({"status": "SUCCESS",
            "statusMessage": "The request is being processed. Please call this API /provisionStatus/{id} to get the status"}));
        assert_eq!(status_id(&placeholder), None);
    }

    #[test]
    fn processing_without_an_id_is_followed_through_the_listing() {
        let call = VendorCall::new(VendorName::Skyhigh, "adding the account", &[]);
        let outcome = interpret(
            &answer(json!({"status": "SUCCESS", "statusMessage": "The request is being processed",
                           "errors": null})),
            &call,
        )
        .unwrap();
        assert_eq!(outcome, Outcome::ProcessingUntracked);
    }

    #[test]
    fn deprecated_synchronous_answers_are_understood() {
        let secret = Secret::new("pw");
        let call = VendorCall::new(VendorName::Skyhigh, "adding", &[&secret]);
        let ok = answer(json!({"status": "SUCCESS", "statusMessage": "SUCCESS", "errors": null}));
        assert_eq!(
            interpret(&ok, &call).unwrap(),
            Outcome::Done(RegistrationStatus::Active)
        );
        let warn = answer(
            json!({"status": "SUCCESSFUL_WITH_ERRORS", "statusMessage": "Successfully added the accounts: [r]",
            "errors": {"arn:aws:iam::1:role/r": "Role=r does not have the following permissions=ec2:DescribeImages"}}),
        );
        assert_eq!(
            interpret(&warn, &call).unwrap(),
            Outcome::Done(RegistrationStatus::ActiveWithWarnings {
                warnings: vec!["arn:aws:iam::1:role/r: Role=r does not have the following permissions=ec2:DescribeImages".into()]
            })
        );
    }

    #[test]
    fn provision_status_values() {
        assert_eq!(
            status_of(&answer(
                json!({"status": "SUCCESS", "statusMessage": "The request is being processed"})
            )),
            RegistrationStatus::Pending
        );
        assert_eq!(
            status_of(&answer(
                json!({"status": "SUCCESS", "statusMessage": "Success"})
            )),
            RegistrationStatus::Active
        );
        let failed = status_of(&answer(
            json!({"status": "FAILURE", "statusMessage": "Accounts with Failed Authentication: [r]",
            "errors": {"r": "{User: x is not authorized to perform: sts:AssumeRole}.\n   Permissions required"}}),
        ));
        assert_eq!(failed, RegistrationStatus::Stalled {
            reason: "Accounts with Failed Authentication: [r]; r: {User: x is not authorized to perform: sts:AssumeRole}. Permissions required".into()
        });
        let refused = status_of(&answer(
            json!({"status": "FAILURE", "statusMessage": "Invalid instance"}),
        ));
        assert_eq!(refused, RegistrationStatus::Failed { reason: "Invalid instance".into() });
        assert_eq!(
            status_of(&answer(json!({"status": "QUEUED_SOMEWHERE"}))),
            RegistrationStatus::Pending
        );
    }
}
