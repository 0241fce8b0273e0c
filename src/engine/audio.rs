//! The audio a cue plays: whole in memory, or read from its file a little ahead of the engine.
//!
//! A canonical clip is 188 KiB per second decoded; a station whose 256 villages each play their
//! own half-hour recording would need 85 GB to hold them all. So the engine does not require
//! audio in memory: a [`Source`] (the library's canonical file, see `library::stream`) is opened
//! a couple of seconds before its cue is due, and its [`Reader`] hands the engine the frames a
//! reader thread has fetched ahead. The engine itself still does no I/O: it only copies what is
//! there, and plays silence (counted, see [`super::Engine::starved_frames`]) where a disk has not
//! caught up — it never waits for one, unless the source was opened for an offline render.

use std::sync::Arc;

/// Sequential reading of one cue's audio.
pub trait Reader: Send {
    /// Copies the frames from frame `pos` on into `out` and returns how many are there now
    /// (fewer than `out.len()`: the rest has not been fetched yet, or the source failed). The
    /// engine asks for ever later positions; frames it skipped are never asked for again.
    fn read(&mut self, pos: u64, out: &mut [f32]) -> usize;
}

/// Audio that can be opened for reading, shared by every cue that plays it.
pub trait Source: Send + Sync {
    /// Length in frames at the engine rate.
    fn frames(&self) -> u64;
    /// Starts reading from frame 0 (the fetching begins now, in the background).
    fn open(&self) -> Box<dyn Reader>;
}

/// A cue's audio (mono, at the engine rate).
#[derive(Clone)]
pub enum Audio {
    /// Whole, in memory (chimes made in code, tests, short clips).
    Memory(Arc<[f32]>),
    /// Read from elsewhere as it plays.
    Source(Arc<dyn Source>),
}

impl Audio {
    /// Length in frames.
    pub fn frames(&self) -> u64 {
        match self {
            Audio::Memory(a) => a.len() as u64,
            Audio::Source(s) => s.frames(),
        }
    }
}

impl From<Arc<[f32]>> for Audio {
    fn from(a: Arc<[f32]>) -> Self {
        Audio::Memory(a)
    }
}

impl std::fmt::Debug for Audio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Audio::Memory(a) => write!(f, "Audio::Memory({} frames)", a.len()),
            Audio::Source(s) => write!(f, "Audio::Source({} frames)", s.frames()),
        }
    }
}

/// One segment of an item (chime or clip) as it plays: its audio, gain and open reader.
pub(super) struct Segment {
    pub audio: Audio,
    pub gain: f32,
    pub frames: u64,
    reader: Option<Box<dyn Reader>>,
}

impl Segment {
    pub fn new(audio: Audio, gain: f32) -> Self {
        let frames = audio.frames();
        Self { audio, gain, frames, reader: None }
    }

    /// Opens the reader of a streamed segment (no-op when open or in memory).
    pub fn open(&mut self) {
        if let (Audio::Source(s), None) = (&self.audio, &self.reader) {
            self.reader = Some(s.open());
        }
    }

    /// The frames `offset..offset + take` of this segment: a slice of the audio in memory, or
    /// `scratch` filled by the reader (zeros where it has nothing yet). Returns the slice and
    /// how many of its frames were missing.
    pub fn frames_at<'a>(&'a mut self, offset: u64, take: usize, scratch: &'a mut Vec<f32>) -> (&'a [f32], usize) {
        match &self.audio {
            Audio::Memory(a) => (&a[offset as usize..offset as usize + take], 0),
            Audio::Source(s) => {
                let reader = self.reader.get_or_insert_with(|| s.open());
                scratch.resize(take, 0.0);
                let got = reader.read(offset, &mut scratch[..take]).min(take);
                scratch[got..take].fill(0.0);
                (&scratch[..take], take - got)
            }
        }
    }
}
