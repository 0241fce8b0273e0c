//! Proof of play: compares what was sent on a line with what came back on its tap.
//!
//! Both sides are reduced to envelopes of mean power in [`BIN`]-wide bins on one
//! shared timeline. Envelopes are *linear power*, not dB: with independent additive
//! noise the expected back power is `gain · sent + noise`, an exactly linear relation,
//! so the Pearson correlation ignores both the unknown gain and the noise floor, and
//! the regression-free level ratio can subtract the noise measured where sent was
//! quiet. Log envelopes would compress the sent gaps (-80 dB) against the noise floor
//! (-45 dB) and weigh the noise's flicker as much as the programme's shape.

use std::time::Duration;

/// Width of one envelope bin on the shared timeline.
pub const BIN: Duration = Duration::from_millis(10);
const BIN_NS: u64 = 10_000_000;
const NS: u128 = 1_000_000_000;
/// A sample with |x| at or above this counts as clipped.
const CLIP: f32 = 0.98;
/// Coefficient of variation of bin power below which sent counts as steady (white
/// noise over 480 samples has ≈ 0.065, speech or the line-test tone ≈ 1).
const STEADY_SENT: f64 = 0.15;
/// Coefficient of variation below which back counts as steady (noise added).
const STEADY_BACK: f64 = 0.3;
/// How much the winner of [`heard_instead`] must beat every other candidate's correlation.
pub const MARGIN: f32 = 0.1;
/// Largest negative delay searched, in bins (50 ms, for timestamp jitter).
const NEG_BINS: u64 = 5;

#[derive(Clone, Copy)]
struct Bin {
    tag: u64,
    sumsq: f32,
    n: u32,
    clip: u32,
}

/// A mono signal's envelope in 10 ms bins on the shared timeline, kept for the last
/// `keep` (a ring; old bins are dropped). Cheap: O(1) per sample, no allocation after
/// `new()`. Each bin holds the sum of squares, the sample count and the clipped count
/// of the samples whose time falls in it; a bin no sample fell in is unknown.
pub struct Track {
    ring: Vec<Bin>,
    end_ns: Option<u64>,
}

impl Track {
    /// An empty track remembering at least the last `keep` (at least one bin).
    pub fn new(keep: Duration) -> Track {
        let n = (keep.as_nanos() / u128::from(BIN_NS)) as usize + 2;
        Track { ring: vec![Bin { tag: u64::MAX, sumsq: 0.0, n: 0, clip: 0 }; n], end_ns: None }
    }

    /// Adds consecutive mono samples at `rate` Hz, the first one at `start` (sample
    /// `i` at `start + i / rate`; `start` may be truncated to whole ns). Calls need not be contiguous: bins in a gap stay
    /// unknown (not silent). Overlap keeps the earlier data: samples falling before
    /// the end of what was already pushed (by more than half a sample period, so
    /// nanosecond rounding of `start` loses nothing) are ignored. `rate == 0` is ignored.
    pub fn push(&mut self, start: Duration, rate: u32, samples: &[f32]) {
        self.push_with(start, rate, samples.len(), |i| samples[i]);
    }

    /// Like [`Track::push`], for channel `channel` (0-based) of interleaved frames of
    /// `channels` samples; a trailing partial frame or a bad channel is ignored.
    pub fn push_interleaved(
        &mut self,
        start: Duration,
        rate: u32,
        interleaved: &[f32],
        channels: usize,
        channel: usize,
    ) {
        if channel < channels {
            self.push_with(start, rate, interleaved.len() / channels, |i| interleaved[i * channels + channel]);
        }
    }

