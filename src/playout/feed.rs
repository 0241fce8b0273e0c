//! One writer thread per output: the playout thread hands each output its block through a short
//! queue and never waits for it.
//!
//! A sound card that hangs (open, but no longer taking audio, as a stuck driver does), a WAV
//! recorder on a disk that blocks, or any other slow sink holds up only its own writer thread.
//! The playout thread keeps rendering on the monotonic clock and drops that output's blocks
//! while its queue is full; every other output gets its blocks on time. The device sink places
//! each block by the instant it must be heard, so when a stuck output comes back it plays the
//! present, not a backlog.
//!
//! What the playout thread learns from a writer it reads from atomics (latency, underruns,
//! health), never from a lock the writer might hold while it is stuck.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::output::{Health, Sink};

/// Blocks (10 ms each) an output's queue holds before the playout thread drops its blocks.
const QUEUE: usize = 32;
/// An output whose queue stays full this long counts as degraded (its writer is stuck).
pub const STUCK_AFTER: Duration = Duration::from_secs(1);
/// Blocks gathered into one hand-over for an output that is not a real-time device (a WAV
/// recorder): 100 ms per write and per wake-up of its writer instead of 10 ms, which an idle
/// station's CPU notices; nothing listens to a file as it is written.
const BATCH: usize = 10;
/// After a write error, further errors of that output are logged at most this often.
const ERROR_LOG_EVERY: Duration = Duration::from_secs(60);

/// One block and the instant its first frame is to be heard.
struct Block {
    samples: Vec<f32>,
    heard_at: Instant,
}

/// What a writer thread publishes about its sink.
#[derive(Default)]
struct Status {
    latency_ns: AtomicU64,
    underruns: AtomicU64,
    healthy: AtomicBool,
    /// Why the sink is degraded (set before `healthy` goes false).
    reason: Mutex<String>,
}

/// The playout thread's end of one output.
pub(super) struct Feed {
    /// Output name.
    pub name: String,
    tx: Option<SyncSender<Block>>,
    free: Receiver<Vec<f32>>,
    status: Arc<Status>,
    thread: Option<JoinHandle<()>>,
    /// Since when the queue has been full (blocks are being dropped).
    full_since: Option<Instant>,
    /// Blocks dropped because the writer did not keep up, in all.
    pub dropped: u64,
    /// For a sink that is not real-time: blocks gathered for the next hand-over, and how many.
    batch: Option<(Block, usize)>,
    realtime: bool,
}

impl Feed {
    /// Starts the writer thread for `sink`.
    pub fn start(sink: Box<dyn Sink>) -> std::io::Result<Feed> {
        let name = sink.spec().name.to_string();
        let realtime = sink.is_realtime();
        let (tx, rx) = mpsc::sync_channel::<Block>(QUEUE);
        let (free_tx, free) = mpsc::channel();
        let status = Arc::new(Status::default());
        publish(&status, sink.as_ref());
        let st = status.clone();
        let thread = std::thread::Builder::new().name(format!("write-{name}")).spawn(move || {
            crate::os::make_current_thread_urgent();
            write_loop(sink, &rx, &free_tx, &st)
        })?;
        Ok(Feed {
            name,
            tx: Some(tx),
            free,
            status,
            thread: Some(thread),
            full_since: None,
            dropped: 0,
            batch: None,
            realtime,
        })
    }

    /// How long before hearing the output takes a frame (see [`Sink::latency`]).
    pub fn latency(&self) -> Duration {
        Duration::from_nanos(self.status.latency_ns.load(Ordering::Acquire))
    }

    /// Underruns the sink reported so far.
    pub fn underruns(&self) -> u64 {
        self.status.underruns.load(Ordering::Acquire)
    }

