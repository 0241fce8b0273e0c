//! Router tests for broadcast now, the as-run log and the live events, over a real station (real
//! engine into null outputs, real SQLite) built from a copy of the demo content.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

use crate::web::WebConfig;
use crate::web::testkit::TestApp;

/// The demo without quiet hours: these tests broadcast now, whatever the hour.
fn demo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    crate::web::testkit::copy_demo_awake(dir.path());
    dir
}

enum Who<'a> {
    Nobody,
    Cookie(&'a TestApp, &'a str, bool),
    Bearer(&'a TestApp, &'a str),
}

async fn call(
    app: &TestApp,
    method: &str,
    uri: &str,
    who: Who<'_>,
    body: Option<serde_json::Value>,
) -> (StatusCode, String) {
    // The English sentences are what these tests read (the Chinese ones have tests of their own).
    let mut req = Request::builder().method(method).uri(uri).header(header::ACCEPT_LANGUAGE, "en");
    match who {
        Who::Nobody => {}
        Who::Cookie(app, user, with_csrf) => {
            let (cookie, csrf) = app.login(user);
            req = req.header(header::COOKIE, cookie);
            if with_csrf {
                req = req.header("x-csrf-token", csrf);
            }
        }
        Who::Bearer(app, user) => req = req.header(header::AUTHORIZATION, format!("Bearer {}", app.token(user))),
    }
    let body = match body {
        Some(b) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let res = app.router.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

/// Waits until the as-run log (as the API shows it) satisfies `pred`.
async fn log_until(app: &TestApp, what: &str, pred: impl Fn(&[serde_json::Value]) -> bool) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, body) = call(app, "GET", "/api/log", Who::Cookie(app, "uploader", false), None).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        let rows = json(&body).as_array().unwrap().clone();
        if pred(&rows) {
            return rows;
        }
        assert!(Instant::now() < deadline, "waited for {what}: {rows:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_now_plays_each_village_in_its_language_and_stops() {
    let dir = demo();
    let app = TestApp::new(dir.path(), WebConfig::default());
    let req = serde_json::json!({"targets": {"townships": ["城关镇"]}, "message": "fire-safety", "priority": "manual"});
    let (code, body) = call(&app, "POST", "/api/broadcasts", Who::Cookie(&app, "operator", true), Some(req)).await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    let b = json(&body);
    let cues = b["cues"].as_array().unwrap();
    let lang = |v: &str| cues.iter().find(|c| c["village"] == v).map(|c| c["language"].as_str().unwrap().to_owned());
    assert_eq!(cues.len(), 4, "the four villages of 城关镇: {body}");
    assert_eq!(lang("dongmen").as_deref(), Some("yue-qingxi"), "dialect first");
    assert_eq!(lang("nanjie").as_deref(), Some("cmn"), "南街 speaks Mandarin");
    let id = b["id"].as_str().unwrap().to_owned();
    // On air: the log says so, with priority manual and no slot.
    let rows = log_until(&app, "four manual cues on air", |r| {
        r.iter().filter(|x| x["priority"] == "manual" && x["started"].is_string()).count() == 4
    })
    .await;
    assert!(rows.iter().all(|x| x["slot"].is_null()));
    let (code, _) =
        call(&app, "DELETE", &format!("/api/broadcasts/{id}"), Who::Cookie(&app, "operator", true), None).await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    log_until(&app, "four stopped cues", |r| r.iter().filter(|x| x["outcome"] == "stopped").count() == 4).await;
    let (code, body) =
        call(&app, "DELETE", &format!("/api/broadcasts/{id}"), Who::Cookie(&app, "operator", true), None).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    // CSV for the county office.
    let (code, csv) =
        call(&app, "GET", "/api/log?format=csv&village=dongmen", Who::Cookie(&app, "uploader", false), None).await;
    assert_eq!(code, StatusCode::OK);
    assert!(csv.starts_with("cue,village"), "{csv}");
    assert_eq!(csv.lines().count(), 2, "header + dongmen's one cue: {csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_auth_matrix_and_bad_input() {
    let dir = demo();
    let app = TestApp::new(dir.path(), WebConfig::default());
    let ok = serde_json::json!({"targets": {"villages": ["ximen"]}, "message": "flu-vaccine", "priority": "emergency"});
    let (code, body) = call(&app, "POST", "/api/broadcasts", Who::Nobody, Some(ok.clone())).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "{body}");
    let (code, body) =
        call(&app, "POST", "/api/broadcasts", Who::Cookie(&app, "uploader", true), Some(ok.clone())).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{body}");
    assert!(json(&body)["error"].as_str().unwrap().contains("uploader"), "{body}");
    let (code, body) =
        call(&app, "POST", "/api/broadcasts", Who::Cookie(&app, "operator", false), Some(ok.clone())).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "no CSRF token: {body}");
    assert!(body.contains("CSRF"), "{body}");
    let (code, body) = call(&app, "POST", "/api/broadcasts", Who::Bearer(&app, "admin"), Some(ok)).await;
    assert_eq!(code, StatusCode::CREATED, "a script with a token: {body}");
    assert_eq!(json(&body)["cues"][0]["priority"], "emergency");
    let (code, body) = call(&app, "DELETE", "/api/broadcasts/nope", Who::Nobody, None).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "{body}");
    let (code, body) = call(&app, "DELETE", "/api/broadcasts/nope", Who::Cookie(&app, "uploader", true), None).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{body}");

    for (req, needle) in [
        (serde_json::json!({"targets": {"villages": ["atlantis"]}, "message": "fire-safety"}), "no village `atlantis`"),
        (serde_json::json!({"targets": {}, "message": "fire-safety"}), "at least one village"),
        (serde_json::json!({"targets": {"all": true}}), "one message or one clip"),
        (
            serde_json::json!({"targets": {"all": true}, "message": "no-such-notice"}),
            "approved recording of no-such-notice",
        ),
        (
            serde_json::json!({"targets": {"all": true}, "message": "fire-safety", "priority": "live"}),
            "not manual or emergency",
        ),
        (serde_json::json!({"targets": {"all": true}, "clip": "fire-safety"}), "is not a clip id"),
    ] {
        let (code, body) = call(&app, "POST", "/api/broadcasts", Who::Cookie(&app, "operator", true), Some(req)).await;
        // Well formed but with nothing to play is the station's state (409); the rest is the request.
        let want =
            if needle.starts_with("approved recording") { StatusCode::CONFLICT } else { StatusCode::BAD_REQUEST };
        assert_eq!(code, want, "{body}");
        assert!(json(&body)["error"].as_str().unwrap().contains(needle), "{needle}: {body}");
    }
    let (code, _) = call(&app, "GET", "/api/log", Who::Nobody, None).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, _) = call(&app, "GET", "/api/events", Who::Nobody, None).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stream_the_villages_state() {
    let dir = demo();
    let app = TestApp::new(dir.path(), WebConfig::default());
    let (cookie, _) = app.login("operator");
    let req = Request::builder().uri("/api/events").header(header::COOKIE, cookie).body(Body::empty()).unwrap();
    let res = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = res.into_body().into_data_stream();
    use futures_util::StreamExt;
    let first = tokio::time::timeout(Duration::from_secs(5), body.next()).await.unwrap().unwrap().unwrap();
    let text = String::from_utf8_lossy(&first);
    assert!(text.starts_with("event: villages\ndata: ["), "{text}");
    assert!(text.contains("\"village\":\"dongmen\"") && text.contains("东门村"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_in_hears_the_zone_that_plays_and_only_it() {
    use futures_util::StreamExt;
    let dir = demo();
    let app = TestApp::new(dir.path(), WebConfig::default());
    let (code, _) = call(&app, "GET", "/api/listen/dongmen", Who::Nobody, None).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, body) = call(&app, "GET", "/api/listen/atlantis", Who::Cookie(&app, "uploader", false), None).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    let open = |zone: &str| {
        let (cookie, _) = app.login("uploader");
        let req = Request::builder().uri(format!("/api/listen/{zone}")).header(header::COOKIE, cookie);
        app.router.clone().oneshot(req.body(Body::empty()).unwrap())
    };
    let dongmen = open("dongmen").await.unwrap();
    let ximen = open("ximen").await.unwrap();
    assert_eq!(dongmen.headers()[header::CONTENT_TYPE], "audio/wav");
    let req = serde_json::json!({"targets": {"villages": ["dongmen"]}, "message": "fire-safety"});
    let (code, body) = call(&app, "POST", "/api/broadcasts", Who::Cookie(&app, "operator", true), Some(req)).await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    // Read about two seconds of each stream.
    async fn peak(res: axum::response::Response) -> (Vec<u8>, i16) {
        let mut s = res.into_body().into_data_stream();
        let mut bytes = Vec::new();
        while bytes.len() < 44 + 2 * 48_000 * 2 {
            let chunk = tokio::time::timeout(Duration::from_secs(10), s.next()).await.unwrap().unwrap().unwrap();
            bytes.extend_from_slice(&chunk);
        }
        let peak = bytes[44..].chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]]).saturating_abs()).max();
        (bytes[..44].to_vec(), peak.unwrap())
    }
    let ((head, loud), (_, quiet)) = tokio::join!(peak(dongmen), peak(ximen));
    assert_eq!(&head[..4], b"RIFF");
    assert_eq!(u32::from_le_bytes(head[24..28].try_into().unwrap()), 48_000, "the output's rate");
    assert!(loud > 3000, "dongmen plays the notice: peak {loud}");
    assert_eq!(quiet, 0, "ximen is silent");
}
