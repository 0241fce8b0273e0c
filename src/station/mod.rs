//! The station: what `serve` decides from moment to moment, with the clock passed in.
//!
//! [`Station`] joins the checked plan, the scheduler, the as-run log and something that plays
//! ([`Air`]: the live playout thread, or [`SimAir`], the same engine under a virtual clock). It
//! holds no thread and reads no clock: the daemon calls [`Station::tick`] every second with the
//! wall clock and feeds it the playout's events; a test calls the same methods with a virtual
//! clock and can run a month in seconds.
//!
//! # Promises
//!
//! - **Every firing is planned once, ahead.** Each tick plans the slot firings of
//!   `[planned_to, now + PLAN_AHEAD)` and writes their as-run rows together with the scheduler's
//!   state (rotation, the cursor, the cues still to play) in one SQLite transaction
//!   ([`Store::record_window`]).
//! - **Cues reach the engine [`HAND_AHEAD`] before their instant**, which the engine then hits to
//!   the sample; cues more than their slot's grace late are logged `missed` instead.
//! - **Nothing plays twice.** A cue is handed over only while its row is still planned; a start
//!   is written the moment the engine reports it. After a crash, cues that were on air are
//!   logged `stopped` and not replayed; cues that were due while the station was down play late
//!   when they are still within their slot's grace window (default 5 min), else they are `missed`.
//! - **Playout never waits for the disk.** Every write goes through the [`journal`]: while the
//!   database cannot take it (a full disk), it is held in memory, in order, and written when the
//!   disk has room again; cues keep playing, emergencies included, and health says so.
//! - **No file is opened at a cue's instant.** A cue's audio is read [`PRELOAD_AHEAD`] before its
//!   instant (and retried each tick until it is handed over); a recording that cannot be read is
//!   reported then, with the reason, not discovered when the village should be hearing it.
//! - **A reload never cuts what plays.** [`Station::set_plan`] swaps the plan for firings not yet
//!   planned (from `planned_to`, at most [`PLAN_AHEAD`] ahead: an edit is heard within seconds); cues already planned keep playing.

mod air;
mod broadcast;
mod events;
pub mod health;
mod journal;
mod line;
mod linetest;
mod metrics;
mod projection;
mod status;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use air::{Air, SimAir};
pub use broadcast::{Broadcast, BroadcastError, Targets};
pub use health::{Concern, Health, Problem};
pub use journal::{Failing, Journal};
pub use line::{LineConcern, LinePort, LineReport, LineState, NoLine};
pub use linetest::{LINE_TEST_SLOT, TONE_DBFS, TONE_SECONDS, line_test_clip};
pub use metrics::Metrics;
pub use projection::Projection;
pub use status::VillageStatus;

use crate::config::Plan;
use crate::domain::{ClipId, Cue, CueId, GainDb, Text, ZoneId};
use crate::engine::{Audio, CueCommand};
use crate::library::stream::{StreamedClip, Streamer};
use crate::library::{ClipMeta, Library};
use crate::scheduler::{self, ClipIndex, PlaylistState};
use crate::store::{AsRunOutcome, Store, StoreError};
use journal::Write;

/// How far ahead slot firings are planned (and so how soon an edit takes effect), plus the
/// longest amplifier lead-in of the profile: a cue is known at least its lead-in + 4 s ahead.
pub const PLAN_AHEAD: Duration = Duration::from_secs(10);
/// How far ahead of its instant a cue is handed to the engine.
pub const HAND_AHEAD: Duration = Duration::from_secs(5);
/// How far ahead of its instant a cue's audio is read from the library (so that no file is
/// opened when it is due, and a recording that cannot be read is reported in time).
pub const PRELOAD_AHEAD: Duration = Duration::from_secs(10);
/// Free space on the state disk below which health warns, unless the daemon says otherwise
/// ([`Station::set_disk_warning`]).
pub const DISK_LOW_BYTES: u64 = 512 * 1024 * 1024;
/// Free space below which the state disk counts as full.
pub const DISK_FULL_BYTES: u64 = 8 * 1024 * 1024;
/// How long health stays degraded after a wall-clock step (at least; longer for longer steps).
pub const CLOCK_STEP_WINDOW: Duration = Duration::from_secs(60);
/// Grace window for cues without a slot (manual plays) after a restart.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(300);
/// A cue that starts later than this after its instant is logged `late`.
pub const LATE_AFTER: Duration = Duration::from_millis(500);
/// How far back a station that was down plans the firings it missed (to log them `missed`).
pub const CATCH_UP: Duration = Duration::from_secs(7 * 24 * 3600);
/// Key of the persisted state in the store.
const STATE_KEY: &str = "serve";

