use serde_json::json;
use vendorlink_shared::vendors::{Deregistration, RegistrationStatus};
use vendorlink_shared::VendorName::Skyhigh;

use crate::support::{account, secret, Sandbox};

#[tokio::test]
async fn trust_parameters_come_from_trust_details() {
    let sb = Sandbox::start(json!({})).await;
    let trust = sb
        .client(Skyhigh, secret(Skyhigh))
        .trust_parameters()
        .await
        .unwrap();
    assert_eq!(trust.principal.arn(), "arn:aws:iam::522462218264:root");
    assert_eq!(
        trust.external_id.unwrap().expose(),
        "skyhigh-sandbox-external-id"
    );
}

#[tokio::test]
async fn first_account_provisions_then_later_ones_are_added_and_status_settles() {
    let sb = Sandbox::start(json!({"skyhigh": {"processing_polls": 2}})).await;
    let client = sb.client(Skyhigh, secret(Skyhigh));
    let first = client.register(&account(1)).await.unwrap();
    assert_eq!(first.status, RegistrationStatus::Pending);
    assert_eq!(
        client.status(&account(1), &first.reference).await.unwrap(),
        RegistrationStatus::Pending
    );
    let mut status = RegistrationStatus::Pending;
    for _ in 0..5 {
        status = client.status(&account(1), &first.reference).await.unwrap();
        if status != RegistrationStatus::Pending {
            break;
        }
    }
    assert_eq!(status, RegistrationStatus::Active);
    let second = client.register(&account(2)).await.unwrap();
    assert_eq!(second.status, RegistrationStatus::Pending);
    assert_eq!(sb.count(Skyhigh, "POST", "provisionAccounts").await, 1);
    assert_eq!(sb.count(Skyhigh, "PUT", "addAccounts").await, 1);
}

async fn settle(
    client: &dyn vendorlink_shared::vendors::Vendor,
    n: u8,
    reference: &str,
) -> RegistrationStatus {
    for _ in 0..10 {
        let status = client.status(&account(n), reference).await.unwrap();
        if status != RegistrationStatus::Pending {
            return status;
        }
    }
    panic!("never settled")
}

/// Registers account `n` and follows it until Skyhigh has provisioned it.
async fn provisioned(client: &dyn vendorlink_shared::vendors::Vendor, n: u8) {
    let reg = client.register(&account(n)).await.unwrap();
    assert_eq!(
        settle(client, n, &reg.reference).await,
        RegistrationStatus::Active
    );
}

/// Starts removing `account` and follows the removal to its end.
async fn removed(
    client: &dyn vendorlink_shared::vendors::Vendor,
    account: &vendorlink_shared::vendors::AccountToRegister,
) {
    let Deregistration::Pending { reference } = client.deregister(account).await.unwrap() else {
        panic!("expected an async deletion")
    };
    for _ in 0..10 {
        let status = client.status(account, &reference).await.unwrap();
        if status != RegistrationStatus::Pending {
            assert_eq!(
                status,
                RegistrationStatus::Active,
                "the removal did not finish"
            );
            return;
        }
    }
    panic!("the removal never settled")
}

#[tokio::test]
async fn an_already_provisioned_role_is_not_sent_again() {
    let sb = Sandbox::start(json!({})).await;
    let client = sb.client(Skyhigh, secret(Skyhigh));
    let first = client.register(&account(1)).await.unwrap();
    settle(&*client, 1, &first.reference).await;
    let again = client.register(&account(1)).await.unwrap();
    assert_eq!(again.status, RegistrationStatus::Active);
    assert_eq!(sb.count(Skyhigh, "POST", "provisionAccounts").await, 1);
    assert_eq!(sb.count(Skyhigh, "PUT", "addAccounts").await, 0);
}

#[tokio::test]
async fn missing_permissions_are_reported_as_warnings() {
    let sb = Sandbox::start(json!({})).await;
    sb.post(
        "skyhigh/outcome",
        json!({"role_arn": account(1).role_arn, "status": "SUCCESSFUL_WITH_ERRORS",
        "missing_permissions": ["ec2:DescribeImages", "eks:DescribeCluster"]}),
    )
    .await;
    let client = sb.client(Skyhigh, secret(Skyhigh));
    let reg = client.register(&account(1)).await.unwrap();
    match settle(&*client, 1, &reg.reference).await {
        RegistrationStatus::ActiveWithWarnings { warnings } => {
            let text = warnings.join(" ");
            assert!(
                text.contains("ec2:DescribeImages") && text.contains("eks:DescribeCluster"),
                "{text}"
            );
        }
        other => panic!("expected warnings, got {other:?}"),
    }
}

