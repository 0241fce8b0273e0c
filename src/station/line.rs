//! The station's small interface to the village lines (the `line/` room): amplifier power ahead
//! of the cues that need it, and proof of play (what each line's capture tap heard).
//!
//! The station tells the line what is coming and what is on air ([`LinePort`]); the line tells
//! the station what it found ([`LineReport`]), which the station writes into the as-run log,
//! health and metrics. The station never waits for the line: every call returns at once (relays
//! are switched and lines judged on the line's own threads).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::journal::Write;
use super::{Air, Concern, Station};
use crate::domain::{CueId, Heard, HeardNote, Text, VillageId, ZoneId};

/// What the line found, for the station to record.
#[derive(Debug, Clone, PartialEq)]
pub enum LineReport {
    /// The proof of play of a cue that has ended (or of a stretch of one still on air, which a
    /// later report of the same cue replaces).
    Heard {
        /// The cue.
        cue: CueId,
        /// Its village.
        village: VillageId,
        /// The verdict.
        note: HeardNote,
        /// True when the cue has ended (the final verdict).
        last: bool,
    },
    /// Something about the line hardware is wrong (`problem`) or well again (`None`): a relay
    /// that does not answer, a capture input that stopped, a line that came back silent.
    Problem {
        /// What it concerns.
        concern: LineConcern,
        /// The sentence, or `None` when it is well again.
        problem: Option<Text>,
    },
}

/// What a line problem concerns (each is one entry of health).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum LineConcern {
    /// A relay device (its name).
    Relay(String),
    /// A capture input (its name).
    Capture(String),
    /// A zone's line: silent, weak, distorted, or crossed.
    Line(ZoneId),
}

/// One zone's line, for the dashboard and `/api/lines`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LineState {
    /// Amplifier power: `Some(true)` on, `Some(false)` off, `None` when no relay powers it.
    pub power: Option<bool>,
    /// The relay channel is forced by `xiangyin line power` (until released).
    pub forced: bool,
    /// The relay that powers it is not answering.
    pub relay_failing: bool,
    /// A capture channel listens to it.
    pub monitored: bool,
    /// The last verdict and when the cue it is about started.
    pub last: Option<(Heard, DateTime<Utc>)>,
}

/// What the station needs of the village lines. [`NoLine`] is the station without relays or
/// capture inputs.
pub trait LinePort: Send {
    /// The cues that will start soon (zone, instant), replacing the last list: amplifiers are
    /// powered `lead_in` before each.
    fn upcoming(&mut self, cues: &[(ZoneId, DateTime<Utc>)]);
    /// A cue for `village` is heard from `at` on `zone` (again, after a preemption, when it
    /// resumes).
    fn started(&mut self, cue: CueId, village: &VillageId, zone: &ZoneId, at: DateTime<Utc>);
    /// A cue on `zone` ended at `at` (its amplifier may power off after its hang time).
    fn ended(&mut self, cue: CueId, zone: &ZoneId, at: DateTime<Utc>);
    /// The earliest instant a cue that should play now on `zone` may start so that its
    /// amplifier has had its lead-in (`now` when it is on already or needs no relay); the
    /// amplifier is switched on at once — for an `emergency` even when an operator forced it
    /// off. Never later than `now` + the lead-in.
    fn ready_at(&mut self, zone: &ZoneId, now: DateTime<Utc>, emergency: bool) -> DateTime<Utc>;
    /// What the line found since the last call.
    fn poll(&mut self) -> Vec<LineReport>;
    /// Each zone's line now.
    fn states(&self) -> BTreeMap<ZoneId, LineState>;
    /// Forces a zone's amplifier on or off (`Some`), or gives it back to the schedule (`None`).
    fn force(&mut self, zone: &ZoneId, on: Option<bool>) -> Result<(), Text>;
}

/// No relays and no capture inputs: every amplifier is always on, nothing is heard back.
#[derive(Debug, Default)]
pub struct NoLine;

impl LinePort for NoLine {
    fn upcoming(&mut self, _: &[(ZoneId, DateTime<Utc>)]) {}
    fn started(&mut self, _: CueId, _: &VillageId, _: &ZoneId, _: DateTime<Utc>) {}
    fn ended(&mut self, _: CueId, _: &ZoneId, _: DateTime<Utc>) {}
    fn ready_at(&mut self, _: &ZoneId, now: DateTime<Utc>, _: bool) -> DateTime<Utc> {
        now
    }
    fn poll(&mut self) -> Vec<LineReport> {
        Vec::new()
    }
    fn states(&self) -> BTreeMap<ZoneId, LineState> {
        BTreeMap::new()
    }
    fn force(&mut self, zone: &ZoneId, _: Option<bool>) -> Result<(), Text> {
        Err(Text::new(
            format!("Zone `{zone}` has no amplifier relay in the hardware profile (see `power:`)."),
            format!("硬件配置里分区 `{zone}` 没有功放继电器（见 `power:`）。"),
        ))
    }
}

impl<A: Air> Station<A> {
    /// Joins the station to its village lines (relays and capture taps).
    pub fn set_line(&mut self, line: Box<dyn LinePort>) {
        self.line = line;
    }

    /// Each zone's line now (power, last verdict).
    pub fn line_states(&self) -> BTreeMap<ZoneId, LineState> {
        self.line.states()
    }

    /// Forces the amplifier of `village` on or off, or back to the schedule.
    pub fn force_power(&mut self, village: &VillageId, on: Option<bool>) -> Result<(), Text> {
        let zone = self.plan.village(village).map(|v| v.zone.clone()).ok_or_else(|| {
            Text::new(
                format!("There is no village `{village}` on this station."),
                format!("这个广播站没有村 `{village}`。"),
            )
        })?;
        self.line.force(&zone, on)
    }

    /// Tells the line what comes, and records what it found.
    pub(super) fn line_tick(&mut self, now: DateTime<Utc>) {
        let mut upcoming: Vec<(ZoneId, DateTime<Utc>)> =
            self.saved.pending.iter().map(|p| (p.cue.zone.clone(), p.cue.at)).collect();
        upcoming.extend(self.manual.values().map(|c| (c.zone.clone(), c.at)));
        self.line.upcoming(&upcoming);
        for report in self.line.poll() {
            match report {
                LineReport::Heard { cue, village, note, last } => {
                    if last {
                        self.metrics.count_heard(&village, note.heard);
                    }
                    self.journal.write(Write::Heard { id: cue, note }, now);
                }
                LineReport::Problem { concern, problem } => {
                    let (c, problem) = match concern {
                        LineConcern::Relay(r) => (Concern::Relay(r), problem),
                        LineConcern::Capture(i) => (Concern::Capture(i), problem),
                        LineConcern::Line(z) => {
                            // Said of the villages the zone reaches, by name.
                            let names: Vec<&str> =
                                self.plan.villages.iter().filter(|v| v.zone == z).map(|v| v.name.as_str()).collect();
                            let who = if names.is_empty() { z.to_string() } else { names.join("、") };
                            let problem =
                                problem.map(|t| Text::new(format!("{who}: {}", t.en), format!("{who}：{}", t.zh)));
                            (Concern::Line(z.to_string()), problem)
                        }
                    };
                    match problem {
                        Some(t) => self.health.raise(c, now, t.en, t.zh),
                        None => {
                            self.health.clear(&c);
                        }
                    }
                }
            }
        }
    }
}
