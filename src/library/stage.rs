//! The library's work areas, and what is left in them when a process dies.
//!
//! - `audio-library/.staging/` — on the library's own file system, so that committing an import
//!   or removing a clip is one `rename`: `import-PID-…` (a clip being built) and `deleted-PID-…`
//!   (a removed clip being deleted). The listing skips dot folders, and the daemon's file watcher
//!   ignores what happens inside them.
//! - `STATE/staging/` — `upload-PID-…`: an upload streamed in before it is imported.
//!
//! Every name carries the pid of the process that made it. [`Library::clean_leftovers`] removes
//! what belongs to processes that are gone (a pid is "gone" when no xiangyin runs under it).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;

use super::Library;

/// Folder inside the library for work in progress.
pub const WORK_DIR: &str = ".staging";
/// Prefix of clips being imported.
pub(super) const IMPORT_PREFIX: &str = "import-";
/// Prefix of removed clips being deleted.
pub(super) const DELETED_PREFIX: &str = "deleted-";
/// Prefix of uploads waiting to be imported.
pub(super) const UPLOAD_PREFIX: &str = "upload-";

static SEQ: AtomicU64 = AtomicU64::new(0);

/// `prefix<pid>-<nanos>-<seq><suffix>`: unique in this process, and its pid tells a later run
/// whether it was left behind by a process that is gone.
pub(super) fn unique_name(prefix: &str, suffix: &str) -> String {
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}-{nanos}-{seq}{suffix}", std::process::id())
}

/// A folder in the work area, removed on drop unless committed. The work area itself is
/// removed when the last stage in it goes, so an idle library has none.
pub(super) struct Stage {
    pub path: PathBuf,
    committed: bool,
}

/// Makes `dir/name` inside the work area `dir`, creating the area (another process may remove
/// an empty area at the same moment: then once more).
pub(super) fn make_in_work_area(dir: &Path, name: &str) -> io::Result<PathBuf> {
    let path = dir.join(name);
    for attempt in 0..3 {
        fs::create_dir_all(dir)?;
        match fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound && attempt < 2 => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns")
}

/// Removes the work area when nothing is in it any more.
pub(super) fn tidy_work_area(dir: &Path) {
    let _ = fs::remove_dir(dir);
}

impl Stage {
    /// A new stage for an import into `lib`.
    pub fn new(lib: &Library) -> io::Result<Self> {
        let path = make_in_work_area(&lib.work_dir(), &unique_name(IMPORT_PREFIX, ""))?;
        Ok(Self { path, committed: false })
    }

    /// Moves the folder into the library as `target` (one rename on one file system). False
    /// when `target` appeared meanwhile.
    pub fn commit(mut self, target: &Path) -> io::Result<bool> {
        if target.exists() {
            return Ok(false);
        }
        match fs::rename(&self.path, target) {
            Ok(()) => {
                self.committed = true;
                if let Some(work) = self.path.parent() {
                    tidy_work_area(work);
                }
                Ok(true)
            }
            Err(_) if target.exists() => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.path);
            if let Some(work) = self.path.parent() {
                tidy_work_area(work);
            }
        }
    }
}

/// True when a xiangyin process runs under `pid` (the name of `/proc/PID/comm`).
fn xiangyin_runs_as(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim_end().starts_with("xiangyin"))
}

/// The pid in `name` after `prefix` (`prefix<pid>-…`).
fn pid_of(name: &str, prefix: &str) -> Option<u32> {
    name.strip_prefix(prefix)?.split('-').next()?.parse().ok()
}

/// Removes the entries of `dir` with one of `prefixes` whose process is gone (or, `mine_too`,
/// is this one: at start nothing of ours is in progress, and a pid can come back after a
/// reboot). Returns how many were removed.
fn clean(dir: &Path, prefixes: &[&str], mine_too: bool) -> usize {
    let Ok(entries) = fs::read_dir(dir) else { return 0 };
    let me = std::process::id();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(pid) = prefixes.iter().find_map(|p| pid_of(name, p)) else { continue };
        let gone = if pid == me { mine_too } else { !xiangyin_runs_as(pid) };
        if gone {
            let path = entry.path();
            let r = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
            match r {
                Ok(()) => removed += 1,
                Err(e) => tracing::warn!("cannot remove the leftover {}: {e}", path.display()),
            }
        }
    }
    removed
}

impl Library {
    /// The work area on the library's file system (`audio-library/.staging`).
    pub fn work_dir(&self) -> PathBuf {
        self.dir().join(WORK_DIR)
    }

    /// Removes what imports, uploads and removals of processes that are gone left behind, in
    /// the work area, the upload staging folder, and (from older versions) hidden
    /// `.incoming-*` / `.deleted-*` folders in the library. `at_start`: this process has
    /// nothing in progress yet, so its own pid counts as gone. Returns how many were removed.
    pub fn clean_leftovers(&self, at_start: bool) -> usize {
        let mut n = clean(&self.work_dir(), &[IMPORT_PREFIX, DELETED_PREFIX], at_start);
        tidy_work_area(&self.work_dir());
        n += clean(self.staging(), &[UPLOAD_PREFIX, IMPORT_PREFIX, DELETED_PREFIX], at_start);
        n += clean(self.dir(), &[".incoming-import-", ".deleted-"], at_start);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_of_gone_processes_go_and_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let lib = Library::new(dir.path().join("audio-library"), dir.path().join("var/staging"));
        fs::create_dir_all(lib.work_dir()).unwrap();
        fs::create_dir_all(lib.staging()).unwrap();
        let dead = 4_194_303; // above the default pid_max: never a live process
        let mine = std::process::id();
        fs::create_dir(lib.work_dir().join(format!("import-{dead}-1-0"))).unwrap();
        fs::write(lib.staging().join(format!("upload-{dead}-1-0")), b"x").unwrap();
        fs::create_dir(lib.dir().join(format!(".incoming-import-{dead}-5"))).unwrap();
        fs::create_dir(lib.work_dir().join(format!("import-{mine}-1-0"))).unwrap();
        fs::write(lib.staging().join("notes.txt"), b"not ours").unwrap();
        assert_eq!(lib.clean_leftovers(false), 3, "the dead process's three");
        assert!(lib.work_dir().join(format!("import-{mine}-1-0")).exists(), "ours, in progress");
        assert_eq!(lib.clean_leftovers(true), 1, "at start ours is a leftover too");
        assert!(!lib.work_dir().exists(), "an empty work area goes too");
        assert!(lib.staging().join("notes.txt").exists(), "files that are not ours stay");
    }
}
