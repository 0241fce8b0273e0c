//! What `serve` tidies at start: everything a killed xiangyin (this station's or an older
//! version's) leaves behind, and nothing else.
//!
//! - the library's work area and the upload staging folder (imports, uploads and removals of
//!   processes that are gone: [`Library::clean_leftovers`](crate::library::Library));
//! - the station's scratch folder `STATE/tmp` (scratch copies of checks), emptied;
//! - temporary files of atomic writes in `schedules/` (`.NAME.tmp-PID-SEQ`) whose process is gone;
//! - scratch folders older versions made in the system's temporary folder
//!   (`xiangyin-check-PID-SEQ`) whose process is gone.

use std::fs;
use std::path::Path;

use crate::commands::Paths;

/// Removes the leftovers listed in the module documentation; logs what it removed.
pub fn leftovers(paths: &Paths) {
    let mut removed = paths.library().clean_leftovers(true);
    let scratch = paths.scratch();
    if scratch.is_dir() {
        for entry in fs::read_dir(&scratch).into_iter().flatten().flatten() {
            let p = entry.path();
            let r = if p.is_dir() { fs::remove_dir_all(&p) } else { fs::remove_file(&p) };
            match r {
                Ok(()) => removed += 1,
                Err(e) => tracing::warn!("cannot remove the leftover {}: {e}", p.display()),
            }
        }
    }
    removed += by_pid(&paths.layout.schedules(), |name| {
        let rest = name.strip_prefix('.')?;
        let (_, tail) = rest.split_once(".tmp-")?;
        tail.split('-').next()?.parse().ok()
    });
    removed +=
        by_pid(&std::env::temp_dir(), |name| name.strip_prefix("xiangyin-check-")?.split('-').next()?.parse().ok());
    if removed > 0 {
        tracing::info!(removed, "removed what earlier runs left behind (half-made imports, uploads, scratch files)");
    }
}

/// Removes the entries of `dir` whose name `pid_of` reads a pid from, when that pid is this
/// process (nothing is in progress at start) or no xiangyin runs under it.
fn by_pid(dir: &Path, pid_of: impl Fn(&str) -> Option<u32>) -> usize {
    let me = std::process::id();
    let mut removed = 0;
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(&pid_of) else { continue };
        let alive = pid != me
            && fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim_end().starts_with("xiangyin"));
        if alive {
            continue;
        }
        let p = entry.path();
        let r = if p.is_dir() { fs::remove_dir_all(&p) } else { fs::remove_file(&p) };
        if r.is_ok() {
            removed += 1;
        }
    }
    removed
}
