use std::sync::{Arc, Mutex};

use aws_sdk_iam::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_iam::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_iam::Client as IamClient;
use aws_smithy_mocks::{mock, mock_client};
use serde_json::{json, Value};
use vendorlink_shared::member_iam::{session_policy, SessionPurpose};
use vendorlink_shared::member_iam::{Drift, MemberIam, RoleDeletion, RoleSpec};
use vendorlink_shared::policy::decode_policy;
use vendorlink_shared::policy::{TrustParameters, TrustPrincipal};
use vendorlink_shared::secret::Secret;
use vendorlink_shared::AccountId;
use vendorlink_shared::VendorName;

use crate::support::{base_sdk, fresh_org, TestOrg};

const SECURITY_AUDIT: &str = "arn:aws:iam::aws:policy/SecurityAudit";
const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

fn principal() -> TrustPrincipal {
    TrustPrincipal::Account("999988887777".parse().unwrap())
}

fn spec(vendor: VendorName, external_id: Option<&str>) -> RoleSpec {
    RoleSpec::new(
        vendor,
        vendor.default_role(),
        TrustParameters {
            principal: principal(),
            external_id: external_id.map(Secret::new),
        },
    )
}

async fn member_iam(t: &TestOrg) -> MemberIam {
    let sts = aws_sdk_sts::Client::new(&t.sdk);
    MemberIam::assume(
        &t.sdk,
        &sts,
        &t.member,
        "OrganizationAccountAccessRole",
        "vendorlink-test",
        &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}),
    )
    .await
    .unwrap()
}

/// The error of entering `account` through `role` with a (mocked) STS that
/// refuses.
async fn assume_refused(
    sdk: &aws_config::SdkConfig,
    sts: &aws_sdk_sts::Client,
    account: &AccountId,
    role: &str,
) -> vendorlink_shared::Error {
    MemberIam::assume(sdk, sts, account, role, "s", &json!({}))
        .await
        .err()
        .unwrap()
}

/// An IAM client acting in the member account, whose every call's action
/// name is recorded, so a test can prove no write was made.
async fn recording_iam(t: &TestOrg) -> (IamClient, Arc<Mutex<Vec<String>>>) {
    #[derive(Debug)]
    struct RecordActions(Arc<Mutex<Vec<String>>>);
    impl Intercept for RecordActions {
        fn name(&self) -> &'static str {
            "RecordActions"
        }
        fn read_before_transmit(
            &self,
            ctx: &BeforeTransmitInterceptorContextRef<'_>,
            _: &RuntimeComponents,
            _: &mut ConfigBag,
        ) -> Result<(), aws_sdk_iam::error::BoxError> {
            // IAM speaks the query protocol: the body starts `Action=<Name>&`.
            let body = ctx.request().body().bytes().unwrap_or_default();
            let body = String::from_utf8_lossy(body);
            if let Some(action) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
                self.0.lock().unwrap().push(action.to_owned());
            }
            Ok(())
        }
    }
    let actions = Arc::new(Mutex::new(Vec::new()));
    let config = crate::support::member_iam_config(t)
        .await
        .interceptor(RecordActions(actions.clone()))
        .build();
    (IamClient::from_conf(config), actions)
}

/// Creates a role vendorlink did not make (no tag) trusting `principal`'s
/// root, as a customer's own role would; returns its trust policy.
async fn untagged_role(iam: &IamClient, name: &str, principal: &str) -> Value {
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{principal}:root")}, "Action": "sts:AssumeRole"}]});
    iam.create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    trust
}

async fn trust_document(iam: &IamClient, role: &str) -> Value {
    let raw = iam
        .get_role()
        .role_name(role)
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .assume_role_policy_document
        .unwrap();
    decode_policy(&raw).expect("decodable trust policy")
}

async fn attached(iam: &IamClient, role: &str) -> Vec<String> {
    let out = iam
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap();
    let mut arns: Vec<_> = out
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn.clone())
        .collect();
    arns.sort();
    arns
}

