use reqwest::Method;
use serde_json::json;
use vendorlink_shared::vendors::{Deregistration, RegistrationStatus};
use vendorlink_shared::VendorName::Cloudcraft;

use crate::support::{account, secret, Sandbox};

#[tokio::test]
async fn trust_parameters_come_from_iam_parameters() {
    let sb = Sandbox::start(json!({})).await;
    let trust = sb
        .client(Cloudcraft, secret(Cloudcraft))
        .trust_parameters()
        .await
        .unwrap();
    assert_eq!(trust.principal.arn(), "arn:aws:iam::968898580625:root");
    assert_eq!(
        trust.external_id.unwrap().expose(),
        "ex53e827-a724-4a2a-9fec-b13761540785"
    );
}

#[tokio::test]
async fn registers_once_and_finds_the_account_the_second_time() {
    let sb = Sandbox::start(json!({})).await;
    let client = sb.client(Cloudcraft, secret(Cloudcraft));
    let first = client.register(&account(1)).await.unwrap();
    assert_eq!(first.status, RegistrationStatus::Active);
    let second = client.register(&account(1)).await.unwrap();
    assert_eq!(second, first);
    assert_eq!(sb.count(Cloudcraft, "POST", "/aws/account").await, 1);
    let body = &sb
        .request_log(Cloudcraft)
        .await
        .into_iter()
        .find(|r| r["method"] == "POST")
        .unwrap()["body"];
    assert_eq!(
        body,
        &json!({"name": "workload-1", "roleArn": account(1).role_arn, "region": "us-east-1"})
    );
    assert_eq!(
        client.status(&account(1), &first.reference).await.unwrap(),
        RegistrationStatus::Active
    );
}

