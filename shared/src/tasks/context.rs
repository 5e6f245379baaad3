//! The [`Context`] every task runs in: the configuration, the ports, and a
//! per-process cache of the trust each vendor asked for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::ledger::Ledger;
use crate::member_iam::RoleSpec;
use crate::org::Organization;
use crate::policy::{TrustParameters, TrustPrincipal};
use crate::ports::aws::{AssumedMemberAccounts, HttpVendors, SnsTopic};
use crate::ports::lazy::Lazy;
use crate::ports::{
    LedgerStore, MemberAccounts, Notifier, OrgDirectory, Ports, SecretSource, VendorConnector,
};
use crate::secret_store::SecretStore;
use crate::vendor_name::VendorName;
use crate::vendors::{Vendor, VendorSecret};

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

/// How a task reads a vendor's secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretRead {
    /// As stored.
    AsStored,
    /// With an external ID generated and written back first where the
    /// customer must choose one and the secret has none (onboarding).
    EnsureExternalId,
}

/// The ports every task uses, built once per process.
pub struct Context {
    pub config: Config,
    pub ledger: Arc<dyn LedgerStore>,
    pub org: Arc<dyn OrgDirectory>,
    pub secrets: Arc<dyn SecretSource>,
    pub members: Arc<dyn MemberAccounts>,
    pub notifier: Option<Arc<dyn Notifier>>,
    pub vendors: Arc<dyn VendorConnector>,
    trust_cache: Mutex<HashMap<VendorName, CachedTrust>>,
}

impl Context {
    /// The tasks on AWS: DynamoDB, Organizations, Secrets Manager, STS and
    /// IAM, SNS, and the vendors over HTTP.
    pub fn new(config: Config, sdk: SdkConfig) -> Result<Context> {
        // Each client is built on its port's first call (ports::lazy).
        let (table, prefix, member_role) = (
            config.ledger_table.clone(),
            config.secret_prefix.clone(),
            config.member_role_name.clone(),
        );
        let ports = Ports {
            ledger: Lazy::new({
                let sdk = sdk.clone();
                move || Ledger::new(aws_sdk_dynamodb::Client::new(&sdk), table.clone())
            }),
            org: Lazy::new({
                let sdk = sdk.clone();
                move || Organization::new(aws_sdk_organizations::Client::new(&sdk))
            }),
            secrets: Lazy::new({
                let sdk = sdk.clone();
                move || SecretStore::new(aws_sdk_secretsmanager::Client::new(&sdk), prefix.clone())
            }),
            members: Lazy::new({
                let sdk = sdk.clone();
                move || AssumedMemberAccounts::new(&sdk, &member_role)
            }),
            notifier: config.notify_topic_arn.clone().map(|topic| {
                let sdk = sdk.clone();
                Lazy::new(move || SnsTopic::new(&sdk, &topic)) as Arc<dyn Notifier>
            }),
            vendors: Arc::new(HttpVendors::lazy(config.local_stack)),
        };
        Ok(Context::with_ports(config, ports))
    }

    /// The tasks over any ports (the in-memory fakes in tests).
    pub fn with_ports(config: Config, ports: Ports) -> Context {
        Context {
            config,
            ledger: ports.ledger,
            org: ports.org,
            secrets: ports.secrets,
            members: ports.members,
            notifier: ports.notifier,
            vendors: ports.vendors,
            trust_cache: Mutex::new(HashMap::new()),
        }
    }

    /// Configuration from the environment and the standard AWS SDK setup.
    pub async fn from_env() -> Result<Context> {
        let config = Config::from_env()?;
        let sdk = crate::aws::load_sdk_config().await;
        Context::new(config, sdk)
    }

    /// The vendor's client, and what its role must be: the template (with
    /// the secret's overrides) and the trust the vendor asks for. The secret
    /// is read once.
    /// The name of the vendor's trust role, from its secret (no vendor call).
    pub(crate) async fn role_name(&self, vendor: VendorName) -> Result<String> {
        Ok(self.secrets.load(vendor).await?.role_template().name)
    }

    /// The secret's role template, refused when it names the member role or
    /// a managed policy beyond the allow-list.
    pub(crate) fn checked_template(
        &self,
        vendor: VendorName,
        secret: &VendorSecret,
    ) -> Result<crate::policy::RoleTemplate> {
        let template = secret.role_template();
        if template
            .name
            .eq_ignore_ascii_case(&self.config.member_role_name)
        {
            // Rewriting it would hand the vendor the organization's own way
            // into the account, and take that way away.
            return Err(Error::config(format!(
                "the {vendor} secret's role_name `{}` is MEMBER_ROLE_NAME, the role vendorlink enters \
                 member accounts through: give the vendor's role another name",
                template.name
            ))
            .for_vendor(vendor));
        }
        if let Some(arn) = template.managed_policies.iter().find(|arn| {
            !crate::policy::managed_policy_allowed(arn, &self.config.extra_managed_policies)
        }) {
            return Err(Error::config(format!(
                "the {vendor} secret's managed_policies names {arn}, which is not on the allow-list \
                 ({}): a vendor role never gets more than read access unless the stack parameter \
                 ExtraManagedPolicies lists the policy",
                crate::policy::ALLOWED_MANAGED_POLICIES.join(", ")
            ))
            .for_vendor(vendor));
        }
        Ok(template)
    }

    pub(crate) async fn vendor_and_role(
        &self,
        vendor: VendorName,
        read: SecretRead,
    ) -> Result<(Arc<dyn Vendor>, RoleSpec)> {
        let secret = match read {
            SecretRead::EnsureExternalId => self.secrets.load_with_external_id(vendor).await?,
            SecretRead::AsStored => self.secrets.load(vendor).await?,
        };
        let template = self.checked_template(vendor, &secret)?;
        let cached = self.cached_trust(vendor, &secret);
        let expected = secret.common().expected_principal.clone();
        let client = self.vendors.connect(secret.clone())?;
        let trust = match cached {
            Some(trust) => trust,
            None => {
                let trust = client.trust_parameters().await?;
                self.remember_trust(vendor, secret, &trust);
                trust
            }
        };
        trusted_as_configured(vendor, &trust, expected.as_ref())?;
        Ok((client, RoleSpec::new(vendor, template, trust)))
    }

    /// The vendor's client, from its secret as stored.
    pub(crate) async fn vendor(&self, vendor: VendorName) -> Result<Arc<dyn Vendor>> {
        self.vendors.connect(self.secrets.load(vendor).await?)
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
}

/// Refuses a trust no role may carry: a whole account with no external ID,
/// or a principal other than the one the secret pins (a vendor's API, or
/// whoever answers for it, cannot re-point the role).
fn trusted_as_configured(
    vendor: VendorName,
    trust: &TrustParameters,
    expected: Option<&TrustPrincipal>,
) -> Result<()> {
    trust
        .check_second_factor()
        .map_err(|detail| Error::config(format!("{vendor}: {detail}")).for_vendor(vendor))?;
    match expected {
        Some(expected) if *expected != trust.principal => Err(Error::new(
            ErrorKind::Vendor,
            format!(
                "the {vendor} API names {} as the principal to trust, but the secret's \
                 expected_principal is {expected}: no role was created or changed",
                trust.principal
            ),
        )
        .for_vendor(vendor)),
        _ => Ok(()),
    }
}