#[tokio::test]
async fn creates_the_role_exactly_as_specified() {
    let t = fresh_org().await;
    let (iam, _) = recording_iam(&t).await;
    let member = member_iam(&t).await;
    let spec = spec(VendorName::Datatheorem, Some("ext-id-0123456789"));
    let ensured = member.ensure_role(&spec).await.unwrap();
    assert!(ensured.created());
    assert_eq!(
        ensured.arn,
        format!("arn:aws:iam::{}:role/DataTheorem-Service", t.member)
    );

    // Read back by hand (the emulator evaluates no trust policies).
    assert_eq!(
        trust_document(&iam, "DataTheorem-Service").await,
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::999988887777:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "ext-id-0123456789"}}
        }]})
    );
    assert_eq!(
        attached(&iam, "DataTheorem-Service").await,
        [SECURITY_AUDIT]
    );
    let inline = iam
        .get_role_policy()
        .role_name("DataTheorem-Service")
        .policy_name("DataTheorem-APIGateway-SecurityAudit")
        .send()
        .await
        .unwrap();
    assert_eq!(
        decode_policy(inline.policy_document()).unwrap(),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["apigateway:GET"], "Resource": "*"}]})
    );
    assert_eq!(member.inspect_role(&spec).await.unwrap().drift, []);
}

#[tokio::test]
async fn a_role_trusting_an_exact_principal_names_it_and_needs_no_condition() {
    let t = fresh_org().await;
    let (iam, _) = recording_iam(&t).await;
    let mut spec = spec(VendorName::Stellarcyber, None);
    spec.trust.principal = "arn:aws:iam::999988887777:role/stellar-connector"
        .parse()
        .unwrap();
    member_iam(&t).await.ensure_role(&spec).await.unwrap();
    let doc = trust_document(&iam, "StellarCyberConnector").await;
    assert_eq!(
        doc["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::999988887777:role/stellar-connector"
    );
    assert!(doc["Statement"][0].get("Condition").is_none(), "{doc}");
}

#[tokio::test]
async fn a_role_that_is_already_right_gets_no_write_calls() {
    let t = fresh_org().await;
    let spec = spec(VendorName::Risken, Some("ext-id-0123456789"));
    member_iam(&t).await.ensure_role(&spec).await.unwrap();

    let (iam, actions) = recording_iam(&t).await;
    let member = MemberIam::from_client(iam, t.member.clone());
    let ensured = member.ensure_role(&spec).await.unwrap();
    assert_eq!(ensured.repaired, []);
    let actions = actions.lock().unwrap().clone();
    assert!(!actions.is_empty());
    for action in &actions {
        assert!(
            action.starts_with("Get") || action.starts_with("List"),
            "write call {action} on a role that was already right: {actions:?}"
        );
    }
}

#[tokio::test]
async fn drift_is_found_and_repaired() {
    let t = fresh_org().await;
    let (iam, _) = recording_iam(&t).await;
    let member = member_iam(&t).await;
    let spec = spec(VendorName::Skyhigh, Some("skyhigh-external-id"));
    member.ensure_role(&spec).await.unwrap();
    let role = "SkyhighSecurityAudit";

    // Tamper: anyone may assume it, a managed policy swapped, the inline
    // policy widened, and an extra inline policy added.
    let open_trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]});
    iam.update_assume_role_policy()
        .role_name(role)
        .policy_document(open_trust.to_string())
        .send()
        .await
        .unwrap();
    iam.detach_role_policy()
        .role_name(role)
        .policy_arn(SECURITY_AUDIT)
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name(role)
        .policy_arn(READ_ONLY)
        .send()
        .await
        .unwrap();
    let wide = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    iam.put_role_policy()
        .role_name(role)
        .policy_name("SkyhighSecurityAudit-Required")
        .policy_document(wide.to_string())
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name(role)
        .policy_name("backdoor")
        .policy_document(wide.to_string())
        .send()
        .await
        .unwrap();

    let mut drift = member.inspect_role(&spec).await.unwrap().drift;
    drift.sort_by_key(|d| format!("{d:?}"));
    assert_eq!(
        drift,
        [
            Drift::InlinePolicyDiffers("SkyhighSecurityAudit-Required".into()),
            Drift::InlinePolicyExtra("backdoor".into()),
            Drift::ManagedPolicyExtra(READ_ONLY.into()),
            Drift::ManagedPolicyMissing(SECURITY_AUDIT.into()),
            Drift::TrustPolicy,
        ]
    );

    let ensured = member.ensure_role(&spec).await.unwrap();
    assert_eq!(ensured.repaired.len(), 5);
    assert!(!ensured.created());
    assert_eq!(member.inspect_role(&spec).await.unwrap().drift, []);
    assert_eq!(attached(&iam, role).await, [SECURITY_AUDIT]);
    assert_eq!(trust_document(&iam, role).await, spec.trust_policy());
    let names = iam
        .list_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap()
        .policy_names;
    assert_eq!(names, ["SkyhighSecurityAudit-Required"]);
}

