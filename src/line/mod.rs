//! The village lines: amplifier power on time, and proof that each village heard its cues (回采).
//!
//! [`Line`] is the station's [`LinePort`]: the station tells it which cues come and which play;
//! it switches each zone's amplifier relay `lead_in` before the first cue that needs it and
//! `hang` after the last ([`power`], one thread per relay device in [`relays`]), and compares
//! what each monitored zone was sent with what its capture tap heard ([`monitor`], fed by the
//! sink wrapper [`Line::wrap`] and the capture streams of [`capture`]). Nothing here ever holds
//! up playout: a relay that does not answer degrades only its zones and is retried; a cue never
//! waits for a relay longer than its lead-in.

pub mod capture;
pub mod judge;
pub mod monitor;
pub mod power;
pub mod relay;
pub mod relays;
pub mod tone;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc::{self, Sender, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::config::Profile;
use crate::domain::{CueId, Text, VillageId, ZoneId};
use crate::output::{Health, OutputError, Sink};
use crate::station::{LineConcern, LinePort, LineReport, LineState};
use monitor::{CueEvent, Monitor, SentBlock};

/// The village lines of a station: see the module documentation.
pub struct Line {
    shared: Arc<relays::Shared>,
    relay_names: Vec<String>,
    reported: Vec<Option<(String, String)>>,
    events: Option<Sender<CueEvent>>,
    sent: Option<SyncSender<SentBlock>>,
    reports: Arc<Mutex<Vec<LineReport>>>,
    last: monitor::LastHeard,
    monitored: Vec<ZoneId>,
    /// Per output index: (monitored zone index, channel) pairs it carries.
    taps: BTreeMap<usize, Vec<(usize, usize)>>,
    epoch: Instant,
    threads: Vec<JoinHandle<()>>,
    /// The capture inputs' threads, to stop with the line.
    captures: Vec<std::sync::Arc<capture::CaptureStatus>>,
}

/// How long stopping the line waits for the relays to switch the amplifiers off.
const RELEASE_WAIT: Duration = Duration::from_secs(2);

/// The instant `t` of the wall clock on the monotonic clock.
fn instant_of(t: DateTime<Utc>) -> Instant {
    let (now_i, now_u) = (Instant::now(), Utc::now());
    match (t - now_u).to_std() {
        Ok(ahead) => now_i + ahead,
        Err(_) => now_i.checked_sub((now_u - t).to_std().unwrap_or_default()).unwrap_or(now_i),
    }
}

impl Line {
    /// Starts the relay threads, the capture inputs and the monitor of `profile`'s line wiring
    /// (sentences give times in `tz`). A device that cannot be opened is not an error: it is
    /// reported through [`LinePort::poll`] and retried. Only a thread that cannot be started is
    /// an error (and stops the threads already started).
    pub fn start(profile: &Profile, tz: chrono_tz::Tz) -> std::io::Result<Line> {
        let w = &profile.line;
        let epoch = Instant::now();
        let shared = Arc::new(relays::Shared::default());
        {
            let mut g = shared.lock();
            g.plan = power::PowerPlan::new(w);
            g.devices = vec![relays::DeviceState::default(); w.relays.len()];
        }
        let monitored: Vec<ZoneId> = w.monitor.keys().cloned().collect();
        let mut taps: BTreeMap<usize, Vec<(usize, usize)>> = BTreeMap::new();
        for (zi, z) in monitored.iter().enumerate() {
            if let Some(c) = profile.zones.get(z).and_then(|chans| chans.first()) {
                taps.entry(c.output).or_default().push((zi, usize::from(c.channel)));
            }
        }
        // The line exists before any thread does: an error below drops it, which stops them.
        let mut line = Line {
            shared,
            relay_names: w.relays.iter().map(|r| r.name.clone()).collect(),
            reported: vec![None; w.relays.len()],
            events: None,
            sent: None,
            reports: Arc::new(Mutex::new(Vec::new())),
            last: Arc::new(Mutex::new(BTreeMap::new())),
            monitored,
            taps,
            epoch,
            threads: Vec::new(),
            captures: Vec::new(),
        };
        for (i, r) in w.relays.iter().enumerate() {
            let channels: BTreeSet<u32> = w.power.values().filter(|p| p.relay == i).map(|p| p.channel).collect();
            let channels: Vec<u32> = channels.into_iter().collect();
            if channels.is_empty() {
                continue;
            }
            let (conf, sh) = (r.clone(), line.shared.clone());
            line.threads.push(
                std::thread::Builder::new()
                    .name(format!("relay-{}", r.name))
                    .spawn(move || relays::run(i, &conf, &channels, &sh))?,
            );
        }
        if !line.monitored.is_empty() {
            let mut feeds = Vec::new();
            for inp in &w.inputs {
                let feed = capture::start(inp)?;
                line.captures.push(feed.status.clone());
                feeds.push(feed);
            }
            let (etx, erx) = mpsc::channel();
            let (stx, srx) = mpsc::sync_channel(1000);
            let zones: Vec<_> = w.monitor.iter().map(|(z, m)| (z.clone(), m.clone())).collect();
            let inbox = monitor::Inbox { sent: srx, events: erx };
            let m = Monitor::new(epoch, zones, feeds, inbox, line.reports.clone(), line.last.clone(), tz);
            line.events = Some(etx);
            line.sent = Some(stx);
            line.threads.push(std::thread::Builder::new().name("monitor".into()).spawn(move || m.run())?);
        }
        Ok(line)
    }

