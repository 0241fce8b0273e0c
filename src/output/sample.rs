//! Sample conversion from the engine's f32 in [-1, 1] to what a file or a sound card takes.
//!
//! One rule everywhere (WAV files and device callbacks): NaN becomes 0, values are clamped to
//! [-1, 1], integers are `x · 2^(bits-1)` rounded to the nearest integer (halves away from zero)
//! and clamped to the type's range. So 0.5 is exactly half scale, -1.0 is the most negative
//! value, +1.0 the most positive one, and a file read back as `i / 2^(bits-1)` returns the
//! engine's samples whenever they were already on the integer grid.

/// The sample clamped to [-1, 1]; NaN becomes silence.
#[inline]
pub fn clamp_unit(x: f32) -> f32 {
    if x.is_nan() { 0.0 } else { x.clamp(-1.0, 1.0) }
}

/// `v` rounded to the nearest integer, halves away from zero, for |v| ≤ 2^24 (where f32 holds
/// every integer and `v - trunc(v)` is exact). `f32::round` is a libm call per sample on
/// baseline x86-64; this compiles to a few vector instructions.
#[inline]
fn round_f32(v: f32) -> i32 {
    let t = v as i32;
    let r = v - t as f32;
    t + i32::from(r >= 0.5) - i32::from(r <= -0.5)
}

/// 16-bit signed integer: `x · 32768`, rounded, within -32768..=32767.
#[inline]
pub fn to_i16(x: f32) -> i16 {
    // Clamped before rounding (the same result: the bounds are integers), NaN first: straight
    // lines of vector instructions over a block.
    let v = if x.is_nan() { 0.0 } else { (x * 32_768.0).clamp(-32_768.0, 32_767.0) };
    round_f32(v) as i16
}

/// Smallest 24-bit sample.
pub const I24_MIN: i32 = -(1 << 23);
/// Largest 24-bit sample.
pub const I24_MAX: i32 = (1 << 23) - 1;

/// 24-bit signed integer in an i32: `x · 8388608`, rounded, within -8388608..=8388607.
#[inline]
pub fn to_i24(x: f32) -> i32 {
    round_f32(clamp_unit(x) * 8_388_608.0).clamp(I24_MIN, I24_MAX)
}

/// 32-bit signed integer: `x · 2147483648`, rounded, within the i32 range (computed in f64, exact).
#[inline]
pub fn to_i32(x: f32) -> i32 {
    (f64::from(clamp_unit(x)) * 2_147_483_648.0).round().clamp(-2_147_483_648.0, 2_147_483_647.0) as i32
}

/// 32-bit float: the sample clamped to [-1, 1].
#[inline]
pub fn to_f32(x: f32) -> f32 {
    clamp_unit(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_out_of_range_and_nan() {
        assert_eq!(to_i16(1.5), i16::MAX);
        assert_eq!(to_i16(-7.0), i16::MIN);
        assert_eq!(to_i16(f32::INFINITY), i16::MAX);
        assert_eq!(to_i16(f32::NEG_INFINITY), i16::MIN);
        assert_eq!(to_i16(f32::NAN), 0);
        assert_eq!(to_i24(2.0), I24_MAX);
        assert_eq!(to_i24(-2.0), I24_MIN);
        assert_eq!(to_i32(1.0), i32::MAX);
        assert_eq!(to_i32(-1.0), i32::MIN);
        assert_eq!(to_i32(f32::NAN), 0);
        assert_eq!(to_f32(1.25), 1.0);
        assert_eq!(to_f32(-1.25), -1.0);
        assert_eq!(to_f32(f32::NAN), 0.0);
        assert_eq!(to_f32(0.3), 0.3);
    }

    #[test]
    fn full_scale_ends() {
        assert_eq!(to_i16(1.0), 32_767);
        assert_eq!(to_i16(-1.0), -32_768);
        assert_eq!(to_i24(1.0), 8_388_607);
        assert_eq!(to_i24(-1.0), -8_388_608);
    }

    #[test]
    fn rounds_to_nearest() {
        // 0.1 · 32768 = 3276.8 → 3277, not truncated to 3276.
        assert_eq!(to_i16(0.1), 3277);
        assert_eq!(to_i16(-0.1), -3277);
        // Halves go away from zero: 1.5 / 32768 · 32768 = 1.5 → 2.
        assert_eq!(to_i16(1.5 / 32_768.0), 2);
        assert_eq!(to_i16(-1.5 / 32_768.0), -2);
        // Just under a half rounds down.
        assert_eq!(to_i16(1.49 / 32_768.0), 1);
        assert_eq!(to_i24(0.1), 838_861); // 838860.8
        assert_eq!(to_i32(0.1), 214_748_368); // 0.1f32 = 0.100000001490116… → 214748368.0
    }

    #[test]
    fn the_fast_rounding_agrees_with_libm_everywhere_in_range() {
        // Every f32 bit pattern with a step over [-1.1, 1.1], and the neighbours of every half.
        let reference16 = |x: f32| (clamp_unit(x) * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16;
        let reference24 = |x: f32| (clamp_unit(x) * 8_388_608.0).round().clamp(-8_388_608.0, 8_388_607.0) as i32;
        let mut bits = 0u32;
        while bits < 0x3F8C_CCCD {
            for x in [f32::from_bits(bits), -f32::from_bits(bits)] {
                assert_eq!(to_i16(x), reference16(x), "{x:e}");
                assert_eq!(to_i24(x), reference24(x), "{x:e}");
            }
            bits += 97;
        }
        for k in -32_768..32_768 {
            let half = (k as f32 + 0.5) / 32_768.0;
            for x in [half, f32::from_bits(half.to_bits() + 1), f32::from_bits(half.to_bits().wrapping_sub(1))] {
                assert_eq!(to_i16(x), reference16(x), "{x:e}");
            }
        }
    }

    #[test]
    fn exact_grid_values_survive() {
        for k in [-32_768i32, -12_345, -1, 0, 1, 16_384, 32_767] {
            assert_eq!(i32::from(to_i16(k as f32 / 32_768.0)), k);
        }
        for k in [I24_MIN, -1_000_000, -1, 0, 1, 4_194_304, I24_MAX] {
            assert_eq!(to_i24(k as f32 / 8_388_608.0), k);
        }
        assert_eq!(to_i16(0.5), 16_384);
        assert_eq!(to_i32(0.5), 1 << 30);
        assert_eq!(to_i32(-0.5), -(1 << 30));
    }

    #[test]
    fn i24_stays_in_24_bits() {
        let mut x = -1.2f32;
        while x <= 1.2 {
            let v = to_i24(x);
            assert!((I24_MIN..=I24_MAX).contains(&v), "{x} → {v}");
            x += 0.0137;
        }
    }
}
