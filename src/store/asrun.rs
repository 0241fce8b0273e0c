//! The as-run log: one row per cue saying what actually happened to it.
//!
//! # The life of a row
//!
//! | state | `started` | `ended` | `outcome` |
//! |---|---|---|---|
//! | planned (waiting to play) | – | – | NULL |
//! | decided without airing — final | – | – | skipped-…, no-variant, missed, failed-output, stopped |
//! | on air | set | – | NULL, or late / preempted / resumed / failed-output |
//! | ended — final | set | set | how it ended |
//! | on air when the station died — final | set | – | stopped (its end is not known) |
//!
//! [`Store::record_planned`] makes a row (planned, or final for the scheduler's non-playing
//! decisions); [`Store::mark_started`], [`Store::mark_outcome`] and [`Store::mark_ended`] move it
//! along. A write that does not fit the row's state (a second start, an end before a start, any
//! write to a final row, an unknown cue) changes nothing and returns `Ok(false)`, so the first
//! word stands and a restarted station cannot rewrite history.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, ToSql, params, params_from_iter};

use super::{AsRunOutcome, Store, StoreError, parse_stamp, stamp};
use crate::domain::{ClipId, Cue, CueId, Heard, HeardNote, Lang, Language, Priority, Text, VillageId, ZoneId};
use crate::scheduler::{Outcome, Planned};

/// One row of the as-run log.
#[derive(Debug, Clone, PartialEq)]
pub struct AsRunRow {
    /// The cue (its id is the row's key).
    pub cue: CueId,
    /// The village it was for.
    pub village: VillageId,
    /// The zone that reaches the village.
    pub zone: ZoneId,
    /// The clip chosen; `None` for no-variant and holiday rows.
    pub clip: Option<ClipId>,
    /// The clip's language; `None` when there is no clip.
    pub language: Option<Language>,
    /// The cue's priority; `None` when there is no cue (no-variant and holiday rows).
    pub priority: Option<Priority>,
    /// The slot that made it; `None` for manual plays.
    pub slot: Option<String>,
    /// When it was to start (for a cue deferred past quiet hours, the new instant), to the millisecond.
    pub scheduled: DateTime<Utc>,
    /// When it actually started.
    pub started: Option<DateTime<Utc>>,
    /// When it actually ended.
    pub ended: Option<DateTime<Utc>>,
    /// How late it started, to the millisecond, when it started late.
    pub late_by: Option<Duration>,
    /// What happened; `None` while planned or on air (see [`AsRunRow::state`]).
    pub outcome: Option<AsRunOutcome>,
    /// Free text: the failed output's name, the message without a variant, the original instant of
    /// a deferred cue, a chime that could not play.
    pub detail: Option<String>,
    /// The same in Chinese (rows written before schema V3 have none).
    pub detail_zh: Option<String>,
    /// What the line's capture tap heard (`None` when the line is not monitored or not judged yet).
    pub heard: Option<HeardNote>,
}

impl AsRunRow {
    /// The detail in `lang`: the Chinese one on Chinese pages when there is one, else the English.
    pub fn detail_in(&self, lang: Lang) -> Option<&str> {
        match lang {
            Lang::Zh => self.detail_zh.as_deref().or(self.detail.as_deref()),
            Lang::En => self.detail.as_deref(),
        }
    }

    /// The outcome's name, or `on-air` (started, not ended, no outcome yet) or `planned`.
    pub fn state(&self) -> &'static str {
        match (self.outcome, self.started) {
            (Some(o), _) => o.name(),
            (None, Some(_)) => "on-air",
            (None, None) => "planned",
        }
    }
}

/// A broadcast's village that will not hear it, as [`Store::record_not_aired`] records it.
#[derive(Debug, Clone, PartialEq)]
pub struct NotAired {
    /// The cue id the village would have had.
    pub cue: CueId,
    /// The village.
    pub village: VillageId,
    /// Its zone.
    pub zone: ZoneId,
    /// The clip chosen, when one was (an expired one, one blocked by quiet hours).
    pub clip: Option<ClipId>,
    /// Its language.
    pub language: Option<Language>,
    /// The broadcast's priority.
    pub priority: Priority,
    /// When it was asked for.
    pub at: DateTime<Utc>,
    /// Why not (final: `no-variant`, `skipped-quiet-hours`, `skipped-expired`).
    pub outcome: AsRunOutcome,
    /// In words, in both languages.
    pub detail: Text,
}

