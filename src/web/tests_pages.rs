//! Router tests of the pages: who sees what, languages, escaping, static assets.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use tower::ServiceExt;

use super::esc;
use crate::web::testkit::TestApp;
use crate::web::testkit::{As, demo_app, send};

/// GET `uri` as `who`, with `cookie` added to the session's (e.g. `xy_lang=en`).
async fn get_with_cookie(app: &TestApp, who: Option<&str>, uri: &str, cookie: &str) -> (StatusCode, HeaderMap, String) {
    let mut cookies: Vec<String> = who.map(|u| app.login(u).0).into_iter().collect();
    if !cookie.is_empty() {
        cookies.push(cookie.to_owned());
    }
    let mut req = Request::builder().uri(uri);
    if !cookies.is_empty() {
        req = req.header(header::COOKIE, cookies.join("; "));
    }
    let res = app.router.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (parts.status, parts.headers, String::from_utf8(bytes.to_vec()).unwrap())
}

async fn page(app: &TestApp, who: &str, uri: &str) -> (StatusCode, HeaderMap, String) {
    send(app, As::Session(who), Method::GET, uri, None).await
}

fn location(headers: &HeaderMap) -> &str {
    headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[test]
fn esc_escapes_every_character_that_could_start_markup() {
    assert_eq!(esc(r#"<a href="x" title='y'>&</a>"#), "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
    assert_eq!(esc("东门村 ok"), "东门村 ok");
}

#[tokio::test]
async fn anonymous_callers_are_sent_to_the_login_page_except_on_login_and_setup() {
    let (_dir, app) = demo_app();
    for (uri, next) in [
        ("/", "/"),
        ("/library?review=pending", "/library%3Freview%3Dpending"),
        ("/villages/dongmen", "/villages/dongmen"),
        ("/broadcast", "/broadcast"),
        ("/log", "/log"),
        ("/users", "/users"),
    ] {
        let (status, headers, _) = send(&app, As::Anonymous, Method::GET, uri, None).await;
        assert_eq!(status, StatusCode::FOUND, "{uri}");
        assert_eq!(location(&headers), format!("/login?next={next}"), "{uri}");
    }
    let (status, _, body) = send(&app, As::Anonymous, Method::GET, "/login?next=/library", None).await;
    assert_eq!(status, StatusCode::OK);
    for id in ["login-name", "login-password", "login-submit", "lang-switch"] {
        assert!(body.contains(&format!(r#"id="{id}""#)), "{id} missing:\n{body}");
    }
    assert!(body.contains(r#"data-next="/library""#), "{body}");
    assert!(!body.contains(r#"name="csrf""#), "no CSRF token for anonymous pages");
    // Only local paths are followed after login.
    let (_, _, body) = send(&app, As::Anonymous, Method::GET, "/login?next=//evil.example/x", None).await;
    assert!(body.contains(r#"data-next="/""#), "{body}");
    let (status, _, body) = send(&app, As::Anonymous, Method::GET, "/setup?token=abc", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("这个广播站已经有用户了"), "the demo app has users:\n{body}");
    // A logged-in caller goes on from the login page.
    let (status, headers, _) = page(&app, "operator", "/login?next=/log").await;
    assert_eq!((status, location(&headers)), (StatusCode::FOUND, "/log"));
}

#[tokio::test]
async fn pages_are_chinese_by_default_with_the_session_csrf_and_the_role_s_nav() {
    let (_dir, app) = demo_app();
    let (cookie, csrf) = app.login("operator");
    let req = Request::builder().uri("/").header(header::COOKIE, cookie).body(Body::empty()).unwrap();
    let res = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers().clone();
    let body = String::from_utf8(axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap();
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("script-src 'self'"));
    assert!(body.starts_with("<!doctype html>\n<html lang=\"zh-CN\">"), "{body}");
    assert!(body.contains(&format!(r#"<meta name="csrf" content="{csrf}">"#)));
    assert!(body.contains(r#"data-page="dashboard""#));
    assert!(body.contains(">广播</a>") && body.contains(">退出</button>") && body.contains("各村广播"), "{body}");
    assert!(body.contains(r#"data-lang="en" lang="en">English</a>"#) && body.contains(">中文</a>"));
    assert!(body.contains(r#"data-village="dongmen""#) && body.contains("东门村"));
    assert!(body.contains(r#"<audio class="listen-audio" preload="none" src="/api/listen/dongmen">"#));
    assert!(!body.contains(r#"href="/users""#), "an operator has no users page in the nav");
    assert!(headers.get(header::SET_COOKIE).is_none(), "no language cookie without ?lang=");
}

#[tokio::test]
async fn lang_en_switches_to_english_and_is_remembered_in_a_cookie() {
    let (_dir, app) = demo_app();
    let (status, headers, body) = page(&app, "admin", "/library?kind=notice&lang=en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#"<html lang="en">"#), "{body}");
    assert!(body.contains(">Broadcast</a>") && body.contains("Clip library") && body.contains(">Log out</button>"));
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("xy_lang=en;") && cookie.contains("Path=/"), "{cookie}");
    // The switch keeps the other query parameters.
    assert!(body.contains(r#"href="/library?kind=notice&amp;lang=zh" data-lang="zh""#), "{body}");
    let (_, _, body) = get_with_cookie(&app, Some("admin"), "/log", "xy_lang=en").await;
    assert!(body.contains(r#"<html lang="en">"#) && body.contains("As-run log"));
    let (_, headers, body) = get_with_cookie(&app, Some("admin"), "/log?lang=zh", "xy_lang=en").await;
    assert!(body.contains(r#"<html lang="zh-CN">"#) && body.contains("播出记录"));
    assert!(headers[header::SET_COOKIE].to_str().unwrap().starts_with("xy_lang=zh;"));
    let (_, _, body) = get_with_cookie(&app, None, "/login", "xy_lang=en").await;
    assert!(body.contains(r#"id="login-submit" class="primary wide">Log in</button>"#), "{body}");
}

#[tokio::test]
async fn titles_and_names_from_files_are_shown_as_text() {
    let (dir, app) = demo_app();
    let sidecar = dir.path().join("audio-library/56bea58b184df58c/clip.yaml");
    let text = std::fs::read_to_string(&sidecar).unwrap();
    let text: String = text
        .lines()
        .map(|l| match l.split_once(':').map(|(k, _)| k) {
            Some("title") => r#"title: "<script>alert(1)</script>""#.to_owned(),
            Some("transcript") => r#"transcript: "<img src=x onerror=alert(2)> 冬季天气干燥""#.to_owned(),
            _ => l.to_owned(),
        })
        .map(|l| l + "\n")
        .collect();
    std::fs::remove_file(&sidecar).unwrap();
    std::fs::write(&sidecar, text).unwrap();
    let meta = app.state.library().get(&crate::domain::ClipId::new("56bea58b184df58c").unwrap()).unwrap().unwrap();
    assert_eq!(meta.title, "<script>alert(1)</script>");
    for uri in ["/library", "/", "/broadcast", "/villages/nanjie"] {
        let (status, _, body) = page(&app, "admin", uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(!body.contains("<script>alert(1)"), "{uri} lets a title through as markup:\n{body}");
        assert!(!body.contains("<img src=x"), "{uri}");
    }
    let (_, _, body) = page(&app, "admin", "/library").await;
    assert!(body.contains(r#"<h3 class="clip-title">&lt;script&gt;alert(1)&lt;/script&gt;</h3>"#), "{body}");
    assert!(body.contains("&lt;img src=x onerror=alert(2)&gt;"), "{body}");
    // In the data for the script, `<` is a JSON escape.
    let (_, _, body) = page(&app, "admin", "/").await;
    assert!(body.contains(r#""56bea58b184df58c":"\u003cscript\u003ealert(1)\u003c/script\u003e""#), "{body}");
}

#[tokio::test]
async fn static_assets_are_served_with_their_content_types_and_a_version() {
    let (_dir, app) = demo_app();
    // The village page links the three (its own script too); the others only app.css and app.js.
    let (_, _, body) = page(&app, "admin", "/villages/dongmen").await;
    let (_, _, dashboard) = page(&app, "admin", "/").await;
    assert!(!dashboard.contains("/static/village.js"), "the dashboard loads no village script");
    for (name, content_type, needle) in [
        ("app.css", "text/css; charset=utf-8", "box-sizing"),
        ("app.js", "text/javascript; charset=utf-8", "'use strict'"),
        ("village.js", "text/javascript; charset=utf-8", "window.xyPages.village"),
    ] {
        let start = body.find(&format!("/static/{name}?v=")).unwrap_or_else(|| panic!("no link to {name}"));
        let url = &body[start..start + body[start..].find('"').unwrap()];
        let (status, headers, text) = send(&app, As::Anonymous, Method::GET, url, None).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        assert_eq!(headers[header::CONTENT_TYPE], content_type);
        assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
        assert!(text.contains(needle), "{name}");
        let (_, headers, _) = send(&app, As::Anonymous, Method::GET, &format!("/static/{name}?v=old"), None).await;
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    }
    let (status, _, _) = send(&app, As::Anonymous, Method::GET, "/static/secret.txt", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_role_that_may_not_use_a_page_gets_a_403_page_with_a_sentence() {
    let (_dir, app) = demo_app();
    let (status, headers, body) = page(&app, "uploader", "/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(body.contains("你的角色（上传员）不能使用这个页面。"), "{body}");
    let (status, _, body) = page(&app, "uploader", "/broadcast?lang=en").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("Your role (uploader) may not use this page."), "{body}");
    let (status, _, _) = page(&app, "operator", "/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, _, body) = page(&app, "uploader", "/").await;
    assert!(!body.contains(r#"href="/broadcast""#) && !body.contains(r#"href="/users""#), "{body}");
    // An uploader sees the library without review buttons, and a village without the editor.
    let (_, _, body) = page(&app, "uploader", "/library").await;
    assert!(body.contains(r#"id="upload-input""#) && !body.contains(r#"class="approve"#), "{body}");
    let (_, _, body) = page(&app, "uploader", "/villages/dongmen").await;
    assert!(!body.contains(r#"id="playlist-editor""#) && body.contains(r#"id="playlist-readonly""#));
}

#[tokio::test]
async fn every_page_renders_its_test_ids_for_the_roles_that_may_use_it() {
    let (_dir, app) = demo_app();
    let pages: [(&str, &[&str]); 6] = [
        ("/", &["live-state", "village-cards"]),
        ("/library", &["upload-input", "upload-progress", "upload-result", "clip-list", "filter-review"]),
        ("/villages/dongmen", &["day-timeline", "day-date", "schedule", "playlist-add", "playlist-save", "slot-add"]),
        ("/broadcast", &["target-all", "broadcast-submit", "emergency-button", "emergency-dialog", "broadcast-stop"]),
        ("/log", &["log-table", "log-csv", "log-village", "log-since"]),
        ("/users", &["users-table", "user-add", "token-result"]),
    ];
    for (uri, ids) in pages {
        let (status, _, body) = page(&app, "admin", uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}:\n{body}");
        for id in ids {
            assert!(body.contains(&format!(r#"id="{id}""#)), "{uri}: #{id} missing");
        }
    }
    let (_, _, body) = page(&app, "admin", "/library").await;
    assert!(body.contains(r#"data-clip-id="56bea58b184df58c""#) && body.contains(r#"class="approve primary""#));
    let (_, _, body) = page(&app, "admin", "/library?review=rejected").await;
    assert!(!body.contains("data-clip-id="), "the demo has no rejected clips");
    let (_, _, body) = page(&app, "admin", "/broadcast").await;
    assert!(body.contains(r#"data-township="石桥乡""#) && body.contains(r#"value="message:fire-safety""#), "{body}");
    let (_, _, body) = page(&app, "admin", "/users").await;
    assert!(body.contains(r#"<tr data-user="uploader""#));
    let (_, _, body) = page(&app, "admin", "/log?village=dongmen&since=2026-11-01").await;
    assert!(body.contains("/api/log?format=csv&amp;since=2026-10-31T16%3A00%3A00Z&amp;village=dongmen"), "{body}");
    let (status, _, body) = page(&app, "admin", "/log?since=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("`yesterday` 不是日期"), "a Chinese page says it in Chinese: {body}");
    let (status, _, body) = page(&app, "admin", "/villages/atlantis").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("没有这个村：atlantis。"), "{body}");
}

#[tokio::test]
async fn the_banner_says_which_villages_do_not_hear_no_card_means_none_a_card_down_means_some() {
    use crate::station::Concern;
    let (_dir, app) = demo_app();
    let (_, _, body) = page(&app, "admin", "/").await;
    assert!(body.contains(r#"id="station-alert" role="alert" data-state="ok" hidden"#), "no banner while all is well");
    let now = chrono::Utc::now();
    let down = ("output `card` is not playing: stuck".to_owned(), "输出 `card` 没有在播：卡住了".to_owned());
    app.state.station().set_problem(Concern::Output("card".into()), Some(down), now);
    let (_, _, body) = page(&app, "admin", "/").await;
    assert!(body.contains(r#"<strong class="alert-head">有的村听不到广播</strong>"#), "{body}");
    assert!(body.contains(r#"<li data-reason="output">输出 `card` 没有在播：卡住了</li>"#), "{body}");
    let (_, _, body) = page(&app, "admin", "/library?lang=en").await;
    assert!(body.contains(r#"<strong class="alert-head">Some villages hear nothing</strong>"#), "{body}");
    let none = ("no sound card — villages hear NOTHING: test".to_owned(), "没有声卡——各村听不到广播：测试".to_owned());
    app.state.station().set_problem(Concern::Fallback, Some(none), now);
    let (_, _, body) = page(&app, "admin", "/").await;
    assert!(body.contains(r#"<strong class="alert-head">各村听不到广播</strong>"#), "{body}");
}

#[tokio::test]
async fn the_log_page_gives_each_rows_reason_in_the_pages_language() {
    let (_dir, app) = demo_app();
    let row = crate::store::NotAired {
        cue: crate::domain::CueId(77),
        village: crate::domain::VillageId::new("ximen").unwrap(),
        zone: crate::domain::ZoneId::new("ximen").unwrap(),
        clip: None,
        language: None,
        priority: crate::domain::Priority::Manual,
        at: chrono::Utc::now(),
        outcome: crate::store::AsRunOutcome::SkippedQuietHours,
        detail: crate::domain::Text::new("in its quiet hours (12:00-13:30)", "正在休息时段（12:00-13:30）"),
    };
    assert!(app.state.db().record_not_aired(&row).unwrap());
    let (_, _, zh) = page(&app, "admin", "/log").await;
    assert!(zh.contains(">正在休息时段（12:00-13:30）</td>"), "{zh}");
    let (_, _, en) = page(&app, "admin", "/log?lang=en").await;
    assert!(en.contains(">in its quiet hours (12:00-13:30)</td>"), "{en}");
}
