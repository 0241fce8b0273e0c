//! The metadata sidecar (`clip.yaml`) kept next to each clip's audio.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::config::LoudnessPolicy;
use crate::domain::{ClipId, ClipKind, GainDb, Language, MessageId, ReviewState};

use super::loudness::Loudness;

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

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
