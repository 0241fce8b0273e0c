//! What each command-line verb does: reads arguments already parsed by `main.rs`, calls the
//! library / config / scheduler, and prints for people (or JSON for scripts).

pub mod check;
pub mod clips;
pub mod devices;
pub mod import;
pub mod line;
pub mod log;
pub mod play;
pub mod render;
pub mod user;

use std::path::{Path, PathBuf};

use crate::config::Layout;
use crate::library::Library;

/// Where the station's content and state live.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Content root (`schedules/`, `hardware-profiles/`, `audio-library/`).
    pub layout: Layout,
    /// Runtime state (database, recordings, staging).
    pub state: PathBuf,
}

impl Paths {
    /// Paths from `--root` and `--state` (default `ROOT/var`).
    pub fn new(root: &Path, state: Option<&Path>) -> Self {
        let state = state.map_or_else(|| root.join("var"), Path::to_path_buf);
        Self { layout: Layout::new(root), state }
    }

    /// The clip library, staging under the state directory.
    pub fn library(&self) -> Library {
        Library::new(self.layout.library(), self.state.join("staging"))
    }

    /// The station's private scratch folder (`STATE/tmp`): scratch copies for checks. Emptied
    /// when `serve` starts.
    pub fn scratch(&self) -> PathBuf {
        self.state.join("tmp")
    }
}
