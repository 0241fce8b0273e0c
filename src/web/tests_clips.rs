//! Router tests for the clip API over a real station (real engine into null outputs, real SQLite)
//! built from a copy of the demo content: uploads (streamed, refused, too large, repeated), the
//! list and its filters, edits and reviews with the role and CSRF rules, deletes refused while
//! something uses the clip, downloads with Range, and ids that try to leave the library.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::domain::Role;
use crate::web::WebConfig;
use crate::web::testkit::{BOUNDARY, PASSWORD, TestApp, form, tone};

/// The demo without quiet hours: these tests broadcast what they upload, whatever the hour.
fn demo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    crate::web::testkit::copy_demo_awake(dir.path());
    dir
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).into_iter().flatten() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.insert(p.strip_prefix(base).unwrap().display().to_string(), std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// What is left in the staging folder.
fn staging(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("var/staging"))
        .into_iter()
        .flatten()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[derive(Clone, Copy)]
enum Who<'a> {
    Nobody,
    Cookie(&'a str, bool),
    Bearer(&'a str),
}

async fn send(
    app: &TestApp,
    method: &str,
    uri: &str,
    who: Who<'_>,
    body: Option<(&str, Vec<u8>)>,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    // The English sentences are what these tests read (the Chinese ones have tests of their own).
    let mut req = Request::builder().method(method).uri(uri).header(header::ACCEPT_LANGUAGE, "en");
    match who {
        Who::Nobody => {}
        Who::Cookie(user, with_csrf) => {
            let (cookie, csrf) = app.login(user);
            req = req.header(header::COOKIE, cookie);
            if with_csrf {
                req = req.header("x-csrf-token", csrf);
            }
        }
        Who::Bearer(user) => req = req.header(header::AUTHORIZATION, format!("Bearer {}", app.token(user))),
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = match body {
        Some((ct, bytes)) => {
            req = req.header(header::CONTENT_TYPE, ct);
            Body::from(bytes)
        }
        None => Body::empty(),
    };
    let res = app.router.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
    (status, headers, bytes.to_vec())
}

async fn call(app: &TestApp, method: &str, uri: &str, who: Who<'_>, body: Option<Value>) -> (StatusCode, Value) {
    let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
    let (status, _, bytes) = send(app, method, uri, who, body, &[]).await;
    let text = String::from_utf8_lossy(&bytes);
    let v =
        if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text.into())) };
    (status, v)
}

async fn upload(
    app: &TestApp,
    who: Who<'_>,
    fields: &[(&str, &str)],
    file: Option<(&str, &[u8])>,
) -> (StatusCode, Value) {
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let (status, _, bytes) = send(app, "POST", "/api/clips", who, Some((&ct, form(fields, file))), &[]).await;
    (status, serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes))))
}

fn error(v: &Value) -> &str {
    v["error"].as_str().unwrap_or_else(|| panic!("no error sentence: {v}"))
}

const NOTICE: &[(&str, &str)] = &[("title", "村口通知"), ("language", "cmn"), ("kind", "notice")];
/// 防火通知's Mandarin variant in the demo, used by two slots.
const USED: &str = "56bea58b184df58c";
/// The station chime.
const CHIME: &str = "39e324582b3f496d";

