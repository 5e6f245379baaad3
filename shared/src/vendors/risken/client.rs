//! RISKEN (open source, self-hosted; docs/vendors/risken.md). Bearer token
//! bound to one project. The account is upserted with `put-aws` (after a
//! `list-aws` lookup), each configured data source is attached by its
//! deployment-specific id (looked up by name in `list-datasource`) and
//! scanned, and status is read back from the data sources.

use async_trait::async_trait;
use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use super::secret::RiskenSecret;
use crate::policy::{TrustParameters, TrustPrincipal};
use crate::vendor_name::VendorName;
use crate::vendors::api::{
    role_not_assumable, AccountToRegister, Deregistration, Registration, RegistrationStatus,
    Vendor,
};
use crate::vendors::endpoint::VendorEndpoint;

const API: &str = "/api/v1/aws";
/// RISKEN rejects AWS names longer than this.
const MAX_NAME: usize = 200;

/// Data source status values.
const STATUS_OK: u8 = 1;
const STATUS_CONFIGURED: u8 = 2;
const STATUS_ERROR: u8 = 4;

/// Success bodies are `{"data": ...}`.
#[derive(Debug, Deserialize)]
struct Data<T> {
    data: T,
}

#[derive(Debug, Default, Deserialize)]
struct AwsList {
    #[serde(default)]
    aws: Vec<Aws>,
}

#[derive(Debug, Deserialize)]
struct AwsOne {
    aws: Aws,
}

/// Zero-valued fields are omitted by RISKEN, hence the defaults.
#[derive(Debug, Default, Deserialize)]
struct Aws {
    #[serde(default)]
    aws_id: u64,
    #[serde(default)]
    aws_account_id: String,
}

#[derive(Debug, Default, Deserialize)]
struct DataSourceList {
    #[serde(default)]
    data_source: Vec<DataSource>,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
struct DataSource {
    #[serde(default)]
    aws_data_source_id: u64,
    #[serde(default)]
    data_source: String,
    #[serde(default)]
    aws_id: u64,
    #[serde(default)]
    assume_role_arn: String,
    #[serde(default)]
    status: u8,
    #[serde(default)]
    status_detail: String,
}

pub struct Risken {
    api: VendorEndpoint,
    secret: RiskenSecret,
    /// What the last status check saw while scans were still running.
    progress: std::sync::Mutex<Option<String>>,
}

impl Risken {
    pub fn new(api: VendorEndpoint, secret: RiskenSecret) -> Self {
        Risken {
            api,
            secret,
            progress: std::sync::Mutex::new(None),
        }
    }

    fn authed(&self, method: Method, endpoint: &str) -> RequestBuilder {
        self.api.authed(method, &format!("{API}/{endpoint}/"))
    }

    async fn get<T: DeserializeOwned>(
        &self,
        doing: &str,
        endpoint: &str,
        query: &[(&str, String)],
    ) -> Result<T> {
        let call = self.api.call(doing);
        let response = self
            .api
            .http
            .get(&call, || self.authed(Method::GET, endpoint).query(query))
            .await?;
        let body: Data<T> = call.json(response).await?;
        Ok(body.data)
    }

    async fn post<T: DeserializeOwned>(
        &self,
        doing: &str,
        endpoint: &str,
        body: Value,
    ) -> Result<T> {
        self.post_as(doing, endpoint, body, false).await
    }

    /// A POST that is safe to send again whatever became of the first:
    /// `put-aws` and `attach-datasource` are upserts keyed by the AWS
    /// account and the data source, `invoke-scan` starts a scan that may
    /// run again, `detach-datasource` leaves the same state twice.
    async fn post_idempotent<T: DeserializeOwned>(
        &self,
        doing: &str,
        endpoint: &str,
        body: Value,
    ) -> Result<T> {
        self.post_as(doing, endpoint, body, true).await
    }

