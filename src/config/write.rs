//! Writing schedule files: a village's own playlist (what the web UI edits) as readable YAML, a
//! candidate file checked exactly like `xiangyin check` in a scratch copy of the content root, and
//! an atomic replace of the real file.
//!
//! # Promises
//!
//! - [`village_file_text`] writes YAML that reads back ([`read_village_playlist`]) as the same
//!   [`VillagePlaylist`], with a header comment saying who wrote it; the same input always gives
//!   the same bytes.
//! - [`check_replaced`] never touches the content root: it copies `schedules/` into a scratch
//!   folder (hardware profiles and the library are linked, not copied), puts the candidate there
//!   and runs [`load`](super::load). Problems name the file as the real root would
//!   (`schedules/village-dongmen.yaml:6:7: ...`).
//! - [`write_atomic`] leaves either the old file or the new one, never a mix, even if the machine
//!   loses power: temporary file in the same folder, fsync, rename, fsync of the folder.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::files::{Chime, ScheduleFile};
use super::model::{Catalog, Plan};
use super::problem::{Problem, Problems};
use super::{Layout, yaml};
use crate::domain::VillageId;

/// A village's own playlist and the slots that play it: the whole content of
/// `schedules/village-<id>.yaml`, and the body of the web UI's playlist edit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VillagePlaylist {
    /// `in-order`, `rotate` or `shuffle` (checked when the file is checked).
    #[serde(default = "in_order")]
    pub mode: String,
    /// Message ids or 16-hex-digit clip ids, in order.
    #[serde(default)]
    pub items: Vec<String>,
    /// Silence between items, seconds.
    #[serde(default)]
    pub gap_s: f64,
    /// Times the selection plays per slot.
    #[serde(default = "one", deserialize_with = "crate::domain::whole::u32_whole")]
    pub repeat: u32,
    /// When the playlist plays; each slot targets only this village.
    #[serde(default)]
    pub slots: Vec<VillageSlot>,
}

fn in_order() -> String {
    "in-order".into()
}
fn one() -> u32 {
    1
}

/// Most items a village's own playlist may have.
pub const MAX_ITEMS: usize = 200;
/// Most slots a village's own playlist may have (one every half hour of a day).
pub const MAX_SLOTS: usize = 48;
/// Most times a selection may repeat per slot.
pub const MAX_REPEAT: u32 = 20;
/// Longest gap between items, seconds.
pub const MAX_GAP_S: f64 = 600.0;

impl VillagePlaylist {
    /// True when there is nothing to write: no items and no slots (the file is then removed).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.slots.is_empty()
    }

    /// The first limit the playlist passes, as a sentence; `None` when it is within every limit
    /// ([`MAX_ITEMS`], [`MAX_SLOTS`], [`MAX_REPEAT`], [`MAX_GAP_S`], ids of at most 64 characters,
    /// and for an empty playlist, which removes the file unchecked, a known mode).
    pub fn over_limits(&self) -> Option<crate::domain::Text> {
        let t = crate::domain::Text::new;
        // An empty playlist removes the file without a check: its mode is checked here (otherwise
        // the check says it, with its position in the file).
        if self.is_empty() && !["in-order", "rotate", "shuffle"].contains(&self.mode.as_str()) {
            let m: String = self.mode.chars().take(20).collect();
            return Some(t(
                format!("Mode `{m}` is not in-order, rotate or shuffle."),
                format!("播放方式 `{m}` 不是 in-order（按顺序）、rotate（轮流）或 shuffle（打乱）。"),
            ));
        }
        if self.items.len() > MAX_ITEMS {
            let n = self.items.len();
            return Some(t(
                format!("A playlist has at most {MAX_ITEMS} items; this one has {n}."),
                format!("一个播放单最多 {MAX_ITEMS} 项；这个有 {n} 项。"),
            ));
        }
        if self.slots.len() > MAX_SLOTS {
            let n = self.slots.len();
            return Some(t(
                format!("A playlist has at most {MAX_SLOTS} times to play; this one has {n}."),
                format!("一个播放单最多 {MAX_SLOTS} 个播放时间；这个有 {n} 个。"),
            ));
        }
        if self.repeat == 0 || self.repeat > MAX_REPEAT {
            return Some(t(
                format!("A playlist plays 1 to {MAX_REPEAT} times per slot, not {}.", self.repeat),
                format!("每个播放时间播 1 到 {MAX_REPEAT} 遍，不能是 {} 遍。", self.repeat),
            ));
        }
        if !(0.0..=MAX_GAP_S).contains(&self.gap_s) {
            return Some(t(
                format!("The gap between items is 0 to {MAX_GAP_S} seconds, not {}.", self.gap_s),
                format!("两项之间的间隔是 0 到 {MAX_GAP_S} 秒，不能是 {} 秒。", self.gap_s),
            ));
        }
        if let Some(long) = self.items.iter().find(|i| i.chars().count() > 64) {
            let shown: String = long.chars().take(20).collect();
            return Some(t(
                format!("An item is a message or clip id of at most 64 characters, not `{shown}…`."),
                format!("每一项是最多 64 个字符的消息名或录音编号，`{shown}…` 太长了。"),
            ));
        }
        None
    }
}