/// Which rows [`Store::query`] returns. The default is every row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Only this village.
    pub village: Option<VillageId>,
    /// Only cues scheduled at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only cues scheduled before this instant.
    pub until: Option<DateTime<Utc>>,
    /// At most this many rows: the first ones in the query's order.
    pub limit: Option<usize>,
}

/// Columns read into an [`AsRunRow`], in [`Raw`] order.
const COLUMNS: &str = "cue, village, zone, clip, language, priority, slot, scheduled, started, ended, late_ms, outcome, \
                       detail, detail_zh, heard, heard_level, heard_delay_ms, heard_detail, heard_detail_zh";
/// Scheduled time, then cue id in u64 order (ids at or above 2^63 are stored negative).
const ORDER: &str = "ORDER BY scheduled, cue < 0, cue";
/// Rows not final: planned, or started and not ended.
/// A row on air: started, not ended, and without a final outcome (a cue the station found on air
/// after a crash is `stopped` with no end: that is final).
const ON_AIR: &str = "started IS NOT NULL AND ended IS NULL \
    AND (outcome IS NULL OR outcome IN ('late', 'preempted', 'resumed', 'failed-output'))";
/// Rows not final: planned, or on air.
const OPEN: &str = "ended IS NULL AND ((started IS NULL AND outcome IS NULL) OR (started IS NOT NULL \
    AND (outcome IS NULL OR outcome IN ('late', 'preempted', 'resumed', 'failed-output'))))";

fn key(id: CueId) -> i64 {
    id.0 as i64
}

impl Store {
    /// Records a planned entry, once: planning the same cue again (a reload, an overlapping
    /// window, a restart) keeps the first row and returns `Ok(false)`. An entry the scheduler
    /// decided not to play (quiet hours, expired, no variant, holiday) is recorded with that final
    /// outcome; a playing one (play, deferred) as planned.
    pub fn record_planned(&self, planned: &Planned) -> Result<bool, StoreError> {
        insert(&self.conn, planned).map_err(|e| self.err("record_planned", e))
    }

    /// [`Store::record_planned`] for a whole window in one transaction (one disk sync instead of
    /// one per entry). Returns how many rows were new.
    pub fn record_plan(&self, planned: &[Planned]) -> Result<usize, StoreError> {
        let run = || -> rusqlite::Result<usize> {
            let tx = self.conn.unchecked_transaction()?;
            let mut new = 0;
            for p in planned {
                new += usize::from(insert(&tx, p)?);
            }
            tx.commit()?;
            Ok(new)
        };
        run().map_err(|e| self.err("record_plan", e))
    }

    /// [`Store::record_plan`] and [`Store::save_json`]`(key, state)` in one transaction: the rows of
    /// a planned window and the scheduler state that planned it reach the disk together or not at
    /// all, so a station killed between the two cannot plan the same firings twice differently.
    pub fn record_window(
        &self,
        planned: &[Planned],
        key: &str,
        state: &impl serde::Serialize,
    ) -> Result<usize, StoreError> {
        let json = serde_json::to_string(state).map_err(|source| StoreError::Json { key: key.to_owned(), source })?;
        let run = || -> rusqlite::Result<usize> {
            let tx = self.conn.unchecked_transaction()?;
            let mut new = 0;
            for p in planned {
                new += usize::from(insert(&tx, p)?);
            }
            tx.prepare_cached(
                "INSERT INTO state (key, json, saved) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET json = excluded.json, saved = excluded.saved",
            )?
            .execute(params![key, json, stamp(Utc::now())])?;
            tx.commit()?;
            Ok(new)
        };
        run().map_err(|e| self.err("record_window", e))
    }

    /// Records a cue that no slot made (a manual or emergency play), once, as planned.
    pub fn record_cue(&self, cue: &Cue) -> Result<bool, StoreError> {
        self.record_cue_saying(cue, None)
    }

