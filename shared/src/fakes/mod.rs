//! In-memory fakes of every port, for unit tests of the tasks' decisions:
//! fast, deterministic, no emulator. Each fake keeps the state a real
//! service would (the ledger's conditional transitions, roles in accounts,
//! a vendor's registrations) and every call can be made to fail through one
//! shared [`Faults`] script: an error, a timeout, or an answer lost after
//! the other side acted.
//!
//! Built for this crate's unit tests, and for other crates' tests with the
//! `fakes` feature. They are not a stand-in for the emulator and sandbox
//! suites, which check the real AWS and HTTP implementations.

mod faults;
mod ledger;
mod members;
mod notifier;
mod org;
mod secrets;
mod vendors;

use std::sync::Arc;

pub use faults::{Fault, Faults};
pub use ledger::MemoryLedger;
pub use members::{FakeRole, MemoryMembers};
pub use notifier::MemoryNotifier;
pub use org::MemoryOrg;
pub use secrets::MemorySecrets;
pub use vendors::{FakeVendor, FakeVendorBehaviour, FakeVendors, FAKE_PRINCIPAL};

use crate::config::Config;
use crate::ports::{Notifier, Ports};
use crate::tasks::Context;

/// One world of fakes sharing one fault script.
#[derive(Clone)]
pub struct FakeWorld {
    pub faults: Arc<Faults>,
    pub ledger: Arc<MemoryLedger>,
    pub org: Arc<MemoryOrg>,
    pub secrets: Arc<MemorySecrets>,
    pub members: Arc<MemoryMembers>,
    pub notifier: Arc<MemoryNotifier>,
    pub vendors: Arc<FakeVendors>,
}

impl Default for FakeWorld {
    fn default() -> Self {
        FakeWorld::new()
    }
}

impl FakeWorld {
    pub fn new() -> FakeWorld {
        let faults = Arc::new(Faults::default());
        FakeWorld {
            ledger: Arc::new(MemoryLedger::new(faults.clone())),
            org: Arc::new(MemoryOrg::new(faults.clone())),
            secrets: Arc::new(MemorySecrets::new(faults.clone())),
            members: Arc::new(MemoryMembers::new(faults.clone())),
            notifier: Arc::new(MemoryNotifier::new(faults.clone())),
            vendors: Arc::new(FakeVendors::new(faults.clone())),
            faults,
        }
    }

    /// The ports; the notifier is wired when the configuration names a
    /// topic, as on AWS.
    pub fn ports(&self, config: &Config) -> Ports {
        Ports {
            ledger: self.ledger.clone(),
            org: self.org.clone(),
            secrets: self.secrets.clone(),
            members: self.members.clone(),
            notifier: config
                .notify_topic_arn
                .as_ref()
                .map(|_| self.notifier.clone() as Arc<dyn Notifier>),
            vendors: self.vendors.clone(),
        }
    }

    /// A context over these fakes.
    pub fn context(&self, config: Config) -> Context {
        let ports = self.ports(&config);
        Context::with_ports(config, ports)
    }
}
