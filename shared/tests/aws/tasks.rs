//! The steps against the emulator and the vendor sandboxes: each step's own
//! effect, called directly (the state machine's flow is tested end to end
//! through local/run-event).

use std::collections::HashMap;

use serde_json::{json, Value};
use vendorlink_shared::config::Config;
use vendorlink_shared::ledger::LedgerState;
use vendorlink_shared::tasks::reconcile::ReconcileMode;
use vendorlink_shared::tasks::{
    self, Action, Context, ItemStatus, Outcome, ReconcileOptions, RunResults, VendorItem,
};
use vendorlink_shared::VendorName;

use crate::sandbox::{secret, Sandbox};
use crate::support::{fresh_org, TestOrg};

async fn context(t: &TestOrg, sb: &Sandbox, vendors: &str, extra: &[(&str, &str)]) -> Context {
    let sm = aws_sdk_secretsmanager::Client::new(&t.sdk);
    for vendor in VendorName::ALL {
        let mut value = secret(vendor);
        value["base_url"] = json!(sb.base(vendor));
        if matches!(vendor, VendorName::Datatheorem | VendorName::Risken) {
            value.as_object_mut().unwrap().remove("external_id");
        }
        sm.create_secret()
            .name(format!("vendorlink/{vendor}"))
            .secret_string(value.to_string())
            .send()
            .await
            .unwrap();
    }
    let mut vars: HashMap<String, String> = HashMap::from([
        ("VENDORS".into(), vendors.into()),
        ("LEDGER_TABLE".into(), "ledger".into()),
        ("POLL_SECONDS".into(), "0".into()),
        // The vendor sandboxes speak http on loopback.
        ("VENDORLINK_LOCAL_STACK".into(), "true".into()),
    ]);
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    let config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let ctx = Context::new(config, t.sdk.clone()).unwrap();
    vendorlink_shared::ledger::Ledger::new(aws_sdk_dynamodb::Client::new(&t.sdk), "ledger")
        .ensure_table()
        .await
        .unwrap();
    ctx
}

fn created(t: &TestOrg) -> Value {
    json!({"accountId": t.member.as_str()})
}

async fn item_for(ctx: &Context, t: &TestOrg, vendor: VendorName, execution: &str) -> VendorItem {
    let resolved = tasks::resolve_account(ctx, &created(t)).await.unwrap();
    let work = resolved
        .items
        .into_iter()
        .find(|i| i.vendor == vendor)
        .unwrap();
    serde_json::from_value(json!({"action": work.action, "account": work.account,
        "vendor": work.vendor, "execution": execution}))
    .unwrap()
}

#[tokio::test]
async fn resolve_lists_one_item_per_enabled_vendor_with_the_account_name() {
    let t = fresh_org().await;
    let sb = Sandbox::start(json!({})).await;
    let ctx = context(&t, &sb, "cloudcraft,risken", &[]).await;
    let resolved = tasks::resolve_account(&ctx, &created(&t)).await.unwrap();
    assert_eq!(resolved.action, Action::Onboard);
    let vendors: Vec<_> = resolved.items.iter().map(|i| i.vendor).collect();
    assert_eq!(vendors, [VendorName::Cloudcraft, VendorName::Risken]);
    assert_eq!(resolved.account.unwrap().account_name, "member");
}

#[tokio::test]
async fn resolve_skips_excluded_accounts_and_rejects_strangers() {
    let t = fresh_org().await;
    let sb = Sandbox::start(json!({})).await;
    let ctx = context(
        &t,
        &sb,
        "cloudcraft",
        &[("EXCLUDE_ACCOUNTS", t.member.as_str())],
    )
    .await;
    let resolved = tasks::resolve_account(&ctx, &created(&t)).await.unwrap();
    assert_eq!(resolved.action, Action::Skip);
    assert!(resolved.reason.unwrap().contains("EXCLUDE_ACCOUNTS"));
    let err = tasks::resolve_account(&ctx, &json!({"accountId": "123412341234"}))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Fatal.BadInput");
    assert!(err.to_string().contains("step=resolve-account"), "{err}");
}

