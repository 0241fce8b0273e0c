//! Where a device sink puts a block in its ring so that it is heard at its instant: the
//! writer's half of the timing described in [`device`](super::device).

/// How [`Sink::write_at`] places a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fix {
    /// As it is.
    Keep,
    /// After this many frames of silence.
    Pad(usize),
    /// Without its first this many frames.
    Skip(usize),
    /// With its first frame this many extra times.
    Repeat(usize),
}

/// A sample too quiet to hear (−100 dBFS).
pub(super) fn is_silent(x: f32) -> bool {
    x.abs() < 1e-5
}

/// How to place `block` (`ch` channels at `rate`) whose first frame would be heard `early`
/// frames before its instant (negative: late), the frame before it being silent or not.
///
/// In silence — the block starts silent or follows silence — padding and skipping silent frames
/// cannot be heard: the block is placed to within half a millisecond. Inside sound, only when it
/// is more than 4 ms off, one frame in 200 of the block (at least one) is repeated or skipped.
pub(super) fn placement(early: i64, block: &[f32], ch: usize, after_silence: bool, rate: u32) -> Fix {
    let frames = block.len() / ch.max(1);
    let quiet_frames = i64::from(rate / 2000);
    let audible_frames = i64::from(rate / 250);
    let nudge = (frames / 200).max(1);
    if early.abs() <= quiet_frames || frames == 0 {
        return Fix::Keep;
    }
    let silent_frame = |i: usize| block[i * ch..(i + 1) * ch].iter().all(|x| is_silent(*x));
    let need = early.unsigned_abs() as usize;
    if early > 0 {
        if after_silence || silent_frame(0) {
            Fix::Pad(need)
        } else if early > audible_frames {
            Fix::Repeat(nudge.min(need))
        } else {
            Fix::Keep
        }
    } else {
        let quiet = (0..frames.min(need)).take_while(|&i| silent_frame(i)).count();
        let left = need - quiet;
        let skip = if quiet < frames && left as i64 > audible_frames { quiet + nudge.min(left) } else { quiet };
        if skip == 0 { Fix::Keep } else { Fix::Skip(skip.min(frames)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CH: usize = 2;

    fn block(frames: usize, sound_from: usize) -> Vec<f32> {
        (0..frames * CH).map(|i| if i / CH >= sound_from { 0.5 } else { 0.0 }).collect()
    }

    #[test]
    fn half_a_millisecond_off_is_left_alone() {
        let b = block(480, 0);
        assert_eq!(placement(24, &b, CH, true, 48_000), Fix::Keep);
        assert_eq!(placement(-24, &b, CH, false, 48_000), Fix::Keep);
    }

    #[test]
    fn in_silence_a_block_is_placed_exactly() {
        // Early: silence before it, however the block begins.
        assert_eq!(placement(4_000, &block(480, 0), CH, true, 48_000), Fix::Pad(4_000));
        assert_eq!(placement(4_000, &block(480, 10), CH, false, 48_000), Fix::Pad(4_000));
        // Late: only its silent frames go, up to what is needed.
        assert_eq!(placement(-100, &block(480, 300), CH, false, 48_000), Fix::Skip(100));
        assert_eq!(placement(-1_000, &block(480, 480), CH, false, 48_000), Fix::Skip(480));
    }

    #[test]
    fn inside_sound_it_only_nudges_and_only_when_more_than_4_ms_off() {
        let loud = block(480, 0);
        assert_eq!(placement(150, &loud, CH, false, 48_000), Fix::Keep);
        assert_eq!(placement(-150, &loud, CH, false, 48_000), Fix::Keep);
        assert_eq!(placement(4_000, &loud, CH, false, 48_000), Fix::Repeat(2));
        assert_eq!(placement(-4_000, &loud, CH, false, 48_000), Fix::Skip(2));
        // Late with some silence first: the silence goes, then one nudge into the sound.
        assert_eq!(placement(-4_000, &block(480, 100), CH, false, 48_000), Fix::Skip(102));
        // A short block still moves by one frame.
        assert_eq!(placement(-4_000, &block(48, 0), CH, false, 48_000), Fix::Skip(1));
    }
}
