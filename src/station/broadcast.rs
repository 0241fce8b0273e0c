//! "Broadcast now": an operator's manual or emergency play to villages, townships, grids or all.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::journal::Write;
use super::{Air, OnAir, Station};
use crate::config::ItemRef;
use crate::domain::{ClipId, Cue, CueId, Priority, Text, TimeOfDay, VillageId, ZoneId};
use crate::engine::CueCommand;
use crate::scheduler::Variant;
use crate::scheduler::quiet::quiet_window_at;
use crate::store::{AsRunOutcome, NotAired};

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
    /// The priority it was sent at.
    pub priority: Priority,
    /// The cues handed to the engine, one per village that has something to hear.
    pub cues: Vec<Cue>,
    /// Villages that hear nothing, and why; each has its as-run row too.
    pub skipped: Vec<Skipped>,
    /// Villages that hear it but whose loudspeakers it does not reach now (no sound card, the
    /// card feeding them down): their cue plays and is logged `failed-output`.
    pub unheard: Vec<Skipped>,
}

/// A village a broadcast does not reach, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Skipped {
    /// The village.
    pub village: VillageId,
    /// The as-run outcome it is logged with (`no-variant`, `skipped-quiet-hours`,
    /// `skipped-expired`, `failed-output`).
    pub outcome: &'static str,
    /// Why, in both languages.
    pub why: Text,
}

/// Why a broadcast was refused (nothing was played).
#[derive(Debug, thiserror::Error)]
pub enum BroadcastError {
    /// A target names no village, township or grid of the station.
    #[error("{0}")]
    UnknownTarget(Text),
    /// The targets reach no village.
    #[error("choose at least one village, township or grid, or all")]
    NoTargets,
    /// Only manual and emergency are for broadcasting now.
    #[error("a broadcast is manual or emergency, not {0}")]
    Priority(Priority),
    /// No targeted village can hear it now: each village's reason, in both languages.
    #[error("{}", .0.en)]
    NothingToPlay(Text),
    /// The clip's audio could not be read.
    #[error("the recording {0} could not be read: {1}")]
    Audio(String, std::io::Error),
}

impl crate::domain::Say for BroadcastError {
    fn zh(&self) -> String {
        match self {
            BroadcastError::UnknownTarget(t) => t.zh.clone(),
            BroadcastError::NoTargets => "请至少选一个村、乡镇或网格，或者全部".into(),
            BroadcastError::Priority(p) => format!("立即广播只能是普通或紧急，不能是 {p}"),
            BroadcastError::NothingToPlay(why) => why.zh.clone(),
            BroadcastError::Audio(clip, e) => format!("录音 {clip} 读不出来：{e}"),
        }
    }
}

