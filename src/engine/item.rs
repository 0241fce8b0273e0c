//! One cue being played on a zone: its audio (chime then clip), its position, and its envelope.

use super::audio::Segment;
use crate::domain::{CueId, Priority};

/// What happens when the envelope reaches its target of zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AtZero {
    /// Stay at the current position, to resume later (preempted).
    Pause,
    /// Remove the item (stopped, or the clip ran out).
    Remove,
}

/// A cue inside the engine.
pub(super) struct Item {
    pub id: CueId,
    pub priority: Priority,
    /// Audio segments (chime, clip) with their linear gains; played back to back.
    pub segments: Vec<Segment>,
    /// Where streamed audio is copied before mixing.
    scratch: Vec<f32>,
    /// Frames a streamed source did not deliver in time (played as silence), since the zone
    /// last took the count.
    pub starved: u64,
    /// Total frames of all segments.
    pub len: u64,
    /// Frames played so far.
    pub pos: u64,
    /// Envelope value now, its per-sample step, and its target.
    pub env: f32,
    pub step: f32,
    pub target: f32,
    /// What to do when a fade to zero completes.
    pub at_zero: AtZero,
    /// True while paused (not advancing).
    pub paused: bool,
    /// True once the start event was sent.
    pub started: bool,
    /// True once the ending fade began (stop or natural end).
    pub ending: bool,
}

impl Item {
    pub fn new(id: CueId, priority: Priority, segments: Vec<Segment>) -> Self {
        let len = segments.iter().map(|s| s.frames).sum();
        Self {
            id,
            priority,
            segments,
            scratch: Vec::new(),
            starved: 0,
            len,
            pos: 0,
            env: 0.0,
            step: 0.0,
            target: 0.0,
            at_zero: AtZero::Pause,
            paused: true,
            started: false,
            ending: false,
        }
    }

    /// Opens the streamed segments (once each), so that their audio is fetched before it is due.
    pub fn open(&mut self) {
        self.segments.iter_mut().for_each(Segment::open);
    }

    /// Starts a linear fade from the current envelope to `target` over `frames` samples.
    pub fn fade_to(&mut self, target: f32, frames: u64) {
        self.target = target;
        let frames = frames.max(1) as f32;
        self.step = (target - self.env) / frames;
        if self.step == 0.0 {
            self.env = target;
        }
    }

    /// Frames left in the audio.
    pub fn remaining(&self) -> u64 {
        self.len - self.pos
    }

    /// Frames until the envelope reaches its target (0 when it is there).
    pub fn fade_left(&self) -> u64 {
        if self.step == 0.0 || self.env == self.target {
            0
        } else {
            (((self.target - self.env) / self.step).ceil().max(1.0)) as u64
        }
    }

    /// Mixes `n` frames into `out` (which has at least `n` samples), advancing position and envelope.
    /// With `add` false it overwrites `out` instead (zeroing whatever the audio does not cover).
    pub fn mix_into(&mut self, out: &mut [f32], n: usize, add: bool) {
        let mut written = 0usize;
        let fade = self.fade_left() as usize;
        while written < n && self.pos < self.len {
            // Locate the segment holding `pos`.
            let mut seg_start = 0u64;
            let mut seg = 0;
            while seg_start + self.segments[seg].frames <= self.pos {
                seg_start += self.segments[seg].frames;
                seg += 1;
            }
            let segment = &mut self.segments[seg];
            let gain = segment.gain;
            let offset = self.pos - seg_start;
            let take = (n - written).min((segment.frames - offset) as usize);
            let (src, missing) = segment.frames_at(offset, take, &mut self.scratch);
            self.starved += missing as u64;
            let dst = &mut out[written..written + take];
            // Ramp part, then flat part.
            let ramp = fade.saturating_sub(written).min(take);
            let mut env = self.env;
            if add {
                for (d, s) in dst[..ramp].iter_mut().zip(&src[..ramp]) {
                    env += self.step;
                    *d += *s * env * gain;
                }
            } else {
                for (d, s) in dst[..ramp].iter_mut().zip(&src[..ramp]) {
                    env += self.step;
                    *d = *s * env * gain;
                }
            }
            if ramp > 0 {
                self.env = if ramp + written >= fade { self.target } else { env };
            }
            let g = self.env * gain;
            match (add, g == 0.0) {
                (true, true) => {}
                (true, false) => dst[ramp..].iter_mut().zip(&src[ramp..]).for_each(|(d, s)| *d += *s * g),
                (false, true) => dst[ramp..].fill(0.0),
                (false, false) => dst[ramp..].iter_mut().zip(&src[ramp..]).for_each(|(d, s)| *d = *s * g),
            }
            written += take;
            self.pos += take as u64;
        }
        if !add && written < n {
            out[written..n].fill(0.0);
        }
        if fade > 0 && fade <= n {
            self.env = self.target;
            self.step = 0.0;
        }
    }
}
