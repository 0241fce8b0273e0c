//! When each amplifier should be powered: a pure function of the cues to come, the cues on air,
//! when the last one ended, and the operator's overrides. The relay threads ask it what their
//! channels should be and when that changes next.
//!
//! A zone's amplifier is on when it is forced on, always on, playing, within `lead_in` before a
//! cue that is still to start (and from then until it starts), or within `hang` after its last
//! cue ended. A relay channel that powers several zones is on while any of them needs it.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};

use crate::config::{LineWiring, PowerConf};
use crate::domain::{CueId, ZoneId};

/// How long a start asked for by [`PowerPlan::need_now`] counts without the station listing it
/// among its upcoming cues (it lists every cue it has handed over, each second).
const URGENT_KEEP: std::time::Duration = std::time::Duration::from_secs(3);

/// A relay channel: (index of the relay in the profile, channel on it).
pub type RelayChannel = (usize, u32);

#[derive(Debug, Default, Clone)]
struct Needs {
    upcoming: Vec<DateTime<Utc>>,
    /// Starts asked for by [`PowerPlan::need_now`] and when they were asked, kept until the
    /// next upcoming list has them (a cue dropped before that must not keep its amplifier on).
    urgent: Vec<(DateTime<Utc>, std::time::Instant)>,
    on_air: HashSet<CueId>,
    last_end: Option<DateTime<Utc>>,
    forced: Option<bool>,
}

/// The power decisions of every zone with a relay.
#[derive(Debug, Default, Clone)]
pub struct PowerPlan {
    zones: BTreeMap<ZoneId, (PowerConf, Needs)>,
}

fn dur(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or_default()
}

impl PowerPlan {
    /// The plan for the zones of `wiring` that have a relay; nothing is needed yet.
    pub fn new(wiring: &LineWiring) -> Self {
        Self { zones: wiring.power.iter().map(|(z, p)| (z.clone(), (p.clone(), Needs::default()))).collect() }
    }

    /// The zone's power settings, if it has a relay.
    pub fn conf(&self, zone: &ZoneId) -> Option<&PowerConf> {
        self.zones.get(zone).map(|(c, _)| c)
    }

    /// Replaces the cues to come (zone, start).
    pub fn set_upcoming(&mut self, cues: &[(ZoneId, DateTime<Utc>)]) {
        for (_, n) in self.zones.values_mut() {
            n.upcoming.clear();
            n.urgent.retain(|(_, asked)| asked.elapsed() < URGENT_KEEP);
        }
        for (z, at) in cues {
            if let Some((_, n)) = self.zones.get_mut(z) {
                n.upcoming.push(*at);
                n.urgent.retain(|(u, _)| u != at);
            }
        }
    }

    /// A cue must start on `zone` as soon as its amplifier allows: returns when that is (`now`
    /// plus the lead-in, or `now` when the amplifier has been on long enough, as `on_since`
    /// says), and needs the amplifier from now on.
    pub fn need_now(&mut self, zone: &ZoneId, now: DateTime<Utc>, on_since: Option<DateTime<Utc>>) -> DateTime<Utc> {
        let Some((conf, needs)) = self.zones.get_mut(zone) else { return now };
        let ready = match on_since {
            Some(t) => (t + dur(conf.lead_in)).max(now),
            None => now + dur(conf.lead_in),
        };
        needs.urgent.push((ready, std::time::Instant::now()));
        ready
    }

    /// A cue started on `zone`.
    pub fn started(&mut self, zone: &ZoneId, cue: CueId) {
        if let Some((_, n)) = self.zones.get_mut(zone) {
            n.on_air.insert(cue);
        }
    }

    /// A cue on `zone` ended at `at`.
    pub fn ended(&mut self, zone: &ZoneId, cue: CueId, at: DateTime<Utc>) {
        if let Some((_, n)) = self.zones.get_mut(zone) {
            n.on_air.remove(&cue);
            n.last_end = Some(n.last_end.map_or(at, |t| t.max(at)));
        }
    }