    async fn post_as<T: DeserializeOwned>(
        &self,
        doing: &str,
        endpoint: &str,
        body: Value,
        idempotent: bool,
    ) -> Result<T> {
        let call = self.api.call(doing);
        let build = || self.authed(Method::POST, endpoint).json(&body);
        let response = if idempotent {
            self.api.http.send_idempotent(&call, build).await?
        } else {
            self.api.http.send(&call, build()).await?
        };
        let body: Data<T> = call.json(response).await?;
        Ok(body.data)
    }

    fn project(&self) -> String {
        self.secret.project_id.to_string()
    }

    async fn find_aws(&self, account: &AccountToRegister) -> Result<Option<u64>> {
        let list: AwsList = self
            .get(
                "looking up the AWS account",
                "list-aws",
                &[
                    ("project_id", self.project()),
                    ("aws_account_id", account.account_id.to_string()),
                ],
            )
            .await?;
        Ok(list
            .aws
            .into_iter()
            .find(|a| a.aws_account_id == account.account_id.as_str() && a.aws_id != 0)
            .map(|a| a.aws_id))
    }

    async fn data_sources(&self, aws_id: u64) -> Result<Vec<DataSource>> {
        let list: DataSourceList = self
            .get(
                "listing data sources",
                "list-datasource",
                &[
                    ("project_id", self.project()),
                    ("aws_id", aws_id.to_string()),
                ],
            )
            .await?;
        Ok(list.data_source)
    }

    /// The configured data sources as the deployment lists them for this
    /// account; a configured name the deployment does not offer is an error.
    fn configured<'a>(
        &self,
        catalogue: &'a [DataSource],
        aws_id: u64,
    ) -> Result<Vec<&'a DataSource>> {
        self.secret
            .data_sources()
            .iter()
            .map(|name| {
                catalogue
                    .iter()
                    .filter(|ds| &ds.data_source == name)
                    // Prefer the entry attached to this account, if listed.
                    .max_by_key(|ds| ds.aws_id == aws_id)
                    .ok_or_else(|| {
                        Error::config(format!(
                            "risken: the deployment offers no data source `{name}` (check data_sources in the secret)"
                        ))
                        .for_vendor(VendorName::Risken)
                    })
            })
            .collect()
    }
}

#[async_trait]
impl Vendor for Risken {
    fn name(&self) -> VendorName {
        VendorName::Risken
    }

    async fn trust_parameters(&self) -> Result<TrustParameters> {
        let external_id = self.secret.trust.external_id.clone().ok_or_else(|| {
            Error::config("risken: the secret has no external_id (it is generated on first use)")
                .for_vendor(VendorName::Risken)
        })?;
        Ok(TrustParameters {
            principal: TrustPrincipal::Account(self.secret.trust.aws_account_id.clone()),
            external_id: Some(external_id),
        })
    }

    async fn register(&self, account: &AccountToRegister) -> Result<Registration> {
        let project_id = self.secret.project_id;
        let aws_id = match self.find_aws(account).await? {
            Some(id) => id,
            None => {
                let name: String = account.account_name.chars().take(MAX_NAME).collect();
                let created: AwsOne = self
                    .post_idempotent(
                        "creating the AWS account",
                        "put-aws",
                        json!({"project_id": project_id, "aws": {
                            "name": name, "project_id": project_id,
                            "aws_account_id": account.account_id}}),
                    )
                    .await?;
                created.aws.aws_id
            }
        };
        let external_id = self.trust_parameters().await?.external_id;
        let external_id = external_id.as_ref().map(|s| s.expose()).unwrap_or_default();
        let catalogue = self.data_sources(aws_id).await?;
        // Converge on what RISKEN holds: attach what is not attached with
        // this role, and scan what is attached but not scanned (the scan
        // was never asked for, its request's answer was lost, or it ended in
        // ERROR because the role had not propagated yet).
        for ds in self.configured(&catalogue, aws_id)? {
            let attached = ds.aws_id == aws_id && ds.assume_role_arn == account.role_arn;
            if !attached {
                let _: Value = self
                    .post_idempotent(
                        "attaching a data source",
                        "attach-datasource",
                        json!({"project_id": project_id, "attach_data_source": {
                            "aws_id": aws_id, "aws_data_source_id": ds.aws_data_source_id,
                            "project_id": project_id, "assume_role_arn": account.role_arn,
                            "external_id": external_id, "status": STATUS_CONFIGURED}}),
                    )
                    .await?;
            }
            if !attached || needs_scan(ds) {
                let _: Value = self
                    .post_idempotent(
                        "starting a scan",
                        "invoke-scan",
                        json!({"project_id": project_id, "aws_id": aws_id,
                               "aws_data_source_id": ds.aws_data_source_id, "scan_only": false}),
                    )
                    .await?;
            }
        }
        Ok(Registration {
            reference: aws_id.to_string(),
            status: RegistrationStatus::Pending,
        })
    }