    /// The output's health: the sink's own, or degraded while its writer has been stuck for
    /// longer than [`STUCK_AFTER`].
    pub fn health(&self, now: Instant) -> Result<(), String> {
        if let Some(since) = self.full_since
            && now.duration_since(since) >= STUCK_AFTER
        {
            return Err(format!(
                "the output has taken no audio for {:.1} s (its writer is stuck; {} blocks dropped)",
                now.duration_since(since).as_secs_f64(),
                self.dropped
            ));
        }
        if self.status.healthy.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err(self.status.reason.lock().unwrap_or_else(PoisonError::into_inner).clone())
        }
    }

    /// Hands the writer a copy of `block`, to be heard at `heard_at`; drops it when the writer's
    /// queue is full. Never waits.
    pub fn send(&mut self, block: &[f32], heard_at: Instant) {
        if self.tx.is_none() {
            return;
        }
        if !self.realtime {
            let (b, n) = self.batch.get_or_insert_with(|| {
                let mut samples = self.free.try_recv().unwrap_or_else(|_| Vec::with_capacity(block.len() * BATCH));
                samples.clear();
                (Block { samples, heard_at }, 0)
            });
            b.samples.extend_from_slice(block);
            *n += 1;
            if *n >= BATCH {
                self.flush_batch();
            }
            return;
        }
        let mut buf = self.free.try_recv().unwrap_or_else(|_| Vec::with_capacity(block.len()));
        buf.clear();
        buf.extend_from_slice(block);
        self.hand_over(Block { samples: buf, heard_at });
    }

    fn flush_batch(&mut self) {
        if let Some((b, _)) = self.batch.take() {
            self.hand_over(b);
        }
    }

    fn hand_over(&mut self, block: Block) {
        let Some(tx) = &self.tx else { return };
        match tx.try_send(block) {
            Ok(()) => self.full_since = None,
            Err(TrySendError::Full(_)) => {
                self.dropped += 1;
                self.full_since.get_or_insert_with(Instant::now);
            }
            Err(TrySendError::Disconnected(_)) => {
                self.tx = None;
                *self.status.reason.lock().unwrap_or_else(PoisonError::into_inner) = "its writer thread ended".into();
                self.status.healthy.store(false, Ordering::Release);
            }
        }
    }

    /// Closes the queue: the writer plays what is queued, finishes the sink and ends.
    pub fn close(&mut self) {
        self.flush_batch();
        self.tx = None;
    }

    /// Waits for the writer thread (after [`Feed::close`]).
    pub fn join(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn publish(status: &Status, sink: &dyn Sink) {
    status.latency_ns.store(sink.latency().as_nanos() as u64, Ordering::Release);
    status.underruns.store(sink.underruns(), Ordering::Release);
    match sink.health() {
        Health::Healthy => status.healthy.store(true, Ordering::Release),
        Health::Degraded { reason, .. } => {
            let mut r = status.reason.lock().unwrap_or_else(PoisonError::into_inner);
            if *r != reason {
                *r = reason;
            }
            drop(r);
            status.healthy.store(false, Ordering::Release);
        }
    }
}

fn write_loop(mut sink: Box<dyn Sink>, rx: &Receiver<Block>, free: &mpsc::Sender<Vec<f32>>, status: &Status) {
    let name = sink.spec().name.to_string();
    let mut last_error: Option<Instant> = None;
    let mut errors_since_log = 0u64;
    // Between blocks (the playout thread sends one every period), keep the status current.
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(block) => {
                if let Err(e) = sink.write_at(&block.samples, block.heard_at) {
                    errors_since_log += 1;
                    if last_error.is_none_or(|t| t.elapsed() >= ERROR_LOG_EVERY) {
                        tracing::error!(output = %name, repeated = errors_since_log, "output `{name}`: {e}");
                        last_error = Some(Instant::now());
                        errors_since_log = 0;
                    }
                }
                publish(status, sink.as_ref());
                let _ = free.send(block.samples);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => publish(status, sink.as_ref()),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    if let Err(e) = sink.finish() {
        tracing::warn!("output `{name}` did not close cleanly: {e}");
    }
}
