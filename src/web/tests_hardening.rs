//! The web side as a careless or hostile neighbour on the county LAN meets it: password
//! guessing, redirects out of the station, anonymous reads, originals that are not audio, every
//! error in one shape, and limits on what one request may store.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::testkit::{As, BOUNDARY, PASSWORD, demo_app, form, send, tone};

/// Sends a raw request (method, uri, content type, body) from `peer`, with a session of
/// `user` when given: (status, headers, body).
async fn raw(
    app: &super::testkit::TestApp,
    method: Method,
    uri: &str,
    body: Option<(&str, Vec<u8>)>,
    peer: &str,
    user: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    // The English sentences are what these tests read (the Chinese ones have tests of their own).
    let mut req = Request::builder().method(method).uri(uri).header(header::ACCEPT_LANGUAGE, "en");
    if let Some(u) = user {
        let (cookie, csrf) = app.login(u);
        req = req.header(header::COOKIE, cookie).header(super::auth::CSRF_HEADER, csrf);
    }
    let body = match body {
        Some((ct, bytes)) => {
            req = req.header(header::CONTENT_TYPE, ct);
            Body::from(bytes)
        }
        None => Body::empty(),
    };
    let mut req = req.body(body).unwrap();
    let addr: SocketAddr = peer.parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    let res = app.router.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (parts.status, parts.headers, String::from_utf8_lossy(&bytes).into_owned())
}

async fn login(
    app: &super::testkit::TestApp,
    name: &str,
    password: &str,
    peer: &str,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let body = json!({ "name": name, "password": password }).to_string().into_bytes();
    raw(app, Method::POST, "/api/session", Some(("application/json", body)), peer, None).await
}

fn sentence(text: &str) -> String {
    let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"));
    v["error"].as_str().unwrap_or_else(|| panic!("no error sentence: {text}")).to_owned()
}

/// 7. Guessing passwords: after a few wrong ones the name waits (429, Retry-After), without
/// costing a password hash; the right password is refused too while it waits; other people
/// from other addresses log in at once; one address guessing many names is held back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_make_the_next_attempt_wait_for_that_name_and_that_address() {
    let (_dir, app) = demo_app();
    let guesser = "10.0.0.66:40000";
    for i in 0..super::throttle::FREE_TRIES {
        let (code, _, text) = login(&app, "operator", &format!("guess {i}"), guesser).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{text}");
    }
    let (code, headers, text) = login(&app, "operator", PASSWORD, guesser).await;
    assert_eq!(code, StatusCode::TOO_MANY_REQUESTS, "even the right password waits: {text}");
    let wait: u64 = headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!(wait >= 1, "{wait}");
    assert!(sentence(&text).contains("wait"), "{text}");
    // Someone else, elsewhere, is not held up.
    let (code, _, text) = login(&app, "admin", PASSWORD, "10.0.0.5:50000").await;
    assert_eq!(code, StatusCode::OK, "{text}");
    // One address trying many names is held back too.
    for i in 0..super::throttle::FREE_TRIES_PER_ADDRESS {
        let _ = login(&app, &format!("nobody{i}"), "x", "10.0.0.77:1").await;
    }
    let (code, _, _) = login(&app, "uploader", PASSWORD, "10.0.0.77:2").await;
    assert_eq!(code, StatusCode::TOO_MANY_REQUESTS);
}

/// 8. After logging in, `next` only ever leads to a page of this station.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_never_redirects_off_the_station() {
    let (_dir, app) = demo_app();
    for next in ["/%09/evil.example/", "//evil.example/", "/%5Cevil.example", "https://evil.example/", "/%0d%0a/evil"] {
        let uri = format!("/login?next={next}");
        let (code, headers, _) = raw(&app, Method::GET, &uri, None, "10.0.0.1:1", Some("operator")).await;
        assert_eq!(code, StatusCode::FOUND, "{next}");
        assert_eq!(headers[header::LOCATION], "/", "next={next}");
    }
    let (_, headers, _) =
        raw(&app, Method::GET, "/login?next=/log%3Fvillage%3Ddongmen", None, "10.0.0.1:1", Some("operator")).await;
    assert_eq!(headers[header::LOCATION], "/log?village=dongmen");
}

/// 9. Who hears what, where, is for logged-in people only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_villages_live_state_needs_a_login() {
    let (_dir, app) = demo_app();
    let (code, _, text) = send(&app, As::Anonymous, Method::GET, "/api/villages", None).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "{text}");
    assert!(!text.contains("dongmen"), "{text}");
    let mut req = Request::builder().uri("/api/villages").header(header::AUTHORIZATION, "Bearer garbage");
    req = req.header(header::ACCEPT, "application/json");
    let res = app.router.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (code, _, text) = send(&app, As::Session("uploader"), Method::GET, "/api/villages", None).await;
    assert_eq!(code, StatusCode::OK);
    assert!(text.contains("dongmen"));
}

