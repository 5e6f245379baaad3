//! vendorlink's library: everything the Lambda functions and the CLI share.
//!
//! The parts (events, configuration, secrets, Organizations, the ledger,
//! trust roles, vendors) sit behind small types here; the binaries stay thin.

pub mod aws;
pub mod config;
pub mod error;
pub mod events;
pub mod ids;
pub mod ledger;
pub mod org;
pub mod policy;
pub mod secret;
pub mod steps;
pub mod trust_role;
pub mod vendor;
pub mod vendors;

pub use error::{Error, ErrorKind, Result, ResultExt, Step};
pub use ids::{AccountId, ParentId};
pub use vendor::VendorName;
