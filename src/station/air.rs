//! Where the station's cues go: the live playout thread, or an engine under a virtual clock.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use crate::config::Profile;
use crate::domain::{CueId, ZoneId};
use crate::engine::{CueCommand, ENGINE_RATE, Engine, EngineConfig};
use crate::playout::{Playout, PlayoutEvent};

/// Something that plays cues at instants: the station hands cues over a few seconds ahead.
pub trait Air: Send {
    /// Plays `cmd` so that it is heard at `at` (as soon as possible when `at` has passed).
    fn cue(&mut self, cmd: CueCommand, at: DateTime<Utc>);
    /// Plays `cmd` now.
    fn cue_now(&mut self, cmd: CueCommand);
    /// Stops one cue (fading out; a waiting cue is dropped).
    fn stop(&mut self, zone: &ZoneId, id: CueId);
    /// True when this air renders on a virtual clock, faster than real time: audio streamed
    /// from disk must then be waited for rather than skipped when late.
    fn waits_for_audio(&self) -> bool {
        false
    }
}

impl Air for Playout {
    fn cue(&mut self, cmd: CueCommand, at: DateTime<Utc>) {
        Playout::cue(self, cmd, Some(at));
    }

    fn cue_now(&mut self, cmd: CueCommand) {
        Playout::cue(self, cmd, None);
    }

    fn stop(&mut self, zone: &ZoneId, id: CueId) {
        Playout::stop(self, zone.clone(), id);
    }
}

/// The real engine driven by a virtual clock, rendering only while something plays and jumping
/// over silence: a month of a station's days in seconds, with every start, preemption and end
/// decided by the same mixer as live playout. The samples are discarded.
pub struct SimAir {
    engine: Engine,
    origin: DateTime<Utc>,
    waiting: VecDeque<(u64, CueCommand)>,
    now_cues: Vec<CueCommand>,
    stops: Vec<(ZoneId, CueId)>,
}

/// Frames rendered per step while something plays (100 ms).
const SIM_BLOCK: u64 = 4800;

impl SimAir {
    /// An engine for `profile` whose sample 0 is `origin`.
    pub fn new(profile: &Profile, origin: DateTime<Utc>) -> Self {
        Self {
            engine: Engine::new(profile, &EngineConfig::default()),
            origin,
            waiting: VecDeque::new(),
            now_cues: Vec::new(),
            stops: Vec::new(),
        }
    }

    /// The virtual instant the engine has reached.
    pub fn now(&self) -> DateTime<Utc> {
        self.utc_of(self.engine.now())
    }

    fn utc_of(&self, s: u64) -> DateTime<Utc> {
        self.origin + chrono::Duration::nanoseconds((s as i128 * 1_000_000_000 / i128::from(ENGINE_RATE)) as i64)
    }

    fn sample_of(&self, t: DateTime<Utc>) -> u64 {
        let ns = (t - self.origin).num_nanoseconds().unwrap_or(0).max(0) as i128;
        ((ns * i128::from(ENGINE_RATE) + 500_000_000) / 1_000_000_000) as u64
    }

    /// Runs the engine up to `until`, returning what happened, as the live playout reports it.
    pub fn advance(&mut self, until: DateTime<Utc>) -> Vec<PlayoutEvent> {
        let end = self.sample_of(until);
        let mut out = Vec::new();
        for (zone, id) in self.stops.drain(..) {
            let _ = self.engine.stop_cue(&zone, id);
        }
        for mut cmd in self.now_cues.drain(..) {
            cmd.start = self.engine.now();
            let _ = self.engine.cue(cmd);
        }
        while self.engine.now() < end {
            let now = self.engine.now();
            if self.engine.is_idle() {
                let next = self.waiting.front().map_or(end, |(s, _)| (*s).min(end));
                if next > now {
                    self.engine.skip_idle(next);
                    continue;
                }
            }
            let block_end = (now + SIM_BLOCK).min(end);
            while let Some((s, _)) = self.waiting.front()
                && *s < block_end
            {
                let (s, mut cmd) = self.waiting.pop_front().expect("front exists");
                let id = cmd.id;
                cmd.start = s.max(now);
                if let Err(e) = self.engine.cue(cmd) {
                    out.push(PlayoutEvent::Refused { id, why: e.to_string() });
                }
            }
            self.engine.render((block_end - now) as usize);
            for event in self.engine.drain_events() {
                out.push(PlayoutEvent::Cue { event, at: self.utc_of(event.sample) });
            }
        }
        out
    }
}

impl Air for SimAir {
    fn waits_for_audio(&self) -> bool {
        true
    }

    fn cue(&mut self, cmd: CueCommand, at: DateTime<Utc>) {
        let s = self.sample_of(at).max(self.engine.now());
        let pos = self.waiting.partition_point(|(w, _)| *w <= s);
        self.waiting.insert(pos, (s, cmd));
    }

    fn cue_now(&mut self, cmd: CueCommand) {
        self.now_cues.push(cmd);
    }

    fn stop(&mut self, zone: &ZoneId, id: CueId) {
        self.waiting.retain(|(_, c)| c.id != id);
        self.stops.push((zone.clone(), id));
    }
}
