//! The null sink: discards everything, never waits, counts frames.

use super::{OutputError, Sink, whole_frames};
use crate::config::Output;

/// Discards audio; keeps count of the frames it was given.
#[derive(Debug)]
pub struct NullSink {
    spec: Output,
    frames: u64,
}

impl NullSink {
    /// A null sink for `spec`.
    pub fn new(spec: &Output) -> Self {
        Self { spec: spec.clone(), frames: 0 }
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }
}

impl Sink for NullSink {
    fn spec(&self) -> &Output {
        &self.spec
    }

    fn write(&mut self, interleaved: &[f32]) -> Result<(), OutputError> {
        self.frames += whole_frames(&self.spec, interleaved.len())? as u64;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), OutputError> {
        tracing::debug!(output = %self.spec.name, frames = self.frames, "null output finished");
        Ok(())
    }
}
