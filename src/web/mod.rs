//! The HTTP side of `serve`: `fn router(AppState) -> Router`. Handlers translate HTTP ↔ the
//! station, the library and the store; they hold no audio state.
//!
//! Pieces: [`auth`] (who is calling: session cookie with CSRF, or bearer token), [`error`] (one
//! error type, a clear sentence), and one file per area of the API. Everything mutating answers
//! 401 to anonymous callers and 403 to the wrong role.
//!
//! Health: `GET /healthz` (200 when every output plays, 503 naming the degraded ones or the
//! missing sound card the station fell back from) and `GET /metrics` (Prometheus text).

pub mod auth;
pub mod broadcast;
pub mod clips;
pub mod error;
mod i18n;
pub mod lines;
pub mod live;
mod memory;
pub mod openapi;
pub mod pages;
pub mod schedule;
pub mod server;
#[cfg(test)]
pub(crate) mod testkit;
mod throttle;
pub mod users;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;

pub use auth::{Caller, MaybeCaller};
pub use error::{ApiError, ApiResult};

use crate::commands::Paths;
use crate::daemon::{Shared, lock};
use crate::library::Library;
use crate::playout::Playout;
use crate::station::Station;
use crate::store::Store;

/// Settings of the web side.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Largest upload accepted, bytes.
    pub max_upload: u64,
    /// Imports running at once (the rest wait in a queue).
    pub import_workers: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self { max_upload: 200 * 1024 * 1024, import_workers: crate::library::queue::DEFAULT_WORKERS }
    }
}

/// Imports in a row that failed for the station's own reasons before health says so.
const IMPORT_FAILURES_BEFORE_ALARM: u32 = 3;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    station: Shared,
    db: Mutex<Store>,
    paths: Paths,
    config: WebConfig,
    taps: crate::output::Taps,
    conns: server::ConnStats,
    started: Instant,
    memory: memory::Memory,
    throttle: throttle::Throttle,
    /// Password checks running at once (each is tens of ms of CPU): the rest wait their turn.
    hashing: tokio::sync::Semaphore,
    imports: crate::library::ImportQueue,
    /// Imports in a row that failed for the station's own reasons (not the file's).
    import_failures: std::sync::atomic::AtomicU32,
}

impl AppState {
    /// State for a running station whose content lives under `paths`; `db` is the web side's own
    /// connection to the station database. `taps` are the listen-in taps the station's sinks
    /// were wrapped with.
    pub fn new(station: Shared, db: Store, paths: Paths, config: WebConfig, taps: crate::output::Taps) -> Self {
        let db = Mutex::new(db);
        let conns = server::ConnStats::default();
        let workers = config.import_workers;
        Self {
            inner: Arc::new(Inner {
                station,
                db,
                paths,
                config,
                taps,
                conns,
                started: Instant::now(),
                memory: memory::Memory::default(),
                throttle: throttle::Throttle::default(),
                hashing: tokio::sync::Semaphore::new(2),
                imports: crate::library::ImportQueue::new(workers),
                import_failures: std::sync::atomic::AtomicU32::new(0),
            }),
        }
    }

    /// Writes an audit entry; when the disk cannot take it, it waits in memory. Never fails.
    pub fn audit(&self, user: Option<&str>, action: &str, detail: Option<&str>) {
        let db = self.db();
        self.inner.memory.audit(&db, user, action, detail);
    }

    /// Sessions and audit entries kept in memory while the disk is full.
    pub(crate) fn memory(&self) -> &memory::Memory {
        &self.inner.memory
    }

    /// Login back-off.
    pub(crate) fn throttle(&self) -> &throttle::Throttle {
        &self.inner.throttle
    }

    /// Permits for password checks.
    pub(crate) fn hashing(&self) -> &tokio::sync::Semaphore {
        &self.inner.hashing
    }

    /// The import pool.
    pub fn imports(&self) -> &crate::library::ImportQueue {
        &self.inner.imports
    }

    /// Counts an import that ended: `station_fault` when it failed for the station's own reasons
    /// (a disk error, not a refused file). Several in a row raise a health problem; a success
    /// clears it.
    pub(crate) fn import_ended(&self, station_fault: Option<&str>) {
        use std::sync::atomic::Ordering;
        let now = Utc::now();
        match station_fault {
            None => {
                if self.inner.import_failures.swap(0, Ordering::Relaxed) >= IMPORT_FAILURES_BEFORE_ALARM {
                    self.station().set_problem(crate::station::Concern::Imports, None, now);
                }
            }
            Some(why) => {
                let n = self.inner.import_failures.fetch_add(1, Ordering::Relaxed) + 1;
                if n >= IMPORT_FAILURES_BEFORE_ALARM {
                    self.station().set_problem(
                        crate::station::Concern::Imports,
                        Some((
                            format!("the last {n} uploads could not be imported: {why}"),
                            format!("最近 {n} 个上传都没能导入：{why}"),
                        )),
                        now,
                    );
                }
            }
        }
    }

    /// The same state, reporting the counters of the HTTP server in front of it.
    pub fn with_conn_stats(self, conns: server::ConnStats) -> Self {
        let inner =
            Arc::try_unwrap(self.inner).unwrap_or_else(|_| panic!("with_conn_stats before the state is shared"));
        Self { inner: Arc::new(Inner { conns, ..inner }) }
    }

    /// Listen-in taps on the station's outputs.
    pub fn taps(&self) -> &crate::output::Taps {
        &self.inner.taps
    }

