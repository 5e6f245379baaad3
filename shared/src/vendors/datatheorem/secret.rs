//! Data Theorem's secret (docs/vendors/datatheorem.md).

use serde::Deserialize;

use crate::secret::Secret;
use crate::vendors::endpoint::Auth;
use crate::vendors::secret::{CommonFields, SecretFields, SecretTrust};

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DataTheoremSecret {
    pub api_key: Secret,
    #[serde(flatten)]
    pub trust: SecretTrust,
    #[serde(flatten)]
    pub common: CommonFields,
}

impl SecretFields for DataTheoremSecret {
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
        Auth::Header {
            scheme: "APIKey",
            credential: self.api_key.clone(),
        }
    }
}