#[tokio::test]
async fn a_vendor_goes_from_claim_to_active_and_the_ledger_follows() {
    let t = fresh_org().await;
    let sb = Sandbox::start(json!({})).await;
    let ctx = context(&t, &sb, "skyhigh", &[]).await;
    let item = item_for(&ctx, &t, VendorName::Skyhigh, "exec-1").await;
    let item = tasks::ensure_trust_role(&ctx, item).await.unwrap();
    assert_eq!(
        item.role_arn.as_deref(),
        Some(format!("arn:aws:iam::{}:role/SkyhighSecurityAudit", t.member).as_str())
    );
    let mut item = tasks::register_account(&ctx, item).await.unwrap();
    assert_eq!(item.status, ItemStatus::Pending);
    while item.status == ItemStatus::Pending {
        item = tasks::check_status(&ctx, item).await.unwrap();
        assert!(item.polls < 10);
    }
    assert_eq!(item.outcome, Some(Outcome::Active));
    let entry = ctx
        .ledger
        .get(&t.member, VendorName::Skyhigh)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.state, LedgerState::Active);

    // A second execution finds it active and does nothing.
    let again = item_for(&ctx, &t, VendorName::Skyhigh, "exec-2").await;
    let again = tasks::ensure_trust_role(&ctx, again).await.unwrap();
    assert_eq!(
        (again.status, again.outcome),
        (ItemStatus::Done, Some(Outcome::Active))
    );
}

#[tokio::test]
async fn a_concurrent_execution_is_skipped_not_doubled() {
    let t = fresh_org().await;
    let sb = Sandbox::start(json!({})).await;
    let ctx = context(&t, &sb, "cloudcraft", &[]).await;
    let first = item_for(&ctx, &t, VendorName::Cloudcraft, "exec-1").await;
    tasks::ensure_trust_role(&ctx, first).await.unwrap();
    let second = item_for(&ctx, &t, VendorName::Cloudcraft, "exec-2").await;
    let second = tasks::ensure_trust_role(&ctx, second).await.unwrap();
    assert_eq!(second.outcome, Some(Outcome::Skipped));
    assert!(second.detail.unwrap().contains("exec-1"));
}

#[tokio::test]
async fn offboarding_removes_the_registration_and_the_role_and_reports_manual_steps() {
    let t = fresh_org().await;
    let sb = Sandbox::start(json!({})).await;
    let ctx = context(&t, &sb, "cloudcraft,datatheorem", &[]).await;
    for vendor in [VendorName::Cloudcraft, VendorName::Datatheorem] {
        let item = item_for(&ctx, &t, vendor, "exec-1").await;
        let item = tasks::ensure_trust_role(&ctx, item).await.unwrap();
        let item = tasks::register_account(&ctx, item).await.unwrap();
        assert_eq!(item.outcome, Some(Outcome::Active));
    }
    let resolved = tasks::resolve_account(
        &ctx,
        &json!({"accountId": t.member.as_str(), "action": "offboard"}),
    )
    .await
    .unwrap();
    assert_eq!(resolved.action, Action::Offboard);
    let mut results = Vec::new();
    for work in resolved.items.clone() {
        let item: VendorItem =
            serde_json::from_value(json!({"action": work.action, "account": work.account,
            "vendor": work.vendor, "execution": "exec-off"}))
            .unwrap();
        results.push(tasks::deregister_account(&ctx, item).await.unwrap());
    }
    let outcomes: Vec<_> = results.iter().map(|r| (r.vendor, r.outcome)).collect();
    assert!(outcomes.contains(&(VendorName::Cloudcraft, Some(Outcome::Offboarded))));
    assert!(outcomes.contains(&(VendorName::Datatheorem, Some(Outcome::ManualStepRequired))));
    let iam = crate::support::member_iam_client(&t).await;
    assert!(
        iam.get_role().role_name("cloudcraft").send().await.is_err(),
        "role left behind"
    );
    let entry = ctx
        .ledger
        .get(&t.member, VendorName::Datatheorem)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.state, LedgerState::Offboarded);
    assert!(entry
        .last_error
        .unwrap()
        .starts_with("manual step required"));

    let run: RunResults =
        serde_json::from_value(json!({"action": "offboard", "account": resolved.account,
        "trigger": "direct", "results": results}))
        .unwrap();
    let summary = tasks::record_outcome(&ctx, run).await.unwrap();
    assert_eq!(summary.failed, 0);
    let tags = vendorlink_shared::org::Organization::new(t.organizations.clone())
        .tags(&t.member)
        .await
        .unwrap();
    assert_eq!(tags["vendorlink:datatheorem"], "manual_step_required");
    assert_eq!(tags["vendorlink:cloudcraft"], "offboarded");
}