    /// [`Store::record_cue`] with a `detail` (who played it: `xiangyin play`).
    pub fn record_cue_saying(&self, cue: &Cue, detail: Option<&Text>) -> Result<bool, StoreError> {
        let row = NewRow {
            cue: cue.id,
            village: cue.village.as_str(),
            zone: cue.zone.as_str(),
            clip: Some(cue.clip.as_str()),
            language: Some(cue.language.as_str()),
            priority: Some(cue.priority),
            slot: cue.slot.as_deref(),
            scheduled: cue.at,
            outcome: None,
            detail: detail.cloned(),
        };
        row.insert(&self.conn).map_err(|e| self.err("record_cue", e))
    }

    /// Records a cue no slot made that will not air (a broadcast's village with nothing it can
    /// hear: no variant, quiet hours…), once, with its final `outcome` and `detail`. `clip` and
    /// `language` when one was chosen.
    pub fn record_not_aired(&self, row: &NotAired) -> Result<bool, StoreError> {
        let r = NewRow {
            cue: row.cue,
            village: row.village.as_str(),
            zone: row.zone.as_str(),
            clip: row.clip.as_ref().map(ClipId::as_str),
            language: row.language.as_ref().map(Language::as_str),
            priority: Some(row.priority),
            slot: None,
            scheduled: row.at,
            outcome: Some(row.outcome),
            detail: Some(row.detail.clone()),
        };
        r.insert(&self.conn).map_err(|e| self.err("record_not_aired", e))
    }

    /// Records that a planned cue started at `at`. `late_by`: how late it started (`None` when on
    /// time); a late start is recorded as outcome `late`. `Ok(false)` (nothing changed) when the
    /// cue is unknown, already started, or already final.
    pub fn mark_started(&self, id: CueId, at: DateTime<Utc>, late_by: Option<Duration>) -> Result<bool, StoreError> {
        let late = late_by.filter(|d| !d.is_zero());
        let late_ms = late.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let outcome = late.map(|_| AsRunOutcome::Late.name());
        self.conn
            .prepare_cached(
                "UPDATE as_run SET started = ?2, late_ms = ?3, outcome = ?4
                 WHERE cue = ?1 AND started IS NULL AND outcome IS NULL",
            )
            .and_then(|mut s| s.execute(params![key(id), stamp(at), late_ms, outcome]))
            .map(|n| n == 1)
            .map_err(|e| self.err("mark_started", e))
    }

    /// Records that a started cue ended at `at`, and how (`played`, `resumed`, `preempted`,
    /// `stopped`, `failed-output`…); the row is then final. `played` for a cue that started late
    /// is stored as `late`, so the log keeps saying so. `Ok(false)` when the cue is unknown, has
    /// not started, has already ended, or `outcome` is one that never airs (`missed`, `skipped-…`,
    /// `no-variant`).
    pub fn mark_ended(&self, id: CueId, at: DateTime<Utc>, outcome: AsRunOutcome) -> Result<bool, StoreError> {
        if outcome.needs_start() == Some(false) {
            return Ok(false);
        }
        self.conn
            .prepare_cached(&format!(
                "UPDATE as_run SET ended = ?2,
                     outcome = CASE WHEN ?3 = 'played' AND late_ms IS NOT NULL THEN 'late' ELSE ?3 END
                 WHERE cue = ?1 AND {ON_AIR}"
            ))
            .and_then(|mut s| s.execute(params![key(id), stamp(at), outcome.name()]))
            .map(|n| n == 1)
            .map_err(|e| self.err("mark_ended", e))
    }

