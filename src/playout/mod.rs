//! Live playout: the engine driven by the wall clock into real outputs, as an actor.
//!
//! A thread owns the [`Engine`] and the output sinks. Engine samples are tied to the wall clock by
//! a [`Clock`]: sample `s` is meant to be *heard* at `clock.instant_of(s)`. The thread renders one
//! period at a time, `lead` plus the outputs' own latency ahead of that instant, and hands each
//! output its block with the instant ([`Sink::write_at`]). Device sinks queue it in a lock-free
//! ring their audio callback copies from, placed so that it leaves the card at that instant:
//! what the card buffers, and how its clock drifts from the wall clock, are theirs to absorb (see
//! `output::device`). A cloneable [`Playout`] handle sends commands in; [`PlayoutEvent`]s come out
//! with wall-clock instants.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::config::Profile;
use crate::domain::{CueId, GainDb, ZoneId};
use crate::engine::{CueCommand, ENGINE_RATE, Engine, EngineConfig, Event};
use crate::output::{Health, Sink};

/// Frames rendered per period (10 ms).
pub const PERIOD_FRAMES: usize = 480;
/// How long [`start`] waits for its device outputs to play in real time.
const START_WAIT: Duration = Duration::from_secs(1);

/// Maps engine samples to the instants they are heard.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin_utc: DateTime<Utc>,
    origin: Instant,
}

impl Clock {
    /// A clock whose sample 0 is heard `lead` from now.
    pub fn starting_in(lead: Duration) -> Self {
        Self {
            origin_utc: Utc::now() + chrono::Duration::from_std(lead).unwrap_or_default(),
            origin: Instant::now() + lead,
        }
    }

    /// When sample `s` is heard.
    pub fn utc_of(&self, s: u64) -> DateTime<Utc> {
        self.origin_utc + chrono::Duration::nanoseconds((s as i128 * 1_000_000_000 / i128::from(ENGINE_RATE)) as i64)
    }

    /// The sample heard at `t` (0 for instants before the origin).
    pub fn sample_of(&self, t: DateTime<Utc>) -> u64 {
        let ns = (t - self.origin_utc).num_nanoseconds().unwrap_or(0).max(0) as i128;
        ((ns * i128::from(ENGINE_RATE) + 500_000_000) / 1_000_000_000) as u64
    }

    /// When sample `s` is heard, on the monotonic clock.
    pub fn instant_of(&self, s: u64) -> Instant {
        self.origin + Duration::from_nanos((s as u128 * 1_000_000_000 / u128::from(ENGINE_RATE)) as u64)
    }
}

/// What the playout thread reports.
#[derive(Debug, Clone, PartialEq)]
pub enum PlayoutEvent {
    /// An engine event and the instant its sample is heard.
    Cue {
        /// The engine event.
        event: Event,
        /// When its sample is heard.
        at: DateTime<Utc>,
    },
    /// A cue arrived after its instant and starts now.
    Late {
        /// The cue.
        id: CueId,
        /// How late.
        by: Duration,
    },
    /// A cue could not be placed (unknown zone).
    Refused {
        /// The cue.
        id: CueId,
        /// Why.
        why: String,
    },
    /// An output stopped playing; its zones are degraded.
    OutputDegraded {
        /// Output name.
        output: String,
        /// Why.
        reason: String,
    },
    /// An output plays again.
    OutputRecovered {
        /// Output name.
        output: String,
    },
    /// An output's audio callback ran dry (total count so far).
    Underruns {
        /// Output name.
        output: String,
        /// Total underruns.
        total: u64,
    },
}

enum Command {
    Cue { cmd: CueCommand, at: Option<DateTime<Utc>> },
    Stop { zone: ZoneId, id: CueId },
    StopZone(ZoneId),
    Volume(ZoneId, GainDb),
    Shutdown,
}

/// A cloneable handle to the playout thread.
#[derive(Clone)]
pub struct Playout {
    tx: Sender<Command>,
    clock: Clock,
}

/// The running playout thread; join it with [`Running::shutdown`].
pub struct Running {
    /// Send commands here.
    pub handle: Playout,
    /// Events come out here.
    pub events: Receiver<PlayoutEvent>,
    thread: JoinHandle<()>,
}

impl Running {
    /// Stops rendering, drains and closes every output, and waits for the thread.
    pub fn shutdown(self) {
        let _ = self.handle.tx.send(Command::Shutdown);
        let _ = self.thread.join();
    }
}

impl Playout {
    /// The playout clock.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Plays `cmd` so that it is heard at `at` (or as soon as possible when `at` is `None` or has
    /// passed). `cmd.start` is ignored.
    pub fn cue(&self, cmd: CueCommand, at: Option<DateTime<Utc>>) {
        let _ = self.tx.send(Command::Cue { cmd, at });
    }

    /// Stops one cue on a zone (fading out).
    pub fn stop(&self, zone: ZoneId, id: CueId) {
        let _ = self.tx.send(Command::Stop { zone, id });
    }

    /// Stops everything on a zone.
    pub fn stop_zone(&self, zone: ZoneId) {
        let _ = self.tx.send(Command::StopZone(zone));
    }

