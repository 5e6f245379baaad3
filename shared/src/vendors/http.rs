//! The one HTTP client every vendor uses: rustls, bounded timeouts, a
//! `User-Agent`, error classification, vendor error text extraction (with
//! credentials scrubbed), and a short in-call retry: of any failure for
//! idempotent requests, of clear refusals only for the others.
//! Longer waits belong to the state machine.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::secret::Secret;
use crate::vendor_name::VendorName;

/// Attempts of one request within one call.
const IN_CALL_ATTEMPTS: u32 = 3;
/// The longest wait inside a call; longer ones (a long `Retry-After`) are
/// left to the state machine's `Retry`.
const MAX_IN_CALL_WAIT: Duration = Duration::from_secs(10);
/// A call, retries included, never starts an attempt that could end more
/// than this after the call began: with the 10 s request timeout, the
/// 55 s Lambda keeps room for the step's other calls and its ledger writes.
const CALL_BUDGET: Duration = Duration::from_secs(30);
/// Vendor error text kept in messages, in characters.
const MAX_VENDOR_TEXT: usize = 300;

/// Shared by every vendor client of a process.
#[derive(Clone)]
pub struct VendorHttp {
    client: reqwest::Client,
    /// Tests only: one backoff for every vendor instead of its policy.
    backoff: Option<Duration>,
    loopback_http: bool,
    timeouts: (Duration, Duration),
}

impl VendorHttp {
    pub fn new() -> Result<VendorHttp> {
        VendorHttp::with_timeouts(Duration::from_secs(3), Duration::from_secs(10))
    }

    pub fn with_timeouts(connect: Duration, request: Duration) -> Result<VendorHttp> {
        Ok(VendorHttp {
            client: Self::client(connect, request, None)?,
            backoff: None,
            loopback_http: false,
            timeouts: (connect, request),
        })
    }

    /// The same client, verifying servers only against the CA
    /// certificate(s) in `pem` (a self-hosted vendor's own CA).
    pub fn trusting_only(&self, pem: &str) -> Result<VendorHttp> {
        let certs = crate::tls::parse_pem_bundle(pem)?;
        let (connect, request) = self.timeouts;
        Ok(VendorHttp {
            client: Self::client(connect, request, Some(&certs))?,
            ..self.clone()
        })
    }

    fn client(
        connect: Duration,
        request: Duration,
        only: Option<&[rustls::pki_types::CertificateDer<'static>]>,
    ) -> Result<reqwest::Client> {
        // One TLS configuration in the whole binary (crate::tls): the ring
        // provider and the system roots the AWS SDK client uses too.
        reqwest::Client::builder()
            .tls_backend_preconfigured(crate::tls::client_config(only)?)
            .user_agent(concat!("vendorlink/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(connect)
            .timeout(request)
            // Base URLs are checked: https, or http on loopback only, and
            // that only on the local stack (`allowing_loopback_http`).
            .https_only(false)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::config(format!("building the HTTP client: {e}")))
    }

    /// Lets a secret's `http://` loopback base URL be used: the local
    /// stack's sandboxes (`VENDORLINK_LOCAL_STACK=true`). Off by default, so
    /// a deployed function speaks https only.
    pub fn allowing_loopback_http(mut self, allow: bool) -> Self {
        self.loopback_http = allow;
        self
    }

    pub fn allows_loopback_http(&self) -> bool {
        self.loopback_http
    }

    /// Replaces every vendor's backoff floor and ceiling by `backoff` (tests:
    /// a `Retry-After` still counts).
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = Some(backoff);
        self
    }

    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        self.client.request(method, url)
    }

    /// Sends a request that may change something at the vendor. A retry
    /// could repeat the change, so only a clear refusal (429, or no
    /// connection at all: the vendor did not act) is retried in the call;
    /// an answer that may have come after the vendor acted (a 5xx, a
    /// connection lost after sending, a timeout) is returned as it is.
    pub async fn send(&self, call: &VendorCall<'_>, request: RequestBuilder) -> Result<Response> {
        // A streamed body cannot be sent twice: then there is no template
        // and the first failure is final.
        let template = request.try_clone();
        let mut first = Some(request);
        self.retrying(call, Replay::RefusalsOnly, move || {
            first
                .take()
                .or_else(|| template.as_ref().and_then(RequestBuilder::try_clone))
        })
        .await
    }

