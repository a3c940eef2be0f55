//! Identifiers of AWS Organizations entities as newtypes that validate on construction.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string is not a valid identifier of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind}: expected {expected}")]
pub struct InvalidId {
    /// What was being parsed, e.g. "account id".
    pub kind: &'static str,
    /// The rejected text.
    pub value: String,
    /// What a valid value looks like.
    pub expected: &'static str,
}

fn is_lower_alnum(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $expected:literal, $valid:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses and validates the identifier.
            pub fn parse(value: impl Into<String>) -> Result<Self, InvalidId> {
                let value = value.into();
                let valid: fn(&str) -> bool = $valid;
                if valid(&value) {
                    Ok(Self(value))
                } else {
                    Err(InvalidId { kind: $kind, value, expected: $expected })
                }
            }

            /// The identifier as AWS spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(value: String) -> Result<Self, InvalidId> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(value: &str) -> Result<Self, InvalidId> {
                Self::parse(value)
            }
        }
    };
}

id_newtype!(
    /// A 12-digit AWS account id, e.g. `111111111111`.
    AccountId,
    "account id",
    "12 digits",
    |text| text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
);

id_newtype!(
    /// An organizational unit id, e.g. `ou-ab12-cd34ef56`.
    OuId,
    "OU id",
    "`ou-` followed by lowercase letters or digits, a dash, and more",
    |text| {
        text.strip_prefix("ou-")
            .and_then(|rest| rest.split_once('-'))
            .is_some_and(|(root, unit)| is_lower_alnum(root) && is_lower_alnum(unit))
    }
);

id_newtype!(
    /// The id of an organisation's root, e.g. `r-ab12`.
    RootId,
    "root id",
    "`r-` followed by lowercase letters or digits",
    |text| text.strip_prefix("r-").is_some_and(is_lower_alnum)
);

id_newtype!(
    /// An organisation id, e.g. `o-a1b2c3d4e5`.
    OrgId,
    "organization id",
    "`o-` followed by lowercase letters or digits",
    |text| text.strip_prefix("o-").is_some_and(is_lower_alnum)
);

/// Where an account or OU sits: directly under the root, or inside an OU.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParentId {
    /// The organisation's root.
    Root(RootId),
    /// An organizational unit.
    Ou(OuId),
}

impl ParentId {
    /// Parses a root or OU id by its prefix.
    pub fn parse(value: &str) -> Result<Self, InvalidId> {
        if value.starts_with("r-") {
            RootId::parse(value).map(Self::Root)
        } else {
            OuId::parse(value).map(Self::Ou).map_err(|_| InvalidId {
                kind: "parent id",
                value: value.to_owned(),
                expected: "a root id (`r-...`) or an OU id (`ou-...`)",
            })
        }
    }

    /// The id as AWS spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Root(id) => id.as_str(),
            Self::Ou(id) => id.as_str(),
        }
    }
}

impl fmt::Display for ParentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(AccountId::parse("111111111111").is_ok());
        let error = AccountId::parse("11111111111").unwrap_err();
        assert_eq!(
            error.to_string(),
            "`11111111111` is not a valid account id: expected 12 digits"
        );
        assert!(AccountId::parse("11111111111a").is_err());
    }

    #[test]
    fn ou_ids_have_root_and_unit_parts() {
        assert!(OuId::parse("ou-ab12-cd34ef56").is_ok());
        assert!(OuId::parse("ou-ab12").is_err());
        assert!(OuId::parse("ou-AB12-cd34ef56").is_err());
        assert!(OuId::parse("r-ab12").is_err());
    }

    #[test]
    fn parents_are_told_apart_by_prefix() {
        assert!(matches!(ParentId::parse("r-ab12"), Ok(ParentId::Root(_))));
        assert!(matches!(
            ParentId::parse("ou-ab12-cd34ef56"),
            Ok(ParentId::Ou(_))
        ));
        assert!(ParentId::parse("o-abc").is_err());
    }

    #[test]
    fn ids_round_trip_through_serde() {
        let id: AccountId = serde_json::from_str("\"222222222222\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"222222222222\"");
        assert!(serde_json::from_str::<AccountId>("\"nope\"").is_err());
    }

    #[test]
    fn an_id_s_parts_are_lowercase_letters_or_digits_and_never_empty() {
        for good in ["r-ab12", "r-12", "r-ab"] {
            assert!(RootId::parse(good).is_ok(), "{good}");
        }
        for bad in ["r-", "r-Ab12", "r-ab_1", "ab12"] {
            assert!(RootId::parse(bad).is_err(), "{bad}");
        }
        assert!(OuId::parse("ou-ab12-").is_err());
        assert!(OuId::parse("ou--cd34").is_err());
        assert!(OrgId::parse("o-a1b2c3d4e5").is_ok());
        assert!(OrgId::parse("o-").is_err());
        let root = ParentId::parse("r-ab12").unwrap();
        let unit = ParentId::parse("ou-ab12-cd34ef56").unwrap();
        assert_eq!(
            (root.as_str(), unit.as_str()),
            ("r-ab12", "ou-ab12-cd34ef56")
        );
        assert_eq!(format!("{root} {unit}"), "r-ab12 ou-ab12-cd34ef56");
        assert_eq!(
            ParentId::parse("o-abc").unwrap_err().to_string(),
            "`o-abc` is not a valid parent id: expected a root id (`r-...`) or an OU id (`ou-...`)"
        );
    }
}