/// A cue waiting for its instant, as persisted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// The cue.
    pub cue: Cue,
    /// Gain of its chime, when it has one.
    pub chime_gain: Option<GainDb>,
    /// How late it may still start after a restart.
    pub grace: Duration,
}

/// What survives a restart besides the as-run log.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Saved {
    /// Firings before this instant are planned.
    planned_to: Option<DateTime<Utc>>,
    /// Rotation (and other scheduler state).
    #[serde(default)]
    playlists: PlaylistState,
    /// Cues planned to play that have not started, by instant.
    #[serde(default)]
    pending: Vec<Pending>,
}

/// A cue on air.
#[derive(Debug, Clone)]
struct OnAir {
    cue: Cue,
    resumed: bool,
    failed: Option<String>,
    /// It started late (its row says `late`, and stays so when it plays to its end).
    late: bool,
}

/// What [`Station::recover`] found from the previous run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Cues that were on air when the station stopped: logged `stopped`, not replayed.
    pub interrupted: usize,
    /// Cues due while the station was down, still within grace: they play now, logged `late`.
    pub late: usize,
    /// Cues due while the station was down, past grace: logged `missed`.
    pub missed: usize,
}

/// The station's decisions; see the module documentation.
pub struct Station<A: Air> {
    plan: Plan,
    index: ClipIndex,
    library: Library,
    journal: Journal,
    air: A,
    saved: Saved,
    dirty: bool,
    handed: HashSet<CueId>,
    on_air: HashMap<CueId, OnAir>,
    /// Clips opened for streaming: the cues due within [`PRELOAD_AHEAD`] (header read, file open).
    audio: HashMap<ClipId, StreamedClip>,
    /// Streams the clips' audio as cues play (started with the first clip it opens).
    streamer: Option<Streamer>,
    /// Cues whose audio could not be read, with the reason (reported once each).
    unreadable: HashMap<CueId, String>,
    degraded: BTreeMap<String, String>,
    metrics: Metrics,
    health: Health,
    disk_low: u64,
    /// Manual cues handed over and not started yet.
    manual: HashMap<CueId, Cue>,
    /// Broadcasts by id: the cue on each zone.
    broadcasts: HashMap<String, Vec<(ZoneId, CueId)>>,
    broadcast_seq: u64,
    /// The village lines: amplifier power and proof of play.
    line: Box<dyn LinePort>,
}

impl<A: Air> Station<A> {
    /// A station on `plan` with the library's `clips`, writing to `store` and playing through
    /// `air`. Restores the state the previous run saved (a state this build cannot read is
    /// logged and replaced: rotation restarts, nothing is replayed).
    pub fn new(plan: Plan, clips: &[ClipMeta], library: Library, store: Store, air: A) -> Self {
        let saved = match store.load_json::<Saved>(STATE_KEY) {
            Ok(s) => s.unwrap_or_default(),
            Err(e) => {
                tracing::error!("{e}; starting with a fresh playlist rotation");
                Saved::default()
            }
        };
        let mut metrics = Metrics::default();
        for o in &plan.profile.outputs {
            metrics.outputs.insert(o.name.to_string(), true);
        }
        Self {
            index: ClipIndex::new(clips),
            plan,
            library,
            journal: Journal::new(store, STATE_KEY),
            air,
            saved,
            dirty: false,
            handed: HashSet::new(),
            on_air: HashMap::new(),
            audio: HashMap::new(),
            streamer: None,
            unreadable: HashMap::new(),
            degraded: BTreeMap::new(),
            metrics,
            health: Health::default(),
            disk_low: DISK_LOW_BYTES,
            manual: HashMap::new(),
            broadcasts: HashMap::new(),
            broadcast_seq: 0,
            line: Box::new(NoLine),
        }
    }

