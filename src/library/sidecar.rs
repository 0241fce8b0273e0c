//! The metadata sidecar (`clip.yaml`) kept next to each clip's audio.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::config::LoudnessPolicy;
use crate::domain::{ClipId, ClipKind, GainDb, Language, MessageId, ReviewState};

use super::loudness::Loudness;

/// The longest title a clip may have, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// The longest transcript a clip may have, in characters (a long notice read out is a few
/// thousand).
pub const MAX_TRANSCRIPT_CHARS: usize = 20_000;

/// Everything the station knows about one clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClipMeta {
    /// Content id (first 16 hex digits of the original's SHA-256).
    pub id: ClipId,
    /// Title people see.
    pub title: String,
    /// Language or dialect spoken.
    pub language: Language,
    /// Kind of recording.
    pub kind: ClipKind,
    /// The message this clip is a variant of, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<MessageId>,
    /// What is said, for review and for the deaf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<String>,
    /// Last day the clip may play.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<NaiveDate>,
    /// At most this many plays per village and per local calendar day (station time zone), so a
    /// campaign that fires often ends by itself each day; absent means no limit. The scheduler
    /// counts the cues it plans to play (on time or deferred past quiet hours) of this very clip,
    /// not chimes, and skips the later ones as `skipped-max-plays`. Never 0: a sidecar saying 0 is
    /// refused when read (import refuses it too), so the clip is listed as broken rather than
    /// silently never playing.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "at_least_one")]
    pub max_plays_per_day: Option<u32>,
    /// Review state; only approved clips are cued.
    pub review: ReviewState,
    /// Who imported it (`cli:USER` or a web user name).
    pub uploader: String,
    /// When it was imported.
    pub imported_at: DateTime<Utc>,
    /// Length of the recording in seconds.
    pub duration_s: f64,
    /// The file as uploaded.
    pub original: OriginalInfo,
    /// The playout copy.
    pub canonical: CanonicalInfo,
    /// Loudness of the playout copy and the gain that normalises it.
    pub loudness: LoudnessInfo,
}

/// The original upload, kept byte for byte.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginalInfo {
    /// File name inside the clip folder.
    pub file: String,
    /// Name the file had when uploaded.
    pub uploaded_name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Full SHA-256, lower-case hex.
    pub sha256: String,
    /// Codec short name.
    pub codec: String,
    /// Sample rate of the original.
    pub sample_rate: u32,
    /// Channels of the original.
    pub channels: u16,
}

/// The canonical PCM copy playout reads: mono, 32-bit float WAV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanonicalInfo {
    /// File name inside the clip folder.
    pub file: String,
    /// Rate in Hz.
    pub sample_rate: u32,
    /// Channels (1).
    pub channels: u16,
    /// Frames.
    pub frames: u64,
}

/// Measured loudness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoudnessInfo {
    /// Integrated loudness, LUFS.
    pub integrated_lufs: f64,
    /// True peak, dBTP.
    pub true_peak_dbtp: f64,
    /// Gain to the station target at import time, dB.
    pub gain_db: f64,
    /// The target it was computed for, LUFS.
    pub target_lufs: f64,
}

impl LoudnessInfo {
    /// Records a measurement and the gain it needs under `policy`.
    pub fn new(l: &Loudness, policy: &LoudnessPolicy) -> Self {
        Self {
            integrated_lufs: round2(l.integrated_lufs),
            true_peak_dbtp: round2(l.true_peak_dbtp),
            gain_db: round2(l.gain_to_target(policy).0),
            target_lufs: policy.target_lufs,
        }
    }

    /// The gain under a (possibly changed) policy.
    pub fn gain(&self, policy: &LoudnessPolicy) -> GainDb {
        Loudness { integrated_lufs: self.integrated_lufs, true_peak_dbtp: self.true_peak_dbtp }.gain_to_target(policy)
    }
}

/// The sentence a limit of 0 is refused with, at import and when a sidecar is read.
pub(super) const ZERO_MAX_PLAYS: &str =
    "the maximum number of plays per day must be at least 1; leave it out for no limit";