/// One slot of a village's own playlist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VillageSlot {
    /// 5- or 6-field cron rule in station time.
    pub cron: String,
    /// `skip` or `defer`; absent means `skip`.
    #[serde(default)]
    pub in_quiet_hours: Option<String>,
    /// `true` for the station chime, `false` for none, or a message / clip id; absent means none.
    #[serde(default)]
    pub chime: Option<SlotChime>,
    /// First day (YYYY-MM-DD).
    #[serde(default)]
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD).
    #[serde(default)]
    pub until: Option<String>,
    /// `play` or `skip`; absent means `play`.
    #[serde(default)]
    pub on_holidays: Option<String>,
}

/// A slot's `chime:` value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SlotChime {
    /// `true` (the station chime) or `false` (none).
    Flag(bool),
    /// A message or clip id.
    Named(String),
}

/// `village-<id>.yaml`: the file name of a village's own schedule inside `schedules/`.
pub fn village_file_name(village: &VillageId) -> String {
    format!("village-{village}.yaml")
}

/// `village-<id>`: the id of a village's own playlist.
pub fn village_playlist_id(village: &VillageId) -> String {
    format!("village-{village}")
}

/// The text of `schedules/village-<id>.yaml` for `playlist`: a header comment, the playlist
/// `village-<id>`, and slots `village-<id>-1`, `-2`, … targeting only this village. `name` is the
/// village's display name, for the header.
pub fn village_file_text(village: &VillageId, name: &str, playlist: &VillagePlaylist) -> String {
    let id = village_playlist_id(village);
    let name = name.replace(['\r', '\n'], " ");
    let mut out = String::new();
    out.push_str(&format!("# {name} ({village}): the village's own playlist and when it plays.\n"));
    out.push_str("# Written by the xiangyin web UI. People may edit this file by hand too (`xiangyin check` checks\n");
    out.push_str("# it); saving the village's playlist in the web UI rewrites the whole file, comments included.\n");
    out.push_str("playlists:\n");
    out.push_str(&format!("  {}:\n", scalar(&id)));
    out.push_str(&format!("    mode: {}\n", scalar(&playlist.mode)));
    let flow = format!("[{}]", playlist.items.iter().map(|s| scalar(s)).collect::<Vec<_>>().join(", "));
    if flow.len() <= 100 {
        out.push_str(&format!("    items: {flow}\n"));
    } else {
        out.push_str("    items:\n");
        for item in &playlist.items {
            out.push_str(&format!("      - {}\n", scalar(item)));
        }
    }
    out.push_str(&format!("    gap_s: {}\n", playlist.gap_s));
    out.push_str(&format!("    repeat: {}\n", playlist.repeat));
    if playlist.slots.is_empty() {
        out.push_str("slots: []\n");
        return out;
    }
    out.push_str("slots:\n");
    for (i, s) in playlist.slots.iter().enumerate() {
        out.push_str(&format!("  - name: {}\n", scalar(&format!("{id}-{}", i + 1))));
        out.push_str(&format!("    cron: {}\n", quoted(&s.cron)));
        out.push_str(&format!("    playlist: {}\n", scalar(&id)));
        out.push_str(&format!("    targets: {{villages: [{}]}}\n", scalar(village.as_str())));
        match &s.chime {
            None => {}
            Some(SlotChime::Flag(b)) => out.push_str(&format!("    chime: {b}\n")),
            Some(SlotChime::Named(n)) => out.push_str(&format!("    chime: {}\n", scalar(n))),
        }
        for (key, value) in [
            ("in_quiet_hours", &s.in_quiet_hours),
            ("on_holidays", &s.on_holidays),
            ("from", &s.from),
            ("until", &s.until),
        ] {
            if let Some(v) = value {
                out.push_str(&format!("    {key}: {}\n", scalar(v)));
            }
        }
    }
    out
}

