//! The one priority table (DESIGN.md): 1 emergency … 5 background.

use std::fmt;

/// How urgent a cue is. Lower numbers win: an emergency preempts everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// 1 — preempts all, ignores quiet hours, plays at the configured maximum level.
    Emergency = 1,
    /// 2 — the operator's microphone.
    Live = 2,
    /// 3 — "broadcast now".
    Manual = 3,
    /// 4 — slots from the schedule.
    Scheduled = 4,
    /// 5 — fill, ducked or paused by anything above.
    Background = 5,
}

impl Priority {
    /// All levels, most urgent first.
    pub const ALL: [Priority; 5] =
        [Priority::Emergency, Priority::Live, Priority::Manual, Priority::Scheduled, Priority::Background];

    /// The level number 1–5 of the table.
    pub fn level(self) -> u8 {
        self as u8
    }

    /// The name used in YAML, the CLI and logs.
    pub fn name(self) -> &'static str {
        match self {
            Priority::Emergency => "emergency",
            Priority::Live => "live",
            Priority::Manual => "manual",
            Priority::Scheduled => "scheduled",
            Priority::Background => "background",
        }
    }

    /// True when a cue at `self` interrupts one playing at `other` (strictly more urgent).
    pub fn preempts(self, other: Priority) -> bool {
        self < other
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emergency_preempts_everything_and_equal_levels_do_not() {
        for p in &Priority::ALL[1..] {
            assert!(Priority::Emergency.preempts(*p));
        }
        assert!(!Priority::Scheduled.preempts(Priority::Scheduled));
        assert!(!Priority::Background.preempts(Priority::Manual));
        assert_eq!(Priority::Manual.level(), 3);
    }
}
