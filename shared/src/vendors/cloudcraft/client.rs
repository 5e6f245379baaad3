//! Cloudcraft (docs/vendors/cloudcraft.md).
//! Trust parameters come from `GET /aws/account/iamParameters`; an account is
//! registered by role ARN (looked up in `GET /aws/account` first), active as
//! soon as `POST /aws/account` answers 201, and removed by id.

use std::collections::HashSet;

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use crate::error::Result;
use crate::secret::Secret;
use super::secret::CloudcraftSecret;
use crate::policy::TrustParameters;
use crate::vendor_name::VendorName;
use crate::vendors::api::{
    issued_trust,
    AccountToRegister, Deregistration, Registration, RegistrationStatus, Vendor,
};
use crate::vendors::endpoint::VendorEndpoint;

const ACCOUNTS: &str = "/aws/account";
const IAM_PARAMETERS: &str = "/aws/account/iamParameters";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IamParameters {
    account_id: String,
    external_id: Secret,
}

#[derive(Debug, Deserialize)]
struct AccountList {
    #[serde(default)]
    accounts: Vec<CloudcraftAccount>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CloudcraftAccount {
    id: String,
    #[serde(default)]
    role_arn: String,
}

pub struct Cloudcraft {
    api: VendorEndpoint,
    secret: CloudcraftSecret,
    /// The role ARNs Cloudcraft listed the first time `is_registered` asked:
    /// one `GET /aws/account` answers for every account, and a reconcile of
    /// N accounts must not spend N of the 20 requests a minute on it.
    /// Concurrent first askers wait for the one listing.
    listed: tokio::sync::OnceCell<HashSet<String>>,
}

impl Cloudcraft {
    pub fn new(api: VendorEndpoint, secret: CloudcraftSecret) -> Self {
        Cloudcraft {
            api,
            secret,
            listed: tokio::sync::OnceCell::new(),
        }
    }



    async fn list(&self) -> Result<Vec<CloudcraftAccount>> {
        let call = self.api.call("listing AWS accounts");
        let response = self
            .api
            .http
            .get(&call, || self.api.authed(Method::GET, ACCOUNTS))
            .await?;
        let list: AccountList = call.json(response).await?;
        Ok(list.accounts)
    }

    async fn find(&self, role_arn: &str) -> Result<Option<CloudcraftAccount>> {
        Ok(self
            .list()
            .await?
            .into_iter()
            .find(|a| a.role_arn == role_arn))
    }
}

#[async_trait]
impl Vendor for Cloudcraft {
    fn name(&self) -> VendorName {
        VendorName::Cloudcraft
    }

    async fn trust_parameters(&self) -> Result<TrustParameters> {
        let call = self.api.call("reading the IAM role parameters");
        let response = self
            .api
            .http
            .get(&call, || self.api.authed(Method::GET, IAM_PARAMETERS))
            .await?;
        let params: IamParameters = call.json(response).await?;
        issued_trust(
            &call,
            "iamParameters.accountId",
            &params.account_id,
            params.external_id,
        )
    }

    async fn register(&self, account: &AccountToRegister) -> Result<Registration> {
        // A backfill read the listing once for its whole batch and it lacked
        // the account, with no attempt since (`AccountToRegister::unlisted`):
        // one request per account instead of two.
        if !account.unlisted {
            if let Some(existing) = self.find(&account.role_arn).await? {
                return Ok(Registration {
                    reference: existing.id,
                    status: RegistrationStatus::Active,
                });
            }
        }
        let call = self.api.call("adding the AWS account");
        let request = self.api.authed(Method::POST, ACCOUNTS).json(&json!({
            "name": account.account_name,
            "roleArn": account.role_arn,
            "region": self.secret.region,
        }));
        let response = match self.api.http.send(&call, request).await {
            Ok(response) => response,
            // Cloudcraft assumes the role at once to validate it and answers
            // 400 when it cannot (notes: "Cloudcraft answers 400 on POST");
            // right after the role is created IAM may not have propagated
            // it yet. register-account waits for it while the role is new.
            Err(err) if err.http_status() == Some(400) => return Err(err.role_refusal()),
            Err(err) => return Err(err),
        };
        let created: CloudcraftAccount = call.json(response).await?;
        Ok(Registration {
            reference: created.id,
            status: RegistrationStatus::Active,
        })
    }

    /// No status endpoint: an account still listed is active.
    async fn status(&self, account: &AccountToRegister, _: &str) -> Result<RegistrationStatus> {
        Ok(match self.find(&account.role_arn).await? {
            Some(_) => RegistrationStatus::Active,
            None => RegistrationStatus::Failed {
                reason: format!("Cloudcraft no longer lists role {}", account.role_arn),
            },
        })
    }

    async fn deregister(&self, account: &AccountToRegister) -> Result<Deregistration> {
        let Some(existing) = self.find(&account.role_arn).await? else {
            return Ok(Deregistration::NotFound);
        };
        let call = self.api.call("removing the AWS account");
        let id = crate::vendors::api::path_segment(VendorName::Cloudcraft, "account id", &existing.id)?;
        let request = self.api.authed(Method::DELETE, &format!("{ACCOUNTS}/{id}"));
        match self.api.http.send(&call, request).await {
            Ok(_) => Ok(Deregistration::Removed),
            Err(err) if err.http_status() == Some(404) => Ok(Deregistration::NotFound),
            Err(err) => Err(err),
        }
    }

    fn lists_in_one_request(&self) -> bool {
        true
    }

    /// Answered from one listing per client (a reconcile run makes one
    /// client per vendor); registering and status checks always ask afresh.
    async fn is_registered(&self, account: &AccountToRegister) -> Result<Option<bool>> {
        let listed = self
            .listed
            .get_or_try_init(|| async {
                let accounts = self.list().await?;
                Ok::<_, crate::error::Error>(accounts.into_iter().map(|a| a.role_arn).collect())
            })
            .await?;
        Ok(Some(listed.contains(&account.role_arn)))
    }
}
