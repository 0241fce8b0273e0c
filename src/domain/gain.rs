//! Gains in decibels.

use std::fmt;

/// A gain in dB (0 = unity, negative = quieter). Converts to a linear amplitude factor.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct GainDb(pub f64);

impl GainDb {
    /// Unity gain.
    pub const UNITY: GainDb = GainDb(0.0);

    /// The amplitude factor: 10^(dB/20).
    pub fn linear(self) -> f64 {
        10f64.powf(self.0 / 20.0)
    }

    /// The gain whose amplitude factor is `factor` (which must be positive).
    pub fn from_linear(factor: f64) -> GainDb {
        GainDb(20.0 * factor.log10())
    }
}

impl std::ops::Add for GainDb {
    type Output = GainDb;
    fn add(self, rhs: GainDb) -> GainDb {
        GainDb(self.0 + rhs.0)
    }
}

impl fmt::Display for GainDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:+.1} dB", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_db_is_about_double() {
        assert!((GainDb(6.0206).linear() - 2.0).abs() < 1e-4);
        assert!((GainDb::from_linear(0.5).0 + 6.0206).abs() < 1e-3);
        assert_eq!((GainDb(-3.0) + GainDb(1.0)).0, -2.0);
    }
}