#[tokio::test]
async fn a_changed_external_id_is_drift_in_the_trust_policy() {
    let t = fresh_org().await;
    let member = member_iam(&t).await;
    member
        .ensure_role(&spec(VendorName::Cloudcraft, Some("first-external-id")))
        .await
        .unwrap();
    let rotated = spec(VendorName::Cloudcraft, Some("second-external-id"));
    assert_eq!(
        member.inspect_role(&rotated).await.unwrap().drift,
        [Drift::TrustPolicy]
    );
    member.ensure_role(&rotated).await.unwrap();
    assert_eq!(member.inspect_role(&rotated).await.unwrap().drift, []);
}

#[tokio::test]
async fn a_missing_role_is_reported_as_such() {
    let t = fresh_org().await;
    let state = member_iam(&t)
        .await
        .inspect_role(&spec(VendorName::Cloudcraft, None))
        .await
        .unwrap();
    assert_eq!(state.arn, None);
    assert_eq!(state.drift, [Drift::RoleMissing]);
}

#[tokio::test]
async fn delete_removes_policies_and_role_and_tolerates_absence() {
    let t = fresh_org().await;
    let (iam, _) = recording_iam(&t).await;
    let member = member_iam(&t).await;
    member
        .ensure_role(&spec(VendorName::Risken, Some("ext-id-0123456789")))
        .await
        .unwrap();
    assert_eq!(
        member
            .delete_role(VendorName::Risken, "RISKEN")
            .await
            .unwrap(),
        RoleDeletion::Deleted
    );
    let err = iam.get_role().role_name("RISKEN").send().await.unwrap_err();
    assert_eq!(
        err.as_service_error()
            .and_then(|e| aws_sdk_iam::error::ProvideErrorMetadata::code(e)),
        Some("NoSuchEntity")
    );
    assert_eq!(
        member
            .delete_role(VendorName::Risken, "RISKEN")
            .await
            .unwrap(),
        RoleDeletion::Absent
    );
}

#[tokio::test]
async fn a_role_someone_else_made_is_never_deleted() {
    let t = fresh_org().await;
    let (iam, _) = recording_iam(&t).await;
    untagged_role(&iam, "cloudcraft", "999988887777").await;
    let member = member_iam(&t).await;
    assert_eq!(
        member
            .delete_role(VendorName::Cloudcraft, "cloudcraft")
            .await
            .unwrap(),
        RoleDeletion::NotManaged
    );
    assert!(iam.get_role().role_name("cloudcraft").send().await.is_ok());
}

#[tokio::test]
async fn a_role_that_cannot_be_completed_is_not_left_half_created() {
    let t = fresh_org().await;
    let (iam, _) = recording_iam(&t).await;
    let member = member_iam(&t).await;
    let mut bad = spec(VendorName::Cloudcraft, None);
    bad.managed_policies = vec!["arn:aws:iam::aws:policy/NoSuchPolicyAnywhere".into()];
    let err = member.ensure_role(&bad).await.unwrap_err();
    assert_eq!(err.error_type(), "Fatal.Config", "{err}");
    assert_eq!(err.account(), Some(&t.member));
    assert_eq!(err.vendor(), Some(VendorName::Cloudcraft));
    assert!(err.message().contains("NoSuchPolicyAnywhere"), "{err}");
    assert!(
        iam.get_role().role_name("cloudcraft").send().await.is_err(),
        "role left behind"
    );
}