    /// Sets the outcome of a cue that is not final, and its detail when `detail` is given (the
    /// detail is kept otherwise): `preempted` / `resumed` / `failed-output` while on air; `missed`,
    /// `stopped` or `failed-output` for one that never started (the row is then final).
    /// `Ok(false)` when the cue is unknown or final, or the outcome does not fit it (`missed` for a
    /// cue that started, `preempted` for one that has not).
    pub fn mark_outcome(&self, id: CueId, outcome: AsRunOutcome, detail: Option<&Text>) -> Result<bool, StoreError> {
        let fits = match outcome.needs_start() {
            Some(true) => ON_AIR,
            Some(false) => "started IS NULL AND outcome IS NULL",
            None => OPEN,
        };
        let sql = format!(
            "UPDATE as_run SET outcome = ?2, detail = coalesce(?3, detail), detail_zh = CASE WHEN ?3 IS NULL \
             THEN detail_zh ELSE ?4 END WHERE cue = ?1 AND {fits}"
        );
        let (en, zh) = (detail.map(|d| d.en.as_str()), detail.map(|d| d.zh.as_str()));
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.execute(params![key(id), outcome.name(), en, zh]))
            .map(|n| n == 1)
            .map_err(|e| self.err("mark_outcome", e))
    }

    /// Records what the line's capture tap heard during cue `id` (it must have started). A later
    /// verdict replaces an earlier one. `Ok(false)` when the cue is unknown or never started.
    pub fn mark_heard(&self, id: CueId, note: &HeardNote) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE as_run SET heard = ?2, heard_level = ?3, heard_delay_ms = ?4, heard_detail = ?5,
                 heard_detail_zh = ?6 WHERE cue = ?1 AND started IS NOT NULL",
            )
            .and_then(|mut s| {
                s.execute(params![
                    key(id),
                    note.heard.as_str(),
                    note.level_dbfs,
                    note.delay_ms,
                    note.detail.en,
                    note.detail.zh
                ])
            })
            .map(|n| n == 1)
            .map_err(|e| self.err("mark_heard", e))
    }

    /// Per village, when its last line test (slot `slot`) that came back `yes` started (an
    /// index keeps this to the passed tests).
    pub fn last_good(&self, slot: &str) -> Result<Vec<(VillageId, DateTime<Utc>)>, StoreError> {
        let mut out = Vec::new();
        let rows: Vec<(String, String)> = self
            .conn
            .prepare_cached(
                "SELECT village, max(started) FROM as_run WHERE slot = ?1 AND heard = 'yes' GROUP BY village",
            )
            .and_then(|mut s| s.query_map([slot], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?.collect())
            .map_err(|e| self.err("last_good", e))?;
        for (v, at) in rows {
            if let (Ok(v), Some(at)) = (VillageId::new(&v), parse_stamp(&at)) {
                out.push((v, at));
            }
        }
        Ok(out)
    }

    /// True when the cue has started (so a restarted station must not play it again); false when
    /// it has not, or is not in the log.
    pub fn has_started(&self, id: CueId) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("SELECT started IS NOT NULL FROM as_run WHERE cue = ?1")
            .and_then(|mut s| s.query_row([key(id)], |r| r.get::<_, bool>(0)).optional())
            .map(|b| b.unwrap_or(false))
            .map_err(|e| self.err("has_started", e))
    }

    /// The row of cue `id`, if it is in the log.
    pub fn get(&self, id: CueId) -> Result<Option<AsRunRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM as_run WHERE cue = ?1");
        let raw = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row([key(id)], Raw::read).optional())
            .map_err(|e| self.err("get", e))?;
        raw.map(|r| r.into_row(self)).transpose()
    }

    /// Cues scheduled before `before` that are not final: planned but never started, and started
    /// but never ended (the station stopped while they were on air), in [`Store::query`] order.
    /// What they become (late, missed, stopped) is the caller's decision.
    pub fn unfinished(&self, before: DateTime<Utc>) -> Result<Vec<AsRunRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM as_run WHERE {OPEN} AND scheduled < ?1 {ORDER}");
        self.select("unfinished", &sql, &[&stamp(before)])
    }

    /// The rows `filter` selects, ordered by scheduled instant, then cue id.
    pub fn query(&self, filter: &Filter) -> Result<Vec<AsRunRow>, StoreError> {
        let mut conditions = Vec::new();
        let mut args: Vec<Box<dyn ToSql>> = Vec::new();
        if let Some(v) = &filter.village {
            args.push(Box::new(v.as_str().to_owned()));
            conditions.push(format!("village = ?{}", args.len()));
        }
        if let Some(t) = filter.since {
            args.push(Box::new(stamp(t)));
            conditions.push(format!("scheduled >= ?{}", args.len()));
        }
        if let Some(t) = filter.until {
            args.push(Box::new(stamp(t)));
            conditions.push(format!("scheduled < ?{}", args.len()));
        }
        let mut sql = format!("SELECT {COLUMNS} FROM as_run");
        if !conditions.is_empty() {
            sql = format!("{sql} WHERE {}", conditions.join(" AND "));
        }
        sql = format!("{sql} {ORDER}");
        if let Some(n) = filter.limit {
            args.push(Box::new(i64::try_from(n).unwrap_or(i64::MAX)));
            sql = format!("{sql} LIMIT ?{}", args.len());
        }
        let refs: Vec<&dyn ToSql> = args.iter().map(|a| a.as_ref()).collect();
        self.select("query", &sql, &refs)
    }

    /// Every village that has a row, sorted.
    pub fn villages(&self) -> Result<Vec<VillageId>, StoreError> {
        let names: Vec<String> = self
            .conn
            .prepare_cached("SELECT DISTINCT village FROM as_run ORDER BY village")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(|e| self.err("villages", e))?;
        names.iter().map(|n| VillageId::new(n).map_err(|e| self.corrupt(format!("a row's village: {e}")))).collect()
    }

    fn select(&self, what: &'static str, sql: &str, args: &[&dyn ToSql]) -> Result<Vec<AsRunRow>, StoreError> {
        let raws: Vec<Raw> = self
            .conn
            .prepare_cached(sql)
            .and_then(|mut s| s.query_map(params_from_iter(args.iter()), Raw::read)?.collect())
            .map_err(|e| self.err(what, e))?;
        raws.into_iter().map(|r| r.into_row(self)).collect()
    }

    fn corrupt(&self, detail: String) -> StoreError {
        StoreError::Corrupt { path: self.path.clone(), detail }
    }
}

