//! Language tags: an ISO 639-3 code, optionally followed by local varieties (`cdo-yongtai`).

use std::fmt;

/// Why a string is not a language tag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a language tag: write an ISO 639-3 code (three lower-case letters, e.g. `cmn`), optionally followed by `-variety` (e.g. `cdo-yongtai`)"
)]
pub struct LanguageError(pub String);

impl crate::domain::Say for LanguageError {
    fn zh(&self) -> String {
        format!(
            "`{}` 不是语言代码：请写 ISO 639-3 代码（三个小写字母，例如 `cmn`），可以再加 `-方言名`（例如 `cdo-yongtai`）",
            self.0
        )
    }
}

/// A language or dialect a clip is spoken in, e.g. `cmn` (Mandarin) or `cdo-yongtai` (Yongtai Min Dong).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Language(String);

impl Language {
    /// Checks the shape `xxx(-variety)*`, with lower-case ascii letters and digits in varieties.
    pub fn new(s: &str) -> Result<Self, LanguageError> {
        let mut parts = s.split('-');
        let base_ok = parts.next().is_some_and(|b| b.len() == 3 && b.bytes().all(|c| c.is_ascii_lowercase()));
        let rest_ok = parts
            .all(|p| (2..=16).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        if base_ok && rest_ok { Ok(Self(s.to_owned())) } else { Err(LanguageError(s.to_owned())) }
    }

    /// The tag as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ISO 639-3 part (`cdo` for `cdo-yongtai`).
    pub fn base(&self) -> &str {
        &self.0[..3]
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Language {
    type Err = LanguageError;
    fn from_str(s: &str) -> Result<Self, LanguageError> {
        Self::new(s)
    }
}

impl<'de> serde::Deserialize<'de> for Language {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_iso_code_plus_optional_varieties() {
        assert_eq!(Language::new("cmn").unwrap().base(), "cmn");
        assert_eq!(Language::new("cdo-yongtai").unwrap().base(), "cdo");
        assert!(Language::new("zh").is_err());
        assert!(Language::new("CMN").is_err());
        assert!(Language::new("cdo-").is_err());
        assert!(Language::new("cdo-永泰").is_err());
    }
}
