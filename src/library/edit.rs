//! Changing the library after import: a clip's details and review state (the sidecar rewritten
//! atomically), removing a clip (its folder leaves the library with one rename), and unique
//! staging paths for uploads on their way to [`Library::import`].
//!
//! # Promises
//!
//! - **A sidecar is never half written.** The new text goes to a temporary file in the clip's
//!   folder, is flushed to disk, then renamed over `clip.yaml`; the folder is flushed too.
//! - **Edits in this process are serialised** (read, change, write as one step), so two people
//!   editing the same clip at once lose neither change silently: the second sees the first.
//! - **A removed clip disappears at once and whole.** Its folder is renamed out of the library
//!   (into staging, or into a hidden `.deleted-…` folder the listing skips when staging is on
//!   another file system) before anything inside it is deleted.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use chrono::NaiveDate;

pub use super::sidecar::{MAX_TITLE_CHARS, MAX_TRANSCRIPT_CHARS};
use super::sidecar::{ZERO_MAX_PLAYS, ZERO_MAX_PLAYS_ZH};
use super::stage::{DELETED_PREFIX, UPLOAD_PREFIX, make_in_work_area, tidy_work_area, unique_name};
use super::{ClipMeta, Library, SIDECAR};
use crate::config::yaml;
use crate::domain::{ClipId, MessageId, ReviewState, Say, Text};

/// One read-change-write of a sidecar, or one removal, at a time in this process.
static EDITS: Mutex<()> = Mutex::new(());

/// Changes to a clip's details. `None` leaves a field as it is; for the optional fields,
/// `Some(None)` (or an empty text) clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClipEdit {
    /// New title (not empty).
    pub title: Option<String>,
    /// New transcript.
    pub transcript: Option<Option<String>>,
    /// New message id, as given.
    pub message: Option<Option<String>>,
    /// New last day, as given (YYYY-MM-DD).
    pub expires: Option<Option<String>>,
    /// New daily limit (at least 1).
    pub max_plays_per_day: Option<Option<u32>>,
}

/// Why a change was not made.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// A value is not acceptable (one sentence for people, in both languages); nothing was
    /// written.
    #[error("{0}")]
    Invalid(Text),
    /// The library could not be written: an operator must look.
    #[error("the library could not be written: {0}")]
    Io(#[from] io::Error),
}

impl Say for EditError {
    fn zh(&self) -> String {
        match self {
            EditError::Invalid(why) => why.zh.clone(),
            EditError::Io(e) => format!("音频库写不进去：{e}"),
        }
    }
}

