//! AWS Organizations: describing and listing accounts, their place in the
//! OU tree, and the account tags that mirror the ledger.

use std::collections::BTreeMap;

use aws_sdk_organizations::types::{ChildType, Tag};
use aws_sdk_organizations::Client as OrganizationsClient;

use crate::aws::{aws_error, error_code};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::{AccountId, ParentId};

/// An account as Organizations describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    pub id: AccountId,
    pub name: String,
    pub email: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, ... as Organizations says.
    pub status: String,
}

#[derive(Clone)]
pub struct Organization {
    client: OrganizationsClient,
}

impl Organization {
    pub fn new(client: OrganizationsClient) -> Self {
        Organization { client }
    }

    /// Describes one account; an account outside the organization is bad input.
    pub async fn describe_account(&self, account: &AccountId) -> Result<AccountInfo> {
        let out = self
            .client
            .describe_account()
            .account_id(account.as_str())
            .send()
            .await
            .map_err(|e| match error_code(&e) {
                Some("AccountNotFoundException") => Error::bad_input(format!(
                    "account {account} is not a member of this organization"
                )),
                _ => aws_error(&format!("describing account {account}"), e),
            })
            .map_err(|e| e.for_account(account))?;
        let acc = out.account.ok_or_else(|| {
            Error::new(
                ErrorKind::Unavailable,
                "DescribeAccount returned no account",
            )
            .for_account(account)
        })?;
        to_info(acc).map_err(|e| e.for_account(account))
    }

    /// The account's parents, nearest first, ending with the root.
    pub async fn ancestors(&self, account: &AccountId) -> Result<Vec<ParentId>> {
        let mut chain = Vec::new();
        let mut child = account.as_str().to_owned();
        // The OU tree is at most five levels deep below the root.
        for _ in 0..8 {
            let out = self
                .client
                .list_parents()
                .child_id(&child)
                .send()
                .await
                .map_err(|e| {
                    aws_error(&format!("listing parents of {child}"), e).for_account(account)
                })?;
            let Some(parent) = out.parents.unwrap_or_default().into_iter().next() else {
                break;
            };
            let (Some(id), Some(kind)) = (parent.id, parent.r#type) else {
                break;
            };
            let parent_id: ParentId = id.parse().map_err(|e| {
                Error::new(
                    ErrorKind::Unavailable,
                    format!("Organizations returned a bad parent id: {e}"),
                )
                .for_account(account)
            })?;
            chain.push(parent_id);
            if kind.as_str() == "ROOT" {
                break;
            }
            child = id;
        }
        Ok(chain)
    }

