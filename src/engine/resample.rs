//! Resampling of a whole output (all its channels) from the engine rate to the output's rate.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Streaming multichannel resampler with its start-up delay trimmed.
pub(super) struct OutputResampler {
    inner: Fft<f32>,
    channels: usize,
    pending: Vec<f32>,
    out_buf: Vec<f32>,
    to_skip: usize,
}

impl OutputResampler {
    pub fn new(rate_in: u32, rate_out: u32, channels: usize) -> Self {
        let inner = Fft::<f32>::new(rate_in as usize, rate_out as usize, 1024, channels, FixedSync::Input)
            .expect("valid output rates are checked in the profile");
        let to_skip = inner.output_delay();
        let out_buf = vec![0.0; inner.output_frames_max() * channels];
        Self { inner, channels, pending: Vec::new(), out_buf, to_skip }
    }

    /// Feeds interleaved frames at the input rate; appends whatever output is ready.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        let ch = self.channels;
        self.pending.extend_from_slice(input);
        let mut start = 0;
        loop {
            let need = self.inner.input_frames_next();
            if (self.pending.len() - start) / ch < need {
                break;
            }
            let inp = InterleavedSlice::new(&self.pending[start..start + need * ch], ch, need).expect("sized");
            let frames = self.out_buf.len() / ch;
            let mut outp = InterleavedSlice::new_mut(&mut self.out_buf, ch, frames).expect("sized");
            let (used, produced) = self.inner.process_into_buffer(&inp, &mut outp, None).expect("sized buffers");
            start += used * ch;
            let skip = self.to_skip.min(produced);
            self.to_skip -= skip;
            out.extend_from_slice(&self.out_buf[skip * ch..produced * ch]);
        }
        self.pending.drain(..start);
    }
}
