//! Stellar Cyber's secret (docs/vendors/stellarcyber.md).
//!
//! Stellar Cyber documents no external ID for its AWS connector (it assumes
//! the role from an IAM user or role of its own), so its role's trust names
//! that exact principal, `principal_arn`. A deployment that does send an
//! external ID may give `aws_account_id` and `external_id` instead. A secret
//! with neither is refused: the role would trust a whole account.

use serde::Deserialize;
use serde_json::Value;

use crate::ids::AccountId;
use crate::policy::{PrincipalArn, TrustPrincipal};
use crate::secret::Secret;
use crate::vendors::endpoint::Auth;
use crate::vendors::secret::{CommonFields, SecretFields};

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StellarCyberSecret {
    pub user_id: String,
    pub api_key: Secret,
    pub tenant_id: String,
    /// The exact IAM user or role ARN the connector assumes roles from.
    pub principal_arn: Option<PrincipalArn>,
    /// The account the connector runs from, with `external_id`, where the
    /// deployment presents one.
    pub aws_account_id: Option<AccountId>,
    pub external_id: Option<Secret>,
    pub connector_template: Option<Value>,
    #[serde(flatten)]
    pub common: CommonFields,
}

impl SecretFields for StellarCyberSecret {
    fn common(&self) -> &CommonFields {
        &self.common
    }
    fn external_id(&self) -> Option<&Secret> {
        self.external_id.as_ref()
    }
    fn principal(&self) -> Option<TrustPrincipal> {
        match (&self.principal_arn, &self.aws_account_id) {
            (Some(arn), _) => Some(TrustPrincipal::Exact(arn.clone())),
            (None, Some(account)) => Some(TrustPrincipal::Account(account.clone())),
            (None, None) => None,
        }
    }
    fn api_credentials(&self) -> Vec<&Secret> {
        vec![&self.api_key]
    }
    fn auth(&self) -> Auth {
        // The API key buys a JWT (Basic); the client sends the JWT itself.
        Auth::Basic {
            user: self.user_id.clone(),
            password: self.api_key.clone(),
        }
    }
    fn validate(&self) -> Result<(), String> {
        match (&self.principal_arn, &self.aws_account_id, &self.external_id) {
            (Some(arn), Some(account), _) if arn.account() != account => Err(format!(
                "`principal_arn` is in account {}, `aws_account_id` says {account}",
                arn.account()
            )),
            (Some(_), _, _) | (None, Some(_), Some(_)) => Ok(()),
            (None, Some(account), None) => Err(format!(
                "`aws_account_id` {account} without `external_id` would let any principal of that \
                 account assume the role: Stellar Cyber documents no external ID, so give \
                 `principal_arn`, the exact IAM user or role ARN its connector runs as"
            )),
            (None, None, _) => Err(
                "missing field `principal_arn`: the exact IAM user or role ARN Stellar Cyber's \
                 connector assumes roles from (or `aws_account_id` with `external_id`, where \
                 your deployment sends one)"
                    .into(),
            ),
        }
    }
}
