//! The steps: one function per state machine task, each taking its typed
//! input and the [`Context`] of clients. The Lambda binaries and the CLI call
//! these; nothing here knows about Lambda or a terminal.
//!
//! Payloads between steps carry ids, names, references and outcomes, never
//! a credential or an external ID.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::{info, instrument, warn};

use crate::config::{Config, Scope};
use crate::error::{Error, ErrorKind, Result, ResultExt, Step};
use crate::events::{decide, AccountRef, Decision};
use crate::ids::AccountId;
use crate::ledger::{Ledger, LedgerEntry, LedgerState, Transition, TransitionOutcome};
use crate::org::Organization;
use crate::secret::{SecretStore, VendorSecret};
use crate::trust_role::{MemberIam, RoleDeletion, RoleSpec};
use crate::vendor::{
    AccountToRegister, Deregistration, RegistrationStatus, TrustParameters, Vendor, VendorName,
};
use crate::vendors::{VendorClient, VendorHttp};

/// A claim not moved for this long belongs to an execution that died.
/// (An execution polls a vendor for at most 60 checks of at most an hour
/// each by configuration; in practice minutes. Two hours leaves room.)
const STALE_CLAIM: Duration = Duration::from_secs(2 * 3600);

/// Accounts reconcile checks at once for one vendor. Serially, a check costs
/// about five AWS calls and one vendor call; 1,000 accounts with five
/// vendors would not fit in the scheduled function's 15 minutes. Cloudcraft's
/// list is read once per run, so this does not spend its rate limit.
const RECONCILE_CONCURRENCY: usize = 8;

/// How long a warm process reuses the trust a vendor asked for. Cloudcraft
/// and Skyhigh answer it from their API, the same for every account; reading
/// it once per onboarding would spend a third of Cloudcraft's 20 requests a
/// minute on an answer that does not change. A changed secret (a new key or
/// external ID) is never served from the cache.
const TRUST_TTL: Duration = Duration::from_secs(300);

/// A vendor's trust, with the secret it was read with.
struct CachedTrust {
    secret: VendorSecret,
    read_at: Instant,
    trust: TrustParameters,
}

/// The clients every step uses, built once per process.
pub struct Context {
    pub config: Config,
    pub sdk: SdkConfig,
    pub sts: aws_sdk_sts::Client,
    pub org: Organization,
    pub secrets: SecretStore,
    pub ledger: Ledger,
    pub sns: aws_sdk_sns::Client,
    pub http: VendorHttp,
    trust_cache: Mutex<HashMap<VendorName, CachedTrust>>,
}

impl Context {
    pub fn new(config: Config, sdk: SdkConfig) -> Result<Context> {
        Ok(Context {
            sts: aws_sdk_sts::Client::new(&sdk),
            org: Organization::new(aws_sdk_organizations::Client::new(&sdk)),
            secrets: SecretStore::new(
                aws_sdk_secretsmanager::Client::new(&sdk),
                config.secret_prefix.clone(),
            ),
            ledger: Ledger::new(
                aws_sdk_dynamodb::Client::new(&sdk),
                config.ledger_table.clone(),
            ),
            sns: aws_sdk_sns::Client::new(&sdk),
            http: VendorHttp::new()?,
            trust_cache: Mutex::new(HashMap::new()),
            config,
            sdk,
        })
    }

    /// Configuration from the environment and the standard AWS SDK setup.
    pub async fn from_env() -> Result<Context> {
        let config = Config::from_env()?;
        let sdk = crate::aws::load_sdk_config().await;
        Context::new(config, sdk)
    }

    /// IAM in the account, through the member access role.
    async fn member(&self, account: &AccountId, vendor: VendorName) -> Result<MemberIam> {
        MemberIam::assume(
            &self.sdk,
            &self.sts,
            account,
            &self.config.member_role_name,
            &format!("vendorlink-{vendor}"),
        )
        .await
    }

    /// The vendor's client, and what its role must be: the template (with
    /// the secret's overrides) and the trust the vendor asks for. The secret
    /// is read once, its external ID generated if it must be.
    async fn vendor_and_role(
        &self,
        vendor: VendorName,
        generate_external_id: bool,
    ) -> Result<(VendorClient, RoleSpec)> {
        let secret = if generate_external_id {
            self.secrets.load_with_external_id(vendor).await?
        } else {
            self.secrets.load(vendor).await?
        };
        let template = secret.role_template();
        let cached = self.cached_trust(vendor, &secret);
        let client = VendorClient::new(self.http.clone(), secret.clone())?;
        let trust = match cached {
            Some(trust) => trust,
            None => {
                let trust = client.trust_parameters().await?;
                self.remember_trust(vendor, secret, &trust);
                trust
            }
        };
        Ok((client, RoleSpec::new(vendor, template, trust)))
    }

