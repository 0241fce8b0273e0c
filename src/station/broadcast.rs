//! "Broadcast now": an operator's manual or emergency play to villages, townships, grids or all.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::journal::Write;
use super::{Air, OnAir, Station};
use crate::config::ItemRef;
use crate::domain::{Cue, CueId, Priority, TimeOfDay, VillageId, ZoneId};
use crate::engine::CueCommand;
use crate::scheduler::Variant;

/// Who hears a broadcast. Empty lists and `all: false` target nobody.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Village ids.
    #[serde(default)]
    pub villages: Vec<String>,
    /// Township names.
    #[serde(default)]
    pub townships: Vec<String>,
    /// Grid ids.
    #[serde(default)]
    pub grids: Vec<String>,
    /// Every village.
    #[serde(default)]
    pub all: bool,
}

/// One broadcast as started.
#[derive(Debug, Clone, Serialize)]
pub struct Broadcast {
    /// Its id (stop it with [`Station::stop_broadcast`]).
    pub id: String,
    /// The cues handed to the engine, one per village that has something to hear.
    pub cues: Vec<Cue>,
    /// Villages that hear nothing, and why (no approved variant in their languages).
    pub skipped: Vec<(VillageId, String)>,
}

/// Why a broadcast was refused (nothing was played).
#[derive(Debug, thiserror::Error)]
pub enum BroadcastError {
    /// A target names no village, township or grid of the station.
    #[error("{0}")]
    UnknownTarget(String),
    /// The targets reach no village.
    #[error("choose at least one village, township or grid, or all")]
    NoTargets,
    /// Only manual and emergency are for broadcasting now.
    #[error("a broadcast is manual or emergency, not {0}")]
    Priority(Priority),
    /// No targeted village has a variant to hear.
    #[error("no targeted village has an approved recording of {0} in its languages")]
    NothingToPlay(String),
    /// The clip's audio could not be read.
    #[error("the recording {0} could not be read: {1}")]
    Audio(String, std::io::Error),
}

impl<A: Air> Station<A> {
    /// The villages `targets` reach, in villages.yaml order; a name that matches nothing is an error.
    pub fn resolve_targets(&self, targets: &Targets) -> Result<Vec<VillageId>, BroadcastError> {
        let vs = &self.plan.villages;
        let mut unknown = Vec::new();
        for v in &targets.villages {
            if !vs.iter().any(|x| x.id.as_str() == v) {
                unknown.push(format!("village `{v}`"));
            }
        }
        for t in &targets.townships {
            if !vs.iter().any(|x| &x.township == t) {
                unknown.push(format!("township `{t}`"));
            }
        }
        for g in &targets.grids {
            if !vs.iter().any(|x| x.grids.contains(g)) {
                unknown.push(format!("grid `{g}`"));
            }
        }
        if !unknown.is_empty() {
            return Err(BroadcastError::UnknownTarget(format!("the station has no {}", unknown.join(", no "))));
        }
        let chosen: Vec<VillageId> = vs
            .iter()
            .filter(|x| {
                targets.all
                    || targets.villages.iter().any(|v| v == x.id.as_str())
                    || targets.townships.contains(&x.township)
                    || x.grids.iter().any(|g| targets.grids.contains(g))
            })
            .map(|x| x.id.clone())
            .collect();
        if chosen.is_empty() { Err(BroadcastError::NoTargets) } else { Ok(chosen) }
    }

