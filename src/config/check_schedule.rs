//! Checks playlists and slots across every schedule file, against villages and the clip catalog.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{NaiveDate, TimeZone};

use super::check_station::{At, item_ref};
use super::files::{Chime, ScheduleFile};
use super::model::{Catalog, ItemRef, Playlist, PlaylistMode, QuietRule, Slot, Station, Village};
use super::problem::Problems;
use super::yaml::{self, Doc};
use crate::domain::{CronRule, PlaylistId, Priority, Say, VillageId};
use crate::yaml_path;

/// How far ahead a cron rule must fire at least once (leap days included).
const CRON_HORIZON_YEARS: i32 = 8;

/// Parsed schedule files waiting for cross-checks.
#[derive(Default)]
pub(super) struct Schedule {
    files: Vec<(PathBuf, ScheduleFile, Doc)>,
}

/// What schedules are checked against.
pub(super) struct Context<'a> {
    pub station: Option<&'a Station>,
    pub villages: Option<&'a [Village]>,
    pub catalog: &'a Catalog,
}

impl Schedule {
    pub fn add_file(&mut self, file: &Path, text: &str, problems: &mut Problems) {
        match yaml::parse::<ScheduleFile>(file, text) {
            Ok((f, doc)) => self.files.push((file.to_owned(), f, doc)),
            Err(p) => problems.push(p),
        }
    }

    pub fn resolve(&self, ctx: &Context<'_>, problems: &mut Problems) -> (BTreeMap<PlaylistId, Playlist>, Vec<Slot>) {
        let mut playlists = BTreeMap::new();
        let mut defined_in: BTreeMap<String, PathBuf> = BTreeMap::new();
        for (file, f, doc) in &self.files {
            let at = At { file, doc };
            for (name, p) in &f.playlists {
                if let Some(first) = defined_in.insert(name.clone(), file.clone()) {
                    problems.push(at.at_key(
                        yaml_path!["playlists", name.as_str()],
                        (
                            format!("playlist `{name}` is already defined in {}", first.display()),
                            format!("播放单 `{name}` 已经在 {} 里定义过了", first.display()),
                        ),
                    ));
                    continue;
                }
                if let Some(pl) = playlist(&at, name, p, ctx, problems) {
                    playlists.insert(pl.id.clone(), pl);
                }
            }
        }
        let mut slots = Vec::new();
        let mut slot_names: BTreeMap<String, PathBuf> = BTreeMap::new();
        for (file, f, doc) in &self.files {
            let at = At { file, doc };
            for (i, s) in f.slots.iter().enumerate() {
                let name = s.name.clone().unwrap_or_else(|| format!("{}@{}", s.playlist, s.cron));
                if let Some(first) = slot_names.insert(name.clone(), file.clone()) {
                    problems.push(at.at(
                        yaml_path!["slots", i],
                        (
                            format!(
                                "slot name `{name}` is already used in {}; give each slot its own `name:`",
                                first.display()
                            ),
                            format!(
                                "播放时间的名称 `{name}` 已经在 {} 里用过了；请给每个播放时间写不同的 `name:`",
                                first.display()
                            ),
                        ),
                    ));
                }
                if let Some(slot) = slot(&at, i, s, &defined_in, ctx, problems) {
                    slots.push(slot);
                }
            }
        }
        (playlists, slots)
    }
}

