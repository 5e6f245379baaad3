//! Vendors in memory: each holds its registrations as a vendor would, and
//! behaves as configured (a lookup or not, how long it processes, whether
//! it can remove an account).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::error::Result;
use crate::policy::{TrustParameters, TrustPrincipal};
use crate::ports::VendorConnector;
use crate::secret::Secret;
use crate::vendor_name::VendorName;
use crate::vendors::profile::ExternalIdSource;
use crate::vendors::{
    AccountToRegister, Deregistration, Registration, RegistrationStatus, Vendor, VendorSecret,
};

use super::Faults;

/// The vendor's AWS account in the fakes' trust.
pub const FAKE_PRINCIPAL: &str = "999900001111";

/// How a fake vendor behaves.
#[derive(Debug, Clone)]
pub struct FakeVendorBehaviour {
    /// The vendor can list registrations: `register` finds an existing one
    /// instead of creating another, and `is_registered` answers.
    pub lookup: bool,
    /// The lookup does not show registrations still pending (Skyhigh's
    /// requests being processed); `register_again` follows the earlier
    /// reference while it is pending.
    pub lookup_misses_pending: bool,
    /// Status checks a registration stays pending for.
    pub pending_polls: u32,
    /// The vendor reports the registration failed, with this reason.
    pub fails_with: Option<String>,
    /// The vendor has an API to remove an account.
    pub removal_api: bool,
    /// Status checks a removal stays pending for (0: removed at once).
    pub removal_pending_polls: u32,
    /// A pending removal ends stalled (the vendor could not assume the
    /// role) instead of done.
    pub removal_stalls: bool,
    /// A registration stalls (the vendor could not assume the role yet)
    /// until `register` has been called this many times for the account.
    pub stalls_until_registers: u32,
    /// `register` refuses this many times first, as a vendor that cannot
    /// assume the role yet refuses it (Cloudcraft's 400), creating nothing.
    pub refuses_role: u32,
    /// One request lists every registration (Cloudcraft): `register` skips
    /// its lookup for an account marked `unlisted`, as that client does.
    pub lists_in_one_request: bool,
}

impl Default for FakeVendorBehaviour {
    fn default() -> Self {
        FakeVendorBehaviour {
            lookup: true,
            lookup_misses_pending: false,
            pending_polls: 0,
            fails_with: None,
            removal_api: true,
            removal_pending_polls: 0,
            removal_stalls: false,
            stalls_until_registers: 0,
            refuses_role: 0,
            lists_in_one_request: false,
        }
    }
}

#[derive(Debug, Clone)]
struct Held {
    reference: String,
    account: AccountToRegister,
    polls: u32,
    /// `register` calls that found or made this registration.
    registers: u32,
}

#[derive(Debug, Default)]
struct State {
    registrations: Vec<Held>,
    /// Pending removals: reference -> checks made.
    removals: HashMap<String, u32>,
    created: usize,
    /// `register` calls refused as "cannot assume the role".
    role_refusals: u32,
    /// `register` calls that skipped the lookup (`unlisted`).
    lookups_skipped: u32,
}

/// One vendor's state and behaviour.
pub struct FakeVendor {
    name: VendorName,
    behaviour: Mutex<FakeVendorBehaviour>,
    state: Mutex<State>,
    faults: Arc<Faults>,
}

impl FakeVendor {
    fn new(name: VendorName, faults: Arc<Faults>) -> Self {
        FakeVendor {
            name,
            behaviour: Mutex::new(FakeVendorBehaviour::default()),
            state: Mutex::new(State::default()),
            faults,
        }
    }

    pub fn set_behaviour(&self, behaviour: FakeVendorBehaviour) {
        if let Ok(mut b) = self.behaviour.lock() {
            *b = behaviour;
        }
    }

    /// The registrations the vendor holds for the account.
    pub fn registrations(&self, account: &crate::ids::AccountId) -> usize {
        self.lock()
            .registrations
            .iter()
            .filter(|h| &h.account.account_id == account)
            .count()
    }

