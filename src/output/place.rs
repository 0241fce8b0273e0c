//! Where a device sink puts a block in its ring so that it is heard at its instant: the
//! writer's half of the timing described in [`device`](super::device).

/// How [`Sink::write_at`](super::Sink::write_at) places a block.
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
fn is_silent(x: f32) -> bool {
    x.abs() < 1e-5
}

fn silent_frame(frame: &[f32]) -> bool {
    frame.iter().all(|x| is_silent(*x))
}

/// Silent frames at the start of `block` (`ch` channels).
fn leading_quiet(block: &[f32], ch: usize) -> usize {
    block.chunks_exact(ch.max(1)).take_while(|f| silent_frame(f)).count()
}

/// Silent frames at the end of `block` (`ch` channels).
pub(super) fn trailing_quiet(block: &[f32], ch: usize) -> usize {
    block.chunks_exact(ch.max(1)).rev().take_while(|f| silent_frame(f)).count()
}

/// How to place `block` (`ch` channels at `rate`) whose first frame would be heard `early`
/// frames before its instant (negative: after it), `quiet_before` silent frames having been
/// queued just before it.
///
/// In silence — at least a millisecond of it before the block or at its start; a tone's zero
/// crossing is not silence — padding and skipping silent frames cannot be heard: the block is
/// placed to within half a millisecond. Inside sound, only when it is more than 10 ms off (more
/// than the timing's noise on a busy machine, so that noise never clicks), one frame in 200 of
/// the block (at least one) is repeated or skipped.
pub(super) fn placement(early: i64, block: &[f32], ch: usize, quiet_before: usize, rate: u32) -> Fix {
    let ch = ch.max(1);
    let frames = block.len() / ch;
    let close_enough = i64::from(rate / 2000);
    let audible = i64::from(rate / 100);
    let silence = (rate / 1000).max(1) as usize;
    let nudge = (frames / 200).max(1);
    if early.abs() <= close_enough || frames == 0 {
        return Fix::Keep;
    }
    let quiet = leading_quiet(block, ch);
    let in_silence = quiet_before >= silence || quiet >= silence;
    let need = early.unsigned_abs() as usize;
    if early > 0 {
        if in_silence {
            Fix::Pad(need)
        } else if early > audible {
            Fix::Repeat(nudge.min(need))
        } else {
            Fix::Keep
        }
    } else {
        let quiet = if in_silence { quiet.min(need) } else { 0 };
        let left = need - quiet;
        let skip = if quiet < frames && left as i64 > audible { quiet + nudge.min(left) } else { quiet };
        if skip == 0 { Fix::Keep } else { Fix::Skip(skip.min(frames)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CH: usize = 2;
    const RATE: u32 = 48_000;

    /// Silence, then a 1 kHz tone (channel 1 only) from frame `sound_from`, at phase `phase`.
    fn block(frames: usize, sound_from: usize, phase: f64) -> Vec<f32> {
        let w = std::f64::consts::TAU * 1_000.0 / f64::from(RATE);
        let mut v = vec![0.0; frames * CH];
        for i in sound_from..frames {
            v[i * CH] = (0.5 * (w * (i - sound_from) as f64 + phase).sin()) as f32;
        }
        v
    }

    const LOUD: f64 = 1.0; // a phase where the tone is not at a zero crossing

    #[test]
    fn half_a_millisecond_off_is_left_alone() {
        let b = block(480, 0, LOUD);
        assert_eq!(placement(24, &b, CH, 1_000, RATE), Fix::Keep);
        assert_eq!(placement(-24, &b, CH, 0, RATE), Fix::Keep);
    }

    #[test]
    fn in_silence_a_block_is_placed_exactly() {
        // Early: pad when silence comes before the block or the block starts silent.
        assert_eq!(placement(4_000, &block(480, 0, LOUD), CH, 48, RATE), Fix::Pad(4_000));
        assert_eq!(placement(4_000, &block(480, 100, LOUD), CH, 0, RATE), Fix::Pad(4_000));
        // A cue whose fade-in starts at zero, right after silence.
        assert_eq!(placement(100, &block(480, 0, 0.0), CH, 5_000, RATE), Fix::Pad(100));
        // Late: only its silent frames go, up to what is needed.
        assert_eq!(placement(-100, &block(480, 300, LOUD), CH, 0, RATE), Fix::Skip(100));
        assert_eq!(placement(-1_000, &block(480, 480, LOUD), CH, 0, RATE), Fix::Skip(480));
        assert_eq!(placement(-30, &block(480, 2, LOUD), CH, 48, RATE), Fix::Skip(2));
    }

    #[test]
    fn a_zero_crossing_inside_a_tone_is_not_silence() {
        // The block starts exactly at a zero crossing of a tone that is playing.
        let b = block(480, 0, 0.0);
        assert_eq!(leading_quiet(&b, CH), 1);
        assert_eq!(placement(100, &b, CH, 0, RATE), Fix::Keep);
        assert_eq!(placement(-100, &b, CH, 0, RATE), Fix::Keep);
        assert_eq!(placement(4_000, &b, CH, 0, RATE), Fix::Repeat(2));
    }

    #[test]
    fn inside_sound_it_only_nudges_and_only_when_more_than_10_ms_off() {
        let loud = block(480, 0, LOUD);
        assert_eq!(placement(470, &loud, CH, 0, RATE), Fix::Keep);
        assert_eq!(placement(-470, &loud, CH, 0, RATE), Fix::Keep);
        assert_eq!(placement(4_000, &loud, CH, 0, RATE), Fix::Repeat(2));
        assert_eq!(placement(-4_000, &loud, CH, 0, RATE), Fix::Skip(2));
        // Late with some silence first: the silence goes, then one nudge into the sound.
        assert_eq!(placement(-4_000, &block(480, 100, LOUD), CH, 0, RATE), Fix::Skip(102));
        // A short block still moves by one frame.
        assert_eq!(placement(-4_000, &block(48, 0, LOUD), CH, 0, RATE), Fix::Skip(1));
    }

    #[test]
    fn quiet_frames_are_counted_at_both_ends() {
        let b = block(480, 100, LOUD);
        assert_eq!(leading_quiet(&b, CH), 100);
        assert_eq!(trailing_quiet(&b, CH), 0);
        assert_eq!(trailing_quiet(&[0.0; 20], CH), 10);
    }
}
