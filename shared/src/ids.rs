//! Validated identifiers: an AWS account id and an Organizations parent id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(String);

impl AccountId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a string is not a valid identifier; says what was expected, and
/// echoes the value (identifiers are never secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidId(String);

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidId {}

impl FromStr for AccountId {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(s.to_owned()))
        } else {
            Err(InvalidId(format!(
                "`{s}` is not an AWS account id (expected 12 digits)"
            )))
        }
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for AccountId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An Organizations parent: an organizational unit (`ou-xxxx-yyyyyyyy`) or
/// the root (`r-xxxx`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParentId(String);

impl ParentId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_lower_alnum(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

impl FromStr for ParentId {
    type Err = InvalidId;
    // Patterns from the Organizations API reference: ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}
    // and r-[0-9a-z]{4,32}.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid = if let Some(rest) = s.strip_prefix("ou-") {
            match rest.split_once('-') {
                Some((root, unit)) => is_lower_alnum(root, 4, 32) && is_lower_alnum(unit, 8, 32),
                None => false,
            }
        } else if let Some(rest) = s.strip_prefix("r-") {
            is_lower_alnum(rest, 4, 32)
        } else {
            false
        };
        if valid {
            Ok(ParentId(s.to_owned()))
        } else {
            Err(InvalidId(format!(
                "`{s}` is not an organizational unit id (expected ou-xxxx-xxxxxxxx, or r-xxxx for the root)"
            )))
        }
    }
}

impl fmt::Display for ParentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ParentId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ParentId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_id_needs_exactly_twelve_digits() {
        assert!("123456789012".parse::<AccountId>().is_ok());
        for bad in [
            "12345678901",
            "1234567890123",
            "12345678901a",
            "",
            " 123456789012",
        ] {
            let err = bad.parse::<AccountId>().unwrap_err();
            assert!(err.to_string().contains("expected 12 digits"), "{bad}");
        }
    }

    #[test]
    fn parent_id_accepts_ous_and_roots() {
        assert!("ou-ab12-cdef3456".parse::<ParentId>().is_ok());
        assert!("r-ab12".parse::<ParentId>().is_ok());
        for bad in [
            "ou-ab12",
            "ou-AB12-cdef3456",
            "ou-ab1-cdef3456",
            "r-a",
            "123",
            "ou-ab12-cdef",
        ] {
            assert!(bad.parse::<ParentId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn account_id_deserialization_rejects_bad_ids() {
        assert!(serde_json::from_str::<AccountId>("\"123\"").is_err());
        let id: AccountId = serde_json::from_str("\"000000000001\"").unwrap();
        assert_eq!(id.as_str(), "000000000001");
    }
}
