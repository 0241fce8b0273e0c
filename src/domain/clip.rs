//! What kind of recording a clip is, and whether it may be played.

use std::fmt;

/// The kind of recording, as tagged at import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClipKind {
    /// A spoken notice.
    Notice,
    /// Music.
    Song,
    /// 快板: rhymed talk over a clapper rhythm.
    ClapperTalk,
    /// A short signal played before a cue.
    Chime,
    /// Anything else.
    Other,
}

impl ClipKind {
    /// All kinds, in the order the UI lists them.
    pub const ALL: [ClipKind; 5] =
        [ClipKind::Notice, ClipKind::Song, ClipKind::ClapperTalk, ClipKind::Chime, ClipKind::Other];

    /// The name used in YAML and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ClipKind::Notice => "notice",
            ClipKind::Song => "song",
            ClipKind::ClapperTalk => "clapper-talk",
            ClipKind::Chime => "chime",
            ClipKind::Other => "other",
        }
    }
}

impl fmt::Display for ClipKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ClipKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ClipKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("`{s}` is not a clip kind (one of: notice, song, clapper-talk, chime, other)"))
    }
}

/// Where a clip stands in review. Only approved clips are ever cued.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase", tag = "state")]
pub enum ReviewState {
    /// Imported, not yet looked at.
    Pending,
    /// Approved for playout.
    Approved,
    /// Rejected, with the reviewer's reason.
    Rejected {
        /// Why it was rejected, in the reviewer's words.
        reason: String,
    },
}

impl ReviewState {
    /// The state's name: `pending`, `approved` or `rejected`.
    pub fn name(&self) -> &'static str {
        match self {
            ReviewState::Pending => "pending",
            ReviewState::Approved => "approved",
            ReviewState::Rejected { .. } => "rejected",
        }
    }

    /// True when the clip may be cued.
    pub fn is_approved(&self) -> bool {
        matches!(self, ReviewState::Approved)
    }
}