    /// Forces the zone's amplifier on or off, or (`None`) gives it back to the cues. False when
    /// the zone has no relay.
    pub fn force(&mut self, zone: &ZoneId, on: Option<bool>) -> bool {
        match self.zones.get_mut(zone) {
            Some((_, n)) => {
                n.forced = on;
                true
            }
            None => false,
        }
    }

    /// How the zone is forced, if it is (by an operator's `line power`).
    pub fn forced(&self, zone: &ZoneId) -> Option<bool> {
        self.zones.get(zone).and_then(|(_, n)| n.forced)
    }

    /// True when the zone is forced (by an operator's `line power`).
    pub fn is_forced(&self, zone: &ZoneId) -> bool {
        self.zones.get(zone).is_some_and(|(_, n)| n.forced.is_some())
    }

    /// Whether `zone` needs its amplifier at `t`, and the next instant after `t` that changes.
    fn zone_at(conf: &PowerConf, n: &Needs, t: DateTime<Utc>) -> (bool, Option<DateTime<Utc>>) {
        if let Some(f) = n.forced {
            return (f, None);
        }
        if conf.always_on {
            return (true, None);
        }
        let lead = dur(conf.lead_in);
        let starts = n.upcoming.iter().chain(n.urgent.iter().map(|(u, _)| u));
        let mut on = !n.on_air.is_empty();
        let mut next: Option<DateTime<Utc>> = None;
        let mut soonest = |x: DateTime<Utc>| next = Some(next.map_or(x, |y| y.min(x)));
        for s in starts {
            if *s - lead <= t {
                on = true;
            } else {
                soonest(*s - lead);
            }
        }
        if let Some(end) = n.last_end {
            let off = end + dur(conf.hang);
            if off > t {
                on = true;
                soonest(off);
            }
        }
        (on, next)
    }

    /// What every relay channel should be at `t`, and the next instant any of them changes.
    pub fn wanted(&self, t: DateTime<Utc>) -> (BTreeMap<RelayChannel, bool>, Option<DateTime<Utc>>) {
        let mut out: BTreeMap<RelayChannel, bool> = BTreeMap::new();
        let mut forced_off = Vec::new();
        let mut next: Option<DateTime<Utc>> = None;
        for (conf, n) in self.zones.values() {
            let (on, change) = Self::zone_at(conf, n, t);
            *out.entry((conf.relay, conf.channel)).or_default() |= on;
            if n.forced == Some(false) {
                forced_off.push((conf.relay, conf.channel));
            }
            if let Some(c) = change {
                next = Some(next.map_or(c, |x: DateTime<Utc>| x.min(c)));
            }
        }
        // Someone working on a line switched it off: off it stays, whoever shares the amplifier.
        for ch in forced_off {
            out.insert(ch, false);
        }
        (out, next)
    }

    /// Forgets every cue (to come, on air, ended): from now on only forced and always-on
    /// amplifiers stay on. For stopping.
    pub fn release(&mut self) {
        for (_, n) in self.zones.values_mut() {
            n.upcoming.clear();
            n.urgent.clear();
            n.on_air.clear();
            n.last_end = None;
        }
    }

    /// Every zone with a relay.
    pub fn zones(&self) -> Vec<ZoneId> {
        self.zones.keys().cloned().collect()
    }

    /// The zones relay `relay` powers (any channel).
    pub fn zones_with_relay(&self, relay: usize) -> Vec<ZoneId> {
        self.zones.iter().filter(|(_, (c, _))| c.relay == relay).map(|(z, _)| z.clone()).collect()
    }

