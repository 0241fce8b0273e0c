//! The sound-card sink: a cpal stream fed from a lock-free ring, supervised.
//!
//! Three parties share one output:
//! - the **writer** (the engine's thread, through [`Sink::write`]) pushes f32 samples into an
//!   `rtrb` ring of ~200 ms and waits in short sleeps while it is full;
//! - the **audio callback** (cpal's thread) only copies whole frames out of the ring, converting
//!   to the device's sample type, and fills silence when the ring runs dry. It never allocates,
//!   locks or logs: it touches the ring and a few atomics;
//! - the **supervisor** (one thread per output) builds the stream on a helper thread (opening a
//!   device can block: a FIFO without reader, a hung driver), watches it, and after a failure
//!   drops it and builds a new one with back-off, handing the writer a fresh ring each time.
//!
//! A stream "generation" is one built stream with its ring; the error callback, the writer (when
//! the ring stays full too long) and the supervisor (when callbacks stop) can each mark it failed.
//!
//! # Time
//!
//! A frame pushed into the ring is heard after everything queued before it: the rest of the
//! ring and the device's own buffer. That queue is whatever it was when the stream started, and
//! it changes when the ring runs dry and as the card's clock drifts from the system clock, so
//! the writer cannot know when a block will be heard from when it writes it. The callback tells
//! it instead: it measures, from cpal's timestamps, when the next ring frame is heard
//! ([`Clocking`]). [`Sink::write_at`] then places each block where its first frame is heard at
//! the instant asked for: it pads with silence when the block would come early and skips frames
//! when it would come late. Corrections are made where they cannot be heard, in silence (most of
//! a station's day), to within half a millisecond; while every channel sounds the sink only
//! nudges, a frame or two per block, and only when more than 10 ms off. The device's latency
//! (its queue plus one callback buffer) is reported through [`Sink::latency`] so the writer can
//! render far enough ahead.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, StreamTrait};
use rtrb::{Consumer, Producer, RingBuffer};

use super::list::{accepts_text, cpal_problem, find_output, to_cpal};
use super::place::{Fix, placement, trailing_quiet};
use super::ring::{Clocking, DeviceSample, Generation, UNKNOWN, fill};
use super::{Health, OutputError, Sink, format_name, whole_frames};
use crate::config::{Output, SampleFormat};

/// Audio the ring holds (at least; with a fixed period it also holds 4 periods and another half
/// of this, room for a writer that renders ahead of the device's own buffer of 2 periods).
const RING: Duration = Duration::from_millis(200);
/// How much longer than the ring's duration the ring may stay full before the device counts as
/// stalled.
const STALL_GRACE: Duration = Duration::from_millis(500);
/// How long building a stream may take before the output counts as degraded.
const BUILD_TIMEOUT: Duration = Duration::from_secs(3);
/// First wait before rebuilding a failed stream; doubles up to [`BACKOFF_MAX`].
const BACKOFF_FIRST: Duration = Duration::from_millis(250);
/// Longest wait between rebuild attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// How long `finish` waits for the supervisor to drop the stream.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// State every party of one output shares.
struct Shared {
    output: String,
    device: String,
    health: Mutex<Health>,
    underruns: AtomicU64,
    stop: AtomicBool,
    /// The longest horizon any callback had (ns): the device's queue plus one buffer.
    latency_ns: AtomicU64,
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Marks the output degraded; only the first call of an outage logs (one warning line).
    fn degrade(&self, reason: &str) {
        let mut h = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *h {
            Health::Healthy => {
                tracing::warn!(
                    "output `{}` stopped playing on {}: {reason}; its audio is discarded while the device \
                     is reopened in the background",
                    self.output,
                    self.device
                );
                *h = Health::Degraded { reason: reason.to_owned(), since: Instant::now() };
            }
            Health::Degraded { reason: r, .. } => {
                if r != reason {
                    tracing::debug!(output = %self.output, "still degraded: {reason}");
                    reason.clone_into(r);
                }
            }
        }
    }

