//! Identifiers: ascii slugs for things people name in YAML, hex digests for clips.

use std::fmt;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The string is empty.
    #[error("an id may not be empty")]
    Empty,
    /// The string has a character outside `a-z 0-9 - _`, or does not start with a letter or digit.
    #[error(
        "`{0}` is not a valid id: use lower-case ascii letters, digits, `-` and `_`, starting with a letter or digit"
    )]
    NotSlug(String),
    /// The string is not a clip id (16 lower-case hex digits).
    #[error("`{0}` is not a clip id (16 lower-case hex digits)")]
    NotClipId(String),
}

impl crate::domain::Say for IdError {
    fn zh(&self) -> String {
        match self {
            IdError::Empty => "名称不能为空".into(),
            IdError::NotSlug(s) => {
                format!("`{s}` 不是有效的名称：只能用小写英文字母、数字、`-` 和 `_`，并以字母或数字开头")
            }
            IdError::NotClipId(s) => format!("`{s}` 不是录音编号（16 位小写十六进制数字）"),
        }
    }
}

fn check_slug(s: &str) -> Result<(), IdError> {
    let mut chars = s.chars();
    match chars.next() {
        None => return Err(IdError::Empty),
        Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit() => {}
        Some(_) => return Err(IdError::NotSlug(s.to_owned())),
    }
    if s.len() > 64 || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
        return Err(IdError::NotSlug(s.to_owned()));
    }
    Ok(())
}

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Checks that `s` is an ascii slug (`a-z 0-9 - _`, at most 64 bytes) and wraps it.
            pub fn new(s: &str) -> Result<Self, IdError> {
                check_slug(s).map(|()| Self(s.to_owned()))
            }
            /// The id as written.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

slug_id!(
    /// A village, as named in `schedules/villages.yaml`.
    VillageId
);
slug_id!(
    /// A zone: one amplifier's feed, wired to output channels by a hardware profile.
    ZoneId
);
slug_id!(
    /// A playlist in a schedule file.
    PlaylistId
);
slug_id!(
    /// A message: one announcement that may exist as clips in several languages.
    MessageId
);
slug_id!(
    /// An output (sound card, recorder or null sink) in a hardware profile.
    OutputName
);

/// A clip: the first 16 hex digits of the SHA-256 of the file as uploaded.
///
/// The same bytes always give the same id, so importing a file twice finds the clip already there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct ClipId(String);

impl ClipId {
    /// Length of a clip id in hex digits.
    pub const LEN: usize = 16;

    /// Checks that `s` is 16 lower-case hex digits.
    pub fn new(s: &str) -> Result<Self, IdError> {
        if s.len() == Self::LEN && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdError::NotClipId(s.to_owned()))
        }
    }

    /// The id of a clip whose full SHA-256 digest, in lower-case hex, is `sha256_hex`.
    pub fn from_digest(sha256_hex: &str) -> Result<Self, IdError> {
        Self::new(sha256_hex.get(..Self::LEN).unwrap_or(sha256_hex))
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClipId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ClipId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::new(s)
    }
}

impl<'de> serde::Deserialize<'de> for ClipId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_accept_ascii_lowercase_and_refuse_the_rest() {
        assert!(VillageId::new("dongmen").is_ok());
        assert!(VillageId::new("g-012_b").is_ok());
        assert_eq!(VillageId::new(""), Err(IdError::Empty));
        assert!(VillageId::new("东门").is_err());
        assert!(VillageId::new("Dongmen").is_err());
        assert!(VillageId::new("-x").is_err());
        assert!(VillageId::new("a b").is_err());
    }

    #[test]
    fn clip_ids_are_sixteen_hex_digits() {
        assert!(ClipId::new("0123456789abcdef").is_ok());
        assert!(ClipId::new("0123456789ABCDEF").is_err());
        assert!(ClipId::new("0123").is_err());
        let id = ClipId::from_digest(&"ab".repeat(32)).unwrap();
        assert_eq!(id.as_str(), "abababababababab");
    }
}
