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
use serde_json::{json, Value};

use crate::error::Result;
use crate::secret::Secret;
use super::answer::{interpret, status_of, Answer, Outcome};
use super::secret::SkyhighSecret;
use crate::policy::TrustParameters;
use crate::vendor_name::VendorName;
use crate::vendors::api::{
    issued_trust,
    AccountToRegister, Deregistration, Registration, RegistrationStatus, Vendor,
};
use crate::vendors::endpoint::VendorEndpoint;

const API: &str = "/shndlpapi/v1/aws";
/// The reference of an accepted request whose answer named no status id:
/// it is done once `provisionedAccounts` lists the role...
const AWAITING_LISTING: &str = "awaiting-listing";
/// ...or, for a removal, no longer lists it.
const AWAITING_REMOVAL: &str = "awaiting-removal";

#[derive(Debug, Deserialize)]
struct TrustDetails {
    #[serde(rename = "Skyhigh CASB AWS Account ID")]
    account_id: String,
    #[serde(rename = "External ID")]
    external_id: Secret,
}

/// Whether an account entry names the secret's `aws_bucket_names` (adding
/// an account does; removing one does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Buckets {
    Named,
    Omitted,
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


    fn authed(&self, method: Method, path: &str) -> RequestBuilder {
        self.api.authed(method, &format!("{API}/{path}"))
    }

    async fn provisioned_roles(&self) -> Result<Vec<String>> {
        let call = self.api.call("listing provisioned accounts");
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

    fn account_entry(&self, account: &AccountToRegister, buckets: Buckets) -> Value {
        let mut entry = json!({"assumedRole": account.role_arn});
        // A removed account may have no name left to tell (Skyhigh refuses
        // an empty one; deleteAccounts does not need it).
        if !account.account_name.is_empty() {
            entry["accountName"] = json!(account.account_name);
        }
        if let (Buckets::Named, Some(buckets)) = (buckets, &self.secret.aws_bucket_names) {
            entry["awsBucketNames"] = json!(buckets);
        }
        entry
    }

    /// `ignoreErrors`: the secret's, else `true` as the page's examples send
    /// it (missing permissions then add the account with warnings instead of
    /// failing it).
    fn ignore_errors(&self) -> bool {
        self.secret.provision_options.ignore_errors.unwrap_or(true)
    }

    /// Missing permissions are warnings, or a failure where the secret
    /// says `missing_permissions: "fail"`.
    fn judged(&self, status: RegistrationStatus) -> RegistrationStatus {
        match status {
            RegistrationStatus::ActiveWithWarnings { warnings } if self.secret.fails_on_warnings() => {
                RegistrationStatus::Failed {
                    reason: format!(
                        "Skyhigh added the account with missing permissions, and the secret's \
                         missing_permissions is \"fail\": {}",
                        warnings.join("; ")
                    ),
                }
            }
            other => other,
        }
    }
}

#[async_trait]
impl Vendor for Skyhigh {
    fn name(&self) -> VendorName {
        VendorName::Skyhigh
    }