    /// Marks the output healthy again; logs one line if it was degraded.
    fn recover(&self) {
        let mut h = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        if let Health::Degraded { reason, since } = &*h {
            tracing::info!(
                "output `{}` is playing again on {} after {:.1} s (it had stopped: {reason})",
                self.output,
                self.device,
                since.elapsed().as_secs_f64()
            );
            *h = Health::Healthy;
        }
    }
}

/// The writer's end of a generation.
struct Live {
    producer: Producer<f32>,
    generation: Arc<Generation>,
    /// Samples pushed into this generation's ring.
    pushed: u64,
    /// Silent frames at the end of what was pushed (a new stream starts from silence).
    quiet_run: usize,
}

/// Everything needed to build a stream, again and again.
#[derive(Clone)]
struct Plan {
    spec: Output,
    device: cpal::Device,
    config: cpal::StreamConfig,
    ring_samples: usize,
    /// Samples the ring must hold before playback starts (half the ring), so a new stream does
    /// not begin with a string of underruns.
    prime_samples: usize,
}

/// A sound card through cpal (see the module docs).
pub(crate) struct DeviceSink {
    spec: Output,
    shared: Arc<Shared>,
    live: Option<Live>,
    handoff: mpsc::Receiver<Live>,
    supervisor: Option<thread::JoinHandle<()>>,
    supervisor_thread: thread::Thread,
    /// Disconnects when the supervisor thread ends.
    supervisor_done: mpsc::Receiver<()>,
    ring: Duration,
    poll: Duration,
    /// While discarding: (origin, frames discarded since), to keep the caller at real time.
    discard: Option<(Instant, u64)>,
}

enum First {
    Playing,
    Degraded,
    Fatal(OutputError),
}

impl DeviceSink {
    pub(crate) fn open(spec: &Output, id: &str, period_frames: Option<u32>) -> Result<Self, OutputError> {
        let output = spec.name.to_string();
        let (device, canonical) = super::alsa_log::quiet(&format!("looking up output `{output}`"), || {
            let (device, canonical) = find_output(&output, id)?;
            check_supported(spec, &device, &canonical, period_frames)?;
            Ok::<_, OutputError>((device, canonical))
        })?;

        let ch = usize::from(spec.channels.max(1));
        let rate = spec.rate.max(1);
        let min_frames = (u64::from(rate) * RING.as_millis() as u64).div_ceil(1000) as usize;
        let ring_frames = min_frames.max(4 * period_frames.unwrap_or(0) as usize + min_frames / 2);
        let plan = Plan {
            spec: spec.clone(),
            device,
            config: cpal::StreamConfig {
                channels: spec.channels,
                sample_rate: spec.rate,
                buffer_size: period_frames.map_or(cpal::BufferSize::Default, cpal::BufferSize::Fixed),
            },
            ring_samples: ring_frames * ch,
            prime_samples: (ring_frames / 2) * ch,
        };
        let shared = Arc::new(Shared {
            output: output.clone(),
            device: canonical,
            health: Mutex::new(Health::Healthy),
            underruns: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            latency_ns: AtomicU64::new(0),
        });
        let (handoff_tx, handoff) = mpsc::channel();
        let (first_tx, first_rx) = mpsc::sync_channel(1);
        let (done_tx, supervisor_done) = mpsc::channel::<()>();
        let sup_shared = shared.clone();
        let supervisor = thread::Builder::new()
            .name(format!("out-{output}"))
            .spawn(move || {
                let _done = done_tx;
                supervise(plan, sup_shared, handoff_tx, first_tx);
            })
            .map_err(|e| OutputError::Sound { context: format!("output `{output}`"), message: e.to_string() })?;
        let supervisor_thread = supervisor.thread().clone();
        let ring = Duration::from_secs_f64(ring_frames as f64 / f64::from(rate));
        let sink = Self {
            spec: spec.clone(),
            shared,
            live: None,
            handoff,
            supervisor: Some(supervisor),
            supervisor_thread,
            supervisor_done,
            ring,
            poll: (ring / 40).clamp(Duration::from_millis(1), Duration::from_millis(5)),
            discard: None,
        };
        match first_rx.recv_timeout(BUILD_TIMEOUT + Duration::from_secs(1)) {
            Ok(First::Playing | First::Degraded) | Err(RecvTimeoutError::Timeout) => Ok(sink),
            Ok(First::Fatal(e)) => Err(e),
            Err(RecvTimeoutError::Disconnected) => Err(OutputError::Sound {
                context: format!("output `{output}`"),
                message: "the stream supervisor ended unexpectedly".into(),
            }),
        }
    }

