//! The vendors. Each is one folder, `src/vendors/<vendor>/`, holding all that
//! is that vendor's: its [`VendorProfile`] (`PROFILE`: default role, public
//! host, external-ID policy, rate limit), its secret type (`TypedSecret`)
//! and its client (`Client`, an implementation of [`Vendor`]: only the
//! vendor's API). What every client shares lives beside them: the HTTP layer
//! ([`http`]: timeouts, error classification, masking of every credential),
//! the secret's common fields ([`secret`]) and the trait ([`api`]).
//!
//! The registry (`src/registry.rs`) generates, from its one list,
//! [`VendorSecret`], [`connect`] and [`VendorName::profile`].

pub mod api;
pub mod base_url;
pub mod endpoint;
pub mod http;
pub mod profile;
pub mod secret;

use std::sync::Arc;

use crate::error::{Error, Result, ResultExt};
use crate::policy::{RoleTemplate, TrustPrincipal};
use crate::secret::Secret;
use crate::vendor_name::VendorName;

pub use api::{AccountToRegister, Deregistration, Registration, RegistrationStatus, Vendor};
pub use base_url::BaseUrl;
pub use endpoint::{Auth, VendorEndpoint};
pub use http::VendorHttp;
pub use profile::{ExternalIdSource, RateLimit, VendorProfile};
pub use secret::{CommonFields, SecretFields, SecretTrust};

macro_rules! define_vendors {
    ($($variant:ident => $module:ident,)+) => {
        $(pub mod $module;)+

        /// One vendor's secret, parsed and validated.
        #[derive(Debug, Clone, PartialEq)]
        pub enum VendorSecret {
            $($variant($module::TypedSecret),)+
        }

        impl VendorSecret {
            fn parse_typed(vendor: VendorName, secret_name: &str, json: &str) -> Result<VendorSecret> {
                Ok(match vendor {
                    $(VendorName::$variant => {
                        VendorSecret::$variant(secret::parse_typed(secret_name, json)?)
                    })+
                })
            }

            pub fn vendor(&self) -> VendorName {
                match self {
                    $(VendorSecret::$variant(_) => VendorName::$variant,)+
                }
            }

            /// The vendor-independent view of the secret.
            pub fn fields(&self) -> &dyn SecretFields {
                match self {
                    $(VendorSecret::$variant(s) => s,)+
                }
            }
        }

        /// The client for a vendor's secret, at its `base_url` or the
        /// vendor's public host.
        pub fn connect(http: &VendorHttp, secret: VendorSecret) -> Result<Arc<dyn Vendor>> {
            let vendor = secret.vendor();
            let http = match secret.fields().ca_pem() {
                Some(pem) => http.trusting_only(pem).map_err(|e| e.for_vendor(vendor))?,
                None => http.clone(),
            };
            let endpoint = VendorEndpoint::new(
                http.clone(),
                vendor,
                base_url(&http, &secret)?,
                secret.fields().auth(),
                secret.fields().credentials().into_iter().cloned().collect(),
            );
            Ok(match secret {
                $(VendorSecret::$variant(s) => Arc::new($module::Client::new(endpoint, s)),)+
            })
        }

        impl VendorName {
            /// The vendor's static facts, from its folder.
            pub fn profile(self) -> &'static VendorProfile {
                match self {
                    $(VendorName::$variant => &$module::PROFILE,)+
                }
            }
        }
    };
}

vendor_registry!(define_vendors);

impl VendorSecret {
    /// Parses and validates a secret's JSON. Errors name the secret and the
    /// field but never echo a value.
    pub fn parse(vendor: VendorName, secret_name: &str, json: &str) -> Result<VendorSecret> {
        let secret = VendorSecret::parse_typed(vendor, secret_name, json)?;
        secret::validate(vendor.profile(), secret.fields())
            .map_err(|detail| Error::config(format!("secret `{secret_name}`: {detail}")))?;
        Ok(secret)
    }

    pub fn common(&self) -> &CommonFields {
        self.fields().common()
    }

    /// The external ID configured in the secret, if the vendor takes one there.
    pub fn external_id(&self) -> Option<&Secret> {
        self.fields().external_id()
    }

