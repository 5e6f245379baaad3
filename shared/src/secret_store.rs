//! Reading vendor secrets from Secrets Manager, including the write-back of
//! a generated external ID. The [`SecretSource`](crate::ports::SecretSource)
//! port's AWS implementation.

use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_sdk_secretsmanager::Client as SecretsManagerClient;
use serde_json::Value;

use crate::aws::{aws_error, error_code};
use crate::error::{Error, ErrorKind, Result, ResultExt};
use crate::secret::Secret;
use crate::vendor_name::VendorName;
use crate::vendors::{ExternalIdSource, VendorSecret};

/// Reads vendor secrets from Secrets Manager, named `<prefix><vendor>`.
#[derive(Clone)]
pub struct SecretStore {
    client: SecretsManagerClient,
    prefix: String,
}

impl SecretStore {
    pub fn new(client: SecretsManagerClient, prefix: impl Into<String>) -> Self {
        SecretStore {
            client,
            prefix: prefix.into(),
        }
    }

    pub fn secret_name(&self, vendor: VendorName) -> String {
        format!("{}{vendor}", self.prefix)
    }

    /// The vendor's secret as stored.
    pub async fn load(&self, vendor: VendorName) -> Result<VendorSecret> {
        let name = self.secret_name(vendor);
        let (_, json) = self.read(&name, None).await.for_vendor(vendor)?;
        VendorSecret::parse(vendor, &name, json.expose()).for_vendor(vendor)
    }

    /// The vendor's secret, with an external ID guaranteed where the customer
    /// must generate one (Data Theorem, RISKEN).
    ///
    /// When the ID is missing, a new one is written back as a new secret
    /// version: the version read with `external_id` added. Its
    /// `ClientRequestToken` is derived from the version it builds on.
    /// Secrets Manager versions are immutable, so concurrent first runs that
    /// read the same version compete for the same token: exactly one value
    /// is stored under it, and every writer then reads that version back and
    /// uses what it holds.
    ///
    /// Rotation-safe: a version written since the read (a rotated API key)
    /// is never overwritten with the old content. Before writing, the
    /// current version must still be the one read; after writing, the
    /// version the write replaced must be it. Otherwise the write-back is
    /// built again on the newer version, keeping the same external ID.
    pub async fn load_with_external_id(&self, vendor: VendorName) -> Result<VendorSecret> {
        let name = self.secret_name(vendor);
        let (mut base, mut json) = self.read(&name, None).await.for_vendor(vendor)?;
        let mut external_id: Option<Secret> = None;
        // The version this call wrote last, when it built on a stale one.
        let mut ours: Option<String> = None;
        for _ in 0..WRITE_BACK_ATTEMPTS {
            let secret = VendorSecret::parse(vendor, &name, json.expose()).for_vendor(vendor)?;
            if vendor.profile().external_id != ExternalIdSource::CustomerGenerated
                || secret.external_id().is_some()
            {
                return Ok(secret);
            }
            let id = match &external_id {
                Some(id) => id.clone(),
                None => Secret::generate_external_id()?,
            };
            external_id = Some(id.clone());
            let new_json = with_external_id(&name, &json, &id).for_vendor(vendor)?;
            let (current, _) = self.stages(&name).await.for_vendor(vendor)?;
            if current != Some(base.clone()) && current != ours {
                // Written since the read: build on what is there now.
                (base, json) = self.read(&name, None).await.for_vendor(vendor)?;
                continue;
            }
            let token = write_back_token(&base);
            match self
                .client
                .put_secret_value()
                .secret_id(&name)
                .secret_string(new_json.expose())
                .client_request_token(&token)
                .send()
                .await
            {
                Ok(_) => {}
                // Another writer won the race for this token: its value stands.
                Err(e) if error_code(&e) == Some("ResourceExistsException") => {}
                Err(e) => {
                    return Err(aws_error(
                        &format!("writing the external ID to secret `{name}`"),
                        e,
                    )
                    .for_vendor(vendor))
                }
            }
            let (current, previous) = self.stages(&name).await.for_vendor(vendor)?;
            match (current.as_deref(), previous) {
                (Some(c), Some(p)) if c == token && p != base && Some(&p) != ours.as_ref() => {
                    // A version landed between the check and the write, and
                    // the write replaced it: build on it again (same ID).
                    ours = Some(token);
                    (base, json) = self.read(&name, Some(&p)).await.for_vendor(vendor)?;
                    continue;
                }
                (Some(c), _) if c == token => {}
                // Someone wrote after the write-back: read what stands now.
                _ => {
                    (base, json) = self.read(&name, None).await.for_vendor(vendor)?;
                    continue;
                }
            }
            let (_, stored) = self.read(&name, Some(&token)).await.for_vendor(vendor)?;
            let secret = VendorSecret::parse(vendor, &name, stored.expose()).for_vendor(vendor)?;
            if secret.external_id().is_none() {
                return Err(Error::config(format!(
                    "secret `{name}` version {token} has no external_id after the write-back"
                ))
                .for_vendor(vendor));
            }
            tracing::info!(vendor = %vendor, secret = %name, "external ID generated and stored");
            return Ok(secret);
        }
        Err(Error::new(
            ErrorKind::Unavailable,
            format!(
                "secret `{name}` kept changing while its external ID was written back; the next attempt retries"
            ),
        )
        .for_vendor(vendor))
    }