/// 10. An original uploaded as `.html`, `.svg` or `.js` comes back as bytes to download, never
/// as a page the station's own origin would run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn originals_are_served_as_audio_or_bytes_in_a_sandbox() {
    let (_dir, app) = demo_app();
    for (i, name) in ["page.html", "picture.svg", "code.js", "notice.wav"].into_iter().enumerate() {
        let wav = tone(0.6, 300.0 + 50.0 * i as f64, 0.2);
        let fields = [("title", "通知"), ("language", "cmn"), ("kind", "notice")];
        let ct = format!("multipart/form-data; boundary={BOUNDARY}");
        let body = form(&fields, Some((name, &wav)));
        let (code, _, text) =
            raw(&app, Method::POST, "/api/clips", Some((&ct, body)), "10.0.0.1:1", Some("uploader")).await;
        assert_eq!(code, StatusCode::CREATED, "{name}: {text}");
        let id = serde_json::from_str::<Value>(&text).unwrap()["id"].as_str().unwrap().to_owned();
        let uri = format!("/api/clips/{id}/original");
        let (code, headers, _) = raw(&app, Method::GET, &uri, None, "10.0.0.1:1", Some("uploader")).await;
        assert_eq!(code, StatusCode::OK);
        let kind = headers[header::CONTENT_TYPE].to_str().unwrap();
        let want = if name.ends_with(".wav") { "audio/wav" } else { "application/octet-stream" };
        assert_eq!(kind, want, "{name}");
        assert_eq!(headers[header::CONTENT_SECURITY_POLICY], "sandbox", "{name}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{name}");
        assert!(headers[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment"), "{name}");
    }
}

/// 11. Every error a caller can provoke is `{"error": sentence}` with the status that fits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_is_one_json_sentence_with_the_right_status() {
    let (_dir, app) = demo_app();
    let peer = "10.0.0.2:2";
    let json_body = |s: &str| Some(("application/json", s.as_bytes().to_vec()));
    let big = format!("{{\"name\":\"{}\",\"password\":\"x\"}}", "a".repeat(3 * 1024 * 1024));
    type Case<'a> = (Method, &'a str, Option<(&'a str, Vec<u8>)>, Option<&'a str>, StatusCode);
    let cases: Vec<Case<'_>> = vec![
        (Method::GET, "/api/no-such-thing", None, None, StatusCode::NOT_FOUND),
        (Method::GET, "/no/such/page", None, None, StatusCode::NOT_FOUND),
        (Method::DELETE, "/api/clips", None, Some("admin"), StatusCode::METHOD_NOT_ALLOWED),
        (Method::PUT, "/healthz", None, None, StatusCode::METHOD_NOT_ALLOWED),
        (Method::POST, "/api/session", json_body("{not json"), None, StatusCode::BAD_REQUEST),
        (Method::POST, "/api/session", json_body("{\"name\": 1}"), None, StatusCode::UNPROCESSABLE_ENTITY),
        (
            Method::POST,
            "/api/session",
            Some(("text/plain", b"name=x".to_vec())),
            None,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            Method::POST,
            "/api/session",
            Some(("application/json", big.into_bytes())),
            None,
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (Method::POST, "/api/setup", json_body("[]"), None, StatusCode::UNPROCESSABLE_ENTITY),
        (
            Method::POST,
            "/api/broadcasts",
            json_body("{\"targets\": 5}"),
            Some("operator"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (Method::GET, "/api/log?since=yesterday-ish", None, Some("operator"), StatusCode::BAD_REQUEST),
        (Method::GET, "/api/log?limit=-1", None, Some("operator"), StatusCode::BAD_REQUEST),
        (Method::GET, "/api/clips?review=maybe", None, Some("operator"), StatusCode::BAD_REQUEST),
        (Method::GET, "/api/villages/dongmen/day?date=tomorrow", None, Some("operator"), StatusCode::BAD_REQUEST),
    ];
    for (method, uri, body, user, want) in cases {
        let what = format!("{method} {uri}");
        let (code, headers, text) = raw(&app, method, uri, body, peer, user).await;
        assert_eq!(code, want, "{what}: {text}");
        assert!(
            headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"),
            "{what}: {:?}",
            headers[header::CONTENT_TYPE]
        );
        let s = sentence(&text);
        assert!(s.ends_with('.') && s.len() > 10, "{what}: {s:?}");
        if want == StatusCode::METHOD_NOT_ALLOWED {
            assert!(headers.contains_key(header::ALLOW), "{what}");
        }
    }
}

/// 13. What one request may store is bounded, with a sentence: a clip's text, a playlist's size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_cannot_store_without_bound() {
    let (_dir, app) = demo_app();
    let chime = "39e324582b3f496d";
    let uri = format!("/api/clips/{chime}");
    let (code, _, text) =
        send(&app, As::Session("operator"), Method::PATCH, &uri, Some(json!({"title": "长".repeat(1_500_000 / 3)})))
            .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{text}");
    assert!(sentence(&text).contains("at most 200 characters"), "{text}");
    let (code, _, text) =
        send(&app, As::Session("operator"), Method::PATCH, &uri, Some(json!({"transcript": "x".repeat(20_001)}))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{text}");
    let (_, _, text) = send(&app, As::Session("operator"), Method::GET, &uri, None).await;
    assert!(!text.contains("长长长"), "nothing was stored");

    let items: Vec<String> = (0..100_000).map(|_| "fire-safety".to_owned()).collect();
    let body = json!({"mode": "in-order", "items": items, "slots": []});
    let (code, _, text) =
        send(&app, As::Session("operator"), Method::PUT, "/api/villages/dongmen/playlist", Some(body)).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{}", &text[..text.len().min(300)]);
    assert!(sentence(&text).contains("at most 200 items"), "{text}");
    let slots: Vec<Value> = (0..5_000).map(|_| json!({"cron": "0 7 * * *"})).collect();
    let body = json!({"mode": "in-order", "items": ["fire-safety"], "slots": slots});
    let (code, _, text) =
        send(&app, As::Session("operator"), Method::PUT, "/api/villages/dongmen/playlist", Some(body)).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{}", &text[..text.len().min(300)]);
    assert!(sentence(&text).contains("at most 48"), "{text}");
}
