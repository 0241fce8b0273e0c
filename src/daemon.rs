//! `xiangyin serve`: builds the station from checked configuration and runs its lifecycle —
//! start, a tick every second, slot wake-ups, reloads (SIGHUP and file changes), the web server,
//! and a clean stop on SIGTERM. It decides nothing about what plays: that is [`Station`].
//!
//! Threads: the playout thread (engine → outputs), an event pump (playout events → as-run log),
//! a file watcher, and a small tokio runtime for the scheduler jobs, signals and HTTP.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Utc;
use notify::Watcher;
use tokio::sync::mpsc;
use tokio_cron_scheduler::{Job, JobScheduler};
use uuid::Uuid;

use crate::commands::Paths;
use crate::config::{self, Plan};
use crate::engine::EngineConfig;
use crate::library::{ClipMeta, catalog_of};
use crate::output::{self, Sink};
use crate::playout::{self, Playout};
use crate::station::Station;
use crate::store::{self, Store};
use crate::web;

/// How far ahead of hearing the playout thread renders: covers the output buffers and a busy
/// machine; the engine places every cue to the sample on this clock.
pub const LEAD: Duration = Duration::from_millis(100);
/// File changes closer together than this reload once.
const SETTLE: Duration = Duration::from_millis(500);

/// What `serve` was asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Hardware profile name (default: station.yaml's).
    pub profile: Option<String>,
    /// Listen address for HTTP (`127.0.0.1:8080`; port 0 picks one).
    pub listen: String,
    /// Largest upload accepted, in MB (default 200).
    pub max_upload_mb: u64,
}

/// The station shared between the tick job, the event pump, reloads and HTTP handlers.
pub type Shared = Arc<Mutex<Station<Playout>>>;

/// Locks the station, even after a panic elsewhere (the station's state stays consistent: each
/// method writes the log before changing memory).
pub fn lock(s: &Shared) -> MutexGuard<'_, Station<Playout>> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs the station until SIGTERM or SIGINT.
pub fn serve(paths: &Paths, opts: &Options) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("serve")
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(run(paths.clone(), opts.clone()))
}