/// [`ZERO_MAX_PLAYS`] in Chinese.
pub(super) const ZERO_MAX_PLAYS_ZH: &str = "每天播放次数至少是 1；不限次数请留空";

/// Reads `max_plays_per_day`, refusing 0 with [`ZERO_MAX_PLAYS`] (after the key, since serde_yaml
/// places the error at the start of the sidecar).
fn at_least_one<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match Option::<u32>::deserialize(d)? {
        Some(0) => Err(serde::de::Error::custom(format!("max_plays_per_day: {ZERO_MAX_PLAYS}"))),
        other => Ok(other),
    }
}

/// A loudness or level figure as every screen shows it: one decimal, halves away from zero (as the
/// web page's script rounds too), so the CLI, the library page and the JSON-built list agree on
/// −19.25 → −19.3.
pub fn tenths(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::yaml;

    #[test]
    fn a_stored_half_tenth_reads_the_same_everywhere() {
        // Stored to 0.01; `{:.1}` alone would print −19.25 as −19.2 while the page script says −19.3.
        for (stored, shown) in [(-19.25, "-19.3"), (-19.35, "-19.4"), (-0.05, "-0.1"), (2.25, "2.3"), (-23.0, "-23.0")]
        {
            assert_eq!(format!("{:.1}", tenths(stored)), shown, "{stored}");
        }
    }

    /// A sidecar as an older xiangyin wrote it, without `max_plays_per_day`.
    const OLD: &str = "\
# xiangyin clip — written by the station; edit with care
id: 13ec56b0d9870bbd
title: 冬季防火提醒（青溪话）
language: yue-qingxi
kind: notice
message: fire-safety
review:
  state: approved
uploader: cli:station
imported_at: 2026-11-28T16:18:35.630401802Z
duration_s: 6.342
original:
  file: original.wav
  uploaded_name: notice-fire-safety.yue-qingxi.wav
  bytes: 279730
  sha256: 13ec56b0d9870bbd231cc0907c02a3103950934a81ae8e3da0d9825fee735783
  codec: pcm_s16le
  sample_rate: 22050
  channels: 1
canonical:
  file: canonical.wav
  sample_rate: 48000
  channels: 1
  frames: 304420
loudness:
  integrated_lufs: -21.42
  true_peak_dbtp: -1.88
  gain_db: -1.58
  target_lufs: -23.0
";

    #[test]
    fn a_sidecar_without_a_daily_limit_loads_and_is_written_back_without_one() {
        let meta: ClipMeta = yaml::from_str(OLD).unwrap();
        assert_eq!(meta.max_plays_per_day, None);
        let text = yaml::to_string(&meta).unwrap();
        assert!(!text.contains("max_plays_per_day"), "{text}");
        assert_eq!(yaml::from_str::<ClipMeta>(&text).unwrap(), meta);
    }

    #[test]
    fn a_daily_limit_round_trips_through_the_sidecar() {
        let mut meta: ClipMeta = yaml::from_str(OLD).unwrap();
        meta.max_plays_per_day = Some(2);
        let text = yaml::to_string(&meta).unwrap();
        assert!(text.contains("max_plays_per_day: 2\n"), "{text}");
        assert_eq!(yaml::from_str::<ClipMeta>(&text).unwrap(), meta);
        // Written by hand: after the expiry, as people would.
        let by_hand = OLD.replace("review:", "max_plays_per_day: 3\nreview:");
        assert_eq!(yaml::from_str::<ClipMeta>(&by_hand).unwrap().max_plays_per_day, Some(3));
    }

    #[test]
    fn a_daily_limit_of_zero_is_refused_with_a_sentence() {
        let zero = OLD.replace("review:", "max_plays_per_day: 0\nreview:");
        let e = yaml::from_str::<ClipMeta>(&zero).unwrap_err();
        assert!(e.contains(ZERO_MAX_PLAYS), "{e}");
        let negative = OLD.replace("review:", "max_plays_per_day: -1\nreview:");
        assert!(yaml::from_str::<ClipMeta>(&negative).is_err());
    }
}