    /// The vendor's trust read by this process less than [`TRUST_TTL`] ago
    /// with this very secret.
    fn cached_trust(&self, vendor: VendorName, secret: &VendorSecret) -> Option<TrustParameters> {
        let cache = self.trust_cache.lock().ok()?;
        let entry = cache.get(&vendor)?;
        (entry.secret == *secret && entry.read_at.elapsed() < TRUST_TTL)
            .then(|| entry.trust.clone())
    }

    fn remember_trust(&self, vendor: VendorName, secret: VendorSecret, trust: &TrustParameters) {
        // A poisoned lock only means no caching: the next step asks the vendor.
        if let Ok(mut cache) = self.trust_cache.lock() {
            cache.insert(
                vendor,
                CachedTrust {
                    secret,
                    read_at: Instant::now(),
                    trust: trust.clone(),
                },
            );
        }
    }

    async fn vendor(&self, vendor: VendorName) -> Result<VendorClient> {
        VendorClient::new(self.http.clone(), self.secrets.load(vendor).await?)
    }
}

/// What to do, as the state machine branches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Onboard,
    Offboard,
    Skip,
}

/// The account a run is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub account_id: AccountId,
    #[serde(default)]
    pub account_name: String,
}

/// One vendor's work in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkItem {
    pub action: Action,
    pub account: AccountSummary,
    pub vendor: VendorName,
    /// Offboarding: leave the vendor's trust role in place.
    #[serde(default)]
    pub keep_roles: bool,
}

/// The output of resolve-account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    pub action: Action,
    pub account: Option<AccountSummary>,
    pub trigger: String,
    pub reason: Option<String>,
    pub items: Vec<WorkItem>,
}

/// Where a vendor branch is: go on, wait for the vendor, or done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    #[default]
    Continue,
    Pending,
    Done,
}

/// How a vendor branch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Active,
    RegisteredWithWarnings,
    Failed,
    Skipped,
    ManualStepRequired,
    Offboarded,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Active => "active",
            Outcome::RegisteredWithWarnings => "registered_with_warnings",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::ManualStepRequired => "manual_step_required",
            Outcome::Offboarded => "offboarded",
        }
    }
}

/// A vendor branch's state, passed from task to task inside the `Map`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorItem {
    pub action: Action,
    pub account: AccountSummary,
    pub vendor: VendorName,
    #[serde(default)]
    pub keep_roles: bool,
    #[serde(default)]
    pub execution: String,
    #[serde(default)]
    pub status: ItemStatus,
    #[serde(default)]
    pub outcome: Option<Outcome>,
    #[serde(default)]
    pub role_arn: Option<String>,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Status checks made so far (the state machine bounds them).
    #[serde(default)]
    pub polls: u32,
    /// How long the state machine waits before the next check.
    #[serde(default)]
    pub wait_seconds: u32,
}

impl VendorItem {
    fn done(mut self, outcome: Outcome, detail: Option<String>) -> Self {
        self.status = ItemStatus::Done;
        self.outcome = Some(outcome);
        self.detail = detail;
        self
    }

    fn pending(mut self, reference: String, wait_seconds: u32) -> Self {
        self.status = ItemStatus::Pending;
        self.reference = Some(reference);
        self.wait_seconds = wait_seconds;
        self
    }

    fn registration(&self, role_name_fallback: Option<&str>) -> AccountToRegister {
        let role_arn = self.role_arn.clone().unwrap_or_else(|| {
            format!(
                "arn:aws:iam::{}:role/{}",
                self.account.account_id,
                role_name_fallback.unwrap_or_default()
            )
        });
        AccountToRegister {
            account_id: self.account.account_id.clone(),
            account_name: self.account.account_name.clone(),
            role_arn,
        }
    }
}

/// Moves the ledger; a refusal (another execution holds the item, or it
/// is already past this state) is logged, since the step's own outcome
/// still stands.
async fn advance(
    ctx: &Context,
    account: &AccountId,
    vendor: VendorName,
    transition: Transition,
) -> Result<()> {
    if let TransitionOutcome::Refused { current } =
        ctx.ledger.transition(account, vendor, transition).await?
    {
        warn!(
            state = current
                .as_ref()
                .map(|e| e.state.as_str())
                .unwrap_or("absent"),
            holder = current
                .as_ref()
                .and_then(|e| e.execution.as_deref())
                .unwrap_or("-"),
            "the ledger refused a transition"
        );
    }
    Ok(())
}

/// Runs a vendor step, putting its step, account and vendor on any error.
async fn in_scope<T>(
    item: &VendorItem,
    step: Step,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    work.await
        .in_step(step)
        .for_account(&item.account.account_id)
        .for_vendor(item.vendor)
}

fn now_minus(age: Duration) -> Option<String> {
    let at = SystemTime::now().checked_sub(age)?;
    DateTime::from(at).fmt(DateTimeFormat::DateTime).ok()
}

