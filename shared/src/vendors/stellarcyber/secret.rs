//! Stellar Cyber's secret (docs/vendors/stellarcyber.md).

use serde::Deserialize;
use serde_json::Value;

use crate::secret::Secret;
use crate::vendors::endpoint::Auth;
use crate::vendors::secret::{CommonFields, SecretFields, SecretTrust};

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StellarCyberSecret {
    pub user_id: String,
    pub api_key: Secret,
    pub tenant_id: String,
    #[serde(flatten)]
    pub trust: SecretTrust,
    pub connector_template: Option<Value>,
    #[serde(flatten)]
    pub common: CommonFields,
}

impl SecretFields for StellarCyberSecret {
    fn common(&self) -> &CommonFields {
        &self.common
    }
    fn trust(&self) -> Option<&SecretTrust> {
        Some(&self.trust)
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
}
