//! Streaming mono sample-rate conversion to the canonical rate with rubato's FFT resampler.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Chunk of input frames the resampler works on.
const CHUNK: usize = 4096;

/// Converts a mono stream from one rate to another, chunk by chunk, trimming the resampler delay
/// so output frame `n` lines up with input time `n / rate_out`.
pub struct MonoResampler {
    inner: Option<Fft<f32>>,
    pending: Vec<f32>,
    out_buf: Vec<f32>,
    to_skip: usize,
    frames_in: u64,
    frames_out: u64,
    ratio: f64,
}

impl MonoResampler {
    /// A resampler from `rate_in` to `rate_out`; a pass-through when they are equal.
    pub fn new(rate_in: u32, rate_out: u32) -> Result<Self, String> {
        let ratio = f64::from(rate_out) / f64::from(rate_in);
        let inner = if rate_in == rate_out {
            None
        } else {
            Some(
                Fft::<f32>::new(rate_in as usize, rate_out as usize, CHUNK, 1, FixedSync::Input)
                    .map_err(|e| e.to_string())?,
            )
        };
        let to_skip = inner.as_ref().map_or(0, |r| r.output_delay());
        let out_max = inner.as_ref().map_or(0, |r| r.output_frames_max());
        Ok(Self {
            inner,
            pending: Vec::with_capacity(CHUNK * 2),
            out_buf: vec![0.0; out_max],
            to_skip,
            frames_in: 0,
            frames_out: 0,
            ratio,
        })
    }

    /// Feeds input samples; converted samples are appended to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), String> {
        self.frames_in += input.len() as u64;
        let Some(r) = self.inner.as_mut() else {
            out.extend_from_slice(input);
            self.frames_out += input.len() as u64;
            return Ok(());
        };
        self.pending.extend_from_slice(input);
        let mut start = 0;
        while self.pending.len() - start >= r.input_frames_next() {
            let need = r.input_frames_next();
            let (used, produced) = {
                let inp =
                    InterleavedSlice::new(&self.pending[start..start + need], 1, need).map_err(|e| e.to_string())?;
                let frames = self.out_buf.len();
                let mut outp = InterleavedSlice::new_mut(&mut self.out_buf, 1, frames).map_err(|e| e.to_string())?;
                r.process_into_buffer(&inp, &mut outp, None).map_err(|e| e.to_string())?
            };
            start += used;
            Self::emit(&self.out_buf[..produced], &mut self.to_skip, &mut self.frames_out, out);
        }
        self.pending.drain(..start);
        Ok(())
    }

    /// Flushes the tail; after this the output holds exactly round(frames_in × ratio) frames.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), String> {
        let target = (self.frames_in as f64 * self.ratio).round() as u64;
        let Some(r) = self.inner.as_mut() else { return Ok(()) };
        let mut guard = 0;
        while self.frames_out < target && guard < 64 {
            guard += 1;
            let need = r.input_frames_next();
            let have = self.pending.len().min(need);
            self.pending.resize(need, 0.0);
            let produced = {
                let inp = InterleavedSlice::new(&self.pending[..need], 1, need).map_err(|e| e.to_string())?;
                let frames = self.out_buf.len();
                let mut outp = InterleavedSlice::new_mut(&mut self.out_buf, 1, frames).map_err(|e| e.to_string())?;
                let idx = rubato::Indexing {
                    input_offset: 0,
                    output_offset: 0,
                    partial_len: Some(have),
                    active_channels_mask: None,
                };
                r.process_into_buffer(&inp, &mut outp, Some(&idx)).map_err(|e| e.to_string())?.1
            };
            self.pending.clear();
            let room = (target - self.frames_out) as usize;
            let mut skip = self.to_skip;
            let take_from = skip.min(produced);
            skip -= take_from;
            let usable = &self.out_buf[take_from..produced];
            let usable = &usable[..usable.len().min(room)];
            self.to_skip = skip;
            out.extend_from_slice(usable);
            self.frames_out += usable.len() as u64;
        }
        Ok(())
    }

    fn emit(chunk: &[f32], to_skip: &mut usize, frames_out: &mut u64, out: &mut Vec<f32>) {
        let skip = (*to_skip).min(chunk.len());
        *to_skip -= skip;
        out.extend_from_slice(&chunk[skip..]);
        *frames_out += (chunk.len() - skip) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_length_and_keeps_a_tone_in_place() {
        let rate_in = 44_100;
        let input: Vec<f32> = (0..rate_in * 2)
            .map(|i| (0.5 * (2.0 * std::f64::consts::PI * 1000.0 * f64::from(i) / f64::from(rate_in)).sin()) as f32)
            .collect();
        let mut r = MonoResampler::new(rate_in, 48_000).unwrap();
        let mut out = Vec::new();
        for chunk in input.chunks(1000) {
            r.push(chunk, &mut out).unwrap();
        }
        r.finish(&mut out).unwrap();
        assert_eq!(out.len(), 96_000);
        // The middle of the output is the same 1 kHz sine at the same amplitude and phase.
        for i in (10_000..80_000).step_by(997) {
            let want = 0.5 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 48_000.0).sin();
            assert!((f64::from(out[i]) - want).abs() < 0.01, "sample {i}: {} vs {want}", out[i]);
        }
    }

    #[test]
    fn equal_rates_pass_through() {
        let mut r = MonoResampler::new(48_000, 48_000).unwrap();
        let mut out = Vec::new();
        r.push(&[0.1, 0.2, 0.3], &mut out).unwrap();
        r.finish(&mut out).unwrap();
        assert_eq!(out, vec![0.1, 0.2, 0.3]);
    }
}