// ---------------------------------------------------------------- resolve-account

/// Event in; the account, the action and the per-vendor work out.
#[instrument(skip_all, fields(step = "resolve-account"))]
pub async fn resolve_account(ctx: &Context, event: &Value) -> Result<Resolved> {
    resolve(ctx, event).await.in_step(Step::ResolveAccount)
}

async fn resolve(ctx: &Context, event: &Value) -> Result<Resolved> {
    let decision = decide(event)?;
    let moved = matches!(decision, Decision::Moved(_));
    let event_name = event
        .pointer("/detail/eventName")
        .and_then(Value::as_str)
        .unwrap_or("event");
    let skip = |account: Option<AccountSummary>, trigger: &str, reason: String| {
        info!(reason = %reason, "skipping");
        Resolved {
            action: Action::Skip,
            account,
            trigger: trigger.to_owned(),
            reason: Some(reason),
            items: Vec::new(),
        }
    };
    match decision {
        Decision::Skip { account_id, reason } => Ok(skip(
            account_id.map(|account_id| AccountSummary {
                account_id,
                account_name: String::new(),
            }),
            event_name,
            reason,
        )),
        Decision::Onboard(account) | Decision::Moved(account) => {
            let id = account.account_id.clone();
            let info = ctx.org.describe_account(&id).await?;
            let summary = AccountSummary {
                account_id: id.clone(),
                account_name: info.name.clone(),
            };
            if info.status != "ACTIVE" {
                return Ok(skip(
                    Some(summary),
                    &account.trigger,
                    format!("account {id} is {}, not ACTIVE", info.status),
                ));
            }
            let ancestors = ctx.org.ancestors(&id).await?;
            if let Scope::Out(reason) = ctx.config.scope(&id, &ancestors) {
                if !moved {
                    return Ok(skip(Some(summary), &account.trigger, reason));
                }
                // Moved out of scope: offboard, or only report, as configured.
                let onboarded = onboarded_vendors(ctx, &id).await?;
                if onboarded.is_empty() {
                    return Ok(skip(Some(summary), &account.trigger, reason));
                }
                if !ctx.config.offboard_on_scope_exit {
                    let names: Vec<&str> = onboarded.iter().map(|v| v.as_str()).collect();
                    return Ok(skip(
                        Some(summary),
                        &account.trigger,
                        format!(
                            "{reason}; it stays onboarded with {} because OFFBOARD_ON_SCOPE_EXIT is false",
                            names.join(", ")
                        ),
                    ));
                }
                info!(account = %id, vendors = onboarded.len(), "moved out of scope: offboarding");
                return Ok(work(
                    Action::Offboard,
                    summary,
                    &account.trigger,
                    onboarded,
                    false,
                ));
            }
            let vendors = requested_vendors(ctx, &account)?;
            info!(account = %id, vendors = vendors.len(), "onboarding");
            Ok(work(
                Action::Onboard,
                summary,
                &account.trigger,
                vendors,
                false,
            ))
        }
        Decision::Offboard(account) => {
            let id = account.account_id.clone();
            // An account removed from the organization can no longer be
            // described; offboarding goes on with what the ledger knows.
            let name = match ctx.org.describe_account(&id).await {
                Ok(info) => info.name,
                Err(e) if e.kind() == ErrorKind::BadInput => String::new(),
                Err(e) => return Err(e),
            };
            let summary = AccountSummary {
                account_id: id.clone(),
                account_name: name,
            };
            let onboarded = onboarded_vendors(ctx, &id).await?;
            let vendors: Vec<VendorName> = requested_vendors(ctx, &account)?
                .into_iter()
                .filter(|v| onboarded.contains(v))
                .collect();
            if vendors.is_empty() {
                return Ok(skip(
                    Some(summary),
                    &account.trigger,
                    format!("account {id} is not onboarded with any enabled vendor"),
                ));
            }
            info!(account = %id, vendors = vendors.len(), "offboarding");
            Ok(work(
                Action::Offboard,
                summary,
                &account.trigger,
                vendors,
                account.keep_roles,
            ))
        }
    }
}

/// The vendors the ledger has the account with (anything but offboarded).
async fn onboarded_vendors(ctx: &Context, account: &AccountId) -> Result<Vec<VendorName>> {
    Ok(ctx
        .ledger
        .account_entries(account)
        .await?
        .into_iter()
        .filter(|e| e.state != LedgerState::Offboarded && ctx.config.vendors.contains(&e.vendor))
        .map(|e| e.vendor)
        .collect())
}