fn check_item(
    at: &At<'_>,
    path: &[yaml::Seg<'_>],
    text: &str,
    ctx: &Context<'_>,
    problems: &mut Problems,
) -> Option<ItemRef> {
    match item_ref(text) {
        Ok(ItemRef::Clip(c)) if !ctx.catalog.clips.contains(&c) => {
            problems.push(at.at(path, (format!("no clip `{c}` in audio-library"), format!("音频库里没有录音 `{c}`"))));
            None
        }
        Ok(ItemRef::Message(m)) if !ctx.catalog.messages.contains_key(&m) => {
            problems.push(at.at(
                path,
                (
                    format!("message `{m}` has no clip in audio-library (import one with --message {m})"),
                    format!("消息 `{m}` 在音频库里还没有录音（用 --message {m} 导入一条）"),
                ),
            ));
            None
        }
        Ok(r) => Some(r),
        Err(e) => {
            problems.push(at.at(path, e));
            None
        }
    }
}

fn playlist(
    at: &At<'_>,
    name: &str,
    p: &super::files::PlaylistFile,
    ctx: &Context<'_>,
    problems: &mut Problems,
) -> Option<Playlist> {
    let before = problems.len();
    let id = PlaylistId::new(name).map_err(|e| problems.push(at.at_key(yaml_path!["playlists", name], e.text()))).ok();
    let mode = match p.mode.as_str() {
        "in-order" => Some(PlaylistMode::InOrder),
        "rotate" => Some(PlaylistMode::Rotate),
        "shuffle" => Some(PlaylistMode::Shuffle),
        other => {
            problems.push(at.at(
                yaml_path!["playlists", name, "mode"],
                (
                    format!("mode `{other}` is not one of in-order, rotate, shuffle"),
                    format!("播放方式 `{other}` 不对：只能是 in-order、rotate、shuffle 之一"),
                ),
            ));
            None
        }
    };
    if p.items.is_empty() {
        problems.push(at.at(
            yaml_path!["playlists", name, "items"],
            (format!("playlist `{name}` has no items"), format!("播放单 `{name}` 里什么也没有")),
        ));
    }
    let items: Vec<ItemRef> = p
        .items
        .iter()
        .enumerate()
        .filter_map(|(j, it)| check_item(at, yaml_path!["playlists", name, "items", j], it, ctx, problems))
        .collect();
    if !(0.0..=3600.0).contains(&p.gap_s) {
        problems.push(at.at(
            yaml_path!["playlists", name, "gap_s"],
            (format!("gap {} s is outside 0..3600", p.gap_s), format!("间隔 {} 秒超出 0..3600 的范围", p.gap_s)),
        ));
    }
    if p.repeat == 0 || p.repeat > 100 {
        problems.push(at.at(
            yaml_path!["playlists", name, "repeat"],
            (format!("repeat {} is outside 1..100", p.repeat), format!("重复次数 {} 超出 1..100 的范围", p.repeat)),
        ));
    }
    (problems.len() == before).then(|| Playlist {
        id: id.expect("checked"),
        mode: mode.expect("checked"),
        items,
        gap: Duration::from_secs_f64(p.gap_s),
        repeat: p.repeat,
    })
}

fn date(at: &At<'_>, path: &[yaml::Seg<'_>], s: &Option<String>, problems: &mut Problems) -> Option<NaiveDate> {
    let s = s.as_deref()?;
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| {
            problems.push(at.at(
                path,
                (format!("`{s}` is not a date: write YYYY-MM-DD"), format!("`{s}` 不是日期：请写 YYYY-MM-DD")),
            ))
        })
        .ok()
}

