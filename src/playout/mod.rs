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

mod clock;
mod feed;

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

pub use clock::{Clock, STEP_THRESHOLD};
pub use feed::STUCK_AFTER;

use crate::config::Profile;
use crate::domain::{CueId, GainDb, ZoneId};
use crate::engine::{CueCommand, Engine, EngineConfig, Event};
use crate::output::Sink;
use feed::Feed;

/// Frames rendered per period (10 ms).
pub const PERIOD_FRAMES: usize = 480;
/// The most [`start`]'s lead grows to after underruns.
pub const MAX_LEAD: Duration = Duration::from_millis(200);
/// How long [`start`] waits for its device outputs to play in real time.
const START_WAIT: Duration = Duration::from_secs(1);

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
    /// Streamed audio was not read from disk in time and played as silence (total so far).
    AudioStarved {
        /// Seconds of audio (all zones together) that played as silence, in all.
        seconds: f64,
    },
    /// The wall clock was stepped (it no longer read what the playout clock expected): the
    /// playout clock was re-anchored to it, and cues waiting in the engine were moved so that
    /// each is heard when the wall clock reaches its instant (at once, late, when that has passed).
    ClockStepped {
        /// How far the wall clock jumped (positive: forward).
        by: chrono::Duration,
        /// The wall-clock instant after the step at which it was seen.
        at: DateTime<Utc>,
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
    /// The playout clock (shares its anchor with the playout thread).
    pub fn clock(&self) -> Clock {
        self.clock.clone()
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
/// [`Sink::latency`] of the outputs (their device buffers, so the lead follows each card's period
/// size) before it is heard. Sample 0 is heard `lead` after the start; a cue asked for an instant
/// that is already rendered starts late ([`PlayoutEvent::Late`]). "Play now" is heard about
/// `lead` + the device latency after it is asked for: keep `lead` small. When an output runs dry
/// anyway (an underrun: this machine cannot keep that margin), the lead doubles, up to
/// [`MAX_LEAD`], and stays there.
///
/// Each sink gets its own writer thread (see `feed.rs`): an output that hangs or blocks never
/// holds up the others. The playout thread checks the wall clock against its own every period
/// and follows a step at once ([`PlayoutEvent::ClockStepped`]).
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
    let feeds = sinks.into_iter().map(Feed::start).collect::<std::io::Result<Vec<_>>>()?;
    let (tx, rx) = mpsc::channel();
    let (ev_tx, events) = mpsc::channel();
    let clock = Clock::starting_in(lead);
    let engine = Engine::new(profile, cfg);
    let thread_clock = clock.clone();
    let thread = std::thread::Builder::new().name("playout".into()).spawn(move || {
        let got = crate::os::make_current_thread_urgent();
        tracing::debug!("playout thread priority: {got}");
        run(engine, feeds, &thread_clock, lead, &rx, &ev_tx)
    })?;
    Ok(Running { handle: Playout { tx, clock }, events, thread })
}

/// What the playout thread last told about one output.
struct Told {
    healthy: bool,
    underruns: u64,
}

fn run(
    mut engine: Engine,
    mut feeds: Vec<Feed>,
    clock: &Clock,
    lead: Duration,
    rx: &Receiver<Command>,
    ev: &Sender<PlayoutEvent>,
) {
    // Assume healthy so an output that starts degraded (card missing at start) is reported too.
    let mut told: Vec<Told> = feeds.iter().map(|_| Told { healthy: true, underruns: 0 }).collect();
    let mut starved_told = 0;
    let mut lead = lead;
    'outer: loop {
        // Wait until the next period is due (rendered `lead` before the outputs take it), taking
        // commands as they come so a "play now" does not wait for the period.
        let ahead = lead + feeds.iter().map(Feed::latency).max().unwrap_or_default();
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
        if let Some(by) = clock.step_seen() {
            follow_step(&mut engine, clock, by, ev);
        }
        let heard_at = clock.instant_of(engine.now());
        let blocks = engine.render(PERIOD_FRAMES);
        for (feed, block) in feeds.iter_mut().zip(blocks) {
            feed.send(block, heard_at);
        }
        let now = Instant::now();
        for (feed, told) in feeds.iter().zip(&mut told) {
            let health = feed.health(now);
            if health.is_ok() != told.healthy {
                told.healthy = health.is_ok();
                let output = feed.name.clone();
                let _ = ev.send(match health {
                    Ok(()) => PlayoutEvent::OutputRecovered { output },
                    Err(reason) => PlayoutEvent::OutputDegraded { output, reason },
                });
            }
            let u = feed.underruns();
            if u != told.underruns {
                if u > told.underruns && lead < MAX_LEAD {
                    lead = (lead * 2).min(MAX_LEAD);
                    tracing::warn!(
                        output = %feed.name,
                        lead_ms = lead.as_millis() as u64,
                        "output `{}` ran dry: rendering further ahead from now on ({} ms before it is heard)",
                        feed.name,
                        lead.as_millis()
                    );
                }
                told.underruns = u;
                let _ = ev.send(PlayoutEvent::Underruns { output: feed.name.clone(), total: u });
            }
        }
        let starved = engine.starved_frames();
        if starved != starved_told {
            starved_told = starved;
            let seconds = starved as f64 / f64::from(crate::engine::ENGINE_RATE);
            let _ = ev.send(PlayoutEvent::AudioStarved { seconds });
        }
        for event in engine.drain_events() {
            let _ = ev.send(PlayoutEvent::Cue { event, at: clock.utc_of(event.sample) });
        }
    }
    // Every writer finishes its sink at the same time (a recorder finishing its file does not
    // wait for a card draining its buffer), then the thread waits for all of them.
    for feed in &mut feeds {
        feed.close();
    }
    for feed in &mut feeds {
        feed.join();
    }
}

/// The wall clock jumped by `by`: re-anchor the playout clock to it and move the cues waiting
/// in the engine, which were placed by the old anchor, so each is heard at its wall-clock
/// instant (those now in the past start at once and are reported late by how much).
fn follow_step(engine: &mut Engine, clock: &Clock, by: chrono::Duration, ev: &Sender<PlayoutEvent>) {
    clock.reanchor(by);
    let moved = engine.shift_pending(-clock::samples_in(by));
    let at = clock.utc_of(engine.now());
    tracing::warn!(
        step_ms = by.num_milliseconds(),
        moved,
        "the wall clock was stepped by {:+.1} s; playout follows it (cues waiting: {moved}, each is heard when the \
         wall clock reaches its instant)",
        by.num_milliseconds() as f64 / 1000.0
    );
    let _ = ev.send(PlayoutEvent::ClockStepped { by, at });
}