/// The enabled vendors, narrowed to those a direct request names.
fn requested_vendors(ctx: &Context, account: &AccountRef) -> Result<Vec<VendorName>> {
    let enabled = &ctx.config.vendors;
    match &account.vendors {
        None => Ok(enabled.clone()),
        Some(asked) => {
            for v in asked {
                if !enabled.contains(v) {
                    return Err(Error::bad_input(format!(
                        "vendor {v} is not enabled (VENDORS is {})",
                        enabled
                            .iter()
                            .map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    ))
                    .for_account(&account.account_id));
                }
            }
            Ok(asked.clone())
        }
    }
}

fn work(
    action: Action,
    account: AccountSummary,
    trigger: &str,
    vendors: Vec<VendorName>,
    keep_roles: bool,
) -> Resolved {
    Resolved {
        action,
        items: vendors
            .into_iter()
            .map(|vendor| WorkItem {
                action,
                account: account.clone(),
                vendor,
                keep_roles,
            })
            .collect(),
        account: Some(account),
        trigger: trigger.to_owned(),
        reason: None,
    }
}

// ---------------------------------------------------------------- ensure-trust-role

/// Claims the account for the vendor in the ledger, then creates or repairs
/// the vendor's trust role in it.
#[instrument(skip_all, fields(step = "ensure-trust-role", account = %item.account.account_id, vendor = %item.vendor))]
pub async fn ensure_trust_role(ctx: &Context, item: VendorItem) -> Result<VendorItem> {
    in_scope(&item, Step::EnsureTrustRole, ensure(ctx, item.clone())).await
}

async fn ensure(ctx: &Context, mut item: VendorItem) -> Result<VendorItem> {
    let account = item.account.account_id.clone();
    let vendor = item.vendor;
    let stale = now_minus(STALE_CLAIM);
    match ctx
        .ledger
        .transition(
            &account,
            vendor,
            Transition::claim(&item.execution, stale.as_deref()),
        )
        .await?
    {
        TransitionOutcome::Applied(_) => {}
        // This execution holds it already: a retry of this step goes on.
        TransitionOutcome::Refused {
            current: Some(entry),
        } if entry.execution.as_deref() == Some(item.execution.as_str())
            && entry.state != LedgerState::Active => {}
        TransitionOutcome::Refused { current } => return Ok(already(item, current)),
    }
    let (_, spec) = ctx.vendor_and_role(vendor, true).await?;
    let member = ctx.member(&account, vendor).await?;
    let ensured = member.ensure_role(&spec).await?;
    info!(role = %ensured.arn, repaired = ensured.repaired.len(), "trust role ready");
    advance(ctx, &account, vendor, Transition::role_ready(&ensured.arn)).await?;
    item.role_arn = Some(ensured.arn);
    item.status = ItemStatus::Continue;
    Ok(item)
}

/// The claim was refused: the account is already onboarded, or another
/// execution is onboarding it right now. Either way this run does nothing.
fn already(item: VendorItem, current: Option<LedgerEntry>) -> VendorItem {
    match current {
        Some(entry) if entry.state == LedgerState::Active => {
            let mut item = item;
            item.role_arn = entry.role_arn;
            item.reference = entry.vendor_ref;
            item.done(Outcome::Active, Some("already active (ledger)".into()))
        }
        Some(entry) => {
            let holder = entry
                .execution
                .unwrap_or_else(|| "another execution".into());
            item.done(
                Outcome::Skipped,
                Some(format!(
                    "execution {holder} is onboarding this account ({})",
                    entry.state
                )),
            )
        }
        None => item.done(
            Outcome::Skipped,
            Some("the ledger refused the claim".into()),
        ),
    }
}

// ---------------------------------------------------------------- register-account

/// Registers the account with the vendor (the vendor client looks it up first).
#[instrument(skip_all, fields(step = "register-account", account = %item.account.account_id, vendor = %item.vendor))]
pub async fn register_account(ctx: &Context, item: VendorItem) -> Result<VendorItem> {
    in_scope(&item, Step::RegisterAccount, register(ctx, item.clone())).await
}

async fn register(ctx: &Context, item: VendorItem) -> Result<VendorItem> {
    let account = item.account.account_id.clone();
    let vendor = item.vendor;
    if item.role_arn.is_none() {
        return Err(Error::bad_input(
            "register-account needs the role_arn from ensure-trust-role",
        ));
    }
    let client = ctx.vendor(vendor).await?;
    let registration = client.register(&item.registration(None)).await?;
    advance(
        ctx,
        &account,
        vendor,
        Transition::registered(&registration.reference),
    )
    .await?;
    info!(reference = %registration.reference, status = ?registration.status, "registered");
    settle(ctx, item, registration.reference, registration.status).await
}