    /// Wraps output `index`'s sink so the monitor hears what it plays on monitored zones.
    pub fn wrap(&self, index: usize, sink: Box<dyn Sink>) -> Box<dyn Sink> {
        match (self.taps.get(&index), &self.sent) {
            (Some(zones), Some(tx)) => {
                Box::new(SentTap { inner: sink, zones: zones.clone(), tx: tx.clone(), epoch: self.epoch })
            }
            _ => sink,
        }
    }

    fn notify(&self, f: impl FnOnce(&mut relays::Inner)) {
        let mut g = self.shared.lock();
        f(&mut g);
        g.touch();
        drop(g);
        self.shared.changed.notify_all();
    }

    /// True when every relay that answers has switched off what the plan no longer needs.
    fn released(&self) -> bool {
        let g = self.shared.lock();
        let (wanted, _) = g.plan.wanted(Utc::now());
        wanted.iter().all(|((relay, channel), on)| {
            *on || g
                .devices
                .get(*relay)
                .is_none_or(|d| d.failing.is_some() || d.on_since.get(channel).copied().flatten().is_none())
        })
    }

    fn to_monitor(&self, at: DateTime<Utc>) -> Duration {
        instant_of(at).saturating_duration_since(self.epoch)
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        // Amplifiers that only the cues needed are switched off (their hang is not waited for),
        // then the threads stop.
        self.notify(|g| g.plan.release());
        let deadline = Instant::now() + RELEASE_WAIT;
        while Instant::now() < deadline && !self.released() {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.notify(|g| g.stop = true);
        for c in &self.captures {
            c.stop();
        }
        self.events = None;
        self.sent = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl LinePort for Line {
    fn upcoming(&mut self, cues: &[(ZoneId, DateTime<Utc>)]) {
        self.notify(|g| g.plan.set_upcoming(cues));
    }

    fn started(&mut self, cue: CueId, village: &VillageId, zone: &ZoneId, at: DateTime<Utc>) {
        self.notify(|g| g.plan.started(zone, cue));
        if let Some(tx) = &self.events
            && self.monitored.contains(zone)
        {
            let started = CueEvent::Started {
                cue,
                village: village.clone(),
                zone: zone.clone(),
                at: self.to_monitor(at),
                utc: at,
            };
            let _ = tx.send(started);
        }
    }

    fn ended(&mut self, cue: CueId, zone: &ZoneId, at: DateTime<Utc>) {
        self.notify(|g| g.plan.ended(zone, cue, at));
        if let Some(tx) = &self.events
            && self.monitored.contains(zone)
        {
            let _ = tx.send(CueEvent::Ended { cue, zone: zone.clone(), at: self.to_monitor(at) });
        }
    }

    fn ready_at(&mut self, zone: &ZoneId, now: DateTime<Utc>, emergency: bool) -> DateTime<Utc> {
        let mut ready = now;
        self.notify(|g| {
            let Some(conf) = g.plan.conf(zone).cloned() else { return };
            if emergency && g.plan.forced(zone) == Some(false) {
                tracing::warn!(%zone, "an emergency switches on an amplifier an operator had forced off");
                g.plan.force(zone, None);
            }
            let dev = g.devices.get(conf.relay);
            let on_since = dev.and_then(|d| d.on_since.get(&conf.channel).copied().flatten());
            ready = g.plan.need_now(zone, now, on_since);
        });
        ready
    }

    fn poll(&mut self) -> Vec<LineReport> {
        let mut out = std::mem::take(&mut *self.reports.lock().unwrap_or_else(PoisonError::into_inner));
        let g = self.shared.lock();
        for (i, d) in g.devices.iter().enumerate() {
            // A device that fails, else one that works but cannot be confirmed.
            let problem = d.failing.clone().or_else(|| d.warning.clone());
            if problem != self.reported[i] {
                self.reported[i].clone_from(&problem);
                let zones: Vec<String> = g.plan.zones_with_relay(i).iter().map(|z| z.to_string()).collect();
                let problem = problem.as_ref().map(|(en, zh)| {
                    Text::new(
                        format!("the amplifiers of zones {} may not switch on: {en}", zones.join(", ")),
                        format!("分区 {} 的功放可能开不了：{zh}", zones.join("、")),
                    )
                });
                out.push(LineReport::Problem { concern: LineConcern::Relay(self.relay_names[i].clone()), problem });
            }
        }
        out
    }

    fn states(&self) -> BTreeMap<ZoneId, LineState> {
        let mut out: BTreeMap<ZoneId, LineState> = BTreeMap::new();
        let g = self.shared.lock();
        let (wanted, _) = g.plan.wanted(Utc::now());
        for z in g.plan.zones() {
            let Some(conf) = g.plan.conf(&z) else { continue };
            let dev = g.devices.get(conf.relay);
            let s = out.entry(z.clone()).or_default();
            s.power = Some(match dev {
                Some(d) if d.failing.is_none() => d.on_since.get(&conf.channel).copied().flatten().is_some(),
                _ => wanted.get(&(conf.relay, conf.channel)).copied().unwrap_or(false),
            });
            s.forced = g.plan.is_forced(&z);
            s.relay_failing = dev.is_some_and(|d| d.failing.is_some());
        }
        drop(g);
        let last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        for z in &self.monitored {
            let s = out.entry(z.clone()).or_default();
            s.monitored = true;
            s.last = last.get(z).copied();
        }
        out
    }

    fn force(&mut self, zone: &ZoneId, on: Option<bool>) -> Result<(), Text> {
        let mut known = false;
        self.notify(|g| known = g.plan.force(zone, on));
        if known {
            Ok(())
        } else {
            Err(Text::new(
                format!("Zone `{zone}` has no amplifier relay in the hardware profile (see `power:`)."),
                format!("硬件配置里分区 `{zone}` 没有功放继电器（见 `power:`）。"),
            ))
        }
    }
}

/// Copies the monitored zones' first channels of what an output plays to the monitor.
struct SentTap {
    inner: Box<dyn Sink>,
    zones: Vec<(usize, usize)>,
    tx: SyncSender<SentBlock>,
    epoch: Instant,
}

impl SentTap {
    fn tap(&self, interleaved: &[f32], heard_at: Instant) {
        let channels = usize::from(self.inner.spec().channels.max(1));
        let zones = self
            .zones
            .iter()
            .map(|(zi, ch)| (*zi, interleaved.chunks_exact(channels).map(|f| f[*ch]).collect()))
            .collect();
        let start = heard_at.saturating_duration_since(self.epoch);
        // A monitor that falls behind loses blocks (unknown stretches), never the output's time.
        let _ = self.tx.try_send(SentBlock { start, rate: self.inner.spec().rate, zones });
    }
}

impl Sink for SentTap {
    fn spec(&self) -> &crate::config::Output {
        self.inner.spec()
    }

    fn write(&mut self, interleaved: &[f32]) -> Result<(), OutputError> {
        self.tap(interleaved, Instant::now());
        self.inner.write(interleaved)
    }

    fn write_at(&mut self, interleaved: &[f32], heard_at: Instant) -> Result<(), OutputError> {
        self.tap(interleaved, heard_at);
        self.inner.write_at(interleaved, heard_at)
    }

    fn latency(&self) -> Duration {
        self.inner.latency()
    }

    fn is_realtime(&self) -> bool {
        self.inner.is_realtime()
    }

    fn health(&self) -> Health {
        self.inner.health()
    }

    fn underruns(&self) -> u64 {
        self.inner.underruns()
    }

    fn finish(self: Box<Self>) -> Result<(), OutputError> {
        self.inner.finish()
    }
}
