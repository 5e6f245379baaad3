//! Function configuration from the environment, validated at start-up.

use crate::error::{Error, Result, Step};
use crate::ids::{AccountId, ParentId};
use crate::vendor_name::VendorName;

/// The configuration every function and the CLI share
/// (docs/architecture.md, "Configuration contract").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub vendors: Vec<VendorName>,
    pub secret_prefix: String,
    pub member_role_name: String,
    pub include_ous: Vec<ParentId>,
    pub exclude_accounts: Vec<AccountId>,
    pub ledger_table: String,
    pub tag_prefix: String,
    pub notify_topic_arn: Option<String>,
    /// Seconds the state machine waits before the first vendor status
    /// check; later waits grow by half up to [`MAX_POLL_WAIT_SECONDS`].
    pub poll_seconds: u32,
    /// How long a pending vendor is polled in all (`POLL_BUDGET_SECONDS`).
    pub poll_budget_seconds: u32,
    /// How long the branch waits after creating or changing a role before
    /// the first vendor call (`ROLE_PROPAGATION_SECONDS`): IAM is
    /// eventually consistent, and a vendor in another account may not be
    /// able to assume a brand-new role for some seconds.
    pub role_propagation_seconds: u32,
    /// Whether an account moved out of the included OUs is offboarded (else
    /// only reported).
    pub offboard_on_scope_exit: bool,
    /// Managed policies a vendor's secret may attach beyond the built-in
    /// allow-list (`EXTRA_MANAGED_POLICIES`, from the stack parameter
    /// `ExtraManagedPolicies`: a secret alone can never widen it).
    pub extra_managed_policies: Vec<String>,
    /// `VENDORLINK_LOCAL_STACK=true`: the local stack's sandboxes are served
    /// over plain http on loopback, and only then is a secret's `http://`
    /// base URL used. The template never sets it.
    pub local_stack: bool,
}

/// How a pending vendor is polled: waits growing by half from `first_wait`
/// to `max_wait`, for at most `budget` seconds in all (Step Functions waits
/// cost nothing, so the budget is hours: a RISKEN scan can take that long).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPolicy {
    pub first_wait: u32,
    pub max_wait: u32,
    pub budget: u32,
}

impl PollPolicy {
    /// The wait before check number `polls + 1`.
    pub fn wait(self, polls: u32) -> u32 {
        let ceiling = self.max_wait.max(self.first_wait);
        let mut wait = u64::from(self.first_wait);
        for _ in 0..polls.min(64) {
            wait = (wait * 3).div_ceil(2);
            if wait >= u64::from(ceiling) {
                return ceiling;
            }
        }
        wait.min(u64::from(ceiling)) as u32
    }
}

/// The longest wait between two status checks of a pending vendor.
pub const MAX_POLL_WAIT_SECONDS: u32 = 600;
/// Polling a pending vendor stops after four hours by default: real RISKEN
/// scans (cloudsploit, portscan) can take hours.
pub const DEFAULT_POLL_BUDGET_SECONDS: u32 = 4 * 3600;
/// IAM propagation allowed before the first vendor call after a role change.
pub const DEFAULT_ROLE_PROPAGATION_SECONDS: u32 = 15;
/// For this long after a role was created or changed, a vendor that says it
/// cannot assume it is waited for (`Retryable.RoleNotReady`, or a stalled
/// registration registered again) instead of failing the vendor.
pub const ROLE_NOT_READY_WINDOW_SECONDS: u64 = 15 * 60;

impl Config {
    /// How a pending vendor is polled.
    pub fn poll_policy(&self) -> PollPolicy {
        PollPolicy {
            first_wait: self.poll_seconds,
            max_wait: MAX_POLL_WAIT_SECONDS,
            budget: self.poll_budget_seconds,
        }
    }
}

/// Whether an account is in scope, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    In,
    Out(String),
}

