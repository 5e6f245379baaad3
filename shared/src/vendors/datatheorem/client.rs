//! Data Theorem: one documented call, `POST cloud_authenticators`
//! (docs/vendors/datatheorem.md). No list, status or delete API is public,
//! so registration is active on success, idempotency comes from the ledger,
//! and offboarding is a manual step that is reported, never faked.

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use super::secret::DataTheoremSecret;
use crate::policy::{TrustParameters, TrustPrincipal};
use crate::vendor_name::VendorName;
use crate::vendors::api::{
    AccountToRegister, Deregistration, Registration, RegistrationStatus, Vendor,
};
use crate::vendors::endpoint::VendorEndpoint;

const AUTHENTICATORS: &str = "/apis/api_security/results/v1beta1/cloud_authenticators";
/// `cloud_authenticator_type` 3 is AWS (CloudAuthenticatorTypesEnum).
const AWS_AUTHENTICATOR: u32 = 3;

pub struct DataTheorem {
    api: VendorEndpoint,
    secret: DataTheoremSecret,
}

impl DataTheorem {
    pub fn new(api: VendorEndpoint, secret: DataTheoremSecret) -> Self {
        DataTheorem { api, secret }
    }
}

#[async_trait]
impl Vendor for DataTheorem {
    fn name(&self) -> VendorName {
        VendorName::Datatheorem
    }

    async fn trust_parameters(&self) -> Result<TrustParameters> {
        let external_id = self.secret.trust.external_id.clone().ok_or_else(|| {
            Error::config(
                "datatheorem: the secret has no external_id (it is generated on first use)",
            )
            .for_vendor(VendorName::Datatheorem)
        })?;
        Ok(TrustParameters {
            principal: TrustPrincipal::Account(self.secret.trust.aws_account_id.clone()),
            external_id: Some(external_id),
        })
    }

    async fn register(&self, account: &AccountToRegister) -> Result<Registration> {
        let trust = self.trust_parameters().await?;
        let external_id = trust
            .external_id
            .as_ref()
            .map(|s| s.expose())
            .unwrap_or_default();
        let call = self.api.call("creating the cloud authenticator");
        let body = json!({
            "cloud_authenticator_type": AWS_AUTHENTICATOR,
            "aws_credential": {"role_arn": account.role_arn, "external_id": external_id},
        });
        let request = self.api.authed(Method::POST, AUTHENTICATORS).json(&body);
        let response = self.api.http.send(&call, request).await?;
        // The response shape is not public: keep whatever id it carries. A
        // 2xx means the authenticator exists, even when its body cannot be
        // read; failing here would make the state machine create another.
        let created: Value = call.json(response).await.unwrap_or(Value::Null);
        let reference = ["id", "name", "cloud_authenticator_id"]
            .iter()
            .find_map(|k| created.get(*k).and_then(value_text))
            .unwrap_or_else(|| account.role_arn.clone());
        Ok(Registration {
            reference,
            status: RegistrationStatus::Active,
        })
    }

    /// No status API: a created authenticator is active.
    async fn status(&self, _: &AccountToRegister, _: &str) -> Result<RegistrationStatus> {
        Ok(RegistrationStatus::Active)
    }

    async fn deregister(&self, account: &AccountToRegister) -> Result<Deregistration> {
        Ok(Deregistration::ManualStepRequired {
            instruction: format!(
                "Data Theorem has no public API to remove an AWS cloud authenticator: in the Data Theorem \
                 portal, remove the AWS authenticator for role {} (account {}).",
                account.role_arn, account.account_id
            ),
        })
    }

    /// No public list API.
    async fn is_registered(&self, _: &AccountToRegister) -> Result<Option<bool>> {
        Ok(None)
    }

    fn finds_existing(&self) -> bool {
        false
    }

    fn where_to_check(&self, account: &AccountToRegister) -> String {
        format!(
            "in the Data Theorem portal, look for an AWS cloud authenticator with role {} (account {}); \
             if there are two, remove one",
            account.role_arn, account.account_id
        )
    }
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
