//! Data Theorem's secret (docs/vendors/datatheorem.md).

use serde::Deserialize;

use crate::ids::AccountId;
use crate::secret::Secret;
use crate::vendors::endpoint::Auth;
use crate::vendors::secret::{CommonFields, SecretFields};

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DataTheoremSecret {
    pub api_key: Secret,
    pub aws_account_id: AccountId,
    pub external_id: Option<Secret>,
    #[serde(flatten)]
    pub common: CommonFields,
}

impl SecretFields for DataTheoremSecret {
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
        Auth::Header {
            scheme: "APIKey",
            credential: self.api_key.clone(),
        }
    }
}
