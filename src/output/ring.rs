//! The audio callback's side of a device output: what one stream generation shares with the
//! writer and the supervisor, and the callback itself, which only copies whole frames from the
//! ring into the device buffer, converting f32 to the device's sample type, and notes when the
//! next ring frame will be heard ([`Clocking`]). It never allocates, locks or logs.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use cpal::SizedSample;
use rtrb::Consumer;

use super::sample::{to_f32, to_i16, to_i24, to_i32};

/// One built stream and its ring, as seen from outside the callback.
pub(super) struct Generation {
    pub(super) failed: AtomicBool,
    pub(super) reason: OnceLock<String>,
    /// Callbacks run so far (the supervisor's sign of life, and `finish`'s drain marker).
    pub(super) callbacks: AtomicU64,
    /// Set by `finish`: play out whatever is in the ring, even if it is short of the priming
    /// threshold, and do not count the final partial period as an underrun.
    pub(super) draining: AtomicBool,
    /// Frames per callback as the stream reports it (0 = unknown).
    pub(super) period_frames: AtomicU32,
    pub(super) supervisor: thread::Thread,
    /// When the generation was made: the origin of [`Generation::heard_zero`].
    pub(super) base: Instant,
    /// When ring frame 0 is heard, in ns after `base`, as the callback last measured it
    /// ([`UNKNOWN`] before the first callback): ring frame `p` (counting every frame ever pushed)
    /// is heard at `base + heard_zero + p / rate`, as long as the ring does not run dry before it.
    pub(super) heard_zero: AtomicI64,
    /// Set by a writer that places its blocks in time itself (`Sink::write_at`): the callback
    /// then plays from the first frame in the ring instead of waiting for the priming threshold.
    pub(super) timed: AtomicBool,
}

/// [`Generation::heard_zero`] before the device has asked for audio.
pub(super) const UNKNOWN: i64 = i64::MIN;

impl Generation {
    /// A fresh generation whose failures wake `supervisor`.
    pub(super) fn new(supervisor: thread::Thread) -> Self {
        Self {
            failed: AtomicBool::new(false),
            reason: OnceLock::new(),
            callbacks: AtomicU64::new(0),
            draining: AtomicBool::new(false),
            period_frames: AtomicU32::new(0),
            supervisor,
            base: Instant::now(),
            heard_zero: AtomicI64::new(UNKNOWN),
            timed: AtomicBool::new(false),
        }
    }

    /// Marks the generation failed (the first reason sticks) and wakes the supervisor.
    pub(super) fn fail(&self, reason: impl FnOnce() -> String) {
        let _ = self.reason.get_or_init(reason);
        self.failed.store(true, Ordering::Release);
        self.supervisor.unpark();
    }

    /// True once anyone marked it failed.
    pub(super) fn is_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Why it failed, in words.
    pub(super) fn reason(&self) -> &str {
        self.reason.get().map_or("the device failed", String::as_str)
    }
}

/// A sample type the device callback writes.
pub(super) trait DeviceSample: SizedSample + Send + 'static {
    fn from_unit(x: f32) -> Self;
}

impl DeviceSample for i16 {
    #[inline]
    fn from_unit(x: f32) -> Self {
        to_i16(x)
    }
}

impl DeviceSample for cpal::I24 {
    #[inline]
    fn from_unit(x: f32) -> Self {
        cpal::I24::new_unchecked(to_i24(x))
    }
}

impl DeviceSample for i32 {
    #[inline]
    fn from_unit(x: f32) -> Self {
        to_i32(x)
    }
}

impl DeviceSample for f32 {
    #[inline]
    fn from_unit(x: f32) -> Self {
        to_f32(x)
    }
}

