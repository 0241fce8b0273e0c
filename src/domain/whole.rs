//! Whole numbers as JSON carries them: `3` and `3.0` are the same number (JSON Schema calls both
//! an integer), and a field that takes a whole number takes either. For serde's
//! `deserialize_with`.

use serde::{Deserialize, Deserializer};

/// A `u32` written as `3` or `3.0`; `3.5`, negatives and numbers past `u32::MAX` are errors.
pub fn u32_whole<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    if let Some(u) = n.as_u64() {
        return u32::try_from(u).map_err(|_| serde::de::Error::custom(format!("{u} is too large")));
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) => Ok(f as u32),
        _ => Err(serde::de::Error::custom(format!("{n} is not a whole number of 0 or more"))),
    }
}

/// [`u32_whole`] for a field that may be absent (`None`), `null` (`Some(None)`) or a number.
pub fn opt_opt_u32_whole<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    #[derive(Deserialize)]
    struct W(#[serde(deserialize_with = "u32_whole")] u32);
    Option::<W>::deserialize(d).map(|o| Some(o.map(|w| w.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        #[serde(deserialize_with = "u32_whole")]
        n: u32,
    }

    #[test]
    fn three_and_three_point_zero_are_the_same_and_fractions_are_not_whole() {
        let n = |s: &str| serde_json::from_str::<T>(s).map(|t| t.n);
        assert_eq!(n(r#"{"n": 3}"#).unwrap(), 3);
        assert_eq!(n(r#"{"n": 1000.0}"#).unwrap(), 1000);
        assert!(n(r#"{"n": 2.5}"#).is_err());
        assert!(n(r#"{"n": -1}"#).is_err());
        assert!(n(r#"{"n": 1e12}"#).is_err());
    }
}