impl ClipEdit {
    /// Applies the edit to `meta`, checking every value the way import does.
    pub fn apply(&self, meta: &mut ClipMeta) -> Result<(), EditError> {
        let mut next = meta.clone();
        if let Some(title) = &self.title {
            next.title = check_title(title).map_err(EditError::Invalid)?.to_owned();
        }
        if let Some(t) = &self.transcript {
            if t.as_deref().is_some_and(|t| t.chars().count() > MAX_TRANSCRIPT_CHARS) {
                return Err(EditError::Invalid(transcript_too_long()));
            }
            next.transcript = non_empty(t.as_deref()).map(str::to_owned);
        }
        if let Some(m) = &self.message {
            // Empty clears it; anything else is a message id exactly as given.
            next.message = m
                .as_deref()
                .filter(|m| !m.is_empty())
                .map(|m| MessageId::new(m).map_err(|e| EditError::Invalid(bad_message(&e))))
                .transpose()?;
        }
        if let Some(d) = &self.expires {
            next.expires = d
                .as_deref()
                .filter(|d| !d.is_empty())
                .map(|d| parse_date(d).map_err(EditError::Invalid))
                .transpose()?;
        }
        if let Some(n) = self.max_plays_per_day {
            if n == Some(0) {
                return Err(EditError::Invalid(Text::new(ZERO_MAX_PLAYS, ZERO_MAX_PLAYS_ZH)));
            }
            if n.is_some_and(|n| n > MAX_PLAYS_PER_DAY) {
                return Err(EditError::Invalid(too_many_plays()));
            }
            next.max_plays_per_day = n;
        }
        *meta = next;
        Ok(())
    }
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// The most plays per village and day a clip may be limited to.
pub const MAX_PLAYS_PER_DAY: u32 = 1000;

/// The refusal of a transcript longer than [`MAX_TRANSCRIPT_CHARS`] (here and at import).
pub(super) fn transcript_too_long() -> Text {
    Text::new(
        format!("a transcript has at most {MAX_TRANSCRIPT_CHARS} characters"),
        format!("文字稿最多 {MAX_TRANSCRIPT_CHARS} 个字"),
    )
}

/// The refusal of a daily limit above [`MAX_PLAYS_PER_DAY`] (here and at import).
pub(super) fn too_many_plays() -> Text {
    Text::new(
        format!("a clip plays at most {MAX_PLAYS_PER_DAY} times a day"),
        format!("一条录音每天最多播放 {MAX_PLAYS_PER_DAY} 次"),
    )
}

/// The refusal of a message id that is not one (here and at import).
pub(super) fn bad_message(e: &crate::domain::IdError) -> Text {
    Text::new(format!("message: {e}"), format!("消息：{}", e.zh()))
}

/// A title as given: one line (no control characters), not blank, at most [`MAX_TITLE_CHARS`]
/// characters; returns it trimmed.
pub fn check_title(title: &str) -> Result<&str, Text> {
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(Text::new(
            format!("a title has at most {MAX_TITLE_CHARS} characters"),
            format!("标题最多 {MAX_TITLE_CHARS} 个字"),
        ));
    }
    if title.chars().any(char::is_control) {
        return Err(Text::new(
            "a title is one line of text, without control characters",
            "标题只能是一行文字，不能有控制字符",
        ));
    }
    let t = title.trim();
    if t.is_empty() { Err(Text::new("the clip needs a title", "请给录音写一个标题")) } else { Ok(t) }
}

/// A date written `YYYY-MM-DD` exactly (four, two and two digits).
pub fn parse_date(d: &str) -> Result<NaiveDate, Text> {
    let b = d.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    shaped.then(|| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()).flatten().ok_or_else(|| {
        Text::new(format!("`{d}` is not a date: write YYYY-MM-DD"), format!("`{d}` 不是日期，请写成 YYYY-MM-DD"))
    })
}