/// A YAML scalar for `s`: plain when that reads back as the same string, else double-quoted
/// (JSON string syntax, which YAML reads the same way).
fn scalar(s: &str) -> String {
    let slug = s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let reserved = ["true", "false", "yes", "no", "on", "off", "null", "y", "n"];
    let date =
        s.len() == 10 && s.char_indices().all(|(i, c)| if i == 4 || i == 7 { c == '-' } else { c.is_ascii_digit() });
    if (slug && !reserved.contains(&s.to_ascii_lowercase().as_str())) || date { s.to_owned() } else { quoted(s) }
}

/// `s` double-quoted: JSON string syntax, with the characters YAML would not keep as they are
/// (line breaks YAML 1.1 knows beyond JSON's, non-printable characters) escaped too.
fn quoted(s: &str) -> String {
    let json = serde_json::to_string(s).expect("a string always serialises");
    let keep =
        |c: char| !matches!(c, '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}');
    if json.chars().all(keep) {
        return json;
    }
    json.chars().map(|c| if keep(c) { c.to_string() } else { format!("\\u{:04x}", u32::from(c)) }).collect()
}

/// The village's own playlist as `schedules/village-<id>.yaml` holds it now: `Ok(None)` when the
/// file does not exist, a problem when it cannot be read. Slots of other playlists in the file
/// (written by hand) are left out.
pub fn read_village_playlist(layout: &Layout, village: &VillageId) -> Result<Option<VillagePlaylist>, Problem> {
    let path = layout.schedules().join(village_file_name(village));
    if !path.exists() {
        return Ok(None);
    }
    let text = super::read(layout, &path)?;
    let (file, _) = yaml::parse::<ScheduleFile>(&layout.shown(&path), &text)?;
    let id = village_playlist_id(village);
    let Some(p) = file.playlists.get(&id) else { return Ok(None) };
    let slots = file
        .slots
        .into_iter()
        .filter(|s| s.playlist == id)
        .map(|s| VillageSlot {
            cron: s.cron,
            in_quiet_hours: s.in_quiet_hours,
            chime: s.chime.map(|c| match c {
                Chime::Flag(b) => SlotChime::Flag(b),
                Chime::Named(n) => SlotChime::Named(n),
            }),
            from: s.from,
            until: s.until,
            on_holidays: s.on_holidays,
        })
        .collect();
    Ok(Some(VillagePlaylist { mode: p.mode.clone(), items: p.items.clone(), gap_s: p.gap_s, repeat: p.repeat, slots }))
}

/// Which schedule file each slot is written in, by slot name (`name:`, or `playlist@cron` as the
/// check names unnamed slots), as shown paths (`schedules/morning.yaml`). Files that cannot be
/// read are left out.
pub fn slot_origins(layout: &Layout) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for path in layout.schedule_files().unwrap_or_default() {
        let shown = layout.shown(&path);
        let Ok(text) = super::read(layout, &path) else { continue };
        let Ok((file, _)) = yaml::parse::<ScheduleFile>(&shown, &text) else { continue };
        for s in file.slots {
            let name = s.name.unwrap_or_else(|| format!("{}@{}", s.playlist, s.cron));
            out.entry(name).or_insert_with(|| shown.clone());
        }
    }
    out
}

/// A scratch folder removed when dropped (links inside are removed, never followed).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!("could not remove the scratch folder {}: {e}", self.0.display());
        }
    }
}

static SCRATCH_SEQ: AtomicU64 = AtomicU64::new(0);

/// Checks the configuration as it would be with `schedules/<file_name>` replaced by `text` (or
/// removed, when `text` is `None`), like `xiangyin check --profile <profile>`, without touching
/// the content root. The copy is made in a private folder (random name, owner-only) created
/// inside `scratch_in` and removed afterwards. The outer error is a scratch folder that could
/// not be made; the inner one is the problems found, named as in the real root.
pub fn check_replaced(
    layout: &Layout,
    file_name: &str,
    text: Option<&str>,
    profile: &str,
    catalog: &Catalog,
    scratch_in: &Path,
) -> std::io::Result<Result<Plan, Problems>> {
    assert!(!file_name.contains(['/', '\\']), "a file name inside schedules/, not a path");
    std::fs::create_dir_all(scratch_in)?;
    let root = tempfile::Builder::new().prefix("check-").tempdir_in(scratch_in)?.keep();
    let scratch = Scratch(root);
    let candidate = Layout::new(&scratch.0);
    std::fs::create_dir(candidate.schedules())?;
    for entry in std::fs::read_dir(layout.schedules())? {
        let entry = entry?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if entry.file_type()?.is_file() && !name_str.starts_with('.') && name_str != file_name {
            std::fs::copy(entry.path(), candidate.schedules().join(&name))?;
        }
    }
    if let Some(text) = text {
        std::fs::write(candidate.schedules().join(file_name), text)?;
    }
    link_dir(&layout.profiles(), &candidate.profiles())?;
    if layout.library().exists() {
        link_dir(&layout.library(), &candidate.library())?;
    }
    Ok(super::load(&candidate, Some(profile), catalog))
}

