//! The one error type of vendorlink.
//!
//! Every error names its kind (which maps to the Step Functions error name that
//! `Retry`/`Catch` match on), the step it happened in, and, when known, the
//! account and vendor it concerns. Messages never contain secret values: the
//! parts that build them only ever see secrets through [`crate::secret::Secret`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::AccountId;
use crate::vendor_name::VendorName;

/// What went wrong, as far as a caller deciding to retry is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorKind {
    /// AWS or a vendor asked us to slow down (throttling, HTTP 429).
    Throttled,
    /// A dependency was unreachable, timed out or answered 5xx.
    Unavailable,
    /// The member-account role (or the vendor role) cannot be assumed yet:
    /// IAM is eventually consistent right after an account or role is created.
    RoleNotReady,
    /// Our configuration (environment, secret, IAM permissions) is wrong.
    Config,
    /// The input (event, account id, vendor name) is malformed or unknown.
    BadInput,
    /// The vendor refused the request for a reason retrying will not fix.
    Vendor,
}

impl ErrorKind {
    /// The error type name Step Functions sees (`Retry`/`Catch` `ErrorEquals`).
    pub fn error_type(self) -> &'static str {
        match self {
            ErrorKind::Throttled => "Retryable.Throttled",
            ErrorKind::Unavailable => "Retryable.Unavailable",
            ErrorKind::RoleNotReady => "Retryable.RoleNotReady",
            ErrorKind::Config => "Fatal.Config",
            ErrorKind::BadInput => "Fatal.BadInput",
            ErrorKind::Vendor => "Fatal.Vendor",
        }
    }

    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled | ErrorKind::Unavailable | ErrorKind::RoleNotReady
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.error_type())
    }
}

/// The unit of work an error happened in: a state machine task, or the
/// start-up of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Startup,
    ResolveAccount,
    EnsureTrustRole,
    RegisterAccount,
    CheckStatus,
    DeregisterAccount,
    RecordOutcome,
    Reconcile,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Startup => "startup",
            Step::ResolveAccount => "resolve-account",
            Step::EnsureTrustRole => "ensure-trust-role",
            Step::RegisterAccount => "register-account",
            Step::CheckStatus => "check-status",
            Step::DeregisterAccount => "deregister-account",
            Step::RecordOutcome => "record-outcome",
            Step::Reconcile => "reconcile",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error with everything an operator needs to find its cause.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    step: Option<Step>,
    account: Option<AccountId>,
    vendor: Option<VendorName>,
    /// The HTTP status a vendor answered, when the error is a vendor answer.
    http_status: Option<u16>,
    /// The request reached the other side and its answer was lost or
    /// unreadable (a timeout, a dropped connection, a 5xx, a garbled 2xx):
    /// the other side may have acted.
    ambiguous: bool,
    /// The vendor said it could not assume the role.
    role_refusal: bool,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The longest error message, in characters: it travels on as the Step
/// Functions cause, the ledger's `last_error`, SNS and the logs, whose
/// limits (256 KB) a vendor's text must never reach.
pub const MAX_MESSAGE: usize = 2000;

