//! vendorlink's library: everything the Lambda functions and the CLI share.
//!
//! # Layout
//!
//! From the bottom up: a module uses only modules listed before it
//! (`tests/layering.rs` fails otherwise), so there are no import circles.
//!
//! 1. `registry` (`src/registry.rs`): the one list of vendors, a macro.
//! 2. Leaves: [`ids`] (account and parent ids) and [`vendor_name`]
//!    ([`VendorName`], generated from the registry).
//! 3. [`error`]: the one error type; its kinds map to Step Functions error
//!    names.
//! 4. [`secret`] (the redacted [`Secret`]) and [`aws`] (SDK set-up, SDK
//!    errors).
//! 5. [`config`] (the environment) and [`policy`] (role templates, trust
//!    policies, policy comparison).
//! 6. [`vendors`]: one folder per vendor (profile, secret type, client) over
//!    a shared HTTP layer.
//! 7. [`contract`]: the typed payloads between the state machine, the
//!    functions and the CLI; [`events`]: any input -> onboard, offboard or
//!    skip.
//! 8. The AWS parts: [`ledger`] (states, transitions; DynamoDB), [`org`]
//!    (Organizations), [`member_iam`] (vendor roles in member accounts),
//!    [`secret_store`] (vendor secrets in Secrets Manager).
//! 9. [`ports`]: the small traits the tasks use (ledger, organization,
//!    secrets, member-account IAM, notifications, vendor clients) and their
//!    AWS implementations.
//! 10. [`tasks`]: one module per state machine task over the ports. This is
//!     what the Lambda binaries and the CLI call; nothing here knows about
//!     Lambda or a terminal.
//! 11. `fakes`: in-memory implementations of every port, with fault
//!     injection, for unit tests (and other crates' tests with the `fakes`
//!     feature).
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
pub mod tls;
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
