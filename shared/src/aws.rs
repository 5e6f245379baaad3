//! Building AWS SDK configuration and turning SDK errors into [`Error`]s.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder as HttpClientBuilder, Connector};

use crate::error::{Error, ErrorKind};

/// Loads the SDK configuration from the standard environment
/// (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials chain), with one
/// explicitly chosen TLS stack (rustls + ring) and bounded timeouts.
pub async fn load_sdk_config() -> SdkConfig {
    load_sdk_config_with(RetryConfig::standard().with_max_attempts(3)).await
}

/// As [`load_sdk_config`], in `region` and, when given, with a named
/// profile of the AWS configuration (the admin CLI's `--region`,
/// `--profile`).
pub async fn load_sdk_config_for(region: &str, profile: Option<&str>) -> SdkConfig {
    let mut loader = defaults_with(RetryConfig::standard().with_max_attempts(3))
        .region(aws_config::Region::new(region.to_owned()));
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    loader.load().await
}

/// As [`load_sdk_config`], with a given retry policy (tests use one attempt
/// so that a dead emulator fails fast).
pub async fn load_sdk_config_with(retry: RetryConfig) -> SdkConfig {
    defaults_with(retry).load().await
}

fn defaults_with(retry: RetryConfig) -> aws_config::ConfigLoader {
    // The system roots the vendors' client trusts too (crate::tls), read
    // once for both, and only when the first connection is made: the SDK
    // would otherwise read them again itself.
    let http_client = HttpClientBuilder::new().build_with_connector_fn(|settings, components| {
        let mut builder = Connector::builder();
        builder.set_connector_settings(settings.cloned());
        // As the SDK's own builder does (its time source only feeds the
        // connector's own metrics, and the setter is private).
        if let Some(components) = components {
            builder.set_sleep_impl(components.sleep_impl());
        }
        let trust = tls::TrustStore::empty().with_pem_certificate(crate::tls::system_roots_pem());
        builder
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .tls_context(
                tls::TlsContext::builder()
                    .with_trust_store(trust)
                    .build()
                    .unwrap_or_default(),
            )
            .build()
    });
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .retry_config(retry)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        )
}

/// The service error code of an SDK error, when the service answered.
pub fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    err.as_service_error().and_then(ProvideErrorMetadata::code)
}

const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "ConcurrentModificationException",
];

const UNAVAILABLE_CODES: &[&str] = &[
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalServerError",
    "InternalServiceError",
    "InternalServiceErrorException",
    "ServiceFailure",
    "ServiceFailureException",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// How an SDK error should be retried: throttling and transport failures
/// are retryable, anything else the service refused is a configuration
/// problem (missing permission, wrong name) that retrying will not fix.
pub fn classify<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> ErrorKind {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ErrorKind::Unavailable
        }
        SdkError::ServiceError(_) => match error_code(err) {
            Some(code) if THROTTLING_CODES.contains(&code) => ErrorKind::Throttled,
            Some(code) if UNAVAILABLE_CODES.contains(&code) => ErrorKind::Unavailable,
            _ => ErrorKind::Config,
        },
        _ => ErrorKind::Config,
    }
}

/// An [`Error`] for a failed AWS call: what we were doing, the service's
/// code and message (never request contents).
pub fn aws_error<E: ProvideErrorMetadata, R>(doing: &str, err: SdkError<E, R>) -> Error {
    let kind = classify(&err);
    let detail = match &err {
        SdkError::ServiceError(_) => {
            let code = err.code().unwrap_or("UnknownError");
            match err.message() {
                Some(msg) => format!("{code}: {msg}"),
                None => code.to_owned(),
            }
        }
        SdkError::TimeoutError(_) => "the request timed out".to_owned(),
        SdkError::DispatchFailure(e) => {
            if e.is_timeout() {
                "the request timed out".to_owned()
            } else if e.is_io() {
                "could not connect to the AWS endpoint".to_owned()
            } else {
                "the request could not be sent".to_owned()
            }
        }
        SdkError::ResponseError(_) => "the response could not be read".to_owned(),
        SdkError::ConstructionFailure(_) => "the request could not be built".to_owned(),
        _ => "unknown SDK error".to_owned(),
    };
    Error::new(kind, format!("{doing} failed: {detail}"))
}