impl Config {
    pub fn from_env() -> Result<Config> {
        Config::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads and validates every variable, reporting all problems at once,
    /// each naming its variable and what is allowed.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let mut problems = Vec::new();
        let value = |key: &str| {
            get(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let vendors = match value("VENDORS") {
            None => {
                problems.push(format!(
                    "VENDORS is not set (a comma-separated list of: {})",
                    allowed_vendors()
                ));
                Vec::new()
            }
            Some(raw) => {
                let mut vendors = Vec::new();
                for name in list(&raw) {
                    match name.parse::<VendorName>() {
                        Ok(v) if !vendors.contains(&v) => vendors.push(v),
                        Ok(_) => {}
                        Err(e) => problems.push(format!("VENDORS: {e}")),
                    }
                }
                vendors
            }
        };

        let secret_prefix = value("SECRET_PREFIX").unwrap_or_else(|| "vendorlink/".into());
        if !secret_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
        {
            problems.push(format!(
                "SECRET_PREFIX: `{secret_prefix}` has characters a secret name cannot have (allowed: letters, digits and /_+=.@-)"
            ));
        }

        let member_role_name =
            value("MEMBER_ROLE_NAME").unwrap_or_else(|| "OrganizationAccountAccessRole".into());
        if !is_iam_name(&member_role_name, 64) {
            problems.push(format!(
                "MEMBER_ROLE_NAME: `{member_role_name}` is not an IAM role name (1-64 of letters, digits and _+=,.@-)"
            ));
        }

        let include_ous = parse_list(value("INCLUDE_OUS"), "INCLUDE_OUS", &mut problems);
        let exclude_accounts =
            parse_list(value("EXCLUDE_ACCOUNTS"), "EXCLUDE_ACCOUNTS", &mut problems);

        let ledger_table = value("LEDGER_TABLE").unwrap_or_default();
        if ledger_table.is_empty() {
            problems.push("LEDGER_TABLE is not set (the ledger's DynamoDB table name)".into());
        } else if !(3..=255).contains(&ledger_table.len())
            || !ledger_table
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            problems.push(format!(
                "LEDGER_TABLE: `{ledger_table}` is not a DynamoDB table name (3-255 of letters, digits and _.-)"
            ));
        }

        let tag_prefix = value("TAG_PREFIX").unwrap_or_else(|| "vendorlink:".into());
        // Room is left for the vendor name and a suffix within the 128-character key limit.
        if tag_prefix.len() > 64
            || !tag_prefix
                .chars()
                .all(|c| c.is_alphanumeric() || " _.:/=+-@".contains(c))
            || tag_prefix.to_ascii_lowercase().starts_with("aws:")
        {
            problems.push(format!(
                "TAG_PREFIX: `{tag_prefix}` is not a usable tag key prefix (at most 64 of letters, digits, spaces and _.:/=+-@, not starting with aws:)"
            ));
        }

        let notify_topic_arn = value("NOTIFY_TOPIC_ARN");
        if let Some(arn) = &notify_topic_arn {
            let parts: Vec<_> = arn.splitn(6, ':').collect();
            if parts.len() != 6 || parts[0] != "arn" || parts[2] != "sns" || parts[5].is_empty() {
                problems.push(format!(
                    "NOTIFY_TOPIC_ARN: `{arn}` is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)"
                ));
            }
        }

        let poll_seconds = match value("POLL_SECONDS") {
            None => 30,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if n <= 3600 => n,
                _ => {
                    problems.push(format!(
                        "POLL_SECONDS: `{raw}` is not a number of seconds from 0 to 3600"
                    ));
                    30
                }
            },
        };

        let poll_budget_seconds = match value("POLL_BUDGET_SECONDS") {
            None => DEFAULT_POLL_BUDGET_SECONDS,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if (60..=7 * 86400).contains(&n) => n,
                _ => {
                    problems.push(format!(
                        "POLL_BUDGET_SECONDS: `{raw}` is not a number of seconds from 60 to 604800"
                    ));
                    DEFAULT_POLL_BUDGET_SECONDS
                }
            },
        };

