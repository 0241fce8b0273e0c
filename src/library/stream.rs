//! Canonical clips streamed from disk a little ahead of the engine, so that memory does not grow
//! with clip length × villages.
//!
//! [`Streamer::open`] reads and checks a canonical file's header and reads its first half second
//! (at preload time, seconds before the cue, so that even a cue played at once starts from
//! memory) and gives a [`StreamedClip`]: an [`engine::Source`] every cue of that clip shares
//! (one open file). Each cue that plays it opens its own reader: a small queue of chunks that
//! one fetch thread per streamer keeps [`AHEAD`] full with positional reads (`pread`), and the
//! engine empties. Live, the engine never waits for that thread (a disk that stalls costs that
//! cue silence, counted, not every village its audio); for an offline render
//! ([`Streamer::waiting`]) it waits, since there is no deadline, only a result to get right.
//!
//! Memory: per opened clip its head (94 KiB), per playing cue [`AHEAD`] of audio (188 KiB per
//! second), whatever the clip's length.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Seek};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::Thread;
use std::time::Duration;

use super::CANONICAL_RATE;
use crate::engine::{self, Reader};

/// Frames per chunk fetched (0.2 s).
const CHUNK: usize = CANONICAL_RATE as usize / 5;
/// Chunks kept fetched ahead of each playing cue (1.6 s of audio, 300 KiB).
const DEPTH: usize = 8;
/// Frames of each clip read when it is opened (0.5 s): a cue played at once has its start in
/// memory, and the fetch thread that long to catch up.
const HEAD: u64 = CANONICAL_RATE as u64 / 2;
/// How much audio each reader holds fetched ahead of the engine.
pub const AHEAD: Duration = Duration::from_millis((CHUNK * DEPTH) as u64 * 1000 / CANONICAL_RATE as u64);

/// Opens canonical clips for streaming; one fetch thread serves every stream it opened.
#[derive(Clone)]
pub struct Streamer {
    tx: Sender<Fetch>,
    thread: Thread,
    wait: bool,
}

impl Streamer {
    /// A streamer for live playout: a reader the disk has not caught up with yields silence.
    pub fn live() -> io::Result<Streamer> {
        Self::start(false)
    }

    /// A streamer for an offline render: a reader waits for its audio.
    pub fn waiting() -> io::Result<Streamer> {
        Self::start(true)
    }

    fn start(wait: bool) -> io::Result<Streamer> {
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::Builder::new().name("clip-fetch".into()).spawn(move || {
            // As urgent as the playout it feeds: on a busy machine (uploads, imports, a crowd of
            // connections) its reads must still come before the engine needs them.
            crate::os::make_current_thread_urgent();
            fetch_loop(&rx)
        })?;
        Ok(Streamer { tx, thread: handle.thread().clone(), wait })
    }

    /// Opens the canonical file at `path` (mono 32-bit float WAV at [`CANONICAL_RATE`]),
    /// checking its header and length; reading happens later, as cues play it.
    pub fn open(&self, path: &Path) -> io::Result<StreamedClip> {
        let bad = |why: String| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {why}", path.display()));
        let reader = hound::WavReader::open(path).map_err(|e| bad(e.to_string()))?;
        let spec = reader.spec();
        if spec.channels != 1 || spec.sample_rate != CANONICAL_RATE || spec.sample_format != hound::SampleFormat::Float
        {
            return Err(bad(format!(
                "not a canonical clip ({} channels, {} Hz, {:?}; expected mono 32-bit float at {CANONICAL_RATE} Hz)",
                spec.channels, spec.sample_rate, spec.sample_format
            )));
        }
        let frames = u64::from(reader.duration());
        let mut buffered = reader.into_inner();
        let data_at = buffered.stream_position()?;
        let file = buffered.into_inner();
        let size = file.metadata()?.len();
        if size < data_at + frames * 4 {
            return Err(bad(format!("truncated: {size} bytes, the header promises {}", data_at + frames * 4)));
        }
        let mut head = vec![0.0f32; frames.min(HEAD) as usize];
        file.read_exact_at(bytemuck::cast_slice_mut(&mut head), data_at)?;
        if cfg!(target_endian = "big") {
            head.iter_mut().for_each(|s| *s = f32::from_bits(u32::from_le(s.to_bits())));
        }
        Ok(StreamedClip {
            inner: Arc::new(ClipFile { file, data_at, frames, head: head.into(), path: path.to_owned() }),
            streamer: self.clone(),
        })
    }
}

struct ClipFile {
    file: File,
    data_at: u64,
    frames: u64,
    /// The first [`HEAD`] frames, read at open.
    head: Arc<[f32]>,
    path: PathBuf,
}

