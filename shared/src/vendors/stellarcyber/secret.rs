//! Stellar Cyber's secret (docs/vendors/stellarcyber.md).

use serde::Deserialize;
use serde_json::Value;

use crate::ids::AccountId;
use crate::secret::Secret;
use crate::vendors::endpoint::Auth;
use crate::vendors::secret::{CommonFields, SecretFields};

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

impl SecretFields for StellarCyberSecret {
    fn common(&self) -> &CommonFields {
        &self.common
    }
    fn external_id(&self) -> Option<&Secret> {
        self.external_id.as_ref()
    }
    fn principal(&self) -> Option<&AccountId> {
        Some(&self.aws_account_id)
    }
    fn credentials(&self) -> Vec<&Secret> {
        [Some(&self.api_key), self.external_id.as_ref()].into_iter().flatten().collect()
    }
    fn auth(&self) -> Auth {
        // The API key buys a JWT (Basic); the client sends the JWT itself.
        Auth::Basic {
            user: self.user_id.clone(),
            password: self.api_key.clone(),
        }
    }
}
