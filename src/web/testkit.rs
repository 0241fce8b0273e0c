//! A whole web app over a real station for router tests (`oneshot`) and real-server tests: the
//! content under `root` (copy the demo into a temp dir), the real engine playing into null outputs,
//! a real SQLite file under `root/var`, users of every role.
//!
//! Not for production use: `serve` builds its state in `daemon`.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

use super::{AppState, WebConfig, router};
use crate::commands::Paths;
use crate::config;
use crate::engine::EngineConfig;
use crate::library::catalog_of;
use crate::output::{NullSink, Sink};
use crate::playout::{self, Running};
use crate::station::Station;
use crate::store::{self, Store};

/// Copies the repository's demo content (`schedules/`, `hardware-profiles/`, `audio-library/`)
/// under `root`: text files copied, audio hard-linked when the file system allows (tests that
#[path = "../../tests/common/demo.rs"]
mod demo;

/// Copies the repository's demo content (as git has it, not as the working tree may have been
/// changed by trying `make run`) into `root`.
pub fn copy_demo(root: &Path) {
    demo::copy_demo_from(Path::new(env!("CARGO_MANIFEST_DIR")), root);
}

/// Copies the demo content into `root` without quiet hours, for tests that broadcast at the
/// wall clock's time, whatever the hour.
pub fn copy_demo_awake(root: &Path) {
    demo::copy_demo_awake_from(Path::new(env!("CARGO_MANIFEST_DIR")), root);
}

/// The password of every test user (`admin`, `operator`, `uploader`).
pub const PASSWORD: &str = "correct horse battery";

/// A running test app. Dropping it stops the playout thread.
pub struct TestApp {
    /// The router (clone it for each `oneshot`).
    pub router: Router,
    /// The state behind it.
    pub state: AppState,
    running: Option<Running>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown();
        }
    }
}

impl TestApp {
    /// An app over the content under `root` with the `virtual` profile's wiring (null outputs),
    /// and users `admin`, `operator`, `uploader` with [`PASSWORD`]. Playout events are applied to
    /// the station by a background thread, as in `serve`.
    pub fn new(root: &Path, config: WebConfig) -> TestApp {
        let paths = Paths::new(root, None);
        let library = paths.library();
        let (clips, _) = library.list().expect("library");
        let plan = config::load(&paths.layout, Some("virtual"), &catalog_of(&clips)).expect("content checks");
        let taps = crate::output::Taps::new();
        let sinks: Vec<Box<dyn Sink>> =
            plan.profile.outputs.iter().enumerate().map(|(i, o)| taps.wrap(i, Box::new(NullSink::new(o)))).collect();
        let mut running =
            playout::start(&plan.profile, &EngineConfig::default(), sinks, Duration::from_millis(50)).expect("playout");
        let events = std::mem::replace(&mut running.events, std::sync::mpsc::channel().1);
        let db_path = store::default_path(&paths.state);
        let store = Store::open(&db_path).expect("store");
        let station = Arc::new(Mutex::new(Station::new(plan, &clips, library, store, running.handle.clone())));
        {
            let station = station.clone();
            std::thread::spawn(move || {
                for ev in events {
                    let _ = crate::daemon::lock(&station).on_event(ev);
                }
            });
        }
        let web_db = Store::open(&db_path).expect("store");
        for (name, role) in [
            ("admin", crate::domain::Role::Admin),
            ("operator", crate::domain::Role::Operator),
            ("uploader", crate::domain::Role::Uploader),
        ] {
            if web_db.user(name).expect("user").is_none() {
                web_db.add_user(name, role, PASSWORD).expect("add user");
            }
        }
        let state = AppState::new(station, web_db, paths, config, taps);
        TestApp { router: router(state.clone()), state, running: Some(running) }
    }

    /// A session for `user`: (cookie header value, csrf token).
    pub fn login(&self, user: &str) -> (String, String) {
        let (token, csrf) = self.state.db().create_session(user, Duration::from_secs(3600)).expect("session");
        (format!("{}={token}", super::auth::COOKIE), csrf)
    }

    /// An API token for `user`.
    pub fn token(&self, user: &str) -> String {
        let label = format!("test-{}", self.state.db().list_api_tokens(Some(user)).map(|t| t.len()).unwrap_or(0));
        self.state.db().create_api_token(user, &label).expect("token")
    }
}

/// A test app over a copy of the demo content (schedules, wiring, clip library).
pub fn demo_app() -> (tempfile::TempDir, TestApp) {
    let dir = tempfile::tempdir().unwrap();
    crate::web::testkit::copy_demo(dir.path());
    let app = TestApp::new(dir.path(), WebConfig::default());
    (dir, app)
}

/// How a test request authenticates.
#[derive(Clone, Copy)]
pub enum As<'a> {
    /// Nobody.
    Anonymous,
    /// A session cookie with its CSRF token.
    Session(&'a str),
    /// A session cookie without the CSRF header.
    SessionNoCsrf(&'a str),
    /// A bearer token.
    Bearer(&'a str),
}

/// Sends one request through the router: (status, headers, body text).
pub async fn send(
    app: &TestApp,
    who: As<'_>,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    // The English sentences are what these tests read (the Chinese ones have tests of their own).
    let mut req = Request::builder().method(method).uri(uri).header(header::ACCEPT_LANGUAGE, "en");
    match who {
        As::Anonymous => {}
        As::Session(user) => {
            let (cookie, csrf) = app.login(user);
            req = req.header(header::COOKIE, cookie).header(super::auth::CSRF_HEADER, csrf);
        }
        As::SessionNoCsrf(user) => req = req.header(header::COOKIE, app.login(user).0),
        As::Bearer(user) => req = req.header(header::AUTHORIZATION, format!("Bearer {}", app.token(user))),
    }
    let req = match body {
        Some(v) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(v.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let res = app.router.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (parts.status, parts.headers, String::from_utf8_lossy(&bytes).into_owned())
}

/// `secs` of a `hz` tone at `amp`, 48 kHz mono 16-bit WAV.
pub fn tone(secs: f64, hz: f64, amp: f64) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut buf, spec).unwrap();
    for i in 0..(secs * 48_000.0) as u32 {
        let x = amp * (2.0 * std::f64::consts::PI * hz * f64::from(i) / 48_000.0).sin();
        w.write_sample((x * f64::from(i16::MAX)) as i16).unwrap();
    }
    w.finalize().unwrap();
    buf.into_inner()
}

pub const BOUNDARY: &str = "xiangyin-test-boundary-7d3f";

/// A multipart/form-data body with text `fields` and a `file`.
pub fn form(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in fields {
        out.extend(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").bytes());
    }
    if let Some((name, bytes)) = file {
        out.extend(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .bytes(),
        );
        out.extend_from_slice(bytes);
        out.extend(b"\r\n");
    }
    out.extend(format!("--{BOUNDARY}--\r\n").bytes());
    out
}
