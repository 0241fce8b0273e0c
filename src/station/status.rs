//! What the dashboard shows of each village: what plays, what is next, whether it is heard.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Air, Station};
use crate::domain::{Cue, VillageId, ZoneId};

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
                }
            })
            .collect()
    }
}