#[tokio::test]
async fn access_denied_on_the_member_role_is_role_not_ready() {
    use aws_sdk_sts::operation::assume_role::AssumeRoleError;
    use aws_sdk_sts::types::error::RegionDisabledException;
    // The emulator never denies AssumeRole, so the denial is mocked.
    let denied = mock!(aws_sdk_sts::Client::assume_role).then_error(|| {
        AssumeRoleError::generic(
            aws_sdk_sts::error::ErrorMetadata::builder()
                .code("AccessDenied")
                .message("User is not authorized to perform: sts:AssumeRole")
                .build(),
        )
    });
    let sts = mock_client!(aws_sdk_sts, [&denied]);
    let sdk = base_sdk().await;
    let account: AccountId = "123456789012".parse().unwrap();
    let err = assume_refused(&sdk, &sts, &account, "AWSControlTowerExecution").await;
    assert_eq!(err.error_type(), "Retryable.RoleNotReady");
    assert_eq!(err.account(), Some(&account));
    assert!(
        err.message()
            .contains("arn:aws:iam::123456789012:role/AWSControlTowerExecution"),
        "{err}"
    );

    let disabled = mock!(aws_sdk_sts::Client::assume_role).then_error(|| {
        AssumeRoleError::RegionDisabledException(
            RegionDisabledException::builder().message("off").build(),
        )
    });
    let sts = mock_client!(aws_sdk_sts, [&disabled]);
    let err = assume_refused(&sdk, &sts, &account, "OrganizationAccountAccessRole").await;
    assert_eq!(err.error_type(), "Fatal.Config");
}

#[tokio::test]
async fn throttling_is_retryable_throttled() {
    use aws_sdk_sts::operation::assume_role::AssumeRoleError;
    let throttled = mock!(aws_sdk_sts::Client::assume_role).then_error(|| {
        AssumeRoleError::generic(
            aws_sdk_sts::error::ErrorMetadata::builder()
                .code("Throttling")
                .message("Rate exceeded")
                .build(),
        )
    });
    let sts = mock_client!(aws_sdk_sts, [&throttled]);
    let sdk = base_sdk().await;
    let account: AccountId = "123456789012".parse().unwrap();
    let err = assume_refused(&sdk, &sts, &account, "OrganizationAccountAccessRole").await;
    assert_eq!(err.error_type(), "Retryable.Throttled");
    assert!(err.message().contains("Throttling: Rate exceeded"), "{err}");
}

#[tokio::test]
async fn a_role_of_the_same_name_that_is_not_ours_survives_unchanged() {
    // The customer's own role under Data Theorem's role name: trusting the
    // management account, with an inline S3 policy, and no vendorlink tag.
    let t = fresh_org().await;
    let (iam, actions) = recording_iam(&t).await;
    let trust = untagged_role(&iam, "DataTheorem-Service", "111122223333").await;
    let s3 = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "s3:GetObject", "Resource": "*"}]});
    iam.put_role_policy()
        .role_name("DataTheorem-Service")
        .policy_name("their-s3")
        .policy_document(s3.to_string())
        .send()
        .await
        .unwrap();
    actions.lock().unwrap().clear();
    let member = MemberIam::from_client(iam.clone(), t.member.clone());
    let err = member
        .ensure_role(&spec(VendorName::Datatheorem, Some("ext-id-0123456789")))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Fatal.Config");
    assert!(
        err.to_string().contains("not created by vendorlink"),
        "{err}"
    );
    for action in actions.lock().unwrap().iter() {
        assert!(
            action.starts_with("Get") || action.starts_with("List"),
            "write call {action} on a role vendorlink does not own"
        );
    }
    assert_eq!(trust_document(&iam, "DataTheorem-Service").await, trust);
    assert!(iam
        .get_role_policy()
        .role_name("DataTheorem-Service")
        .policy_name("their-s3")
        .send()
        .await
        .is_ok());
    assert_eq!(
        attached(&iam, "DataTheorem-Service").await,
        Vec::<String>::new()
    );

    // Tagged vendorlink:managed-by=vendorlink, it is handed over and repaired.
    iam.tag_role()
        .role_name("DataTheorem-Service")
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("vendorlink:managed-by")
                .value("vendorlink")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let repaired = member
        .ensure_role(&spec(VendorName::Datatheorem, Some("ext-id-0123456789")))
        .await
        .unwrap();
    assert!(repaired.repaired.contains(&Drift::TrustPolicy));
}

