//! The outcomes the as-run log records, with their stable names.

use crate::scheduler::Outcome;

/// What happened to a cue. The names ([`AsRunOutcome::name`]) are stored in the database and
/// printed by `xiangyin log`; they never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AsRunOutcome {
    /// `played`: started at its scheduled instant and played to its end.
    Played,
    /// `preempted`: a more urgent cue interrupted it (DESIGN.md priority table). On air: paused,
    /// waiting to resume. Final: it never resumed (its slot said not to, or it was cut off).
    Preempted,
    /// `resumed`: after being preempted it resumed where it stopped. Final: it then played to its end.
    Resumed,
    /// `late`: started after its scheduled instant — it waited behind an equal-priority cue, or the
    /// station restarted within the slot's grace — and (final) played to its end. `late_by` says
    /// how late. [`Store::mark_started`](super::Store::mark_started) sets it;
    /// [`Store::mark_ended`](super::Store::mark_ended) keeps it for `played`.
    Late,
    /// `missed`: never started: the station was not running when it was due, and came back after
    /// the slot's grace.
    Missed,
    /// `skipped-quiet-hours`: its start fell in the village's quiet hours and the slot says skip.
    SkippedQuietHours,
    /// `skipped-expired`: the variant the village would have heard had passed its last day.
    SkippedExpired,
    /// `skipped-holiday`: the slot does not play on holidays and the firing's date is one (no clip).
    SkippedHoliday,
    /// `skipped-max-plays`: the clip had already been planned to play its
    /// [`max_plays_per_day`](crate::library::ClipMeta::max_plays_per_day) in the village that local
    /// day. Never airs.
    SkippedMaxPlays,
    /// `no-variant`: no approved clip of the message in the village's languages, the station
    /// default or `zxx` (no clip; `detail` names the message).
    NoVariant,
    /// `failed-output`: the output feeding its zone failed (`detail` names it). Before the start:
    /// it could not play. On air or final: the village may have heard it only in part.
    FailedOutput,
    /// `stopped`: stopped before its end by an operator, or by the station shutting down.
    Stopped,
}

impl AsRunOutcome {
    /// Every outcome, in the order of the list above.
    pub const ALL: [AsRunOutcome; 12] = [
        AsRunOutcome::Played,
        AsRunOutcome::Preempted,
        AsRunOutcome::Resumed,
        AsRunOutcome::Late,
        AsRunOutcome::Missed,
        AsRunOutcome::SkippedQuietHours,
        AsRunOutcome::SkippedExpired,
        AsRunOutcome::SkippedHoliday,
        AsRunOutcome::SkippedMaxPlays,
        AsRunOutcome::NoVariant,
        AsRunOutcome::FailedOutput,
        AsRunOutcome::Stopped,
    ];

    /// The stable lower-case name, as stored and printed.
    pub fn name(self) -> &'static str {
        match self {
            AsRunOutcome::Played => "played",
            AsRunOutcome::Preempted => "preempted",
            AsRunOutcome::Resumed => "resumed",
            AsRunOutcome::Late => "late",
            AsRunOutcome::Missed => "missed",
            AsRunOutcome::SkippedQuietHours => "skipped-quiet-hours",
            AsRunOutcome::SkippedExpired => "skipped-expired",
            AsRunOutcome::SkippedHoliday => "skipped-holiday",
            AsRunOutcome::SkippedMaxPlays => "skipped-max-plays",
            AsRunOutcome::NoVariant => "no-variant",
            AsRunOutcome::FailedOutput => "failed-output",
            AsRunOutcome::Stopped => "stopped",
        }
    }

    /// The outcome named `name` ([`AsRunOutcome::name`]).
    pub fn from_name(name: &str) -> Option<AsRunOutcome> {
        Self::ALL.into_iter().find(|o| o.name() == name)
    }

    /// The final outcome the scheduler already decided for a planned entry; `None` for entries
    /// that go to the engine (play, deferred).
    pub fn of_planned(outcome: &Outcome) -> Option<AsRunOutcome> {
        match outcome {
            Outcome::Play | Outcome::Deferred { .. } => None,
            Outcome::SkippedQuietHours => Some(AsRunOutcome::SkippedQuietHours),
            Outcome::SkippedExpired => Some(AsRunOutcome::SkippedExpired),
            Outcome::NoVariant { .. } => Some(AsRunOutcome::NoVariant),
            Outcome::SkippedHoliday => Some(AsRunOutcome::SkippedHoliday),
            Outcome::SkippedMaxPlays => Some(AsRunOutcome::SkippedMaxPlays),
        }
    }

    /// Whether a row must have started (`Some(true)`), must not have (`Some(false)`), or may
    /// either way (`None`) to take this outcome.
    pub(super) fn needs_start(self) -> Option<bool> {
        match self {
            AsRunOutcome::Played | AsRunOutcome::Preempted | AsRunOutcome::Resumed | AsRunOutcome::Late => Some(true),
            AsRunOutcome::Missed
            | AsRunOutcome::SkippedQuietHours
            | AsRunOutcome::SkippedExpired
            | AsRunOutcome::SkippedHoliday
            | AsRunOutcome::SkippedMaxPlays
            | AsRunOutcome::NoVariant => Some(false),
            AsRunOutcome::FailedOutput | AsRunOutcome::Stopped => None,
        }
    }
}

impl std::fmt::Display for AsRunOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
