//! The ledger: one DynamoDB item per account and vendor, moved forward only
//! by conditional writes, so duplicate events, concurrent executions and
//! retries can never act twice.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::AccountId;
use crate::vendor_name::VendorName;

mod dynamo;

pub use dynamo::Ledger;

/// Where an account stands with a vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerState {
    /// An execution has taken the account for this vendor.
    Claimed,
    /// The vendor's trust role exists and matches its spec.
    RoleReady,
    /// Intent before a side effect: the holding execution is about to ask
    /// the vendor to create the registration (or did, and has no answer).
    Registering,
    /// The vendor accepted the registration; it may still be processing.
    Registered,
    Active,
    /// A vendor without a lookup may or may not hold the registration (its
    /// answer to a create was lost): a person checks the vendor's console
    /// and settles it (`vendorlink resolve-unverified`). Never claimed again
    /// automatically, so the vendor never gets a second create.
    Unverified,
    Failed,
    /// An offboarding holds the item (its claim).
    Offboarding,
    Offboarded,
}

impl LedgerState {
    pub const ALL: [LedgerState; 9] = [
        LedgerState::Claimed,
        LedgerState::RoleReady,
        LedgerState::Registering,
        LedgerState::Registered,
        LedgerState::Active,
        LedgerState::Unverified,
        LedgerState::Failed,
        LedgerState::Offboarding,
        LedgerState::Offboarded,
    ];

