//! The clip library (`audio-library/`): one folder per clip, named by its id, holding the original
//! upload, a canonical mono 48 kHz float WAV for playout, and `clip.yaml`.
//!
//! A clip folder appears in the library only complete: imports are built in a staging folder,
//! flushed to disk, then renamed into place. Knows nothing of HTTP or devices.

mod decode;
pub mod edit;
mod ingest;
pub mod loudness;
pub mod queue;
mod refusal;
mod resample;
mod sidecar;
mod stage;
pub mod stream;

use std::io;
use std::path::{Path, PathBuf};

pub use ingest::{ImportError, ImportOutcome, ImportRequest};
pub use queue::{ImportQueue, QueuedImport};
pub use refusal::Refusal;
pub use sidecar::{CanonicalInfo, ClipMeta, LoudnessInfo, OriginalInfo, tenths};

use crate::config::{Catalog, yaml};
use crate::domain::{ClipId, ReviewState};

/// Rate of every canonical copy.
pub const CANONICAL_RATE: u32 = 48_000;
/// Sidecar file name inside a clip folder.
pub const SIDECAR: &str = "clip.yaml";
/// Canonical copy file name inside a clip folder.
pub const CANONICAL: &str = "canonical.wav";

/// The [`Catalog`] of a list of clips (as [`Library::list`] returns them).
pub fn catalog_of(clips: &[ClipMeta]) -> Catalog {
    let mut cat = Catalog::default();
    for c in clips {
        if let Some(m) = &c.message {
            cat.messages.entry(m.clone()).or_default().insert(c.language.clone());
        }
        cat.clips.insert(c.id.clone());
    }
    cat
}

/// Canonical clips opened once each for streaming, for a render.
pub struct AudioCache<'a> {
    library: &'a Library,
    streamer: stream::Streamer,
    opened: std::collections::HashMap<ClipId, stream::StreamedClip>,
}

impl<'a> AudioCache<'a> {
    /// An empty cache over `library`, streaming through `streamer`.
    pub fn new(library: &'a Library, streamer: stream::Streamer) -> Self {
        Self { library, streamer, opened: Default::default() }
    }

    /// The clip's audio; its file is opened (and its header checked) the first time.
    pub fn get(&mut self, id: &ClipId) -> io::Result<crate::engine::Audio> {
        if let Some(a) = self.opened.get(id) {
            return Ok(a.audio());
        }
        let clip = self.streamer.open(&self.library.canonical_path(id))?;
        let audio = clip.audio();
        self.opened.insert(id.clone(), clip);
        Ok(audio)
    }
}

/// A clip folder that could not be read, with the reason.
#[derive(Debug, Clone)]
pub struct BrokenClip {
    /// The folder.
    pub dir: PathBuf,
    /// What is wrong.
    pub why: String,
}

/// The clip store.
#[derive(Debug, Clone)]
pub struct Library {
    dir: PathBuf,
    staging: PathBuf,
}

impl Library {
    /// The library in `dir`; uploads wait in `staging` (under the state directory) before they are
    /// imported. Imports are built in the library's own work area (`dir/.staging`), so that
    /// their final rename is atomic whatever file system the state directory is on.
    pub fn new(dir: impl Into<PathBuf>, staging: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), staging: staging.into() }
    }

    /// The library folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The folder of clip `id`.
    pub fn clip_dir(&self, id: &ClipId) -> PathBuf {
        self.dir.join(id.as_str())
    }

    /// The canonical copy of clip `id`.
    pub fn canonical_path(&self, id: &ClipId) -> PathBuf {
        self.clip_dir(id).join(CANONICAL)
    }

    /// Reads one clip's sidecar; `Ok(None)` when there is no such clip.
    pub fn get(&self, id: &ClipId) -> io::Result<Option<ClipMeta>> {
        let path = self.clip_dir(id).join(SIDECAR);
        match std::fs::read_to_string(&path) {
            Ok(text) => yaml::from_str::<ClipMeta>(&text)
                .map(Some)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every clip, sorted by title then id, and every folder that looks like a clip but cannot be
    /// read. A missing library folder is an empty library.
    pub fn list(&self) -> io::Result<(Vec<ClipMeta>, Vec<BrokenClip>)> {
        let mut clips = Vec::new();
        let mut broken = Vec::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((clips, broken)),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with('.') || !entry.file_type()?.is_dir() {
                continue;
            }
            let Ok(id) = ClipId::new(name) else {
                broken.push(BrokenClip { dir: entry.path(), why: "folder name is not a clip id".into() });
                continue;
            };
            match self.get(&id) {
                Ok(Some(meta)) if meta.id == id => clips.push(meta),
                Ok(Some(meta)) => broken.push(BrokenClip {
                    dir: entry.path(),
                    why: format!("{SIDECAR} says id {} but the folder is {id}", meta.id),
                }),
                Ok(None) => broken.push(BrokenClip { dir: entry.path(), why: format!("no {SIDECAR}") }),
                Err(e) => broken.push(BrokenClip { dir: entry.path(), why: e.to_string() }),
            }
        }
        clips.sort_by(|a, b| (&a.title, &a.id).cmp(&(&b.title, &b.id)));
        Ok((clips, broken))
    }

    /// What configuration checks need: clip ids and the languages each message exists in.
    pub fn catalog(&self) -> io::Result<Catalog> {
        Ok(catalog_of(&self.list()?.0))
    }

    /// Changes a clip's review state, rewriting its sidecar atomically. `Ok(None)` if no such clip.
    pub fn set_review(&self, id: &ClipId, review: ReviewState) -> io::Result<Option<ClipMeta>> {
        let Some(mut meta) = self.get(id)? else { return Ok(None) };
        meta.review = review;
        ingest::write_sidecar_atomically(&self.clip_dir(id), &meta)?;
        Ok(Some(meta))
    }

    /// Imports one file. See [`ImportRequest`].
    pub fn import(&self, req: &ImportRequest<'_>) -> Result<ImportOutcome, ImportError> {
        ingest::import(self, req)
    }

    pub(crate) fn staging(&self) -> &Path {
        &self.staging
    }
}