    fn push_with(&mut self, start: Duration, rate: u32, n: usize, get: impl Fn(usize) -> f32) {
        if rate == 0 || n == 0 {
            return;
        }
        let (s, r) = (start.as_nanos() as u64, u128::from(rate));
        let mut i = match self.end_ns {
            Some(end) if end > s => ((u128::from(end - s) * r + NS / 2) / NS) as usize,
            _ => 0,
        };
        let cap = self.ring.len() as u64;
        while i < n {
            // Times count 1 ns late, so a start truncated to whole ns keeps samples in their bins.
            let b = (s + (i as u128 * NS / r) as u64 + 1) / BIN_NS;
            let next = u128::from((b + 1) * BIN_NS - 1 - s);
            // j > i: sample i's time is before the bin's end. max() only guards the loop.
            let j = ((next * r).div_ceil(NS).min(n as u128) as usize).max(i + 1);
            let (mut sq, mut clip) = (0.0f32, 0u32);
            for k in i..j {
                let x = get(k);
                sq += x * x;
                clip += u32::from(x.abs() >= CLIP);
            }
            let bin = &mut self.ring[(b % cap) as usize];
            if bin.tag != b {
                *bin = Bin { tag: b, sumsq: 0.0, n: 0, clip: 0 };
            }
            bin.sumsq += sq;
            bin.n += (j - i) as u32;
            bin.clip += clip;
            i = j;
        }
        let end = s + (n as u128 * NS / r) as u64;
        self.end_ns = Some(self.end_ns.map_or(end, |e| e.max(end)));
    }

    /// The time up to which bins are complete: no later push can change a bin before
    /// it (bins there may still be unknown, from gaps). Zero before the first push.
    pub fn known_until(&self) -> Duration {
        Duration::from_nanos(self.known_bins() * BIN_NS)
    }

    fn known_bins(&self) -> u64 {
        self.end_ns.map_or(0, |e| (e + 1) / BIN_NS)
    }

    /// (mean power, samples, clipped) of bin `b`, if known and still kept.
    fn bin(&self, b: u64) -> Option<(f64, u32, u32)> {
        let cap = self.ring.len() as u64;
        let x = self.ring[(b % cap) as usize];
        (x.tag == b && x.n > 0 && b + cap > self.known_bins())
            .then(|| (f64::from(x.sumsq) / f64::from(x.n), x.n, x.clip))
    }
}

pub use crate::domain::Heard;

/// Badness order used by [`summarize`]: yes < weak < distorted < no.
fn rank(h: Heard) -> usize {
    BADNESS.iter().position(|&x| x == h).unwrap_or(0)
}

const BADNESS: [Heard; 4] = [Heard::Yes, Heard::Weak, Heard::Distorted, Heard::No];

/// How one stretch was judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// The verdict.
    pub heard: Heard,
    /// Envelope correlation at the best delay (Pearson, -1..1); 1.0 or 0.0 for steady sent sound.
    pub correlation: f32,
    /// Delay of what came back after what was sent (sub-bin interpolated; negative jitter reads as zero).
    pub delay: Duration,
    /// RMS level of what came back, dBFS (during the stretch, at the best delay; floor -120).
    pub level_dbfs: f32,
    /// What came back relative to what was sent, dB (noise floor subtracted when correlated).
    pub gain_db: f32,
    /// Fraction of captured samples at or near full scale (|x| >= 0.98), at the best delay.
    pub clipped: f32,
}

/// Thresholds for [`judge`].
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Largest delay searched (default 1 s).
    pub max_delay: Duration,
    /// Gain the line is expected to have from sent to back, dB (default 0).
    pub expect_gain_db: f32,
    /// Gain more than this below `expect_gain_db` is weak (default 15 dB).
    pub weak_below_db: f32,
    /// Levels below this are silence, dBFS (default -60).
    pub silent_below_dbfs: f32,
    /// Correlation needed to say back follows sent (default 0.5).
    pub min_correlation: f32,
    /// Clipped fraction above which back is distorted (default 0.01).
    pub max_clipped: f32,
}

impl Default for Rules {
    /// 1 s, 0 dB, 15 dB, -60 dBFS, 0.5, 0.01.
    fn default() -> Rules {
        Rules {
            max_delay: Duration::from_secs(1),
            expect_gain_db: 0.0,
            weak_below_db: 15.0,
            silent_below_dbfs: -60.0,
            min_correlation: 0.5,
            max_clipped: 0.01,
        }
    }
}

fn db(p: f64) -> f32 {
    (10.0 * p.max(1e-12).log10()) as f32
}