    async fn trust_parameters(&self) -> Result<TrustParameters> {
        let call = self.api.call("reading the trust details");
        let response = self
            .api
            .http
            .get(&call, || self.authed(Method::GET, "trustDetails"))
            .await?;
        let details: TrustDetails = call.json(response).await?;
        issued_trust(
            &call,
            "trustDetails account id",
            &details.account_id,
            details.external_id,
        )
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
            body["awsAccounts"] = json!([self.account_entry(account, Buckets::Named)]);
            body["instanceName"] = json!(self.secret.instance_name);
            body["ignoreErrors"] = json!(self.ignore_errors());
            (
                self.api.call("provisioning the account"),
                self.authed(Method::POST, "provisionAccounts").json(&body),
            )
        } else {
            let mut body = json!({
                "awsAccounts": [self.account_entry(account, Buckets::Named)],
                "instanceName": self.secret.instance_name,
            });
            body["ignoreErrors"] = json!(self.ignore_errors());
            (
                self.api.call("adding the account"),
                self.authed(Method::PUT, "addAccounts").json(&body),
            )
        };
        let creating = provisioned.is_empty();
        let response = match self.api.http.send(&call, request).await {
            // Skyhigh has one AWS instance per tenant: provisionAccounts under
            // another name than the existing instance's is refused.
            Err(err) if creating && err.http_status() == Some(400) => {
                return Err(call.unexpected(&format!(
                    "provisionAccounts for instance `{}` was refused: Skyhigh keeps one AWS \
                     instance per tenant, so if one exists under another name, set the skyhigh \
                     secret's instance_name to it. Skyhigh said: {}",
                    self.secret.instance_name,
                    err.message()
                )))
            }
            other => other?,
        };
        let answer: Answer = call.json(response).await?;
        match interpret(&answer, &call)? {
            Outcome::Processing(id) => Ok(Registration {
                reference: id,
                status: RegistrationStatus::Pending,
            }),
            Outcome::ProcessingUntracked => Ok(Registration {
                reference: AWAITING_LISTING.into(),
                status: RegistrationStatus::Pending,
            }),
            Outcome::Done(status) => Ok(Registration {
                reference: format!("provisioned:{}", self.secret.instance_name),
                status: self.judged(status),
            }),
        }
    }

    /// A request still being processed is not in `provisionedAccounts`:
    /// while the earlier one is, follow it; once it is done, what it did
    /// shows there and `register` finds it or submits what is missing.
    async fn register_again(
        &self,
        account: &AccountToRegister,
        earlier: &str,
    ) -> Result<Registration> {
        // A request with no status id cannot be followed: what it did shows
        // in the listing, and Skyhigh keys accounts by role, so `register`
        // submitting it again adds nothing twice.
        if !earlier.starts_with("provisioned:") && earlier != AWAITING_LISTING {
            match self.status(account, earlier).await {
                Ok(RegistrationStatus::Pending) => {
                    return Ok(Registration {
                        reference: earlier.to_owned(),
                        status: RegistrationStatus::Pending,
                    })
                }
                Ok(_) => {}
                // An id Skyhigh no longer knows: nothing to follow.
                Err(err) if err.http_status() == Some(404) => {}
                Err(err) => return Err(err),
            }
        }
        self.register(account).await
    }

    async fn status(
        &self,
        account: &AccountToRegister,
        reference: &str,
    ) -> Result<RegistrationStatus> {
        if reference.starts_with("provisioned:") {
            return Ok(RegistrationStatus::Active);
        }
        if reference == AWAITING_LISTING || reference == AWAITING_REMOVAL {
            let listed = self.provisioned_roles().await?.contains(&account.role_arn);
            let done = listed == (reference == AWAITING_LISTING);
            return Ok(if done {
                RegistrationStatus::Active
            } else {
                RegistrationStatus::Pending
            });
        }
        let call = self.api.call("reading the provisioning status");
        let id = crate::vendors::api::path_segment(VendorName::Skyhigh, "request id", reference)?;
        let path = format!("provisionStatus/{id}");
        let response = self
            .api
            .http
            .get(&call, || self.authed(Method::GET, &path))
            .await?;
        let answer: Answer = call.json(response).await?;
        Ok(self.judged(status_of(&answer)))
    }

    async fn deregister(&self, account: &AccountToRegister) -> Result<Deregistration> {
        if !self.provisioned_roles().await?.contains(&account.role_arn) {
            return Ok(Deregistration::NotFound);
        }
        let call = self.api.call("deleting the account");
        let request = self.authed(Method::DELETE, "deleteAccounts").json(&json!({
            "awsAccounts": [self.account_entry(account, Buckets::Omitted)],
            "instanceName": self.secret.instance_name,
        }));
        let response = self.api.http.send(&call, request).await?;
        let answer: Answer = call.json(response).await?;
        match interpret(&answer, &call)? {
            Outcome::Processing(reference) => Ok(Deregistration::Pending { reference }),
            Outcome::ProcessingUntracked => Ok(Deregistration::Pending {
                reference: AWAITING_REMOVAL.into(),
            }),
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
