//! Cues: one decided play, made by the scheduler and played by the engine.

use std::fmt;

use chrono::{DateTime, Utc};

use super::{ClipId, GainDb, Language, Priority, VillageId, ZoneId};

/// Identifies a cue. The scheduler derives it from (slot, firing instant, village, position), so the
/// same cue has the same id across restarts and reloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct CueId(pub u64);

impl fmt::Display for CueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One decided play: this clip variant, on this village's zone, at this instant and level.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cue {
    /// Id, unique within the run.
    pub id: CueId,
    /// The village it is for.
    pub village: VillageId,
    /// The zone that reaches the village.
    pub zone: ZoneId,
    /// The clip variant chosen for the village.
    pub clip: ClipId,
    /// The clip's language.
    pub language: Language,
    /// Priority level.
    pub priority: Priority,
    /// When it should start (the chime, if any, starts here and the clip follows it).
    pub at: DateTime<Utc>,
    /// Total gain: the clip's loudness gain plus the village volume at that time of day.
    pub gain: GainDb,
    /// Chime clip played just before, if any.
    pub chime: Option<ClipId>,
    /// The slot that made it (None for manual plays).
    pub slot: Option<String>,
}