#[tokio::test]
async fn deregister_removes_then_reports_not_found() {
    let sb = Sandbox::start(json!({})).await;
    let client = sb.client(Cloudcraft, secret(Cloudcraft));
    client.register(&account(2)).await.unwrap();
    assert_eq!(
        client.deregister(&account(2)).await.unwrap(),
        Deregistration::Removed
    );
    assert_eq!(
        client.deregister(&account(2)).await.unwrap(),
        Deregistration::NotFound
    );
    assert_eq!(
        sb.state().await["cloudcraft"]["accounts"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
}

#[tokio::test]
async fn a_role_cloudcraft_cannot_assume_yet_is_a_role_refusal() {
    // Cloudcraft's 400 on the POST: register-account turns it into
    // Retryable.RoleNotReady while the role is new (task tests).
    let sb = Sandbox::start(json!({})).await;
    sb.post("role-delay", json!({"seconds": 60})).await;
    let err = sb
        .client(Cloudcraft, secret(Cloudcraft))
        .register(&account(3))
        .await
        .unwrap_err();
    assert!(err.is_role_refusal(), "{err}");
    assert_eq!(err.http_status(), Some(400));
    assert_eq!(err.vendor(), Some(Cloudcraft));
}

#[tokio::test]
async fn a_429_on_a_get_is_retried_after_retry_after() {
    let sb = Sandbox::start(json!({})).await;
    sb.fault(json!({"vendor": "cloudcraft", "status": 429, "retry_after": 1, "count": 1}))
        .await;
    let started = std::time::Instant::now();
    sb.client(Cloudcraft, secret(Cloudcraft))
        .trust_parameters()
        .await
        .unwrap();
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "Retry-After not honoured"
    );
    assert_eq!(sb.count(Cloudcraft, "GET", "iamParameters").await, 2);
}

#[tokio::test]
async fn persistent_throttling_is_retryable_throttled_with_the_wait() {
    let (sb, err) = trust_parameters_failing_with(
        json!({"vendor": "cloudcraft", "status": 429, "retry_after": 60, "count": 5}),
    )
    .await;
    assert_eq!(err.error_type(), "Retryable.Throttled");
    assert!(err.message().contains("retry after 60 s"), "{err}");
    // A wait longer than the in-call limit is left to the state machine.
    assert_eq!(sb.count(Cloudcraft, "GET", "iamParameters").await, 1);
}

#[tokio::test]
async fn the_real_rate_limit_answers_429_and_is_classified_throttled() {
    let sb = Sandbox::start(json!({"cloudcraft": {"rate_limit_per_minute": 2}})).await;
    let client = sb.client(Cloudcraft, secret(Cloudcraft));
    client.trust_parameters().await.unwrap();
    client.trust_parameters().await.unwrap();
    let err = client.trust_parameters().await.unwrap_err();
    assert_eq!(err.error_type(), "Retryable.Throttled", "{err}");
}

#[tokio::test]
async fn a_5xx_on_a_post_is_unavailable_and_not_repeated() {
    let sb = Sandbox::start(json!({})).await;
    sb.fault(
        json!({"vendor": "cloudcraft", "status": 503, "count": 1, "path_contains": "/aws/account"}),
    )
    .await;
    // The first request (the lookup GET) takes the fault and is retried; the
    // POST then succeeds: GETs retry, POSTs never do.
    sb.client(Cloudcraft, secret(Cloudcraft))
        .register(&account(4))
        .await
        .unwrap();
    assert_eq!(sb.count(Cloudcraft, "GET", "/aws/account").await, 2);
    sb.fault(json!({"vendor": "cloudcraft", "status": 502, "count": 3}))
        .await;
    let err = sb
        .client(Cloudcraft, secret(Cloudcraft))
        .register(&account(5))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Retryable.Unavailable");
    assert_eq!(sb.count(Cloudcraft, "POST", "/aws/account").await, 1);
}

#[tokio::test]
async fn a_wrong_key_is_fatal_vendor_with_cloudcraft_s_text() {
    let sb = Sandbox::start(json!({})).await;
    let err = sb
        .client(Cloudcraft, json!({"api_key": "wrong-key-value"}))
        .trust_parameters()
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Fatal.Vendor");
    assert_eq!(err.http_status(), Some(401));
    assert!(!format!("{err} {err:?}").contains("wrong-key-value"));
    let _ = Method::GET;
}

#[tokio::test]
async fn a_malformed_answer_is_unavailable() {
    let (_sandbox, err) = trust_parameters_failing_with(
        json!({"vendor": "cloudcraft", "malformed": true, "count": 3}),
    )
    .await;
    assert_eq!(err.error_type(), "Retryable.Unavailable");
    assert!(err.message().contains("not the expected JSON"), "{err}");
}

/// Reads the trust parameters from a sandbox that injects `fault`.
async fn trust_parameters_failing_with(
    fault: serde_json::Value,
) -> (Sandbox, vendorlink_shared::Error) {
    let sb = Sandbox::start(json!({})).await;
    sb.fault(fault).await;
    let err = sb
        .client(Cloudcraft, secret(Cloudcraft))
        .trust_parameters()
        .await
        .unwrap_err();
    (sb, err)
}

#[tokio::test]
async fn is_registered_lists_once_per_client() {
    let sb = Sandbox::start(json!({})).await;
    let setup = sb.client(Cloudcraft, secret(Cloudcraft));
    setup.register(&account(4)).await.unwrap();
    setup.register(&account(5)).await.unwrap();
    let listings = sb.count(Cloudcraft, "GET", "/aws/account").await;

    // Asked for three accounts at once (reconcile checks concurrently): one listing.
    let reconcile = sb.client(Cloudcraft, secret(Cloudcraft));
    let (a4, a5, a6) = (account(4), account(5), account(6));
    let (four, five, six) = tokio::join!(
        reconcile.is_registered(&a4),
        reconcile.is_registered(&a5),
        reconcile.is_registered(&a6),
    );
    assert_eq!(
        (four.unwrap(), five.unwrap(), six.unwrap()),
        (Some(true), Some(true), Some(false))
    );
    assert_eq!(
        sb.count(Cloudcraft, "GET", "/aws/account").await,
        listings + 1
    );
    // Registering never trusts that snapshot: it lists again, then adds.
    reconcile.register(&account(6)).await.unwrap();
    assert_eq!(
        sb.count(Cloudcraft, "GET", "/aws/account").await,
        listings + 2
    );
    assert_eq!(sb.count(Cloudcraft, "POST", "/aws/account").await, 3);
    // A new client (the next reconcile run) sees the new account.
    let next = sb.client(Cloudcraft, secret(Cloudcraft));
    assert_eq!(next.is_registered(&account(6)).await.unwrap(), Some(true));
}

#[tokio::test]
async fn retries_follow_cloudcraft_s_guidance_a_503_again_a_500_not() {
    let sb = Sandbox::start(json!({})).await;
    sb.fault(json!({"vendor": "cloudcraft", "status": 503, "count": 1}))
        .await;
    let client = sb.client(Cloudcraft, secret(Cloudcraft));
    client.trust_parameters().await.unwrap();
    assert_eq!(sb.count(Cloudcraft, "GET", "iamParameters").await, 2);

    let sb = Sandbox::start(json!({})).await;
    sb.fault(json!({"vendor": "cloudcraft", "status": 500, "count": 1}))
        .await;
    let err = sb
        .client(Cloudcraft, secret(Cloudcraft))
        .trust_parameters()
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(500));
    assert_eq!(err.error_type(), "Retryable.Unavailable");
    let attempts = sb.request_log(Cloudcraft).await.len();
    assert_eq!(attempts, 1, "a 500 is left to the state machine");
}
