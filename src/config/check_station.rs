//! Checks `station.yaml` and `villages.yaml`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use super::files::{HolidaysFile, QuietHoursFile, StationFile, VillagesFile, Windows};
use super::model::{Calendar, ItemRef, LoudnessPolicy, Profile, QuietHours, Station, Village};
use super::problem::{Problem, Problems};
use super::yaml::{self, Doc, Seg};
use crate::domain::{ClipId, DailyWindow, GainDb, Language, MessageId, Say, Text, TimeOfDay, VillageId, ZoneId};
use crate::yaml_path;

/// Reports problems at positions of one document.
pub(super) struct At<'a> {
    pub file: &'a Path,
    pub doc: &'a Doc,
}

impl At<'_> {
    /// A problem at the value found at `path`, said in English and Chinese (`(en, zh)` or a
    /// [`Text`](crate::domain::Text)).
    pub fn at(&self, path: &[Seg<'_>], msg: impl Into<crate::domain::Text>) -> Problem {
        let (line, col) = self.doc.locate(path);
        Problem::new(self.file, line, col, msg)
    }
    /// A problem at the key of the entry at `path`, said in English and Chinese.
    pub fn at_key(&self, path: &[Seg<'_>], msg: impl Into<crate::domain::Text>) -> Problem {
        let (line, col) = self.doc.locate_key(path);
        Problem::new(self.file, line, col, msg)
    }
}

/// Reads a playlist item or chime name: a clip id when it has that shape, else a message id.
pub(super) fn item_ref(s: &str) -> Result<ItemRef, Text> {
    if let Ok(c) = ClipId::new(s) {
        return Ok(ItemRef::Clip(c));
    }
    MessageId::new(s).map(ItemRef::Message).map_err(|e| e.text())
}

pub(super) fn station(file: &Path, text: &str, problems: &mut Problems) -> Option<Station> {
    let (f, doc): (StationFile, Doc) = match yaml::parse(file, text) {
        Ok(v) => v,
        Err(p) => {
            problems.push(p);
            return None;
        }
    };
    let at = At { file, doc: &doc };
    let before = problems.len();

    let timezone = f.timezone.parse::<chrono_tz::Tz>().map_err(|_| {
        problems.push(at.at(
            yaml_path!["timezone"],
            (
                format!("`{}` is not an IANA time zone (for China write Asia/Shanghai)", f.timezone),
                format!("`{}` 不是 IANA 时区（中国请写 Asia/Shanghai）", f.timezone),
            ),
        ))
    });

    let mut languages = Vec::new();
    for (i, l) in f.languages.iter().enumerate() {
        match Language::new(l) {
            Ok(lang) if languages.contains(&lang) => problems.push(at.at(
                yaml_path!["languages", i],
                (format!("language `{l}` is listed twice"), format!("语言 `{l}` 写了两次")),
            )),
            Ok(lang) => languages.push(lang),
            Err(e) => problems.push(at.at(yaml_path!["languages", i], e.text())),
        }
    }
    if f.languages.is_empty() {
        problems.push(at.at(
            yaml_path!["languages"],
            ("list at least one language the station broadcasts in", "请至少写一种广播站播音用的语言"),
        ));
    }
    let default_language = match &f.default_language {
        Some(l) => match Language::new(l) {
            Ok(lang) if languages.contains(&lang) => Some(lang),
            Ok(_) => {
                problems.push(at.at(
                    yaml_path!["default_language"],
                    (
                        format!("default language `{l}` is not in the station's languages"),
                        format!("默认语言 `{l}` 不在广播站的语言列表里"),
                    ),
                ));
                None
            }
            Err(e) => {
                problems.push(at.at(yaml_path!["default_language"], e.text()));
                None
            }
        },
        None => languages.last().cloned(),
    };

    let target = f.loudness.target_lufs;
    if !(-40.0..=-5.0).contains(&target) {
        problems.push(at.at(
            yaml_path!["loudness", "target_lufs"],
            (
                format!("loudness target {target} LUFS is outside -40..-5 (broadcast uses -23)"),
                format!("响度目标 {target} LUFS 超出 -40..-5 的范围（广播一般用 -23）"),
            ),
        ));
    }
    let peak = f.loudness.max_true_peak_dbtp;
    if !(-20.0..=0.0).contains(&peak) {
        problems.push(at.at(
            yaml_path!["loudness", "max_true_peak_dbtp"],
            (
                format!("true-peak ceiling {peak} dBTP is outside -20..0"),
                format!("真峰值上限 {peak} dBTP 超出 -20..0 的范围"),
            ),
        ));
    }
    if !(f.max_clip_minutes > 0.0 && f.max_clip_minutes <= 24.0 * 60.0) {
        problems.push(at.at(
            yaml_path!["max_clip_minutes"],
            (
                format!("max_clip_minutes must be between 0 and 1440, not {}", f.max_clip_minutes),
                format!("max_clip_minutes 必须在 0 到 1440 之间，现在写的是 {}", f.max_clip_minutes),
            ),
        ));
    }
    let chime =
        f.chime.as_deref().and_then(|c| item_ref(c).map_err(|e| problems.push(at.at(yaml_path!["chime"], e))).ok());
    if f.hardware_profile.is_empty() || f.hardware_profile.contains(['/', '\\']) {
        problems.push(at.at(
            yaml_path!["hardware_profile"],
            (
                "hardware_profile is a file stem such as `default`",
                "hardware_profile 要写硬件配置的文件名（不带 .yaml），例如 `default`",
            ),
        ));
    }

    let mut language_names = BTreeMap::new();
    for (tag, names) in &f.language_names {
        let path = yaml_path!["language_names", tag.as_str()];
        match Language::new(tag) {
            Ok(lang) if !languages.contains(&lang) => problems.push(at.at_key(
                path,
                (
                    format!("language_names names `{tag}`, which is not in the station's languages"),
                    format!("language_names 里的 `{tag}` 不在广播站的语言列表里"),
                ),
            )),
            Ok(lang) => {
                let (zh, en) = (names.zh.trim(), names.en.trim());
                if zh.is_empty() && en.is_empty() {
                    problems.push(at.at(
                        path,
                        (
                            format!("give `{tag}` a name people know, e.g. {{zh: 普通话, en: Mandarin}}"),
                            format!("请给 `{tag}` 写一个大家认得的名称，例如 {{zh: 普通话, en: Mandarin}}"),
                        ),
                    ));
                } else if zh.chars().count() > 40 || en.chars().count() > 40 {
                    problems.push(at.at(
                        path,
                        (
                            format!("the names of `{tag}` are longer than 40 characters"),
                            format!("`{tag}` 的名称超过 40 个字"),
                        ),
                    ));
                } else {
                    let or = |a: &str, b: &str| if a.is_empty() { b.to_owned() } else { a.to_owned() };
                    language_names.insert(lang, Text::new(or(en, zh), or(zh, en)));
                }
            }
            Err(e) => problems.push(at.at_key(path, e.text())),
        }
    }

    if problems.len() > before {
        return None;
    }
    Some(Station {
        name: f.name,
        timezone: timezone.ok()?,
        languages,
        default_language: default_language?,
        hardware_profile: f.hardware_profile,
        loudness: LoudnessPolicy { target_lufs: target, max_true_peak_dbtp: peak },
        max_clip_duration: Duration::from_secs_f64(f.max_clip_minutes * 60.0),
        chime,
        language_names,
    })
}

pub(super) fn villages(
    file: &Path,
    text: &str,
    station: Option<&Station>,
    profile: Option<&Profile>,
    problems: &mut Problems,
) -> Option<Vec<Village>> {
    let (f, doc): (VillagesFile, Doc) = match yaml::parse(file, text) {
        Ok(v) => v,
        Err(p) => {
            problems.push(p);
            return None;
        }
    };
    let at = At { file, doc: &doc };
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut zone_users: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();

    if f.villages.is_empty() {
        problems.push(at.at(yaml_path!["villages"], ("no villages: list at least one", "没有村：请至少写一个")));
    }
    for (i, v) in f.villages.iter().enumerate() {
        let id =
            VillageId::new(&v.id).map_err(|e| problems.push(at.at(yaml_path!["villages", i, "id"], e.text()))).ok();
        if !seen.insert(v.id.clone()) {
            problems.push(at.at(
                yaml_path!["villages", i, "id"],
                (format!("village id `{}` is used twice", v.id), format!("村编号 `{}` 用了两次", v.id)),
            ));
        }
        if v.name.trim().is_empty() {
            problems.push(at.at(
                yaml_path!["villages", i, "name"],
                ("the village needs a display name", "这个村需要填写显示的名称"),
            ));
        }
        if v.township.trim().is_empty() {
            problems.push(
                at.at(
                    yaml_path!["villages", i, "township"],
                    ("the village needs a township", "这个村需要填写所属乡镇"),
                ),
            );
        }
        let zone = match ZoneId::new(&v.zone) {
            Ok(z) => {
                if let Some(p) = profile
                    && !p.zones.contains_key(&z)
                {
                    let wired: Vec<&str> = p.zones.keys().map(ZoneId::as_str).collect();
                    problems.push(at.at(
                        yaml_path!["villages", i, "zone"],
                        (
                            format!(
                                "zone `{}` is not wired in hardware profile `{}` (wired zones: {})",
                                v.zone,
                                p.name,
                                wired.join(", ")
                            ),
                            format!(
                                "分区 `{}` 在硬件配置 `{}` 里没有接线（已接线的分区：{}）",
                                v.zone,
                                p.name,
                                wired.join("、")
                            ),
                        ),
                    ));
                }
                if let Some(other) = zone_users.insert(v.zone.clone(), v.id.clone()) {
                    problems.push(at.at(
                        yaml_path!["villages", i, "zone"],
                        (
                            format!(
                                "zone `{}` already reaches village `{other}`; give each village its own zone",
                                v.zone
                            ),
                            format!("分区 `{}` 已经接到村 `{other}`；每个村要用自己的分区", v.zone),
                        ),
                    ));
                }
                Some(z)
            }
            Err(e) => {
                problems.push(at.at(yaml_path!["villages", i, "zone"], e.text()));
                None
            }
        };
        let mut languages = Vec::new();
        for (j, l) in v.languages.iter().enumerate() {
            match Language::new(l) {
                Ok(lang) => {
                    if let Some(s) = station
                        && !s.allows(&lang)
                    {
                        let listed: Vec<&str> = s.languages.iter().map(Language::as_str).collect();
                        problems.push(at.at(
                            yaml_path!["villages", i, "languages", j],
                            (
                                format!("language `{l}` is not in the station's list ({})", listed.join(", ")),
                                format!("语言 `{l}` 不在广播站的语言列表里（{}）", listed.join("、")),
                            ),
                        ));
                    }
                    languages.push(lang);
                }
                Err(e) => problems.push(at.at(yaml_path!["villages", i, "languages", j], e.text())),
            }
        }
        if v.languages.is_empty() {
            problems.push(at.at(
                yaml_path!["villages", i, "languages"],
                (
                    "list the village's languages, most understood first",
                    "请写出这个村用的语言，听得懂的人最多的写在最前面",
                ),
            ));
        }
        let quiet_hours = quiet_hours(&at, i, &v.quiet_hours, problems);
        let mut volume = Vec::new();
        for (t, db) in &v.volume_db {
            match TimeOfDay::parse(t) {
                Ok(tod) if (-60.0..=12.0).contains(db) => volume.push((tod, GainDb(*db))),
                Ok(_) => problems.push(at.at(
                    yaml_path!["villages", i, "volume_db", t.as_str()],
                    (format!("volume {db} dB is outside -60..+12"), format!("音量 {db} dB 超出 -60..+12 的范围")),
                )),
                Err(e) => problems.push(at.at_key(yaml_path!["villages", i, "volume_db", t.as_str()], e.text())),
            }
        }
        volume.sort_by_key(|(t, _)| *t);
        let line_test = v.line_test.as_deref().and_then(|t| line_test(&at, i, t, &quiet_hours, problems));
        if let (Some(id), Some(zone)) = (id, zone) {
            out.push(Village {
                id,
                name: v.name.clone(),
                township: v.township.clone(),
                grids: v.grids.clone(),
                zone,
                languages,
                quiet_hours,
                volume,
                line_test,
            });
        }
    }
    // Villages that read well are returned even when others did not, so that schedules are still
    // checked against them; the plan is only built when there are no problems at all.
    Some(out)
}

/// A village's daily line-test time: a time of day outside every one of its quiet hours.
fn line_test(at: &At<'_>, i: usize, t: &str, q: &QuietHours, problems: &mut Problems) -> Option<TimeOfDay> {
    let tod = match TimeOfDay::parse(t) {
        Ok(t) => t,
        Err(e) => {
            problems.push(at.at(yaml_path!["villages", i, "line_test"], e.text()));
            return None;
        }
    };
    let kinds =
        [("weekdays", "工作日", &q.weekdays), ("weekends", "周末", &q.weekends), ("holidays", "节假日", &q.holidays)];
    for (en, zh, windows) in kinds {
        if let Some(w) = windows.iter().find(|w| w.contains(tod)) {
            problems.push(at.at(
                yaml_path!["villages", i, "line_test"],
                (
                    format!("the line test at {t} falls in the village's quiet hours on {en} ({w}); choose a time outside them"),
                    format!("线路测试时间 {t} 落在这个村{zh}的休息时段（{w}）里；请换一个休息时段以外的时间"),
                ),
            ));
            return None;
        }
    }
    Some(tod)
}

fn quiet_hours(at: &At<'_>, i: usize, q: &QuietHoursFile, problems: &mut Problems) -> QuietHours {
    let mut read = |key: &'static str, w: &Windows| -> Vec<crate::domain::DailyWindow> {
        let mut out: Vec<(usize, DailyWindow)> = Vec::new();
        for (j, text) in w.as_slice().iter().enumerate() {
            let path: Vec<Seg<'_>> = if w.is_list() {
                vec![Seg::Key("villages"), Seg::Index(i), Seg::Key("quiet_hours"), Seg::Key(key), Seg::Index(j)]
            } else {
                vec![Seg::Key("villages"), Seg::Index(i), Seg::Key("quiet_hours"), Seg::Key(key)]
            };
            match DailyWindow::parse(text) {
                Ok(win) => {
                    if let Some((k, other)) = out.iter().find(|(_, o)| o.overlaps(win)) {
                        problems.push(at.at(
                            &path,
                            (
                                format!(
                                    "quiet hours {win} overlap {other} (entry {} of {key}); merge them into one window",
                                    k + 1
                                ),
                                format!("休息时段 {win} 和 {other}（{key} 的第 {} 项）重叠；请合并成一个时段", k + 1),
                            ),
                        ));
                    }
                    out.push((j, win));
                }
                Err(e) => problems.push(at.at(&path, e.text())),
            }
        }
        out.into_iter().map(|(_, w)| w).collect()
    };
    let weekdays = read("weekdays", &q.weekdays);
    let weekends = read("weekends", &q.weekends);
    let holidays = match &q.holidays {
        Some(h) => read("holidays", h),
        None => weekends.clone(),
    };
    QuietHours { weekdays, weekends, holidays }
}

