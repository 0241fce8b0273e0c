//! One thread per relay device: it switches the device's channels when the power plan says, on
//! the instant (it sleeps until the next change, woken early when the plan changes), and keeps
//! trying a device that does not answer, with back-off, without holding up any other relay.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::power::PowerPlan;
use super::relay::{self, Relay, RelayKind, RelaySpec};
use crate::config::{RelayConf, RelayKindConf};

/// A device's state as its thread last left it.
#[derive(Debug, Clone, Default)]
pub struct DeviceState {
    /// Why it is not switching, when it is not (English, Chinese).
    pub failing: Option<(String, String)>,
    /// Channel → since when it is on (`None`: off or not yet confirmed).
    pub on_since: BTreeMap<u32, Option<DateTime<Utc>>>,
    /// What is doubtful although it takes commands (a board driven without its handshake).
    pub warning: Option<(String, String)>,
}

/// What the relay threads and the station's side share.
#[derive(Default)]
pub struct Shared {
    /// The plan and every device's state.
    pub inner: Mutex<Inner>,
    /// Signalled when the plan changes (or to stop).
    pub changed: Condvar,
}

/// Behind the lock.
#[derive(Default)]
pub struct Inner {
    /// When each amplifier should be on.
    pub plan: PowerPlan,
    /// By relay index.
    pub devices: Vec<DeviceState>,
    /// Set to stop the threads.
    pub stop: bool,
    /// Counts plan changes (a thread that saw an older one does not go to sleep).
    pub generation: u64,
}

impl Inner {
    /// Marks the plan changed: call [`Condvar::notify_all`] on [`Shared::changed`] after.
    pub fn touch(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }
}

impl Shared {
    /// The state, even after a panic elsewhere.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Checks every channel again this often (a Modbus relay that was reset, a board replugged).
const REFRESH: Duration = Duration::from_secs(30);
/// Longest wait between two tries of a device that fails.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

fn spec_of(c: &RelayConf) -> RelaySpec {
    let kind = match &c.kind {
        RelayKindConf::Board { port, channels } => RelayKind::Board { port: port.clone(), channels: *channels },
        RelayKindConf::Modbus { port, baud, unit } => {
            RelayKind::Modbus { port: port.clone(), baud: *baud, unit: *unit }
        }
        RelayKindConf::Gpio { chip } => RelayKind::Gpio { chip: chip.clone() },
    };
    RelaySpec { name: c.name.clone(), kind, timeout: c.timeout }
}

/// Runs relay `index` until the shared state says stop.
pub fn run(index: usize, conf: &RelayConf, channels: &[u32], shared: &Arc<Shared>) {
    let spec = spec_of(conf);
    let mut device: Option<Box<dyn Relay>> = None;
    let mut applied: BTreeMap<u32, bool> = BTreeMap::new();
    let mut backoff = Duration::from_millis(500);
    let mut retry_at = std::time::Instant::now();
    let mut refreshed = std::time::Instant::now();
    loop {
        let (want, next, seen) = {
            let g = shared.lock();
            if g.stop {
                return;
            }
            let seen = g.generation;
            let (w, next) = g.plan.wanted(Utc::now());
            let mine: BTreeMap<u32, bool> =
                channels.iter().map(|c| (*c, w.get(&(index, *c)).copied().unwrap_or(false))).collect();
            (mine, next, seen)
        };
        if device.is_none() && std::time::Instant::now() >= retry_at {
            match relay::open(&spec, channels) {
                Ok(d) => {
                    let warning = d.warning();
                    if let Some((en, _)) = &warning {
                        tracing::warn!("{en}");
                    }
                    shared.lock().devices[index].warning = warning;
                    device = Some(d);
                    applied.clear();
                    refreshed = std::time::Instant::now();
                }
                Err(e) => {
                    fail(shared, index, &e, &mut backoff, &mut retry_at);
                }
            }
        }
        if let Some(d) = device.as_mut() {
            let refresh = refreshed.elapsed() >= REFRESH;
            let changes: Vec<(u32, bool)> =
                want.iter().filter(|(c, on)| refresh || applied.get(c) != Some(on)).map(|(c, on)| (*c, *on)).collect();
            if !changes.is_empty() {
                match d.set(&changes) {
                    Ok(()) => {
                        let now = Utc::now();
                        let mut g = shared.lock();
                        let st = &mut g.devices[index];
                        if st.failing.take().is_some() {
                            tracing::info!(relay = conf.name, "relay answers again");
                        }
                        for (c, on) in &changes {
                            if applied.get(c) != Some(on) {
                                tracing::info!(relay = conf.name, channel = c, on, "amplifier power");
                            }
                            let since = st.on_since.entry(*c).or_default();
                            *since = if *on { since.or(Some(now)) } else { None };
                            applied.insert(*c, *on);
                        }
                        backoff = Duration::from_millis(500);
                        if refresh {
                            refreshed = std::time::Instant::now();
                        }
                    }
                    Err(e) => {
                        device = None;
                        applied.clear();
                        fail(shared, index, &e, &mut backoff, &mut retry_at);
                    }
                }
            }
        }
        // Sleep until the next change, a retry (no device) or a refresh (a device), or a new plan.
        let mut wait = match device {
            Some(_) => REFRESH.saturating_sub(refreshed.elapsed()),
            None => retry_at.saturating_duration_since(std::time::Instant::now()),
        };
        if let Some(n) = next {
            wait = wait.min((n - Utc::now()).to_std().unwrap_or_default());
        }
        let g = shared.lock();
        if g.stop {
            return;
        }
        if g.generation != seen {
            continue;
        }
        let _ = shared.changed.wait_timeout(g, wait.max(Duration::from_millis(1)));
    }
}

fn fail(
    shared: &Shared,
    index: usize,
    e: &relay::RelayError,
    backoff: &mut Duration,
    retry_at: &mut std::time::Instant,
) {
    let (en, zh) = e.sentence();
    let mut g = shared.lock();
    let st = &mut g.devices[index];
    if st.failing.as_ref().map(|f| &f.0) != Some(&en) {
        tracing::error!("{en}; trying again in {} s", backoff.as_secs_f32());
    }
    st.failing = Some((en, zh));
    for since in st.on_since.values_mut() {
        *since = None;
    }
    drop(g);
    *retry_at = std::time::Instant::now() + *backoff;
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
}
