//! The playout engine: per-zone layers by priority, fades, chime, ducking, gain, limiter, routing
//! of zones to output channels, and resampling for outputs not at the engine rate.
//!
//! [`Engine`] is pure: a pull function [`Engine::render`] driven by its own sample clock. It knows
//! nothing of cpal, HTTP, YAML or the wall clock; [`handle`] runs it as an actor for live playout.

mod audio;
mod item;
pub mod limiter;
mod resample;
mod zone;

use std::collections::HashMap;
use std::time::Duration;

use crate::config::Profile;
use crate::domain::{CueId, GainDb, Priority, ZoneId};

use audio::Segment;
pub use audio::{Audio, Reader, Source};
use item::Item;
use limiter::Limiter;
use resample::OutputResampler;
use zone::{Timing, Zone};

/// The engine's own rate: every canonical clip is at this rate.
pub const ENGINE_RATE: u32 = crate::library::CANONICAL_RATE;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Length of every fade (start, stop, pause, resume).
    pub fade: Duration,
    /// How far background is lowered under anything more urgent, dB (negative).
    pub duck_db: f64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self { fade: Duration::from_millis(30), duck_db: -18.0 }
    }
}

/// A cue as the engine needs it: audio, level, priority and start sample.
#[derive(Debug, Clone)]
pub struct CueCommand {
    /// Cue id, echoed in events.
    pub id: CueId,
    /// Zone to play on.
    pub zone: ZoneId,
    /// Mono audio at [`ENGINE_RATE`].
    pub audio: Audio,
    /// Total gain for the clip.
    pub gain: GainDb,
    /// Optional chime before the clip, with its gain.
    pub chime: Option<(Audio, GainDb)>,
    /// Priority level.
    pub priority: Priority,
    /// Engine sample at which it becomes due (if its level is busy, it waits its turn).
    pub start: u64,
}

/// What happened, at which engine sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// Engine sample (at [`ENGINE_RATE`]).
    pub sample: u64,
    /// What.
    pub kind: EventKind,
}

/// Kinds of engine events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The cue began (its fade-in starts here).
    Started(CueId),
    /// The cue played to its end.
    Ended(CueId),
    /// A more urgent cue paused it (its fade-out starts here).
    Preempted(CueId),
    /// It continues from where it paused.
    Resumed(CueId),
    /// It was stopped by command before its end.
    Stopped(CueId),
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The zone is not wired in the profile.
    #[error("zone `{0}` is not wired in this hardware profile")]
    UnknownZone(ZoneId),
    /// The start is before the engine's clock.
    #[error("cue {id} starts at sample {start}, before the engine clock ({now})")]
    InThePast {
        /// Cue.
        id: CueId,
        /// Requested start.
        start: u64,
        /// Engine clock.
        now: u64,
    },
}

struct OutputMix {
    channels: usize,
    /// One block per channel at the engine rate (planar: routing and limiting stay contiguous).
    planes: Vec<Vec<f32>>,
    /// True for channels something was routed to in this block.
    touched: Vec<bool>,
    /// The block interleaved at the engine rate.
    buf: Vec<f32>,
    limiters: Vec<Limiter>,
    resampler: Option<OutputResampler>,
    /// What `render` returns for this output (at the output rate).
    ready: Vec<f32>,
}

/// The mixer for one hardware profile.
pub struct Engine {
    timing: Timing,
    zones: Vec<Zone>,
    zone_index: HashMap<ZoneId, usize>,
    /// Per zone: (output, channel, trim).
    routes: Vec<Vec<(usize, usize, f32)>>,
    outputs: Vec<OutputMix>,
    now: u64,
    events: Vec<Event>,
    scratch: Vec<f32>,
}

