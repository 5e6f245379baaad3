//! Stellar Cyber (docs/vendors/stellarcyber.md). A JWT from
//! `POST /connect/api/v1/access_token` (Basic `user_id:api_key`, form content
//! type) authorizes the public API for ten minutes; it is reused within that
//! life and fetched again once on a 401. An account is a connector, created
//! from the operator's template (the create schema is not public) and found
//! again by its name.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder, Response};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::secret::Secret;
use super::secret::StellarCyberSecret;
use crate::policy::TrustParameters;
use crate::vendors::secret::SecretFields;
use crate::vendor_name::VendorName;
use crate::vendors::api::{
    AccountToRegister, Deregistration, Registration, RegistrationStatus, Vendor,
};
use crate::vendors::endpoint::VendorEndpoint;
use crate::vendors::http::VendorCall;

const TOKEN: &str = "/connect/api/v1/access_token";
const CONNECTORS: &str = "/connect/api/v1/connector";
/// JWTs live ten minutes; one is reused for at most nine.
const TOKEN_REUSE: Duration = Duration::from_secs(9 * 60);

/// Connectors asked for per page (the sandbox's limit is 100).
const PAGE: usize = 100;
/// A bound on pages read, so a list that never ends cannot loop forever.
const MAX_PAGES: usize = 1000;

#[derive(Debug, Deserialize)]
struct AccessToken {
    access_token: Secret,
}

/// Whether a cached JWT may be used, or a fresh one is needed (after a 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenAge {
    Reusable,
    Fresh,
}

pub struct StellarCyber {
    api: VendorEndpoint,
    secret: StellarCyberSecret,
    token: Mutex<Option<(Secret, Instant)>>,
    /// The connector names, listed once for `is_registered` (one listing
    /// answers for every account of a reconcile run).
    listed: tokio::sync::OnceCell<HashSet<String>>,
}

impl StellarCyber {
    pub fn new(api: VendorEndpoint, secret: StellarCyberSecret) -> Self {
        StellarCyber {
            api,
            secret,
            token: Mutex::new(None),
            listed: tokio::sync::OnceCell::new(),
        }
    }


    /// A JWT young enough to use, fetching a new one when needed.
    async fn token(&self, age: TokenAge) -> Result<Secret> {
        let mut slot = self.token.lock().await;
        if let (TokenAge::Reusable, Some((token, at))) = (age, slot.as_ref()) {
            if at.elapsed() < TOKEN_REUSE {
                return Ok(token.clone());
            }
        }
        let call = self.api.call("getting an access token");
        // Issuing a token changes nothing that a second request would
        // repeat, so it is retried as a GET is.
        let response = self
            .api
            .http
            .send_idempotent(&call, || {
                self.api
                    .authed(Method::POST, TOKEN)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body("")
            })
            .await?;
        let token: AccessToken = call.json(response).await?;
        *slot = Some((token.access_token.clone(), Instant::now()));
        Ok(token.access_token)
    }

