use std::collections::BTreeMap;

use vendorlink_shared::org::Organization;
use vendorlink_shared::ParentId;

use crate::support::{create_account, fresh_org, random_account_id};

#[tokio::test]
async fn describes_a_member_account() {
    let t = fresh_org().await;
    let org = Organization::new(t.organizations.clone());
    let info = org.describe_account(&t.member).await.unwrap();
    assert_eq!(info.id, t.member);
    assert_eq!(info.name, "member");
    assert!(info.email.starts_with("member-") && info.email.ends_with("@example.com"));
    assert_eq!(info.status, "ACTIVE");
}

#[tokio::test]
async fn unknown_account_is_bad_input_naming_it() {
    let t = fresh_org().await;
    let org = Organization::new(t.organizations.clone());
    let stranger = random_account_id();
    let err = org.describe_account(&stranger).await.unwrap_err();
    assert_eq!(err.error_type(), "Fatal.BadInput", "{err}");
    assert_eq!(err.account(), Some(&stranger));
    assert!(
        err.message()
            .contains("is not a member of this organization"),
        "{err}"
    );
}

#[tokio::test]
async fn ancestors_run_from_the_nearest_ou_to_the_root() {
    let t = fresh_org().await;
    let org = Organization::new(t.organizations.clone());
    let root = t
        .organizations
        .list_roots()
        .send()
        .await
        .unwrap()
        .roots
        .unwrap()
        .remove(0)
        .id
        .unwrap();
    assert_eq!(
        org.ancestors(&t.member).await.unwrap(),
        [root.parse::<ParentId>().unwrap()]
    );

    let outer = t
        .organizations
        .create_organizational_unit()
        .parent_id(&root)
        .name("Workloads")
        .send()
        .await
        .unwrap();
    let outer = outer.organizational_unit.unwrap().id.unwrap();
    let inner = t
        .organizations
        .create_organizational_unit()
        .parent_id(&outer)
        .name("Prod")
        .send()
        .await
        .unwrap();
    let inner = inner.organizational_unit.unwrap().id.unwrap();
    t.organizations
        .move_account()
        .account_id(t.member.as_str())
        .source_parent_id(&root)
        .destination_parent_id(&inner)
        .send()
        .await
        .unwrap();
    let chain: Vec<String> = org
        .ancestors(&t.member)
        .await
        .unwrap()
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert_eq!(chain, [inner.clone(), outer, root]);
    assert_eq!(
        org.list_account_ids_under(&inner.parse().unwrap())
            .await
            .unwrap(),
        std::slice::from_ref(&t.member)
    );
}

#[tokio::test]
async fn lists_every_account_across_pages() {
    let t = fresh_org().await;
    let org = Organization::new(t.organizations.clone());
    let mut created = vec![t.member.clone()];
    // More than one page: the client asks for 20 accounts a page.
    for i in 0..20 {
        created.push(create_account(&t.organizations, &format!("acct{i}")).await);
    }
    let listed: Vec<_> = org
        .list_accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    for id in &created {
        assert!(listed.contains(id), "{id} missing");
    }
    assert!(listed.contains(&t.management));
    assert_eq!(listed.len(), created.len() + 1);
}

#[tokio::test]
async fn account_tags_are_written_read_and_removed() {
    let t = fresh_org().await;
    let org = Organization::new(t.organizations.clone());
    let tags = BTreeMap::from([
        ("vendorlink:skyhigh".to_owned(), "active".to_owned()),
        ("vendorlink:risken".to_owned(), "failed".to_owned()),
    ]);
    org.tag_account(&t.member, &tags).await.unwrap();
    assert_eq!(org.tags(&t.member).await.unwrap(), tags);
    org.tag_account(
        &t.member,
        &BTreeMap::from([("vendorlink:risken".to_owned(), "active".to_owned())]),
    )
    .await
    .unwrap();
    assert_eq!(
        org.tags(&t.member).await.unwrap()["vendorlink:risken"],
        "active"
    );
    org.untag_account(&t.member, &["vendorlink:skyhigh".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        org.tags(&t.member).await.unwrap(),
        BTreeMap::from([("vendorlink:risken".to_owned(), "active".to_owned())])
    );
}