/// The audio callback's whole job: copy whole frames from the ring into `out`, converting, and
/// fill the rest with silence. Returns the frames taken from the ring. No allocation, no locks,
/// no logging.
///
/// Playback starts once the ring holds `prime` samples (or at the first sample when the writer
/// places its blocks in time itself, or when draining); dry periods after that are underruns.
#[inline]
pub(super) fn fill<T: DeviceSample>(
    out: &mut [T],
    consumer: &mut Consumer<f32>,
    primed: &mut bool,
    prime: usize,
    channels: usize,
    generation: &Generation,
    underruns: &AtomicU64,
) -> usize {
    let ready = consumer.slots();
    let ready = ready - ready % channels;
    if !*primed {
        if ready >= prime
            || generation.draining.load(Ordering::Acquire)
            || (ready > 0 && generation.timed.load(Ordering::Acquire))
        {
            *primed = true;
        } else {
            out.fill(T::EQUILIBRIUM);
            generation.callbacks.fetch_add(1, Ordering::Release);
            return 0;
        }
    }
    let n = ready.min(out.len() - out.len() % channels);
    if n > 0
        && let Ok(chunk) = consumer.read_chunk(n)
    {
        let (a, b) = chunk.as_slices();
        let (head, tail) = out[..n].split_at_mut(a.len());
        for (o, &x) in head.iter_mut().zip(a) {
            *o = T::from_unit(x);
        }
        for (o, &x) in tail.iter_mut().zip(b) {
            *o = T::from_unit(x);
        }
        chunk.commit_all();
    }
    if n < out.len() {
        out[n..].fill(T::EQUILIBRIUM);
        if !generation.draining.load(Ordering::Relaxed) && !generation.is_failed() {
            underruns.fetch_add(1, Ordering::Relaxed);
        }
    }
    generation.callbacks.fetch_add(1, Ordering::Release);
    n / channels
}

/// Length of one window of [`Clocking`]'s filter (at least; and at least [`WINDOW_CALLS`]).
const WINDOW: Duration = Duration::from_millis(500);
/// Callbacks in one window of [`Clocking`]'s filter (at least), so that long periods still give
/// it a few chances to see a callback that ran on time.
const WINDOW_CALLS: u32 = 8;

/// The callback's measure of when ring frames are heard, published to the writer through
/// [`Generation::heard_zero`] and to the sink through a latency maximum.
///
/// At each callback cpal says how long after the callback the buffer's first frame is heard (the
/// device's queue: `playback - callback`). With the instant the callback began, the frames the
/// buffer holds and the ring frames consumed so far, that gives the instant ring frame 0 is
/// heard. While the device plays in real time an estimate can only be late, never early (the
/// callback reads the clock after the sound system measured its queue, and a stale queue
/// position overstates it), so the callback publishes the earliest estimate of the current and
/// the previous window (half a second, and at least 8 callbacks): that drops scheduling noise and
/// still follows a device clock that drifts from the system clock.
///
/// Two things are not measures:
/// - a callback that comes less than half a buffer after the one before: the device is filling
///   its buffers (at the start, or catching up after a stall) faster than it plays, and a queue
///   the sound system does not report (a plugin's, a pipe's) is still filling too. Until the
///   first callback that is not one of these the ring's timing, and the output's latency, stay
///   unknown.
/// - when the ring ran dry the device played silence the ring did not hold, which moves every
///   later ring frame: the filter restarts at the next measure.
pub(super) struct Clocking {
    rate: u32,
    consumed: u64,
    previous: i64,
    current: i64,
    window_start: i64,
    window_calls: u32,
    /// When the previous callback began (ns after the generation's base).
    last_began: Option<i64>,
    /// The ring ran dry since the last measure.
    moved: bool,
}

impl Clocking {
    /// Bookkeeping for a fresh ring played at `rate` frames per second.
    pub(super) fn new(rate: u32) -> Self {
        Self {
            rate: rate.max(1),
            consumed: 0,
            previous: i64::MAX,
            current: UNKNOWN,
            window_start: 0,
            window_calls: 0,
            last_began: None,
            moved: true,
        }
    }