/// Records what a vendor said of a registration and decides the next move.
async fn settle(
    ctx: &Context,
    mut item: VendorItem,
    reference: String,
    status: RegistrationStatus,
) -> Result<VendorItem> {
    let (account, vendor) = (item.account.account_id.clone(), item.vendor);
    match status {
        RegistrationStatus::Pending => Ok(item.pending(reference, ctx.config.poll_seconds)),
        RegistrationStatus::Active => {
            advance(ctx, &account, vendor, Transition::active()).await?;
            item.reference = Some(reference);
            Ok(item.done(Outcome::Active, None))
        }
        RegistrationStatus::ActiveWithWarnings { warnings } => {
            advance(ctx, &account, vendor, Transition::active()).await?;
            item.reference = Some(reference);
            item.warnings = warnings;
            Ok(item.done(Outcome::RegisteredWithWarnings, None))
        }
        RegistrationStatus::Failed { reason } => Err(Error::new(
            ErrorKind::Vendor,
            format!("{vendor} reported the registration failed: {reason}"),
        )),
    }
}

// ---------------------------------------------------------------- check-status

/// One status check of a pending registration (or, offboarding, of a
/// pending removal).
#[instrument(skip_all, fields(step = "check-status", account = %item.account.account_id, vendor = %item.vendor))]
pub async fn check_status(ctx: &Context, item: VendorItem) -> Result<VendorItem> {
    in_scope(&item, Step::CheckStatus, check(ctx, item.clone())).await
}

async fn check(ctx: &Context, mut item: VendorItem) -> Result<VendorItem> {
    let vendor = item.vendor;
    let Some(reference) = item.reference.clone() else {
        return Err(Error::bad_input("check-status needs the vendor reference"));
    };
    let client = ctx.vendor(vendor).await?;
    let status = client.status(&item.registration(None), &reference).await?;
    item.polls += 1;
    if item.action == Action::Offboard {
        return match status {
            RegistrationStatus::Pending => Ok(item.pending(reference, ctx.config.poll_seconds)),
            RegistrationStatus::Failed { reason } => Err(Error::new(
                ErrorKind::Vendor,
                format!("{vendor} reported the removal failed: {reason}"),
            )),
            _ => {
                advance(
                    ctx,
                    &item.account.account_id,
                    vendor,
                    Transition::offboarded().by(&item.execution),
                )
                .await?;
                Ok(item.done(Outcome::Offboarded, None))
            }
        };
    }
    if status == RegistrationStatus::Pending {
        // Still the holder: keep the claim fresh so a long wait never looks
        // like a dead execution to a duplicate one.
        advance(
            ctx,
            &item.account.account_id,
            vendor,
            Transition::registered(&reference),
        )
        .await?;
    }
    settle(ctx, item, reference, status).await
}

// ---------------------------------------------------------------- deregister-account

/// Removes the account from the vendor and deletes the vendor's trust role
/// where the account is still reachable.
#[instrument(skip_all, fields(step = "deregister-account", account = %item.account.account_id, vendor = %item.vendor))]
pub async fn deregister_account(ctx: &Context, item: VendorItem) -> Result<VendorItem> {
    in_scope(
        &item,
        Step::DeregisterAccount,
        deregister(ctx, item.clone()),
    )
    .await
}

async fn deregister(ctx: &Context, mut item: VendorItem) -> Result<VendorItem> {
    let account = item.account.account_id.clone();
    let vendor = item.vendor;
    let entry = ctx.ledger.get(&account, vendor).await?;
    let secret = ctx.secrets.load(vendor).await?;
    let role_name = secret.role_template().name;
    if item.role_arn.is_none() {
        item.role_arn = entry.as_ref().and_then(|e| e.role_arn.clone());
    }
    let client = VendorClient::new(ctx.http.clone(), secret)?;
    let outcome = client
        .deregister(&item.registration(Some(&role_name)))
        .await?;

    // The role goes whatever the vendor said (unless asked to keep it); a
    // closed account can no longer be entered, which is reported, not an error.
    let role_note = if item.keep_roles {
        Some(format!("role {role_name} kept, as asked"))
    } else {
        delete_role(ctx, &account, vendor, &role_name).await?
    };
    if let Some(note) = &role_note {
        warn!(note = %note, "role");
    }

    match outcome {
        Deregistration::Pending { reference } => {
            Ok(item.pending(reference, ctx.config.poll_seconds))
        }
        Deregistration::ManualStepRequired { instruction } => {
            advance(
                ctx,
                &account,
                vendor,
                Transition::offboarded_with_note(&format!("manual step required: {instruction}"))
                    .by(&item.execution),
            )
            .await?;
            Ok(item.done(Outcome::ManualStepRequired, Some(instruction)))
        }
        Deregistration::Removed | Deregistration::NotFound => {
            advance(
                ctx,
                &account,
                vendor,
                Transition::offboarded().by(&item.execution),
            )
            .await?;
            Ok(item.done(Outcome::Offboarded, role_note))
        }
    }
}

