//! Skyhigh Security's secret (docs/vendors/skyhigh.md).

use serde::{Deserialize, Serialize};

use crate::secret::Secret;
use crate::vendors::endpoint::Auth;
use crate::vendors::secret::{CommonFields, SecretFields};

/// Skyhigh's optional provisioning flags, sent as given (the `provisionAccounts`
/// body, docs/vendors/skyhigh.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionOptions {
    #[serde(rename = "enableDLP", skip_serializing_if = "Option::is_none")]
    pub enable_dlp: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_activity_monitoring: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_security_audit: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_audit_type: Option<String>,
    #[serde(rename = "enableVPCFlowLogs", skip_serializing_if = "Option::is_none")]
    pub enable_vpc_flow_logs: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_vulnerabilities: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_emails: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_errors: Option<bool>,
}

fn default_skyhigh_instance() -> String {
    "Default-AWS".into()
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SkyhighSecret {
    pub username: String,
    pub password: Secret,
    #[serde(default = "default_skyhigh_instance")]
    pub instance_name: String,
    #[serde(default)]
    pub provision_options: ProvisionOptions,
    pub aws_bucket_names: Option<String>,
    /// What a role Skyhigh finds missing permissions on means:
    /// `warn` (default: the account is added, the summary, ledger and status
    /// carry the warnings) or `fail`.
    #[serde(default)]
    pub missing_permissions: MissingPermissions,
    #[serde(flatten)]
    pub common: CommonFields,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingPermissions {
    #[default]
    Warn,
    Fail,
}

impl SkyhighSecret {
    pub fn fails_on_warnings(&self) -> bool {
        self.missing_permissions == MissingPermissions::Fail
    }
}

impl SecretFields for SkyhighSecret {
    fn common(&self) -> &CommonFields {
        &self.common
    }
    fn api_credentials(&self) -> Vec<&Secret> {
        vec![&self.password]
    }
    fn auth(&self) -> Auth {
        Auth::Basic {
            user: self.username.clone(),
            password: self.password.clone(),
        }
    }
}
