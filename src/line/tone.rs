//! The line-test tone used to prove that a village's loudspeaker line plays.

use std::f32::consts::PI;

/// The line-test tone: `secs` seconds (rounded down to whole samples; nothing for
/// `rate == 0` or `secs <= 0`) of 1 kHz beeps in a fixed pseudo-random on/off
/// pattern of 50–250 ms pieces, starting with a beep. The pattern is the same on
/// every call, and irregular enough that its envelope matches a shifted copy of
/// itself at only one delay. Peaks reach `level_dbfs` (0 dBFS = 1.0); every beep
/// starts and ends with a 5 ms raised-cosine fade (no clicks, also at the very end),
/// and the sine's phase runs on across pieces. Mono at `rate` Hz.
pub fn line_test_tone(rate: u32, secs: f32, level_dbfs: f32) -> Vec<f32> {
    if rate == 0 || secs.is_nan() || secs <= 0.0 {
        return Vec::new();
    }
    let total = (f64::from(secs) * f64::from(rate)) as usize;
    let peak = 10f32.powf(level_dbfs / 20.0);
    let fade = (rate as usize * 5 / 1000).max(1);
    let step = 2.0 * std::f64::consts::PI * 1000.0 / f64::from(rate);
    let mut out = vec![0.0f32; total];
    let mut seed: u32 = 0x9E37_79B9;
    let (mut at, mut on) = (0usize, true);
    while at < total {
        // xorshift32: a fixed sequence, so the tone is the same everywhere.
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let ms = 50 + (seed % 201) as usize;
        let len = (ms * rate as usize / 1000).min(total - at);
        if on {
            let f = fade.min(len / 2).max(1);
            for (i, s) in out[at..at + len].iter_mut().enumerate() {
                let edge = i.min(len - 1 - i);
                let g = if edge < f { 0.5 - 0.5 * (PI * edge as f32 / f as f32).cos() } else { 1.0 };
                *s = peak * g * (step * (at + i) as f64).sin() as f32;
            }
        }
        at += len;
        on = !on;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mean power in 10 ms bins.
    fn envelope(x: &[f32], rate: usize) -> Vec<f32> {
        x.chunks(rate / 100).map(|c| c.iter().map(|v| v * v).sum::<f32>() / c.len() as f32).collect()
    }

    #[test]
    fn level_length_and_determinism() {
        let t = line_test_tone(48_000, 3.0, -10.0);
        assert_eq!(t.len(), 144_000);
        let peak = t.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!((20.0 * peak.log10() + 10.0).abs() < 0.05, "peak {peak}");
        assert_eq!(t, line_test_tone(48_000, 3.0, -10.0));
        assert!(line_test_tone(0, 3.0, 0.0).is_empty() && line_test_tone(8000, -1.0, 0.0).is_empty());
    }

    #[test]
    fn pieces_are_50_to_250_ms_and_edges_are_soft() {
        let rate = 48_000;
        let t = line_test_tone(rate, 10.0, 0.0);
        // Runs of on/off measured on the 1 ms envelope (a beep is "on" where any sample in the ms is non-zero).
        let ms: Vec<bool> = t.chunks(48).map(|c| c.iter().any(|v| v.abs() > 1e-6)).collect();
        let mut runs = vec![];
        let mut n = 1;
        for w in ms.windows(2) {
            if w[0] == w[1] {
                n += 1
            } else {
                runs.push(n);
                n = 1
            }
        }
        assert!(runs.len() > 30, "{} pieces", runs.len());
        assert!(runs.iter().all(|&r| (49..=251).contains(&r)), "{runs:?}");
        // No clicks: a full-scale 1 kHz sine moves at most 2π·1000/rate per sample; fades add little.
        let max_step = t.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0, f32::max);
        assert!(max_step < 1.05 * 2.0 * PI * 1000.0 / rate as f32, "step {max_step}");
        assert!(t[0].abs() < 1e-3 && t[t.len() - 1].abs() < 0.05);
    }

    #[test]
    fn envelope_has_one_clear_delay() {
        let e = envelope(&line_test_tone(48_000, 8.0, -6.0), 48_000);
        let m = e.iter().sum::<f32>() / e.len() as f32;
        let c: Vec<f32> = e.iter().map(|v| v - m).collect();
        let corr = |lag: usize| {
            let (a, b) = (&c[..c.len() - lag], &c[lag..]);
            let ab: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            ab / (a.iter().map(|x| x * x).sum::<f32>() * b.iter().map(|x| x * x).sum::<f32>()).sqrt()
        };
        assert!(corr(0) > 0.999);
        // Beyond the width of one piece, no other delay looks alike.
        let worst = (30..=150).map(corr).fold(-1.0, f32::max);
        assert!(worst < 0.4, "side peak {worst}");
    }
}