#[tokio::test]
async fn an_assume_role_failure_is_stalled_with_skyhigh_s_message() {
    // Skyhigh's only documented FAILURE is "Failed Authentication" on
    // sts:AssumeRole, which a role created seconds ago also produces: the
    // client reports it as stalled (check-status registers again, a bounded
    // number of times, before it fails with this reason).
    let sb = Sandbox::start(json!({})).await;
    sb.post(
        "skyhigh/outcome",
        json!({"role_arn": account(1).role_arn, "status": "FAILURE"}),
    )
    .await;
    let client = sb.client(Skyhigh, secret(Skyhigh));
    let reg = client.register(&account(1)).await.unwrap();
    match settle(&*client, 1, &reg.reference).await {
        RegistrationStatus::Stalled { reason } => {
            assert!(reason.contains("Failed Authentication"), "{reason}");
            assert!(reason.contains("sts:AssumeRole"), "{reason}");
        }
        other => panic!("expected a stalled registration, got {other:?}"),
    }
}

#[tokio::test]
async fn deregistration_is_followed_to_completion() {
    let sb = Sandbox::start(json!({})).await;
    let client = sb.client(Skyhigh, secret(Skyhigh));
    provisioned(&*client, 1).await;
    removed(&*client, &account(1)).await;
    assert_eq!(
        client.deregister(&account(1)).await.unwrap(),
        Deregistration::NotFound
    );
}

#[tokio::test]
async fn wrong_password_is_fatal_vendor_without_the_password() {
    let sb = Sandbox::start(json!({})).await;
    let err = sb
        .client(
            Skyhigh,
            json!({"username": "sandbox-admin@example.com", "password": "hunter2-wrong"}),
        )
        .trust_parameters()
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Fatal.Vendor");
    assert_eq!(err.http_status(), Some(401));
    assert!(!format!("{err:?}").contains("hunter2-wrong"));
}

#[tokio::test]
async fn is_registered_lists_once_per_client() {
    let sb = Sandbox::start(json!({})).await;
    let client = sb.client(Skyhigh, secret(Skyhigh));
    let (a1, a2, a3) = (account(1), account(2), account(3));
    let (one, two, three) = tokio::join!(
        client.is_registered(&a1),
        client.is_registered(&a2),
        client.is_registered(&a3),
    );
    assert_eq!(
        (one.unwrap(), two.unwrap(), three.unwrap()),
        (Some(false), Some(false), Some(false))
    );
    assert_eq!(sb.count(Skyhigh, "GET", "provisionedAccounts").await, 1);
    // The next run's client lists again.
    let next = sb.client(Skyhigh, secret(Skyhigh));
    assert_eq!(next.is_registered(&a1).await.unwrap(), Some(false));
    assert_eq!(sb.count(Skyhigh, "GET", "provisionedAccounts").await, 2);
}

#[tokio::test]
async fn registering_again_follows_a_request_still_processing_and_submits_nothing() {
    let sb = Sandbox::start(json!({"skyhigh": {"processing_polls": 3}})).await;
    let client = sb.client(Skyhigh, secret(Skyhigh));
    let first = client.register(&account(1)).await.unwrap();
    assert_eq!(first.status, RegistrationStatus::Pending);
    // Still processing: not in provisionedAccounts, so a plain register
    // would submit it again; register_again follows the recorded request.
    let again = client
        .register_again(&account(1), &first.reference)
        .await
        .unwrap();
    assert_eq!(again.reference, first.reference);
    assert_eq!(again.status, RegistrationStatus::Pending);
    assert_eq!(sb.count(Skyhigh, "POST", "provisionAccounts").await, 1);
    assert_eq!(
        settle(&*client, 1, &first.reference).await,
        RegistrationStatus::Active
    );
    // Done: the account is provisioned and found, nothing is submitted.
    let found = client
        .register_again(&account(1), &first.reference)
        .await
        .unwrap();
    assert_eq!(found.status, RegistrationStatus::Active);
    // An id Skyhigh does not know: the lookup decides.
    let unknown = client
        .register_again(&account(2), "00000000-0000-4000-8000-000000000000")
        .await
        .unwrap();
    assert_eq!(unknown.status, RegistrationStatus::Pending);
    assert_eq!(sb.count(Skyhigh, "POST", "provisionAccounts").await, 1);
    assert_eq!(sb.count(Skyhigh, "PUT", "addAccounts").await, 1);
}