/// Uploads a fresh tone as `user`; its id.
async fn uploaded(app: &TestApp, user: &str, hz: f64, secs: f64) -> String {
    let wav = tone(secs, hz, 0.2);
    let (code, v) = upload(app, Who::Cookie(user, true), NOTICE, Some(("tone.wav", &wav))).await;
    assert_eq!(code, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_is_imported_measured_and_kept_as_given() {
    let dir = demo();
    let app = TestApp::new(dir.path(), WebConfig::default());
    let wav = tone(1.5, 440.0, 0.2);
    let fields = [
        ("title", "<script>alert(1)</script> 通知"),
        ("language", "cmn"),
        ("kind", "notice"),
        ("transcript", "各位村民请注意"),
        ("expires", "2027-03-01"),
        ("max_plays_per_day", "2"),
    ];
    let (code, v) = upload(&app, Who::Cookie("uploader", true), &fields, Some(("村口通知 (1).wav", &wav))).await;
    assert_eq!(code, StatusCode::CREATED, "{v}");
    assert_eq!(v["title"], "<script>alert(1)</script> 通知", "stored as given; escaping is the pages' job");
    assert_eq!(v["uploader"], "web:uploader");
    assert_eq!(v["review"]["state"], "pending");
    assert_eq!(v["language"], "cmn");
    assert_eq!(v["transcript"], "各位村民请注意");
    assert_eq!(v["expires"], "2027-03-01");
    assert_eq!(v["max_plays_per_day"], 2);
    assert_eq!(v["used_by"], json!([]));
    assert!(v.get("existing").is_none(), "{v}");
    assert_eq!(v["original"]["uploaded_name"], "村口通知 (1).wav", "the uploaded name, not the staged one");
    assert_eq!(v["original"]["file"], "original.wav");
    assert_eq!(v["original"]["bytes"], wav.len());
    let lufs = v["loudness"]["integrated_lufs"].as_f64().unwrap();
    assert!((-20.0..-10.0).contains(&lufs), "a −14 dBFS tone: {v}");
    assert!(v["loudness"]["true_peak_dbtp"].as_f64().unwrap() < -10.0, "{v}");
    assert!((v["duration_s"].as_f64().unwrap() - 1.5).abs() < 0.01, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    assert!(dir.path().join("audio-library").join(&id).join("canonical.wav").exists());
    assert!(staging(dir.path()).is_empty(), "staging: {:?}", staging(dir.path()));
    let (code, got) = call(&app, "GET", &format!("/api/clips/{id}"), Who::Cookie("operator", false), None).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(got, v);
    let audit = app.state.db().audit_log(5).unwrap();
    assert!(audit.iter().any(|a| a.action == "clip-upload" && a.user.as_deref() == Some("uploader")), "{audit:?}");

    // The same bytes again, under another name and title: the clip already there.
    let before = snapshot(&dir.path().join("audio-library"));
    let again = [("title", "另一个标题"), ("language", "cmn")];
    let (code, v2) = upload(&app, Who::Bearer("operator"), &again, Some(("copy.wav", &wav))).await;
    assert_eq!(code, StatusCode::OK, "{v2}");
    assert_eq!(v2["existing"], true);
    assert_eq!(v2["id"], id.as_str());
    assert_eq!(v2["title"], "<script>alert(1)</script> 通知");
    assert_eq!(snapshot(&dir.path().join("audio-library")), before);
    assert!(staging(dir.path()).is_empty());

    // The running station knows the clip at once: once approved, it can be broadcast.
    let (code, v) = call(
        &app,
        "POST",
        &format!("/api/clips/{id}/review"),
        Who::Cookie("operator", true),
        Some(json!({"decision": "approve"})),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    let b = json!({"targets": {"villages": ["nanjie"]}, "clip": id, "priority": "manual"});
    let (code, v) = call(&app, "POST", "/api/broadcasts", Who::Cookie("operator", true), Some(b)).await;
    assert_eq!(code, StatusCode::CREATED, "{v}");
    assert_eq!(v["cues"][0]["clip"], id.as_str());
}

/// What is uploaded (name, fields, file), and the status and words of the refusal.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Option<(&'a str, &'a [u8])>, StatusCode, &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_uploads_say_why_and_change_nothing() {
    let dir = demo();
    let app = TestApp::new(dir.path(), WebConfig::default());
    let library = dir.path().join("audio-library");
    let before = snapshot(&library);
    let good = tone(2.0, 440.0, 0.2);
    let mut truncated = good.clone();
    truncated.truncate(good.len() / 3);
    let noise: Vec<u8> = (0..20_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let silent = tone(1.0, 440.0, 0.0);
    let cases: Vec<Case<'_>> = vec![
        ("truncated WAV", NOTICE, Some(("cut.wav", &truncated)), StatusCode::BAD_REQUEST, "cut off"),
        ("random bytes", NOTICE, Some(("song.mp3", &noise)), StatusCode::UNSUPPORTED_MEDIA_TYPE, "not an audio file"),
        ("empty file", NOTICE, Some(("empty.wav", b"")), StatusCode::BAD_REQUEST, "empty"),
        ("silence", NOTICE, Some(("quiet.wav", &silent)), StatusCode::UNPROCESSABLE_ENTITY, "silent"),
        (
            "unknown language",
            &[("title", "x"), ("language", "fra")],
            Some(("a.wav", &good)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not one of the station's languages",
        ),
        (
            "no language",
            &[("title", "x")],
            Some(("a.wav", &good)),
            StatusCode::BAD_REQUEST,
            "Qingxi dialect (yue-qingxi), Mandarin (cmn), Music / no speech (zxx)",
        ),
        (
            "bad kind",
            &[("language", "cmn"), ("kind", "poem")],
            Some(("a.wav", &good)),
            StatusCode::BAD_REQUEST,
            "not a clip kind",
        ),
        (
            "bad date",
            &[("language", "cmn"), ("expires", "next week")],
            Some(("a.wav", &good)),
            StatusCode::BAD_REQUEST,
            "YYYY-MM-DD",
        ),
        (
            "zero plays",
            &[("language", "cmn"), ("max_plays_per_day", "0")],
            Some(("a.wav", &good)),
            StatusCode::BAD_REQUEST,
            "at least 1",
        ),
        ("no file", NOTICE, None, StatusCode::BAD_REQUEST, "`file` field is missing"),
        ("unknown field", &[("review", "approved")], Some(("a.wav", &good)), StatusCode::BAD_REQUEST, "not a field"),
    ];
    for (what, fields, file, status, needle) in cases {
        let (code, v) = upload(&app, Who::Cookie("uploader", true), fields, file).await;
        assert_eq!(code, status, "{what}: {v}");
        let e = error(&v);
        assert!(e.contains(needle), "{what}: {e}");
        assert!(e.starts_with(|c: char| c.is_uppercase() || c == '`') && e.ends_with('.'), "{what}: one sentence: {e}");
        assert_eq!(snapshot(&library), before, "{what}: the library is unchanged");
        assert!(staging(dir.path()).is_empty(), "{what}: staging {:?}", staging(dir.path()));
    }
    // Not multipart at all.
    let (code, _, body) =
        send(&app, "POST", "/api/clips", Who::Cookie("uploader", true), Some(("audio/wav", good.clone())), &[]).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&body));
    // Who may upload: anyone logged in, with the page's CSRF token.
    let (code, v) = upload(&app, Who::Nobody, NOTICE, Some(("a.wav", &good))).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "{v}");
    let (code, v) = upload(&app, Who::Cookie("uploader", false), NOTICE, Some(("a.wav", &good))).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{v}");
    assert!(error(&v).contains("CSRF"));
    assert_eq!(snapshot(&library), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_over_the_limit_is_413_and_leaves_nothing() {
    let dir = demo();
    let app = TestApp::new(dir.path(), WebConfig { max_upload: 10_000, ..WebConfig::default() });
    let library = dir.path().join("audio-library");
    let before = snapshot(&library);
    let big = tone(1.0, 440.0, 0.2); // 96 kB
    let (code, v) = upload(&app, Who::Cookie("uploader", true), NOTICE, Some(("big.wav", &big))).await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert!(error(&v).contains("0.01 MB"), "{v}");
    assert!(staging(dir.path()).is_empty(), "staging: {:?}", staging(dir.path()));
    assert_eq!(snapshot(&library), before);
    // Just under the limit passes our count (and the body limit, which has a margin): a short beep.
    let small = tone(0.1, 880.0, 0.2);
    assert!(small.len() < 10_000);
    let (code, v) = upload(&app, Who::Cookie("uploader", true), NOTICE, Some(("beep.wav", &small))).await;
    assert_eq!(code, StatusCode::CREATED, "{v}");
    assert!(staging(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_larger_than_axums_default_body_limit_is_taken() {
    let dir = demo();
    let app = TestApp::new(dir.path(), WebConfig { max_upload: 4 * 1024 * 1024, ..WebConfig::default() });
    let wav = tone(30.0, 440.0, 0.2); // 2.9 MB, past axum's default limit of 2 MB
    assert!(wav.len() > 2 * 1024 * 1024);
    let (code, v) = upload(&app, Who::Cookie("uploader", true), NOTICE, Some(("long.wav", &wav))).await;
    assert_eq!(code, StatusCode::CREATED, "{v}");
    assert_eq!(v["original"]["bytes"], wav.len());
    assert!(staging(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_filters_by_language_kind_review_and_text() {
    let dir = demo();
    let app = TestApp::new(dir.path(), WebConfig::default());
    let ids =
        |v: &Value| v.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    let get = |q: &'static str| {
        let app = &app;
        async move {
            let (code, v) = call(app, "GET", &format!("/api/clips{q}"), Who::Cookie("uploader", false), None).await;
            assert_eq!(code, StatusCode::OK, "{q}: {v}");
            v
        }
    };
    let all = get("").await;
    assert_eq!(ids(&all).len(), 7);
    let fire = all.as_array().unwrap().iter().find(|c| c["id"] == USED).unwrap();
    assert_eq!(fire["used_by"], json!(["evening-town", "morning-notices"]), "{fire}");
    let chime = all.as_array().unwrap().iter().find(|c| c["id"] == CHIME).unwrap();
    assert_eq!(chime["used_by"], json!(["noon-anti-fraud", "morning-notices"]), "slots chiming with it: {chime}");
    assert_eq!(ids(&get("?language=cmn").await).len(), 2);
    assert_eq!(ids(&get("?kind=chime").await), vec![CHIME]);
    assert_eq!(ids(&get("?kind=clapper-talk&language=yue-qingxi").await).len(), 1);
    assert_eq!(ids(&get("?q=%E9%98%B2%E7%81%AB").await).len(), 2, "防火 in two titles");
    assert_eq!(ids(&get("?q=ANTI-FRAUD").await).len(), 1, "the message id, any case");
    assert_eq!(ids(&get("?q=56bea58b").await), vec![USED], "the id");
    assert_eq!(ids(&get("?review=approved").await).len(), 7);
    assert!(ids(&get("?review=pending").await).is_empty());
    let id = uploaded(&app, "uploader", 523.0, 1.0).await;
    assert_eq!(ids(&get("?review=pending").await), vec![id.clone()]);
    let (code, _) = call(
        &app,
        "PATCH",
        &format!("/api/clips/{id}"),
        Who::Cookie("uploader", true),
        Some(json!({"transcript": "抽奖"})),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(ids(&get("?q=%E6%8A%BD%E5%A5%96").await), vec![id], "the transcript");
    for (q, needle) in [("?review=maybe", "not pending, approved or rejected"), ("?kind=poem", "not a clip kind")] {
        let (code, v) = call(&app, "GET", &format!("/api/clips{q}"), Who::Cookie("uploader", false), None).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{q}");
        assert!(error(&v).contains(needle), "{v}");
    }
    let (code, _) = call(&app, "GET", "/api/clips", Who::Nobody, None).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, _) = call(&app, "GET", &format!("/api/clips/{USED}"), Who::Nobody, None).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, v) = call(&app, "GET", "/api/clips/0123456789abcdef", Who::Cookie("uploader", false), None).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaders_edit_their_own_clips_and_reviewers_any() {
    let dir = demo();
    let app = TestApp::new(dir.path(), WebConfig::default());
    app.state.db().add_user("neighbour", Role::Uploader, PASSWORD).unwrap();
    let id = uploaded(&app, "uploader", 660.0, 1.0).await;
    let uri = format!("/api/clips/{id}");
    let change = json!({"title": "新标题", "transcript": "今晚停电", "expires": "2027-01-31", "max_plays_per_day": 3, "message": "power-cut"});
    let (code, v) = call(&app, "PATCH", &uri, Who::Cookie("uploader", true), Some(change.clone())).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["title"], &v["transcript"], &v["expires"]),
        (&json!("新标题"), &json!("今晚停电"), &json!("2027-01-31"))
    );
    assert_eq!((&v["max_plays_per_day"], &v["message"]), (&json!(3), &json!("power-cut")));
    let on_disk = app.state.library().get(&crate::domain::ClipId::new(&id).unwrap()).unwrap().unwrap();
    assert_eq!(on_disk.title, "新标题");
    // null clears; absent keeps.
    let (code, v) = call(&app, "PATCH", &uri, Who::Bearer("uploader"), Some(json!({"transcript": null}))).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert!(v.get("transcript").is_none() && v["title"] == "新标题", "{v}");
    // Someone else's clip: another uploader may not, an operator may.
    let (code, v) = call(&app, "PATCH", &uri, Who::Cookie("neighbour", true), Some(json!({"title": "x"}))).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{v}");
    assert!(error(&v).contains("web:uploader"), "{v}");
    let demo_uri = format!("/api/clips/{USED}");
    let (code, v) = call(&app, "PATCH", &demo_uri, Who::Cookie("uploader", true), Some(json!({"title": "x"}))).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{v}");
    let (code, v) =
        call(&app, "PATCH", &demo_uri, Who::Cookie("operator", true), Some(json!({"transcript": "各位村民"}))).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["used_by"], json!(["evening-town", "morning-notices"]));
    // Moving a clip out of a message that playlists play is refused, naming them.
    let (code, v) = call(&app, "PATCH", &demo_uri, Who::Cookie("operator", true), Some(json!({"message": null}))).await;
    assert_eq!(code, StatusCode::CONFLICT, "{v}");
    assert!(error(&v).contains("fire-safety") && error(&v).contains("morning-notices"), "{v}");
    // Auth and bad input.
    let (code, _) = call(&app, "PATCH", &uri, Who::Nobody, Some(json!({"title": "x"}))).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, v) = call(&app, "PATCH", &uri, Who::Cookie("uploader", false), Some(json!({"title": "x"}))).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "no CSRF: {v}");
    for (body, needle) in [
        (json!({"title": "  "}), "needs a title"),
        (json!({"expires": "31/01/2027"}), "YYYY-MM-DD"),
        (json!({"max_plays_per_day": 0}), "at least 1"),
        (json!({"message": "Power Cut"}), "Message: `Power Cut`"),
        (json!({"review": {"state": "approved"}}), "not a clip change"),
    ] {
        let (code, v) = call(&app, "PATCH", &uri, Who::Cookie("uploader", true), Some(body.clone())).await;
        // A field the change does not have is JSON of the wrong shape (422); the rest are
        // values the library refuses (400).
        let want =
            if needle == "not a clip change" { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::BAD_REQUEST };
        assert_eq!(code, want, "{body}: {v}");
        assert!(error(&v).contains(needle), "{needle}: {v}");
    }
    let (code, v) = call(&app, "GET", &uri, Who::Cookie("uploader", false), None).await;
    assert_eq!((code, &v["title"], &v["review"]["state"]), (StatusCode::OK, &json!("新标题"), &json!("pending")));
    let log = app.state.db().audit_log(20).unwrap();
    assert_eq!(log.iter().filter(|a| a.action == "clip-edit").count(), 3, "{log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewers_approve_and_reject_with_a_reason() {
    let dir = demo();
    let app = TestApp::new(dir.path(), WebConfig::default());
    let id = uploaded(&app, "uploader", 770.0, 1.0).await;
    let uri = format!("/api/clips/{id}/review");
    let approve = json!({"decision": "approve"});
    let (code, _) = call(&app, "POST", &uri, Who::Nobody, Some(approve.clone())).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, v) = call(&app, "POST", &uri, Who::Cookie("uploader", true), Some(approve.clone())).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "uploaders do not review, not even their own: {v}");
    assert!(error(&v).contains("uploader"), "{v}");
    let (code, v) = call(&app, "POST", &uri, Who::Cookie("operator", false), Some(approve.clone())).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{v}");
    assert!(error(&v).contains("CSRF"));
    for body in [json!({"decision": "reject"}), json!({"decision": "reject", "reason": "  "})] {
        let (code, v) = call(&app, "POST", &uri, Who::Cookie("operator", true), Some(body)).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{v}");
        assert!(error(&v).contains("why"), "{v}");
    }
    let (code, v) = call(&app, "POST", &uri, Who::Cookie("operator", true), Some(json!({"decision": "maybe"}))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{v}");
    let reject = json!({"decision": "reject", "reason": "背景噪音太大"});
    let (code, v) = call(&app, "POST", &uri, Who::Cookie("operator", true), Some(reject)).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["review"], json!({"state": "rejected", "reason": "背景噪音太大"}));
    let (code, v) = call(&app, "POST", &uri, Who::Bearer("admin"), Some(approve.clone())).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["review"], json!({"state": "approved"}));
    let (code, v) =
        call(&app, "POST", "/api/clips/0123456789abcdef/review", Who::Cookie("operator", true), Some(approve)).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{v}");
    let log = app.state.db().audit_log(10).unwrap();
    let reviews: Vec<_> = log.iter().filter(|a| a.action == "clip-review").collect();
    assert_eq!(reviews.len(), 2, "{log:?}");
    assert_eq!(reviews[0].user.as_deref(), Some("admin"));
    assert!(reviews[1].detail.as_deref().unwrap().contains("背景噪音太大"));
}

/// Waits until the as-run log shows no open cue (planned or on air).
async fn until_quiet(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let open = app.state.db().unfinished(chrono::Utc::now() + chrono::Duration::days(1)).unwrap();
        if open.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "cues still open: {open:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clip_in_use_cannot_be_deleted_an_unused_one_can() {
    let dir = demo();
    let app = TestApp::new(dir.path(), WebConfig::default());
    let (code, _) = call(&app, "DELETE", &format!("/api/clips/{USED}"), Who::Nobody, None).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, v) = call(&app, "DELETE", &format!("/api/clips/{USED}"), Who::Cookie("uploader", true), None).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "not their clip: {v}");
    let (code, v) = call(&app, "DELETE", &format!("/api/clips/{USED}"), Who::Cookie("operator", false), None).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "no CSRF: {v}");
    let (code, v) = call(&app, "DELETE", &format!("/api/clips/{USED}"), Who::Cookie("operator", true), None).await;
    assert_eq!(code, StatusCode::CONFLICT, "{v}");
    let e = error(&v);
    for needle in ["fire-safety", "playlists evening, morning-notices", "evening-town", "morning-notices"] {
        assert!(e.contains(needle), "{needle}: {e}");
    }
    let (code, v) = call(&app, "DELETE", &format!("/api/clips/{CHIME}"), Who::Bearer("admin"), None).await;
    assert_eq!(code, StatusCode::CONFLICT, "{v}");
    assert!(error(&v).contains("the station chime"), "{v}");
    assert!(
        dir.path().join("audio-library").join(USED).exists() && dir.path().join("audio-library").join(CHIME).exists()
    );

    // An unused clip with a cue on air: 409 until the cue is over, then 204.
    let id = uploaded(&app, "uploader", 880.0, 2.0).await;
    let uri = format!("/api/clips/{id}");
    let (code, _) = call(
        &app,
        "POST",
        &format!("{uri}/review"),
        Who::Cookie("operator", true),
        Some(json!({"decision": "approve"})),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    let b = json!({"targets": {"villages": ["nanjie"]}, "clip": id, "priority": "manual"});
    let (code, v) = call(&app, "POST", "/api/broadcasts", Who::Cookie("operator", true), Some(b)).await;
    assert_eq!(code, StatusCode::CREATED, "{v}");
    let (code, v) = call(&app, "DELETE", &uri, Who::Cookie("uploader", true), None).await;
    assert_eq!(code, StatusCode::CONFLICT, "{v}");
    assert!(error(&v).contains("1 cue waiting or on air"), "{v}");
    until_quiet(&app).await;
    let (code, v) = call(&app, "DELETE", &uri, Who::Cookie("uploader", true), None).await;
    assert_eq!(code, StatusCode::NO_CONTENT, "{v}");
    assert!(!dir.path().join("audio-library").join(&id).exists());
    assert!(staging(dir.path()).is_empty(), "{:?}", staging(dir.path()));
    let (code, _) = call(&app, "GET", &uri, Who::Cookie("uploader", false), None).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = call(&app, "DELETE", &uri, Who::Cookie("uploader", true), None).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let log = app.state.db().audit_log(10).unwrap();
    assert!(log.iter().any(|a| a.action == "clip-delete" && a.detail.as_deref().unwrap().starts_with(&id)), "{log:?}");
    // The station no longer offers it.
    let b = json!({"targets": {"villages": ["nanjie"]}, "clip": id, "priority": "manual"});
    let (code, v) = call(&app, "POST", "/api/broadcasts", Who::Cookie("operator", true), Some(b)).await;
    assert_eq!(code, StatusCode::CONFLICT, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn originals_and_audio_download_with_names_and_ranges() {
    let dir = demo();
    let app = TestApp::new(dir.path(), WebConfig::default());
    let wav = tone(1.0, 330.0, 0.2);
    let (code, v) = upload(&app, Who::Cookie("uploader", true), NOTICE, Some(("村口 通知(1).wav", &wav))).await;
    assert_eq!(code, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();

    let (code, h, body) =
        send(&app, "GET", &format!("/api/clips/{id}/original"), Who::Cookie("uploader", false), None, &[]).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body, wav, "the bytes as uploaded");
    let cd = h[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert_eq!(
        cd,
        "attachment; filename=\"__ __(1).wav\"; filename*=UTF-8''%E6%9D%91%E5%8F%A3%20%E9%80%9A%E7%9F%A5%281%29.wav"
    );
    // Quotes, backslashes and line breaks never break out of the header or the quoted fallback.
    let header = super::attachment("a\"b\\c\r\n.wav");
    assert_eq!(header.to_str().unwrap(), "attachment; filename=\"a_b_c__.wav\"; filename*=UTF-8''a%22b%5Cc%0D%0A.wav");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");

    let canonical = std::fs::read(dir.path().join("audio-library").join(&id).join("canonical.wav")).unwrap();
    let audio = format!("/api/clips/{id}/audio");
    let (code, h, body) = send(&app, "GET", &audio, Who::Cookie("uploader", false), None, &[]).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "audio/wav");
    assert_eq!(body, canonical);
    assert!(body.starts_with(b"RIFF"));
    let (code, h, body) = send(&app, "GET", &audio, Who::Bearer("operator"), None, &[("range", "bytes=0-99")]).await;
    assert_eq!(code, StatusCode::PARTIAL_CONTENT);
    assert_eq!(body, canonical[..100]);
    assert_eq!(h[header::CONTENT_RANGE], format!("bytes 0-99/{}", canonical.len()));
    let (code, _, _) = send(&app, "GET", &audio, Who::Nobody, None, &[]).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, _, _) = send(&app, "GET", &format!("/api/clips/{id}/original"), Who::Nobody, None, &[]).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_never_lead_outside_the_library() {
    let dir = demo();
    // A secret next to the library that a traversal would reach.
    std::fs::write(dir.path().join("secret.txt"), "root:x:0:0").unwrap();
    let app = TestApp::new(dir.path(), WebConfig::default());
    for uri in [
        "/api/clips/..%2F..%2Fetc/audio",
        "/api/clips/..%2Fsecret.txt/original",
        "/api/clips/..%2F..%2F..%2F..%2Fetc%2Fpasswd/original",
        "/api/clips/abc/audio",
        "/api/clips/0123456789ABCDEF/audio",
        "/api/clips/..",
        "/api/clips/%2e%2e/audio",
        "/api/clips/../../secret.txt",
        "/api/clips/0123456789abcdef/audio",
        "/api/clips/0123456789abcdef/original",
    ] {
        let (code, _, body) = send(&app, "GET", uri, Who::Cookie("operator", false), None, &[]).await;
        let text = String::from_utf8_lossy(&body);
        assert!(matches!(code, StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND), "{uri}: {code} {text}");
        assert!(!text.contains("root:"), "{uri}: {text}");
    }
    for (method, uri) in [("DELETE", "/api/clips/..%2F..%2Fschedules"), ("PATCH", "/api/clips/..%2Faudio-library")] {
        let (code, v) = call(&app, method, uri, Who::Cookie("operator", true), Some(json!({}))).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{uri}: {v}");
        assert!(error(&v).contains("not a clip id"), "{v}");
    }
    assert!(dir.path().join("schedules").exists());
    // A sidecar edited by hand to name a file outside its folder is not followed.
    let sidecar = dir.path().join("audio-library").join(USED).join("clip.yaml");
    let text = std::fs::read_to_string(&sidecar).unwrap().replace("file: original.wav", "file: ../../secret.txt");
    std::fs::write(&sidecar, text).unwrap();
    let (code, _, body) =
        send(&app, "GET", &format!("/api/clips/{USED}/original"), Who::Cookie("operator", false), None, &[]).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{}", String::from_utf8_lossy(&body));
    assert!(!String::from_utf8_lossy(&body).contains("root:"));
}