    /// `register` calls that skipped the lookup for an `unlisted` account.
    pub fn lookups_skipped(&self) -> u32 {
        self.lock().lookups_skipped
    }

    /// Registrations ever created.
    pub fn created(&self) -> usize {
        self.lock().created
    }

    /// The vendor drops the account on its side (drift).
    pub fn forget(&self, account: &crate::ids::AccountId) {
        self.lock()
            .registrations
            .retain(|h| &h.account.account_id != account);
    }

    fn behaviour(&self) -> FakeVendorBehaviour {
        self.behaviour.lock().map(|b| b.clone()).unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn status_of(behaviour: &FakeVendorBehaviour, held: &Held) -> RegistrationStatus {
        if held.registers < behaviour.stalls_until_registers {
            return RegistrationStatus::Stalled {
                reason: "could not assume the role (AccessDenied)".into(),
            };
        }
        if held.polls < behaviour.pending_polls {
            return RegistrationStatus::Pending;
        }
        match &behaviour.fails_with {
            Some(reason) => RegistrationStatus::Failed {
                reason: reason.clone(),
            },
            None => RegistrationStatus::Active,
        }
    }
}

/// A client of a fake vendor, made from the vendor's secret.
struct FakeClient {
    vendor: Arc<FakeVendor>,
    secret: VendorSecret,
}

#[async_trait]
impl Vendor for FakeClient {
    fn name(&self) -> VendorName {
        self.vendor.name
    }

    async fn trust_parameters(&self) -> Result<TrustParameters> {
        self.vendor.faults.run("vendor.trust_parameters", || {
            Ok(TrustParameters {
                principal: self.secret.principal().unwrap_or_else(|| {
                    TrustPrincipal::Account(FAKE_PRINCIPAL.parse().expect("12 digits"))
                }),
                // Like the real ones, a vendor that issues the trust issues
                // an external ID with it.
                external_id: self.secret.external_id().cloned().or_else(|| {
                    (self.vendor.name.profile().external_id == ExternalIdSource::IssuedByVendor)
                        .then(|| Secret::new(format!("issued-by-{}-0001", self.vendor.name)))
                }),
            })
        })
    }

    async fn register(&self, account: &AccountToRegister) -> Result<Registration> {
        let behaviour = self.vendor.behaviour();
        self.vendor.faults.run("vendor.register", || {
            let mut state = self.vendor.lock();
            if state.role_refusals < behaviour.refuses_role {
                state.role_refusals += 1;
                return Err(crate::error::Error::new(
                    crate::error::ErrorKind::Vendor,
                    format!("cannot assume {}", account.role_arn),
                )
                .with_status(400)
                .role_refusal());
            }
            let skips_lookup = behaviour.lists_in_one_request && account.unlisted;
            if skips_lookup {
                state.lookups_skipped += 1;
            }
            if behaviour.lookup && !skips_lookup {
                if let Some(held) = state.registrations.iter_mut().find(|h| {
                    h.account.account_id == account.account_id
                        && !(behaviour.lookup_misses_pending && h.polls < behaviour.pending_polls)
                }) {
                    held.registers += 1;
                    return Ok(Registration {
                        reference: held.reference.clone(),
                        status: FakeVendor::status_of(&behaviour, held),
                    });
                }
            }
            state.created += 1;
            let held = Held {
                reference: format!("{}-{}", self.vendor.name, state.created),
                account: account.clone(),
                polls: 0,
                registers: 1,
            };
            let registration = Registration {
                reference: held.reference.clone(),
                status: FakeVendor::status_of(&behaviour, &held),
            };
            state.registrations.push(held);
            Ok(registration)
        })
    }