    /// The plan in force.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The as-run log (for reads: writes go through the journal, see [`Station::journal`]).
    pub fn store(&self) -> &Store {
        self.journal.store()
    }

    /// The writes waiting for the disk, and why.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// What is wrong now (empty when all is well).
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Raises or clears a problem the station cannot see by itself (the sound card it fell back
    /// from, a refused reload, failing imports): `None` clears it.
    pub fn set_problem(&mut self, concern: Concern, problem: Option<(String, String)>, now: DateTime<Utc>) {
        match problem {
            Some((en, zh)) => self.health.raise(concern, now, en, zh),
            None => {
                self.health.clear(&concern);
            }
        }
    }

    /// Health warns when the state disk has less than `bytes` free.
    pub fn set_disk_warning(&mut self, bytes: u64) {
        self.disk_low = bytes;
    }

    /// Records what the daemon measured of the state disk: `free` of `total` bytes. Below
    /// [`DISK_FULL_BYTES`] health says the disk is full, below the warning level
    /// ([`DISK_LOW_BYTES`] unless set otherwise) that it is nearly full; both clear when space
    /// returns.
    pub fn observe_disk(&mut self, free: u64, total: u64, now: DateTime<Utc>) {
        self.metrics.disk = Some((free, total));
        let mb = |b: u64| b / (1024 * 1024);
        if free < DISK_FULL_BYTES || self.journal.failing().is_some_and(|f| f.disk_full) {
            self.health.raise(
                Concern::DiskFull,
                now,
                format!(
                    "disk full: the state disk has {} MB free; playout goes on, the as-run log waits in memory \
                     and recordings are paused",
                    mb(free)
                ),
                format!("磁盘已满：状态盘只剩 {} MB；播出照常，播出记录暂存内存，录音暂停", mb(free)),
            );
        } else {
            self.health.clear(&Concern::DiskFull);
        }
        if free < self.disk_low && !self.health.has(&Concern::DiskFull) {
            self.health.raise(
                Concern::DiskLow,
                now,
                format!("the state disk is nearly full: {} MB free of {} MB", mb(free), mb(total)),
                format!("状态盘快满了：{} MB 中只剩 {} MB", mb(total), mb(free)),
            );
        } else {
            self.health.clear(&Concern::DiskLow);
        }
    }

    /// The player.
    pub fn air_mut(&mut self) -> &mut A {
        &mut self.air
    }

    /// The counters for `/metrics`.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Counts a reload (`ok`) or a refused one.
    pub fn count_reload(&mut self, ok: bool) {
        if ok {
            self.metrics.reloads += 1;
        } else {
            self.metrics.reloads_failed += 1;
        }
    }

    /// Settles what the previous run left unfinished, at start, before the first tick: cues on
    /// air when it stopped are logged `stopped` (never replayed); planned cues it no longer
    /// knows how to play are `missed`. Cues still pending are decided by [`Station::tick`]: late
    /// within grace, else missed.
    pub fn recover(&mut self, now: DateTime<Utc>) -> Result<Recovery, StoreError> {
        let mut r = Recovery::default();
        let pending: HashSet<CueId> = self.saved.pending.iter().map(|p| p.cue.id).collect();
        // Not only rows scheduled before now: a cue is logged started at the instant it is heard,
        // which the engine reaches a little ahead of the wall clock, so a kill right at a cue's
        // instant can leave an on-air row scheduled a few milliseconds in the future.
        let horizon = now + chrono::Duration::from_std(CATCH_UP).unwrap_or_default();
        for row in self.journal.store().unfinished(horizon)? {
            if row.started.is_some() {
                if self.outcome(
                    row.cue,
                    AsRunOutcome::Stopped,
                    Some(Text::new("the station stopped while it was on air", "播出时广播站停了")),
                    now,
                ) {
                    r.interrupted += 1;
                    self.metrics.count(&row.village, AsRunOutcome::Stopped);
                }
            } else if !pending.contains(&row.cue)
                && self.outcome(
                    row.cue,
                    AsRunOutcome::Missed,
                    Some(Text::new("the station was not running", "那时广播站没有运行")),
                    now,
                )
            {
                r.missed += 1;
                self.metrics.count(&row.village, AsRunOutcome::Missed);
            }
        }
        for p in self.saved.pending.iter().filter(|p| p.cue.at < now) {
            if now - p.cue.at <= chrono::Duration::from_std(p.grace).unwrap_or_default() {
                r.late += 1;
            } else {
                r.missed += 1;
            }
        }
        Ok(r)
    }

    /// At a clean stop, after the playout has stopped: writes what the journal still holds (as
    /// far as the disk allows) and logs the cues still on air `stopped`. Returns how many writes
    /// could not be saved (lost with the process).
    pub fn finish(&mut self, now: DateTime<Utc>) -> usize {
        self.journal.flush(now);
        let on_air: Vec<CueId> = self.on_air.keys().copied().collect();
        for id in on_air {
            self.journal.write(Write::Ended { id, at: now, outcome: AsRunOutcome::Stopped }, now);
        }
        // Rows the database knows as on air that this run never saw start (none, normally).
        if let Ok(rows) = self.journal.store().unfinished(now + chrono::Duration::days(3650)) {
            for row in rows.into_iter().filter(|r| r.started.is_some()) {
                self.journal.write(Write::Ended { id: row.cue, at: now, outcome: AsRunOutcome::Stopped }, now);
            }
        }
        if self.dirty {
            let state = self.state_json();
            self.journal.write(Write::State(state), now);
        }
        self.journal.flush(now);
        let lost = self.journal.held();
        if lost > 0 {
            tracing::error!("!!! stopping with {lost} as-run writes the disk could not take; they are lost");
        }
        lost
    }

    /// Plans what is due for planning, logs it, and hands the engine every cue starting before
    /// `now + HAND_AHEAD`. Call it about once a second.
    ///
    /// Never fails for want of disk: writes the database cannot take are held (see
    /// [`journal`]), and the cues play.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Result<(), StoreError> {
        if self.journal.held() > 0 {
            self.journal.flush(now);
        }
        // Amplifiers with a lead-in must know their cues that much earlier.
        let lead = self.plan.profile.line.power.values().filter(|p| !p.always_on).map(|p| p.lead_in).max();
        let ahead = PLAN_AHEAD + lead.unwrap_or_default();
        let horizon = now + chrono::Duration::from_std(ahead).unwrap_or_default();
        let half = chrono::Duration::from_std(PLAN_AHEAD / 2).unwrap_or_default();
        let from =
            self.saved.planned_to.unwrap_or(now).max(now - chrono::Duration::from_std(CATCH_UP).unwrap_or_default());
        if from < horizon - half {
            self.plan_line_tests(from, horizon, now);
            self.plan_window(from, horizon, now);
        }
        self.preload(now);
        self.hand_over(now);
        self.line_tick(now);
        if self.dirty {
            let state = self.state_json();
            self.journal.write(Write::State(state), now);
            self.dirty = false;
        }
        self.health.expire(now);
        self.journal_health(now);
        Ok(())
    }