#[tokio::test]
async fn an_answer_without_a_status_id_is_followed_through_the_listing() {
    let sb = Sandbox::start(json!({"skyhigh": {"status_url_in_answer": false,
        "processing_polls": 2}}))
    .await;
    let client = sb.client(Skyhigh, secret(Skyhigh));
    let reg = client.register(&account(1)).await.unwrap();
    assert_eq!(reg.status, RegistrationStatus::Pending);
    assert_eq!(
        settle(&*client, 1, &reg.reference).await,
        RegistrationStatus::Active
    );
    assert_eq!(sb.count(Skyhigh, "GET", "provisionStatus").await, 0);
    // A retry of the step registers again: the listing shows it, nothing is sent.
    let again = client
        .register_again(&account(1), &reg.reference)
        .await
        .unwrap();
    assert_eq!(again.status, RegistrationStatus::Active);
    assert_eq!(sb.count(Skyhigh, "POST", "provisionAccounts").await, 1);
    // Removal without an id: done once the listing no longer has the role.
    removed(&*client, &account(1)).await;
    assert_eq!(
        client.deregister(&account(1)).await.unwrap(),
        Deregistration::NotFound
    );
}

#[tokio::test]
async fn ignore_errors_is_sent_as_the_page_s_example_unless_the_secret_says_otherwise() {
    let sb = Sandbox::start(json!({})).await;
    let client = sb.client(Skyhigh, secret(Skyhigh));
    provisioned(&*client, 1).await;
    client.register(&account(2)).await.unwrap();
    let bodies: Vec<_> = sb
        .request_log(Skyhigh)
        .await
        .into_iter()
        .filter(|r| matches!(r["method"].as_str(), Some("POST") | Some("PUT")))
        .map(|r| r["body"]["ignoreErrors"].clone())
        .collect();
    assert_eq!(bodies, [json!(true), json!(true)]);

    let sb = Sandbox::start(json!({})).await;
    let mut strict = secret(Skyhigh);
    strict["provision_options"] = json!({"ignoreErrors": false});
    sb.client(Skyhigh, strict)
        .register(&account(1))
        .await
        .unwrap();
    let sent = sb.request_log(Skyhigh).await;
    let post = sent.iter().find(|r| r["method"] == "POST").unwrap();
    assert_eq!(post["body"]["ignoreErrors"], json!(false));
}

#[tokio::test]
async fn missing_permissions_fail_where_the_secret_says_so() {
    let sb = Sandbox::start(json!({})).await;
    sb.post(
        "skyhigh/outcome",
        json!({"role_arn": account(1).role_arn, "status": "SUCCESSFUL_WITH_ERRORS",
        "missing_permissions": ["ec2:DescribeImages"]}),
    )
    .await;
    let mut s = secret(Skyhigh);
    s["missing_permissions"] = json!("fail");
    let client = sb.client(Skyhigh, s);
    let reg = client.register(&account(1)).await.unwrap();
    match settle(&*client, 1, &reg.reference).await {
        RegistrationStatus::Failed { reason } => {
            assert!(reason.contains("missing_permissions"), "{reason}");
            assert!(reason.contains("ec2:DescribeImages"), "{reason}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn another_instance_name_is_refused_with_the_fix() {
    let sb = Sandbox::start(json!({})).await;
    let client = sb.client(Skyhigh, secret(Skyhigh));
    provisioned(&*client, 1).await;
    let mut other = secret(Skyhigh);
    other["instance_name"] = json!("Another-AWS");
    let err = sb
        .client(Skyhigh, other)
        .register(&account(2))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Fatal.Vendor");
    let text = err.to_string();
    assert!(text.contains("instance_name"), "{text}");
    assert!(text.contains("Default-AWS"), "{text}");
}

#[tokio::test]
async fn removing_an_account_with_no_name_left_omits_the_name() {
    let sb = Sandbox::start(json!({})).await;
    let client = sb.client(Skyhigh, secret(Skyhigh));
    provisioned(&*client, 1).await;
    let mut nameless = account(1);
    nameless.account_name = String::new();
    removed(&*client, &nameless).await;
}