    /// The ids of the versions staged `AWSCURRENT` and `AWSPREVIOUS`.
    async fn stages(&self, name: &str) -> Result<(Option<String>, Option<String>)> {
        let out = self
            .client
            .describe_secret()
            .secret_id(name)
            .send()
            .await
            .map_err(|e| aws_error(&format!("describing secret `{name}`"), e))?;
        let staged = |stage: &str| {
            out.version_ids_to_stages()
                .into_iter()
                .flatten()
                .find(|(_, stages)| stages.iter().any(|s| s == stage))
                .map(|(id, _)| id.clone())
        };
        Ok((staged("AWSCURRENT"), staged("AWSPREVIOUS")))
    }

    /// Reads a secret (a given version, or the current one): its version id
    /// and its string value.
    async fn read(&self, name: &str, version_id: Option<&str>) -> Result<(String, Secret)> {
        let output: GetSecretValueOutput = self
            .client
            .get_secret_value()
            .secret_id(name)
            .set_version_id(version_id.map(str::to_owned))
            .send()
            .await
            .map_err(|e| match error_code(&e) {
                Some("ResourceNotFoundException") => Error::config(format!(
                    "secret `{name}` does not exist: create it as the README's vendor secrets section shows"
                )),
                _ => aws_error(&format!("reading secret `{name}`"), e),
            })?;
        let value = output.secret_string.ok_or_else(|| {
            Error::config(format!(
                "secret `{name}` has no string value (binary secrets are not supported)"
            ))
        })?;
        let version = output.version_id.ok_or_else(|| {
            Error::new(
                ErrorKind::Unavailable,
                format!("secret `{name}`: Secrets Manager returned no version id"),
            )
        })?;
        Ok((version, Secret::new(value)))
    }
}

/// How many times a write-back is built again on a newer version.
const WRITE_BACK_ATTEMPTS: usize = 4;

/// The secret's JSON object with `external_id` set.
fn with_external_id(name: &str, json: &Secret, id: &Secret) -> Result<Secret> {
    let mut document: serde_json::Map<String, Value> = serde_json::from_str(json.expose())
        .map_err(|_| Error::config(format!("secret `{name}` must be a JSON object")))?;
    document.insert("external_id".into(), Value::String(id.expose().to_owned()));
    Ok(Secret::new(Value::Object(document).to_string()))
}

/// The write-back's idempotency token: a UUID derived from the version it
/// replaces, so every writer that saw that version uses the same token.
fn write_back_token(previous_version: &str) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x7665_6e64_6f72_6c69_6e6b_6578_7469_6431);
    uuid::Uuid::new_v5(&NAMESPACE, previous_version.as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_back_token_is_stable_and_valid_for_secrets_manager() {
        let t = write_back_token("v1");
        assert_eq!(t, write_back_token("v1"));
        assert_ne!(t, write_back_token("v2"));
        assert!((32..=64).contains(&t.len()));
    }
}
