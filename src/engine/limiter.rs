//! Output limiter: a fast-attack, slow-release gain envelope, then a soft clip at the ceiling, so no
//! output sample ever exceeds the profile's max level. Costs one peak scan per block when idle.

/// Limiter state for one output channel.
#[derive(Debug, Clone)]
pub struct Limiter {
    ceiling: f32,
    /// Where gentle compression begins (a little below the ceiling).
    threshold: f32,
    gain: f32,
    attack: f32,
    release: f32,
}

impl Limiter {
    /// A limiter holding samples at or below `ceiling` (linear, e.g. 0.891 for −1 dBFS) at `rate` Hz.
    pub fn new(ceiling: f32, rate: u32) -> Self {
        let per_ms = rate as f32 / 1000.0;
        // One 16-bit step of margin, so rounding to integer formats cannot land above the ceiling.
        let ceiling = ceiling - 1.0 / 32_768.0;
        Self {
            ceiling,
            threshold: ceiling * 0.891, // 1 dB below
            gain: 1.0,
            attack: 1.0 - (-1.0 / (0.5 * per_ms)).exp(),
            release: 1.0 - (-1.0 / (150.0 * per_ms)).exp(),
        }
    }

    /// Limits one channel, reading every `stride`-th sample of `buf` starting at `offset`.
    pub fn process(&mut self, buf: &mut [f32], offset: usize, stride: usize) {
        // Idle fast path: unity gain and nothing above the threshold.
        if self.gain >= 1.0 && peak(&buf[offset..], stride) <= self.threshold {
            return;
        }
        let (c, th) = (self.ceiling, self.threshold);
        for s in buf[offset..].iter_mut().step_by(stride) {
            let a = s.abs();
            let want = if a > th { th / a } else { 1.0 };
            let coeff = if want < self.gain { self.attack } else { self.release };
            self.gain += (want - self.gain) * coeff;
            let y = *s * self.gain;
            let ya = y.abs();
            *s = if ya <= th {
                y
            } else {
                // Soft knee between threshold and ceiling: never reaches the ceiling.
                let room = c - th;
                (th + room * ((ya - th) / room).tanh()).copysign(y)
            };
        }
    }
}

/// Largest magnitude of every `stride`-th sample; the contiguous case is written so the compiler
/// vectorises it (eight independent lanes, no early exit).
fn peak(buf: &[f32], stride: usize) -> f32 {
    if stride != 1 {
        return buf.iter().step_by(stride).fold(0.0, |m, s| m.max(s.abs()));
    }
    let mut lanes = [0f32; 8];
    let chunks = buf.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (l, s) in lanes.iter_mut().zip(c) {
            *l = l.max(s.abs());
        }
    }
    let tail = rest.iter().fold(0f32, |m, s| m.max(s.abs()));
    lanes.iter().fold(tail, |m, l| m.max(*l))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_exceeds_the_ceiling_and_leaves_quiet_signals_alone() {
        let ceiling = 10f32.powf(-1.0 / 20.0);
        let mut l = Limiter::new(ceiling, 48_000);
        let mut loud: Vec<f32> = (0..48_000).map(|i| 4.0 * (i as f32 * 0.05).sin()).collect();
        l.process(&mut loud, 0, 1);
        assert!(loud.iter().all(|s| s.abs() <= ceiling), "max {}", loud.iter().fold(0f32, |m, s| m.max(s.abs())));
        let mut l = Limiter::new(ceiling, 48_000);
        let quiet: Vec<f32> = (0..4_800).map(|i| 0.5 * (i as f32 * 0.05).sin()).collect();
        let mut q = quiet.clone();
        l.process(&mut q, 0, 1);
        assert_eq!(q, quiet);
    }
}
