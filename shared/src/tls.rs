//! One TLS configuration for the whole process. The system's root CAs are
//! read once (the first time a client needs them), from the one consolidated
//! bundle file the distribution maintains when it has one, instead of every
//! file of the certificate directory; the AWS SDK's HTTPS client and the
//! vendors' reqwest client both trust exactly that list (a self-hosted
//! vendor's own CA replaces it for that vendor only: `VendorHttp::trusting_only`).
//!
//! `SSL_CERT_FILE` / `SSL_CERT_DIR`, when set, are honoured as OpenSSL does.

use std::sync::{Arc, LazyLock};

use base64::Engine as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

use crate::error::{Error, Result};

/// The consolidated bundles, by distribution: Debian and Ubuntu
/// (update-ca-certificates), Amazon Linux 2023 and RHEL (update-ca-trust,
/// the Lambda `provided.al2023` runtime), then the BSD/Alpine name.
const BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// The system's root CAs, each one rustls can use as a trust anchor.
static ROOTS: LazyLock<Vec<CertificateDer<'static>>> = LazyLock::new(|| usable(load()));

fn load() -> Vec<CertificateDer<'static>> {
    let from_env =
        std::env::var_os("SSL_CERT_FILE").is_some() || std::env::var_os("SSL_CERT_DIR").is_some();
    if !from_env {
        for path in BUNDLES {
            let certs: Option<Vec<CertificateDer<'static>>> = CertificateDer::pem_file_iter(path)
                .ok()
                .and_then(|certs| certs.collect::<std::result::Result<_, _>>().ok());
            if let Some(certs) = certs.filter(|c: &Vec<_>| !c.is_empty()) {
                return certs;
            }
        }
    }
    let found = rustls_native_certs::load_native_certs();
    if !found.errors.is_empty() {
        tracing::warn!(errors = ?found.errors, "some system root CA certificates could not be read");
    }
    found.certs
}

/// Keeps the certificates rustls accepts as trust anchors (the AWS SDK
/// refuses a trust store holding one it cannot parse).
fn usable(certs: Vec<CertificateDer<'static>>) -> Vec<CertificateDer<'static>> {
    certs
        .into_iter()
        .filter(|cert| RootCertStore::empty().add(cert.clone()).is_ok())
        .collect()
}

/// The system's root CAs.
pub fn system_roots() -> &'static [CertificateDer<'static>] {
    &ROOTS
}

/// The system's root CAs as one PEM bundle, for the AWS SDK's trust store.
pub fn system_roots_pem() -> String {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut pem = String::new();
    for cert in system_roots() {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        let encoded = engine.encode(cert.as_ref());
        for line in encoded.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem
}

/// A rustls client configuration (ring, TLS 1.2 and 1.3) trusting the
/// system's root CAs, or only `only` when given.
pub fn client_config(only: Option<&[CertificateDer<'static>]>) -> Result<rustls::ClientConfig> {
    let mut store = RootCertStore::empty();
    let (added, _) =
        store.add_parsable_certificates(only.unwrap_or(system_roots()).iter().cloned());
    if added == 0 {
        return Err(Error::config(match only {
            Some(_) => "no usable CA certificate in `ca_pem`".to_owned(),
            None => format!(
                "no system root CA certificates (looked in {} and the system's certificate directory; \
                 set SSL_CERT_FILE)",
                BUNDLES.join(", ")
            ),
        }));
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(format!("TLS configuration: {e}")))
        .map(|builder| builder.with_root_certificates(store).with_no_client_auth())
}

/// Parses a PEM bundle of CA certificates (a self-hosted vendor's `ca_pem`).
pub fn parse_pem_bundle(pem: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::config("`ca_pem` is not a valid PEM bundle"))?;
    if certs.is_empty() {
        return Err(Error::config(
            "`ca_pem` holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
        ));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pem_bundle_round_trips_to_the_same_certificates() {
        let pem = system_roots_pem();
        let back = parse_pem_bundle(&pem).unwrap();
        assert_eq!(back.len(), system_roots().len());
        assert!(back.iter().zip(system_roots()).all(|(a, b)| a == b));
    }

    #[test]
    fn the_system_roots_are_found_and_usable() {
        assert!(system_roots().len() > 10, "{}", system_roots().len());
        assert!(client_config(None).is_ok());
    }

    #[test]
    fn a_bad_ca_pem_is_refused_clearly() {
        let e = parse_pem_bundle("not a certificate").unwrap_err();
        assert!(e.to_string().contains("ca_pem"), "{e}");
    }
}
