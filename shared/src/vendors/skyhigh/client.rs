//! Skyhigh Security (docs/vendors/skyhigh.md). Basic auth on
//! `/shndlpapi/v1/aws/...`. Trust details come from `trustDetails`; accounts
//! are looked up in `provisionedAccounts`, added with `provisionAccounts`
//! (when the instance has none yet) or `addAccounts`, removed with
//! `deleteAccounts`. Since release 5.4.0 those answer "being processed, call
//! provisionStatus/{id}", and `provisionStatus/{id}` tells the outcome.

use std::collections::HashSet;

use async_trait::async_trait;
use reqwest::{Method, RequestBuilder};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::Result;
use crate::ids::AccountId;
use crate::secret::Secret;
use super::secret::SkyhighSecret;
use crate::policy::TrustParameters;
use crate::vendor_name::VendorName;
use crate::vendors::api::{
    AccountToRegister, Deregistration, Registration, RegistrationStatus, Vendor,
};
use crate::vendors::endpoint::VendorEndpoint;
use crate::vendors::http::VendorCall;

const API: &str = "/shndlpapi/v1/aws";

#[derive(Debug, Deserialize)]
struct TrustDetails {
    #[serde(rename = "Skyhigh CASB AWS Account ID")]
    account_id: String,
    #[serde(rename = "External ID")]
    external_id: Secret,
}

/// Every Skyhigh account-management answer: `status`, `statusMessage`,
/// `errors`, and whatever else a release adds (kept to look for an id).
#[derive(Debug, Deserialize)]
struct Answer {
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
enum Outcome {
    /// Accepted for processing: poll `provisionStatus/{id}`.
    Processing(String),
    Done(RegistrationStatus),
}

pub struct Skyhigh {
    api: VendorEndpoint,
    secret: SkyhighSecret,
    /// The provisioned roles, listed once for `is_registered` (one listing
    /// answers for every account of a reconcile run).
    listed: tokio::sync::OnceCell<HashSet<String>>,
}

impl Skyhigh {
    pub fn new(api: VendorEndpoint, secret: SkyhighSecret) -> Self {
        Skyhigh {
            api,
            secret,
            listed: tokio::sync::OnceCell::new(),
        }
    }

    fn call<'a>(&'a self, doing: &'a str) -> VendorCall<'a> {
        self.api.call(doing)
    }

    fn authed(&self, method: Method, path: &str) -> RequestBuilder {
        self.api.authed(method, &format!("{API}/{path}"))
    }

    async fn provisioned_roles(&self) -> Result<Vec<String>> {
        let call = self.call("listing provisioned accounts");
        let response = self
            .api
            .http
            .get(&call, || {
                self.authed(Method::GET, "provisionedAccounts")
                    .query(&[("instanceName", &self.secret.instance_name)])
            })
            .await;
        match response {
            Ok(response) => call.json(response).await,
            // An instance that does not exist yet has no accounts.
            Err(err) if err.http_status() == Some(404) => Ok(Vec::new()),
            Err(err) => Err(err),
        }
    }

    fn account_entry(&self, account: &AccountToRegister, with_buckets: bool) -> Value {
        let mut entry =
            json!({"assumedRole": account.role_arn, "accountName": account.account_name});
        if let (true, Some(buckets)) = (with_buckets, &self.secret.aws_bucket_names) {
            entry["awsBucketNames"] = json!(buckets);
        }
        entry
    }
}

#[async_trait]
impl Vendor for Skyhigh {
    fn name(&self) -> VendorName {
        VendorName::Skyhigh
    }

    async fn trust_parameters(&self) -> Result<TrustParameters> {
        let call = self.call("reading the trust details");
        let response = self
            .api
            .http
            .get(&call, || self.authed(Method::GET, "trustDetails"))
            .await?;
        let details: TrustDetails = call.json(response).await?;
        let principal: AccountId = details
            .account_id
            .parse()
            .map_err(|e| call.unexpected(&format!("trustDetails account id: {e}")))?;
        Ok(TrustParameters {
            principal,
            external_id: Some(details.external_id),
        })
    }