fn slot(
    at: &At<'_>,
    i: usize,
    s: &super::files::SlotFile,
    playlists: &BTreeMap<String, PathBuf>,
    ctx: &Context<'_>,
    problems: &mut Problems,
) -> Option<Slot> {
    let before = problems.len();
    let cron =
        CronRule::parse(&s.cron).map_err(|e| problems.push(at.at(yaml_path!["slots", i, "cron"], e.text()))).ok();
    let from = date(at, yaml_path!["slots", i, "from"], &s.from, problems);
    let until = date(at, yaml_path!["slots", i, "until"], &s.until, problems);
    if let (Some(a), Some(b)) = (from, until)
        && b < a
    {
        problems.push(at.at(
            yaml_path!["slots", i, "until"],
            (format!("`until` {b} is before `from` {a}"), format!("`until` {b} 早于 `from` {a}")),
        ));
    }
    if let (Some(cron), Some(st)) = (&cron, ctx.station)
        && !cron_can_fire(cron, st, from, until)
    {
        let window = match (from, until) {
            (None, None) => format!("in the next {CRON_HORIZON_YEARS} years"),
            _ => format!(
                "between {} and {}",
                from.map_or("today".into(), |d| d.to_string()),
                until.map_or("forever".into(), |d| d.to_string())
            ),
        };
        let window_zh = match (from, until) {
            (None, None) => format!("在今后 {CRON_HORIZON_YEARS} 年内"),
            (Some(a), None) => format!("从 {a} 起"),
            (None, Some(b)) => format!("从今天到 {b}"),
            (Some(a), Some(b)) => format!("从 {a} 到 {b}"),
        };
        problems.push(at.at(
            yaml_path!["slots", i, "cron"],
            (
                format!("cron `{}` never fires {window}", s.cron),
                format!("cron 规则 `{}` {window_zh}一次也不会触发", s.cron),
            ),
        ));
    }

    if !playlists.contains_key(&s.playlist) {
        let known: Vec<&str> = playlists.keys().map(String::as_str).collect();
        problems.push(at.at(
            yaml_path!["slots", i, "playlist"],
            (
                format!("unknown playlist `{}` (known: {})", s.playlist, known.join(", ")),
                format!("没有叫 `{}` 的播放单（已有：{}）", s.playlist, known.join("、")),
            ),
        ));
    }

    let villages = ctx.villages.map(|vs| targets(at, i, s, vs, problems)).unwrap_or_default();

    let chime = match &s.chime {
        None | Some(Chime::Flag(false)) => None,
        Some(Chime::Flag(true)) => match ctx.station {
            Some(st) if st.chime.is_none() => {
                problems.push(at.at(
                    yaml_path!["slots", i, "chime"],
                    (
                        "`chime: true` but station.yaml names no `chime:`; name one there or a message here",
                        "写了 `chime: true`，但 station.yaml 里没有设 `chime:`；请在那里设一个，或在这里直接写消息",
                    ),
                ));
                None
            }
            Some(st) => st.chime.clone(),
            None => None,
        },
        Some(Chime::Named(n)) => check_item(at, yaml_path!["slots", i, "chime"], n, ctx, problems),
    };
    if let Some(ItemRef::Message(m)) = ctx.station.and_then(|st| st.chime.as_ref())
        && matches!(s.chime, Some(Chime::Flag(true)))
        && !ctx.catalog.messages.contains_key(m)
    {
        problems.push(at.at(
            yaml_path!["slots", i, "chime"],
            (
                format!("the station chime `{m}` has no clip in audio-library"),
                format!("广播站的提示音 `{m}` 在音频库里还没有录音"),
            ),
        ));
    }

    let priority = match s.priority.as_deref() {
        None | Some("scheduled") => Priority::Scheduled,
        Some("background") => Priority::Background,
        Some(other) => {
            problems.push(at.at(
                yaml_path!["slots", i, "priority"],
                (
                    format!("slot priority `{other}` is not `scheduled` or `background` (manual and emergency are for broadcasting now)"),
                    format!("播放时间的优先级 `{other}` 不对：只能是 `scheduled` 或 `background`（manual 和 emergency 用于马上广播）"),
                ),
            ));
            Priority::Scheduled
        }
    };
    let on_holidays = match s.on_holidays.as_deref() {
        None | Some("play") => true,
        Some("skip") => false,
        Some(other) => {
            problems.push(at.at(
                yaml_path!["slots", i, "on_holidays"],
                (format!("`{other}` is not `play` or `skip`"), format!("`{other}` 不对：只能是 `play` 或 `skip`")),
            ));
            true
        }
    };
    let in_quiet_hours = match s.in_quiet_hours.as_deref() {
        None | Some("skip") => QuietRule::Skip,
        Some("defer") => QuietRule::Defer,
        Some(other) => {
            problems.push(at.at(
                yaml_path!["slots", i, "in_quiet_hours"],
                (format!("`{other}` is not `skip` or `defer`"), format!("`{other}` 不对：只能是 `skip` 或 `defer`")),
            ));
            QuietRule::Skip
        }
    };
    let grace_minutes = s.grace_minutes.unwrap_or(5.0);
    if !(0.0..=24.0 * 60.0).contains(&grace_minutes) {
        problems.push(at.at(
            yaml_path!["slots", i, "grace_minutes"],
            (
                format!("grace {grace_minutes} min is outside 0..1440"),
                format!("宽限时间 {grace_minutes} 分钟超出 0..1440 的范围"),
            ),
        ));
    }

    (problems.len() == before).then(|| Slot {
        name: s.name.clone().unwrap_or_else(|| format!("{}@{}", s.playlist, s.cron)),
        cron: cron.expect("checked"),
        playlist: PlaylistId::new(&s.playlist).expect("known playlists are valid ids"),
        villages,
        chime,
        priority,
        from,
        until,
        on_holidays,
        in_quiet_hours,
        grace: Duration::from_secs_f64(grace_minutes * 60.0),
    })
}

