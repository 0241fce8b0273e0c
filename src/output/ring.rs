//! The audio callback's side of a device output: what one stream generation shares with the
//! writer and the supervisor, and the callback itself, which only copies whole frames from the
//! ring into the device buffer, converting f32 to the device's sample type. It never allocates,
//! locks or logs.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::thread;

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
}

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
/// fill the rest with silence. No allocation, no locks, no logging.
#[inline]
pub(super) fn fill<T: DeviceSample>(
    out: &mut [T],
    consumer: &mut Consumer<f32>,
    primed: &mut bool,
    prime: usize,
    channels: usize,
    generation: &Generation,
    underruns: &AtomicU64,
) {
    let ready = consumer.slots();
    let ready = ready - ready % channels;
    if !*primed {
        if ready >= prime || generation.draining.load(Ordering::Acquire) {
            *primed = true;
        } else {
            out.fill(T::EQUILIBRIUM);
            generation.callbacks.fetch_add(1, Ordering::Release);
            return;
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