/// Deletes the vendor's role in the account; a note when there was nothing
/// to delete or the account cannot be entered any more.
async fn delete_role(
    ctx: &Context,
    account: &AccountId,
    vendor: VendorName,
    role_name: &str,
) -> Result<Option<String>> {
    match ctx.member(account, vendor).await {
        Ok(member) => Ok(match member.delete_role(vendor, role_name).await? {
            RoleDeletion::Deleted => None,
            RoleDeletion::Absent => Some(format!("role {role_name} was already gone")),
            RoleDeletion::NotManaged => Some(format!(
                "role {role_name} was not created by vendorlink: left in place"
            )),
        }),
        Err(e) if e.kind() == ErrorKind::RoleNotReady => Ok(Some(format!(
            "role {role_name} not deleted: the account can no longer be entered"
        ))),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- record-outcome

/// The input of record-outcome: the resolved run with each vendor's result.
#[derive(Debug, Clone, Deserialize)]
pub struct RunResults {
    pub action: Action,
    pub account: Option<AccountSummary>,
    #[serde(default)]
    pub trigger: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub results: Vec<VendorItem>,
}

/// One vendor's line in the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorSummary {
    pub vendor: VendorName,
    pub outcome: Outcome,
    pub role_arn: Option<String>,
    pub reference: Option<String>,
    pub detail: Option<String>,
    pub error: Option<String>,
    pub warnings: Vec<String>,
}

/// The execution's output: one summary of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub account_id: Option<AccountId>,
    pub account_name: Option<String>,
    pub action: Action,
    pub trigger: String,
    pub reason: Option<String>,
    pub vendors: Vec<VendorSummary>,
    /// How many vendors failed; the execution fails when this is not zero.
    pub failed: usize,
}

/// The output of record-outcome: the summary (the execution's output), how
/// many vendors failed (the state machine's last choice), and the summary as
/// JSON text (the failure's cause when one failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    pub summary: Summary,
    pub failed: usize,
    pub cause: String,
}

impl From<Summary> for Recorded {
    fn from(summary: Summary) -> Self {
        Recorded {
            failed: summary.failed,
            cause: serde_json::to_string(&summary).unwrap_or_default(),
            summary,
        }
    }
}

/// Mirrors the outcome into the ledger (failures) and the account's tags,
/// and publishes the summary on SNS.
#[instrument(skip_all, fields(step = "record-outcome"))]
pub async fn record_outcome(ctx: &Context, run: RunResults) -> Result<Summary> {
    let account = run.account.as_ref().map(|a| a.account_id.clone());
    let result = record(ctx, run).await.in_step(Step::RecordOutcome);
    match &account {
        Some(a) => result.for_account(a),
        None => result,
    }
}

async fn record(ctx: &Context, run: RunResults) -> Result<Summary> {
    let vendors: Vec<VendorSummary> = run
        .results
        .iter()
        .map(|item| VendorSummary {
            vendor: item.vendor,
            outcome: item.outcome.unwrap_or(Outcome::Failed),
            role_arn: item.role_arn.clone(),
            reference: item.reference.clone(),
            detail: item.detail.as_deref().map(cause_text),
            error: item.error.clone(),
            warnings: item.warnings.clone(),
        })
        .collect();
    let summary = Summary {
        account_id: run.account.as_ref().map(|a| a.account_id.clone()),
        account_name: run.account.as_ref().map(|a| a.account_name.clone()),
        action: run.action,
        trigger: run.trigger.clone(),
        reason: run.reason.clone(),
        failed: vendors
            .iter()
            .filter(|v| v.outcome == Outcome::Failed)
            .count(),
        vendors,
    };
    let Some(account) = summary.account_id.clone() else {
        return Ok(summary);
    };
    if run.action == Action::Skip {
        return Ok(summary);
    }

    for (item, v) in run.results.iter().zip(&summary.vendors) {
        if v.outcome != Outcome::Failed {
            continue;
        }
        let text = format!(
            "{}: {}",
            v.error.as_deref().unwrap_or("failed"),
            v.detail.as_deref().unwrap_or("no detail")
        );
        if summary.action == Action::Offboard {
            // The state stays (the vendor may still list the account); the
            // error shows in `status`, and reconcile leaves the item alone.
            ctx.ledger
                .offboarding_failed(&account, v.vendor, &text)
                .await
                .in_step(Step::RecordOutcome)?;
            continue;
        }
        advance(
            ctx,
            &account,
            v.vendor,
            Transition::failed(&text, &item.execution),
        )
        .await?;
    }

    let tags: BTreeMap<String, String> = summary
        .vendors
        .iter()
        .map(|v| {
            (
                format!("{}{}", ctx.config.tag_prefix, v.vendor),
                v.outcome.as_str().to_owned(),
            )
        })
        .collect();
    // Tags are a mirror for people; an account that has left the
    // organization cannot be tagged, which does not change the outcome.
    if let Err(e) = ctx.org.tag_account(&account, &tags).await {
        warn!(error = %e, "could not mirror the outcome into account tags");
    }

    if let Some(topic) = &ctx.config.notify_topic_arn {
        let verb = match summary.action {
            Action::Offboard => "offboarding",
            _ => "onboarding",
        };
        let verdict = if summary.failed == 0 {
            "succeeded"
        } else {
            "FAILED"
        };
        let subject = format!("vendorlink: {verb} of {account} {verdict}");
        let message = format!(
            "{}\n\n{}",
            summary_text(&summary),
            serde_json::to_string_pretty(&summary).unwrap_or_default()
        );
        ctx.sns
            .publish()
            .topic_arn(topic)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map_err(|e| crate::aws::aws_error("publishing the summary", e))?;
    }
    info!(account = %account, failed = summary.failed, "outcome recorded");
    Ok(summary)
}

