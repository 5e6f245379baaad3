//! The ledger in DynamoDB: one conditional write per transition.

use std::collections::HashMap;

use crate::aws::{aws_error, error_code};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::AccountId;
use crate::vendor_name::VendorName;
use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use aws_sdk_dynamodb::Client as DynamoClient;

use super::{LedgerEntry, LedgerState, Transition, TransitionOutcome};

#[derive(Clone)]
pub struct Ledger {
    client: DynamoClient,
    table: String,
}

const K_ACCOUNT: &str = "account_id";
const K_VENDOR: &str = "vendor";

impl Ledger {
    pub fn new(client: DynamoClient, table: impl Into<String>) -> Self {
        Ledger {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table when it is absent (the local stack and tests; the
    /// SAM template creates it in AWS).
    pub async fn ensure_table(&self) -> Result<()> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
        };
        let build_err = |e: aws_sdk_dynamodb::error::BuildError| {
            Error::config(format!("building the ledger table definition: {e}"))
        };
        let result = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr(K_ACCOUNT).map_err(build_err)?)
            .attribute_definitions(attr(K_VENDOR).map_err(build_err)?)
            .key_schema(key(K_ACCOUNT, KeyType::Hash).map_err(build_err)?)
            .key_schema(key(K_VENDOR, KeyType::Range).map_err(build_err)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("ResourceInUseException") => Ok(()),
            Err(e) => Err(aws_error(
                &format!("creating ledger table {}", self.table),
                e,
            )),
        }
    }

    /// Applies a transition with one conditional write.
    pub async fn transition(
        &self,
        account: &AccountId,
        vendor: VendorName,
        transition: Transition,
    ) -> Result<TransitionOutcome> {
        let to = transition
            .to
            .ok_or_else(|| Error::config("a ledger transition needs a target state"))?;
        let now = now()?;

        let mut names = HashMap::from([("#state".to_owned(), "state".to_owned())]);
        let mut values = HashMap::from([
            (":to".to_owned(), s(to.as_str())),
            (":now".to_owned(), s(&now)),
            (":zero".to_owned(), n(0)),
            (":inc".to_owned(), n(u32::from(transition.count_attempt))),
        ]);
        let mut sets = vec![
            "#state = :to".to_owned(),
            "updated_at = :now".to_owned(),
            "created_at = if_not_exists(created_at, :now)".to_owned(),
            "attempts = if_not_exists(attempts, :zero) + :inc".to_owned(),
        ];
        let mut removes = Vec::new();
        for (field, value) in [
            ("role_arn", &transition.role_arn),
            ("vendor_ref", &transition.vendor_ref),
            ("last_error", &transition.last_error),
            ("execution", &transition.execution),
        ] {
            if let Some(v) = value {
                names.insert(format!("#{field}"), field.to_owned());
                values.insert(format!(":{field}"), s(v));
                sets.push(format!("#{field} = :{field}"));
            }
        }
        if to == LedgerState::Active {
            removes.push("last_error");
        }

        let mut allowed = Vec::new();
        for (i, state) in transition.from.iter().enumerate() {
            values.insert(format!(":from{i}"), s(state.as_str()));
            allowed.push(format!(":from{i}"));
        }
        let mut conditions = Vec::new();
        if transition.from_absent {
            conditions.push(format!("attribute_not_exists({K_ACCOUNT})"));
        }
        if !allowed.is_empty() {
            conditions.push(format!("#state IN ({})", allowed.join(", ")));
        }
        if let Some(stale) = &transition.stale_before {
            values.insert(":stale".into(), s(stale));
            let mut in_flight = Vec::new();
            for (i, state) in LedgerState::ALL
                .into_iter()
                .filter(|st| st.in_flight())
                .enumerate()
            {
                values.insert(format!(":flight{i}"), s(state.as_str()));
                in_flight.push(format!(":flight{i}"));
            }
            conditions.push(format!(
                "(updated_at < :stale AND #state IN ({}))",
                in_flight.join(", ")
            ));
        }
        let mut condition = conditions.join(" OR ");
        if transition.only_same_execution {
            if let Some(execution) = &transition.execution {
                names.insert("#execution".into(), "execution".into());
                values.insert(":execution".into(), s(execution));
                condition = format!("({condition}) AND #execution = :execution");
            }
        }
        let mut update = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            update.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }

