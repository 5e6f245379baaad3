//! Turning the events that start vendorlink into one typed decision:
//! onboard an account, offboard it, or skip with a reason.
//!
//! Accepted: Organizations `CreateAccountResult`, Control Tower
//! `CreateManagedAccount` / `UpdateManagedAccount`, `CloseAccount`,
//! `CloseAccountResult`, `RemoveAccountFromOrganization`, `MoveAccount` (all as EventBridge
//! events), and a direct `{"accountId": "..."}` input (backfill, redrive).
//! Unknown fields are ignored; a malformed event is `Fatal.BadInput` naming
//! the field that is missing.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contract::{DirectAction, DirectRequest};
use crate::error::{Error, Result, Step};
use crate::ids::AccountId;
use crate::vendor_name::VendorName;

/// The account an event is about, with what the event tells of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRef {
    pub account_id: AccountId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    /// The OU the event names (Control Tower), when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizational_unit: Option<String>,
    /// The event that asked for this (`CreateAccountResult`, `direct`, ...).
    pub trigger: String,
    /// Vendors the input restricted the run to (direct input only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendors: Option<Vec<VendorName>>,
    /// Offboarding only: leave the trust roles in place (direct input only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_roles: bool,
    /// Vendors a backfill found absent from their listing (direct input only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unlisted: Vec<crate::contract::Unlisted>,
}

/// What to do about an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Decision {
    Onboard(AccountRef),
    Offboard(AccountRef),
    /// The account moved between OUs: whether that brings it into scope or
    /// out of it depends on the configuration (decided by resolve-account).
    Moved(AccountRef),
    Skip {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account_id: Option<AccountId>,
        reason: String,
    },
}

/// Parses any accepted input into a [`Decision`].
pub fn decide(input: &Value) -> Result<Decision> {
    decide_inner(input).map_err(|e| e.in_step(Step::ResolveAccount))
}

fn decide_inner(input: &Value) -> Result<Decision> {
    let Some(obj) = input.as_object() else {
        return Err(Error::bad_input(
            "input must be a JSON object (an EventBridge event or {\"accountId\": \"...\"})",
        ));
    };
    if obj.contains_key("detail-type") {
        let event: EventBridgeEvent<Value> = serde_json::from_value(input.clone())
            .map_err(|e| Error::bad_input(format!("not a valid EventBridge event: {e}")))?;
        return decide_event(&event);
    }
    if obj.contains_key("accountId") {
        return decide_direct(input);
    }
    Err(Error::bad_input(
        "input is neither an EventBridge event (no `detail-type`) nor a direct request (no `accountId`)",
    ))
}

fn decide_direct(input: &Value) -> Result<Decision> {
    let direct: DirectRequest = serde_path_to_error::deserialize(input).map_err(|e| {
        let path = e.path().to_string();
        Error::bad_input(format!("direct request: {path}: {}", e.into_inner()))
    })?;
    let account = AccountRef {
        account_id: direct.account_id,
        account_name: None,
        organizational_unit: None,
        trigger: "direct".into(),
        vendors: direct.vendors,
        keep_roles: direct.keep_roles,
        unlisted: direct.unlisted,
    };
    Ok(match direct.action {
        DirectAction::Onboard => Decision::Onboard(account),
        DirectAction::Offboard => Decision::Offboard(account),
    })
}

