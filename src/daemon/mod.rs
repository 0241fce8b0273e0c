//! `xiangyin serve`: builds the station from checked configuration and runs its lifecycle —
//! start, a tick every second, slot wake-ups, reloads (SIGHUP and file changes), the web server,
//! and a clean stop on SIGTERM. It decides nothing about what plays: that is [`Station`].
//!
//! Threads: the playout thread (engine → one writer thread per output), an event pump (playout
//! events → as-run log), a file watcher, and a small tokio runtime for the scheduler jobs,
//! signals and HTTP.
//!
//! Parts: [`outputs`] (opening the profile, the fallback when the card is missing), [`reload`]
//! (reloads and slot wake-ups), [`cleanup`] (what killed runs left behind).

mod cleanup;
mod outputs;
mod reload;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Utc;
use tokio::sync::mpsc;
use tokio_cron_scheduler::JobScheduler;

use crate::commands::Paths;
use crate::config;
use crate::engine::EngineConfig;
use crate::library::catalog_of;
use crate::playout::{self, Playout};
use crate::station::{Concern, Station};
use crate::store::{self, Store};
use crate::web;

/// How far ahead of hearing (beyond the cards' own buffers) the playout thread renders at first:
/// the margin against a busy machine, and most of the delay of "broadcast now". It doubles after
/// an underrun (see `playout::start`); the engine places every cue to the sample on this clock.
pub const LEAD: Duration = Duration::from_millis(30);
/// File changes closer together than this reload once.
const SETTLE: Duration = Duration::from_millis(500);
/// How often the state disk's free space is measured.
const DISK_EVERY: Duration = Duration::from_secs(5);

/// What `serve` was asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Hardware profile name (default: station.yaml's).
    pub profile: Option<String>,
    /// Listen address for HTTP (`127.0.0.1:8080`; port 0 picks one).
    pub listen: String,
    /// Largest upload accepted, in MB (default 200).
    pub max_upload_mb: u64,
    /// Health warns below this much free space on the state disk, in MB (default 512).
    pub disk_warn_mb: u64,
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
    match crate::os::raise_open_files_limit() {
        Ok(n) if n < 4096 => tracing::warn!(
            "only {n} files may be open at once; give the unit LimitNOFILE=65536 (packaging/xiangyin.service does)"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot read the open-files limit: {e}"),
    }
    cleanup::leftovers(&paths);
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
    let (plan, sinks, fallback) = outputs::open_outputs(&paths, plan, &clips)?;
    let taps = crate::output::Taps::new();
    // The village lines: amplifier relays, capture taps, and the monitor that hears what is sent.
    let line = crate::line::Line::start(&plan.profile, plan.station.timezone).context("starting the village lines")?;
    let sinks = sinks.into_iter().enumerate().map(|(i, s)| line.wrap(i, taps.wrap(i, s))).collect();
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
        let now = Utc::now();
        s.set_disk_warning(opts.disk_warn_mb.saturating_mul(1024 * 1024));
        s.set_line(Box::new(line));
        if let Some(why) = &fallback {
            s.set_problem(
                Concern::Fallback,
                Some((
                    format!("no sound card — villages hear NOTHING: {}", why.en),
                    format!("没有声卡——各村听不到广播：{}", why.zh),
                )),
                now,
            );
        }
        measure_disk(&paths, &mut s);
        let r = s.recover(now)?;
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

    // The tick: every second on the monotonic clock (a wall-clock step must not stop it or
    // bunch it up), with the disk measured every few seconds.
    let ticker = {
        let station = station.clone();
        let paths = paths.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_disk = std::time::Instant::now();
            loop {
                every.tick().await;
                let disk = last_disk.elapsed() >= DISK_EVERY;
                if disk {
                    last_disk = std::time::Instant::now();
                }
                let (station, paths) = (station.clone(), paths.clone());
                // The station lock and the disk syscall may block: off the async threads.
                let _ = tokio::task::spawn_blocking(move || {
                    let mut s = lock(&station);
                    if disk {
                        measure_disk(&paths, &mut s);
                    }
                    if let Err(e) = s.tick(Utc::now()) {
                        tracing::error!("planning: {e}");
                    }
                })
                .await;
            }
        })
    };
    // tokio-cron-scheduler wakes the station at each slot's cron in station time.
    let mut sched = JobScheduler::new().await.context("starting the job scheduler")?;
    let mut slot_jobs = reload::add_slot_jobs(&sched, &station).await;
    sched.start().await.context("starting the job scheduler")?;

    // Reloads: SIGHUP and changes under the content folders.
    let (reload_tx, mut reload_rx) = mpsc::unbounded_channel::<&'static str>();
    let _watcher = reload::watch(&paths, reload_tx.clone());
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;

    // HTTP.
    let listener =
        tokio::net::TcpListener::bind(&opts.listen).await.with_context(|| format!("listening on {}", opts.listen))?;
    let addr = listener.local_addr()?;
    let web_db = Store::open(&db).with_context(|| format!("opening the station database {}", db.display()))?;
    let setup = first_admin_link(&web_db, addr)?;
    let config = web::WebConfig { max_upload: opts.max_upload_mb.saturating_mul(1024 * 1024), ..Default::default() };
    let conns = web::server::ConnStats::default();
    let state = web::AppState::new(station.clone(), web_db, paths.clone(), config, taps).with_conn_stats(conns.clone());
    let app = web::router(state);
    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let http = tokio::spawn(web::server::serve(listener, app, web::server::Limits::default(), conns, async {
        let _ = http_stopped.await;
    }));
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
                let (paths, station2) = (paths.clone(), station.clone());
                let changed = tokio::task::spawn_blocking(move || reload::reload(&paths, &station2, why)).await?;
                if changed {
                    for id in slot_jobs.drain(..) {
                        let _ = sched.remove(&id).await;
                    }
                    slot_jobs = reload::add_slot_jobs(&sched, &station).await;
                }
            }
            _ = term.recv() => { tracing::info!("SIGTERM: stopping"); break; }
            _ = tokio::signal::ctrl_c() => { tracing::info!("interrupted: stopping"); break; }
        }
    }

    ticker.abort();
    let _ = sched.shutdown().await;
    let _ = stop_http.send(());
    // The server gives open requests a moment (event streams and listen-ins never end).
    let _ = http.await;
    // Stops the engine and closes the outputs (recorders finish their files); the event pump then
    // sees the channel close after the last events, which it writes.
    tokio::task::spawn_blocking(move || running.shutdown()).await?;
    tokio::task::spawn_blocking(move || pump.join()).await?.ok();
    lock(&station).finish(Utc::now());
    tracing::info!("stopped");
    Ok(())
}

/// Measures the state disk and tells the station.
fn measure_disk(paths: &Paths, s: &mut Station<Playout>) {
    match crate::os::disk_space(&paths.state) {
        Ok((free, total)) => s.observe_disk(free, total, Utc::now()),
        Err(e) => tracing::debug!("cannot measure the state disk: {e}"),
    }
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
