//! Test fixtures: a fresh organization with a member account, per test.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use aws_sdk_iam::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_organizations::types::{CreateAccountState, OrganizationFeatureSet};
use vendorlink_shared::AccountId;

/// SDK configuration for the emulator, from the environment `with-moto` sets.
pub async fn base_sdk() -> SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1:"),
        "AWS_ENDPOINT_URL must point at the local emulator; run these tests with `make test` \
         or `local/with-moto cargo test` (got `{endpoint}`)"
    );
    let sdk =
        vendorlink_shared::aws::load_sdk_config_with(RetryConfig::standard().with_max_attempts(1))
            .await;
    // The emulator's first call into a fresh account loads every AWS managed
    // policy; with tests running in parallel on two cores that has taken
    // longer than the SDK's 30 s attempt timeout. The tests wait longer.
    sdk.to_builder()
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(120))
                .build(),
        )
        .build()
}

/// A random 12-digit account id.
pub fn random_account_id() -> AccountId {
    let n = uuid::Uuid::new_v4().as_u128() % 900_000_000_000 + 100_000_000_000;
    n.to_string().parse().expect("12 digits")
}

/// Credentials for a brand-new account: the emulator keeps state per
/// account, so assuming a role in a random one gives a clean slate.
pub async fn fresh_account() -> (SdkConfig, AccountId) {
    let base = base_sdk().await;
    let account = random_account_id();
    let sts = aws_sdk_sts::Client::new(&base);
    let out = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/vendorlink-test"))
        .role_session_name("vendorlink-test")
        .send()
        .await
        .expect("assume role into a fresh account");
    let creds = out.credentials.expect("credentials");
    let provider = SharedCredentialsProvider::new(Credentials::new(
        creds.access_key_id,
        creds.secret_access_key,
        Some(creds.session_token),
        None,
        "test",
    ));
    (
        base.to_builder().credentials_provider(provider).build(),
        account,
    )
}

/// A management account with its own organization and one new member.
pub struct TestOrg {
    pub sdk: SdkConfig,
    pub management: AccountId,
    pub organizations: aws_sdk_organizations::Client,
    pub member: AccountId,
}

pub async fn fresh_org() -> TestOrg {
    let (sdk, management) = fresh_account().await;
    let organizations = aws_sdk_organizations::Client::new(&sdk);
    organizations
        .create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .expect("create organization");
    let member = create_account(&organizations, "member").await;
    TestOrg {
        sdk,
        management,
        organizations,
        member,
    }
}

pub async fn create_account(
    organizations: &aws_sdk_organizations::Client,
    name: &str,
) -> AccountId {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let status = organizations
        .create_account()
        .account_name(name)
        .email(format!("{name}-{unique}@example.com"))
        .send()
        .await
        .expect("create account")
        .create_account_status
        .expect("status");
    assert_eq!(status.state, Some(CreateAccountState::Succeeded));
    status
        .account_id
        .expect("account id")
        .parse()
        .expect("account id")
}

/// IAM configuration acting in the test organization's member account.
pub async fn member_iam_config(t: &TestOrg) -> aws_sdk_iam::config::Builder {
    let sts = aws_sdk_sts::Client::new(&t.sdk);
    let creds = sts
        .assume_role()
        .role_arn(format!(
            "arn:aws:iam::{}:role/OrganizationAccountAccessRole",
            t.member
        ))
        .role_session_name("inspector")
        .send()
        .await
        .expect("assume member role")
        .credentials
        .expect("credentials");
    aws_sdk_iam::config::Builder::from(&t.sdk).credentials_provider(Credentials::new(
        creds.access_key_id,
        creds.secret_access_key,
        Some(creds.session_token),
        None,
        "test",
    ))
}

/// An IAM client acting in the test organization's member account.
pub async fn member_iam_client(t: &TestOrg) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::from_conf(member_iam_config(t).await.build())
}
