//! A vendor's root URL, checked: https, or http on a loopback host only.

use serde::{Deserialize, Deserializer};

/// A vendor's root URL: https, or http on a loopback host (the sandboxes).
/// Stored without a trailing slash so documented paths append cleanly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    pub fn parse(raw: &str) -> Result<BaseUrl, String> {
        let url = url::Url::parse(raw).map_err(|e| format!("`{raw}` is not a URL: {e}"))?;
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            other => {
                return Err(format!(
                    "`{raw}` uses {other}: vendor URLs must be https (http only on loopback)"
                ))
            }
        }
        if url.host().is_none() || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "`{raw}` must be a root URL: scheme, host, optional port and path prefix"
            ));
        }
        Ok(BaseUrl(url.as_str().trim_end_matches('/').to_owned()))
    }

    /// A vendor's public host, from a constant in this crate.
    pub(crate) fn from_static(url: &'static str) -> BaseUrl {
        BaseUrl(url.to_owned())
    }

    /// An `http://` URL (loopback only, by construction).
    pub fn is_plain_http(&self) -> bool {
        self.0.starts_with("http://")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The base URL with a documented API path (starting with `/`) appended.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

impl<'de> Deserialize<'de> for BaseUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        BaseUrl::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_must_be_https_except_on_loopback() {
        assert!(BaseUrl::parse("https://www.myshn.net").is_ok());
        assert_eq!(
            BaseUrl::parse("http://127.0.0.1:8080/skyhigh/")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8080/skyhigh"
        );
        assert!(BaseUrl::parse("http://localhost:1").is_ok());
        assert!(BaseUrl::parse("http://[::1]:1").is_ok());
        assert!(BaseUrl::parse("http://example.com")
            .unwrap_err()
            .contains("must be https"));
        assert!(BaseUrl::parse("ftp://127.0.0.1").is_err());
        assert!(BaseUrl::parse("https://x.example/?a=b").is_err());
        assert!(BaseUrl::parse("not a url").is_err());
    }

    #[test]
    fn base_url_join_appends_documented_path() {
        let base = BaseUrl::parse("https://www.myshn.net/").unwrap();
        assert_eq!(
            base.join("/shndlpapi/v1/aws/trustDetails"),
            "https://www.myshn.net/shndlpapi/v1/aws/trustDetails"
        );
    }
}