    /// Takes the newest generation the supervisor built, if any.
    fn adopt(&mut self) {
        while let Ok(live) = self.handoff.try_recv() {
            self.live = Some(live);
            self.discard = None;
        }
    }

    /// Throws `frames` away, sleeping only if the caller is more than a ring ahead of real time.
    fn discard_paced(&mut self, frames: usize) {
        if frames == 0 {
            return;
        }
        let now = Instant::now();
        let rate = f64::from(self.spec.rate.max(1));
        let (origin, count) = self.discard.get_or_insert((now, 0));
        *count += frames as u64;
        let due = *origin + Duration::from_secs_f64(*count as f64 / rate);
        if due + self.ring < now {
            // The caller is slower than real time: no credit for later bursts.
            *origin = now;
            *count = 0;
        } else if due > now + self.ring {
            thread::sleep(due - now - self.ring);
        }
    }

    /// Pushes `samples` into the live ring, waiting in short sleeps while it is full. Returns
    /// how many were not pushed because there is no live stream or it failed or stalled (the
    /// output is then degraded).
    fn push(&mut self, samples: &[f32]) -> usize {
        let Some(live) = self.live.as_mut() else { return samples.len() };
        let mut rest = samples;
        let stall = self.ring + STALL_GRACE;
        let mut progress_at = Instant::now();
        while !live.generation.is_failed() {
            let (pushed, remainder) = live.producer.push_partial_slice(rest);
            live.pushed += pushed.len() as u64;
            rest = remainder;
            if rest.is_empty() {
                return 0;
            }
            if !pushed.is_empty() {
                progress_at = Instant::now();
            } else if progress_at.elapsed() > stall {
                live.generation.fail(|| format!("the device took no audio for {} ms", stall.as_millis()));
                break;
            }
            thread::sleep(self.poll);
        }
        if let Some(dead) = self.live.take() {
            self.shared.degrade(dead.generation.reason());
        }
        rest.len()
    }

    /// Pushes `samples` zeros.
    fn push_silence(&mut self, mut samples: usize) {
        static ZEROS: [f32; 4096] = [0.0; 4096];
        let ch = usize::from(self.spec.channels.max(1));
        let total = samples;
        while samples > 0 {
            let n = samples.min(ZEROS.len());
            if self.push(&ZEROS[..n]) > 0 {
                return;
            }
            samples -= n;
        }
        if let Some(live) = self.live.as_mut() {
            live.quiet_run = live.quiet_run.saturating_add(total / ch);
        }
    }

    /// How many frames before `heard_at` the next frame pushed into `live` would be heard
    /// (negative: after it). `None` while the stream does not play in real time yet, so that
    /// when its ring is heard is not known.
    fn early_by(&self, live: &Live, heard_at: Instant) -> Option<i64> {
        let g = &live.generation;
        let zero = g.heard_zero.load(Ordering::Acquire);
        if zero == UNKNOWN {
            return None;
        }
        const NS: i128 = 1_000_000_000;
        let rate = i128::from(self.spec.rate.max(1));
        let ch = u64::from(self.spec.channels.max(1));
        let want = match heard_at.checked_duration_since(g.base) {
            Some(d) => d.as_nanos() as i128,
            None => -(g.base.duration_since(heard_at).as_nanos() as i128),
        };
        let next = i128::from(zero) + i128::from(live.pushed / ch) * NS / rate;
        let early = (want - next) * rate;
        // Rounded to the nearest frame.
        let early = (early + early.signum() * NS / 2) / NS;
        Some(early.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }

    fn stop_supervisor(&self) {
        self.shared.stop.store(true, Ordering::Release);
        self.supervisor_thread.unpark();
    }
}

impl Sink for DeviceSink {
    fn spec(&self) -> &Output {
        &self.spec
    }