    /// Sends an idempotent GET, retrying 408/429/5xx and transport failures
    /// a few times with backoff (honouring a short `Retry-After`).
    pub async fn get(
        &self,
        call: &VendorCall<'_>,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response> {
        self.retrying(call, Replay::Any, || Some(build())).await
    }

    /// Sends a request the vendor documents as idempotent (an upsert, a
    /// request that only starts a repeatable job), retried as a GET is.
    pub async fn send_idempotent(
        &self,
        call: &VendorCall<'_>,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response> {
        self.retrying(call, Replay::Any, || Some(build())).await
    }

    /// `build` gives each attempt's request; `None` when it cannot be sent
    /// again.
    async fn retrying(
        &self,
        call: &VendorCall<'_>,
        replay: Replay,
        mut build: impl FnMut() -> Option<RequestBuilder>,
    ) -> Result<Response> {
        let mut policy = call.vendor.profile().retry;
        if let Some(backoff) = self.backoff {
            (policy.floor, policy.ceiling) = (backoff, backoff);
        }
        let started = std::time::Instant::now();
        let mut attempt = 1;
        let mut request = build();
        loop {
            let Some(this) = request.take() else {
                return Err(call.unexpected("the request could not be built"));
            };
            let result = match this.send().await {
                Ok(response) => call.check(response).await,
                Err(e) => Err(call.transport_error(&e)),
            };
            match result {
                Err(err)
                    if err.kind().is_retryable()
                        && policy.retries(err.http_status())
                        && attempt < IN_CALL_ATTEMPTS
                        && (replay == Replay::Any || !err.is_ambiguous()) =>
                {
                    let wait = policy.wait(attempt, call.last_retry_after());
                    let request_timeout = self.timeouts.1;
                    if wait > MAX_IN_CALL_WAIT
                        || started.elapsed() + wait + request_timeout > CALL_BUDGET
                    {
                        return Err(err);
                    }
                    let Some(again) = build() else {
                        return Err(err);
                    };
                    request = Some(again);
                    tracing::debug!(vendor = %call.vendor, attempt, wait_ms = wait.as_millis() as u64, "retrying in the call");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// Which failures a call may send its request again after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replay {
    /// Any retryable failure: the request is idempotent.
    Any,
    /// Only those where the vendor cannot have acted.
    RefusalsOnly,
}

/// One vendor call in progress: who it is for, what it does, and which
/// secrets must never appear in its error messages.
pub struct VendorCall<'a> {
    pub vendor: VendorName,
    pub doing: &'a str,
    secrets: Vec<&'a Secret>,
    /// Credentials issued during the call (a vendor's access token), masked
    /// like the secrets.
    issued: std::sync::Mutex<Vec<Secret>>,
    retry_after: std::sync::Mutex<Option<Duration>>,
}

impl<'a> VendorCall<'a> {
    pub fn new(vendor: VendorName, doing: &'a str, secrets: &[&'a Secret]) -> Self {
        VendorCall {
            vendor,
            doing,
            secrets: secrets.to_vec(),
            issued: std::sync::Mutex::new(Vec::new()),
            retry_after: std::sync::Mutex::new(None),
        }
    }

    /// Also masks a credential the vendor issued (a token sent with this
    /// call's requests).
    pub fn scrub_also(&self, issued: &Secret) {
        if let Ok(mut list) = self.issued.lock() {
            if !list.iter().any(|s| s.expose() == issued.expose()) {
                list.push(issued.clone());
            }
        }
    }

    fn last_retry_after(&self) -> Option<Duration> {
        self.retry_after.lock().ok().and_then(|g| *g)
    }

    fn error(&self, kind: ErrorKind, detail: &str) -> Error {
        Error::new(
            kind,
            format!("{} {}: {}", self.vendor, self.doing, self.scrub(detail)),
        )
        .for_vendor(self.vendor)
    }

    /// Replaces any credential the vendor may have echoed back: as sent,
    /// JSON-escaped, and inside a base64 `user:secret` Basic credential.
    pub(crate) fn scrub(&self, text: &str) -> String {
        use base64::Engine as _;
        let mut out = text.to_owned();
        let issued = self.issued.lock().map(|l| l.clone()).unwrap_or_default();
        for secret in self.secrets.iter().copied().chain(issued.iter()) {
            let value = secret.expose();
            if value.is_empty() {
                continue;
            }
            let escaped = serde_json::to_string(value).unwrap_or_default();
            let escaped = escaped.trim_matches('"');
            for form in [value, escaped] {
                out = out.replace(form, "<redacted>");
            }
            // A Basic credential "user:secret" echoed back in base64.
            for word in out
                .clone()
                .split(|c: char| !(c.is_ascii_alphanumeric() || "+/=".contains(c)))
            {
                if word.len() >= 8 {
                    if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(word) {
                        if String::from_utf8_lossy(&decoded).contains(value) {
                            out = out.replace(word, "<redacted>");
                        }
                    }
                }
            }
        }
        out
    }

    /// A failure without an answer. Only a failed connect is known to have
    /// sent nothing; after a timeout or a connection lost in transit the
    /// vendor may have acted.
    fn transport_error(&self, e: &reqwest::Error) -> Error {
        if e.is_connect() {
            return self.error(ErrorKind::Unavailable, "could not connect");
        }
        let what = if e.is_timeout() {
            "timed out"
        } else {
            "the request failed in transit"
        };
        self.error(ErrorKind::Unavailable, what).ambiguous()
    }

    /// Maps a response to success or a classified error.
    async fn check(&self, response: Response) -> Result<Response> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = retry_after(response.headers());
        if let Ok(mut slot) = self.retry_after.lock() {
            *slot = retry_after;
        }
        // Masked before anything is cut or re-serialised, so no part of an
        // echoed credential survives.
        let body = self.scrub(&response.text().await.unwrap_or_default());
        let text = vendor_error_text(&body);
        let kind = classify_status(status);
        let mut detail = format!("HTTP {}", status.as_u16());
        if !text.is_empty() {
            detail.push_str(&format!(": {text}"));
        }
        if let (ErrorKind::Throttled, Some(wait)) = (kind, retry_after) {
            detail.push_str(&format!(" (retry after {} s)", wait.as_secs()));
        }
        let err = self.error(kind, &detail).with_status(status.as_u16());
        // A 5xx comes after the request was sent: the vendor (or the
        // gateway's upstream) may have acted. 408 and 429 say it did not.
        Err(if status.is_server_error() {
            err.ambiguous()
        } else {
            err
        })
    }

    /// Reads a JSON body; an unreadable one is `Retryable.Unavailable` (a
    /// proxy page or a truncated answer is usually passing).
    ///
    /// Everything a vendor answers is masked on the way in: whatever the
    /// client keeps of it (a reason, a warning, an id) can then reach logs,
    /// errors and payloads without carrying an echoed credential.
    pub async fn json<T: DeserializeOwned>(&self, response: Response) -> Result<T> {
        let text = response
            .text()
            .await
            .map_err(|e| self.transport_error(&e))?;
        // The vendor answered success: it acted, whatever the body says.
        serde_json::from_str(&self.scrub(&text)).map_err(|e| {
            self.error(
                ErrorKind::Unavailable,
                &format!(
                    "the answer is not the expected JSON ({})",
                    e.classify_name()
                ),
            )
            .ambiguous()
        })
    }

    /// `Fatal.Vendor` from a successful answer: one that does not say what
    /// the docs promise, or that reports a refusal (e.g. Skyhigh FAILURE).
    pub fn unexpected(&self, what: &str) -> Error {
        self.error(ErrorKind::Vendor, what)
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "malformed JSON",
            serde_json::error::Category::Data => "unexpected shape",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

/// 408, 429 and 5xx are worth retrying; other 4xx are the vendor's refusal.
pub fn classify_status(status: StatusCode) -> ErrorKind {
    match status.as_u16() {
        429 => ErrorKind::Throttled,
        408 | 500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::Vendor,
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    // Seconds form only; HTTP-date answers fall back to our own backoff.
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The vendor's own error text: `{"error": "..."}`, `{"error": {"code",
/// "message"}}`, `{"message": ...}`, `{"statusMessage": ...}`, or the plain
/// text, shortened.
pub fn vendor_error_text(body: &str) -> String {
    let text = match serde_json::from_str::<Value>(body) {
        Ok(json) => json_error_text(&json).unwrap_or_else(|| json.to_string()),
        Err(_) => body.trim().to_owned(),
    };
    let mut short: String = text.chars().take(MAX_VENDOR_TEXT).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

fn json_error_text(json: &Value) -> Option<String> {
    match json.get("error") {
        Some(Value::String(s)) => return Some(s.clone()),
        Some(Value::Object(obj)) => {
            let code = obj.get("code").and_then(Value::as_str);
            let message = obj.get("message").and_then(Value::as_str);
            return match (code, message) {
                (Some(c), Some(m)) => Some(format!("{c}: {m}")),
                (Some(s), None) | (None, Some(s)) => Some(s.to_owned()),
                (None, None) => None,
            };
        }
        _ => {}
    }
    ["message", "statusMessage", "detail"]
        .iter()
        .find_map(|k| json.get(*k).and_then(Value::as_str).map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        assert_eq!(
            classify_status(StatusCode::TOO_MANY_REQUESTS),
            ErrorKind::Throttled
        );
        assert_eq!(
            classify_status(StatusCode::REQUEST_TIMEOUT),
            ErrorKind::Unavailable
        );
        assert_eq!(
            classify_status(StatusCode::BAD_GATEWAY),
            ErrorKind::Unavailable
        );
        assert_eq!(
            classify_status(StatusCode::SERVICE_UNAVAILABLE),
            ErrorKind::Unavailable
        );
        assert_eq!(classify_status(StatusCode::BAD_REQUEST), ErrorKind::Vendor);
        assert_eq!(classify_status(StatusCode::UNAUTHORIZED), ErrorKind::Vendor);
        assert_eq!(classify_status(StatusCode::NOT_FOUND), ErrorKind::Vendor);
    }

    #[test]
    fn error_text_from_every_documented_shape() {
        assert_eq!(vendor_error_text(r#"{"error": "bad role"}"#), "bad role");
        assert_eq!(
            vendor_error_text(
                r#"{"error": {"code": "InvalidArgument", "message": "name too long"}}"#
            ),
            "InvalidArgument: name too long"
        );
        assert_eq!(
            vendor_error_text(r#"{"statusMessage": "nope", "status": "FAILURE"}"#),
            "nope"
        );
        assert_eq!(vendor_error_text("Unauthorized\n"), "Unauthorized");
        assert_eq!(vendor_error_text(""), "");
        let long = "x".repeat(1000);
        assert_eq!(
            vendor_error_text(&long).chars().count(),
            MAX_VENDOR_TEXT + 1
        );
    }

    #[test]
    fn credentials_are_scrubbed_in_escaped_and_basic_forms() {
        use base64::Engine as _;
        let password = Secret::new("pa\"ss\\word-1");
        let call = VendorCall::new(VendorName::Skyhigh, "x", &[&password]);
        let json_escaped = serde_json::to_string(password.expose()).unwrap();
        assert!(!call.scrub(&format!("got {json_escaped}")).contains("ss"));
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("admin:{}", password.expose()));
        assert_eq!(
            call.scrub(&format!("Authorization: Basic {basic}")),
            "Authorization: Basic <redacted>"
        );
    }

    #[test]
    fn echoed_credentials_are_scrubbed() {
        let key = Secret::new("sk-live-123");
        let call = VendorCall::new(VendorName::Cloudcraft, "listing accounts", &[&key]);
        let err = call.error(ErrorKind::Vendor, "HTTP 401: key sk-live-123 is not valid");
        assert_eq!(
            err.message(),
            "cloudcraft listing accounts: HTTP 401: key <redacted> is not valid"
        );
    }
}
