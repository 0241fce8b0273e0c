//! The playout clock: which engine sample is heard at which instant, on the monotonic clock (for
//! the outputs) and on the wall clock (for the schedule and the as-run log).
//!
//! Samples are tied to the monotonic clock once and for all: sample `s` is heard at
//! `origin + s / 48 kHz`. The wall-clock side is an anchor that can move: when the system clock is
//! stepped (an NTP correction, an operator's `date -s`), [`Clock::step_seen`] notices that the
//! wall clock no longer reads what the anchor expects and [`Clock::reanchor`] moves the anchor, so
//! that cues keep following the wall clock the schedule is written in and the log records what
//! the wall clock said when each cue was heard. Slewing (the small rate corrections NTP makes all
//! the time) moves both clocks alike and is never mistaken for a step.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::engine::ENGINE_RATE;

/// A difference between the wall clock and the anchor larger than this is a step.
pub const STEP_THRESHOLD: Duration = Duration::from_millis(50);
/// A reading whose monotonic bracket is wider than this (the thread was descheduled between the
/// two clock reads) is not used to judge a step.
const READ_BRACKET: Duration = Duration::from_millis(5);

/// Maps engine samples to the instants they are heard. Clones share one anchor: a re-anchor is
/// seen by every clone at once.
#[derive(Debug, Clone)]
pub struct Clock {
    origin: Instant,
    /// Wall-clock instant of sample 0, in nanoseconds since the Unix epoch.
    origin_utc_ns: Arc<AtomicI64>,
}

impl Clock {
    /// A clock whose sample 0 is heard `lead` from now.
    pub fn starting_in(lead: Duration) -> Self {
        Self::anchored(Instant::now() + lead, Utc::now() + chrono::Duration::from_std(lead).unwrap_or_default())
    }

    /// A clock whose sample 0 is heard at `origin` on the monotonic clock and `origin_utc` on the
    /// wall clock.
    pub fn anchored(origin: Instant, origin_utc: DateTime<Utc>) -> Self {
        let ns = origin_utc.timestamp_nanos_opt().unwrap_or(0);
        Self { origin, origin_utc_ns: Arc::new(AtomicI64::new(ns)) }
    }

    fn origin_utc(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.origin_utc_ns.load(Ordering::Acquire))
    }

    /// When sample `s` is heard, on the wall clock.
    pub fn utc_of(&self, s: u64) -> DateTime<Utc> {
        self.origin_utc() + chrono::Duration::nanoseconds((s as i128 * 1_000_000_000 / i128::from(ENGINE_RATE)) as i64)
    }

    /// The sample heard at wall-clock instant `t` (0 for instants before sample 0).
    pub fn sample_of(&self, t: DateTime<Utc>) -> u64 {
        let ns = (t - self.origin_utc()).num_nanoseconds().unwrap_or(0).max(0) as i128;
        ((ns * i128::from(ENGINE_RATE) + 500_000_000) / 1_000_000_000) as u64
    }

    /// When sample `s` is heard, on the monotonic clock.
    pub fn instant_of(&self, s: u64) -> Instant {
        self.origin + Duration::from_nanos((s as u128 * 1_000_000_000 / u128::from(ENGINE_RATE)) as u64)
    }

    /// What the wall clock should read at monotonic instant `at`, by the anchor.
    pub fn expected_utc(&self, at: Instant) -> DateTime<Utc> {
        let ns = match at.checked_duration_since(self.origin) {
            Some(d) => d.as_nanos() as i64,
            None => -(self.origin.duration_since(at).as_nanos() as i64),
        };
        self.origin_utc() + chrono::Duration::nanoseconds(ns)
    }

    /// How far the wall clock reads from the anchor now (positive: it was stepped forward), when
    /// that is more than [`STEP_THRESHOLD`]; `None` otherwise.
    pub fn step_seen(&self) -> Option<chrono::Duration> {
        let before = Instant::now();
        let wall = Utc::now();
        let after = Instant::now();
        if after - before > READ_BRACKET {
            return None;
        }
        let off = wall - self.expected_utc(before + (after - before) / 2);
        let threshold = chrono::Duration::from_std(STEP_THRESHOLD).unwrap_or_default();
        (off.abs() > threshold).then_some(off)
    }

    /// Moves the wall-clock anchor by `by`: from now on, sample `s` is heard at the wall-clock
    /// instant it had before plus `by`.
    pub fn reanchor(&self, by: chrono::Duration) {
        self.origin_utc_ns.fetch_add(by.num_nanoseconds().unwrap_or(0), Ordering::AcqRel);
    }
}

/// Engine samples in `d` (rounded; negative for negative durations).
pub fn samples_in(d: chrono::Duration) -> i64 {
    let ns = i128::from(d.num_nanoseconds().unwrap_or(0));
    let s = (ns * i128::from(ENGINE_RATE) + ns.signum() * 500_000_000) / 1_000_000_000;
    s.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reanchored_clock_maps_the_same_sample_to_the_shifted_wall_instant() {
        let t0 = DateTime::parse_from_rfc3339("2026-12-04T07:00:00Z").unwrap().with_timezone(&Utc);
        let c = Clock::anchored(Instant::now(), t0);
        let copy = c.clone();
        assert_eq!(c.sample_of(t0 + chrono::Duration::seconds(2)), 96_000);
        c.reanchor(chrono::Duration::seconds(60));
        // The copy sees it too: the playout handle and the thread share one anchor.
        assert_eq!(copy.utc_of(96_000), t0 + chrono::Duration::seconds(62));
        assert_eq!(copy.sample_of(t0 + chrono::Duration::seconds(62)), 96_000);
        assert_eq!(copy.sample_of(t0), 0, "before sample 0");
    }

    #[test]
    fn the_wall_clock_read_against_a_wrong_anchor_is_a_step_and_a_right_one_is_not() {
        let now = Instant::now();
        let right = Clock::anchored(now, Utc::now());
        assert_eq!(right.step_seen(), None);
        let wrong = Clock::anchored(now, Utc::now() - chrono::Duration::seconds(60));
        let off = wrong.step_seen().expect("a 60 s difference is a step");
        assert!((off - chrono::Duration::seconds(60)).abs() < chrono::Duration::milliseconds(20), "{off}");
        wrong.reanchor(off);
        assert_eq!(wrong.step_seen(), None, "absorbed once re-anchored");
    }

    #[test]
    fn samples_in_rounds_both_ways() {
        assert_eq!(samples_in(chrono::Duration::seconds(1)), 48_000);
        assert_eq!(samples_in(chrono::Duration::seconds(-60)), -2_880_000);
        assert_eq!(samples_in(chrono::Duration::microseconds(11)), 1);
    }
}