/// Judges the stretch [from, to) (widened to whole bins) of `sent` against `back`:
/// searches delays -50 ms..=max_delay in 10 ms steps for the best Pearson correlation
/// of the power envelopes (unknown bins skipped; a delay needs half the pairs known),
/// refines it by a parabola through the neighbours, and measures back at that delay.
///
/// Returns None when `sent` does not cover `to` yet or carried no sound (level below
/// `silent_below_dbfs`), when `back` does not cover [from, to + max_delay) yet, or when
/// too little of either is known. Sent whose envelope is steady (coefficient of
/// variation < 0.15: a constant tone or noise) has no shape to correlate; then the
/// delay is the one where back is loudest, and correlation is 1.0 if back is steady
/// there too (variation < 0.3), else 0.0. Then, in order:
/// - back level below `silent_below_dbfs` → No;
/// - clipped fraction above `max_clipped` → Distorted;
/// - correlation ≥ `min_correlation`: gain below `expect_gain_db - weak_below_db` →
///   Weak, else Yes (a gain above expectation is still Yes);
/// - uncorrelated, back at least as loud as a weak line would be (level ≥ sent level +
///   `expect_gain_db - weak_below_db`) and not steady (variation ≥ 0.3, i.e. it has
///   programme-like dynamics, not a hum or noise floor) → Distorted;
/// - otherwise (uncorrelated quiet sound, hum or noise) → No.
///
/// The gain, when correlated, subtracts the back noise power measured where sent was
/// quiet (bins < -30 dB re its mean, with quiet neighbours), so noise does not inflate it.
pub fn judge(sent: &Track, back: &Track, from: Duration, to: Duration, rules: &Rules) -> Option<Judgement> {
    let b0 = (from.as_nanos() / u128::from(BIN_NS)) as u64;
    let b1 = to.as_nanos().div_ceil(u128::from(BIN_NS)) as u64;
    let lmax = (rules.max_delay.as_nanos() / u128::from(BIN_NS)) as u64;
    let neg = NEG_BINS.min(b0);
    if b1 <= b0 || sent.known_bins() < b1 || back.known_bins() < b1 + lmax {
        return None;
    }
    let s: Vec<Option<f64>> = (b0..b1).map(|b| sent.bin(b).map(|x| x.0)).collect();
    let bk: Vec<Option<(f64, u32, u32)>> = (b0 - neg..b1 + lmax).map(|b| back.bin(b)).collect();
    let (sn, ss, sss) = s.iter().flatten().fold((0.0, 0.0, 0.0), |a, &x| (a.0 + 1.0, a.1 + x, a.2 + x * x));
    if sn < 2.0 || db(ss / sn) < rules.silent_below_dbfs {
        return None;
    }
    let s_mean = ss / sn;
    let steady = (sss / sn - s_mean * s_mean).max(0.0).sqrt() / s_mean < STEADY_SENT;
    // Pair statistics at lag index k (delay = k - neg bins).
    let stats = |k: usize| {
        let mut a = [0.0f64; 6]; // n, Σx, Σy, Σxx, Σyy, Σxy
        for (i, x) in s.iter().enumerate() {
            if let (Some(x), Some((y, _, _))) = (x, bk[i + k]) {
                a = [a[0] + 1.0, a[1] + x, a[2] + y, a[3] + x * x, a[4] + y * y, a[5] + x * y];
            }
        }
        a
    };
    let corr_at = |k: usize| {
        let [n, sx, sy, sxx, syy, sxy] = stats(k);
        if n < (s.len() as f64 / 2.0).max(2.0) {
            return None;
        }
        let (vx, vy) = (sxx - sx * sx / n, syy - sy * sy / n);
        Some(if vx > 0.0 && vy > 0.0 { (sxy - sx * sy / n) / (vx * vy).sqrt() } else { 0.0 })
    };
    let lags = (lmax + neg + 1) as usize;
    let (best, corr) = if steady {
        let loud = (0..lags)
            .filter(|&k| corr_at(k).is_some())
            .map(|k| (k, stats(k)))
            .max_by(|a, b| (a.1[2] / a.1[0]).total_cmp(&(b.1[2] / b.1[0])))?;
        (loud.0, None)
    } else {
        let c: Vec<Option<f64>> = (0..lags).map(corr_at).collect();
        let (k, v) = c.iter().enumerate().filter_map(|(k, v)| v.map(|v| (k, v))).max_by(|a, b| a.1.total_cmp(&b.1))?;
        let frac = match (k.checked_sub(1).and_then(|j| c[j]), c.get(k + 1).copied().flatten()) {
            (Some(l), Some(r)) if l + r - 2.0 * v < 0.0 => (0.5 * (l - r) / (l + r - 2.0 * v)).clamp(-0.5, 0.5),
            _ => 0.0,
        };
        (k, Some((v, k as f64 + frac)))
    };
    // Measure back at the chosen delay.
    let (mut n, mut sum, mut sq, mut quiet, mut nq, mut samples, mut clipped) = (0.0, 0.0, 0.0, 0.0, 0.0, 0u64, 0u64);
    for i in 0..s.len() {
        let Some((y, cnt, clip)) = bk[i + best] else { continue };
        (n, sum, sq, samples, clipped) =
            (n + 1.0, sum + y, sq + y * y, samples + u64::from(cnt), clipped + u64::from(clip));
        let q = |j: Option<usize>| j.and_then(|j| s.get(j)).is_none_or(|v| v.is_some_and(|v| v < s_mean * 1e-3));
        if q(Some(i)) && q(i.checked_sub(1)) && q(Some(i + 1)) {
            (quiet, nq) = (quiet + y, nq + 1.0);
        }
    }
    let mean = sum / n;
    let back_steady = (sq / n - mean * mean).max(0.0).sqrt() / mean.max(1e-20) < STEADY_BACK;
    let (correlation, delay_bins) = corr.unwrap_or((if back_steady { 1.0 } else { 0.0 }, best as f64));
    let correlated = correlation >= f64::from(rules.min_correlation);
    let noise = if correlated && nq >= 5.0 { quiet / nq } else { 0.0 };
    let level_dbfs = db(mean);
    let gain_db = db((mean - noise).max(mean * 1e-3)) - db(s_mean);
    let clipped = clipped as f32 / samples.max(1) as f32;
    let weak_gain = rules.expect_gain_db - rules.weak_below_db;
    let heard = if level_dbfs < rules.silent_below_dbfs {
        Heard::No
    } else if clipped > rules.max_clipped {
        Heard::Distorted
    } else if correlated {
        if gain_db < weak_gain { Heard::Weak } else { Heard::Yes }
    } else if level_dbfs >= db(s_mean) + weak_gain && !back_steady {
        Heard::Distorted
    } else {
        Heard::No
    };
    let delay_ns = ((delay_bins - neg as f64) * BIN_NS as f64).max(0.0);
    Some(Judgement {
        heard,
        correlation: correlation as f32,
        delay: Duration::from_nanos(delay_ns as u64),
        level_dbfs,
        gain_db,
        clipped,
    })
}

