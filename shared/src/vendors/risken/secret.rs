//! RISKEN's secret (docs/vendors/risken.md).

use serde::Deserialize;

use crate::secret::Secret;
use crate::vendors::endpoint::Auth;
use crate::vendors::secret::{CommonFields, SecretFields, SecretTrust};

/// RISKEN's AWS data sources, by their catalogue names.
pub const RISKEN_DATA_SOURCES: [&str; 5] = [
    "aws:guard-duty",
    "aws:access-analyzer",
    "aws:admin-checker",
    "aws:cloudsploit",
    "aws:portscan",
];

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RiskenSecret {
    pub access_token: Secret,
    pub project_id: u32,
    #[serde(flatten)]
    pub trust: SecretTrust,
    pub data_sources: Option<Vec<String>>,
    #[serde(flatten)]
    pub common: CommonFields,
}

impl RiskenSecret {
    /// The configured data sources, all five by default.
    pub fn data_sources(&self) -> Vec<String> {
        match &self.data_sources {
            Some(list) => list.clone(),
            None => RISKEN_DATA_SOURCES.map(String::from).to_vec(),
        }
    }
}

impl SecretFields for RiskenSecret {
    fn common(&self) -> &CommonFields {
        &self.common
    }
    fn trust(&self) -> Option<&SecretTrust> {
        Some(&self.trust)
    }
    fn api_credentials(&self) -> Vec<&Secret> {
        vec![&self.access_token]
    }
    fn auth(&self) -> Auth {
        Auth::Header {
            scheme: "Bearer",
            credential: self.access_token.clone(),
        }
    }
    fn validate(&self) -> Result<(), String> {
        for ds in self.data_sources.iter().flatten() {
            if !RISKEN_DATA_SOURCES.contains(&ds.as_str()) {
                return Err(format!(
                    "unknown RISKEN data source `{ds}` (allowed: {})",
                    RISKEN_DATA_SOURCES.join(", ")
                ));
            }
        }
        if self.project_id == 0 {
            return Err("`project_id` must be a positive number".into());
        }
        Ok(())
    }
}