    async fn register_again(
        &self,
        account: &AccountToRegister,
        earlier: &str,
    ) -> Result<Registration> {
        let behaviour = self.vendor.behaviour();
        if behaviour.lookup_misses_pending {
            let state = self.vendor.lock();
            if let Some(held) = state
                .registrations
                .iter()
                .find(|h| h.reference == earlier && h.polls < behaviour.pending_polls)
            {
                return Ok(Registration {
                    reference: held.reference.clone(),
                    status: RegistrationStatus::Pending,
                });
            }
        }
        self.register(account).await
    }

    async fn status(
        &self,
        _account: &AccountToRegister,
        reference: &str,
    ) -> Result<RegistrationStatus> {
        let behaviour = self.vendor.behaviour();
        self.vendor.faults.run("vendor.status", || {
            let mut state = self.vendor.lock();
            if let Some(checks) = state.removals.get_mut(reference) {
                *checks += 1;
                return Ok(if *checks < behaviour.removal_pending_polls {
                    RegistrationStatus::Pending
                } else if behaviour.removal_stalls {
                    RegistrationStatus::Stalled {
                        reason: "could not assume the role (AccessDenied)".into(),
                    }
                } else {
                    RegistrationStatus::Active
                });
            }
            let Some(held) = state
                .registrations
                .iter_mut()
                .find(|h| h.reference == reference)
            else {
                return Ok(RegistrationStatus::Failed {
                    reason: format!("no registration {reference}"),
                });
            };
            held.polls += 1;
            Ok(FakeVendor::status_of(&behaviour, held))
        })
    }

    async fn deregister(&self, account: &AccountToRegister) -> Result<Deregistration> {
        let behaviour = self.vendor.behaviour();
        self.vendor.faults.run("vendor.deregister", || {
            if !behaviour.removal_api {
                return Ok(Deregistration::ManualStepRequired {
                    instruction: format!("remove {} by hand", account.account_id),
                });
            }
            let mut state = self.vendor.lock();
            let before = state.registrations.len();
            state
                .registrations
                .retain(|h| h.account.account_id != account.account_id);
            if state.registrations.len() == before {
                return Ok(Deregistration::NotFound);
            }
            if behaviour.removal_pending_polls > 0 {
                let reference = format!("removal-{}", account.account_id);
                state.removals.insert(reference.clone(), 0);
                return Ok(Deregistration::Pending { reference });
            }
            Ok(Deregistration::Removed)
        })
    }

    fn finds_existing(&self) -> bool {
        self.vendor.behaviour().lookup
    }

    fn lists_in_one_request(&self) -> bool {
        self.vendor.behaviour().lists_in_one_request
    }

    async fn is_registered(&self, account: &AccountToRegister) -> Result<Option<bool>> {
        let behaviour = self.vendor.behaviour();
        self.vendor.faults.run("vendor.is_registered", || {
            Ok(behaviour.lookup.then(|| {
                self.vendor
                    .lock()
                    .registrations
                    .iter()
                    .any(|h| h.account.account_id == account.account_id)
            }))
        })
    }
}

/// Every fake vendor, by name; made on first use with the default behaviour.
pub struct FakeVendors {
    vendors: Mutex<HashMap<VendorName, Arc<FakeVendor>>>,
    faults: Arc<Faults>,
}

impl FakeVendors {
    pub fn new(faults: Arc<Faults>) -> Self {
        FakeVendors {
            vendors: Mutex::new(HashMap::new()),
            faults,
        }
    }

    pub fn vendor(&self, name: VendorName) -> Arc<FakeVendor> {
        let mut vendors = self.vendors.lock().unwrap_or_else(|p| p.into_inner());
        vendors
            .entry(name)
            .or_insert_with(|| Arc::new(FakeVendor::new(name, self.faults.clone())))
            .clone()
    }
}

impl VendorConnector for FakeVendors {
    fn connect(&self, secret: VendorSecret) -> Result<Arc<dyn Vendor>> {
        Ok(Arc::new(FakeClient {
            vendor: self.vendor(secret.vendor()),
            secret,
        }))
    }
}