/// One canonical clip opened for streaming (see [`Streamer::open`]); shared by its cues.
#[derive(Clone)]
pub struct StreamedClip {
    inner: Arc<ClipFile>,
    streamer: Streamer,
}

impl StreamedClip {
    /// The clip as engine audio.
    pub fn audio(&self) -> engine::Audio {
        engine::Audio::Source(Arc::new(self.clone()))
    }
}

impl engine::Source for StreamedClip {
    fn frames(&self) -> u64 {
        self.inner.frames
    }

    fn open(&self) -> Box<dyn Reader> {
        let pipe = Arc::new(Pipe::default());
        let fetch = Fetch { clip: self.inner.clone(), next: self.inner.head.len() as u64, pipe: pipe.clone() };
        if self.streamer.tx.send(fetch).is_ok() {
            self.streamer.thread.unpark();
        } else {
            pipe.lock().done = true;
        }
        Box::new(ChunkReader {
            head: self.inner.head.clone(),
            pipe,
            current: None,
            fetcher: self.streamer.thread.clone(),
            wait: self.streamer.wait,
        })
    }
}

/// What one reader and the fetch thread share.
#[derive(Default)]
struct Pipe {
    state: Mutex<PipeState>,
    ready: Condvar,
}

#[derive(Default)]
struct PipeState {
    /// Fetched chunks: (first frame, samples).
    chunks: VecDeque<(u64, Box<[f32]>)>,
    /// The fetch thread has nothing more to give (end of clip, or a read error).
    done: bool,
    /// The reader is gone.
    closed: bool,
}

impl Pipe {
    fn lock(&self) -> std::sync::MutexGuard<'_, PipeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct ChunkReader {
    head: Arc<[f32]>,
    pipe: Arc<Pipe>,
    current: Option<(u64, Box<[f32]>)>,
    fetcher: Thread,
    wait: bool,
}