/// A Step Functions `Cause` from a Lambda error is a JSON document with the
/// error message; keep just the message.
fn cause_text(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|v| {
            v.get("errorMessage")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| cause.to_owned())
}

/// The summary as lines a person reads in an email.
pub fn summary_text(summary: &Summary) -> String {
    let mut out = format!(
        "Account {} ({}): {:?} via {}",
        summary
            .account_id
            .as_ref()
            .map(|a| a.as_str())
            .unwrap_or("-"),
        summary.account_name.as_deref().unwrap_or(""),
        summary.action,
        summary.trigger
    );
    if let Some(reason) = &summary.reason {
        out.push_str(&format!("\nSkipped: {reason}"));
    }
    for v in &summary.vendors {
        out.push_str(&format!("\n- {}: {}", v.vendor, v.outcome.as_str()));
        if let Some(e) = &v.error {
            out.push_str(&format!(" [{e}]"));
        }
        if let Some(d) = &v.detail {
            out.push_str(&format!(" {d}"));
        }
        for w in &v.warnings {
            out.push_str(&format!("\n    warning: {w}"));
        }
    }
    out
}

// ---------------------------------------------------------------- reconcile

/// What reconcile found for one onboarded account and vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftReport {
    pub account_id: AccountId,
    pub vendor: VendorName,
    /// How the trust role differs from its spec (empty: as it should be).
    pub role: Vec<crate::trust_role::Drift>,
    /// Whether the vendor still lists the account; `None` when the vendor
    /// has no API to look it up.
    pub registered: Option<bool>,
    /// Whether `--repair` fixed what was found.
    pub repaired: bool,
    /// Why the check itself could not be made.
    pub error: Option<String>,
    /// Why `--repair` could not fix what the check found.
    #[serde(default)]
    pub repair_error: Option<String>,
}

impl DriftReport {
    fn unchecked(entry: &LedgerEntry) -> Self {
        DriftReport {
            account_id: entry.account.clone(),
            vendor: entry.vendor,
            role: Vec::new(),
            registered: None,
            repaired: false,
            error: None,
            repair_error: None,
        }
    }

    pub fn drifted(&self) -> bool {
        !self.role.is_empty() || self.registered == Some(false) || self.error.is_some()
    }
}

/// Checks one onboarded account and vendor against the truth: the role
/// against its spec, the vendor's own list against the ledger. With
/// `repair`, re-ensures the role and registers again what the vendor lost.
/// A check that cannot be made is reported, not raised, so one broken
/// account never hides the others.
#[instrument(skip_all, fields(step = "reconcile", account = %entry.account, vendor = %entry.vendor))]
async fn reconcile(
    ctx: &Context,
    entry: &LedgerEntry,
    client: &VendorClient,
    spec: &RoleSpec,
    repair: bool,
) -> DriftReport {
    let mut report = DriftReport::unchecked(entry);
    if entry.offboarding_failed() {
        // The vendor may already have dropped the account: "repairing" it
        // would undo the offboarding. It needs the offboarding finished.
        report.error = Some(format!(
            "an offboarding of this account did not finish: run `vendorlink offboard --account {} --vendor {}` again ({})",
            entry.account,
            entry.vendor,
            entry.last_error.as_deref().unwrap_or_default()
        ));
        return report;
    }
    let checked = match check_drift(ctx, entry, client, spec, &mut report).await {
        Ok(checked) => checked,
        Err(e) => {
            warn!(error = %e, "reconcile could not check");
            report.error = Some(e.to_string());
            return report;
        }
    };
    if repair && report.drifted() {
        match repair_drift(ctx, entry, client, spec, checked, &report).await {
            Ok(()) => report.repaired = true,
            Err(e) => {
                warn!(error = %e, "reconcile could not repair");
                report.repair_error = Some(e.to_string());
            }
        }
    }
    report
}

