//! vendorlink's library: everything the Lambda functions and the CLI share.
//!
//! # Layout
//!
//! From the bottom up; a module only uses the ones above it in this list.
//!
//! - [`registry`](crate::VendorName) (`src/registry.rs`): the one list of vendors.
//! - Leaves: [`ids`] (account and parent ids), [`vendor_name`]
//!   ([`VendorName`], generated from the registry).
//! - [`error`]: the one error type; kinds map to Step Functions error names.
//! - [`secret`]: the redacted [`Secret`](secret::Secret) type.
//! - Parts: [`aws`] (SDK set-up, SDK errors), [`config`] (environment),
//!   [`events`] (event -> decision), [`policy`] (role templates, trust
//!   policies), [`ledger`] (states and transitions; DynamoDB), [`org`]
//!   (Organizations), [`member_iam`] (vendor roles in member accounts).
//! - [`vendors`]: one folder per vendor (profile, secret type, client) over
//!   a shared HTTP layer; [`secret_store`] reads their secrets.
//! - [`ports`]: the small traits the tasks use (ledger, organization,
//!   secrets, member-account IAM, notifications, vendor clients); the AWS
//!   implementations above, in-memory fakes in [`fakes`] (tests and the
//!   `fakes` feature).
//! - [`tasks`]: one module per state machine task over the ports, plus the
//!   typed contracts between the state machine, the functions and the CLI.
//!   This is what the Lambda binaries and the CLI call; nothing here knows
//!   about Lambda or a terminal.
//!
//! The facts the code relies on are written down under `docs/` in the
//! repository: the architecture, the state machine's contract, and each
//! vendor's facts with their sources.

#[macro_use]
mod registry;

pub mod ids;
pub mod vendor_name;

pub mod error;
pub mod secret;

pub mod aws;
pub mod config;
pub mod contract;
pub mod events;
pub mod ledger;
pub mod member_iam;
pub mod org;
pub mod policy;

pub mod secret_store;
pub mod vendors;

#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod ports;
pub mod tasks;

pub use error::{Error, ErrorKind, Result, ResultExt, Step};
pub use ids::{AccountId, ParentId};
pub use secret::Secret;
pub use tasks::Context;
pub use vendor_name::VendorName;