    /// Sends an API request with the JWT; on 401 gets a fresh JWT and tries
    /// once more. GETs also get the in-call retry of [`VendorHttp::get`].
    async fn api(
        &self,
        call: &VendorCall<'_>,
        method: Method,
        url: &str,
        finish: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response> {
        let mut age = TokenAge::Reusable;
        loop {
            let token = self.token(age).await?;
            // A gateway or an error page may quote the request: the JWT is
            // masked like the API key.
            call.scrub_also(&token);
            let with_token = || {
                finish(self.api.http.request(method.clone(), url))
                    .header(AUTHORIZATION, format!("Bearer {}", token.expose()))
            };
            let result = if method == Method::GET {
                self.api.http.get(call, with_token).await
            } else {
                self.api.http.send(call, with_token()).await
            };
            match result {
                Err(err) if err.http_status() == Some(401) && age == TokenAge::Reusable => {
                    age = TokenAge::Fresh
                }
                other => return other,
            }
        }
    }

    fn render(&self, account: &AccountToRegister) -> Value {
        let template = self.secret.connector_template.clone();
        let external_id = self
            .secret
            .external_id
            .as_ref()
            .map(|s| s.expose())
            .unwrap_or_default();
        let values = [
            ("{{account_id}}", account.account_id.as_str()),
            ("{{account_name}}", account.account_name.as_str()),
            ("{{role_arn}}", account.role_arn.as_str()),
            ("{{external_id}}", external_id),
            ("{{tenant_id}}", self.secret.tenant_id.as_str()),
        ];
        fill(template, &values)
    }

    fn connector_name(&self, account: &AccountToRegister) -> Result<String> {
        self.render(account)
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::config("stellarcyber: connector_template needs a non-empty string `name`")
                    .for_vendor(VendorName::Stellarcyber)
            })
    }

    /// Every connector of the tenant: pages of `limit` from `skip` until a
    /// short page or `total` (a bare array answer is the whole list).
    async fn list(&self) -> Result<Vec<Value>> {
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let call = self.api.call("listing connectors");
            let skip = all.len().to_string();
            let limit = PAGE.to_string();
            let response = self
                .api(&call, Method::GET, &self.api.base.join(CONNECTORS), |r| {
                    r.query(&[
                        ("cust_id", self.secret.tenant_id.as_str()),
                        ("skip", skip.as_str()),
                        ("limit", limit.as_str()),
                    ])
                })
                .await?;
            let body: Value = call.json(response).await?;
            let page = connectors(&body);
            let paged = body.get("data").is_some();
            let total = body.get("total").and_then(Value::as_u64);
            let short = page.len() < PAGE;
            all.extend_from_slice(page);
            let complete = total.is_some_and(|t| all.len() as u64 >= t);
            if !paged || short || complete {
                return Ok(all);
            }
        }
        Err(Error::new(
            crate::error::ErrorKind::Vendor,
            format!("stellarcyber: the connector list did not end within {MAX_PAGES} pages"),
        )
        .for_vendor(VendorName::Stellarcyber))
    }

    async fn find(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .list()
            .await?
            .iter()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
            .and_then(connector_id))
    }
}

#[async_trait]
impl Vendor for StellarCyber {
    fn name(&self) -> VendorName {
        VendorName::Stellarcyber
    }

    async fn trust_parameters(&self) -> Result<TrustParameters> {
        let principal = self.secret.principal().ok_or_else(|| {
            Error::config(
                "stellarcyber: the secret names no principal (`principal_arn`, or \
                 `aws_account_id` with `external_id`)",
            )
            .for_vendor(VendorName::Stellarcyber)
        })?;
        Ok(TrustParameters {
            principal,
            external_id: self.secret.external_id.clone(),
        })
    }

    async fn register(&self, account: &AccountToRegister) -> Result<Registration> {
        let name = self.connector_name(account)?;
        if let Some(id) = self.find(&name).await? {
            return Ok(Registration {
                reference: id,
                status: RegistrationStatus::Active,
            });
        }
        let body = self.render(account);
        let call = self.api.call("creating the connector");
        let response = self
            .api(&call, Method::POST, &self.api.base.join(CONNECTORS), |r| {
                r.json(&body)
            })
            .await?;
        let created: Value = call.json(response).await?;
        let target = created.get("data").unwrap_or(&created);
        let reference = connector_id(target)
            .ok_or_else(|| call.unexpected("the created connector has no `_id` or `id`"))?;
        Ok(Registration {
            reference,
            status: RegistrationStatus::Active,
        })
    }

    /// No status endpoint: a connector still listed is active.
    async fn status(&self, account: &AccountToRegister, _: &str) -> Result<RegistrationStatus> {
        let name = self.connector_name(account)?;
        Ok(match self.find(&name).await? {
            Some(_) => RegistrationStatus::Active,
            None => RegistrationStatus::Failed {
                reason: format!("Stellar Cyber no longer lists connector {name}"),
            },
        })
    }

    async fn deregister(&self, account: &AccountToRegister) -> Result<Deregistration> {
        let name = self.connector_name(account)?;
        let Some(id) = self.find(&name).await? else {
            return Ok(Deregistration::NotFound);
        };
        let call = self.api.call("deleting the connector");
        let id = crate::vendors::api::path_segment(VendorName::Stellarcyber, "connector id", &id)?;
        let url = self.api.base.join(&format!("{CONNECTORS}/{id}"));
        match self.api(&call, Method::DELETE, &url, |r| r).await {
            Ok(_) => Ok(Deregistration::Removed),
            Err(err) if err.http_status() == Some(404) => Ok(Deregistration::NotFound),
            Err(err) => Err(err),
        }
    }

