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
//! - **A reload never cuts what plays.** [`Station::set_plan`] swaps the plan for firings not yet
//!   planned (from `planned_to`, at most [`PLAN_AHEAD`] ahead: an edit is heard within seconds); cues already planned keep playing.

mod air;
mod broadcast;
mod metrics;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use air::{Air, SimAir};
pub use broadcast::{Broadcast, BroadcastError, Targets};
pub use metrics::Metrics;

use crate::config::Plan;
use crate::domain::{ClipId, Cue, CueId, GainDb, VillageId, ZoneId};
use crate::engine::{CueCommand, EventKind};
use crate::library::{ClipMeta, Library};
use crate::playout::PlayoutEvent;
use crate::scheduler::{self, ClipIndex, PlaylistState};
use crate::store::{AsRunOutcome, Store, StoreError};

/// How far ahead slot firings are planned (and so how soon an edit takes effect).
pub const PLAN_AHEAD: Duration = Duration::from_secs(10);
/// How far ahead of its instant a cue is handed to the engine.
pub const HAND_AHEAD: Duration = Duration::from_secs(5);
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

/// One village as the dashboard shows it.
#[derive(Debug, Clone, Serialize)]
pub struct VillageStatus {
    /// Village id.
    pub village: VillageId,
    /// Display name.
    pub name: String,
    /// Its zone.
    pub zone: ZoneId,
    /// The cue on air, if any.
    pub now_playing: Option<Cue>,
    /// The next cue waiting (planned: within the next few seconds, or deferred).
    pub next: Option<Cue>,
    /// The next firing of a slot that reaches the village (its date window honoured; holidays
    /// and quiet hours may still skip it), with the slot's name.
    pub next_slot: Option<(DateTime<Utc>, String)>,
    /// Name of the output feeding the zone (the first, when several do).
    pub output: String,
    /// False while that output is degraded.
    pub output_up: bool,
}