    /// Sets a zone's volume.
    pub fn set_volume(&self, zone: ZoneId, gain: GainDb) {
        let _ = self.tx.send(Command::Volume(zone, gain));
    }
}

/// Starts the playout thread for `profile` with one sink per profile output (same order).
///
/// `lead` is the margin against a busy machine: each period is rendered `lead` plus the largest
/// [`Sink::latency`] of the outputs (their device buffers) before it is heard. Sample 0 is heard
/// `lead` after the start; a cue asked for an instant that is already rendered starts late
/// ([`PlayoutEvent::Late`]).
///
/// First waits (up to 1 s) until every device output that is playing plays in real time and so
/// knows its latency: a cue played at once is then placed, and heard, from its first sample.
pub fn start(
    profile: &Profile,
    cfg: &EngineConfig,
    sinks: Vec<Box<dyn Sink>>,
    lead: Duration,
) -> std::io::Result<Running> {
    let deadline = Instant::now() + START_WAIT;
    while Instant::now() < deadline
        && sinks.iter().any(|s| s.is_realtime() && s.health().is_healthy() && s.latency().is_zero())
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    let (tx, rx) = mpsc::channel();
    let (ev_tx, events) = mpsc::channel();
    let clock = Clock::starting_in(lead);
    let engine = Engine::new(profile, cfg);
    let thread = std::thread::Builder::new()
        .name("playout".into())
        .spawn(move || run(engine, sinks, clock, lead, &rx, &ev_tx))?;
    Ok(Running { handle: Playout { tx, clock }, events, thread })
}

fn run(
    mut engine: Engine,
    mut sinks: Vec<Box<dyn Sink>>,
    clock: Clock,
    lead: Duration,
    rx: &Receiver<Command>,
    ev: &Sender<PlayoutEvent>,
) {
    // Assume healthy so an output that starts degraded (card missing at start) is reported too.
    let mut healthy: Vec<bool> = vec![true; sinks.len()];
    let mut underruns: Vec<u64> = vec![0; sinks.len()];
    'outer: loop {
        // Wait until the next period is due (rendered `lead` before the outputs take it), taking
        // commands as they come so a "play now" does not wait for the period.
        let ahead = lead + sinks.iter().map(|s| s.latency()).max().unwrap_or_default();
        let due = clock.instant_of(engine.now()).checked_sub(ahead).unwrap_or_else(Instant::now);
        loop {
            let now = Instant::now();
            let cmd = if now >= due {
                match rx.try_recv() {
                    Ok(c) => c,
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => break 'outer,
                }
            } else {
                match rx.recv_timeout(due - now) {
                    Ok(c) => c,
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => break 'outer,
                }
            };
            match cmd {
                Command::Shutdown => break 'outer,
                Command::Cue { mut cmd, at } => {
                    let wanted = at.map(|t| clock.sample_of(t));
                    cmd.start = wanted.unwrap_or(0).max(engine.now());
                    if let (Some(w), Some(t)) = (wanted, at)
                        && w < engine.now()
                    {
                        let by = (clock.utc_of(engine.now()) - t).to_std().unwrap_or_default();
                        let _ = ev.send(PlayoutEvent::Late { id: cmd.id, by });
                    }
                    let id = cmd.id;
                    if let Err(e) = engine.cue(cmd) {
                        let _ = ev.send(PlayoutEvent::Refused { id, why: e.to_string() });
                    }
                }
                Command::Stop { zone, id } => {
                    let _ = engine.stop_cue(&zone, id);
                }
                Command::StopZone(zone) => {
                    let _ = engine.stop_zone(&zone);
                }
                Command::Volume(zone, gain) => {
                    let _ = engine.set_zone_volume(&zone, gain);
                }
            }
        }
        let heard_at = clock.instant_of(engine.now());
        let blocks = engine.render(PERIOD_FRAMES);
        for (i, (sink, block)) in sinks.iter_mut().zip(blocks).enumerate() {
            if let Err(e) = sink.write_at(block, heard_at) {
                tracing::error!("output `{}`: {e}", sink.spec().name);
            }
            let h = sink.health();
            if h.is_healthy() != healthy[i] {
                healthy[i] = h.is_healthy();
                let output = sink.spec().name.to_string();
                let _ = ev.send(match h {
                    Health::Healthy => PlayoutEvent::OutputRecovered { output },
                    Health::Degraded { reason, .. } => PlayoutEvent::OutputDegraded { output, reason },
                });
            }
            let u = sink.underruns();
            if u != underruns[i] {
                underruns[i] = u;
                let _ = ev.send(PlayoutEvent::Underruns { output: sink.spec().name.to_string(), total: u });
            }
        }
        for event in engine.drain_events() {
            let _ = ev.send(PlayoutEvent::Cue { event, at: clock.utc_of(event.sample) });
        }
    }
    for sink in sinks {
        let name = sink.spec().name.to_string();
        if let Err(e) = sink.finish() {
            tracing::warn!("output `{name}` did not close cleanly: {e}");
        }
    }
}
