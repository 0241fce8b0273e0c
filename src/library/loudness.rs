//! Loudness (ITU-R BS.1770 / EBU R128) with the ebur128 crate, and the gain that brings a clip to
//! the station target without its true peak passing the ceiling.

use ebur128::{EbuR128, Mode};

use crate::config::LoudnessPolicy;
use crate::domain::GainDb;

/// Below this integrated loudness a recording counts as silent (the BS.1770 absolute gate).
pub const SILENCE_LUFS: f64 = -70.0;

/// Measured loudness of a signal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loudness {
    /// Integrated loudness in LUFS (−∞ when everything is below the gate).
    pub integrated_lufs: f64,
    /// Highest true peak over all channels, dBTP (4× oversampled, per BS.1770-4).
    pub true_peak_dbtp: f64,
}

impl Loudness {
    /// True when the signal is below the silence gate (or unmeasurable: NaN counts as silent).
    pub fn is_silent(&self) -> bool {
        self.integrated_lufs.partial_cmp(&SILENCE_LUFS).is_none_or(|o| o.is_lt())
    }

    /// The gain to apply at playout: reaches `policy.target_lufs`, but never lifts the true peak
    /// above `policy.max_true_peak_dbtp`. Silent signals get unity.
    pub fn gain_to_target(&self, policy: &LoudnessPolicy) -> GainDb {
        if self.is_silent() {
            return GainDb::UNITY;
        }
        let to_target = policy.target_lufs - self.integrated_lufs;
        let headroom = policy.max_true_peak_dbtp - self.true_peak_dbtp;
        GainDb(to_target.min(headroom))
    }
}

/// A streaming meter over interleaved f32 samples.
pub struct Meter {
    inner: EbuR128,
    channels: u32,
}

/// The meter could not be built or fed (bad channel count or rate).
#[derive(Debug, thiserror::Error)]
#[error("loudness meter: {0}")]
pub struct MeterError(String);

impl Meter {
    /// A meter for `channels` interleaved channels at `rate` Hz, measuring integrated loudness and
    /// true peak.
    pub fn new(channels: u32, rate: u32) -> Result<Self, MeterError> {
        let inner =
            EbuR128::new(channels, rate, Mode::I | Mode::TRUE_PEAK).map_err(|e| MeterError(format!("{e:?}")))?;
        Ok(Self { inner, channels })
    }

    /// Feeds interleaved frames.
    pub fn add(&mut self, interleaved: &[f32]) -> Result<(), MeterError> {
        self.inner.add_frames_f32(interleaved).map_err(|e| MeterError(format!("{e:?}")))
    }

    /// The measurement so far.
    pub fn result(&self) -> Result<Loudness, MeterError> {
        let integrated_lufs = self.inner.loudness_global().map_err(|e| MeterError(format!("{e:?}")))?;
        let mut peak = 0.0f64;
        for c in 0..self.channels {
            peak = peak.max(self.inner.true_peak(c).map_err(|e| MeterError(format!("{e:?}")))?);
        }
        let true_peak_dbtp = if peak > 0.0 { 20.0 * peak.log10() } else { f64::NEG_INFINITY };
        Ok(Loudness { integrated_lufs, true_peak_dbtp })
    }
}

/// Measures a whole interleaved signal at once.
pub fn measure(interleaved: &[f32], channels: u32, rate: u32) -> Result<Loudness, MeterError> {
    let mut m = Meter::new(channels, rate)?;
    m.add(interleaved)?;
    m.result()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, amp: f64, rate: u32, secs: f64) -> Vec<f32> {
        (0..(f64::from(rate) * secs) as usize)
            .map(|i| (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin()) as f32)
            .collect()
    }

    #[test]
    fn full_scale_997_hz_in_one_channel_is_minus_3_01_lufs() {
        let l = measure(&sine(997.0, 1.0, 48_000, 5.0), 1, 48_000).unwrap();
        assert!((l.integrated_lufs + 3.01).abs() < 0.1, "{l:?}");
    }

    #[test]
    fn ebu_3341_case_1_stereo_1khz_at_minus_23_dbfs_is_minus_23_lufs() {
        let amp = 10f64.powf(-23.0 / 20.0);
        let mono = sine(1000.0, amp, 48_000, 20.0);
        let stereo: Vec<f32> = mono.iter().flat_map(|s| [*s, *s]).collect();
        let l = measure(&stereo, 2, 48_000).unwrap();
        assert!((l.integrated_lufs + 23.0).abs() < 0.1, "{l:?}");
    }

    #[test]
    fn true_peak_sees_intersample_overs() {
        // A sine at fs/4 with 45° phase: every sample is at 0.707 of the true peak.
        let rate = 48_000;
        let s: Vec<f32> = (0..rate * 2)
            .map(|i| (std::f64::consts::FRAC_PI_2 * f64::from(i) + std::f64::consts::FRAC_PI_4).sin() as f32)
            .collect();
        let sample_peak = s.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!((f64::from(sample_peak) - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-3);
        let l = measure(&s, 1, rate).unwrap();
        assert!(l.true_peak_dbtp > -0.6, "true peak {} dBTP should be near 0", l.true_peak_dbtp);
    }

    #[test]
    fn gain_respects_target_and_peak_ceiling() {
        let policy = LoudnessPolicy { target_lufs: -23.0, max_true_peak_dbtp: -1.0 };
        let quiet = Loudness { integrated_lufs: -30.0, true_peak_dbtp: -20.0 };
        assert!((quiet.gain_to_target(&policy).0 - 7.0).abs() < 1e-9);
        let peaky = Loudness { integrated_lufs: -30.0, true_peak_dbtp: -4.0 };
        assert!((peaky.gain_to_target(&policy).0 - 3.0).abs() < 1e-9);
        let loud = Loudness { integrated_lufs: -14.0, true_peak_dbtp: 0.5 };
        assert!((loud.gain_to_target(&policy).0 + 9.0).abs() < 1e-9);
        let silent = Loudness { integrated_lufs: f64::NEG_INFINITY, true_peak_dbtp: f64::NEG_INFINITY };
        assert!(silent.is_silent());
        assert_eq!(silent.gain_to_target(&policy), GainDb::UNITY);
    }

    #[test]
    fn digital_silence_is_silent() {
        let l = measure(&vec![0.0; 48_000 * 3], 1, 48_000).unwrap();
        assert!(l.is_silent(), "{l:?}");
    }
}
