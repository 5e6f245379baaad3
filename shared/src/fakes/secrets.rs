//! Vendor secrets in memory, parsed and validated as the real store does;
//! generated external IDs are written back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;

use crate::error::{Error, Result, ResultExt};
use crate::ports::SecretSource;
use crate::secret::Secret;
use crate::vendor_name::VendorName;
use crate::vendors::VendorSecret;

use super::Faults;

pub struct MemorySecrets {
    secrets: Mutex<HashMap<VendorName, Value>>,
    writes: Mutex<usize>,
    faults: Arc<Faults>,
}

impl MemorySecrets {
    pub fn new(faults: Arc<Faults>) -> Self {
        MemorySecrets {
            secrets: Mutex::new(HashMap::new()),
            writes: Mutex::new(0),
            faults,
        }
    }

    /// Stores the vendor's secret (its JSON document).
    pub fn put(&self, vendor: VendorName, document: Value) {
        self.lock().insert(vendor, document);
    }

    /// The vendor's secret document as stored now.
    pub fn document(&self, vendor: VendorName) -> Option<Value> {
        self.lock().get(&vendor).cloned()
    }

    /// How many times a secret was written back.
    pub fn writes(&self) -> usize {
        self.writes.lock().map(|w| *w).unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<VendorName, Value>> {
        self.secrets.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self, vendor: VendorName) -> Result<VendorSecret> {
        let name = format!("vendorlink/{vendor}");
        let document = self.document(vendor).ok_or_else(|| {
            Error::config(format!(
                "secret `{name}` does not exist: create it as the README's vendor secrets section shows"
            ))
        })?;
        VendorSecret::parse(vendor, &name, &document.to_string())
    }
}

#[async_trait]
impl SecretSource for MemorySecrets {
    async fn load(&self, vendor: VendorName) -> Result<VendorSecret> {
        self.faults
            .run("secrets.load", || self.read(vendor))
            .for_vendor(vendor)
    }

    async fn load_with_external_id(&self, vendor: VendorName) -> Result<VendorSecret> {
        self.faults
            .run("secrets.load_with_external_id", || {
                let secret = self.read(vendor)?;
                if !vendor.profile().writes_back_secret() || secret.external_id().is_some() {
                    return Ok(secret);
                }
                let generated = Secret::generate_external_id()?;
                if let Some(Value::Object(document)) = self.lock().get_mut(&vendor) {
                    document.insert(
                        "external_id".into(),
                        Value::String(generated.expose().to_owned()),
                    );
                }
                if let Ok(mut writes) = self.writes.lock() {
                    *writes += 1;
                }
                self.read(vendor)
            })
            .for_vendor(vendor)
    }
}