/// A row to insert.
struct NewRow<'a> {
    cue: CueId,
    village: &'a str,
    zone: &'a str,
    clip: Option<&'a str>,
    language: Option<&'a str>,
    priority: Option<Priority>,
    slot: Option<&'a str>,
    scheduled: DateTime<Utc>,
    outcome: Option<AsRunOutcome>,
    detail: Option<Text>,
}

impl NewRow<'_> {
    /// Inserts the row unless the cue is already there; true when it was new.
    fn insert(&self, conn: &rusqlite::Connection) -> rusqlite::Result<bool> {
        let mut stmt = conn.prepare_cached(
            "INSERT INTO as_run (cue, village, zone, clip, language, priority, slot, scheduled, outcome, detail,
             detail_zh) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (cue) DO NOTHING",
        )?;
        let n = stmt.execute(params![
            key(self.cue),
            self.village,
            self.zone,
            self.clip,
            self.language,
            self.priority.map(Priority::name),
            self.slot,
            stamp(self.scheduled),
            self.outcome.map(AsRunOutcome::name),
            self.detail.as_ref().map(|d| d.en.as_str()),
            self.detail.as_ref().map(|d| d.zh.as_str()),
        ])?;
        Ok(n == 1)
    }
}

fn insert(conn: &rusqlite::Connection, p: &Planned) -> rusqlite::Result<bool> {
    let (mut detail, mut zh) = (Vec::new(), Vec::new());
    match &p.outcome {
        Outcome::NoVariant { message } => {
            detail.push(format!("message {message}"));
            zh.push(format!("消息 {message}"));
        }
        Outcome::Deferred { from } => {
            detail.push(format!("deferred from {}", stamp(*from)));
            zh.push(format!("从 {} 推迟", stamp(*from)));
        }
        _ => {}
    }
    if let Some(why) = &p.chime_missing {
        detail.push(format!("chime not played: {}", why.name()));
        zh.push(format!("提示音没有播：{}", why.name()));
    }
    let cue = p.cue.as_ref();
    NewRow {
        cue: p.id,
        village: p.village.as_str(),
        zone: p.zone.as_str(),
        clip: cue.map(|c| c.clip.as_str()),
        language: cue.map(|c| c.language.as_str()),
        priority: cue.map(|c| c.priority),
        slot: Some(&p.slot),
        scheduled: p.at,
        outcome: AsRunOutcome::of_planned(&p.outcome),
        detail: (!detail.is_empty()).then(|| Text::new(detail.join("; "), zh.join("；"))),
    }
    .insert(conn)
}

