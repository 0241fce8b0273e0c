//! What the dashboard shows of each village: what plays, what is next, whether it is heard.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Air, Station};
use crate::domain::{Cue, Text, VillageId, ZoneId};

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
    /// False when what the village should hear does not reach its loudspeaker (no sound card,
    /// the card feeding it is down); `unheard` then says why.
    pub reaching: bool,
    /// Why the village hears nothing now, in both languages.
    pub unheard: Option<Text>,
    /// True when the profile wires the zone to no sound card at all, only to recorders (the
    /// `virtual` profile): what it plays is kept in WAV files, and no loudspeaker hears it.
    pub recorded_only: bool,
}

impl<A: Air> Station<A> {
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
                    reaching: self.zone_unheard(&v.zone).is_none(),
                    unheard: self.zone_unheard(&v.zone),
                    recorded_only: profile.zones.get(&v.zone).is_none_or(|c| {
                        c.iter().all(|c| {
                            !matches!(profile.outputs[c.output].kind, crate::config::OutputKind::Device { .. })
                        })
                    }),
                }
            })
            .collect()
    }
}

impl<A: Air> Station<A> {
    /// Why the zone is not heard, when it is not: the station fell back to recording (no sound
    /// card), a sound card feeding it is degraded, or — for a zone no card feeds (recorders only,
    /// the virtual profile run on purpose) — every output feeding it is. A recorder beside a
    /// working card does not make a village deaf.
    pub(super) fn zone_unheard(&self, zone: &ZoneId) -> Option<Text> {
        if let Some(p) = self.health.problems().into_iter().find(|p| p.reason == "fallback") {
            return Some(Text::new(
                format!("recorded only, no loudspeaker: {}", p.message),
                format!("只录了音，没有送到喇叭：{}", p.message_zh),
            ));
        }
        let profile = &self.plan.profile;
        let chans = profile.zones.get(zone)?;
        let outputs: Vec<&crate::config::Output> = chans.iter().map(|c| &profile.outputs[c.output]).collect();
        let is_card = |o: &crate::config::Output| matches!(o.kind, crate::config::OutputKind::Device { .. });
        let down = |o: &crate::config::Output| {
            let name = o.name.to_string();
            self.degraded
                .get(&name)
                .map(|r| (format!("output {name}: {r}"), format!("输出 {name}：{}", crate::output::reason_zh(r))))
        };
        let found: Vec<(String, String)> = if outputs.iter().any(|o| is_card(o)) {
            outputs.iter().filter(|o| is_card(o)).find_map(|o| down(o)).into_iter().collect()
        } else {
            let all: Vec<(String, String)> = outputs.iter().filter_map(|o| down(o)).collect();
            if all.len() == outputs.len() { all } else { Vec::new() }
        };
        (!found.is_empty()).then(|| {
            let en: Vec<String> = found.iter().map(|f| f.0.clone()).collect();
            let zh: Vec<String> = found.iter().map(|f| f.1.clone()).collect();
            Text::new(en.join("; "), zh.join("；"))
        })
    }
}