/// Every IAM request's query parameters, decoded, in order.
type Requests = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// An IAM client acting in the member account that records every request's
/// parameters, decoded.
async fn recording_requests(t: &TestOrg) -> (IamClient, Requests) {
    #[derive(Debug)]
    struct RecordRequests(Requests);
    impl Intercept for RecordRequests {
        fn name(&self) -> &'static str {
            "RecordRequests"
        }
        fn read_before_transmit(
            &self,
            ctx: &BeforeTransmitInterceptorContextRef<'_>,
            _: &RuntimeComponents,
            _: &mut ConfigBag,
        ) -> Result<(), aws_sdk_iam::error::BoxError> {
            let body = ctx.request().body().bytes().unwrap_or_default();
            let params = url::form_urlencoded::parse(body).into_owned().collect();
            self.0.lock().unwrap().push(params);
            Ok(())
        }
    }
    let requests = Arc::new(Mutex::new(Vec::new()));
    let config = crate::support::member_iam_config(t)
        .await
        .interceptor(RecordRequests(requests.clone()))
        .build();
    (IamClient::from_conf(config), requests)
}

/// Whether the session policy allows one IAM request (its query
/// parameters): an Allow statement naming the action, on the role the
/// request names, whose conditions on the request hold. (Conditions on
/// the role's own tags are about the role, which the tests tag.)
fn session_allows(policy: &Value, request: &[(String, String)]) -> bool {
    let param = |name: &str| {
        request
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let action = format!("iam:{}", param("Action").unwrap_or_default());
    let role = param("RoleName").unwrap_or_default();
    policy["Statement"].as_array().unwrap().iter().any(|s| {
        let names_action = match &s["Action"] {
            Value::String(a) => *a == action,
            Value::Array(list) => list.iter().any(|a| *a == action),
            _ => false,
        };
        let on_role = s["Resource"]
            .as_str()
            .is_some_and(|r| r.ends_with(&format!(":role/{role}")));
        let attach_ok = match s["Condition"]["ArnEquals"]["iam:PolicyARN"].as_array() {
            Some(arns) => arns
                .iter()
                .any(|a| Some(a.as_str().unwrap()) == param("PolicyArn")),
            None => true,
        };
        let tag_ok =
            match s["Condition"]["StringEquals"]["aws:RequestTag/vendorlink:managed-by"].as_str() {
                Some(value) => (1..=50).any(|n| {
                    param(&format!("Tags.member.{n}.Key")) == Some("vendorlink:managed-by")
                        && param(&format!("Tags.member.{n}.Value")) == Some(value)
                }),
                None => true,
            };
        names_action && on_role && attach_ok && tag_ok
    })
}

#[tokio::test]
async fn every_iam_call_of_each_step_is_allowed_by_its_session_policy_and_nothing_more_is() {
    let t = fresh_org().await;
    let (admin, _) = recording_iam(&t).await;
    let spec = spec(VendorName::Skyhigh, Some("skyhigh-external-id"));
    let role = spec.name.clone();
    let policy = |purpose| session_policy(purpose, &t.member, &role, &spec.managed_policies);
    let check = |purpose: SessionPurpose, requests: &Requests| {
        let requests = std::mem::take(&mut *requests.lock().unwrap());
        assert!(!requests.is_empty(), "{purpose:?}: no request recorded");
        for request in &requests {
            assert!(
                session_allows(&policy(purpose), request),
                "{purpose:?} session refuses {request:?}"
            );
        }
        requests
    };
    let (iam, requests) = recording_requests(&t).await;
    let member = MemberIam::from_client(iam, t.member.clone());

    // Ensure: create from nothing, then repair every kind of drift.
    member.ensure_role(&spec).await.unwrap();
    check(SessionPurpose::Ensure, &requests);
    admin
        .update_assume_role_policy()
        .role_name(&role)
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    admin
        .detach_role_policy()
        .role_name(&role)
        .policy_arn(SECURITY_AUDIT)
        .send()
        .await
        .unwrap();
    admin
        .attach_role_policy()
        .role_name(&role)
        .policy_arn(READ_ONLY)
        .send()
        .await
        .unwrap();
    admin
        .put_role_policy()
        .role_name(&role)
        .policy_name("backdoor")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": "*", "Resource": "*"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(member.ensure_role(&spec).await.unwrap().repaired.len(), 4);
    let repairs = check(SessionPurpose::Ensure, &requests);
    // The extra policy could be detached, but never attached again.
    let read_only_again = vec![
        ("Action".to_owned(), "AttachRolePolicy".to_owned()),
        ("RoleName".to_owned(), role.clone()),
        ("PolicyArn".to_owned(), READ_ONLY.to_owned()),
    ];
    assert!(!session_allows(
        &policy(SessionPurpose::Ensure),
        &read_only_again
    ));
    assert!(repairs.len() > 4);

    // Inspect: a report only reads.
    member.inspect_role(&spec).await.unwrap();
    check(SessionPurpose::Inspect, &requests);
    let write = [
        ("Action".to_owned(), "UpdateAssumeRolePolicy".to_owned()),
        ("RoleName".to_owned(), role.clone()),
    ];
    assert!(!session_allows(&policy(SessionPurpose::Inspect), &write));

    // Delete: offboarding takes the role apart.
    assert_eq!(
        member
            .delete_role(VendorName::Skyhigh, &role)
            .await
            .unwrap(),
        RoleDeletion::Deleted
    );
    check(SessionPurpose::Delete, &requests);

    // No session touches another role, the member access role least of all.
    for purpose in [
        SessionPurpose::Inspect,
        SessionPurpose::Ensure,
        SessionPurpose::Delete,
    ] {
        let other = vec![
            ("Action".to_owned(), "GetRole".to_owned()),
            (
                "RoleName".to_owned(),
                "OrganizationAccountAccessRole".to_owned(),
            ),
        ];
        assert!(!session_allows(&policy(purpose), &other), "{purpose:?}");
    }

    // A half-created role's clean-up stays inside the ensure session.
    let mut bad = spec.clone();
    bad.managed_policies = vec!["arn:aws:iam::aws:policy/NoSuchPolicyAnywhere".into()];
    member.ensure_role(&bad).await.unwrap_err();
    let requests = std::mem::take(&mut *requests.lock().unwrap());
    let bad_policy = session_policy(
        SessionPurpose::Ensure,
        &t.member,
        &role,
        &bad.managed_policies,
    );
    assert!(requests
        .iter()
        .any(|r| r.iter().any(|(k, v)| k == "Action" && v == "DeleteRole")));
    for request in &requests {
        assert!(session_allows(&bad_policy, request), "{request:?}");
    }
}

#[tokio::test]
async fn the_emulator_accepts_each_session_policy_on_assume_role() {
    let t = fresh_org().await;
    let sts = aws_sdk_sts::Client::new(&t.sdk);
    let spec = spec(VendorName::Risken, Some("ext-id-0123456789"));
    for purpose in [
        SessionPurpose::Inspect,
        SessionPurpose::Ensure,
        SessionPurpose::Delete,
    ] {
        let policy = session_policy(purpose, &t.member, &spec.name, &spec.managed_policies);
        MemberIam::assume(
            &t.sdk,
            &sts,
            &t.member,
            "OrganizationAccountAccessRole",
            &format!("vendorlink-risken-{}", purpose.as_str()),
            &policy,
        )
        .await
        .unwrap();
    }
}
