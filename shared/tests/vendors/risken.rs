use serde_json::json;
use vendorlink_shared::vendors::{Deregistration, RegistrationStatus};
use vendorlink_shared::VendorName::Risken;

use crate::support::{account, risken_token, secret, Sandbox};

async fn settle(
    client: &dyn vendorlink_shared::vendors::Vendor,
    reference: &str,
) -> RegistrationStatus {
    for _ in 0..10 {
        let status = client.status(&account(1), reference).await.unwrap();
        if status != RegistrationStatus::Pending {
            return status;
        }
    }
    panic!("never settled")
}

#[tokio::test]
async fn registers_attaches_every_data_source_and_becomes_active() {
    let sb = Sandbox::start(json!({})).await;
    let client = sb.client(Risken, secret(Risken));
    let reg = client.register(&account(1)).await.unwrap();
    assert_eq!(reg.status, RegistrationStatus::Pending);
    assert_eq!(sb.count(Risken, "POST", "put-aws").await, 1);
    assert_eq!(sb.count(Risken, "POST", "attach-datasource").await, 5);
    assert_eq!(sb.count(Risken, "POST", "invoke-scan").await, 5);
    let attach = sb
        .request_log(Risken)
        .await
        .into_iter()
        .find(|r| r["path"].as_str().unwrap().contains("attach"))
        .unwrap();
    assert_eq!(
        attach["body"]["attach_data_source"]["external_id"],
        "risken-external-id-0123"
    );
    assert_eq!(attach["body"]["attach_data_source"]["status"], 2);
    assert_eq!(
        settle(&*client, &reg.reference).await,
        RegistrationStatus::Active
    );
}

#[tokio::test]
async fn registering_again_attaches_nothing_new() {
    let sb = Sandbox::start(json!({})).await;
    let client = sb.client(Risken, secret(Risken));
    let first = client.register(&account(1)).await.unwrap();
    let again = client.register(&account(1)).await.unwrap();
    assert_eq!(again.reference, first.reference);
    assert_eq!(sb.count(Risken, "POST", "put-aws").await, 1);
    assert_eq!(sb.count(Risken, "POST", "attach-datasource").await, 5);
}

#[tokio::test]
async fn only_configured_data_sources_are_attached() {
    let sb = Sandbox::start(json!({})).await;
    let mut s = secret(Risken);
    s["data_sources"] = json!(["aws:guard-duty", "aws:portscan"]);
    let client = sb.client(Risken, s);
    let reg = client.register(&account(1)).await.unwrap();
    assert_eq!(sb.count(Risken, "POST", "attach-datasource").await, 2);
    assert_eq!(
        settle(&*client, &reg.reference).await,
        RegistrationStatus::Active
    );
}

#[tokio::test]
async fn a_data_source_error_fails_the_registration_with_its_detail() {
    let sb = Sandbox::start(json!({"risken": {"scan_polls": 3}})).await;
    let client = sb.client(Risken, secret(Risken));
    let reg = client.register(&account(1)).await.unwrap();
    sb.post(
        "risken/datasource-error",
        json!({"aws_account_id": account(1).account_id.as_str(),
        "data_source": "aws:guard-duty", "status_detail": "GuardDuty is not enabled"}),
    )
    .await;
    match settle(&*client, &reg.reference).await {
        RegistrationStatus::Failed { reason } => {
            assert!(
                reason.contains("aws:guard-duty: GuardDuty is not enabled"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn deregister_detaches_and_deletes_then_reports_not_found() {
    let sb = Sandbox::start(json!({})).await;
    let client = sb.client(Risken, secret(Risken));
    client.register(&account(1)).await.unwrap();
    assert_eq!(
        client.deregister(&account(1)).await.unwrap(),
        Deregistration::Removed
    );
    assert_eq!(sb.count(Risken, "POST", "detach-datasource").await, 5);
    assert_eq!(sb.count(Risken, "POST", "delete-aws").await, 1);
    assert_eq!(
        client.deregister(&account(1)).await.unwrap(),
        Deregistration::NotFound
    );
}

#[tokio::test]
async fn an_invalid_token_gets_risken_s_plain_text_error() {
    let sb = Sandbox::start(json!({})).await;
    let mut s = secret(Risken);
    s["access_token"] = json!("bm90LWEtdG9rZW4");
    let err = sb
        .client(Risken, s)
        .register(&account(1))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Fatal.Vendor");
    assert!(matches!(err.http_status(), Some(401) | Some(403)), "{err}");
    assert!(!err.message().contains("bm90LWEtdG9rZW4"));
    let _ = risken_token();
}

#[tokio::test]
async fn a_project_mismatch_is_refused() {
    let sb = Sandbox::start(json!({})).await;
    let mut s = secret(Risken);
    s["project_id"] = json!(2002);
    let err = sb
        .client(Risken, s)
        .register(&account(1))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Fatal.Vendor", "{err}");
}

#[tokio::test]
async fn a_failed_attach_or_scan_is_sent_again_in_the_call() {
    // attach-datasource is an upsert and invoke-scan only starts a scan:
    // both are sent again after any failure, a lost answer included.
    let sb = Sandbox::start(json!({})).await;
    sb.fault(json!({"vendor": "risken", "status": 502, "count": 1, "path_contains": "attach-datasource"}))
        .await;
    sb.fault(
        json!({"vendor": "risken", "status": 503, "count": 1, "path_contains": "invoke-scan"}),
    )
    .await;
    let client = sb.client(Risken, secret(Risken));
    let reg = client.register(&account(1)).await.unwrap();
    assert_eq!(sb.count(Risken, "POST", "attach-datasource").await, 6);
    assert_eq!(sb.count(Risken, "POST", "invoke-scan").await, 6);
    assert_eq!(
        settle(&*client, &reg.reference).await,
        RegistrationStatus::Active
    );
}

#[tokio::test]
async fn a_scan_still_running_is_pending_with_what_it_waits_for() {
    let sb = Sandbox::start(json!({"risken": {"scan_polls": 3}})).await;
    let client = sb.client(Risken, secret(Risken));
    let reg = client.register(&account(1)).await.unwrap();
    let status = client.status(&account(1), &reg.reference).await.unwrap();
    assert_eq!(status, RegistrationStatus::Pending);
    let progress = client.progress().unwrap();
    assert!(
        progress.starts_with("still scanning: 0 of 5 data sources OK"),
        "{progress}"
    );
    assert!(progress.contains("aws:cloudsploit ("), "{progress}");
    assert_eq!(
        settle(&*client, &reg.reference).await,
        RegistrationStatus::Active
    );
}
