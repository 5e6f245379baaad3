//! The vendor clients: one module per vendor implementing [`Vendor`], and
//! [`VendorClient`], which picks the right one for a vendor's secret.

pub mod cloudcraft;
pub mod datatheorem;
pub mod http;
pub mod risken;
pub mod skyhigh;
pub mod stellarcyber;

use crate::error::{Error, Result};
use crate::secret::{BaseUrl, VendorSecret};
use crate::vendor::{
    AccountToRegister, Deregistration, Registration, RegistrationStatus, TrustParameters, Vendor,
    VendorName,
};

pub use http::VendorHttp;

/// Any vendor's client.
pub enum VendorClient {
    Datatheorem(datatheorem::DataTheorem),
    Skyhigh(skyhigh::Skyhigh),
    Cloudcraft(cloudcraft::Cloudcraft),
    Risken(risken::Risken),
    Stellarcyber(stellarcyber::StellarCyber),
}

impl VendorClient {
    /// The client for a vendor's secret, at its `base_url` or the vendor's
    /// public host.
    pub fn new(http: VendorHttp, secret: VendorSecret) -> Result<VendorClient> {
        let vendor = secret.vendor();
        let base = |default: Option<&'static str>| -> Result<BaseUrl> {
            match (&secret.common().base_url, default) {
                (Some(url), _) => Ok(url.clone()),
                (None, Some(public)) => Ok(BaseUrl::from_static(public)),
                (None, None) => Err(Error::config(format!(
                    "{vendor}: the secret needs a base_url"
                ))
                .for_vendor(vendor)),
            }
        };
        Ok(match secret.clone() {
            VendorSecret::Datatheorem(s) => VendorClient::Datatheorem(
                datatheorem::DataTheorem::new(http, base(Some(datatheorem::DEFAULT_BASE_URL))?, s),
            ),
            VendorSecret::Skyhigh(s) => VendorClient::Skyhigh(skyhigh::Skyhigh::new(
                http,
                base(Some(skyhigh::DEFAULT_BASE_URL))?,
                s,
            )),
            VendorSecret::Cloudcraft(s) => VendorClient::Cloudcraft(cloudcraft::Cloudcraft::new(
                http,
                base(Some(cloudcraft::DEFAULT_BASE_URL))?,
                s,
            )),
            VendorSecret::Risken(s) => {
                VendorClient::Risken(risken::Risken::new(http, base(None)?, s))
            }
            VendorSecret::Stellarcyber(s) => {
                VendorClient::Stellarcyber(stellarcyber::StellarCyber::new(http, base(None)?, s))
            }
        })
    }
}

macro_rules! each_vendor {
    ($self:ident, $client:ident => $body:expr) => {
        match $self {
            VendorClient::Datatheorem($client) => $body,
            VendorClient::Skyhigh($client) => $body,
            VendorClient::Cloudcraft($client) => $body,
            VendorClient::Risken($client) => $body,
            VendorClient::Stellarcyber($client) => $body,
        }
    };
}

impl Vendor for VendorClient {
    fn name(&self) -> VendorName {
        each_vendor!(self, c => c.name())
    }

    async fn trust_parameters(&self) -> Result<TrustParameters> {
        each_vendor!(self, c => c.trust_parameters().await)
    }

    async fn register(&self, account: &AccountToRegister) -> Result<Registration> {
        each_vendor!(self, c => c.register(account).await)
    }

    async fn status(
        &self,
        account: &AccountToRegister,
        reference: &str,
    ) -> Result<RegistrationStatus> {
        each_vendor!(self, c => c.status(account, reference).await)
    }

    async fn deregister(&self, account: &AccountToRegister) -> Result<Deregistration> {
        each_vendor!(self, c => c.deregister(account).await)
    }

    async fn is_registered(&self, account: &AccountToRegister) -> Result<Option<bool>> {
        each_vendor!(self, c => c.is_registered(account).await)
    }
}