    async fn status(&self, _: &AccountToRegister, reference: &str) -> Result<RegistrationStatus> {
        let aws_id: u64 = reference.parse().map_err(|_| {
            Error::bad_input(format!("risken: `{reference}` is not an aws_id"))
                .for_vendor(VendorName::Risken)
        })?;
        let catalogue = self.data_sources(aws_id).await?;
        let configured = self.configured(&catalogue, aws_id)?;
        let status = overall_status(&configured, aws_id);
        if status == RegistrationStatus::Pending {
            if let Ok(mut slot) = self.progress.lock() {
                *slot = Some(scanning(&configured, aws_id));
            }
        }
        Ok(status)
    }

    fn progress(&self) -> Option<String> {
        self.progress.lock().ok().and_then(|p| p.clone())
    }

    async fn deregister(&self, account: &AccountToRegister) -> Result<Deregistration> {
        let Some(aws_id) = self.find_aws(account).await? else {
            return Ok(Deregistration::NotFound);
        };
        let project_id = self.secret.project_id;
        for ds in self.data_sources(aws_id).await? {
            if ds.aws_id != aws_id || ds.assume_role_arn.is_empty() {
                continue;
            }
            let _: Value = self
                .post_idempotent(
                    "detaching a data source",
                    "detach-datasource",
                    json!({"project_id": project_id, "aws_id": aws_id,
                           "aws_data_source_id": ds.aws_data_source_id}),
                )
                .await?;
        }
        let _: Value = self
            .post(
                "deleting the AWS account",
                "delete-aws",
                json!({"project_id": project_id, "aws_id": aws_id}),
            )
            .await?;
        Ok(Deregistration::Removed)
    }

    async fn is_registered(&self, account: &AccountToRegister) -> Result<Option<bool>> {
        Ok(Some(self.find_aws(account).await?.is_some()))
    }
}

/// An attached data source that needs a scan asked for: CONFIGURED with no
/// scan running (scanners set OK or ERROR when they finish), or ERROR only
/// because the scanner could not assume the role yet.
fn needs_scan(ds: &DataSource) -> bool {
    ds.status == STATUS_CONFIGURED
        || (ds.status == STATUS_ERROR && role_not_assumable(&ds.status_detail))
}

/// All configured data sources OK is active; any ERROR but a role not yet
/// assumable is failed; one waiting for a scan (see [`needs_scan`]) is
/// stalled, and registering again scans it; else pending.
/// "still scanning: 3 of 5 data sources OK; waiting for aws:cloudsploit
/// (IN_PROGRESS), aws:portscan (CONFIGURED)".
fn scanning(configured: &[&DataSource], aws_id: u64) -> String {
    let ok = configured
        .iter()
        .filter(|ds| ds.aws_id == aws_id && ds.status == STATUS_OK)
        .count();
    let waiting: Vec<String> = configured
        .iter()
        .filter(|ds| !(ds.aws_id == aws_id && ds.status == STATUS_OK))
        .map(|ds| format!("{} ({})", ds.data_source, status_name(ds.status)))
        .collect();
    format!(
        "still scanning: {ok} of {} data sources OK; waiting for {}",
        configured.len(),
        waiting.join(", ")
    )
}