    /// Notes one callback that began at `began`, whose first frame is heard `delay` later, wrote
    /// `frames` frames and took `taken` of them from the ring; publishes the new estimate and
    /// raises `latency` (ns) to the callback's horizon (`delay` + the buffer) if it is longer.
    #[inline]
    pub(super) fn after_callback(
        &mut self,
        generation: &Generation,
        latency: &AtomicU64,
        began: Instant,
        delay: Duration,
        frames: usize,
        taken: usize,
    ) {
        const NS: i128 = 1_000_000_000;
        let rate = i128::from(self.rate);
        self.consumed += taken as u64;
        self.moved |= taken < frames;
        let now = began.saturating_duration_since(generation.base).as_nanos().min(i64::MAX as u128) as i64;
        let buffer = frames as i128 * NS / rate;
        let paced = self.last_began.is_some_and(|last| i128::from(now - last) * 2 >= buffer);
        self.last_began = Some(now);
        if !paced {
            return;
        }
        let horizon = delay.as_nanos() as i128 + buffer;
        latency.fetch_max(horizon.clamp(1, i128::from(u64::MAX)) as u64, Ordering::Relaxed);
        // The next ring frame is heard when this buffer has played.
        let zero = i128::from(now) + horizon - i128::from(self.consumed) * NS / rate;
        let zero = zero.clamp(i128::from(i64::MIN + 1), i128::from(i64::MAX)) as i64;
        if self.moved || self.current == UNKNOWN {
            (self.previous, self.current, self.window_start, self.window_calls) = (i64::MAX, zero, now, 1);
            self.moved = false;
        } else if now - self.window_start >= WINDOW.as_nanos() as i64 && self.window_calls >= WINDOW_CALLS {
            (self.previous, self.current, self.window_start, self.window_calls) = (self.current, zero, now, 1);
        } else {
            self.current = self.current.min(zero);
            self.window_calls += 1;
        }
        generation.heard_zero.store(self.previous.min(self.current), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpal::Sample;
    use rtrb::RingBuffer;

    fn fresh() -> Generation {
        Generation::new(thread::current())
    }

    #[test]
    fn callback_waits_for_the_priming_threshold_without_counting_underruns() {
        let (mut p, mut c) = RingBuffer::<f32>::new(16);
        let (g, u) = (fresh(), AtomicU64::new(0));
        let mut primed = false;
        let mut out = [7i16; 4];
        p.push_entire_slice(&[0.5; 6]).unwrap();
        fill(&mut out, &mut c, &mut primed, 8, 2, &g, &u);
        assert_eq!(out, [0; 4]);
        assert!(!primed);
        assert_eq!(u.load(Ordering::Relaxed), 0);
        p.push_entire_slice(&[0.25; 2]).unwrap();
        fill(&mut out, &mut c, &mut primed, 8, 2, &g, &u);
        assert!(primed);
        assert_eq!(out, [16_384; 4]);
        assert_eq!(g.callbacks.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn callback_takes_whole_frames_only_and_counts_a_dry_period() {
        let (mut p, mut c) = RingBuffer::<f32>::new(16);
        let (g, u) = (fresh(), AtomicU64::new(0));
        let mut primed = true;
        // One and a half stereo frames: only the whole frame may be played, or channels swap.
        p.push_entire_slice(&[0.5, -0.5, 0.25]).unwrap();
        let mut out = [1.0f32; 6];
        fill(&mut out, &mut c, &mut primed, 0, 2, &g, &u);
        assert_eq!(out, [0.5, -0.5, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(u.load(Ordering::Relaxed), 1);
        assert_eq!(c.slots(), 1, "the half frame waits for its other half");
        p.push_entire_slice(&[0.75]).unwrap();
        let mut out = [0i32; 2];
        fill(&mut out, &mut c, &mut primed, 0, 2, &g, &u);
        assert_eq!(out, [1 << 29, 3 << 29]);
        assert_eq!(u.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn callback_converts_and_clamps_i24_and_spans_the_ring_seam() {
        let (mut p, mut c) = RingBuffer::<f32>::new(4);
        let (g, u) = (fresh(), AtomicU64::new(0));
        let mut primed = true;
        let mut out = [cpal::I24::EQUILIBRIUM; 2];
        p.push_entire_slice(&[0.0, 0.0, 0.0]).unwrap();
        fill(&mut out[..2], &mut c, &mut primed, 0, 1, &g, &u);
        // The ring now wraps: the next read comes in two slices.
        p.push_entire_slice(&[2.0, -0.5, 0.5]).unwrap();
        let mut out = [cpal::I24::EQUILIBRIUM; 4];
        fill(&mut out, &mut c, &mut primed, 0, 1, &g, &u);
        let got: Vec<i32> = out.iter().map(|s| s.inner()).collect();
        assert_eq!(got, [0, 8_388_607, -4_194_304, 4_194_304]);
    }

    /// Runs `Clocking` over callbacks of `frames` at 48 kHz, `taken` from the ring, beginning at
    /// `base + at_ms` with the buffer's first frame heard `delay_ms` later; returns the published
    /// instant of ring frame 0 in ms after `base`.
    fn clock_run(c: &mut Clocking, g: &Generation, calls: &[(f64, f64, usize)], frames: usize) -> f64 {
        let latency = AtomicU64::new(0);
        for &(at_ms, delay_ms, taken) in calls {
            let began = g.base + Duration::from_secs_f64(at_ms / 1000.0);
            let delay = Duration::from_secs_f64(delay_ms / 1000.0);
            c.after_callback(g, &latency, began, delay, frames, taken);
        }
        g.heard_zero.load(Ordering::Relaxed) as f64 / 1e6
    }

    #[test]
    fn clocking_says_when_ring_frame_zero_is_heard_and_ignores_late_callbacks() {
        let g = fresh();
        let mut c = Clocking::new(48_000);
        assert_eq!(g.heard_zero.load(Ordering::Relaxed), UNKNOWN);
        // 10 ms buffers, every 10 ms, each heard 10 ms after its callback: ring frame 0 (the
        // first buffer's first frame) is heard at 10 ms.
        let steady: Vec<(f64, f64, usize)> = (0..20).map(|k| (10.0 * f64::from(k), 10.0, 480)).collect();
        assert!((clock_run(&mut c, &g, &steady, 480) - 10.0).abs() < 1e-3);
        // A callback woken 3 ms late sees the same queue 3 ms later: an estimate 3 ms late,
        // which the filter ignores.
        let late = [(203.0, 10.0, 480)];
        assert!((clock_run(&mut c, &g, &late, 480) - 10.0).abs() < 1e-3);
        // The ring runs dry for a whole buffer: every later ring frame is heard 10 ms later.
        let dry = [(210.0, 10.0, 0), (220.0, 10.0, 480)];
        assert!((clock_run(&mut c, &g, &dry, 480) - 20.0).abs() < 1e-3);
        let latency = AtomicU64::new(0);
        c.after_callback(&g, &latency, g.base + Duration::from_millis(230), Duration::from_millis(10), 480, 480);
        assert_eq!(latency.load(Ordering::Relaxed), 20_000_000, "queue 10 ms + a 10 ms buffer");
    }

    #[test]
    fn clocking_ignores_callbacks_that_fill_the_device_faster_than_it_plays() {
        let g = fresh();
        let mut c = Clocking::new(48_000);
        // At the start the device takes 3 buffers at once into a queue it does not report (delay
        // 0), then one every 10 ms: no measure (and no latency) until it plays in real time.
        let start = [(0.0, 0.0, 480), (0.1, 0.0, 480), (0.2, 0.0, 480)];
        assert_eq!(clock_run(&mut c, &g, &start, 480), UNKNOWN as f64 / 1e6, "no measure while filling");
        let steady: Vec<(f64, f64, usize)> = (1..20).map(|k| (10.0 * f64::from(k), 0.0, 480)).collect();
        let zero = clock_run(&mut c, &g, &steady, 480);
        assert!((zero - (-20.0)).abs() < 1e-3, "ring frame 0 heard at {zero} ms");
    }

    #[test]
    fn clocking_follows_a_device_clock_that_drifts() {
        // The card plays 0.1 % fast, then another card 0.1 % slow: 480 frames take 9.99 ms (or
        // 10.01 ms) of system time, so after 10 s ring frame 0 is heard 10 ms earlier (later)
        // than it first seemed. The estimate trails by at most two filter windows (1 ms here).
        for (period_ms, want_ms) in [(9.99, 0.01), (10.01, 19.99)] {
            let g = fresh();
            let mut c = Clocking::new(48_000);
            let calls: Vec<(f64, f64, usize)> = (0..1000).map(|k| (period_ms * f64::from(k), 10.0, 480)).collect();
            let zero = clock_run(&mut c, &g, &calls, 480);
            assert!(
                zero <= want_ms + 1e-3 && zero >= want_ms - 1.0 - 1e-3,
                "ring frame 0 heard at {zero} ms, want {want_ms} ms (period {period_ms} ms)"
            );
        }
    }

    #[test]
    fn a_draining_or_failed_stream_does_not_count_underruns() {
        let (_p, mut c) = RingBuffer::<f32>::new(4);
        let (g, u) = (fresh(), AtomicU64::new(0));
        let mut primed = false;
        g.draining.store(true, Ordering::Relaxed);
        let mut out = [0i16; 2];
        fill(&mut out, &mut c, &mut primed, 4, 1, &g, &u);
        assert!(primed);
        g.draining.store(false, Ordering::Relaxed);
        g.failed.store(true, Ordering::Relaxed);
        fill(&mut out, &mut c, &mut primed, 4, 1, &g, &u);
        assert_eq!(u.load(Ordering::Relaxed), 0);
    }
}