    async fn register(&self, account: &AccountToRegister) -> Result<Registration> {
        let provisioned = self.provisioned_roles().await?;
        if provisioned.contains(&account.role_arn) {
            return Ok(Registration {
                reference: format!("provisioned:{}", self.secret.instance_name),
                status: RegistrationStatus::Active,
            });
        }
        // The tenant's single AWS instance is created by provisionAccounts;
        // once it has accounts, more are added with addAccounts.
        let (call, request) = if provisioned.is_empty() {
            let mut body =
                serde_json::to_value(&self.secret.provision_options).unwrap_or_else(|_| json!({}));
            body["awsAccounts"] = json!([self.account_entry(account, true)]);
            body["instanceName"] = json!(self.secret.instance_name);
            (
                self.call("provisioning the account"),
                self.authed(Method::POST, "provisionAccounts").json(&body),
            )
        } else {
            let mut body = json!({
                "awsAccounts": [self.account_entry(account, true)],
                "instanceName": self.secret.instance_name,
            });
            if let Some(ignore) = self.secret.provision_options.ignore_errors {
                body["ignoreErrors"] = json!(ignore);
            }
            (
                self.call("adding the account"),
                self.authed(Method::PUT, "addAccounts").json(&body),
            )
        };
        let response = self.api.http.send(&call, request).await?;
        let answer: Answer = call.json(response).await?;
        match interpret(&answer, &call)? {
            Outcome::Processing(id) => Ok(Registration {
                reference: id,
                status: RegistrationStatus::Pending,
            }),
            Outcome::Done(status) => Ok(Registration {
                reference: format!("provisioned:{}", self.secret.instance_name),
                status,
            }),
        }
    }

    async fn status(&self, _: &AccountToRegister, reference: &str) -> Result<RegistrationStatus> {
        if reference.starts_with("provisioned:") {
            return Ok(RegistrationStatus::Active);
        }
        let call = self.call("reading the provisioning status");
        let path = format!("provisionStatus/{reference}");
        let response = self
            .api
            .http
            .get(&call, || self.authed(Method::GET, &path))
            .await?;
        let answer: Answer = call.json(response).await?;
        Ok(status_of(&answer))
    }

    async fn deregister(&self, account: &AccountToRegister) -> Result<Deregistration> {
        if !self.provisioned_roles().await?.contains(&account.role_arn) {
            return Ok(Deregistration::NotFound);
        }
        let call = self.call("deleting the account");
        let request = self.authed(Method::DELETE, "deleteAccounts").json(&json!({
            "awsAccounts": [self.account_entry(account, false)],
            "instanceName": self.secret.instance_name,
        }));
        let response = self.api.http.send(&call, request).await?;
        let answer: Answer = call.json(response).await?;
        match interpret(&answer, &call)? {
            Outcome::Processing(reference) => Ok(Deregistration::Pending { reference }),
            Outcome::Done(RegistrationStatus::Failed { reason }) => Err(call.unexpected(&reason)),
            Outcome::Done(_) => Ok(Deregistration::Removed),
        }
    }

    /// Answered from one listing per client; registering asks afresh.
    async fn is_registered(&self, account: &AccountToRegister) -> Result<Option<bool>> {
        let listed = self
            .listed
            .get_or_try_init(|| async {
                Ok::<_, crate::error::Error>(self.provisioned_roles().await?.into_iter().collect())
            })
            .await?;
        Ok(Some(listed.contains(&account.role_arn)))
    }
}

fn is_processing(message: &str) -> bool {
    message.to_ascii_lowercase().contains("being processed")
}

/// Reads the immediate answer of provisionAccounts/addAccounts/deleteAccounts.
fn interpret(answer: &Answer, call: &VendorCall<'_>) -> Result<Outcome> {
    if let Some(id) = status_id(answer) {
        if answer.status != "FAILURE" {
            return Ok(Outcome::Processing(id));
        }
    }
    if answer.status == "SUCCESS" && is_processing(&answer.status_message) {
        return Err(call.unexpected(&format!(
            "Skyhigh accepted the request but its answer names no provisionStatus id to follow \
             (statusMessage: {:?}); check the request in the Skyhigh console",
            answer.status_message
        )));
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
fn status_id(answer: &Answer) -> Option<String> {
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
fn status_of(answer: &Answer) -> RegistrationStatus {
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
            RegistrationStatus::Failed { reason }
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
    fn processing_without_an_id_fails_clearly() {
        let secret = Secret::new("pw");
        let call = VendorCall::new(VendorName::Skyhigh, "adding the account", &[&secret]);
        let a = answer(
            json!({"status": "SUCCESS", "statusMessage": "The request is being processed."}),
        );
        let err = interpret(&a, &call).unwrap_err();
        assert_eq!(err.error_type(), "Fatal.Vendor");
        assert!(
            err.message().contains("names no provisionStatus id"),
            "{err}"
        );
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
        assert_eq!(failed, RegistrationStatus::Failed {
            reason: "Accounts with Failed Authentication: [r]; r: {User: x is not authorized to perform: sts:AssumeRole}. Permissions required".into()
        });
        assert_eq!(
            status_of(&answer(json!({"status": "QUEUED_SOMEWHERE"}))),
            RegistrationStatus::Pending
        );
    }
}
