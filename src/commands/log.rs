//! `xiangyin log`: the as-run log — what the station actually did with each cue — as a table for
//! people or as CSV for spreadsheets, both in station time (CSV with the offset: `+08:00`).

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::Paths;
use super::render::parse_instant;
use crate::config::{self, Layout};
use crate::domain::VillageId;
use crate::store::{self, AsRunRow, Filter, Store};

/// Prints the as-run log of `STATE/station.db`, oldest first, optionally of one `village` and
/// from `since` on (`today`, `yesterday`, a date, `2026-11-29T07:00` station time, or RFC 3339).
/// With `csv`, prints [`store::write_csv`]'s CSV instead of the table.
///
/// Returns false (after one sentence on `out`) when `since` is not a time, the village is unknown,
/// or the database cannot be opened. When there is no database yet it says so and returns true.
/// Times in the table and `since` are read in the station's time zone; when `station.yaml` is
/// broken they are UTC, and the table says so (CSV times carry their offset either way).
pub fn run(
    paths: &Paths,
    village: Option<&str>,
    since: Option<&str>,
    csv: bool,
    out: &mut dyn Write,
) -> std::io::Result<bool> {
    let (tz, tz_note) = match config::load_station(&paths.layout) {
        Ok(station) => (station.timezone, None),
        Err(problems) => {
            let file = paths.layout.shown(&paths.layout.schedules().join(Layout::STATION));
            let note = format!(
                "{} has {} problem(s) (see `xiangyin check`), so times here are UTC",
                file.display(),
                problems.len()
            );
            (Tz::UTC, Some(note))
        }
    };
    let since = match since.map(|s| parse_since(s, tz, Utc::now())).transpose() {
        Ok(t) => t,
        Err(e) => {
            writeln!(out, "{e}")?;
            return Ok(false);
        }
    };
    let village = match village.map(|v| (v, VillageId::new(v))) {
        None => None,
        Some((_, Ok(id))) => Some(id),
        Some((v, Err(_))) => {
            writeln!(
                out,
                "`{v}` is not a village id: village ids are ascii like `dongmen` (see schedules/villages.yaml)"
            )?;
            return Ok(false);
        }
    };
    let configured = configured_villages(paths);
    let db = store::default_path(&paths.state);
    if !db.exists() {
        if let (Some(v), Some(known)) = (&village, &configured)
            && !known.iter().any(|(id, _)| id == v)
        {
            writeln!(out, "{}", unknown_village(v, Some(known), &[]))?;
            return Ok(false);
        }
        writeln!(out, "no as-run log yet at {}: the station has not played anything", db.display())?;
        return Ok(true);
    }
    let store = match Store::open(&db) {
        Ok(s) => s,
        Err(e) if e.needs_operator() => {
            writeln!(out, "{e}")?;
            return Ok(false);
        }
        Err(e) => return Err(std::io::Error::other(e)),
    };
    if let Some(v) = &village {
        let logged = store.villages().map_err(std::io::Error::other)?;
        if !logged.contains(v) && !configured.as_ref().is_some_and(|k| k.iter().any(|(id, _)| id == v)) {
            writeln!(out, "{}", unknown_village(v, configured.as_ref(), &logged))?;
            return Ok(false);
        }
    }
    let filter = Filter { village: village.clone(), since, until: None, limit: None };
    let rows = store.query(&filter).map_err(std::io::Error::other)?;
    if csv {
        if let Some(note) = &tz_note {
            tracing::warn!("{note}");
        }
        store::write_csv(&rows, tz, &titles(paths), out)?;
        return Ok(true);
    }
    if let Some(note) = &tz_note {
        writeln!(out, "note: {note}")?;
    }
    let mut scope = String::new();
    if let Some(v) = &village {
        scope.push_str(&format!(" of {v}"));
    }
    if let Some(t) = since {
        scope.push_str(&format!(" since {}", t.with_timezone(&tz).format("%Y-%m-%d %H:%M")));
    }
    if rows.is_empty() {
        writeln!(out, "no cues in the as-run log{scope}")?;
        return Ok(true);
    }
    writeln!(out, "as-run log{scope}, times in {tz}:")?;
    write_table(&rows, tz, &titles(paths), out)?;
    writeln!(out, "{}", summary(&rows))?;
    Ok(true)
}

/// Reads `--since`: `today` / `yesterday` (station midnight), a date `2026-11-29` (its station
/// midnight), or anything [`parse_instant`] reads. `now` decides what today is.
pub fn parse_since(s: &str, tz: Tz, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let today = now.with_timezone(&tz).date_naive();
    let day = match s.trim() {
        "today" => Some(today),
        "yesterday" => today.checked_sub_days(Days::new(1)),
        other => NaiveDate::parse_from_str(other, "%Y-%m-%d").ok(),
    };
    if let Some(day) = day {
        return Ok(start_of_day(day, tz));
    }
    parse_instant(s.trim(), tz).map_err(|_| {
        format!(
            "`{s}` is not a time: write today, yesterday, a date (2026-11-29), a station time (2026-11-29T07:00) \
             or an RFC 3339 instant"
        )
    })
}