/// `text` made safe to store and show: control characters (but newlines and
/// tabs) replaced by spaces, cut to `max` characters with an ellipsis.
pub fn bounded(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max + 3));
    for (n, c) in text.chars().enumerate() {
        if n == max {
            out.push('…');
            break;
        }
        out.push(if c.is_control() && c != '\n' && c != '\t' {
            ' '
        } else {
            c
        });
    }
    out
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: bounded(&message.into(), MAX_MESSAGE),
            step: None,
            account: None,
            vendor: None,
            http_status: None,
            ambiguous: false,
            role_refusal: false,
        }
    }

    pub fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, message)
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::BadInput, message)
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn error_type(&self) -> &'static str {
        self.kind.error_type()
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn step(&self) -> Option<Step> {
        self.step
    }

    pub fn account(&self) -> Option<&AccountId> {
        self.account.as_ref()
    }

    pub fn vendor(&self) -> Option<VendorName> {
        self.vendor
    }

    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// Whether the other side may have acted although the call failed.
    pub fn is_ambiguous(&self) -> bool {
        self.ambiguous
    }

    /// Whether the vendor refused because it could not assume the role
    /// (recognised by the vendor client from the answer's structure).
    pub fn is_role_refusal(&self) -> bool {
        self.role_refusal
    }

    /// Marks the error as the vendor's "cannot assume the role".
    pub fn role_refusal(mut self) -> Self {
        self.role_refusal = true;
        self
    }

    /// Marks the error as one after which the other side may have acted.
    pub fn ambiguous(mut self) -> Self {
        self.ambiguous = true;
        self
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        self
    }

    /// Sets the step unless a more precise one was already recorded.
    pub fn in_step(mut self, step: Step) -> Self {
        self.step.get_or_insert(step);
        self
    }

    pub fn for_account(mut self, account: &AccountId) -> Self {
        if self.account.is_none() {
            self.account = Some(account.clone());
        }
        self
    }

    pub fn for_vendor(mut self, vendor: VendorName) -> Self {
        self.vendor.get_or_insert(vendor);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        let mut sep = " [";
        if let Some(step) = self.step {
            write!(f, "{sep}step={step}")?;
            sep = " ";
        }
        if let Some(account) = &self.account {
            write!(f, "{sep}account={account}")?;
            sep = " ";
        }
        if let Some(vendor) = self.vendor {
            write!(f, "{sep}vendor={vendor}")?;
            sep = " ";
        }
        if sep == " " {
            f.write_str("]")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for Error {}

/// Adds context to the error of a `Result` without spelling out `map_err`.
pub trait ResultExt<T> {
    fn in_step(self, step: Step) -> Result<T>;
    fn for_account(self, account: &AccountId) -> Result<T>;
    fn for_vendor(self, vendor: VendorName) -> Result<T>;
}

impl<T> ResultExt<T> for Result<T> {
    fn in_step(self, step: Step) -> Result<T> {
        self.map_err(|e| e.in_step(step))
    }
    fn for_account(self, account: &AccountId) -> Result<T> {
        self.map_err(|e| e.for_account(account))
    }
    fn for_vendor(self, vendor: VendorName) -> Result<T> {
        self.map_err(|e| e.for_vendor(vendor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_kind_step_account_and_vendor() {
        let account: AccountId = "123456789012".parse().unwrap();
        let err = Error::new(ErrorKind::Throttled, "slow down")
            .in_step(Step::RegisterAccount)
            .for_account(&account)
            .for_vendor(VendorName::Cloudcraft);
        assert_eq!(
            err.to_string(),
            "Retryable.Throttled [step=register-account account=123456789012 vendor=cloudcraft]: slow down"
        );
    }

    #[test]
    fn first_step_recorded_wins() {
        let err = Error::config("x")
            .in_step(Step::EnsureTrustRole)
            .in_step(Step::Startup);
        assert_eq!(err.step(), Some(Step::EnsureTrustRole));
    }

    #[test]
    fn display_without_context_is_kind_and_message() {
        assert_eq!(Error::bad_input("nope").to_string(), "Fatal.BadInput: nope");
    }

    #[test]
    fn only_throttled_unavailable_and_role_not_ready_are_retryable() {
        let retryable: Vec<_> = [
            ErrorKind::Throttled,
            ErrorKind::Unavailable,
            ErrorKind::RoleNotReady,
            ErrorKind::Config,
            ErrorKind::BadInput,
            ErrorKind::Vendor,
        ]
        .into_iter()
        .filter(|k| k.is_retryable())
        .map(|k| k.error_type())
        .collect();
        assert_eq!(
            retryable,
            [
                "Retryable.Throttled",
                "Retryable.Unavailable",
                "Retryable.RoleNotReady"
            ]
        );
    }
}