#[tokio::test]
async fn record_outcome_marks_failures_in_the_ledger_and_counts_them() {
    let t = fresh_org().await;
    let sb = Sandbox::start(json!({})).await;
    let ctx = context(&t, &sb, "risken", &[]).await;
    let item = item_for(&ctx, &t, VendorName::Risken, "exec-1").await;
    tasks::ensure_trust_role(&ctx, item).await.unwrap();
    let run: RunResults = serde_json::from_value(json!({
        "action": "onboard", "account": {"account_id": t.member.as_str(), "account_name": "member"},
        "trigger": "CreateAccountResult",
        "results": [{"action": "onboard", "account": {"account_id": t.member.as_str(), "account_name": "member"},
                     "vendor": "risken", "execution": "exec-1", "status": "done", "outcome": "failed",
                     "error": "Fatal.Vendor",
                     "detail": "{\"errorType\":\"Fatal.Vendor\",\"errorMessage\":\"risken said no\"}"}]})).unwrap();
    let summary = tasks::record_outcome(&ctx, run).await.unwrap();
    assert_eq!(summary.failed, 1);
    assert_eq!(summary.vendors[0].detail.as_deref(), Some("risken said no"));
    let entry = ctx
        .ledger
        .get(&t.member, VendorName::Risken)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.state, LedgerState::Failed);
    assert_eq!(
        entry.last_error.as_deref(),
        Some("Fatal.Vendor: risken said no")
    );
}

#[tokio::test]
async fn reconcile_finds_a_deleted_role_a_tampered_trust_and_a_lost_registration_and_repairs_them()
{
    let t = fresh_org().await;
    let sb = Sandbox::start(json!({})).await;
    let ctx = context(&t, &sb, "cloudcraft,risken,stellarcyber", &[]).await;
    for vendor in [
        VendorName::Cloudcraft,
        VendorName::Risken,
        VendorName::Stellarcyber,
    ] {
        let item = item_for(&ctx, &t, vendor, "exec-1").await;
        let item = tasks::ensure_trust_role(&ctx, item).await.unwrap();
        let mut item = tasks::register_account(&ctx, item).await.unwrap();
        while item.status == ItemStatus::Pending {
            item = tasks::check_status(&ctx, item).await.unwrap();
        }
        assert_eq!(item.outcome, Some(Outcome::Active), "{vendor}");
    }
    assert!(
        reconcile_all(&ctx, &t, false)
            .await
            .iter()
            .all(|r| !r.drifted()),
        "drift before tampering"
    );

    // Drift: the Cloudcraft role deleted, RISKEN's trust opened to anyone,
    // the Stellar Cyber connector deleted at the vendor.
    let iam = crate::support::member_iam_client(&t).await;
    let member =
        vendorlink_shared::member_iam::MemberIam::from_client(iam.clone(), t.member.clone());
    member
        .delete_role(VendorName::Cloudcraft, "cloudcraft")
        .await
        .unwrap();
    // (vendorlink made it, so it may delete it.)
    let open = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]});
    iam.update_assume_role_policy()
        .role_name("RISKEN")
        .policy_document(open.to_string())
        .send()
        .await
        .unwrap();
    let stellar = sb.client(VendorName::Stellarcyber, secret(VendorName::Stellarcyber));
    let account = vendorlink_shared::vendors::AccountToRegister {
        account_id: t.member.clone(),
        account_name: "member".into(),
        role_arn: format!("arn:aws:iam::{}:role/StellarCyberConnector", t.member),
        unlisted: false,
    };
    assert_eq!(
        stellar.deregister(&account).await.unwrap(),
        vendorlink_shared::vendors::Deregistration::Removed
    );

    let found: HashMap<VendorName, _> = reconcile_all(&ctx, &t, false)
        .await
        .into_iter()
        .map(|r| (r.vendor, r))
        .collect();
    assert_eq!(
        found[&VendorName::Cloudcraft].role,
        [vendorlink_shared::member_iam::Drift::RoleMissing]
    );
    assert_eq!(
        found[&VendorName::Risken].role,
        [vendorlink_shared::member_iam::Drift::TrustPolicy]
    );
    assert_eq!(found[&VendorName::Stellarcyber].registered, Some(false));
    assert!(found.values().all(|r| !r.repaired));

    let repaired = reconcile_all(&ctx, &t, true).await;
    assert!(
        repaired.iter().all(|r| r.repaired && r.error.is_none()),
        "{repaired:?}"
    );
    assert!(
        reconcile_all(&ctx, &t, false)
            .await
            .iter()
            .all(|r| !r.drifted()),
        "drift left after repair"
    );
}

