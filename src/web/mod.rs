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
pub mod live;
pub mod openapi;
pub mod pages;
pub mod schedule;
#[cfg(test)]
pub(crate) mod testkit;
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
}

impl Default for WebConfig {
    fn default() -> Self {
        Self { max_upload: 200 * 1024 * 1024 }
    }
}

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
    fallback: Option<String>,
    taps: crate::output::Taps,
    started: Instant,
}

impl AppState {
    /// State for a running station whose content lives under `paths`; `db` is the web side's own
    /// connection to the station database. `fallback` says why the station runs on the virtual
    /// profile instead of the configured one, if it does.
    /// `taps` are the listen-in taps the station's sinks were wrapped with.
    pub fn new(
        station: Shared,
        db: Store,
        paths: Paths,
        config: WebConfig,
        fallback: Option<String>,
        taps: crate::output::Taps,
    ) -> Self {
        let db = Mutex::new(db);
        Self { inner: Arc::new(Inner { station, db, paths, config, fallback, taps, started: Instant::now() }) }
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
        .merge(clips::routes())
        .merge(live::routes())
        .merge(openapi::routes())
        .with_state(state)
}

#[derive(serde::Serialize)]
struct Health {
    status: &'static str,
    /// Why the configured sound card is not used, when the station fell back to the virtual profile.
    fallback: Option<String>,
    uptime_s: u64,
    profile: String,
    degraded_outputs: Vec<String>,
    next_cue: Option<chrono::DateTime<Utc>>,
    on_air: usize,
}

async fn healthz(State(st): State<AppState>) -> Response {
    let s = st.station();
    let degraded: Vec<String> =
        s.metrics().outputs.iter().filter(|(_, up)| !**up).map(|(name, _)| name.clone()).collect();
    let ok = degraded.is_empty() && st.inner.fallback.is_none();
    let body = Health {
        status: if ok { "ok" } else { "degraded" },
        fallback: st.inner.fallback.clone(),
        uptime_s: st.inner.started.elapsed().as_secs(),
        profile: s.plan().profile.name.clone(),
        next_cue: s.next_cue().map(|c| c.at),
        on_air: s.on_air_count(),
        degraded_outputs: degraded,
    };
    let code = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(body)).into_response()
}

async fn metrics(State(st): State<AppState>) -> Response {
    let s = st.station();
    let text = s.metrics().render(Utc::now(), s.next_cue().map(|c| c.at), s.on_air_count(), s.health());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

async fn villages(State(st): State<AppState>) -> Response {
    Json(st.station().status()).into_response()
}