/// Crossed wires: given what came back on one line and what was sent to other zones
/// (name, track), the zone whose sent audio best explains `back`: its judgement has
/// correlation ≥ `min_correlation`, is not No, and beats every other candidate's
/// correlation by at least [`MARGIN`]. Include the own zone among `others` to get the
/// "clearly better than the own zone" test: if the own zone explains back as well, the
/// answer is None (or the own zone's name, which the caller then ignores). Zones with
/// nothing to judge (see [`judge`]) are skipped.
pub fn heard_instead<'a>(
    back: &Track,
    others: &[(&'a str, &Track)],
    from: Duration,
    to: Duration,
    rules: &Rules,
) -> Option<(&'a str, Judgement)> {
    let mut all: Vec<(&'a str, Judgement)> =
        others.iter().filter_map(|&(name, t)| Some((name, judge(t, back, from, to, rules)?))).collect();
    all.sort_by(|a, b| b.1.correlation.total_cmp(&a.1.correlation));
    let runner_up = all.get(1).map_or(f32::NEG_INFINITY, |x| x.1.correlation);
    let best = all.into_iter().next()?;
    (best.1.correlation >= rules.min_correlation
        && best.1.heard != Heard::No
        && best.1.correlation >= runner_up + MARGIN)
        .then_some(best)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len().is_multiple_of(2) { Some((v.get(m.checked_sub(1)?)? + v[m]) / 2.0) } else { Some(v[m]) }
}

/// One verdict for a whole cue from the judgements of its stretches; None for no parts.
///
/// The line's delay does not jump within a cue, while a chance match with unrelated
/// sound lands at a random delay: so the cue's delay is the (lower) median delay of
/// the yes/weak stretches, and a yes/weak stretch more than 30 ms away from it counts
/// as no. Then verdicts are ranked yes < weak < distorted < no and `heard` is the worst
/// verdict V such that at least half of the stretches are V or worse (so more than
/// half no → no, 3 yes + 1 no → yes, 2 yes + 2 no → no). Level, gain, correlation and
/// clipped are medians over all stretches; with no yes/weak stretch, delay is the
/// median over all.
pub fn summarize(parts: &[Judgement]) -> Option<Judgement> {
    let ns = |p: &Judgement| p.delay.as_nanos() as f64;
    let good = |p: &&Judgement| matches!(p.heard, Heard::Yes | Heard::Weak);
    let mut delays: Vec<f64> = parts.iter().filter(good).map(ns).collect();
    delays.sort_by(f64::total_cmp);
    let delay = match delays.get(delays.len().saturating_sub(1) / 2) {
        Some(&d) => d,
        None => median(parts.iter().map(ns).collect())?,
    };
    let part_rank =
        |p: &Judgement| if good(&p) && (ns(p) - delay).abs() > 30e6 { rank(Heard::No) } else { rank(p.heard) };
    let heard = BADNESS
        .into_iter()
        .rev()
        .find(|v| 2 * parts.iter().filter(|p| part_rank(p) >= rank(*v)).count() >= parts.len())?;
    let m = |f: fn(&Judgement) -> f32| median(parts.iter().map(|p| f64::from(f(p))).collect()).unwrap_or(0.0) as f32;
    Some(Judgement {
        heard,
        correlation: m(|p| p.correlation),
        delay: Duration::from_nanos(delay as u64),
        level_dbfs: m(|p| p.level_dbfs),
        gain_db: m(|p| p.gain_db),
        clipped: m(|p| p.clipped),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tone::line_test_tone;
    use super::*;

    const RATE: u32 = 16_000;
    const T0: Duration = Duration::from_secs(2);

    struct Rng(u64);
    impl Rng {
        /// Uniform in [-1, 1) (xorshift64).
        fn next(&mut self) -> f32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        }
    }

    /// Noise bursts shaped like syllables (80–300 ms, raised sine) with 30–200 ms pauses, peaks -6..-20 dBFS.
    fn speech(seed: u64, rate: u32, secs: f32) -> Vec<f32> {
        let mut r = Rng(seed);
        let total = (secs * rate as f32) as usize;
        let mut out = Vec::with_capacity(total);
        while out.len() < total {
            let len = ((0.19 + 0.11 * r.next()) * rate as f32) as usize;
            let peak = 10f32.powf((-13.0 + 7.0 * r.next()) / 20.0);
            out.extend((0..len).map(|i| peak * (std::f32::consts::PI * i as f32 / len as f32).sin() * r.next() * 1.7));
            out.extend(std::iter::repeat_n(0.0, ((0.115 + 0.085 * r.next()) * rate as f32) as usize));
        }
        out.truncate(total);
        out
    }

    /// `x` delayed by `delay_ms`, scaled by `gain_db`, plus uniform white noise at `noise_dbfs` RMS, kept in ±1.
    fn line(x: &[f32], delay_ms: usize, gain_db: f32, noise_dbfs: f32, seed: u64) -> Vec<f32> {
        let (d, g, mut r) = (delay_ms * RATE as usize / 1000, 10f32.powf(gain_db / 20.0), Rng(seed));
        let amp = 10f32.powf(noise_dbfs / 20.0) * 3f32.sqrt();
        (0..x.len()).map(|n| (if n >= d { g * x[n - d] } else { 0.0 } + amp * r.next()).clamp(-1.0, 1.0)).collect()
    }

    /// A track of `x` starting at T0, pushed in 1000-sample blocks.
    fn track(x: &[f32]) -> Track {
        let mut t = Track::new(Duration::from_secs(30));
        for (k, c) in x.chunks(1000).enumerate() {
            t.push(T0 + Duration::from_nanos((k as u64 * 1000 * 1_000_000_000) / u64::from(RATE)), RATE, c);
        }
        t
    }

    fn judge_at(sent: &[f32], back: &[f32], expect: f32) -> Judgement {
        let rules = Rules { expect_gain_db: expect, ..Rules::default() };
        judge(&track(sent), &track(back), T0 + Duration::from_secs(2), T0 + Duration::from_secs(6), &rules)
            .expect("judgeable")
    }

    fn signals() -> [Vec<f32>; 2] {
        [line_test_tone(RATE, 8.0, -6.0), speech(7, RATE, 8.0)]
    }

    #[test]
    fn attenuated_delayed_noisy_is_yes_or_weak() {
        for (i, s) in signals().iter().enumerate() {
            let back = line(s, 180, -20.0, -45.0, 99);
            let j = judge_at(s, &back, -20.0);
            assert_eq!(j.heard, Heard::Yes, "{i}: {j:?}");
            assert!(j.correlation > 0.9 && j.clipped == 0.0, "{i}: {j:?}");
            assert!((j.delay.as_secs_f32() - 0.18).abs() <= 0.01, "{i}: {j:?}");
            assert!((j.gain_db + 20.0).abs() <= 1.5, "{i}: {j:?}");
            assert_eq!(judge_at(s, &back, 0.0).heard, Heard::Weak, "{i}");
            let far = judge_at(s, &line(s, 900, -6.0, -45.0, 5), -6.0);
            assert!(far.heard == Heard::Yes && (far.delay.as_secs_f32() - 0.9).abs() <= 0.01, "{i}: {far:?}");
            // Not bin-aligned and a little early (timestamp jitter) still land within a bin.
            let odd = judge_at(s, &line(s, 185, -20.0, -45.0, 6), -20.0);
            assert!((odd.delay.as_secs_f32() - 0.185).abs() <= 0.006, "{i}: {odd:?}");
            let early = judge_at(&line(s, 40, 0.0, -90.0, 8), s, 0.0);
            assert!(early.correlation > 0.95 && early.delay == Duration::ZERO, "{i}: {early:?}");
            // Back 10 dB below the noise: the noise measured in the sent pauses is taken off the gain.
            let faint = judge_at(s, &line(s, 180, -35.0, -45.0, 9), -35.0);
            assert!(faint.heard == Heard::Yes && (faint.gain_db + 35.0).abs() <= 1.5, "{i}: {faint:?}");
        }
    }

    #[test]
    fn silence_noise_clipping_and_strangers() {
        for (i, s) in signals().iter().enumerate() {
            assert_eq!(judge_at(s, &vec![0.0; s.len()], 0.0).heard, Heard::No, "{i}");
            let hiss = judge_at(s, &line(s, 0, -200.0, -70.0, 3), -20.0);
            assert!(hiss.heard == Heard::No && (hiss.level_dbfs + 70.0).abs() < 1.0, "{i}: {hiss:?}");
            let loud = judge_at(s, &line(s, 180, 29.5, -45.0, 4), 0.0);
            assert!(loud.heard == Heard::Distorted && loud.clipped > 0.01, "{i}: {loud:?}");
            let other = speech(1234, RATE, 8.0);
            let back = line(&other, 120, -20.0, -45.0, 5);
            let j = judge_at(s, &back, -20.0);
            assert!(matches!(j.heard, Heard::No | Heard::Distorted) && j.correlation < 0.5, "{i}: {j:?}");
            let (own, east, back) = (track(s), track(&other), track(&back));
            let (from, to, rules) = (T0 + Duration::from_secs(2), T0 + Duration::from_secs(6), Rules::default());
            let found = heard_instead(&back, &[("own", &own), ("east", &east)], from, to, &rules);
            assert!(found.is_some_and(|f| f.0 == "east" && f.1.heard == Heard::Weak && f.1.correlation > 0.9), "{i}");
            assert!(heard_instead(&own, &[("east", &east)], from, to, &rules).is_none(), "{i}");
        }
    }

    #[test]
    fn nothing_to_judge_is_none() {
        let s = speech(7, RATE, 8.0);
        let mut quiet = s.clone();
        quiet[2 * RATE as usize..6 * RATE as usize].fill(0.0);
        let (sent, q, back) = (track(&s), track(&quiet), track(&line(&s, 180, -20.0, -45.0, 1)));
        let r = Rules::default();
        let at = |a: u64, b: u64| (T0 + Duration::from_secs(a), T0 + Duration::from_secs(b));
        let (f, t) = at(2, 6);
        assert!(judge(&q, &back, f, t, &r).is_none());
        assert!(judge(&sent, &back, f, t, &r).is_some());
        let (f, t) = at(3, 7); // back ends at T0 + 8 s, just enough for the default 1 s
        assert!(judge(&sent, &back, f, t, &r).is_some());
        assert!(judge(&sent, &back, f, t, &Rules { max_delay: Duration::from_millis(1010), ..r }).is_none());
    }

    #[test]
    fn steady_tone_is_judged_on_level() {
        let s: Vec<f32> = (0..8 * RATE as usize).map(|n| 0.5 * (n as f32 * 0.3).sin()).collect();
        let j = judge_at(&s, &line(&s, 180, -20.0, -45.0, 2), -20.0);
        assert!(j.heard == Heard::Yes && j.correlation == 1.0 && (j.gain_db + 20.0).abs() < 1.0, "{j:?}");
        assert_eq!(judge_at(&s, &line(&s, 180, -40.0, -70.0, 2), -20.0).heard, Heard::Weak);
        let busy = judge_at(&s, &line(&speech(3, RATE, 8.0), 0, 0.0, -45.0, 2), -20.0);
        assert!(busy.heard == Heard::Distorted && busy.correlation == 0.0, "{busy:?}");
    }

    #[test]
    fn track_gaps_overlaps_and_rounding() {
        let ms = Duration::from_millis;
        let mut t = Track::new(Duration::from_secs(1));
        assert_eq!(t.known_until(), Duration::ZERO);
        t.push(ms(0), 1000, &[1.0; 100]); // bins 0..10 at power 1
        t.push(ms(50), 1000, &[0.5; 100]); // 50..100 ms ignored (earlier data kept), 100..150 at 0.25
        assert_eq!(t.known_until(), ms(150));
        assert_eq!((t.bin(7), t.bin(12).map(|b| b.0)), (Some((1.0, 10, 10)), Some(0.25)));
        t.push(ms(300), 1000, &[0.5; 105]); // gap 150..300 ms stays unknown
        assert!(t.bin(15).is_none() && t.bin(29).is_none() && t.bin(30).is_some());
        assert_eq!((t.known_until(), t.bin(40)), (ms(400), Some((0.25, 5, 0))));
        t.push(ms(100), 1000, &[0.0; 500]); // wholly in the past: ignored
        assert_eq!(t.bin(12).map(|b| b.0), Some(0.25));
        // Contiguous 48 kHz blocks whose starts are rounded to the ns lose and double nothing.
        let (mut a, mut b) = (Track::new(ms(1500)), Track::new(ms(1500)));
        let frames: Vec<f32> = (0..2 * 48_000).map(|i| if i % 2 == 1 { 0.5 } else { 1.0 }).collect();
        for k in 0..48u64 {
            let start = Duration::from_nanos(k * 1000 * 1_000_000_000 / 48_000);
            a.push(start, 48_000, &[0.5; 1000]);
            b.push_interleaved(start, 48_000, &frames[k as usize * 2000..(k as usize + 1) * 2000], 2, 1);
        }
        for i in 0..100 {
            assert_eq!((a.bin(i), b.bin(i)), (Some((0.25, 480, 0)), Some((0.25, 480, 0))), "{i}");
        }
        assert_eq!(a.known_until(), Duration::from_secs(1));
        // The ring forgets bins older than `keep`.
        a.push(Duration::from_secs(5), 48_000, &[0.5; 480]);
        assert!(a.bin(0).is_none() && a.bin(500).is_some());
    }

    #[test]
    fn summarize_takes_the_worst_verdict_held_by_half() {
        let j = |heard, ms| Judgement {
            heard,
            correlation: 0.9,
            delay: Duration::from_millis(ms),
            level_dbfs: -30.0,
            gain_db: -20.0,
            clipped: 0.0,
        };
        let yes3 = [j(Heard::Yes, 180), j(Heard::Yes, 190), j(Heard::No, 700), j(Heard::Yes, 180)];
        let s = summarize(&yes3).expect("parts");
        assert!(s.heard == Heard::Yes && s.delay == Duration::from_millis(180), "{s:?}");
        let no3 = [j(Heard::Yes, 180), j(Heard::No, 10), j(Heard::No, 20), j(Heard::No, 30)];
        assert_eq!(summarize(&no3).map(|s| s.heard), Some(Heard::No));
        let mixed = [j(Heard::Yes, 180), j(Heard::Weak, 180), j(Heard::Distorted, 0), j(Heard::Yes, 180)];
        assert_eq!(summarize(&mixed).map(|s| s.heard), Some(Heard::Weak));
        // Chance matches at wandering delays do not prove anything.
        let wander = [j(Heard::Yes, 180), j(Heard::Yes, 640), j(Heard::Yes, 185), j(Heard::Yes, 930)];
        assert_eq!(summarize(&wander).map(|s| (s.heard, s.delay)), Some((Heard::No, Duration::from_millis(185))));
        let one_off = [j(Heard::Yes, 180), j(Heard::Yes, 640), j(Heard::Yes, 185), j(Heard::Yes, 190)];
        assert_eq!(summarize(&one_off).map(|s| (s.heard, s.delay)), Some((Heard::Yes, Duration::from_millis(185))));
        assert!(summarize(&[]).is_none());
        assert_eq!(Heard::Distorted.as_str(), "distorted");
    }

    /// Throughput: one village (48 kHz sent + back on channel 1 of a stereo capture), judged every 4 s.
    #[test]
    #[ignore]
    fn throughput() {
        let (rate, secs) = (48_000u32, 120usize);
        let sent: Vec<f32> = speech(11, rate, secs as f32);
        let d = rate as usize * 18 / 100;
        let capture: Vec<f32> =
            (0..sent.len()).flat_map(|n| [0.0, if n >= d { 0.1 * sent[n - d] } else { 0.0 }]).collect();
        let (mut s, mut b) = (Track::new(Duration::from_secs(10)), Track::new(Duration::from_secs(10)));
        let (block, rules) = (480usize, Rules { expect_gain_db: -20.0, ..Rules::default() });
        let at = |i: usize| Duration::from_nanos((i as u64 * 1_000_000_000) / u64::from(rate));
        let (clock, mut next, mut verdicts) = (std::time::Instant::now(), 4usize, vec![]);
        for i in (0..sent.len()).step_by(block) {
            let e = (i + block).min(sent.len());
            s.push(at(i), rate, &sent[i..e]);
            b.push_interleaved(at(i), rate, &capture[2 * i..2 * e], 2, 1);
            if b.known_until() >= Duration::from_secs(next as u64 + 1) {
                let (from, to) = (Duration::from_secs(next as u64 - 4), Duration::from_secs(next as u64));
                verdicts.extend(judge(&s, &b, from, to, &rules));
                next += 4;
            }
        }
        let cpu = clock.elapsed().as_secs_f64();
        assert!(verdicts.len() >= 25 && verdicts.iter().all(|v| v.heard == Heard::Yes), "{verdicts:?}");
        println!("{secs} s of audio in {cpu:.3} s: {:.0} s of audio per CPU second", secs as f64 / cpu);
    }
}