/// Fills the report's role drift and registration; returns what a repair
/// needs: the way into the account and the registration as it stands.
async fn check_drift(
    ctx: &Context,
    entry: &LedgerEntry,
    client: &VendorClient,
    spec: &RoleSpec,
    report: &mut DriftReport,
) -> Result<(MemberIam, AccountToRegister)> {
    let (account, vendor) = (&entry.account, entry.vendor);
    let member = ctx.member(account, vendor).await?;
    let state = member.inspect_role(spec).await?;
    let name = match ctx.org.describe_account(account).await {
        Ok(info) => info.name,
        Err(_) => String::new(),
    };
    let registration = AccountToRegister {
        account_id: account.clone(),
        account_name: name,
        role_arn: state
            .arn
            .clone()
            .or_else(|| entry.role_arn.clone())
            .unwrap_or_else(|| format!("arn:aws:iam::{account}:role/{}", spec.name)),
    };
    report.role = state.drift;
    report.registered = client.is_registered(&registration).await?;
    Ok((member, registration))
}

async fn repair_drift(
    ctx: &Context,
    entry: &LedgerEntry,
    client: &VendorClient,
    spec: &RoleSpec,
    (member, mut registration): (MemberIam, AccountToRegister),
    report: &DriftReport,
) -> Result<()> {
    let (account, vendor) = (&entry.account, entry.vendor);
    if !report.role.is_empty() {
        registration.role_arn = member.ensure_role(spec).await?.arn;
        advance(
            ctx,
            account,
            vendor,
            Transition::active().with_role(&registration.role_arn),
        )
        .await?;
    }
    if report.registered == Some(false) {
        let again = client.register(&registration).await?;
        info!(reference = %again.reference, "registered again");
        advance(
            ctx,
            account,
            vendor,
            Transition::active().with_reference(&again.reference),
        )
        .await?;
    }
    Ok(())
}

/// Reconciles every `active` ledger item of the enabled vendors (of one
/// account, or all), and with `notify` publishes what drifted on SNS (the
/// scheduled reconcile).
#[instrument(skip_all, fields(step = "reconcile"))]
pub async fn reconcile_all(
    ctx: &Context,
    account: Option<&AccountId>,
    repair: bool,
    notify: bool,
) -> Result<Vec<DriftReport>> {
    let mut entries = match account {
        Some(a) => ctx.ledger.account_entries(a).await?,
        None => ctx.ledger.all_entries().await?,
    };
    entries.retain(|e| e.state == LedgerState::Active && ctx.config.vendors.contains(&e.vendor));
    // The role spec and the vendor's client depend on the vendor only (the
    // trust may come from the vendor's API): one of each per vendor.
    let mut reports = Vec::new();
    for vendor in ctx.config.vendors.iter().copied() {
        let mine: Vec<&LedgerEntry> = entries.iter().filter(|e| e.vendor == vendor).collect();
        if mine.is_empty() {
            continue;
        }
        match ctx.vendor_and_role(vendor, false).await {
            Ok((client, spec)) => {
                // The futures are made first: a stream holding a closure over
                // borrowed entries does not prove `Send` to the Lambda runtime.
                let checks: Vec<_> = mine
                    .into_iter()
                    .map(|entry| reconcile(ctx, entry, &client, &spec, repair))
                    .collect();
                let checks = stream::iter(checks)
                    .buffer_unordered(RECONCILE_CONCURRENCY)
                    .collect::<Vec<_>>()
                    .await;
                reports.extend(checks);
            }
            Err(e) => {
                warn!(vendor = %vendor, error = %e, "reconcile could not read the vendor's trust");
                for entry in mine {
                    let mut report = DriftReport::unchecked(entry);
                    report.error = Some(e.to_string());
                    reports.push(report);
                }
            }
        }
    }
    reports.sort_by(|a, b| (&a.account_id, a.vendor).cmp(&(&b.account_id, b.vendor)));
    let drifted: Vec<&DriftReport> = reports.iter().filter(|r| r.drifted()).collect();
    info!(
        checked = reports.len(),
        drifted = drifted.len(),
        "reconciled"
    );
    if let (true, false, Some(topic)) = (notify, drifted.is_empty(), &ctx.config.notify_topic_arn) {
        let lines: Vec<String> = drifted
            .iter()
            .map(|r| {
                format!(
                    "- {} {}: role {:?}, vendor lists it: {}{}",
                    r.account_id,
                    r.vendor,
                    r.role,
                    r.registered.map_or("unknown".into(), |b| b.to_string()),
                    if r.repaired { " (repaired)" } else { "" }
                )
            })
            .collect();
        ctx.sns
            .publish()
            .topic_arn(topic)
            .subject(format!(
                "vendorlink: drift in {} of {} registrations",
                drifted.len(),
                reports.len()
            ))
            .message(lines.join("\n"))
            .send()
            .await
            .map_err(|e| crate::aws::aws_error("publishing the drift report", e))?;
    }
    Ok(reports)
}