    /// The zones a relay channel powers.
    pub fn zones_of(&self, ch: RelayChannel) -> Vec<ZoneId> {
        self.zones.iter().filter(|(_, (c, _))| (c.relay, c.channel) == ch).map(|(z, _)| z.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    fn plan(always_on: bool) -> PowerPlan {
        let mut w = LineWiring::default();
        let conf = |channel| PowerConf {
            relay: 0,
            channel,
            lead_in: Duration::from_secs(2),
            hang: Duration::from_secs(30),
            always_on,
        };
        w.power.insert(ZoneId::new("a").unwrap(), conf(1));
        w.power.insert(ZoneId::new("b").unwrap(), conf(2));
        w.power.insert(ZoneId::new("c").unwrap(), conf(2));
        PowerPlan::new(&w)
    }

    fn z(s: &str) -> ZoneId {
        ZoneId::new(s).unwrap()
    }

    #[test]
    fn on_lead_in_before_the_cue_off_hang_after_its_end() {
        let mut p = plan(false);
        p.set_upcoming(&[(z("a"), t(100))]);
        let (w, next) = p.wanted(t(90));
        assert!(!w[&(0, 1)]);
        assert_eq!(next, Some(t(98)), "switch-on is due lead_in before the cue");
        assert!(p.wanted(t(98)).0[&(0, 1)]);
        p.started(&z("a"), CueId(1));
        p.set_upcoming(&[]);
        assert!(p.wanted(t(150)).0[&(0, 1)], "on while playing");
        p.ended(&z("a"), CueId(1), t(160));
        let (w, next) = p.wanted(t(170));
        assert!(w[&(0, 1)], "hangs on after the end");
        assert_eq!(next, Some(t(190)));
        assert!(!p.wanted(t(190)).0[&(0, 1)], "off hang_s after the last cue");
    }

    #[test]
    fn a_shared_channel_is_on_while_any_zone_needs_it_and_force_wins() {
        let mut p = plan(false);
        p.set_upcoming(&[(z("c"), t(100))]);
        assert!(p.wanted(t(99)).0[&(0, 2)]);
        assert!(!p.wanted(t(99)).0[&(0, 1)]);
        assert!(p.force(&z("b"), Some(false)));
        assert!(!p.wanted(t(99)).0[&(0, 2)], "forced off wins on the shared channel");
        p.force(&z("b"), None);
        assert!(p.force(&z("a"), Some(true)));
        assert!(p.wanted(t(0)).0[&(0, 1)]);
        p.force(&z("a"), None);
        assert!(!p.wanted(t(0)).0[&(0, 1)]);
        assert!(!p.force(&z("nowhere"), Some(true)));
    }

    #[test]
    fn an_emergency_waits_for_the_lead_in_only_when_the_amplifier_is_off() {
        let mut p = plan(false);
        assert_eq!(p.need_now(&z("a"), t(10), None), t(12));
        assert!(p.wanted(t(10)).0[&(0, 1)], "switched on at once");
        assert_eq!(p.need_now(&z("a"), t(20), Some(t(5))), t(20), "on long enough: plays now");
        assert_eq!(p.need_now(&z("a"), t(20), Some(t(19))), t(21));
        assert_eq!(p.need_now(&z("nowhere"), t(20), None), t(20));
        // The station lists the cue from its next tick on; one it dropped is not waited for.
        p.set_upcoming(&[(z("a"), t(12))]);
        assert!(p.wanted(t(11)).0[&(0, 1)]);
    }

    #[test]
    fn a_cue_dropped_before_the_station_listed_it_does_not_keep_the_amplifier_on() {
        let mut p = plan(false);
        p.need_now(&z("a"), t(10), None);
        for n in &mut p.zones.values_mut() {
            for u in &mut n.1.urgent {
                u.1 = u.1.checked_sub(URGENT_KEEP).unwrap(); // asked long ago
            }
        }
        p.set_upcoming(&[]);
        assert!(!p.wanted(t(11)).0[&(0, 1)]);
    }

    #[test]
    fn always_on_never_switches_off() {
        let p = plan(true);
        let (w, next) = p.wanted(t(0));
        assert!(w.values().all(|on| *on));
        assert_eq!(next, None);
    }
}