impl ChunkReader {
    /// The next chunk, waiting for it when this reader may wait.
    fn next_chunk(&mut self) -> Option<(u64, Box<[f32]>)> {
        let mut st = self.pipe.lock();
        loop {
            if let Some(c) = st.chunks.pop_front() {
                // Wake the fetch thread once half the queue is used: it refills in one go.
                let low = st.chunks.len() <= DEPTH / 2;
                drop(st);
                if low {
                    self.fetcher.unpark();
                }
                return Some(c);
            }
            if st.done || !self.wait {
                return None;
            }
            self.fetcher.unpark();
            st = self.pipe.ready.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Reader for ChunkReader {
    fn read(&mut self, pos: u64, out: &mut [f32]) -> usize {
        let mut got = 0;
        while got < out.len() {
            let at = pos + got as u64;
            if at < self.head.len() as u64 {
                let from = at as usize;
                let n = (self.head.len() - from).min(out.len() - got);
                out[got..got + n].copy_from_slice(&self.head[from..from + n]);
                got += n;
                continue;
            }
            let usable = self.current.as_ref().is_some_and(|(first, c)| at < first + c.len() as u64);
            if !usable {
                self.current = self.next_chunk();
                match &self.current {
                    None => break,
                    Some((first, c)) if at >= first + c.len() as u64 => continue, // skipped frames
                    Some(_) => {}
                }
            }
            let (first, chunk) = self.current.as_ref().expect("checked");
            if at < *first {
                // Frames before this chunk never came (they were skipped as silence).
                break;
            }
            let from = (at - first) as usize;
            let n = (chunk.len() - from).min(out.len() - got);
            out[got..got + n].copy_from_slice(&chunk[from..from + n]);
            got += n;
        }
        got
    }
}

impl Drop for ChunkReader {
    fn drop(&mut self) {
        self.pipe.lock().closed = true;
        self.fetcher.unpark();
    }
}

/// The fetch thread's side of one reader.
struct Fetch {
    clip: Arc<ClipFile>,
    next: u64,
    pipe: Arc<Pipe>,
}

impl Fetch {
    /// Fetches chunks until the reader's queue is full; false once this fetch is over.
    fn fill(&mut self) -> bool {
        loop {
            {
                let st = self.pipe.lock();
                if st.closed || st.done {
                    return false;
                }
                if st.chunks.len() >= DEPTH {
                    return true;
                }
            }
            if self.next >= self.clip.frames {
                self.finish();
                return false;
            }
            let n = (self.clip.frames - self.next).min(CHUNK as u64) as usize;
            // Read straight into the chunk's samples (the file is little-endian f32).
            let mut chunk: Box<[f32]> = vec![0.0; n].into_boxed_slice();
            if let Err(e) =
                self.clip.file.read_exact_at(bytemuck::cast_slice_mut(&mut chunk), self.clip.data_at + self.next * 4)
            {
                tracing::error!(
                    "{}: reading the clip failed at {:.1} s ({e}); the rest of this play is silence",
                    self.clip.path.display(),
                    self.next as f64 / f64::from(CANONICAL_RATE)
                );
                self.finish();
                return false;
            }
            if cfg!(target_endian = "big") {
                chunk.iter_mut().for_each(|s| *s = f32::from_bits(u32::from_le(s.to_bits())));
            }
            let mut st = self.pipe.lock();
            st.chunks.push_back((self.next, chunk));
            drop(st);
            self.pipe.ready.notify_one();
            self.next += n as u64;
        }
    }

    fn finish(&self) {
        self.pipe.lock().done = true;
        self.pipe.ready.notify_one();
    }
}

fn fetch_loop(rx: &Receiver<Fetch>) {
    let mut fetches: Vec<Fetch> = Vec::new();
    loop {
        loop {
            match rx.try_recv() {
                Ok(f) => fetches.push(f),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) if fetches.is_empty() => return,
                Err(TryRecvError::Disconnected) => break,
            }
        }
        fetches.retain_mut(Fetch::fill);
        if fetches.is_empty() {
            // Nothing to fetch: sleep until a reader is opened (or every streamer is gone).
            match rx.recv() {
                Ok(f) => fetches.push(f),
                Err(_) => return,
            }
        } else {
            // Readers wake this thread when they take a chunk, and when they are dropped.
            std::thread::park_timeout(Duration::from_millis(500));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Source;

    fn canonical(dir: &Path, frames: usize) -> PathBuf {
        let path = dir.join("canonical.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: CANONICAL_RATE,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..frames {
            w.write_sample(i as f32 / frames as f32).unwrap();
        }
        w.finalize().unwrap();
        path
    }

    #[test]
    fn a_waiting_reader_returns_every_frame_in_order_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let frames = CHUNK * 3 + 123;
        let clip = Streamer::waiting().unwrap().open(&canonical(dir.path(), frames)).unwrap();
        assert_eq!(clip.frames(), frames as u64);
        let mut r = clip.open();
        let mut all = Vec::new();
        let mut buf = vec![0.0; 1000];
        while all.len() < frames {
            let want = (frames - all.len()).min(buf.len());
            let got = r.read(all.len() as u64, &mut buf[..want]);
            assert_eq!(got, want, "a waiting reader gives all it is asked for within the clip");
            all.extend_from_slice(&buf[..got]);
        }
        assert!(all.iter().enumerate().all(|(i, s)| *s == i as f32 / frames as f32));
        assert_eq!(r.read(frames as u64, &mut buf), 0, "nothing past the end");
    }

    #[test]
    fn a_reader_may_skip_ahead_and_a_second_cue_reads_the_same_file_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let frames = CHUNK * 4;
        let clip = Streamer::waiting().unwrap().open(&canonical(dir.path(), frames)).unwrap();
        let mut a = clip.open();
        let mut b = clip.open();
        let mut buf = vec![0.0; 10];
        let at = (CHUNK * 2 + 5) as u64;
        assert_eq!(a.read(at, &mut buf), 10);
        assert_eq!(buf[0], at as f32 / frames as f32);
        assert_eq!(b.read(0, &mut buf), 10);
        assert_eq!(buf[3], 3.0 / frames as f32);
    }

    #[test]
    fn a_live_cue_played_the_moment_it_is_opened_starts_from_memory() {
        let dir = tempfile::tempdir().unwrap();
        let frames = CHUNK * 6;
        let clip = Streamer::live().unwrap().open(&canonical(dir.path(), frames)).unwrap();
        let mut r = clip.open();
        // No wait for the fetch thread: the first half second was read at open.
        let mut buf = vec![0.0; HEAD as usize];
        assert_eq!(r.read(0, &mut buf), HEAD as usize);
        assert_eq!(buf[100], 100.0 / frames as f32);
    }

    #[test]
    fn a_truncated_or_foreign_file_is_refused_at_open_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = canonical(dir.path(), 48_000);
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(20_000).unwrap();
        let e = Streamer::live().unwrap().open(&path).err().expect("truncated");
        assert!(e.to_string().contains("truncated") && e.to_string().contains("canonical.wav"), "{e}");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 44_100,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        w.write_sample(0i16).unwrap();
        w.write_sample(0i16).unwrap();
        w.finalize().unwrap();
        let e = Streamer::live().unwrap().open(&path).err().expect("foreign");
        assert!(e.to_string().contains("not a canonical clip"), "{e}");
    }
}