    /// Answered from one listing per client; registering asks afresh.
    async fn is_registered(&self, account: &AccountToRegister) -> Result<Option<bool>> {
        let name = self.connector_name(account)?;
        let listed = self
            .listed
            .get_or_try_init(|| async {
                let listed = self.list().await?;
                Ok::<_, crate::error::Error>(
                    listed
                        .iter()
                        .filter(|c| connector_id(c).is_some())
                        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_owned))
                        .collect(),
                )
            })
            .await?;
        Ok(Some(listed.contains(&name)))
    }
}

/// The connector list: a bare array, or one wrapped in `data`.
fn connectors(body: &Value) -> &[Value] {
    match body {
        Value::Array(items) => items,
        other => other
            .get("data")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default(),
    }
}

fn connector_id(connector: &Value) -> Option<String> {
    ["_id", "id"].iter().find_map(|k| match connector.get(*k) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// Replaces placeholders inside every string of a JSON template, so values
/// are escaped as JSON and never spliced into raw text. Fills the placeholders in one pass over each string: what a value
/// inserts is never read again, so an account named `{{external_id}}`
/// stays that literal name.
fn fill(template: Value, values: &[(&str, &str)]) -> Value {
    match template {
        Value::String(s) => {
            let mut out = String::with_capacity(s.len());
            let mut rest = s.as_str();
            'scan: while let Some(at) = rest.find("{{") {
                out.push_str(&rest[..at]);
                rest = &rest[at..];
                for (placeholder, value) in values {
                    if let Some(after) = rest.strip_prefix(placeholder) {
                        out.push_str(value);
                        rest = after;
                        continue 'scan;
                    }
                }
                out.push_str("{{");
                rest = &rest[2..];
            }
            out.push_str(rest);
            Value::String(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(|v| fill(v, values)).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, fill(v, values))).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The CloudTrail-shaped template docs/vendors/stellarcyber.md shows.
    fn example_template() -> Value {
        json!({"name": "vendorlink-aws-{{account_id}}", "type": "aws_cloudtrail",
               "cust_id": "{{tenant_id}}", "active": true,
               "description": "AWS account {{account_name}} ({{account_id}}), managed by vendorlink",
               "config": {"role_arn": "{{role_arn}}", "bucket": "org-cloudtrail",
                          "prefix": "AWSLogs/{{account_id}}/CloudTrail", "file_type": "gzip"}})
    }

    #[test]
    fn a_value_that_looks_like_a_placeholder_stays_literal() {
        let filled = fill(
            json!({"name": "{{account_name}}", "description": "{{account_name}} ({{account_id}}) {{unknown}}"}),
            &[
                ("{{account_name}}", "{{external_id}}"),
                ("{{account_id}}", "222222222222"),
                ("{{external_id}}", "the-secret-external-id"),
            ],
        );
        assert_eq!(
            filled,
            json!({"name": "{{external_id}}",
                   "description": "{{external_id}} (222222222222) {{unknown}}"})
        );
        assert!(!filled.to_string().contains("the-secret-external-id"));
    }

    #[test]
    fn placeholders_are_filled_in_nested_strings_and_escaped() {
        let filled = fill(
            example_template(),
            &[
                ("{{account_id}}", "222222222222"),
                ("{{account_name}}", "prod \"main\""),
                (
                    "{{role_arn}}",
                    "arn:aws:iam::222222222222:role/StellarCyberConnector",
                ),
                ("{{external_id}}", ""),
                ("{{tenant_id}}", "t-1"),
            ],
        );
        assert_eq!(filled["name"], "vendorlink-aws-222222222222");
        assert_eq!(filled["cust_id"], "t-1");
        assert_eq!(
            filled["config"]["role_arn"],
            "arn:aws:iam::222222222222:role/StellarCyberConnector"
        );
        assert_eq!(
            filled["description"],
            "AWS account prod \"main\" (222222222222), managed by vendorlink"
        );
        assert_eq!(filled["active"], true);
    }

    #[test]
    fn connector_lists_bare_or_wrapped_with_either_id() {
        let bare = json!([{"_id": "a1", "name": "x"}]);
        let wrapped = json!({"data": [{"id": 7, "name": "x"}]});
        assert_eq!(connector_id(&connectors(&bare)[0]).as_deref(), Some("a1"));
        assert_eq!(connector_id(&connectors(&wrapped)[0]).as_deref(), Some("7"));
        assert!(connectors(&json!({"unexpected": 1})).is_empty());
    }
}