        let result = self
            .update_item(account, vendor)
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let item = out.attributes.unwrap_or_default();
                let entry = entry_from_item(&item)?;
                tracing::info!(account = %account, vendor = %vendor, state = %to, "ledger moved");
                Ok(TransitionOutcome::Applied(entry))
            }
            Err(e) if error_code(&e) == Some("ConditionalCheckFailedException") => {
                let current = self.get(account, vendor).await?;
                Ok(TransitionOutcome::Refused { current })
            }
            Err(e) => Err(self.update_failed(account, vendor, e)),
        }
    }

    fn update_item(
        &self,
        account: &AccountId,
        vendor: VendorName,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(K_ACCOUNT, s(account.as_str()))
            .key(K_VENDOR, s(vendor.as_str()))
    }

    fn update_failed<R>(
        &self,
        account: &AccountId,
        vendor: VendorName,
        e: aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::update_item::UpdateItemError,
            R,
        >,
    ) -> Error {
        aws_error(&format!("updating ledger table {}", self.table), e)
            .for_account(account)
            .for_vendor(vendor)
    }

    /// One item, read consistently.
    pub async fn get(
        &self,
        account: &AccountId,
        vendor: VendorName,
    ) -> Result<Option<LedgerEntry>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(K_ACCOUNT, s(account.as_str()))
            .key(K_VENDOR, s(vendor.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                aws_error(&format!("reading ledger table {}", self.table), e)
                    .for_account(account)
                    .for_vendor(vendor)
            })?;
        out.item.as_ref().map(entry_from_item).transpose()
    }

    /// Every vendor's item for one account.
    pub async fn account_entries(&self, account: &AccountId) -> Result<Vec<LedgerEntry>> {
        let mut entries = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("account_id = :a")
            .expression_attribute_values(":a", s(account.as_str()))
            .consistent_read(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                aws_error(&format!("querying ledger table {}", self.table), e).for_account(account)
            })?;
            for item in page.items.unwrap_or_default() {
                entries.push(entry_from_item(&item)?);
            }
        }
        Ok(entries)
    }

    /// Every item of the ledger (all pages).
    pub async fn all_entries(&self) -> Result<Vec<LedgerEntry>> {
        let mut entries = Vec::new();
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| aws_error(&format!("scanning ledger table {}", self.table), e))?;
            for item in page.items.unwrap_or_default() {
                entries.push(entry_from_item(&item)?);
            }
        }
        Ok(entries)
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: u32) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn entry_from_item(item: &HashMap<String, AttributeValue>) -> Result<LedgerEntry> {
    let bad = |what: &str| {
        Error::new(
            ErrorKind::Config,
            format!("ledger item has a bad or missing `{what}`"),
        )
    };
    let text = |key: &str| item.get(key).and_then(|v| v.as_s().ok()).cloned();
    let account = text(K_ACCOUNT)
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| bad(K_ACCOUNT))?;
    let vendor = text(K_VENDOR)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad(K_VENDOR))?;
    let state = text("state")
        .and_then(|st| LedgerState::parse(&st))
        .ok_or_else(|| bad("state"))?;
    let attempts = item
        .get("attempts")
        .and_then(|v| v.as_n().ok())
        .map(|v| v.parse().map_err(|_| bad("attempts")))
        .transpose()?
        .unwrap_or(0);
    Ok(LedgerEntry {
        account,
        vendor,
        state,
        role_arn: text("role_arn"),
        vendor_ref: text("vendor_ref"),
        attempts,
        last_error: text("last_error"),
        execution: text("execution"),
        created_at: text("created_at").unwrap_or_default(),
        updated_at: text("updated_at").unwrap_or_default(),
    })
}

/// Now, as the ledger writes times.
pub(crate) fn now() -> Result<String> {
    DateTime::from(std::time::SystemTime::now())
        .fmt(DateTimeFormat::DateTime)
        .map_err(|e| Error::config(format!("formatting the time: {e}")))
}