    /// What the station will plan from here on (for the day picture): its rotation as it stands.
    pub fn projection(&self) -> Projection {
        Projection::of(&self.saved)
    }

    /// The saved state as JSON (it is plain data: this cannot fail).
    fn state_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.saved).unwrap_or_default()
    }

    /// Health and metrics of the journal: degraded while writes are held.
    fn journal_health(&mut self, now: DateTime<Utc>) {
        let held = self.journal.held();
        self.metrics.asrun_held = held as u64;
        match self.journal.failing() {
            Some(f) => {
                let (en, zh) = (
                    format!(
                        "the as-run log cannot be written since {} ({}); {held} writes are kept in memory and \
                         written when the disk takes them",
                        f.since.format("%H:%M:%S"),
                        f.error
                    ),
                    format!(
                        "播出记录自 {} 起无法写入磁盘；{held} 条暂存内存，磁盘恢复后补写",
                        f.since.format("%H:%M:%S")
                    ),
                );
                self.health.raise(Concern::AsRunBacklog, now, en, zh);
                if f.disk_full {
                    let free = self.metrics.disk.map_or(0, |d| d.0);
                    let total = self.metrics.disk.map_or(0, |d| d.1);
                    self.observe_disk(free, total, now);
                }
            }
            None => {
                self.health.clear(&Concern::AsRunBacklog);
            }
        }
    }

    /// Writes (or holds) an outcome; true when it changed the row or is held.
    fn outcome(&mut self, id: CueId, outcome: AsRunOutcome, detail: Option<Text>, now: DateTime<Utc>) -> bool {
        self.journal.write(Write::Outcome { id, outcome, detail }, now)
    }

    fn plan_window(&mut self, from: DateTime<Utc>, to: DateTime<Utc>, now: DateTime<Utc>) {
        let calendar = &self.plan.calendar;
        let planned = scheduler::plan_window(&self.plan, &self.index, from, to, &mut self.saved.playlists, &|d| {
            calendar.is_holiday(d)
        });
        if planned.is_empty() {
            // Nothing fired: no disk write (an idle station would otherwise sync every few seconds).
            // Planning this stretch again after a restart finds nothing again.
            self.saved.planned_to = Some(to);
            return;
        }
        let known: HashSet<CueId> = self.saved.pending.iter().map(|p| p.cue.id).collect();
        for p in &planned {
            if let Some(cue) = p.playable() {
                if known.contains(&cue.id) {
                    continue;
                }
                let grace = self.plan.slots.iter().find(|s| s.name == p.slot).map_or(DEFAULT_GRACE, |s| s.grace);
                self.saved.pending.push(Pending { cue: cue.clone(), chime_gain: p.chime_gain, grace });
            } else if let Some(o) = AsRunOutcome::of_planned(&p.outcome) {
                self.metrics.count(&p.village, o);
            }
        }
        self.saved.pending.sort_by_key(|p| p.cue.at);
        self.saved.planned_to = Some(to);
        let state = self.state_json();
        let entries = planned.len();
        self.journal.write(Write::Window { planned, state }, now);
        self.dirty = false;
        tracing::debug!(from = %from, to = %to, entries, "planned");
    }

    /// Reads the audio of every cue due within [`PRELOAD_AHEAD`] that is not read yet. A clip
    /// that cannot be read is reported at once (log and health); it is tried again each tick
    /// until the cue is handed over.
    fn preload(&mut self, now: DateTime<Utc>) {
        let until = now + chrono::Duration::from_std(PRELOAD_AHEAD).unwrap_or_default();
        let due: Vec<Cue> = self
            .saved
            .pending
            .iter()
            .take_while(|p| p.cue.at < until)
            .filter(|p| !self.handed.contains(&p.cue.id))
            .map(|p| p.cue.clone())
            .collect();
        for Cue { id, clip, chime, at, village, .. } in due {
            let read = self.audio(&clip).and_then(|_| chime.as_ref().map_or(Ok(()), |c| self.audio(c).map(|_| ())));
            match read {
                Ok(()) => {
                    self.unreadable.remove(&id);
                }
                Err(e) => {
                    let why = e.to_string();
                    if self.unreadable.get(&id) != Some(&why) {
                        tracing::error!(
                            cue = %id,
                            %village,
                            "the recording for {village} at {at} cannot be read ({why}); trying again until it is due"
                        );
                        self.health.raise_for(
                            Concern::Audio,
                            now,
                            Duration::from_secs(600),
                            format!("a recording for {village} at {} cannot be read: {why}", at.format("%H:%M:%S")),
                            format!("{village} {} 的录音无法读取：{why}", at.format("%H:%M:%S")),
                        );
                        self.unreadable.insert(id, why);
                    }
                }
            }
        }
    }

    fn hand_over(&mut self, now: DateTime<Utc>) {
        let until = now + chrono::Duration::from_std(HAND_AHEAD).unwrap_or_default();
        let due: Vec<Pending> = self
            .saved
            .pending
            .iter()
            .take_while(|p| p.cue.at < until)
            .filter(|p| !self.handed.contains(&p.cue.id))
            .cloned()
            .collect();
        for p in due {
            let id = p.cue.id;
            if !self.journal.is_waiting(id) {
                // Started or decided already (a restart, an operator's stop): never again.
                self.forget(id);
                continue;
            }
            let late = (now - p.cue.at).to_std().unwrap_or_default();
            if late > p.grace {
                let detail = Text::new(
                    format!("due {}, the station could not play it within the slot's grace", p.cue.at),
                    format!("应在 {} 播出，广播站没能在这个播放时间的宽限内播", p.cue.at),
                );
                if self.outcome(id, AsRunOutcome::Missed, Some(detail), now) {
                    self.metrics.count(&p.cue.village, AsRunOutcome::Missed);
                }
                self.forget(id);
                continue;
            }
            match self.command(&p) {
                Ok(cmd) => {
                    self.air.cue(cmd, p.cue.at);
                    self.handed.insert(id);
                    self.unreadable.remove(&id);
                }
                Err(e) => {
                    let detail = Text::new(
                        format!("its recording {} could not be read: {e}", p.cue.clip),
                        format!("它的录音 {} 读不出来：{e}", p.cue.clip),
                    );
                    tracing::error!(cue = %id, "{}", detail.en);
                    if self.outcome(id, AsRunOutcome::Missed, Some(detail), now) {
                        self.metrics.count(&p.cue.village, AsRunOutcome::Missed);
                    }
                    self.unreadable.remove(&id);
                    self.forget(id);
                }
            }
        }
    }

    /// Drops a cue from the waiting list.
    fn forget(&mut self, id: CueId) {
        self.saved.pending.retain(|p| p.cue.id != id);
        self.handed.remove(&id);
        self.dirty = true;
    }

    fn audio(&mut self, id: &ClipId) -> std::io::Result<Audio> {
        if *id == line_test_clip() {
            return Ok(linetest::tone());
        }
        if let Some(a) = self.audio.get(id) {
            return Ok(a.audio());
        }
        let streamer = match &self.streamer {
            Some(s) => s,
            None => {
                let s = if self.air.waits_for_audio() { Streamer::waiting() } else { Streamer::live() }?;
                self.streamer.insert(s)
            }
        };
        let a = streamer.open(&self.library.canonical_path(id))?;
        let audio = a.audio();
        self.audio.insert(id.clone(), a);
        Ok(audio)
    }

    /// Forgets the clips no waiting cue needs (the engine keeps its own reference while it
    /// plays).
    fn prune_audio(&mut self) {
        let wanted: HashSet<&ClipId> = self
            .saved
            .pending
            .iter()
            .map(|p| &p.cue)
            .chain(self.manual.values())
            .flat_map(|c| std::iter::once(&c.clip).chain(c.chime.as_ref()))
            .collect();
        self.audio.retain(|id, _| wanted.contains(id));
    }

    fn command(&mut self, p: &Pending) -> std::io::Result<CueCommand> {
        let chime = match (&p.cue.chime, p.chime_gain) {
            (Some(c), Some(g)) => Some((self.audio(c)?, g)),
            _ => None,
        };
        Ok(CueCommand {
            id: p.cue.id,
            zone: p.cue.zone.clone(),
            audio: self.audio(&p.cue.clip)?,
            gain: p.cue.gain,
            chime,
            priority: p.cue.priority,
            start: 0,
        })
    }

    /// Switches to a newly checked plan for the firings not yet planned. The hardware profile of
    /// a running station cannot change (its outputs are open): a plan for another profile keeps
    /// the running one's wiring, and the caller is told so by the returned `false`.
    pub fn set_plan(&mut self, mut plan: Plan, clips: &[ClipMeta]) -> bool {
        let same_profile = plan.profile.name == self.plan.profile.name;
        if !same_profile {
            plan.profile = self.plan.profile.clone();
        } else if plan.profile.line != self.plan.profile.line {
            // The relays and taps are open with the wiring they started with.
            tracing::warn!(
                "the amplifier relays or capture taps of profile {} changed: restart xiangyin to use the new \
                 wiring; the running one stays until then",
                plan.profile.name
            );
            plan.profile.line = self.plan.profile.line.clone();
        }
        self.plan = plan;
        self.index = ClipIndex::new(clips);
        self.prune_audio();
        same_profile
    }

    /// The next cue waiting to start, if any.
    pub fn next_cue(&self) -> Option<&Cue> {
        self.saved.pending.first().map(|p| &p.cue)
    }

    /// How many cues are on air.
    pub fn on_air_count(&self) -> usize {
        self.on_air.len()
    }
}

#[cfg(test)]
#[path = "tests_broadcast.rs"]
mod tests_broadcast;