    /// States an execution is working in: they go stale when it dies.
    pub fn in_flight(self) -> bool {
        matches!(
            self,
            LedgerState::Claimed
                | LedgerState::RoleReady
                | LedgerState::Registering
                | LedgerState::Registered
                | LedgerState::Offboarding
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LedgerState::Claimed => "claimed",
            LedgerState::RoleReady => "role_ready",
            LedgerState::Registering => "registering",
            LedgerState::Registered => "registered",
            LedgerState::Active => "active",
            LedgerState::Unverified => "unverified",
            LedgerState::Failed => "failed",
            LedgerState::Offboarding => "offboarding",
            LedgerState::Offboarded => "offboarded",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<LedgerState> {
        LedgerState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for LedgerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How `last_error` starts when an offboarding did not finish.
pub const OFFBOARDING_FAILED: &str = "offboarding failed: ";

/// One ledger item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub account: AccountId,
    pub vendor: VendorName,
    pub state: LedgerState,
    pub role_arn: Option<String>,
    pub vendor_ref: Option<String>,
    /// How many times the account was claimed for this vendor.
    pub attempts: u32,
    pub last_error: Option<String>,
    /// The execution that last moved the item.
    pub execution: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl LedgerEntry {
    /// An offboarding of this item failed and none finished since (an
    /// onboarding that reaches `active` clears `last_error`).
    pub fn offboarding_failed(&self) -> bool {
        self.state != LedgerState::Offboarded
            && self
                .last_error
                .as_deref()
                .is_some_and(|e| e.starts_with(OFFBOARDING_FAILED))
    }
}

/// A requested state change: the new state, which states it may come from,
/// and the fields it records.
#[derive(Debug, Clone, Default)]
pub struct Transition {
    to: Option<LedgerState>,
    from: Vec<LedgerState>,
    from_absent: bool,
    /// Only allowed when the item's execution is this transition's.
    only_same_execution: bool,
    /// Also allowed, from a non-final state, when not updated since then.
    stale_before: Option<String>,
    count_attempt: bool,
    role_arn: Option<String>,
    vendor_ref: Option<String>,
    last_error: Option<String>,
    execution: Option<String>,
}

impl Transition {
    /// Take the account for a vendor: allowed when there is no item yet, the
    /// last run failed or offboarded it, or the holder has not moved it since
    /// `stale_before` (an execution that died; RFC 3339, compared as text;
    /// never over `active` or `unverified`, which no execution holds).
    /// Counts an attempt. (A retried step of the holding execution is refused
    /// and recognised by the caller, so retries are not counted as attempts.)
    pub fn claim(execution: &str, stale_before: Option<&str>) -> Self {
        Transition {
            to: Some(LedgerState::Claimed),
            from: vec![LedgerState::Failed, LedgerState::Offboarded],
            from_absent: true,
            stale_before: stale_before.map(str::to_owned),
            count_attempt: true,
            execution: Some(execution.to_owned()),
            ..Default::default()
        }
    }

    /// The role is ready (also: back from `registering` when the vendor
    /// clearly refused before acting).
    pub fn role_ready(role_arn: &str) -> Self {
        Transition {
            to: Some(LedgerState::RoleReady),
            from: vec![
                LedgerState::Claimed,
                LedgerState::RoleReady,
                LedgerState::Registering,
            ],
            role_arn: Some(role_arn.to_owned()),
            ..Default::default()
        }
    }

    /// Intent, written before the call that creates a registration.
    pub fn registering() -> Self {
        Transition {
            to: Some(LedgerState::Registering),
            from: vec![
                LedgerState::RoleReady,
                LedgerState::Registering,
                LedgerState::Registered,
            ],
            ..Default::default()
        }
    }

    pub fn registered(vendor_ref: &str) -> Self {
        Transition {
            to: Some(LedgerState::Registered),
            from: vec![
                LedgerState::RoleReady,
                LedgerState::Registering,
                LedgerState::Registered,
            ],
            vendor_ref: Some(vendor_ref.to_owned()),
            ..Default::default()
        }
    }

    /// The create's outcome is unknown and the vendor cannot be asked:
    /// `instruction` says what a person must check.
    pub fn unverified(instruction: &str) -> Self {
        Transition {
            to: Some(LedgerState::Unverified),
            from: vec![LedgerState::Registering, LedgerState::Unverified],
            last_error: Some(crate::error::bounded(
                instruction,
                crate::error::MAX_MESSAGE,
            )),
            ..Default::default()
        }
    }

    /// An operator settled an unverified item: the vendor holds the
    /// registration (with its reference, when known).
    pub fn verified_present(reference: Option<&str>) -> Self {
        Transition {
            to: Some(LedgerState::Active),
            from: vec![LedgerState::Unverified],
            vendor_ref: reference.map(str::to_owned),
            ..Default::default()
        }
    }

    /// An operator settled an unverified item: the vendor does not hold it,
    /// so the next onboarding may create it.
    pub fn verified_absent(note: &str) -> Self {
        Transition {
            to: Some(LedgerState::Failed),
            from: vec![LedgerState::Unverified],
            last_error: Some(crate::error::bounded(note, crate::error::MAX_MESSAGE)),
            ..Default::default()
        }
    }

    pub fn active() -> Self {
        Transition {
            to: Some(LedgerState::Active),
            from: vec![LedgerState::Registered, LedgerState::Active],
            ..Default::default()
        }
    }

    /// Also record the role's ARN (a repaired role).
    pub fn with_role(mut self, role_arn: &str) -> Self {
        self.role_arn = Some(role_arn.to_owned());
        self
    }

    /// Also record the vendor's reference (a new registration).
    pub fn with_reference(mut self, reference: &str) -> Self {
        self.vendor_ref = Some(reference.to_owned());
        self
    }

    /// Record a failure, from any state but offboarded, by the execution
    /// that holds the item (another execution's failure must not overwrite a
    /// run still in progress).
    pub fn failed(error: &str, execution: &str) -> Self {
        Transition {
            only_same_execution: true,
            execution: Some(execution.to_owned()),
            to: Some(LedgerState::Failed),
            from: vec![
                LedgerState::Claimed,
                LedgerState::RoleReady,
                LedgerState::Registering,
                LedgerState::Registered,
                LedgerState::Active,
                LedgerState::Failed,
                LedgerState::Offboarding,
            ],
            last_error: Some(crate::error::bounded(error, crate::error::MAX_MESSAGE)),
            ..Default::default()
        }
    }

    /// An offboarding takes the item: from any state but `offboarded`, and
    /// from another offboarding only when that one went stale (two
    /// CloseAccount events offboard once). Clears nothing: the role and
    /// reference stay for the removal to use.
    pub fn offboarding(execution: &str, stale_before: Option<&str>) -> Self {
        Transition {
            to: Some(LedgerState::Offboarding),
            from: LedgerState::ALL
                .into_iter()
                .filter(|s| !matches!(s, LedgerState::Offboarded | LedgerState::Offboarding))
                .collect(),
            from_absent: true,
            stale_before: stale_before.map(str::to_owned),
            execution: Some(execution.to_owned()),
            ..Default::default()
        }
    }

    pub fn offboarded() -> Self {
        Transition {
            to: Some(LedgerState::Offboarded),
            from: LedgerState::ALL.to_vec(),
            from_absent: true,
            ..Default::default()
        }
    }

    /// Offboarded, with a note for people (a manual step still to do).
    pub fn offboarded_with_note(note: &str) -> Self {
        Transition {
            last_error: Some(crate::error::bounded(note, crate::error::MAX_MESSAGE)),
            ..Transition::offboarded()
        }
    }

    /// Only when `execution` holds the item (it made the last claim): an
    /// onboarding's forward moves never land on an item an offboarding or
    /// another execution has taken since.
    pub fn held_by(mut self, execution: &str) -> Self {
        self.only_same_execution = true;
        self.execution = Some(execution.to_owned());
        self
    }

    /// Also record which execution made the change.
    pub fn by(mut self, execution: &str) -> Self {
        self.execution = Some(execution.to_owned());
        self
    }
}

impl Transition {
    /// The state the transition moves to.
    pub fn target(&self) -> Option<LedgerState> {
        self.to
    }

    /// Whether the transition may apply to the item as it stands: the rule
    /// the DynamoDB ledger writes as its condition expression, for the
    /// in-memory ledger and for reasoning in tests.
    pub fn permits(&self, current: Option<&LedgerEntry>) -> bool {
        let allowed = match current {
            None => self.from_absent,
            Some(entry) => {
                self.from.contains(&entry.state)
                    || self.stale_before.as_deref().is_some_and(|stale| {
                        entry.updated_at.as_str() < stale && entry.state.in_flight()
                    })
            }
        };
        match (&self.execution, self.only_same_execution) {
            (Some(execution), true) => {
                allowed && current.and_then(|e| e.execution.as_deref()) == Some(execution.as_str())
            }
            _ => allowed,
        }
    }

    /// The item after the transition, written at `now` (RFC 3339).
    pub fn apply(
        &self,
        account: &AccountId,
        vendor: VendorName,
        current: Option<LedgerEntry>,
        now: &str,
    ) -> Option<LedgerEntry> {
        let to = self.to?;
        let mut entry = current.unwrap_or_else(|| LedgerEntry {
            account: account.clone(),
            vendor,
            state: to,
            role_arn: None,
            vendor_ref: None,
            attempts: 0,
            last_error: None,
            execution: None,
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
        });
        entry.state = to;
        entry.updated_at = now.to_owned();
        entry.attempts += u32::from(self.count_attempt);
        for (field, value) in [
            (&mut entry.role_arn, &self.role_arn),
            (&mut entry.vendor_ref, &self.vendor_ref),
            (&mut entry.last_error, &self.last_error),
            (&mut entry.execution, &self.execution),
        ] {
            if let Some(v) = value {
                *field = Some(v.clone());
            }
        }
        if to == LedgerState::Active {
            entry.last_error = None;
        }
        Some(entry)
    }
}

/// Whether a transition was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionOutcome {
    Applied(LedgerEntry),
    /// The item was in a state the transition may not come from (another
    /// execution holds it, or it is already done); here is what it holds.
    Refused {
        current: Option<LedgerEntry>,
    },
}
