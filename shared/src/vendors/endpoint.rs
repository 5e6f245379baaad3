//! One vendor's API as its client sees it: where it is, how requests are
//! authenticated, and which credentials every call masks. The registry
//! builds one from each secret, so a client is only its API.

use reqwest::{Method, RequestBuilder};

use crate::secret::Secret;
use crate::vendor_name::VendorName;

use super::base_url::BaseUrl;
use super::http::{VendorCall, VendorHttp};

/// How a vendor's API authenticates a request, from its secret.
#[derive(Clone)]
pub enum Auth {
    /// `Authorization: <scheme> <credential>` (`Bearer`, `APIKey`, ...).
    Header {
        scheme: &'static str,
        credential: Secret,
    },
    /// HTTP Basic `user:password`.
    Basic { user: String, password: Secret },
}

/// The shared HTTP client, the vendor's root URL, its authentication, and
/// every credential of its secret, which each call masks in whatever the
/// vendor answers (errors, and any text a client keeps).
#[derive(Clone)]
pub struct VendorEndpoint {
    pub http: VendorHttp,
    pub base: BaseUrl,
    vendor: VendorName,
    auth: Auth,
    credentials: Vec<Secret>,
}

impl VendorEndpoint {
    pub fn new(
        http: VendorHttp,
        vendor: VendorName,
        base: BaseUrl,
        auth: Auth,
        credentials: Vec<Secret>,
    ) -> Self {
        VendorEndpoint {
            http,
            base,
            vendor,
            auth,
            credentials,
        }
    }

    pub fn vendor(&self) -> VendorName {
        self.vendor
    }

    /// A request to a documented path (starting with `/`) of the vendor's API.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, &self.base.join(path))
    }

    /// An authenticated request to a documented path of the vendor's API.
    pub fn authed(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.request(method, path);
        match &self.auth {
            Auth::Header { scheme, credential } => request.header(
                reqwest::header::AUTHORIZATION,
                format!("{scheme} {}", credential.expose()),
            ),
            Auth::Basic { user, password } => request.basic_auth(user, Some(password.expose())),
        }
    }

    /// A call that masks every credential of the secret.
    pub fn call<'a>(&'a self, doing: &'a str) -> VendorCall<'a> {
        self.call_with(doing, &[])
    }

    /// A call that also masks values the vendor issued (a session token).
    pub fn call_with<'a>(&'a self, doing: &'a str, issued: &[&'a Secret]) -> VendorCall<'a> {
        let mut secrets: Vec<&Secret> = self.credentials.iter().collect();
        secrets.extend_from_slice(issued);
        VendorCall::new(self.vendor, doing, &secrets)
    }
}