fn targets(
    at: &At<'_>,
    i: usize,
    s: &super::files::SlotFile,
    villages: &[Village],
    problems: &mut Problems,
) -> Vec<VillageId> {
    let t = &s.targets;
    let mut chosen: BTreeSet<&VillageId> = BTreeSet::new();
    if t.all {
        chosen.extend(villages.iter().map(|v| &v.id));
    }
    for (j, v) in t.villages.iter().enumerate() {
        match villages.iter().find(|x| x.id.as_str() == v) {
            Some(x) => {
                chosen.insert(&x.id);
            }
            None => problems.push(at.at(
                yaml_path!["slots", i, "targets", "villages", j],
                (format!("unknown village `{v}`"), format!("没有叫 `{v}` 的村")),
            )),
        }
    }
    for (j, name) in t.townships.iter().enumerate() {
        let mut any = false;
        for v in villages.iter().filter(|v| &v.township == name) {
            any = true;
            chosen.insert(&v.id);
        }
        if !any {
            let known: BTreeSet<&str> = villages.iter().map(|v| v.township.as_str()).collect();
            let known: Vec<&str> = known.into_iter().collect();
            problems.push(at.at(
                yaml_path!["slots", i, "targets", "townships", j],
                (
                    format!("unknown township `{name}` (known: {})", known.join(", ")),
                    format!("没有叫 `{name}` 的乡镇（已有：{}）", known.join("、")),
                ),
            ));
        }
    }
    for (j, g) in t.grids.iter().enumerate() {
        let mut any = false;
        for v in villages.iter().filter(|v| v.grids.contains(g)) {
            any = true;
            chosen.insert(&v.id);
        }
        if !any {
            problems.push(at.at(
                yaml_path!["slots", i, "targets", "grids", j],
                (format!("unknown grid `{g}`: no village lists it"), format!("没有叫 `{g}` 的网格：哪个村都没写它")),
            ));
        }
    }
    if !t.all && t.villages.is_empty() && t.townships.is_empty() && t.grids.is_empty() {
        problems.push(at.at(
            yaml_path!["slots", i, "targets"],
            (
                "the slot targets nobody: give villages, townships, grids, or all: true",
                "这个播放时间没有播给任何地方：请写 villages、townships、grids，或 all: true",
            ),
        ));
    }
    // File order of villages, not alphabetical.
    villages.iter().filter(|v| chosen.contains(&v.id)).map(|v| v.id.clone()).collect()
}

/// True when the rule matches at least one instant inside the slot's date window (or within the
/// next few years when the window is open-ended).
fn cron_can_fire(cron: &CronRule, station: &Station, from: Option<NaiveDate>, until: Option<NaiveDate>) -> bool {
    let tz = station.timezone;
    let start_date = from.unwrap_or_else(|| chrono::Utc::now().with_timezone(&tz).date_naive());
    let Some(start) = tz
        .from_local_datetime(&start_date.and_hms_opt(0, 0, 0).expect("midnight"))
        .earliest()
        .map(|t| t - chrono::Duration::seconds(1))
    else {
        return true;
    };
    let end_date = until
        .map(|d| d + chrono::Duration::days(1))
        .unwrap_or_else(|| start_date.with_year(start_date.year() + CRON_HORIZON_YEARS).unwrap_or(start_date));
    let Some(end) = tz.from_local_datetime(&end_date.and_hms_opt(0, 0, 0).expect("midnight")).earliest() else {
        return true;
    };
    cron.next_after(&start).is_some_and(|t| t < end)
}

use chrono::Datelike;