    fn write(&mut self, interleaved: &[f32]) -> Result<(), OutputError> {
        let frames = whole_frames(&self.spec, interleaved.len())?;
        if frames == 0 {
            return Ok(());
        }
        self.adopt();
        let unpushed = self.push(interleaved);
        self.discard_paced(unpushed.div_ceil(usize::from(self.spec.channels.max(1))));
        Ok(())
    }

    fn write_at(&mut self, interleaved: &[f32], heard_at: Instant) -> Result<(), OutputError> {
        let frames = whole_frames(&self.spec, interleaved.len())?;
        if frames == 0 {
            return Ok(());
        }
        self.adopt();
        let ch = usize::from(self.spec.channels.max(1));
        let mut block = interleaved;
        let mut repeat = 0;
        if let Some(live) = &self.live {
            live.generation.timed.store(true, Ordering::Release);
            let Some(early) = self.early_by(live, heard_at) else {
                // A new stream still filling its buffers: it plays silence until it is known
                // when a block would be heard, and the first block placed after that is padded
                // exactly (the stream starts from silence).
                self.discard_paced(frames);
                return Ok(());
            };
            let cap = live.producer.buffer().capacity() / ch;
            let fix = placement(early, block, ch, live.quiet_run, self.spec.rate);
            if fix != Fix::Keep {
                tracing::debug!(
                    output = %self.spec.name,
                    early,
                    ?fix,
                    latency_ms = self.latency().as_secs_f64() * 1000.0,
                    "placing a block"
                );
            }
            match fix {
                Fix::Keep => {}
                Fix::Pad(n) => self.push_silence(n.min(cap) * ch),
                Fix::Skip(n) => block = &block[n * ch..],
                Fix::Repeat(n) => repeat = n,
            }
        }
        for _ in 0..repeat {
            let first = &block[..ch];
            if self.push(first) > 0 {
                break;
            }
        }
        let unpushed = self.push(block);
        if unpushed == 0
            && let Some(live) = self.live.as_mut()
        {
            let quiet = trailing_quiet(block, ch);
            live.quiet_run = if quiet * ch == block.len() { live.quiet_run.saturating_add(quiet) } else { quiet };
        }
        self.discard_paced(unpushed.div_ceil(ch));
        Ok(())
    }

    fn latency(&self) -> Duration {
        Duration::from_nanos(self.shared.latency_ns.load(Ordering::Relaxed))
    }

    fn is_realtime(&self) -> bool {
        true
    }

