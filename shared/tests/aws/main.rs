//! The account side against the AWS emulator (moto server), through the real
//! AWS SDK. Run under `local/with-moto` (as `make test` does), which starts
//! the emulator and sets `AWS_ENDPOINT_URL`. Every test makes its own
//! organization and accounts, so tests never see each other's state.

mod support;
// Shared with the vendor tests; this binary uses only part of it.
#[allow(dead_code)]
#[path = "../vendors/support.rs"]
mod sandbox;

mod ledger;
mod org;
mod secrets;
mod tasks;
mod trust_roles;
