use serde_json::json;
use vendorlink_shared::vendors::{Deregistration, RegistrationStatus};
use vendorlink_shared::VendorName::Stellarcyber;

use crate::support::{account, secret, Sandbox};

#[tokio::test]
async fn creates_the_connector_once_reusing_one_token() {
    let sb = Sandbox::start(json!({})).await;
    let client = sb.client(Stellarcyber, secret(Stellarcyber));
    let first = client.register(&account(1)).await.unwrap();
    assert_eq!(first.status, RegistrationStatus::Active);
    let again = client.register(&account(1)).await.unwrap();
    assert_eq!(again.reference, first.reference);
    assert_eq!(sb.count(Stellarcyber, "POST", "/connector").await, 1);
    assert_eq!(sb.count(Stellarcyber, "POST", "access_token").await, 1);
    let created = created_connector(&sb).await;
    assert_eq!(created["body"]["name"], "vendorlink-aws-222222222201");
    assert_eq!(created["body"]["config"]["role_arn"], account(1).role_arn);
    assert_eq!(created["body"]["cust_id"], "tenant-1");
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once() {
    let sb = Sandbox::start(json!({"stellarcyber": {"jwt_lifetime_seconds": 1}})).await;
    let client = sb.client(Stellarcyber, secret(Stellarcyber));
    client.register(&account(1)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    assert_eq!(
        client.status(&account(1), "x").await.unwrap(),
        RegistrationStatus::Active
    );
    assert_eq!(sb.count(Stellarcyber, "POST", "access_token").await, 2);
    let statuses: Vec<u64> = sb
        .request_log(Stellarcyber)
        .await
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert!(
        statuses.contains(&401),
        "the sandbox never refused the old token: {statuses:?}"
    );
}

#[tokio::test]
async fn the_operator_template_shapes_the_connector() {
    let sb = Sandbox::start(json!({})).await;
    let mut s = secret(Stellarcyber);
    s["connector_template"] = json!({"name": "ct-{{account_name}}-{{account_id}}", "type": "aws_cloudtrail",
        "config": {"role_arn": "{{role_arn}}", "bucket": "org-trail", "prefix": "", "file_type": "json",
                   "tenant": "{{tenant_id}}"}});
    sb.client(Stellarcyber, s)
        .register(&account(3))
        .await
        .unwrap();
    let created = created_connector(&sb).await;
    assert_eq!(
        created["body"],
        json!({"name": format!("ct-workload-3-{}", account(3).account_id), "type": "aws_cloudtrail",
        "config": {"role_arn": account(3).role_arn, "bucket": "org-trail", "prefix": "", "file_type": "json",
                   "tenant": "tenant-1"}})
    );
}

#[tokio::test]
async fn deregister_deletes_the_connector() {
    let sb = Sandbox::start(json!({})).await;
    let client = sb.client(Stellarcyber, secret(Stellarcyber));
    client.register(&account(1)).await.unwrap();
    assert_eq!(
        client.deregister(&account(1)).await.unwrap(),
        Deregistration::Removed
    );
    assert_eq!(
        client.deregister(&account(1)).await.unwrap(),
        Deregistration::NotFound
    );
}

#[tokio::test]
async fn wrong_api_key_fails_at_the_token() {
    let sb = Sandbox::start(json!({})).await;
    let mut s = secret(Stellarcyber);
    s["api_key"] = json!("not-the-key");
    let err = sb
        .client(Stellarcyber, s)
        .register(&account(1))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Fatal.Vendor");
    assert!(err.message().contains("getting an access token"), "{err}");
}

/// The connector-creating request the sandbox received.
async fn created_connector(sb: &Sandbox) -> serde_json::Value {
    sb.request_log(Stellarcyber)
        .await
        .into_iter()
        .find(|r| r["method"] == "POST" && r["path"].as_str().unwrap().ends_with("/connector"))
        .unwrap()
}

#[tokio::test]
async fn is_registered_lists_once_per_client() {
    let sb = Sandbox::start(json!({})).await;
    sb.client(Stellarcyber, secret(Stellarcyber))
        .register(&account(1))
        .await
        .unwrap();
    let listings = sb
        .count(Stellarcyber, "GET", "/connect/api/v1/connector")
        .await;

    let client = sb.client(Stellarcyber, secret(Stellarcyber));
    let (a1, a2) = (account(1), account(2));
    let (one, two) = tokio::join!(client.is_registered(&a1), client.is_registered(&a2));
    assert_eq!((one.unwrap(), two.unwrap()), (Some(true), Some(false)));
    assert_eq!(
        sb.count(Stellarcyber, "GET", "/connect/api/v1/connector")
            .await,
        listings + 1
    );
}

#[tokio::test]
async fn the_connector_list_is_read_through_every_page() {
    // 105 connectors, more than one page of the client's 100: the last
    // one is only on the second page.
    let sb = Sandbox::start(json!({})).await;
    let client = sb.client(Stellarcyber, secret(Stellarcyber));
    let accounts: Vec<_> = (0..105u32)
        .map(|n| {
            let mut a = account(1);
            a.account_id = format!("3000000{n:05}").parse().unwrap();
            a.role_arn = format!("arn:aws:iam::{}:role/StellarCyberConnector", a.account_id);
            a
        })
        .collect();
    for a in &accounts {
        client.register(a).await.unwrap();
    }
    let posts = sb
        .count(Stellarcyber, "POST", "/connect/api/v1/connector")
        .await;
    assert_eq!(posts, 105);
    // Registering the last again finds it (on page two): nothing is created.
    let fresh = sb.client(Stellarcyber, secret(Stellarcyber));
    assert_eq!(
        fresh.is_registered(&accounts[104]).await.unwrap(),
        Some(true)
    );
    fresh.register(&accounts[104]).await.unwrap();
    assert_eq!(
        sb.count(Stellarcyber, "POST", "/connect/api/v1/connector")
            .await,
        105
    );
}