async fn reconcile_all(
    ctx: &Context,
    t: &TestOrg,
    repair: bool,
) -> Vec<vendorlink_shared::tasks::DriftReport> {
    tasks::reconcile_all(
        ctx,
        &ReconcileOptions {
            account: Some(t.member.clone()),
            mode: if repair {
                ReconcileMode::Repair
            } else {
                ReconcileMode::Report
            },
            notify: false,
        },
    )
    .await
    .unwrap()
}

/// Moves the member into a new OU `Included` (or back to the root) and
/// returns the MoveAccount event for it.
async fn move_member(t: &TestOrg, to_included: bool) -> (Value, String) {
    let roots = t
        .organizations
        .list_roots()
        .send()
        .await
        .unwrap()
        .roots
        .unwrap();
    let root = roots[0].id.clone().unwrap();
    let ous = t
        .organizations
        .list_organizational_units_for_parent()
        .parent_id(&root)
        .send()
        .await
        .unwrap();
    let ou = match ous
        .organizational_units
        .unwrap_or_default()
        .into_iter()
        .next()
    {
        Some(ou) => ou.id.unwrap(),
        None => t
            .organizations
            .create_organizational_unit()
            .parent_id(&root)
            .name("Included")
            .send()
            .await
            .unwrap()
            .organizational_unit
            .unwrap()
            .id
            .unwrap(),
    };
    let (from, to) = if to_included {
        (root.clone(), ou.clone())
    } else {
        (ou.clone(), root.clone())
    };
    t.organizations
        .move_account()
        .account_id(t.member.as_str())
        .source_parent_id(&from)
        .destination_parent_id(&to)
        .send()
        .await
        .unwrap();
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../events/move-account.json"
        ))
        .unwrap(),
    )
    .unwrap();
    event["detail"]["requestParameters"] =
        json!({"accountId": t.member.as_str(), "sourceParentId": from, "destinationParentId": to});
    (event, ou)
}

#[tokio::test]
async fn moving_into_an_included_ou_onboards_and_moving_out_offboards_when_asked() {
    let t = fresh_org().await;
    let sb = Sandbox::start(json!({})).await;
    let (into, ou) = move_member(&t, true).await;
    let ctx = context(
        &t,
        &sb,
        "cloudcraft",
        &[("INCLUDE_OUS", &ou), ("OFFBOARD_ON_SCOPE_EXIT", "true")],
    )
    .await;
    let resolved = tasks::resolve_account(&ctx, &into).await.unwrap();
    assert_eq!(resolved.action, Action::Onboard);
    let item = item_for_work(&resolved, "exec-move-in");
    let item = tasks::ensure_trust_role(&ctx, item).await.unwrap();
    tasks::register_account(&ctx, item).await.unwrap();

    let (out, _) = move_member(&t, false).await;
    let resolved = tasks::resolve_account(&ctx, &out).await.unwrap();
    assert_eq!(resolved.action, Action::Offboard, "{resolved:?}");
    assert_eq!(resolved.items.len(), 1);
}

#[tokio::test]
async fn moving_out_is_only_reported_by_default() {
    let t = fresh_org().await;
    let sb = Sandbox::start(json!({})).await;
    let (into, ou) = move_member(&t, true).await;
    let ctx = context(&t, &sb, "cloudcraft", &[("INCLUDE_OUS", &ou)]).await;
    let resolved = tasks::resolve_account(&ctx, &into).await.unwrap();
    let item = tasks::ensure_trust_role(&ctx, item_for_work(&resolved, "exec-1"))
        .await
        .unwrap();
    tasks::register_account(&ctx, item).await.unwrap();
    let (out, _) = move_member(&t, false).await;
    let resolved = tasks::resolve_account(&ctx, &out).await.unwrap();
    assert_eq!(resolved.action, Action::Skip);
    let reason = resolved.reason.unwrap();
    assert!(
        reason.contains("stays onboarded with cloudcraft because OFFBOARD_ON_SCOPE_EXIT is false"),
        "{reason}"
    );
    assert_eq!(
        ctx.ledger
            .get(&t.member, VendorName::Cloudcraft)
            .await
            .unwrap()
            .unwrap()
            .state,
        LedgerState::Active
    );
}

fn item_for_work(resolved: &vendorlink_shared::tasks::Resolved, execution: &str) -> VendorItem {
    let work = &resolved.items[0];
    serde_json::from_value(json!({"action": work.action, "account": work.account,
        "vendor": work.vendor, "execution": execution}))
    .unwrap()
}