    /// Plays `item` now on every targeted village, each in its own language (the first approved
    /// variant in its language order, then the station default). Manual plays at the village's
    /// volume for the time of day; emergency at full level, through quiet hours, preempting all.
    /// Every cue goes into the as-run log (`slot` empty).
    pub fn broadcast(
        &mut self,
        targets: &Targets,
        item: &ItemRef,
        priority: Priority,
        now: DateTime<Utc>,
    ) -> Result<Broadcast, BroadcastError> {
        if !matches!(priority, Priority::Manual | Priority::Emergency) {
            return Err(BroadcastError::Priority(priority));
        }
        let villages = self.resolve_targets(targets)?;
        self.broadcast_seq += 1;
        let id = format!("b{}-{}", now.timestamp_millis(), self.broadcast_seq);
        let tz = self.plan.station.timezone;
        let local = now.with_timezone(&tz);
        let mut chosen = Vec::new();
        let mut skipped = Vec::new();
        for vid in &villages {
            let village = self.plan.village(vid).expect("resolved from the plan");
            match self.index.resolve(item, village, &self.plan.station, local.date_naive()) {
                Variant::Playable(clip) => {
                    let mut gain = clip.loudness.gain(&self.plan.station.loudness);
                    if priority == Priority::Manual {
                        gain = gain + village.volume_at(TimeOfDay::of(&local));
                    }
                    let cue = Cue {
                        id: broadcast_cue_id(&id, vid),
                        village: vid.clone(),
                        zone: village.zone.clone(),
                        clip: clip.id.clone(),
                        language: clip.language.clone(),
                        priority,
                        at: now,
                        gain,
                        chime: None,
                        slot: None,
                    };
                    chosen.push(cue);
                }
                Variant::Expired(c) => skipped.push((vid.clone(), format!("its recording {} has expired", c.id))),
                Variant::None => {
                    skipped.push((vid.clone(), format!("no approved recording of {item} in its languages")))
                }
            }
        }
        if chosen.is_empty() {
            return Err(BroadcastError::NothingToPlay(item.to_string()));
        }
        let mut commands = Vec::new();
        for cue in &chosen {
            let audio = self.audio(&cue.clip).map_err(|e| BroadcastError::Audio(cue.clip.to_string(), e))?;
            commands.push(CueCommand {
                id: cue.id,
                zone: cue.zone.clone(),
                audio,
                gain: cue.gain,
                chime: None,
                priority,
                start: 0,
            });
        }
        // The log never holds up a broadcast: a row the disk cannot take waits in the journal.
        for (cue, cmd) in chosen.iter().zip(commands) {
            self.journal.write(Write::Cue(cue.clone()), now);
            self.manual.insert(cue.id, cue.clone());
            self.air.cue_now(cmd);
        }
        let zones: Vec<(ZoneId, CueId)> = chosen.iter().map(|c| (c.zone.clone(), c.id)).collect();
        self.broadcasts.insert(id.clone(), zones);
        tracing::info!(broadcast = %id, %item, priority = priority.name(), villages = chosen.len(), "broadcast now");
        Ok(Broadcast { id, cues: chosen, skipped })
    }

    /// Stops a broadcast on every village still hearing it (fading out). False when no broadcast
    /// has that id.
    pub fn stop_broadcast(&mut self, id: &str) -> bool {
        let Some(zones) = self.broadcasts.remove(id) else { return false };
        for (zone, cue) in zones {
            self.air.stop(&zone, cue);
        }
        true
    }

    /// A manual cue the engine reports started: on air from now on.
    pub(super) fn manual_started(&mut self, id: CueId) -> bool {
        match self.manual.remove(&id) {
            Some(cue) => {
                self.on_air.insert(id, OnAir { cue, resumed: false, failed: None, late: false });
                true
            }
            None => false,
        }
    }

    /// Forgets a finished cue of a broadcast; a broadcast whose cues have all finished is gone.
    pub(super) fn broadcast_cue_done(&mut self, id: CueId) {
        self.manual.remove(&id);
        self.broadcasts.retain(|_, cues| {
            cues.retain(|(_, c)| *c != id);
            !cues.is_empty()
        });
    }

    /// Villages of a broadcast id (for tests and the UI).
    pub fn broadcast_villages(&self, id: &str) -> BTreeSet<ZoneId> {
        self.broadcasts.get(id).map(|z| z.iter().map(|(z, _)| z.clone()).collect()).unwrap_or_default()
    }
}

/// A stable id for the cue of broadcast `id` in village `v` (FNV-1a 64).
fn broadcast_cue_id(id: &str, v: &VillageId) -> CueId {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes().chain([0u8]).chain(v.as_str().bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    CueId(h)
}