fn decide_event(event: &EventBridgeEvent<Value>) -> Result<Decision> {
    let detail = Fields::new(&event.detail, "detail");
    let source = event.source.as_str();
    if source != "aws.organizations" && source != "aws.controltower" {
        return Ok(skip(
            None,
            format!("events from `{source}` are not account lifecycle events"),
        ));
    }
    let event_name = detail.str("eventName")?;
    // A CloudTrail API call that failed carries an errorCode: nothing happened.
    if let Some(code) = detail.value.get("errorCode").and_then(Value::as_str) {
        return Ok(skip(
            None,
            format!("the {event_name} call failed with {code}: nothing to do"),
        ));
    }
    match (source, event_name) {
        ("aws.organizations", "CreateAccountResult") => {
            let status = detail
                .object("serviceEventDetails")?
                .object("createAccountStatus")?;
            let state = status.str("state")?;
            if state != "SUCCEEDED" {
                let why = status
                    .value
                    .get("failureReason")
                    .and_then(Value::as_str)
                    .unwrap_or("no reason given");
                return Ok(skip(None, format!("account creation {state}: {why}")));
            }
            Ok(Decision::Onboard(AccountRef {
                account_id: status.account("accountId")?,
                account_name: status.opt_str("accountName"),
                organizational_unit: None,
                trigger: event_name.into(),
                vendors: None,
                keep_roles: false,
                unlisted: Vec::new(),
            }))
        }
        ("aws.controltower", "CreateManagedAccount" | "UpdateManagedAccount") => {
            let key = if event_name == "CreateManagedAccount" {
                "createManagedAccountStatus"
            } else {
                "updateManagedAccountStatus"
            };
            let status = detail.object("serviceEventDetails")?.object(key)?;
            let state = status.str("state")?;
            let account = status.object("account")?;
            let account_id = account.account("accountId")?;
            if state != "SUCCEEDED" {
                return Ok(skip(
                    Some(account_id),
                    format!("{event_name} state is {state}, not SUCCEEDED"),
                ));
            }
            let ou = status
                .value
                .get("organizationalUnit")
                .and_then(|ou| ou.get("organizationalUnitId"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            Ok(Decision::Onboard(AccountRef {
                account_id,
                account_name: account.opt_str("accountName"),
                organizational_unit: ou,
                trigger: event_name.into(),
                vendors: None,
                keep_roles: false,
                unlisted: Vec::new(),
            }))
        }
        ("aws.organizations", "CloseAccount" | "RemoveAccountFromOrganization") => {
            let params = detail.object("requestParameters")?;
            Ok(Decision::Offboard(AccountRef {
                account_id: params.account("accountId")?,
                account_name: None,
                organizational_unit: None,
                trigger: event_name.into(),
                vendors: None,
                keep_roles: false,
                unlisted: Vec::new(),
            }))
        }
        ("aws.organizations", "MoveAccount") => {
            let params = detail.object("requestParameters")?;
            // Both parents must be named, as the API requires them.
            params.str("sourceParentId")?;
            params.str("destinationParentId")?;
            Ok(Decision::Moved(AccountRef {
                account_id: params.account("accountId")?,
                account_name: None,
                organizational_unit: params.opt_str("destinationParentId"),
                trigger: event_name.into(),
                vendors: None,
                keep_roles: false,
                unlisted: Vec::new(),
            }))
        }
        ("aws.organizations", "CloseAccountResult") => {
            let status = detail
                .object("serviceEventDetails")?
                .object("closeAccountStatus")?;
            let account_id = status.account("accountId")?;
            let state = status.str("state")?;
            if state != "SUCCEEDED" {
                return Ok(skip(Some(account_id), format!("account closure {state}")));
            }
            Ok(Decision::Offboard(AccountRef {
                account_id,
                account_name: None,
                organizational_unit: None,
                trigger: event_name.into(),
                vendors: None,
                keep_roles: false,
                unlisted: Vec::new(),
            }))
        }
        _ => Ok(skip(
            None,
            format!("{source} event `{event_name}` is not handled by vendorlink"),
        )),
    }
}

fn skip(account_id: Option<AccountId>, reason: String) -> Decision {
    Decision::Skip { account_id, reason }
}

fn parse_account(raw: &str, path: &str) -> Result<AccountId> {
    raw.parse()
        .map_err(|e| Error::bad_input(format!("{path}: {e}")))
}

/// A JSON object with its path, so a missing field is reported as
/// `detail.serviceEventDetails.createAccountStatus.accountId`.
struct Fields<'a> {
    value: &'a Value,
    path: String,
}

impl<'a> Fields<'a> {
    fn new(value: &'a Value, path: &str) -> Self {
        Fields {
            value,
            path: path.to_owned(),
        }
    }

    fn child_path(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn object(&self, key: &str) -> Result<Fields<'a>> {
        match self.value.get(key) {
            Some(v) if v.is_object() => Ok(Fields::new(v, &self.child_path(key))),
            Some(_) => Err(Error::bad_input(format!(
                "event field {} must be an object",
                self.child_path(key)
            ))),
            None => Err(Error::bad_input(format!(
                "event is missing {}",
                self.child_path(key)
            ))),
        }
    }

    fn str(&self, key: &str) -> Result<&'a str> {
        match self.value.get(key) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(Error::bad_input(format!(
                "event field {} must be a string",
                self.child_path(key)
            ))),
            None => Err(Error::bad_input(format!(
                "event is missing {}",
                self.child_path(key)
            ))),
        }
    }

    fn opt_str(&self, key: &str) -> Option<String> {
        self.value
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    fn account(&self, key: &str) -> Result<AccountId> {
        parse_account(
            self.str(key)?,
            &format!("event field {}", self.child_path(key)),
        )
    }
}