    /// The running station (lock briefly: the playout's events wait for it).
    pub fn station(&self) -> MutexGuard<'_, Station<Playout>> {
        lock(&self.inner.station)
    }

    /// The shared station handle (for background work).
    pub fn shared(&self) -> &Shared {
        &self.inner.station
    }

    /// The web side's database connection (users, sessions, audit, log queries).
    pub fn db(&self) -> MutexGuard<'_, Store> {
        self.inner.db.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Content and state folders.
    pub fn paths(&self) -> &Paths {
        &self.inner.paths
    }

    /// The clip library.
    pub fn library(&self) -> Library {
        self.inner.paths.library()
    }

    /// Web settings.
    pub fn config(&self) -> &WebConfig {
        &self.inner.config
    }
}

/// Every route of the station's web server.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/villages", get(villages))
        .merge(auth::routes())
        .merge(schedule::routes())
        .merge(users::routes())
        .merge(pages::routes())
        .merge(broadcast::routes())
        .merge(lines::routes())
        .merge(clips::routes())
        .merge(live::routes())
        .merge(openapi::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(error::json_errors))
        .with_state(state)
}

/// Any address the station does not have: a JSON sentence (the pages have their own links).
async fn not_found(uri: axum::http::Uri) -> ApiError {
    let path: String = uri.path().chars().take(200).collect();
    ApiError::not_found((
        format!("page or API address `{path}` on this station"),
        format!("这个页面或接口地址 `{path}`"),
    ))
}

#[derive(serde::Serialize)]
struct Health {
    /// `ok`, or `degraded` when anything a village would notice is wrong.
    status: &'static str,
    /// What is wrong, one sentence each (English and Chinese), since when.
    problems: Vec<crate::station::Problem>,
    /// Why the configured sound card is not used, when the station fell back to the virtual profile.
    fallback: Option<String>,
    uptime_s: u64,
    profile: String,
    degraded_outputs: Vec<String>,
    next_cue: Option<chrono::DateTime<Utc>>,
    on_air: usize,
    /// Free space on the state disk, MiB.
    disk_free_mb: Option<u64>,
    /// As-run writes waiting for the disk.
    asrun_held: u64,
}

async fn healthz(State(st): State<AppState>) -> Response {
    let s = st.station();
    let degraded: Vec<String> =
        s.metrics().outputs.iter().filter(|(_, up)| !**up).map(|(name, _)| name.clone()).collect();
    let problems = s.health().problems();
    let ok = problems.is_empty();
    let fallback = problems.iter().find(|p| p.reason == "fallback").map(|p| p.message.clone());
    let body = Health {
        status: if ok { "ok" } else { "degraded" },
        problems,
        fallback,
        uptime_s: st.inner.started.elapsed().as_secs(),
        profile: s.plan().profile.name.clone(),
        next_cue: s.next_cue().map(|c| c.at),
        on_air: s.on_air_count(),
        degraded_outputs: degraded,
        disk_free_mb: s.metrics().disk.map(|(free, _)| free / (1024 * 1024)),
        asrun_held: s.metrics().asrun_held,
    };
    let code = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(body)).into_response()
}

async fn metrics(State(st): State<AppState>) -> Response {
    let mut text = {
        let s = st.station();
        s.metrics().render(Utc::now(), s.next_cue().map(|c| c.at), s.on_air_count(), s.health())
    };
    let c = &st.inner.conns;
    use std::fmt::Write;
    let lines = st.station().line_states();
    if lines.values().any(|l| l.power.is_some()) {
        let _ = writeln!(text, "# HELP xiangyin_amplifier_on 1 while a zone's amplifier relay is on.");
        let _ = writeln!(text, "# TYPE xiangyin_amplifier_on gauge");
        for (zone, l) in lines.iter().filter(|(_, l)| l.power.is_some()) {
            let _ = writeln!(text, "xiangyin_amplifier_on{{zone=\"{zone}\"}} {}", u8::from(l.power == Some(true)));
        }
        let _ = writeln!(
            text,
            "# HELP xiangyin_amplifier_relay_up 0 while the relay of a zone's amplifier does not answer."
        );
        let _ = writeln!(text, "# TYPE xiangyin_amplifier_relay_up gauge");
        for (zone, l) in lines.iter().filter(|(_, l)| l.power.is_some()) {
            let _ = writeln!(text, "xiangyin_amplifier_relay_up{{zone=\"{zone}\"}} {}", u8::from(!l.relay_failing));
        }
    }
    let _ = writeln!(text, "# HELP xiangyin_http_connections HTTP connections open now.");
    let _ = writeln!(text, "# TYPE xiangyin_http_connections gauge");
    let _ = writeln!(text, "xiangyin_http_connections {}", c.open());
    let _ =
        writeln!(text, "# HELP xiangyin_http_connections_refused_total Connections closed at once: a cap was reached.");
    let _ = writeln!(text, "# TYPE xiangyin_http_connections_refused_total counter");
    let _ = writeln!(text, "xiangyin_http_connections_refused_total {}", c.refused());
    let _ = writeln!(text, "# HELP xiangyin_http_accept_errors_total Connections the server could not accept.");
    let _ = writeln!(text, "# TYPE xiangyin_http_accept_errors_total counter");
    let _ = writeln!(text, "xiangyin_http_accept_errors_total {}", c.accept_errors());
    let _ =
        writeln!(text, "# HELP xiangyin_audit_held_entries Audit entries kept in memory until the disk takes them.");
    let _ = writeln!(text, "# TYPE xiangyin_audit_held_entries gauge");
    let _ = writeln!(text, "xiangyin_audit_held_entries {}", st.memory().audit_held());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// `GET /api/villages`: every village's live state, for logged-in people (it says what plays
/// where; the OpenAPI document always said it needs a login).
async fn villages(State(st): State<AppState>, _caller: Caller) -> Response {
    Json(st.station().status()).into_response()
}

#[cfg(test)]
#[path = "tests_hardening.rs"]
mod tests_hardening;
