//! What came back from a village's line while a cue played (回采): the proof-of-play verdict.

use std::fmt;

/// Whether the village heard a cue, as its line's capture tap says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Heard {
    /// What was sent came back, at a sensible level.
    Yes,
    /// Nothing (or something else) came back: the line, amplifier or speaker is dead.
    No,
    /// It came back, much quieter than expected.
    Weak,
    /// Something loud came back that is clipped or does not follow what was sent.
    Distorted,
}

impl Heard {
    /// Every verdict.
    pub const ALL: [Heard; 4] = [Heard::Yes, Heard::No, Heard::Weak, Heard::Distorted];

    /// The word the as-run log stores: `yes`, `no`, `weak`, `distorted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Heard::Yes => "yes",
            Heard::No => "no",
            Heard::Weak => "weak",
            Heard::Distorted => "distorted",
        }
    }

    /// The verdict stored as `s`.
    pub fn from_name(s: &str) -> Option<Heard> {
        Heard::ALL.into_iter().find(|h| h.as_str() == s)
    }

    /// Its name on Chinese pages.
    pub fn zh(self) -> &'static str {
        match self {
            Heard::Yes => "听到了",
            Heard::No => "没听到",
            Heard::Weak => "声音太弱",
            Heard::Distorted => "失真",
        }
    }
}

impl fmt::Display for Heard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A cue's proof of play: the verdict, what was measured, and a sentence.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HeardNote {
    /// The verdict.
    pub heard: Heard,
    /// Level that came back, dBFS.
    pub level_dbfs: Option<f64>,
    /// Delay of what came back after what was sent, ms.
    pub delay_ms: Option<i64>,
    /// What the verdict rests on, for people (crossed wires name the zone heard instead).
    pub detail: super::Text,
}