#[cfg(unix)]
fn link_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    let from = std::path::absolute(from)?;
    std::os::unix::fs::symlink(from, to)
}

/// Without symlinks, copies the folder's files (the check reads only hardware profiles).
#[cfg(not(unix))]
fn link_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// Replaces `path` with `text` atomically and durably: a temporary file in the same folder
/// (named with a leading dot, so the station ignores it), fsync, rename over `path`, fsync of the
/// folder. On error the temporary file is removed and `path` is unchanged.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let seq = SCRATCH_SEQ.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.tmp-{}-{seq}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        if let Ok(old) = std::fs::metadata(path) {
            // A file people made keeps its permissions.
            f.set_permissions(old.permissions())?;
        }
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Removes `path` (a missing file is fine) and fsyncs its folder.
pub fn remove_durably(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    }
    sync_dir(path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")))
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Folders cannot be opened for syncing on every system; the rename is what matters there.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dongmen() -> VillageId {
        VillageId::new("dongmen").unwrap()
    }

    fn sample() -> VillagePlaylist {
        VillagePlaylist {
            mode: "rotate".into(),
            items: vec![
                "fire-safety".into(),
                "0123456789abcdef".into(),
                "true".into(),
                "a: b, \"c\" #d".into(),
                "line\u{2028}break\u{85}\u{7f}".into(),
            ],
            gap_s: 2.5,
            repeat: 2,
            slots: vec![
                VillageSlot {
                    cron: "0 7 * * 1-5".into(),
                    in_quiet_hours: Some("defer".into()),
                    chime: Some(SlotChime::Flag(true)),
                    from: Some("2026-11-01".into()),
                    until: None,
                    on_holidays: None,
                },
                VillageSlot {
                    cron: "30 0 18 * * *".into(),
                    in_quiet_hours: None,
                    chime: Some(SlotChime::Named("false".into())),
                    from: None,
                    until: Some("2027/01/01".into()),
                    on_holidays: Some("skip".into()),
                },
            ],
        }
    }

    #[test]
    fn the_written_file_reads_back_as_the_same_playlist() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        std::fs::create_dir(layout.schedules()).unwrap();
        for p in [sample(), VillagePlaylist { items: (0..30).map(|i| format!("notice-{i}")).collect(), ..sample() }] {
            let text = village_file_text(&dongmen(), "东门村\n", &p);
            assert!(text.starts_with("# 东门村  (dongmen)"), "{text}");
            write_atomic(&layout.schedules().join(village_file_name(&dongmen())), &text).unwrap();
            assert_eq!(read_village_playlist(&layout, &dongmen()).unwrap(), Some(p.clone()), "{text}");
            assert_eq!(village_file_text(&dongmen(), "东门村\n", &p), text, "the same input gives the same bytes");
        }
        let names: Vec<String> = std::fs::read_dir(layout.schedules())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["village-dongmen.yaml"], "no temporary file is left behind");
        let origins = slot_origins(&layout);
        assert_eq!(origins["village-dongmen-2"], Path::new("schedules/village-dongmen.yaml"));
        remove_durably(&layout.schedules().join("village-dongmen.yaml")).unwrap();
        remove_durably(&layout.schedules().join("village-dongmen.yaml")).unwrap();
        assert_eq!(read_village_playlist(&layout, &dongmen()).unwrap(), None);
    }

    #[test]
    fn plain_scalars_only_where_they_read_back_as_strings() {
        assert_eq!(scalar("fire-safety"), "fire-safety");
        assert_eq!(scalar("2026-11-01"), "2026-11-01");
        assert_eq!(scalar("True"), "\"True\"");
        assert_eq!(scalar("0123456789abcdef"), "\"0123456789abcdef\"");
        assert_eq!(scalar("a b"), "\"a b\"");
        assert_eq!(scalar("a\u{2028}b\u{85}\n"), "\"a\\u2028b\\u0085\\n\"");
    }
}