impl Engine {
    /// An engine for `profile`'s outputs and zones.
    pub fn new(profile: &Profile, cfg: &EngineConfig) -> Self {
        let fade = (cfg.fade.as_secs_f64() * f64::from(ENGINE_RATE)).round().max(1.0) as u64;
        let ceiling = GainDb(profile.max_level_dbfs).linear() as f32;
        let outputs = profile
            .outputs
            .iter()
            .map(|o| OutputMix {
                channels: usize::from(o.channels),
                planes: vec![Vec::new(); usize::from(o.channels)],
                touched: vec![false; usize::from(o.channels)],
                buf: Vec::new(),
                limiters: vec![Limiter::new(ceiling, ENGINE_RATE); usize::from(o.channels)],
                resampler: (o.rate != ENGINE_RATE)
                    .then(|| OutputResampler::new(ENGINE_RATE, o.rate, usize::from(o.channels))),
                ready: Vec::new(),
            })
            .collect();
        let mut zones = Vec::new();
        let mut zone_index = HashMap::new();
        let mut routes = Vec::new();
        for (id, chans) in &profile.zones {
            zone_index.insert(id.clone(), zones.len());
            zones.push(Zone::new());
            routes.push(chans.iter().map(|c| (c.output, usize::from(c.channel), c.trim.linear() as f32)).collect());
        }
        Self {
            timing: Timing { fade, duck: GainDb(cfg.duck_db).linear() as f32 },
            zones,
            zone_index,
            routes,
            outputs,
            now: 0,
            events: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// The engine clock: samples rendered so far at [`ENGINE_RATE`].
    pub fn now(&self) -> u64 {
        self.now
    }

    /// True when no zone has anything playing, paused, queued or pending.
    pub fn is_idle(&self) -> bool {
        self.zones.iter().all(Zone::is_idle)
    }

    /// Moves the clock to sample `to` without rendering, when [`Engine::is_idle`] (a virtual clock
    /// jumping over silence: a month simulated in seconds). Returns false, changing nothing, when
    /// something is playing or waiting, or `to` is in the past.
    pub fn skip_idle(&mut self, to: u64) -> bool {
        if !self.is_idle() || to < self.now {
            return false;
        }
        self.now = to;
        true
    }

    fn zone(&self, id: &ZoneId) -> Result<usize, EngineError> {
        self.zone_index.get(id).copied().ok_or_else(|| EngineError::UnknownZone(id.clone()))
    }

    /// Adds a cue. It becomes due at `cmd.start` (which must not be in the past).
    pub fn cue(&mut self, cmd: CueCommand) -> Result<(), EngineError> {
        let z = self.zone(&cmd.zone)?;
        if cmd.start < self.now {
            return Err(EngineError::InThePast { id: cmd.id, start: cmd.start, now: self.now });
        }
        let mut segments = Vec::with_capacity(2);
        if let Some((chime, g)) = cmd.chime {
            segments.push(Segment::new(chime, g.linear() as f32));
        }
        segments.push(Segment::new(cmd.audio, cmd.gain.linear() as f32));
        self.zones[z].add(cmd.start, Item::new(cmd.id, cmd.priority, segments));
        Ok(())
    }

    /// Moves every cue not yet due by `delta` samples (negative: earlier), never before the
    /// engine clock: what a live player does when the wall clock its cues were placed by is
    /// stepped. Cues playing, paused or queued are not touched. Returns how many cues moved.
    pub fn shift_pending(&mut self, delta: i64) -> usize {
        let now = self.now;
        self.zones.iter_mut().map(|z| z.shift_pending(delta, now)).sum()
    }

    /// Stops a cue on `zone` (fading out if it is playing). False if it was not there.
    pub fn stop_cue(&mut self, zone: &ZoneId, id: CueId) -> Result<bool, EngineError> {
        let z = self.zone(zone)?;
        Ok(self.zones[z].stop(id, self.now, self.timing.fade, &mut self.events))
    }

    /// Stops everything on a zone.
    pub fn stop_zone(&mut self, zone: &ZoneId) -> Result<(), EngineError> {
        let z = self.zone(zone)?;
        self.zones[z].stop_all(self.now, self.timing.fade, &mut self.events);
        Ok(())
    }

    /// Sets a zone's volume (ramped over one fade).
    pub fn set_zone_volume(&mut self, zone: &ZoneId, gain: GainDb) -> Result<(), EngineError> {
        let z = self.zone(zone)?;
        self.zones[z].set_volume(gain.linear() as f32, self.timing.fade);
        Ok(())
    }

    /// Frames of streamed audio that were not fetched in time and played as silence, in all
    /// (a disk that did not keep up; 0 on a healthy station).
    pub fn starved_frames(&self) -> u64 {
        self.zones.iter().map(Zone::starved).sum()
    }

    /// Events since the last call, in sample order.
    pub fn drain_events(&mut self) -> Vec<Event> {
        let mut ev = std::mem::take(&mut self.events);
        ev.sort_by_key(|e| e.sample);
        ev
    }

    /// Renders the next `frames` engine samples. Returns, per output in profile order, interleaved
    /// samples at that output's rate and channel count (about `frames × rate / 48000` frames).
    pub fn render(&mut self, frames: usize) -> Vec<&[f32]> {
        for o in &mut self.outputs {
            o.touched.fill(false);
        }
        self.scratch.resize(frames, 0.0);
        for (z, zone) in self.zones.iter_mut().enumerate() {
            if zone.is_idle() {
                continue;
            }
            let routes = &self.routes[z];
            // Fast path: render straight into the first channel's plane when it is still empty.
            let direct = routes.first().filter(|&&(o, ch, _)| !self.outputs[o].touched[ch]).copied();
            let mut mono = match direct {
                Some((o, ch, _)) => std::mem::take(&mut self.outputs[o].planes[ch]),
                None => std::mem::take(&mut self.scratch),
            };
            mono.resize(frames, 0.0);
            zone.render(self.now, &mut mono[..frames], self.timing, &mut self.events);
            for (k, &(o, ch, trim)) in routes.iter().enumerate() {
                if k == 0 && direct.is_some() {
                    continue;
                }
                let out = &mut self.outputs[o];
                let plane = &mut out.planes[ch];
                if !out.touched[ch] {
                    out.touched[ch] = true;
                    plane.clear();
                    plane.extend(mono[..frames].iter().map(|s| s * trim));
                } else {
                    for (d, s) in plane.iter_mut().zip(&mono[..frames]) {
                        *d += *s * trim;
                    }
                }
            }
            match direct {
                Some((o, ch, trim)) => {
                    if trim != 1.0 {
                        mono.iter_mut().for_each(|s| *s *= trim);
                    }
                    self.outputs[o].planes[ch] = mono;
                    self.outputs[o].touched[ch] = true;
                }
                None => self.scratch = mono,
            }
        }
        self.now += frames as u64;
        for o in &mut self.outputs {
            if o.touched.iter().all(|t| *t) && o.buf.len() == frames * o.channels {
                // every channel is overwritten below
            } else {
                o.buf.clear();
                o.buf.resize(frames * o.channels, 0.0);
            }
            for ch in 0..o.channels {
                if o.touched[ch] {
                    // Silence stays silence; the limiter's gain recovers only while active.
                    o.limiters[ch].process(&mut o.planes[ch], 0, 1);
                }
            }
            if o.channels == 8 && o.touched.iter().all(|t| *t) {
                interleave8(&o.planes, &mut o.buf, frames);
            } else {
                for ch in (0..o.channels).filter(|ch| o.touched[*ch]) {
                    for (frame, s) in o.buf.chunks_exact_mut(o.channels).zip(&o.planes[ch]) {
                        frame[ch] = *s;
                    }
                }
            }
            o.ready.clear();
            if let Some(r) = o.resampler.as_mut() {
                r.process(&o.buf, &mut o.ready);
            }
        }
        self.outputs.iter().map(|o| if o.resampler.is_some() { o.ready.as_slice() } else { o.buf.as_slice() }).collect()
    }
}

/// Interleaves eight full planes in one pass: eight sequential reads and one 32-byte write per
/// frame (the common 8-channel card; much cheaper than eight strided passes).
fn interleave8(planes: &[Vec<f32>], buf: &mut [f32], frames: usize) {
    let p: [&[f32]; 8] = std::array::from_fn(|c| &planes[c][..frames]);
    for (i, frame) in buf[..frames * 8].chunks_exact_mut(8).enumerate() {
        frame.copy_from_slice(&[p[0][i], p[1][i], p[2][i], p[3][i], p[4][i], p[5][i], p[6][i], p[7][i]]);
    }
}

#[cfg(test)]
mod tests;