async fn run(paths: Paths, opts: Options) -> anyhow::Result<()> {
    let library = paths.library();
    let (clips, broken) = library.list().context("reading the clip library")?;
    for b in &broken {
        tracing::warn!("clip folder {} is unreadable and is ignored: {}", b.dir.display(), b.why);
    }
    let plan = match config::load(&paths.layout, opts.profile.as_deref(), &catalog_of(&clips)) {
        Ok(p) => p,
        Err(problems) => {
            eprint!("{problems}");
            bail!("the configuration has {} problem(s); fix them and start again", problems.0.len());
        }
    };
    let (plan, sinks, fallback) = open_outputs(&paths, plan, &clips)?;
    let taps = crate::output::Taps::new();
    let sinks = sinks.into_iter().enumerate().map(|(i, s)| taps.wrap(i, s)).collect();
    let db = store::default_path(&paths.state);
    let store = Store::open(&db).with_context(|| format!("opening the station database {}", db.display()))?;

    let mut running = playout::start(&plan.profile, &EngineConfig::default(), sinks, LEAD)?;
    let events = std::mem::replace(&mut running.events, std::sync::mpsc::channel().1);
    let tz = plan.station.timezone;
    let summary = format!(
        "{} villages, {} slots, {} clips, profile {}",
        plan.villages.len(),
        plan.slots.len(),
        clips.len(),
        plan.profile.name
    );
    let station: Shared = Arc::new(Mutex::new(Station::new(plan, &clips, library, store, running.handle.clone())));
    {
        let mut s = lock(&station);
        let r = s.recover(Utc::now())?;
        if r != Default::default() {
            tracing::warn!(
                interrupted = r.interrupted,
                late = r.late,
                missed = r.missed,
                "recovering from the previous run: cues on air when it stopped are logged stopped, cues due \
                 meanwhile play late within their slot's grace, older ones are logged missed"
            );
        }
        s.tick(Utc::now())?;
    }

    // Playout events → the as-run log.
    let pump = {
        let station = station.clone();
        std::thread::Builder::new().name("events".into()).spawn(move || {
            for ev in events {
                if let Err(e) = lock(&station).on_event(ev) {
                    tracing::error!("as-run log: {e}");
                }
            }
        })?
    };

    // The scheduler jobs: a tick every second, and a wake-up at each slot's cron in station time.
    let mut sched = JobScheduler::new().await.context("starting the job scheduler")?;
    let tick = {
        let station = station.clone();
        Job::new_repeated_async(Duration::from_secs(1), move |_, _| {
            let station = station.clone();
            Box::pin(async move {
                if let Err(e) = lock(&station).tick(Utc::now()) {
                    tracing::error!("planning: {e}");
                }
            })
        })?
    };
    sched.add(tick).await?;
    let mut slot_jobs = add_slot_jobs(&sched, &station).await;
    sched.start().await.context("starting the job scheduler")?;

    // Reloads: SIGHUP and changes under the content folders.
    let (reload_tx, mut reload_rx) = mpsc::unbounded_channel::<&'static str>();
    let _watcher = watch(&paths, reload_tx.clone());
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;

    // HTTP.
    let listener =
        tokio::net::TcpListener::bind(&opts.listen).await.with_context(|| format!("listening on {}", opts.listen))?;
    let addr = listener.local_addr()?;
    let web_db = Store::open(&db).with_context(|| format!("opening the station database {}", db.display()))?;
    let setup = first_admin_link(&web_db, addr)?;
    let config = web::WebConfig { max_upload: opts.max_upload_mb.saturating_mul(1024 * 1024) };
    let app = web::router(web::AppState::new(station.clone(), web_db, paths.clone(), config, fallback, taps));
    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let http = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = http_stopped.await;
            })
            .await;
    });
    tracing::info!("xiangyin serving: {summary}; time zone {tz}; http://{addr}/ (healthz, metrics)");
    // Standard output may be a closed pipe (a supervisor that read the address and left): the
    // station must not stop over it, so write errors are ignored here.
    {
        use std::io::Write;
        let mut out = std::io::stdout();
        let _ = writeln!(out, "xiangyin: serving on http://{addr}/");
        if let Some(link) = &setup {
            let _ = writeln!(out, "xiangyin: no users yet — open this one-time link to create the first admin: {link}");
            tracing::warn!("no users yet: the one-time setup link is printed on standard output");
        }
        let _ = out.flush();
    }

    loop {
        tokio::select! {
            _ = hup.recv() => { let _ = reload_tx.send("SIGHUP"); }
            Some(why) = reload_rx.recv() => {
                // Let a burst of file events settle, then reload once.
                tokio::time::sleep(SETTLE).await;
                while reload_rx.try_recv().is_ok() {}
                if reload(&paths, &station, why) {
                    for id in slot_jobs.drain(..) {
                        let _ = sched.remove(&id).await;
                    }
                    slot_jobs = add_slot_jobs(&sched, &station).await;
                }
            }
            _ = term.recv() => { tracing::info!("SIGTERM: stopping"); break; }
            _ = tokio::signal::ctrl_c() => { tracing::info!("interrupted: stopping"); break; }
        }
    }

    let _ = sched.shutdown().await;
    let _ = stop_http.send(());
    // Open event streams and listen-ins never end by themselves: give requests a moment, then go.
    let http_abort = http.abort_handle();
    if tokio::time::timeout(Duration::from_secs(3), http).await.is_err() {
        http_abort.abort();
    }
    // Stops the engine and closes the outputs (recorders finish their files); the event pump then
    // sees the channel close after the last events, which it writes.
    tokio::task::spawn_blocking(move || running.shutdown()).await?;
    tokio::task::spawn_blocking(move || pump.join()).await?.ok();
    let now = Utc::now();
    let s = lock(&station);
    for row in s.store().unfinished(now + chrono::Duration::days(3650))? {
        if row.started.is_some() {
            s.store().mark_ended(row.cue, now, crate::store::AsRunOutcome::Stopped)?;
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// How long the first-admin setup link works.
const SETUP_TTL: Duration = Duration::from_secs(24 * 3600);

/// With no users in the database, a one-time link that creates the first admin (there is no
/// default password). `None` once the station has users.
fn first_admin_link(db: &Store, addr: std::net::SocketAddr) -> anyhow::Result<Option<String>> {
    if db.user_count()? > 0 {
        return Ok(None);
    }
    let token = db.create_setup_token(SETUP_TTL)?;
    let host = if addr.ip().is_unspecified() { "127.0.0.1".to_owned() } else { addr.ip().to_string() };
    Ok(Some(format!("http://{host}:{}/setup?token={token}", addr.port())))
}

/// Opens every output of the plan's profile. When a sound device is missing at start, says so
/// loudly and falls back to the `virtual` profile (every zone recorded to WAV under the state
/// folder), so the station still runs and keeps its log.
/// Returns the plan actually played, its sinks, and why it fell back (if it did).
#[allow(clippy::type_complexity)]
fn open_outputs(
    paths: &Paths,
    plan: Plan,
    clips: &[ClipMeta],
) -> anyhow::Result<(Plan, Vec<Box<dyn Sink>>, Option<String>)> {
    let start = Utc::now().with_timezone(&plan.station.timezone);
    // Each run records to its own files (`recordings/serve-20261129T070000-rec.wav`): a restart
    // never overwrites what the previous run recorded.
    let run = start.format("serve-%Y%m%dT%H%M%S").to_string();
    let run = run.as_str();
    let mut sinks = Vec::new();
    let mut failure = None;
    for spec in &plan.profile.outputs {
        match output::open(spec, &paths.state, run, start) {
            // A device sink opens degraded when its card is missing (it would retry in the
            // background): at start, that means the profile does not fit this machine.
            Ok(s) => match s.health() {
                output::Health::Healthy => sinks.push(s),
                output::Health::Degraded { reason, .. } => {
                    failure = Some(format!("output `{}`: {reason}", spec.name));
                    break;
                }
            },
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        }
    }
    let Some(e) = failure else {
        if plan.profile.outputs.iter().all(|o| !matches!(o.kind, config::OutputKind::Device { .. })) {
            tracing::warn!(
                "profile `{}` has no sound card: every zone is recorded to WAV under {}",
                plan.profile.name,
                paths.state.join("recordings").display()
            );
        }
        return Ok((plan, sinks, None));
    };
    if plan.profile.name == "virtual" {
        bail!("the virtual profile's outputs cannot be opened: {e}");
    }
    drop(sinks);
    tracing::error!("!!! {e}");
    tracing::error!(
        "!!! NO SOUND CARD: profile `{}` cannot play; falling back to the `virtual` profile — villages hear \
         NOTHING; every zone is recorded to WAV under {} instead",
        plan.profile.name,
        paths.state.join("recordings").display()
    );
    let virt = config::load(&paths.layout, Some("virtual"), &catalog_of(clips))
        .map_err(|p| anyhow::anyhow!("the sound card is missing and the virtual profile cannot be used:\n{p}"))?;
    let mut sinks = Vec::new();
    for spec in &virt.profile.outputs {
        sinks.push(output::open(spec, &paths.state, run, start).context("opening the virtual profile")?);
    }
    Ok((virt, sinks, Some(format!("no sound card for profile `{}` ({e}): recording to WAV", plan.profile.name))))
}

/// One wake-up job per slot at its cron, in the station's time zone. The tick has planned the
/// firing a minute ahead and the engine starts it to the sample; the wake-up makes sure nothing
/// waits for the next tick and says in the log that the slot fired.
async fn add_slot_jobs(sched: &JobScheduler, station: &Shared) -> Vec<Uuid> {
    let (tz, slots): (_, Vec<(String, String)>) = {
        let s = lock(station);
        let p = s.plan();
        (p.station.timezone, p.slots.iter().map(|s| (s.name.clone(), s.cron.as_str().to_owned())).collect())
    };
    let mut ids = Vec::new();
    for (name, cron) in slots {
        // tokio-cron-scheduler wants seconds; people write 5 fields.
        let six = if cron.split_whitespace().count() == 5 { format!("0 {cron}") } else { cron.clone() };
        let station = station.clone();
        let job = Job::new_async_tz(six.as_str(), tz, move |_, _| {
            let station = station.clone();
            let name = name.clone();
            Box::pin(async move {
                let mut s = lock(&station);
                if let Err(e) = s.tick(Utc::now()) {
                    tracing::error!("planning: {e}");
                }
                tracing::info!(slot = %name, on_air = s.on_air_count(), "slot fired");
            })
        });
        match job {
            Ok(job) => match sched.add(job).await {
                Ok(id) => ids.push(id),
                Err(e) => tracing::warn!("slot wake-up `{cron}`: {e}"),
            },
            // The station's own scheduler still plans the slot; only the wake-up is lost.
            Err(e) => tracing::warn!("slot wake-up for `{cron}` not registered: {e}"),
        }
    }
    ids
}

/// Re-reads and checks everything; on success the station switches plans for firings not yet
/// planned, on failure every problem is logged with file:line:col and the last good plan keeps
/// running. Returns true when the plan changed.
fn reload(paths: &Paths, station: &Shared, why: &str) -> bool {
    let library = paths.library();
    let clips = match library.list() {
        Ok((c, _)) => c,
        Err(e) => {
            tracing::error!(
                "reload ({why}) refused: the clip library cannot be read: {e}; the last good plan keeps running"
            );
            lock(station).count_reload(false);
            return false;
        }
    };
    let profile = lock(station).plan().profile.name.clone();
    match config::load(&paths.layout, Some(&profile), &catalog_of(&clips)) {
        Ok(plan) => {
            let mut s = lock(station);
            let summary =
                format!("{} villages, {} slots, {} clips", plan.villages.len(), plan.slots.len(), clips.len());
            s.set_plan(plan, &clips);
            s.count_reload(true);
            tracing::info!("reloaded ({why}): {summary}");
            true
        }
        Err(problems) => {
            for p in &problems.0 {
                tracing::error!("{p}");
            }
            tracing::error!(
                "reload ({why}) refused: {} problem(s) above; the last good plan keeps running",
                problems.0.len()
            );
            lock(station).count_reload(false);
            false
        }
    }
}

/// Watches the content folders; every change asks for a reload. Returns the watcher (dropping it
/// stops watching), or `None` when the system cannot watch (SIGHUP still works).
fn watch(paths: &Paths, tx: mpsc::UnboundedSender<&'static str>) -> Option<notify::RecommendedWatcher> {
    let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res
            && !matches!(ev.kind, notify::EventKind::Access(_))
        {
            let _ = tx.send("files changed");
        }
    })
    .map_err(|e| tracing::warn!("cannot watch the content folders ({e}); reload with SIGHUP"))
    .ok()?;
    let dirs: [PathBuf; 3] = [paths.layout.schedules(), paths.layout.profiles(), paths.layout.library()];
    for d in dirs.iter().filter(|d| d.is_dir()) {
        if let Err(e) = w.watch(d, notify::RecursiveMode::Recursive) {
            tracing::warn!("cannot watch {} ({e}); reload with SIGHUP", d.display());
        }
    }
    Some(w)
}