impl<A: Air> Station<A> {
    /// The villages `targets` reach, in villages.yaml order; a name that matches nothing is an error.
    pub fn resolve_targets(&self, targets: &Targets) -> Result<Vec<VillageId>, BroadcastError> {
        let vs = &self.plan.villages;
        let mut unknown = Vec::new();
        let mut unknown_zh = Vec::new();
        for v in &targets.villages {
            if !vs.iter().any(|x| x.id.as_str() == v) {
                unknown.push(format!("village `{v}`"));
                unknown_zh.push(format!("村 `{v}`"));
            }
        }
        for t in &targets.townships {
            if !vs.iter().any(|x| &x.township == t) {
                unknown.push(format!("township `{t}`"));
                unknown_zh.push(format!("乡镇 `{t}`"));
            }
        }
        for g in &targets.grids {
            if !vs.iter().any(|x| x.grids.contains(g)) {
                unknown.push(format!("grid `{g}`"));
                unknown_zh.push(format!("网格 `{g}`"));
            }
        }
        if !unknown.is_empty() {
            return Err(BroadcastError::UnknownTarget(Text::new(
                format!("the station has no {}", unknown.join(", no ")),
                format!("广播站没有{}", unknown_zh.join("，也没有")),
            )));
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
        let mut skipped: Vec<Skipped> = Vec::new();
        let mut not_aired: Vec<NotAired> = Vec::new();
        let calendar = &self.plan.calendar;
        for vid in &villages {
            let village = self.plan.village(vid).expect("resolved from the plan");
            let cue_id = broadcast_cue_id(&id, vid);
            let mut skip = |outcome: AsRunOutcome, clip: Option<(&ClipId, &crate::domain::Language)>, why: Text| {
                not_aired.push(NotAired {
                    cue: cue_id,
                    village: vid.clone(),
                    zone: village.zone.clone(),
                    clip: clip.map(|c| c.0.clone()),
                    language: clip.map(|c| c.1.clone()),
                    priority,
                    at: now,
                    outcome,
                    detail: why.clone(),
                });
                skipped.push(Skipped { village: vid.clone(), outcome: outcome.name(), why });
            };
            match self.index.resolve(item, village, &self.plan.station, local.date_naive()) {
                Variant::Playable(clip) => {
                    // Only emergencies play in quiet hours (villages.yaml): a manual broadcast
                    // leaves the villages that sleep now alone, and says so.
                    if priority != Priority::Emergency
                        && let Some(w) = quiet_window_at(village, tz, now, &|d| calendar.is_holiday(d))
                    {
                        skip(
                            AsRunOutcome::SkippedQuietHours,
                            Some((&clip.id, &clip.language)),
                            Text::new(
                                format!("in its quiet hours ({w}); only an emergency plays now"),
                                format!("正在休息时段（{w}）；这时只有紧急广播会播出"),
                            ),
                        );
                        continue;
                    }
                    let mut gain = clip.loudness.gain(&self.plan.station.loudness);
                    if priority == Priority::Manual {
                        gain = gain + village.volume_at(TimeOfDay::of(&local));
                    }
                    let cue = Cue {
                        id: cue_id,
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
                Variant::Expired(c) => skip(
                    AsRunOutcome::SkippedExpired,
                    Some((&c.id, &c.language)),
                    Text::new(
                        format!("its recording {} has expired", c.id),
                        format!("它能听的录音 {} 已过最后播放日期", c.id),
                    ),
                ),
                Variant::None => skip(
                    AsRunOutcome::NoVariant,
                    None,
                    Text::new(
                        format!("no approved recording of {item} in its languages"),
                        format!("{item} 没有这个村所用语言的已批准录音"),
                    ),
                ),
            }
        }
        // The audio first: a recording that cannot be read fails the broadcast, and the villages
        // that were to hear it get `missed` rows with the reason beside the others' rows.
        let mut audio = Vec::new();
        for cue in &chosen {
            match self.audio(&cue.clip) {
                Ok(a) => audio.push(a),
                Err(e) => {
                    for c in &chosen {
                        not_aired.push(NotAired {
                            cue: c.id,
                            village: c.village.clone(),
                            zone: c.zone.clone(),
                            clip: Some(c.clip.clone()),
                            language: Some(c.language.clone()),
                            priority,
                            at: now,
                            outcome: AsRunOutcome::Missed,
                            detail: Text::new(
                                format!("the recording {} could not be read: {e}", cue.clip),
                                format!("录音 {} 读不出来：{e}", cue.clip),
                            ),
                        });
                    }
                    for n in not_aired {
                        self.journal.write(Write::NotAired(n), now);
                    }
                    return Err(BroadcastError::Audio(cue.clip.to_string(), e));
                }
            }
        }
        // Every village asked for gets its row, whatever happens next.
        for n in not_aired {
            self.journal.write(Write::NotAired(n), now);
        }
        if chosen.is_empty() {
            tracing::info!(broadcast = %id, %item, skipped = skipped.len(), "broadcast: no village can hear it");
            let name = |v: &VillageId| self.plan.village(v).map_or_else(|| v.to_string(), |x| x.name.clone());
            let en: Vec<String> = skipped.iter().map(|s| format!("{}: {}", name(&s.village), s.why.en)).collect();
            let zh: Vec<String> = skipped.iter().map(|s| format!("{}：{}", name(&s.village), s.why.zh)).collect();
            return Err(BroadcastError::NothingToPlay(Text::new(
                format!("no targeted village can hear {item} now ({})", en.join("; ")),
                format!("选中的村现在都听不到 {item}（{}）", zh.join("；")),
            )));
        }
        let mut commands = Vec::new();
        for (cue, audio) in chosen.iter().zip(audio) {
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
        let unheard: Vec<Skipped> = chosen
            .iter()
            .filter_map(|c| {
                self.zone_unheard(&c.zone).map(|why| Skipped {
                    village: c.village.clone(),
                    outcome: AsRunOutcome::FailedOutput.name(),
                    why,
                })
            })
            .collect();
        // The log never holds up a broadcast: a row the disk cannot take waits in the journal.
        for (cue, cmd) in chosen.iter_mut().zip(commands) {
            // An amplifier that is off is switched on now; the cue waits for its lead-in.
            let ready = self.line.ready_at(&cue.zone, now, priority == Priority::Emergency);
            if ready > now {
                cue.at = ready;
                self.journal.write(Write::Cue(cue.clone()), now);
                self.manual.insert(cue.id, cue.clone());
                self.air.cue(cmd, ready);
            } else {
                self.journal.write(Write::Cue(cue.clone()), now);
                self.manual.insert(cue.id, cue.clone());
                self.air.cue_now(cmd);
            }
        }
        let zones: Vec<(ZoneId, CueId)> = chosen.iter().map(|c| (c.zone.clone(), c.id)).collect();
        self.broadcasts.insert(id.clone(), zones);
        tracing::info!(broadcast = %id, %item, priority = priority.name(), villages = chosen.len(), "broadcast now");
        Ok(Broadcast { id, priority, cues: chosen, skipped, unheard })
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
