//! What the station says about itself: every condition a village would notice, with a sentence
//! in Chinese and English, since when, and a metric — the one source `/healthz`, `/metrics` and
//! the dashboard read, so that they cannot disagree.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// A kind of trouble, the key of [`Health`]. Each has a gauge in `/metrics`
/// (`xiangyin_degraded{reason="…"}`), present at 0 while all is well.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Concern {
    /// The configured sound card was missing at start: the station records instead of playing.
    Fallback,
    /// An output is not playing (its name).
    Output(String),
    /// The state directory's disk is full.
    DiskFull,
    /// The state directory's disk has less free space than the warning threshold.
    DiskLow,
    /// As-run rows cannot be written: they are kept in memory until the disk takes them.
    AsRunBacklog,
    /// A WAV recorder stopped recording (its output name); playing goes on.
    Recorder(String),
    /// The wall clock was stepped recently: cues around the step may be late or re-timed.
    ClockStep,
    /// A recording a cue needs soon cannot be read.
    Audio,
    /// Streamed audio came from the disk too late and played as silence (a disk that stalls).
    AudioLate,
    /// Several imports in a row failed for a reason that is not the file's fault.
    Imports,
    /// A hand edit of the configuration was refused; the last good plan keeps playing.
    Reload,
    /// An amplifier relay does not answer (its name): only its zones are affected.
    Relay(String),
    /// A capture input that listens to the lines stopped (its name): their cues are not proven.
    Capture(String),
    /// A village line came back silent, weak, distorted or crossed (its zone).
    Line(String),
}

impl Concern {
    /// The `reason` label of its gauge.
    pub fn reason(&self) -> &'static str {
        match self {
            Concern::Fallback => "fallback",
            Concern::Output(_) => "output",
            Concern::DiskFull => "disk-full",
            Concern::DiskLow => "disk-low",
            Concern::AsRunBacklog => "as-run-backlog",
            Concern::Recorder(_) => "recorder",
            Concern::ClockStep => "clock-step",
            Concern::Audio => "audio",
            Concern::AudioLate => "audio-late",
            Concern::Imports => "imports",
            Concern::Reload => "reload",
            Concern::Relay(_) => "relay",
            Concern::Capture(_) => "capture",
            Concern::Line(_) => "line",
        }
    }

    /// Every reason label, for gauges that exist while all is well.
    pub const REASONS: [&'static str; 14] = [
        "fallback",
        "output",
        "disk-full",
        "disk-low",
        "as-run-backlog",
        "recorder",
        "clock-step",
        "audio",
        "audio-late",
        "imports",
        "reload",
        "relay",
        "capture",
        "line",
    ];
}

/// One problem as people read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// What kind (`reason` of the gauge).
    pub reason: &'static str,
    /// The output or recorder it is about, when it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Since when.
    pub since: DateTime<Utc>,
    /// The sentence in English.
    pub message: String,
    /// The sentence in Chinese.
    pub message_zh: String,
}

/// The station's current problems; empty when all is well.
#[derive(Debug, Clone, Default)]
pub struct Health {
    problems: BTreeMap<Concern, Problem>,
    /// Problems that end by themselves at an instant (a clock step's window).
    expires: BTreeMap<Concern, DateTime<Utc>>,
}

impl Health {
    /// Raises (or updates the sentences of) a problem; keeps its first `since`.
    pub fn raise(&mut self, concern: Concern, now: DateTime<Utc>, en: impl Into<String>, zh: impl Into<String>) {
        let (en, zh) = (en.into(), zh.into());
        let subject = match &concern {
            Concern::Output(n) | Concern::Recorder(n) | Concern::Relay(n) | Concern::Capture(n) | Concern::Line(n) => {
                Some(n.clone())
            }
            _ => None,
        };
        let reason = concern.reason();
        self.problems
            .entry(concern)
            .and_modify(|p| {
                p.message.clone_from(&en);
                p.message_zh.clone_from(&zh);
            })
            .or_insert(Problem { reason, subject, since: now, message: en, message_zh: zh });
    }

    /// [`Health::raise`] for a problem that clears itself after `lasts`.
    pub fn raise_for(
        &mut self,
        concern: Concern,
        now: DateTime<Utc>,
        lasts: Duration,
        en: impl Into<String>,
        zh: impl Into<String>,
    ) {
        self.expires.insert(concern.clone(), now + chrono::Duration::from_std(lasts).unwrap_or_default());
        self.raise(concern, now, en, zh);
    }

    /// Clears a problem; true when it was raised.
    pub fn clear(&mut self, concern: &Concern) -> bool {
        self.expires.remove(concern);
        self.problems.remove(concern).is_some()
    }

    /// True while `concern` is raised.
    pub fn has(&self, concern: &Concern) -> bool {
        self.problems.contains_key(concern)
    }

    /// Drops problems whose time is over.
    pub fn expire(&mut self, now: DateTime<Utc>) {
        let over: Vec<Concern> = self.expires.iter().filter(|(_, t)| **t <= now).map(|(c, _)| c.clone()).collect();
        for c in over {
            self.clear(&c);
        }
    }

    /// The problems, most basic first (no card, outputs, disk…).
    pub fn problems(&self) -> Vec<Problem> {
        self.problems.values().cloned().collect()
    }

    /// True when nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// Problems by gauge reason, counted (for `xiangyin_degraded`).
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut m: BTreeMap<&'static str, usize> = Concern::REASONS.iter().map(|r| (*r, 0)).collect();
        for c in self.problems.keys() {
            *m.entry(c.reason()).or_default() += 1;
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_keeps_its_first_instant_and_a_timed_one_ends_by_itself() {
        let t0 = Utc::now();
        let mut h = Health::default();
        assert!(h.is_ok());
        h.raise(Concern::DiskFull, t0, "disk full", "磁盘已满");
        h.raise(Concern::DiskFull, t0 + chrono::Duration::seconds(5), "disk full (0 MB)", "磁盘已满（0 MB）");
        assert_eq!(h.problems()[0].since, t0);
        assert_eq!(h.problems()[0].message, "disk full (0 MB)");
        h.raise_for(Concern::ClockStep, t0, Duration::from_secs(60), "step", "跳变");
        assert_eq!(h.counts()["clock-step"], 1);
        h.expire(t0 + chrono::Duration::seconds(59));
        assert!(h.has(&Concern::ClockStep));
        h.expire(t0 + chrono::Duration::seconds(60));
        assert!(!h.has(&Concern::ClockStep));
        assert!(h.clear(&Concern::DiskFull));
        assert!(h.is_ok());
        assert_eq!(h.counts()["disk-full"], 0, "gauges stay present at 0");
    }
}