/// Longest holiday range accepted (a typo in a year should not make a century of holidays).
const MAX_HOLIDAY_RANGE_DAYS: i64 = 60;

pub(super) fn calendar(file: &Path, text: &str, problems: &mut Problems) -> Calendar {
    let (f, doc): (HolidaysFile, Doc) = match yaml::parse(file, text) {
        Ok(v) => v,
        Err(p) => {
            problems.push(p);
            return Calendar::default();
        }
    };
    let at = At { file, doc: &doc };
    let mut cal = Calendar::default();
    let date = |s: &str| chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
    for (i, entry) in f.holidays.iter().enumerate() {
        let (a, b) = match entry.split_once("..") {
            Some((a, b)) => (date(a), date(b)),
            None => (date(entry), date(entry)),
        };
        match (a, b) {
            (Some(a), Some(b)) if a <= b && (b - a).num_days() < MAX_HOLIDAY_RANGE_DAYS => {
                let mut d = a;
                while d <= b {
                    cal.holidays.insert(d);
                    d = d.succ_opt().expect("dates in range");
                }
            }
            (Some(a), Some(b)) if a > b => problems.push(at.at(
                yaml_path!["holidays", i],
                (
                    format!("holiday range `{entry}` ends before it starts"),
                    format!("节假日范围 `{entry}` 的结束日期早于开始日期"),
                ),
            )),
            (Some(_), Some(_)) => problems.push(at.at(
                yaml_path!["holidays", i],
                (
                    format!(
                        "holiday range `{entry}` is longer than {MAX_HOLIDAY_RANGE_DAYS} days; is a year mistyped?"
                    ),
                    format!("节假日范围 `{entry}` 超过 {MAX_HOLIDAY_RANGE_DAYS} 天；是不是年份写错了？"),
                ),
            )),
            _ => problems.push(at.at(
                yaml_path!["holidays", i],
                (
                    format!("`{entry}` is not a date or a range: write 2026-10-01 or 2026-10-01..2026-10-07"),
                    format!("`{entry}` 不是日期，也不是日期范围：请写 2026-10-01 或 2026-10-01..2026-10-07"),
                ),
            )),
        }
    }
    cal
}