    /// Every account of the organization (all pages).
    pub async fn list_accounts(&self) -> Result<Vec<AccountInfo>> {
        let mut accounts = Vec::new();
        // 20 is the API's largest page; asking for it keeps the call count low.
        let mut pages = self
            .client
            .list_accounts()
            .max_results(20)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("listing the organization's accounts", e))?;
            for acc in page.accounts.unwrap_or_default() {
                accounts.push(to_info(acc)?);
            }
        }
        Ok(accounts)
    }

    /// The accounts directly under one parent (all pages).
    pub async fn list_account_ids_under(&self, parent: &ParentId) -> Result<Vec<AccountId>> {
        let mut ids = Vec::new();
        let mut pages = self
            .client
            .list_children()
            .parent_id(parent.as_str())
            .child_type(ChildType::Account)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| aws_error(&format!("listing accounts under {parent}"), e))?;
            for child in page.children.unwrap_or_default() {
                if let Some(id) = child.id {
                    ids.push(parse_account_id(&id)?);
                }
            }
        }
        Ok(ids)
    }

    /// The organization's management account.
    pub async fn management_account(&self) -> Result<Option<AccountId>> {
        let out = self
            .client
            .describe_organization()
            .send()
            .await
            .map_err(|e| aws_error("describing the organization", e))?;
        out.organization
            .and_then(|o| o.master_account_id)
            .map(|id| parse_account_id(&id))
            .transpose()
    }

    /// Every account in a parent's subtree (the whole tree under a root).
    pub async fn accounts_below(&self, parent: &ParentId) -> Result<Vec<AccountId>> {
        let mut accounts = Vec::new();
        let mut queue = vec![parent.clone()];
        while let Some(next) = queue.pop() {
            accounts.extend(self.list_account_ids_under(&next).await?);
            let mut pages = self
                .client
                .list_organizational_units_for_parent()
                .parent_id(next.as_str())
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| aws_error(&format!("listing OUs under {next}"), e))?;
                for ou in page.organizational_units.unwrap_or_default() {
                    if let Some(id) = ou.id {
                        queue.push(id.parse().map_err(|e| {
                            Error::new(
                                ErrorKind::Unavailable,
                                format!("Organizations returned a bad OU id: {e}"),
                            )
                        })?);
                    }
                }
            }
        }
        Ok(accounts)
    }

    /// The organization's ACTIVE member accounts (the management account
    /// left out), under `include` when it names parents, else all.
    pub async fn members(&self, include: &[ParentId]) -> Result<Vec<AccountInfo>> {
        let management = self.management_account().await?;
        let scope: Option<std::collections::HashSet<AccountId>> = if include.is_empty() {
            None
        } else {
            let mut ids = std::collections::HashSet::new();
            for parent in include {
                ids.extend(self.accounts_below(parent).await?);
            }
            Some(ids)
        };
        Ok(self
            .list_accounts()
            .await?
            .into_iter()
            .filter(|a| {
                a.status == "ACTIVE"
                    && management.as_ref() != Some(&a.id)
                    && scope.as_ref().is_none_or(|ids| ids.contains(&a.id))
            })
            .collect())
    }

    /// The account's tags.
    pub async fn tags(&self, account: &AccountId) -> Result<BTreeMap<String, String>> {
        let mut tags = BTreeMap::new();
        let mut pages = self
            .client
            .list_tags_for_resource()
            .resource_id(account.as_str())
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                aws_error(&format!("listing tags of account {account}"), e).for_account(account)
            })?;
            for tag in page.tags.unwrap_or_default() {
                tags.insert(tag.key, tag.value);
            }
        }
        Ok(tags)
    }

    /// Sets tags on the account (others are left as they are).
    pub async fn tag_account(
        &self,
        account: &AccountId,
        tags: &BTreeMap<String, String>,
    ) -> Result<()> {
        if tags.is_empty() {
            return Ok(());
        }
        let tags = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| {
                Error::config(format!("building account tags: {e}")).for_account(account)
            })?;
        self.client
            .tag_resource()
            .resource_id(account.as_str())
            .set_tags(Some(tags))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error(&format!("tagging account {account}"), e).for_account(account))
    }

    /// Removes tags from the account.
    pub async fn untag_account(&self, account: &AccountId, keys: &[String]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        self.client
            .untag_resource()
            .resource_id(account.as_str())
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error(&format!("untagging account {account}"), e).for_account(account))
    }
}

fn parse_account_id(id: &str) -> Result<AccountId> {
    id.parse().map_err(|e| {
        Error::new(
            ErrorKind::Unavailable,
            format!("Organizations returned a bad account id: {e}"),
        )
    })
}

fn to_info(acc: aws_sdk_organizations::types::Account) -> Result<AccountInfo> {
    let id = parse_account_id(acc.id.as_deref().unwrap_or_default())?;
    Ok(AccountInfo {
        id,
        name: acc.name.unwrap_or_default(),
        email: acc.email.unwrap_or_default(),
        status: acc
            .state
            .map(|s| s.as_str().to_owned())
            .or_else(|| acc.status.map(|s| s.as_str().to_owned()))
            .unwrap_or_default(),
    })
}
