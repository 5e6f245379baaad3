//! The names of the vendors vendorlink knows, generated from the registry
//! (`src/registry.rs`). A leaf module: it depends on nothing in the crate.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! define_vendor_name {
    ($($variant:ident => $module:ident,)+) => {
        /// One of the supported vendors. The string form (its folder's
        /// name) is the name used in `VENDORS`, secret names and the ledger.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum VendorName {
            $($variant,)+
        }

        impl VendorName {
            /// Every vendor, in registry order.
            pub const ALL: [VendorName; [$(VendorName::$variant),+].len()] =
                [$(VendorName::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(VendorName::$variant => stringify!($module),)+
                }
            }
        }
    };
}

vendor_registry!(define_vendor_name);

impl fmt::Display for VendorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for VendorName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VendorName::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown vendor `{s}` (allowed: {})",
                    VendorName::ALL.map(VendorName::as_str).join(", ")
                )
            })
    }
}

impl Serialize for VendorName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for VendorName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn vendor_names_round_trip() {
        for v in VendorName::ALL {
            assert_eq!(v.as_str().parse::<VendorName>(), Ok(v));
            assert_eq!(serde_json::to_value(v).unwrap(), json!(v.as_str()));
            assert_eq!(
                serde_json::from_value::<VendorName>(json!(v.as_str())).unwrap(),
                v
            );
        }
    }

    #[test]
    fn unknown_vendor_lists_the_allowed_names() {
        let err = "nope".parse::<VendorName>().unwrap_err();
        let allowed = VendorName::ALL.map(VendorName::as_str).join(", ");
        assert_eq!(err, format!("unknown vendor `nope` (allowed: {allowed})"));
        assert!(serde_json::from_value::<VendorName>(json!("nope")).is_err());
    }
}