/// RISKEN's data-source status names (the datasource-api proto).
fn status_name(status: u8) -> &'static str {
    match status {
        STATUS_OK => "OK",
        STATUS_CONFIGURED => "CONFIGURED",
        STATUS_ERROR => "ERROR",
        3 => "IN_PROGRESS",
        _ => "UNKNOWN",
    }
}

fn overall_status(configured: &[&DataSource], aws_id: u64) -> RegistrationStatus {
    let attached = || configured.iter().filter(|ds| ds.aws_id == aws_id);
    let text = |ds: &&&DataSource| format!("{}: {}", ds.data_source, ds.status_detail);
    let errors: Vec<String> = attached()
        .filter(|ds| ds.status == STATUS_ERROR && !needs_scan(ds))
        .map(|ds| text(&ds))
        .collect();
    if !errors.is_empty() {
        return RegistrationStatus::Failed {
            reason: errors.join("; "),
        };
    }
    let stalled: Vec<String> = attached()
        .filter(|ds| needs_scan(ds))
        .map(|ds| match ds.status {
            STATUS_CONFIGURED => format!("{}: no scan running", ds.data_source),
            _ => text(&ds),
        })
        .collect();
    if !stalled.is_empty() {
        return RegistrationStatus::Stalled {
            reason: stalled.join("; "),
        };
    }
    if configured
        .iter()
        .all(|ds| ds.aws_id == aws_id && ds.status == STATUS_OK)
    {
        RegistrationStatus::Active
    } else {
        RegistrationStatus::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(name: &str, aws_id: u64, status: u8) -> DataSource {
        DataSource {
            data_source: name.into(),
            aws_id,
            status,
            status_detail: if status == STATUS_ERROR {
                "AccessDenied".into()
            } else {
                String::new()
            },
            ..Default::default()
        }
    }

    #[test]
    fn all_ok_is_active_any_error_failed_else_pending() {
        let (a, b) = (ds("aws:guard-duty", 7, 1), ds("aws:portscan", 7, 1));
        assert_eq!(overall_status(&[&a, &b], 7), RegistrationStatus::Active);
        let c = ds("aws:portscan", 7, 3);
        assert_eq!(overall_status(&[&a, &c], 7), RegistrationStatus::Pending);
        let configured = ds("aws:portscan", 7, STATUS_CONFIGURED);
        assert_eq!(
            overall_status(&[&a, &configured], 7),
            RegistrationStatus::Stalled {
                reason: "aws:portscan: no scan running".into()
            }
        );
        let mut not_yet = ds("aws:portscan", 7, STATUS_ERROR);
        not_yet.status_detail =
            "operation error STS: AssumeRole, StatusCode: 403, api error AccessDenied".into();
        assert!(matches!(
            overall_status(&[&a, &not_yet], 7),
            RegistrationStatus::Stalled { .. }
        ));
        let d = ds("aws:portscan", 7, 4);
        assert_eq!(
            overall_status(&[&a, &d], 7),
            RegistrationStatus::Failed {
                reason: "aws:portscan: AccessDenied".into()
            }
        );
        // A catalogue entry not attached to this account is not OK yet.
        let other = ds("aws:portscan", 0, 0);
        assert_eq!(
            overall_status(&[&a, &other], 7),
            RegistrationStatus::Pending
        );
    }

    #[test]
    fn omitted_zero_fields_parse() {
        let body: Data<DataSourceList> = serde_json::from_value(json!({"data": {"data_source": [
            {"aws_data_source_id": 3, "data_source": "aws:cloudsploit", "max_score": 1.0}]}}))
        .unwrap();
        let entry = &body.data.data_source[0];
        assert_eq!(
            (entry.aws_id, entry.status, entry.assume_role_arn.as_str()),
            (0, 0, "")
        );
    }
}
