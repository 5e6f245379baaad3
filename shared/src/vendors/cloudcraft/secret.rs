//! Cloudcraft's secret (docs/vendors/cloudcraft.md).

use serde::Deserialize;

use crate::secret::Secret;
use crate::vendors::endpoint::Auth;
use crate::vendors::secret::{CommonFields, SecretFields};

fn default_cloudcraft_region() -> String {
    "us-east-1".into()
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CloudcraftSecret {
    pub api_key: Secret,
    #[serde(default = "default_cloudcraft_region")]
    pub region: String,
    #[serde(flatten)]
    pub common: CommonFields,
}

impl SecretFields for CloudcraftSecret {
    fn common(&self) -> &CommonFields {
        &self.common
    }
    fn api_credentials(&self) -> Vec<&Secret> {
        vec![&self.api_key]
    }
    fn auth(&self) -> Auth {
        Auth::Header {
            scheme: "Bearer",
            credential: self.api_key.clone(),
        }
    }
}