fn lock() -> std::sync::MutexGuard<'static, ()> {
    EDITS.lock().unwrap_or_else(PoisonError::into_inner)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Library {
    /// Changes clip `id`'s details (see [`ClipEdit`]), rewriting its sidecar atomically.
    /// `Ok(None)` when there is no such clip; nothing is written when a value is refused.
    pub fn edit(&self, id: &ClipId, edit: &ClipEdit) -> Result<Option<ClipMeta>, EditError> {
        self.modify(id, |meta| edit.apply(meta))
    }

    /// Sets clip `id`'s review state, rewriting its sidecar atomically. A rejection needs a
    /// reason. `Ok(None)` when there is no such clip.
    pub fn review(&self, id: &ClipId, review: ReviewState) -> Result<Option<ClipMeta>, EditError> {
        if let ReviewState::Rejected { reason } = &review
            && reason.trim().is_empty()
        {
            return Err(EditError::Invalid(Text::new("say why the clip is rejected", "请写明不通过的原因")));
        }
        let review = match review {
            ReviewState::Rejected { reason } => ReviewState::Rejected { reason: reason.trim().to_owned() },
            other => other,
        };
        self.modify(id, move |meta| {
            meta.review = review;
            Ok(())
        })
    }

    /// Reads clip `id`, lets `change` alter it, and writes it back atomically, as one step among
    /// this process's edits. `Ok(None)` when there is no such clip.
    fn modify(
        &self,
        id: &ClipId,
        change: impl FnOnce(&mut ClipMeta) -> Result<(), EditError>,
    ) -> Result<Option<ClipMeta>, EditError> {
        let _edits = lock();
        let Some(mut meta) = self.get(id)? else { return Ok(None) };
        change(&mut meta)?;
        meta.id = id.clone();
        self.write_meta(&meta)?;
        Ok(Some(meta))
    }

    /// Writes `meta` as its clip's sidecar: a temporary file in the clip folder, flushed, renamed
    /// over `clip.yaml`, then the folder flushed. The clip folder must exist.
    fn write_meta(&self, meta: &ClipMeta) -> io::Result<()> {
        let dir = self.clip_dir(&meta.id);
        let body = yaml::to_string(meta).map_err(io::Error::other)?;
        let text = format!("# xiangyin clip — written by the station; edit with care\n{body}");
        let tmp = dir.join(unique_name(&format!(".{SIDECAR}.tmp-"), ""));
        let written = (|| {
            let mut f = File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, dir.join(SIDECAR))
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written?;
        sync_dir(&dir)
    }

    /// Removes clip `id` from the library: its folder is renamed out in one step (so the library
    /// never shows half a clip), then deleted. `Ok(false)` when there is no such clip. Whether
    /// anything still uses the clip is the caller's question.
    pub fn remove(&self, id: &ClipId) -> io::Result<bool> {
        let _edits = lock();
        let dir = self.clip_dir(id);
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        }
        self.clean_leftovers(false);
        // Out of the library in one rename, within its own file system (the work area): a
        // folder is made there and the clip renamed into it.
        let parked = make_in_work_area(&self.work_dir(), &unique_name(DELETED_PREFIX, &format!("-{id}")))?;
        let gone = parked.join(id.as_str());
        match fs::rename(&dir, &gone) {
            Ok(()) => {}
            Err(e) => {
                let _ = fs::remove_dir(&parked);
                tidy_work_area(&self.work_dir());
                return if e.kind() == io::ErrorKind::NotFound { Ok(false) } else { Err(e) };
            }
        }
        sync_dir(self.dir())?;
        if let Err(e) = fs::remove_dir_all(&parked) {
            // The clip has left the library; what remains is litter, cleaned up later.
            tracing::warn!("removed clip {id}, but its old folder {} could not be deleted: {e}", parked.display());
        }
        tidy_work_area(&self.work_dir());
        Ok(true)
    }

    /// A new, unique path in the staging folder for an upload to be written to before it is
    /// imported (the folder is created). The caller removes the file when done; files left by a
    /// process that is gone are cleaned up by later calls. The name has no extension, so
    /// [`Library::import`] takes the extension from the uploaded name only.
    pub fn upload_path(&self) -> io::Result<PathBuf> {
        self.clean_leftovers(false);
        fs::create_dir_all(self.staging())?;
        Ok(self.staging().join(unique_name(UPLOAD_PREFIX, "")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A library holding one shipped clip (冬季防火提醒, 青溪话), taken from the demo as git has it
    /// (not from what `make run` did to the working tree).
    fn demo_library(dir: &Path) -> Library {
        crate::web::testkit::copy_demo(dir);
        for e in fs::read_dir(dir.join("audio-library")).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() && p.file_name().is_some_and(|n| n != "13ec56b0d9870bbd") {
                fs::remove_dir_all(p).unwrap();
            }
        }
        Library::new(dir.join("audio-library"), dir.join("var/staging"))
    }

    fn id() -> ClipId {
        ClipId::new("13ec56b0d9870bbd").unwrap()
    }

    #[test]
    fn edits_are_checked_written_whole_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let lib = demo_library(dir.path());
        let edit = ClipEdit {
            title: Some("  新标题 <b>  ".into()),
            transcript: Some(Some("各位村民".into())),
            expires: Some(Some("2027-03-01".into())),
            max_plays_per_day: Some(Some(3)),
            ..Default::default()
        };
        let meta = lib.edit(&id(), &edit).unwrap().unwrap();
        assert_eq!(meta.title, "新标题 <b>");
        assert_eq!(lib.get(&id()).unwrap().unwrap(), meta);
        let text = fs::read_to_string(lib.clip_dir(&id()).join(SIDECAR)).unwrap();
        assert!(text.starts_with("# xiangyin clip"), "{text}");
        // Clearing with null or an empty text.
        let clear = ClipEdit { transcript: Some(None), expires: Some(Some(String::new())), ..Default::default() };
        let meta = lib.edit(&id(), &clear).unwrap().unwrap();
        assert_eq!((meta.transcript, meta.expires, meta.max_plays_per_day), (None, None, Some(3)));
        // Refusals change nothing.
        let before = fs::read_to_string(lib.clip_dir(&id()).join(SIDECAR)).unwrap();
        for (bad, needle) in [
            (ClipEdit { title: Some(" ".into()), ..Default::default() }, "needs a title"),
            (ClipEdit { expires: Some(Some("2027-13-01".into())), ..Default::default() }, "YYYY-MM-DD"),
            (ClipEdit { message: Some(Some("Fire Safety".into())), ..Default::default() }, "message:"),
            (ClipEdit { max_plays_per_day: Some(Some(0)), ..Default::default() }, "at least 1"),
        ] {
            let e = lib.edit(&id(), &bad).unwrap_err();
            assert!(matches!(e, EditError::Invalid(_)) && e.to_string().contains(needle), "{needle}: {e}");
            assert!(!e.zh().is_empty() && e.zh() != e.to_string(), "{e}: {}", e.zh());
        }
        assert_eq!(fs::read_to_string(lib.clip_dir(&id()).join(SIDECAR)).unwrap(), before);
        // No temporary files left behind.
        let names: Vec<_> = fs::read_dir(lib.clip_dir(&id())).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(lib.edit(&ClipId::new("0000000000000000").unwrap(), &edit).unwrap().is_none());
    }

    #[test]
    fn a_rejection_needs_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let lib = demo_library(dir.path());
        let e = lib.review(&id(), ReviewState::Rejected { reason: "  ".into() }).unwrap_err();
        assert!(matches!(e, EditError::Invalid(_)), "{e:?}");
        let m = lib.review(&id(), ReviewState::Rejected { reason: " 音量太小 ".into() }).unwrap().unwrap();
        assert_eq!(m.review, ReviewState::Rejected { reason: "音量太小".into() });
        assert_eq!(lib.review(&id(), ReviewState::Approved).unwrap().unwrap().review, ReviewState::Approved);
    }

    #[test]
    fn removing_takes_the_whole_folder_out_and_leaves_staging_clean() {
        let dir = tempfile::tempdir().unwrap();
        let lib = demo_library(dir.path());
        assert!(lib.remove(&id()).unwrap());
        assert!(!lib.clip_dir(&id()).exists());
        assert!(lib.list().unwrap().0.is_empty());
        assert!(!lib.work_dir().exists(), "the removed folder is deleted, not parked");
        assert!(!lib.remove(&id()).unwrap());
    }

    #[test]
    fn upload_paths_are_unique_without_extension_and_stale_ones_are_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let lib = demo_library(dir.path());
        let a = lib.upload_path().unwrap();
        let b = lib.upload_path().unwrap();
        assert_ne!(a, b);
        assert!(a.extension().is_none() && a.starts_with(lib.staging()));
        // Left by a process that is gone (pid far above any real one), and one of ours.
        let stale = lib.staging().join("upload-4294967295-1-0");
        fs::write(&stale, b"x").unwrap();
        fs::write(&a, b"x").unwrap();
        let _ = lib.upload_path().unwrap();
        assert!(!stale.exists() && a.exists());
    }
}