        let role_propagation_seconds = match value("ROLE_PROPAGATION_SECONDS") {
            None => DEFAULT_ROLE_PROPAGATION_SECONDS,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if n <= 600 => n,
                _ => {
                    problems.push(format!(
                        "ROLE_PROPAGATION_SECONDS: `{raw}` is not a number of seconds from 0 to 600"
                    ));
                    DEFAULT_ROLE_PROPAGATION_SECONDS
                }
            },
        };

        let offboard_on_scope_exit = match value("OFFBOARD_ON_SCOPE_EXIT").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                problems.push(format!(
                    "OFFBOARD_ON_SCOPE_EXIT: `{other}` is not true or false"
                ));
                false
            }
        };

        let local_stack = match value("VENDORLINK_LOCAL_STACK").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                problems.push(format!(
                    "VENDORLINK_LOCAL_STACK: `{other}` is not true or false"
                ));
                false
            }
        };

        let mut extra_managed_policies = Vec::new();
        for arn in value("EXTRA_MANAGED_POLICIES")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            if arn.starts_with("arn:aws") && arn.contains(":policy/") {
                extra_managed_policies.push(arn.to_owned());
            } else {
                problems.push(format!(
                    "EXTRA_MANAGED_POLICIES: `{arn}` is not a policy ARN (arn:aws:iam::...:policy/...)"
                ));
            }
        }

        if !problems.is_empty() {
            return Err(
                Error::config(format!("invalid configuration: {}", problems.join("; ")))
                    .in_step(Step::Startup),
            );
        }
        Ok(Config {
            vendors,
            secret_prefix,
            member_role_name,
            include_ous,
            exclude_accounts,
            ledger_table,
            tag_prefix,
            notify_topic_arn,
            poll_seconds,
            poll_budget_seconds,
            role_propagation_seconds,
            offboard_on_scope_exit,
            extra_managed_policies,
            local_stack,
        })
    }

    /// Applies the scope filters to an account, given its parents (nearest
    /// first, as [`crate::org::Organization::ancestors`] returns them).
    /// An account is in an included OU when any of its ancestors is listed.
    pub fn scope(&self, account: &AccountId, ancestors: &[ParentId]) -> Scope {
        if self.exclude_accounts.contains(account) {
            return Scope::Out(format!("account {account} is listed in EXCLUDE_ACCOUNTS"));
        }
        if !self.include_ous.is_empty() && !ancestors.iter().any(|p| self.include_ous.contains(p)) {
            return Scope::Out(format!(
                "account {account} is not under any OU of INCLUDE_OUS ({})",
                self.include_ous
                    .iter()
                    .map(ParentId::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Scope::In
    }
}

fn allowed_vendors() -> String {
    VendorName::ALL.map(VendorName::as_str).join(", ")
}

fn list(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn parse_list<T: std::str::FromStr>(
    raw: Option<String>,
    var: &str,
    problems: &mut Vec<String>,
) -> Vec<T>
where
    T::Err: std::fmt::Display,
{
    let Some(raw) = raw else { return Vec::new() };
    list(&raw)
        .filter_map(|item| match item.parse() {
            Ok(v) => Some(v),
            Err(e) => {
                problems.push(format!("{var}: {e}"));
                None
            }
        })
        .collect()
}

fn is_iam_name(name: &str, max: usize) -> bool {
    (1..=max).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    const MINIMAL: &[(&str, &str)] = &[
        ("VENDORS", "cloudcraft"),
        ("LEDGER_TABLE", "vendorlink-ledger"),
    ];

    #[test]
    fn defaults_apply_when_only_required_variables_are_set() {
        let c = config(MINIMAL).unwrap();
        assert_eq!(c.vendors, [VendorName::Cloudcraft]);
        assert_eq!(c.secret_prefix, "vendorlink/");
        assert_eq!(c.member_role_name, "OrganizationAccountAccessRole");
        assert_eq!(c.tag_prefix, "vendorlink:");
        assert!(c.include_ous.is_empty() && c.exclude_accounts.is_empty());
        assert_eq!(c.notify_topic_arn, None);
        assert_eq!(c.poll_seconds, 30);
        assert!(!c.offboard_on_scope_exit);
    }

    #[test]
    fn offboard_on_scope_exit_is_true_or_false() {
        let mut vars = MINIMAL.to_vec();
        vars.push(("OFFBOARD_ON_SCOPE_EXIT", "true"));
        assert!(config(&vars).unwrap().offboard_on_scope_exit);
        vars.pop();
        vars.push(("OFFBOARD_ON_SCOPE_EXIT", "yes"));
        assert!(config(&vars)
            .unwrap_err()
            .message()
            .contains("OFFBOARD_ON_SCOPE_EXIT: `yes`"));
    }

    #[test]
    fn poll_seconds_must_be_a_bounded_number() {
        let mut vars = MINIMAL.to_vec();
        vars.push(("POLL_SECONDS", "0"));
        assert_eq!(config(&vars).unwrap().poll_seconds, 0);
        vars.pop();
        vars.push(("POLL_SECONDS", "soon"));
        assert!(config(&vars)
            .unwrap_err()
            .message()
            .contains("POLL_SECONDS: `soon`"));
    }

    #[test]
    fn vendors_are_trimmed_and_deduplicated() {
        let c = config(&[
            ("VENDORS", " risken, skyhigh ,risken,"),
            ("LEDGER_TABLE", "t-1"),
        ])
        .unwrap();
        assert_eq!(c.vendors, [VendorName::Risken, VendorName::Skyhigh]);
    }

    #[test]
    fn unknown_vendor_names_the_variable_and_allowed_values() {
        let err = config(&[("VENDORS", "cloudcraft,nope"), ("LEDGER_TABLE", "t-1")]).unwrap_err();
        assert_eq!(err.error_type(), "Fatal.Config");
        let allowed = VendorName::ALL.map(VendorName::as_str).join(", ");
        assert!(
            err.message().contains(&format!(
                "VENDORS: unknown vendor `nope` (allowed: {allowed})"
            )),
            "{err}"
        );
    }

    #[test]
    fn missing_required_variables_are_all_reported() {
        let err = config(&[]).unwrap_err();
        assert!(err.message().contains("VENDORS is not set"), "{err}");
        assert!(err.message().contains("LEDGER_TABLE is not set"), "{err}");
        assert_eq!(err.step(), Some(Step::Startup));
    }

    #[test]
    fn bad_ou_and_account_ids_are_named() {
        let mut vars = MINIMAL.to_vec();
        vars.push(("INCLUDE_OUS", "ou-ab12-cdef3456, ou-bad"));
        vars.push(("EXCLUDE_ACCOUNTS", "123456789012,12345"));
        let err = config(&vars).unwrap_err();
        assert!(
            err.message()
                .contains("INCLUDE_OUS: `ou-bad` is not an organizational unit id"),
            "{err}"
        );
        assert!(
            err.message()
                .contains("EXCLUDE_ACCOUNTS: `12345` is not an AWS account id"),
            "{err}"
        );
    }

    #[test]
    fn bad_topic_arn_role_name_and_tag_prefix_are_rejected() {
        let mut vars = MINIMAL.to_vec();
        vars.push(("NOTIFY_TOPIC_ARN", "arn:aws:sqs:us-east-1:123456789012:q"));
        vars.push(("MEMBER_ROLE_NAME", "bad role"));
        vars.push(("TAG_PREFIX", "aws:x"));
        let err = config(&vars).unwrap_err();
        for var in ["NOTIFY_TOPIC_ARN", "MEMBER_ROLE_NAME", "TAG_PREFIX"] {
            assert!(err.message().contains(var), "{var}: {err}");
        }
    }

    #[test]
    fn scope_excludes_listed_accounts_and_requires_an_included_ancestor() {
        let mut vars = MINIMAL.to_vec();
        vars.push(("INCLUDE_OUS", "ou-ab12-parent00"));
        vars.push(("EXCLUDE_ACCOUNTS", "111111111111"));
        let c = config(&vars).unwrap();
        let parent: ParentId = "ou-ab12-parent00".parse().unwrap();
        let child: ParentId = "ou-ab12-child000".parse().unwrap();
        let root: ParentId = "r-ab12".parse().unwrap();
        let a: AccountId = "222222222222".parse().unwrap();
        assert_eq!(
            c.scope(&a, &[child.clone(), parent, root.clone()]),
            Scope::In
        );
        assert!(matches!(c.scope(&a, &[child, root]), Scope::Out(r) if r.contains("INCLUDE_OUS")));
        let excluded: AccountId = "111111111111".parse().unwrap();
        assert!(matches!(c.scope(&excluded, &[]), Scope::Out(r) if r.contains("EXCLUDE_ACCOUNTS")));
    }
}