/// The first instant of local date `day` (midnight, or the end of a daylight-saving gap at midnight).
fn start_of_day(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    (0..=24 * 4)
        .find_map(|quarter| tz.from_local_datetime(&(midnight + chrono::Duration::minutes(15 * quarter))).earliest())
        .map_or_else(|| Utc.from_utc_datetime(&midnight), |t| t.with_timezone(&Utc))
}

/// The villages of `villages.yaml` with their names, in file order, when the configuration loads.
fn configured_villages(paths: &Paths) -> Option<Vec<(VillageId, String)>> {
    let catalog = paths.library().catalog().ok()?;
    let plan = config::load(&paths.layout, None, &catalog).ok()?;
    Some(plan.villages.into_iter().map(|v| (v.id, v.name)).collect())
}

fn unknown_village(v: &VillageId, configured: Option<&Vec<(VillageId, String)>>, logged: &[VillageId]) -> String {
    match configured {
        Some(known) => {
            let mut names: Vec<String> = known.iter().map(|(id, name)| format!("{id} ({name})")).collect();
            names.extend(
                logged
                    .iter()
                    .filter(|id| !known.iter().any(|(k, _)| k == *id))
                    .map(|id| format!("{id} (no longer configured)")),
            );
            format!("no village `{v}`: the villages are {}", names.join(", "))
        }
        None => {
            let seen: Vec<&str> = logged.iter().map(VillageId::as_str).collect();
            let seen = if seen.is_empty() { "none".to_owned() } else { seen.join(", ") };
            format!(
                "no village `{v}` in the as-run log (villages in it: {seen}); the configuration does not load, so \
                 villages.yaml could not be checked: run `xiangyin check`"
            )
        }
    }
}

/// Clip id → title, from the library (none when it cannot be read: ids are shown then).
fn titles(paths: &Paths) -> BTreeMap<String, String> {
    match paths.library().list() {
        Ok((clips, _)) => clips.into_iter().map(|c| (c.id.to_string(), c.title)).collect(),
        Err(e) => {
            tracing::warn!("the clip library cannot be read ({e}): clips are shown by id");
            BTreeMap::new()
        }
    }
}

/// At most `max` characters of `s`, with `…` when cut.
fn clipped(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_owned() } else { s.chars().take(max - 1).chain(['…']).collect() }
}

fn write_table(
    rows: &[AsRunRow],
    tz: Tz,
    titles: &BTreeMap<String, String>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    const HEADER: [&str; 9] =
        ["scheduled", "started", "village", "clip", "language", "priority", "outcome", "slot", "detail"];
    let dash = || "-".to_owned();
    let cells: Vec<[String; 9]> = rows
        .iter()
        .map(|r| {
            let scheduled = r.scheduled.with_timezone(&tz);
            let started = r.started.map_or_else(dash, |t| {
                let t = t.with_timezone(&tz);
                let fmt = if t.date_naive() == scheduled.date_naive() { "%H:%M:%S" } else { "%Y-%m-%d %H:%M:%S" };
                t.format(fmt).to_string()
            });
            let outcome = match r.late_by {
                Some(d) if r.state() == "late" => format!("late {}", late(d)),
                Some(d) => format!("{} (started {} late)", r.state(), late(d)),
                None => r.state().to_owned(),
            };
            [
                scheduled.format("%Y-%m-%d %H:%M:%S").to_string(),
                started,
                r.village.to_string(),
                r.clip
                    .as_ref()
                    .map_or_else(dash, |c| titles.get(c.as_str()).map_or_else(|| c.to_string(), |t| clipped(t, 24))),
                r.language.as_ref().map_or_else(dash, ToString::to_string),
                r.priority.map_or_else(dash, |p| p.name().to_owned()),
                outcome,
                r.slot.clone().unwrap_or_else(|| "(manual)".to_owned()),
                r.detail.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let mut widths = HEADER.map(width);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(c));
        }
    }
    let header = HEADER.map(str::to_owned);
    for row in std::iter::once(&header).chain(&cells) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                line.push_str(&" ".repeat(w - width(cell) + 2));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// `12 cues: 8 played, 2 skipped-quiet-hours, 2 planned`.
fn summary(rows: &[AsRunRow]) -> String {
    let mut by_state: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows {
        *by_state.entry(r.state()).or_default() += 1;
    }
    let parts: Vec<String> = by_state.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let noun = if rows.len() == 1 { "cue" } else { "cues" };
    format!("{} {noun}: {}", rows.len(), parts.join(", "))
}

/// `+0.4s`, `+2m05s`, `+1h02m`.
fn late(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("+{:.1}s", d.as_secs_f64()),
        60..3600 => format!("+{}m{:02}s", s / 60, s % 60),
        _ => format!("+{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// Columns a terminal gives `s`: two for East Asian wide characters (汉字, full-width forms).
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF => 2,
            0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 => 2,
            0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}