/// The station's decisions; see the module documentation.
pub struct Station<A: Air> {
    plan: Plan,
    index: ClipIndex,
    library: Library,
    store: Store,
    air: A,
    saved: Saved,
    dirty: bool,
    handed: HashSet<CueId>,
    on_air: HashMap<CueId, OnAir>,
    audio: HashMap<ClipId, Arc<[f32]>>,
    degraded: BTreeMap<String, String>,
    metrics: Metrics,
    /// Manual cues handed over and not started yet.
    manual: HashMap<CueId, Cue>,
    /// Broadcasts by id: the cue on each zone.
    broadcasts: HashMap<String, Vec<(ZoneId, CueId)>>,
    broadcast_seq: u64,
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
            store,
            air,
            saved,
            dirty: false,
            handed: HashSet::new(),
            on_air: HashMap::new(),
            audio: HashMap::new(),
            degraded: BTreeMap::new(),
            metrics,
            manual: HashMap::new(),
            broadcasts: HashMap::new(),
            broadcast_seq: 0,
        }
    }

    /// The plan in force.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The as-run log.
    pub fn store(&self) -> &Store {
        &self.store
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
        for row in self.store.unfinished(horizon)? {
            if row.started.is_some() {
                if self.store.mark_outcome(
                    row.cue,
                    AsRunOutcome::Stopped,
                    Some("the station stopped while it was on air"),
                )? {
                    r.interrupted += 1;
                    self.metrics.count(&row.village, AsRunOutcome::Stopped);
                }
            } else if !pending.contains(&row.cue)
                && self.store.mark_outcome(row.cue, AsRunOutcome::Missed, Some("the station was not running"))?
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

    /// Plans what is due for planning, logs it, and hands the engine every cue starting before
    /// `now + HAND_AHEAD`. Call it about once a second.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let horizon = now + chrono::Duration::from_std(PLAN_AHEAD).unwrap_or_default();
        let half = chrono::Duration::from_std(PLAN_AHEAD / 2).unwrap_or_default();
        let from =
            self.saved.planned_to.unwrap_or(now).max(now - chrono::Duration::from_std(CATCH_UP).unwrap_or_default());
        if from < horizon - half {
            self.plan_window(from, horizon)?;
        }
        self.hand_over(now)?;
        if self.dirty {
            self.store.save_json(STATE_KEY, &self.saved)?;
            self.dirty = false;
        }
        Ok(())
    }

    fn plan_window(&mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(), StoreError> {
        let calendar = &self.plan.calendar;
        let planned = scheduler::plan_window(&self.plan, &self.index, from, to, &mut self.saved.playlists, &|d| {
            calendar.is_holiday(d)
        });
        if planned.is_empty() {
            // Nothing fired: no disk write (an idle station would otherwise sync every few seconds).
            // Planning this stretch again after a restart finds nothing again.
            self.saved.planned_to = Some(to);
            return Ok(());
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
        let new = self.store.record_window(&planned, STATE_KEY, &self.saved)?;
        self.dirty = false;
        if new > 0 {
            tracing::debug!(from = %from, to = %to, new, "planned");
        }
        Ok(())
    }

    fn hand_over(&mut self, now: DateTime<Utc>) -> Result<(), StoreError> {
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
            let row = self.store.get(id)?;
            let waiting = row.as_ref().is_some_and(|r| r.started.is_none() && r.outcome.is_none());
            if !waiting {
                // Started or decided already (a restart, an operator's stop): never again.
                self.forget(id);
                continue;
            }
            let late = (now - p.cue.at).to_std().unwrap_or_default();
            if late > p.grace {
                let detail = format!("due {}, the station could not play it within the slot's grace", p.cue.at);
                if self.store.mark_outcome(id, AsRunOutcome::Missed, Some(&detail))? {
                    self.metrics.count(&p.cue.village, AsRunOutcome::Missed);
                }
                self.forget(id);
                continue;
            }
            match self.command(&p) {
                Ok(cmd) => {
                    self.air.cue(cmd, p.cue.at);
                    self.handed.insert(id);
                }
                Err(e) => {
                    let detail = format!("clip {} could not be read: {e}", p.cue.clip);
                    tracing::error!(cue = %id, "{detail}");
                    if self.store.mark_outcome(id, AsRunOutcome::Missed, Some(&detail))? {
                        self.metrics.count(&p.cue.village, AsRunOutcome::Missed);
                    }
                    self.forget(id);
                }
            }
        }
        Ok(())
    }

    /// Drops a cue from the waiting list.
    fn forget(&mut self, id: CueId) {
        self.saved.pending.retain(|p| p.cue.id != id);
        self.handed.remove(&id);
        self.dirty = true;
    }

    fn audio(&mut self, id: &ClipId) -> std::io::Result<Arc<[f32]>> {
        if let Some(a) = self.audio.get(id) {
            return Ok(a.clone());
        }
        let a = self.library.load_canonical(id)?;
        self.audio.insert(id.clone(), a.clone());
        Ok(a)
    }

    /// Drops decoded audio no waiting cue needs (a long clip is hundreds of MB decoded; the engine
    /// keeps its own reference while it plays).
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

    /// Records what the player reports.
    pub fn on_event(&mut self, ev: PlayoutEvent) -> Result<(), StoreError> {
        match ev {
            PlayoutEvent::Cue { event, at } => match event.kind {
                EventKind::Started(id) => self.started(id, at)?,
                EventKind::Preempted(id) => {
                    self.store.mark_outcome(id, AsRunOutcome::Preempted, None)?;
                }
                EventKind::Resumed(id) => {
                    self.store.mark_outcome(id, AsRunOutcome::Resumed, None)?;
                    if let Some(o) = self.on_air.get_mut(&id) {
                        o.resumed = true;
                    }
                }
                EventKind::Ended(id) => {
                    self.broadcast_cue_done(id);
                    self.prune_audio();
                    let (outcome, village) = match self.on_air.remove(&id) {
                        Some(OnAir { failed: Some(_), cue, .. }) => (AsRunOutcome::FailedOutput, Some(cue.village)),
                        Some(OnAir { resumed: true, cue, .. }) => (AsRunOutcome::Resumed, Some(cue.village)),
                        Some(OnAir { cue, .. }) => (AsRunOutcome::Played, Some(cue.village)),
                        None => (AsRunOutcome::Played, None),
                    };
                    if self.store.mark_ended(id, at, outcome)?
                        && let (Some(v), Some(row)) = (village, self.store.get(id)?)
                    {
                        self.metrics.count(&v, row.outcome.unwrap_or(outcome));
                    }
                }
                EventKind::Stopped(id) => {
                    self.broadcast_cue_done(id);
                    self.prune_audio();
                    let village = self.on_air.remove(&id).map(|o| o.cue.village);
                    let done = self.store.mark_ended(id, at, AsRunOutcome::Stopped)?
                        || self.store.mark_outcome(id, AsRunOutcome::Stopped, Some("stopped before it started"))?;
                    self.forget(id);
                    if let (true, Some(v)) = (done, village) {
                        self.metrics.count(&v, AsRunOutcome::Stopped);
                    }
                }
            },
            PlayoutEvent::Late { id, by } => {
                tracing::info!(cue = %id, late_ms = by.as_millis() as u64, "cue starts late")
            }
            PlayoutEvent::Refused { id, why } => {
                tracing::error!(cue = %id, "the engine refused a cue: {why}");
                self.store.mark_outcome(id, AsRunOutcome::FailedOutput, Some(&why))?;
                self.forget(id);
            }
            PlayoutEvent::OutputDegraded { output, reason } => {
                tracing::error!(output, "output degraded: {reason}");
                self.metrics.outputs.insert(output.clone(), false);
                let zones = self.zones_of(&output);
                let detail = format!("output {output}: {reason}");
                for (id, o) in &mut self.on_air {
                    if zones.contains(&o.cue.zone) && o.failed.is_none() {
                        o.failed = Some(detail.clone());
                        self.store.mark_outcome(*id, AsRunOutcome::FailedOutput, Some(&detail))?;
                    }
                }
                self.degraded.insert(output, reason);
            }
            PlayoutEvent::OutputRecovered { output } => {
                tracing::info!(output, "output plays again");
                self.metrics.outputs.insert(output.clone(), true);
                self.degraded.remove(&output);
            }
            PlayoutEvent::Underruns { output, total } => {
                tracing::warn!(output, total, "output underrun");
                self.metrics.underruns.insert(output, total);
            }
        }
        Ok(())
    }

    fn started(&mut self, id: CueId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let Some(pos) = self.saved.pending.iter().position(|p| p.cue.id == id) else {
            // A manual cue (on air from now), or one a reload forgot: log the start.
            self.manual_started(id);
            self.store.mark_started(id, at, None)?;
            return Ok(());
        };
        let p = self.saved.pending.remove(pos);
        self.handed.remove(&id);
        self.dirty = true;
        let late = (at - p.cue.at).to_std().ok().filter(|d| *d > LATE_AFTER);
        self.store.mark_started(id, at, late)?;
        let failed = self.degraded_output_of(&p.cue.zone);
        if let Some(detail) = &failed {
            self.store.mark_outcome(id, AsRunOutcome::FailedOutput, Some(detail))?;
        }
        self.on_air.insert(id, OnAir { cue: p.cue, resumed: false, failed });
        Ok(())
    }

    /// The zones an output feeds.
    fn zones_of(&self, output: &str) -> HashSet<ZoneId> {
        let profile = &self.plan.profile;
        profile
            .zones
            .iter()
            .filter(|(_, chans)| chans.iter().any(|c| profile.outputs[c.output].name.to_string() == output))
            .map(|(z, _)| z.clone())
            .collect()
    }

    /// "output NAME: reason" when an output feeding `zone` is degraded.
    fn degraded_output_of(&self, zone: &ZoneId) -> Option<String> {
        let profile = &self.plan.profile;
        let chans = profile.zones.get(zone)?;
        chans.iter().find_map(|c| {
            let name = profile.outputs[c.output].name.to_string();
            self.degraded.get(&name).map(|r| format!("output {name}: {r}"))
        })
    }

    /// Switches to a newly checked plan for the firings not yet planned. The hardware profile of
    /// a running station cannot change (its outputs are open): a plan for another profile keeps
    /// the running one's wiring, and the caller is told so by the returned `false`.
    pub fn set_plan(&mut self, mut plan: Plan, clips: &[ClipMeta]) -> bool {
        let same_profile = plan.profile.name == self.plan.profile.name;
        if !same_profile {
            plan.profile = self.plan.profile.clone();
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

    /// Every village: what plays, what is next, whether its output plays (next slots from now).
    pub fn status(&self) -> Vec<VillageStatus> {
        self.status_at(Utc::now())
    }

    /// [`Station::status`] with the next slot firings counted from `now`.
    pub fn status_at(&self, now: DateTime<Utc>) -> Vec<VillageStatus> {
        let profile = &self.plan.profile;
        let tz = self.plan.station.timezone;
        let after = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now).with_timezone(&tz);
        let next_of_slot: Vec<Option<DateTime<Utc>>> =
            self.plan.slots.iter().map(|s| s.next_after(tz, after).map(|t| t.with_timezone(&Utc))).collect();
        self.plan
            .villages
            .iter()
            .map(|v| {
                let output = profile
                    .zones
                    .get(&v.zone)
                    .and_then(|c| c.first())
                    .map(|c| profile.outputs[c.output].name.to_string())
                    .unwrap_or_default();
                VillageStatus {
                    village: v.id.clone(),
                    name: v.name.clone(),
                    zone: v.zone.clone(),
                    now_playing: self.on_air.values().find(|o| o.cue.village == v.id).map(|o| o.cue.clone()),
                    next: self.saved.pending.iter().find(|p| p.cue.village == v.id).map(|p| p.cue.clone()),
                    next_slot: self
                        .plan
                        .slots
                        .iter()
                        .zip(&next_of_slot)
                        .filter(|(s, _)| s.villages.contains(&v.id))
                        .filter_map(|(s, t)| t.map(|t| (t, s.name.clone())))
                        .min_by_key(|(t, _)| *t),
                    output_up: !self.degraded.contains_key(&output),
                    output,
                }
            })
            .collect()
    }
}
