use serde_json::json;
use vendorlink_shared::vendors::{Deregistration, RegistrationStatus};
use vendorlink_shared::VendorName::Datatheorem;

use crate::support::{account, secret, Sandbox};

#[tokio::test]
async fn registers_an_aws_cloud_authenticator() {
    let sb = Sandbox::start(json!({})).await;
    let client = sb.client(Datatheorem, secret(Datatheorem));
    let trust = client.trust_parameters().await.unwrap();
    assert_eq!(trust.principal.arn(), "arn:aws:iam::111122223333:root");
    let registration = client.register(&account(1)).await.unwrap();
    assert_eq!(registration.status, RegistrationStatus::Active);
    assert!(!registration.reference.is_empty());
    let log = sb.request_log(Datatheorem).await;
    assert_eq!(
        log[0]["body"],
        json!({"cloud_authenticator_type": 3, "aws_credential": {
        "role_arn": account(1).role_arn, "external_id": "dt-external-id-0123456789"}})
    );
    assert_eq!(log[0]["authorization"], "APIKey ***");
}

#[tokio::test]
async fn offboarding_is_a_manual_step_never_a_fake_success() {
    let sb = Sandbox::start(json!({})).await;
    let outcome = sb
        .client(Datatheorem, secret(Datatheorem))
        .deregister(&account(1))
        .await
        .unwrap();
    let Deregistration::ManualStepRequired { instruction } = outcome else {
        panic!("expected a manual step, got {outcome:?}")
    };
    assert!(instruction.contains(&account(1).role_arn), "{instruction}");
    assert!(
        sb.request_log(Datatheorem).await.is_empty(),
        "no call may pretend to offboard"
    );
}

#[tokio::test]
async fn a_rejected_request_is_fatal_vendor() {
    let sb = Sandbox::start(json!({})).await;
    let err = sb
        .client(Datatheorem, json!({"api_key": "nope-nope", "aws_account_id": "111122223333", "external_id": "x123456789"}))
        .register(&account(1))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Fatal.Vendor");
    assert!(
        err.message()
            .starts_with("datatheorem creating the cloud authenticator: HTTP 40"),
        "{err}"
    );
}

#[tokio::test]
async fn a_429_on_the_create_is_sent_again_and_creates_once() {
    // A 429 is a refusal: Data Theorem did not act, so the call sends the
    // POST again after the Retry-After.
    let sb = Sandbox::start(json!({})).await;
    sb.fault(json!({"vendor": "datatheorem", "status": 429, "retry_after": 0, "count": 1}))
        .await;
    let client = sb.client(Datatheorem, secret(Datatheorem));
    let registration = client.register(&account(1)).await.unwrap();
    assert_eq!(registration.status, RegistrationStatus::Active);
    let statuses: Vec<u64> = sb
        .request_log(Datatheorem)
        .await
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    assert_eq!(statuses[0], 429);
    assert_eq!(
        sb.state().await["datatheorem"]["authenticators"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn a_5xx_on_the_create_is_ambiguous_and_never_sent_again() {
    // A 5xx may come after Data Theorem created the authenticator, and it
    // has no lookup: one POST, and the error says the vendor may have acted.
    let sb = Sandbox::start(json!({})).await;
    sb.fault(json!({"vendor": "datatheorem", "status": 503, "count": 1}))
        .await;
    let err = sb
        .client(Datatheorem, secret(Datatheorem))
        .register(&account(1))
        .await
        .unwrap_err();
    assert!(err.is_ambiguous(), "{err}");
    assert_eq!(sb.request_log(Datatheorem).await.len(), 1);
}