    fn health(&self) -> Health {
        self.shared.health.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn underruns(&self) -> u64 {
        self.shared.underruns.load(Ordering::Relaxed)
    }

    fn finish(mut self: Box<Self>) -> Result<(), OutputError> {
        self.adopt();
        if let Some(live) = self.live.take() {
            drain(&live, self.ring, self.spec.rate);
        }
        self.stop_supervisor();
        match self.supervisor_done.recv_timeout(STOP_TIMEOUT) {
            Err(RecvTimeoutError::Disconnected) => {
                if let Some(h) = self.supervisor.take() {
                    let _ = h.join();
                }
            }
            // Stuck opening the device (it cannot be interrupted): leave it; it drops what it
            // builds once it sees the stop flag.
            _ => tracing::debug!(output = %self.spec.name, "stream supervisor still busy; not waiting"),
        }
        Ok(())
    }
}

impl Drop for DeviceSink {
    fn drop(&mut self) {
        self.stop_supervisor();
    }
}

/// Waits until the callback has taken everything in the ring and the device has had time to
/// play it (bounded by the ring's duration + 1 s).
fn drain(live: &Live, ring: Duration, rate: u32) {
    let generation = &live.generation;
    generation.draining.store(true, Ordering::Release);
    let deadline = Instant::now() + ring + Duration::from_secs(1);
    let capacity = live.producer.buffer().capacity();
    while live.producer.slots() < capacity {
        if generation.is_failed() || Instant::now() > deadline {
            return;
        }
        thread::sleep(Duration::from_millis(1));
    }
    // The callback that took the last samples may still be converting them; two more callbacks
    // mean it returned and cpal wrote its period to the device.
    let seen = generation.callbacks.load(Ordering::Acquire);
    while generation.callbacks.load(Ordering::Acquire) < seen + 2 {
        if generation.is_failed() || Instant::now() > deadline {
            return;
        }
        thread::sleep(Duration::from_millis(1));
    }
    // The device's own buffer (cpal uses two periods) plays out before the stream is dropped.
    let period = generation.period_frames.load(Ordering::Relaxed);
    let buffered = Duration::from_secs_f64(2.0 * f64::from(period) / f64::from(rate.max(1)));
    thread::sleep(buffered + Duration::from_millis(10));
}

/// Why a device output cannot be opened now, as [`probe`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absent {
    /// The device id the profile names.
    pub device: String,
    /// True when there is no such device or it is not there (unplugged, no card), false when it is
    /// there but unusable (busy, permission, refuses the format).
    pub missing: bool,
    /// What the sound system said, in words.
    pub why: String,
}

/// Looks for an output's device and asks it what it takes, as opening it would, without playing:
/// what `xiangyin check` says about the sound card. A busy device (a running station holds it) is
/// reported as there but unusable.
pub(crate) fn probe(spec: &Output, id: &str, period_frames: Option<u32>) -> Result<(), Absent> {
    let output = spec.name.to_string();
    super::alsa_log::hushed(&format!("checking output `{output}`"), || {
        let absent = |missing, why: String| Absent { device: id.to_owned(), missing, why };
        let (device, canonical) = find_output(&output, id).map_err(|e| absent(true, e.to_string()))?;
        if let Err(e) = device.supported_output_configs() {
            let missing = matches!(e.kind(), cpal::ErrorKind::DeviceNotAvailable);
            return Err(absent(missing, cpal_problem(&e)));
        }
        check_supported(spec, &device, &canonical, period_frames).map_err(|e| absent(false, e.to_string()))
    })
}

/// Refuses a configuration the device says it cannot take; quiet if the device cannot be asked.
fn check_supported(
    spec: &Output,
    device: &cpal::Device,
    id: &str,
    period_frames: Option<u32>,
) -> Result<(), OutputError> {
    let configs: Vec<_> = match device.supported_output_configs() {
        Ok(c) => c.collect(),
        Err(e) => {
            tracing::debug!(output = %spec.name, device = id, "cannot ask what the device takes ({e}); trying anyway");
            return Ok(());
        }
    };
    let refuse = |why: String| OutputError::Unsupported {
        output: spec.name.to_string(),
        target: id.to_owned(),
        format: spec.format,
        rate: spec.rate,
        channels: spec.channels,
        why,
    };
    let want = to_cpal(spec.format);
    let Some(fit) = configs
        .iter()
        .find(|c| c.sample_format() == want && c.channels() == spec.channels && c.contains_rate(spec.rate))
    else {
        return Err(refuse(accepts_text(&configs)));
    };
    if let (Some(p), cpal::SupportedBufferSize::Range { min, max }) = (period_frames, fit.buffer_size())
        && !(*min..=*max).contains(&p)
    {
        return Err(refuse(format!("a period of {p} frames is outside the device's {min}..={max}")));
    }
    Ok(())
}

type Built = (cpal::Stream, Live);

/// Why a build attempt failed; `fatal` when retrying cannot help (the configuration is refused).
struct AttemptError {
    fatal: bool,
    message: String,
}

/// The supervisor loop: build, hand over, watch, and rebuild with back-off after failures.
fn supervise(plan: Plan, shared: Arc<Shared>, handoff: mpsc::Sender<Live>, first: mpsc::SyncSender<First>) {
    let me = thread::current();
    let mut first = Some(first);
    let mut backoff = BACKOFF_FIRST;
    let stall = RING.max(Duration::from_secs_f64(
        plan.ring_samples as f64 / f64::from(plan.spec.channels.max(1)) / f64::from(plan.spec.rate.max(1)),
    )) + STALL_GRACE;
    while !shared.stopped() {
        let attempt = start_attempt(&plan, &shared, me.clone());
        let Some(result) = wait_attempt(&attempt, &shared, &mut first) else { break };
        match result {
            Ok((stream, live)) => {
                let generation = live.generation.clone();
                if handoff.send(live).is_err() {
                    break;
                }
                if let Some(tx) = first.take() {
                    let _ = tx.send(First::Playing);
                }
                watch(&generation, &shared, stall);
                drop(stream);
                if shared.stopped() {
                    break;
                }
                shared.degrade(generation.reason());
                backoff = BACKOFF_FIRST;
            }
            Err(e) if e.fatal && first.is_some() => {
                if let Some(tx) = first.take() {
                    let _ = tx.send(First::Fatal(OutputError::Unsupported {
                        output: plan.spec.name.to_string(),
                        target: shared.device.clone(),
                        format: plan.spec.format,
                        rate: plan.spec.rate,
                        channels: plan.spec.channels,
                        why: e.message,
                    }));
                }
                return;
            }
            Err(e) => {
                shared.degrade(&format!("cannot open the device: {}", e.message));
                if let Some(tx) = first.take() {
                    let _ = tx.send(First::Degraded);
                }
                tracing::debug!(
                    output = %shared.output,
                    "opening {} failed: {}; retrying in {:?}",
                    shared.device,
                    e.message,
                    backoff
                );
            }
        }
        let until = Instant::now() + backoff;
        while !shared.stopped() && Instant::now() < until {
            thread::park_timeout(until.saturating_duration_since(Instant::now()));
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Builds a stream on a helper thread (opening a device may block for a long time).
fn start_attempt(
    plan: &Plan,
    shared: &Arc<Shared>,
    supervisor: thread::Thread,
) -> mpsc::Receiver<Result<Built, AttemptError>> {
    let (tx, rx) = mpsc::sync_channel(1);
    let plan = plan.clone();
    let shared = shared.clone();
    let spawned = thread::Builder::new().name(format!("open-{}", shared.output)).spawn(move || {
        let result = super::alsa_log::quiet(&format!("opening output `{}`", shared.output), || {
            build(&plan, &shared, supervisor)
        });
        // If nobody waits any more the stream is dropped here.
        let _ = tx.send(result);
    });
    if let Err(e) = spawned {
        // The receiver then reports a disconnect, handled as a failed attempt.
        tracing::debug!("cannot start a thread to open the device: {e}");
    }
    rx
}

/// Waits for an attempt; marks the output degraded if it takes longer than [`BUILD_TIMEOUT`].
/// `None` when the sink is stopping.
fn wait_attempt(
    rx: &mpsc::Receiver<Result<Built, AttemptError>>,
    shared: &Shared,
    first: &mut Option<mpsc::SyncSender<First>>,
) -> Option<Result<Built, AttemptError>> {
    let started = Instant::now();
    let mut slow = false;
    loop {
        if shared.stopped() {
            return None;
        }
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(r) => return Some(r),
            Err(RecvTimeoutError::Timeout) => {
                if !slow && started.elapsed() >= BUILD_TIMEOUT {
                    slow = true;
                    shared.degrade(&format!("the device did not open within {} s", BUILD_TIMEOUT.as_secs()));
                    if let Some(tx) = first.take() {
                        let _ = tx.send(First::Degraded);
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Some(Err(AttemptError { fatal: false, message: "the opening thread failed".into() }));
            }
        }
    }
}

/// Watches a playing generation until it fails or the sink stops. Declares recovery at the
/// first callback; declares a stall when callbacks stop for longer than `stall`.
fn watch(generation: &Generation, shared: &Shared, stall: Duration) {
    let mut seen = generation.callbacks.load(Ordering::Acquire);
    let mut moved_at = Instant::now();
    let mut playing = false;
    loop {
        if shared.stopped() || generation.is_failed() {
            return;
        }
        let now_seen = generation.callbacks.load(Ordering::Acquire);
        if now_seen != seen {
            seen = now_seen;
            moved_at = Instant::now();
            if !playing {
                playing = true;
                shared.recover();
            }
        } else if moved_at.elapsed() > stall {
            generation.fail(|| format!("the device stopped asking for audio for {} ms", stall.as_millis()));
            return;
        }
        thread::park_timeout(Duration::from_millis(50));
    }
}

/// Builds and starts one generation: a new ring, a stream whose callback drains it.
fn build(plan: &Plan, shared: &Arc<Shared>, supervisor: thread::Thread) -> Result<Built, AttemptError> {
    let (producer, consumer) = RingBuffer::<f32>::new(plan.ring_samples.max(1));
    let generation = Arc::new(Generation::new(supervisor));
    let stream = match plan.spec.format {
        SampleFormat::I16 => build_typed::<i16>(plan, consumer, &generation, shared),
        SampleFormat::I24 => build_typed::<cpal::I24>(plan, consumer, &generation, shared),
        SampleFormat::I32 => build_typed::<i32>(plan, consumer, &generation, shared),
        SampleFormat::F32 => build_typed::<f32>(plan, consumer, &generation, shared),
    }
    .map_err(|e| attempt_error(plan, &e))?;
    if let Ok(p) = stream.buffer_size() {
        generation.period_frames.store(p, Ordering::Relaxed);
    }
    stream.play().map_err(|e| attempt_error(plan, &e))?;
    Ok((stream, Live { producer, generation, pushed: 0, quiet_run: usize::MAX }))
}

fn attempt_error(plan: &Plan, e: &cpal::Error) -> AttemptError {
    use cpal::ErrorKind as K;
    let fatal = matches!(e.kind(), K::UnsupportedConfig | K::InvalidInput | K::UnsupportedOperation);
    let message = if fatal {
        let s = &plan.spec;
        format!("the device refused {} at {} Hz with {} channels ({e})", format_name(s.format), s.rate, s.channels)
    } else {
        cpal_problem(e)
    };
    AttemptError { fatal, message }
}

fn build_typed<T: DeviceSample>(
    plan: &Plan,
    mut consumer: Consumer<f32>,
    generation: &Arc<Generation>,
    shared: &Arc<Shared>,
) -> Result<cpal::Stream, cpal::Error> {
    let channels = usize::from(plan.spec.channels.max(1));
    let prime = plan.prime_samples;
    let mut primed = false;
    let (g, s) = (generation.clone(), shared.clone());
    let mut clocking = Clocking::new(plan.spec.rate);
    let data = move |out: &mut [T], info: &cpal::OutputCallbackInfo| {
        let began = Instant::now();
        let taken = fill(out, &mut consumer, &mut primed, prime, channels, &g, &s.underruns);
        let ts = info.timestamp();
        let delay = ts.playback.saturating_duration_since(ts.callback);
        clocking.after_callback(&g, &s.latency_ns, began, delay, out.len() / channels, taken);
    };
    let (g, s) = (generation.clone(), shared.clone());
    let error = move |e: cpal::Error| match e.kind() {
        cpal::ErrorKind::Xrun => {
            s.underruns.fetch_add(1, Ordering::Relaxed);
        }
        cpal::ErrorKind::RealtimeDenied => {}
        _ => g.fail(|| cpal_problem(&e)),
    };
    plan.device.build_output_stream::<T, _, _>(plan.config, data, error, None)
}