    /// The principal the vendor's role trusts, where the secret names it.
    pub fn principal(&self) -> Option<TrustPrincipal> {
        self.fields().principal()
    }

    /// The vendor's role template with the secret's overrides applied.
    pub fn role_template(&self) -> RoleTemplate {
        secret::role_template(self.vendor().profile(), self.common())
    }
}

impl VendorName {
    /// The role vendorlink creates when the secret does not override it.
    pub fn default_role(self) -> RoleTemplate {
        (self.profile().default_role)()
    }
}

/// The secret's `base_url`, or the vendor's public host. Plain http only
/// where the HTTP client allows it (the local stack).
fn base_url(http: &VendorHttp, secret: &VendorSecret) -> Result<BaseUrl> {
    let vendor = secret.vendor();
    match (&secret.common().base_url, vendor.profile().default_base_url) {
        (Some(url), _) if url.is_plain_http() && !http.allows_loopback_http() => {
            Err(Error::config(format!(
                "{vendor}: the secret's base_url {} is plain http, which only the local stack \
                 uses (VENDORLINK_LOCAL_STACK=true): give the vendor's https URL",
                url.as_str()
            ))
            .for_vendor(vendor))
        }
        (Some(url), _) => Ok(url.clone()),
        (None, Some(public)) => Ok(BaseUrl::from_static(public)),
        (None, None) => Err(Error::config(format!(
            "{vendor}: the secret needs a base_url"
        )))
        .for_vendor(vendor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_names_its_own_vendor_and_a_valid_default_role() {
        for vendor in VendorName::ALL {
            let profile = vendor.profile();
            assert_eq!(profile.name, vendor);
            let role = (profile.default_role)();
            assert!(!role.name.is_empty() && role.name.len() <= 64, "{vendor}");
            assert!(!role.managed_policies.is_empty(), "{vendor}");
            assert!(profile.docs.starts_with("docs/vendors/"), "{vendor}");
            if let Some(url) = profile.default_base_url {
                assert!(BaseUrl::parse(url).is_ok(), "{vendor}: {url}");
            }
        }
    }

    #[test]
    fn datatheorem_and_risken_external_ids_are_the_customers_to_generate() {
        for vendor in [VendorName::Datatheorem, VendorName::Risken] {
            assert!(vendor.profile().writes_back_secret(), "{vendor}");
        }
        for vendor in [VendorName::Skyhigh, VendorName::Cloudcraft] {
            assert_eq!(
                vendor.profile().external_id,
                ExternalIdSource::IssuedByVendor
            );
        }
        assert_eq!(
            VendorName::Stellarcyber.profile().external_id,
            ExternalIdSource::FromSecret
        );
    }

    #[test]
    fn a_plain_http_base_url_is_used_only_on_the_local_stack() {
        let secret = |url: &str| {
            VendorSecret::parse(
                VendorName::Cloudcraft,
                "vendorlink/cloudcraft",
                &serde_json::json!({"api_key": "cc-SECRET-key", "base_url": url}).to_string(),
            )
            .unwrap()
        };
        let deployed = VendorHttp::new().unwrap();
        let err = connect(&deployed, secret("http://127.0.0.1:9999/cloudcraft"))
            .err()
            .unwrap();
        assert_eq!(err.error_type(), "Fatal.Config");
        assert_eq!(err.vendor(), Some(VendorName::Cloudcraft));
        assert!(err.message().contains("VENDORLINK_LOCAL_STACK"), "{err}");
        assert!(connect(&deployed, secret("https://api.cloudcraft.co")).is_ok());
        let local = VendorHttp::new().unwrap().allowing_loopback_http(true);
        assert!(connect(&local, secret("http://127.0.0.1:9999/cloudcraft")).is_ok());
    }

    #[test]
    fn cloudcraft_documents_twenty_requests_a_minute_and_two_per_onboarding() {
        assert_eq!(
            VendorName::Cloudcraft.profile().rate_limit,
            Some(RateLimit {
                requests_per_minute: 20,
                requests_per_onboarding: 2,
                requests_per_backfilled_account: 1,
            })
        );
    }
}