/// A row as stored, before its text is checked.
struct Raw {
    cue: i64,
    village: String,
    zone: String,
    clip: Option<String>,
    language: Option<String>,
    priority: Option<String>,
    slot: Option<String>,
    scheduled: String,
    started: Option<String>,
    ended: Option<String>,
    late_ms: Option<i64>,
    outcome: Option<String>,
    detail: Option<String>,
    detail_zh: Option<String>,
    heard: Option<String>,
    heard_level: Option<f64>,
    heard_delay_ms: Option<i64>,
    heard_detail: Option<String>,
    heard_detail_zh: Option<String>,
}

impl Raw {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Raw> {
        Ok(Raw {
            cue: r.get(0)?,
            village: r.get(1)?,
            zone: r.get(2)?,
            clip: r.get(3)?,
            language: r.get(4)?,
            priority: r.get(5)?,
            slot: r.get(6)?,
            scheduled: r.get(7)?,
            started: r.get(8)?,
            ended: r.get(9)?,
            late_ms: r.get(10)?,
            outcome: r.get(11)?,
            detail: r.get(12)?,
            detail_zh: r.get(13)?,
            heard: r.get(14)?,
            heard_level: r.get(15)?,
            heard_delay_ms: r.get(16)?,
            heard_detail: r.get(17)?,
            heard_detail_zh: r.get(18)?,
        })
    }

    /// Checks every value; a value this build cannot read means the row was damaged or written by
    /// something else, so it is [`StoreError::Corrupt`].
    fn into_row(self, store: &Store) -> Result<AsRunRow, StoreError> {
        let cue = CueId(self.cue as u64);
        let bad = |what: &str, e: &dyn std::fmt::Display| store.corrupt(format!("cue {cue}: {what}: {e}"));
        let time = |what: &str, s: &str| parse_stamp(s).ok_or_else(|| bad(what, &format!("`{s}` is not a time")));
        let opt_time = |what: &str, s: &Option<String>| s.as_deref().map(|s| time(what, s)).transpose();
        Ok(AsRunRow {
            cue,
            village: VillageId::new(&self.village).map_err(|e| bad("village", &e))?,
            zone: ZoneId::new(&self.zone).map_err(|e| bad("zone", &e))?,
            clip: self.clip.as_deref().map(ClipId::new).transpose().map_err(|e| bad("clip", &e))?,
            language: self.language.as_deref().map(Language::new).transpose().map_err(|e| bad("language", &e))?,
            priority: self
                .priority
                .as_deref()
                .map(|p| Priority::ALL.into_iter().find(|q| q.name() == p).ok_or_else(|| bad("priority", &p)))
                .transpose()?,
            slot: self.slot,
            scheduled: time("scheduled", &self.scheduled)?,
            started: opt_time("started", &self.started)?,
            ended: opt_time("ended", &self.ended)?,
            late_by: self.late_ms.map(|ms| Duration::from_millis(ms.max(0) as u64)),
            outcome: self
                .outcome
                .as_deref()
                .map(|o| AsRunOutcome::from_name(o).ok_or_else(|| bad("outcome", &o)))
                .transpose()?,
            heard: self
                .heard
                .as_deref()
                .map(|h| {
                    let heard = Heard::from_name(h).ok_or_else(|| bad("heard", &h))?;
                    let en = self.heard_detail.unwrap_or_default();
                    let zh = self.heard_detail_zh.unwrap_or_else(|| en.clone());
                    Ok(HeardNote {
                        heard,
                        level_dbfs: self.heard_level,
                        delay_ms: self.heard_delay_ms,
                        detail: Text::new(en, zh),
                    })
                })
                .transpose()?,
            detail: self.detail,
            detail_zh: self.detail_zh,
        })
    }
}
