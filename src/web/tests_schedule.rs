//! Router tests of the village schedule API: who may call it, what a playlist edit writes and
//! refuses, and the picture of a day, over a copy of the demo station.

use std::path::Path;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::config::write::{self, VillagePlaylist};
use crate::config::{self, Layout};
use crate::domain::VillageId;
use crate::library::catalog_of;
use crate::web::testkit::{self, As, TestApp, demo_app};

/// One request through the router: (status, JSON body).
async fn send(app: &TestApp, who: As<'_>, method: Method, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let (status, _, text) = testkit::send(app, who, method, uri, body).await;
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: not JSON: {text}")))
}

fn own_file(dir: &Path) -> std::path::PathBuf {
    dir.join("schedules/village-dongmen.yaml")
}

/// `xiangyin check --profile virtual` on the content root.
fn checks(dir: &Path) -> Result<config::Plan, config::Problems> {
    let layout = Layout::new(dir);
    let (clips, _) = layout_library(&layout).list().unwrap();
    config::load(&layout, Some("virtual"), &catalog_of(&clips))
}

fn layout_library(layout: &Layout) -> crate::library::Library {
    crate::commands::Paths::new(&layout.root, None).library()
}

fn morning_body() -> Value {
    json!({
        "mode": "in-order",
        "items": ["flu-vaccine", "harvest-song"],
        "gap_s": 3,
        "repeat": 1,
        "slots": [
            {"cron": "0 7 * * *", "in_quiet_hours": "defer", "chime": true, "from": null, "until": null},
            {"cron": "30 17 * * 1-5", "in_quiet_hours": "skip", "chime": false, "from": "2026-11-01", "until": "2027-02-28"}
        ]
    })
}

fn slot<'a>(view: &'a Value, name: &str) -> &'a Value {
    view["slots"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no slot {name}"))
}

#[tokio::test]
async fn the_schedule_shows_the_village_and_every_slot_that_reaches_it() {
    let (_dir, app) = demo_app();
    let (status, v) = send(&app, As::Session("uploader"), Method::GET, "/api/villages/dongmen/schedule", None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["village"]["name"], "东门村");
    assert_eq!(v["village"]["township"], "城关镇");
    assert_eq!(v["village"]["languages"], json!(["yue-qingxi", "cmn"]));
    assert_eq!(v["village"]["quiet_hours"]["weekdays"], json!(["21:30-06:30"]));
    assert_eq!(v["village"]["quiet_hours"]["holidays"], json!(["21:30-07:30"]), "holidays default to weekends");
    assert_eq!(v["village"]["volume_db"][0], json!({"from": "06:30", "db": -6.0}));
    assert_eq!(v["file"], "schedules/village-dongmen.yaml");
    assert_eq!(v["playlist"], Value::Null);

    let names: Vec<&str> = v["slots"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["evening-town", "morning-notices"], "campaign file first (files in name order); no noon slot");
    let morning = slot(&v, "morning-notices");
    assert_eq!(morning["cron"], "0 7 * * *");
    assert_eq!(morning["playlist"], "morning-notices");
    assert_eq!(morning["mode"], "rotate");
    assert_eq!(morning["in_quiet_hours"], "defer");
    assert_eq!(morning["editable"], false);
    assert_eq!(morning["file"], "schedules/morning.yaml");
    let fire = &morning["items"][0];
    assert_eq!(fire["item"], "fire-safety");
    assert_eq!(fire["status"], "playable");
    assert_eq!(fire["variant"]["language"], "yue-qingxi", "dongmen hears its own language first");
    assert_eq!(fire["variant"]["title"], "冬季防火提醒（青溪话）");

    let (status, v) = send(&app, As::Anonymous, Method::GET, "/api/villages/dongmen/schedule", None).await;
    assert_eq!((status, v["error"].as_str().unwrap()), (StatusCode::UNAUTHORIZED, "Please log in first."));
    for unknown in ["nowhere", "Not%20a%20slug"] {
        let uri = format!("/api/villages/{unknown}/schedule");
        let (status, v) = send(&app, As::Session("operator"), Method::GET, &uri, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
        assert!(v["error"].as_str().unwrap().starts_with("There is no village `"), "{v}");
    }
}

#[tokio::test]
async fn only_a_logged_in_operator_with_the_page_token_may_edit() {
    let (dir, app) = demo_app();
    let uri = "/api/villages/dongmen/playlist";
    for (who, code) in [
        (As::Anonymous, StatusCode::UNAUTHORIZED),
        (As::Session("uploader"), StatusCode::FORBIDDEN),
        (As::SessionNoCsrf("operator"), StatusCode::FORBIDDEN),
    ] {
        let (status, v) = send(&app, who, Method::PUT, uri, Some(morning_body())).await;
        assert_eq!(status, code, "{v}");
        assert!(v["error"].is_string(), "{v}");
        assert!(!own_file(dir.path()).exists());
    }
    let (status, v) = send(&app, As::Session("uploader"), Method::PUT, uri, Some(morning_body())).await;
    assert!(v["error"].as_str().unwrap().contains("edit-playlists"), "{status} {v}");
    let (status, v) = send(&app, As::Session("operator"), Method::PUT, uri, Some(json!({"items": "x"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (status, v) = send(&app, As::Session("operator"), Method::PUT, "/api/villages/nowhere/playlist", None).await;
    assert_eq!(
        status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "a missing body is refused before the village is looked up: {v}"
    );
    let body = Some(morning_body());
    let (status, v) = send(&app, As::Session("operator"), Method::PUT, "/api/villages/nowhere/playlist", body).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
}

#[tokio::test]
async fn an_operator_writes_the_village_file_and_the_station_switches_to_it() {
    let (dir, app) = demo_app();
    let (status, v) =
        send(&app, As::Session("operator"), Method::PUT, "/api/villages/dongmen/playlist", Some(morning_body())).await;
    assert_eq!(status, StatusCode::OK, "{v}");

    // The file: readable, with its header, and reading back as what was sent.
    let text = std::fs::read_to_string(own_file(dir.path())).unwrap();
    assert!(text.starts_with("# 东门村 (dongmen)"), "{text}");
    assert!(text.contains("web UI") && text.contains("edit this file by hand"), "{text}");
    assert!(text.contains("targets: {villages: [dongmen]}"), "{text}");
    let sent: VillagePlaylist = serde_json::from_value(morning_body()).unwrap();
    let layout = Layout::new(dir.path());
    let dongmen = VillageId::new("dongmen").unwrap();
    assert_eq!(write::read_village_playlist(&layout, &dongmen).unwrap(), Some(sent.clone()));
    // `xiangyin check` passes on the root, and finds the new slots.
    let plan = checks(dir.path()).unwrap_or_else(|p| panic!("{p}"));
    assert!(plan.slots.iter().any(|s| s.name == "village-dongmen-2"));
    // No scratch or temporary file is left in schedules/.
    let mut names: Vec<String> = std::fs::read_dir(layout.schedules())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["campaigns.yaml", "holidays.yaml", "morning.yaml", "station.yaml", "village-dongmen.yaml", "villages.yaml"]
    );

    // The running station plays it.
    {
        let station = app.state.station();
        let s = station.plan().slots.iter().find(|s| s.name == "village-dongmen-1").expect("new slot on air");
        assert_eq!(s.villages, std::slice::from_ref(&dongmen));
        assert_eq!(s.playlist.as_str(), "village-dongmen");
    }

    // The answer is the new schedule: the village's own slots are editable.
    assert_eq!(v["playlist"], serde_json::to_value(&sent).unwrap());
    let own = slot(&v, "village-dongmen-2");
    assert_eq!((own["editable"].clone(), own["file"].clone()), (json!(true), json!("schedules/village-dongmen.yaml")));
    assert_eq!(own["cron"], "30 17 * * 1-5");
    assert_eq!(own["items"][1]["variant"]["language"], "zxx");
    assert_eq!(slot(&v, "morning-notices")["editable"], false);
    let (_, again) = send(&app, As::Session("uploader"), Method::GET, "/api/villages/dongmen/schedule", None).await;
    assert_eq!(again, v);
    let audit = app.state.db().audit_log(10).unwrap();
    assert!(audit.iter().any(|e| e.action == "edit-playlist" && e.user.as_deref() == Some("operator")));

    // Nothing at all removes the file and the slots.
    let (status, v) =
        send(&app, As::Session("operator"), Method::PUT, "/api/villages/dongmen/playlist", Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(!own_file(dir.path()).exists());
    assert_eq!(v["playlist"], Value::Null);
    assert!(!app.state.station().plan().slots.iter().any(|s| s.name.starts_with("village-dongmen")));
}

#[tokio::test]
async fn a_playlist_that_does_not_check_is_refused_with_positions_and_nothing_changes() {
    let (dir, app) = demo_app();
    let uri = "/api/villages/dongmen/playlist";
    let (status, _) = send(&app, As::Session("operator"), Method::PUT, uri, Some(morning_body())).await;
    assert_eq!(status, StatusCode::OK);
    let before = std::fs::read(own_file(dir.path())).unwrap();

    let mut bad = morning_body();
    bad["items"] = json!(["fire-safety", "no-such-notice"]);
    bad["slots"][0]["in_quiet_hours"] = json!("later");
    let (status, v) = send(&app, As::Session("operator"), Method::PUT, uri, Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["error"].as_str().unwrap().contains("2 problems"), "{v}");
    let list = |k: &str| -> Vec<String> {
        v[k].as_array().unwrap_or_else(|| panic!("{k}: {v}")).iter().map(|p| p.as_str().unwrap().to_owned()).collect()
    };
    // In the editor's words: which item, which time to play…
    assert_eq!(
        list("problems"),
        [
            "Item 2: message `no-such-notice` has no clip in audio-library (import one with --message no-such-notice)",
            "Quiet hours choice of time to play 1: `later` is not `skip` or `defer`",
        ]
    );
    assert!(list("problems_zh")[0].starts_with("第 2 项："), "{v}");
    assert!(list("problems_zh")[1].starts_with("第 1 个播放时间在休息时段里的做法："), "{v}");
    assert!(list("problems_zh").iter().all(|p| !p.contains("schedules/")), "no file the user never wrote: {v}");
    // …and where in the file the station would write, for people who edit YAML.
    assert_eq!(
        list("positions"),
        [
            "schedules/village-dongmen.yaml:7:26: message `no-such-notice` has no clip in audio-library \
             (import one with --message no-such-notice)",
            "schedules/village-dongmen.yaml:16:21: `later` is not `skip` or `defer`",
        ]
    );
    assert_eq!(std::fs::read(own_file(dir.path())).unwrap(), before, "the file is not changed");
    assert!(app.state.station().plan().slots.iter().any(|s| s.name == "village-dongmen-2"), "the plan is kept");

    // A village without a file keeps having none.
    let mut bad = morning_body();
    bad["mode"] = json!("random");
    let (status, v) = send(&app, As::Session("operator"), Method::PUT, "/api/villages/ximen/playlist", Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["positions"][0].as_str().unwrap().starts_with("schedules/village-ximen.yaml:6:11: mode `random`"), "{v}");
    assert!(v["problems"][0].as_str().unwrap().starts_with("Mode: mode `random`"), "{v}");
    assert!(!dir.path().join("schedules/village-ximen.yaml").exists());
}

#[tokio::test]
async fn a_bearer_token_edits_without_a_csrf_header() {
    let (dir, app) = demo_app();
    let (status, v) =
        send(&app, As::Bearer("operator"), Method::PUT, "/api/villages/xiabei/playlist", Some(morning_body())).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(dir.path().join("schedules/village-xiabei.yaml").exists());
    // xiabei prefers Mandarin.
    assert_eq!(slot(&v, "village-xiabei-1")["items"][0]["variant"]["language"], "cmn");
    let (status, _) =
        send(&app, As::Bearer("uploader"), Method::PUT, "/api/villages/xiabei/playlist", Some(morning_body())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_day_view_shows_quiet_hours_and_the_morning_notice() {
    let (_dir, app) = demo_app();
    // Tuesday 1 December 2026.
    let (status, v) =
        send(&app, As::Session("uploader"), Method::GET, "/api/villages/dongmen/day?date=2026-12-01", None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!((v["date"].clone(), v["day_kind"].clone()), (json!("2026-12-01"), json!("weekday")));
    assert_eq!(v["quiet_hours"], json!(["00:00-06:30", "21:30-24:00"]));
    let cues = v["cues"].as_array().unwrap();
    let morning = cues.iter().find(|c| c["slot"] == "morning-notices").unwrap_or_else(|| panic!("{v}"));
    assert_eq!(morning["start"], "07:00:00");
    assert_eq!(morning["at"], "2026-11-30T23:00:00Z");
    assert_eq!(morning["outcome"], "play");
    assert_eq!(morning["language"], "yue-qingxi");
    assert!(morning["title"].as_str().unwrap().ends_with("（青溪话）"), "{morning}");
    assert!(morning["chime"].is_string(), "the slot rings the station chime: {morning}");
    assert!(morning["end"].as_str().unwrap() > "07:00:00");
    assert!(cues.iter().all(|c| c["slot"] != "noon-anti-fraud"), "石桥乡 only");
    assert_eq!(cues.iter().filter(|c| c["slot"] == "evening-town").count(), 3, "{v}");
    let starts: Vec<&str> = cues.iter().map(|c| c["start"].as_str().unwrap()).collect();
    assert!(starts.is_sorted(), "{starts:?}");

    // Saturday: the weekend sleeps in until 07:30 and the notice waits for it.
    let (_, v) =
        send(&app, As::Session("uploader"), Method::GET, "/api/villages/dongmen/day?date=2026-12-05", None).await;
    assert_eq!(
        (v["day_kind"].clone(), v["quiet_hours"].clone()),
        (json!("weekend"), json!(["00:00-07:30", "21:30-24:00"]))
    );
    let morning = v["cues"].as_array().unwrap().iter().find(|c| c["slot"] == "morning-notices").unwrap();
    assert_eq!((morning["start"].clone(), morning["outcome"].clone()), (json!("07:30:00"), json!("deferred")));
    assert_eq!(morning["deferred_from"], "07:00:00");
    // New Year's Day is a holiday in the demo calendar.
    let (_, v) =
        send(&app, As::Session("uploader"), Method::GET, "/api/villages/dongmen/day?date=2027-01-01", None).await;
    assert_eq!(v["day_kind"], "holiday");

    // Today by default; a malformed date, an unknown village, nobody logged in.
    let (status, v) = send(&app, As::Session("uploader"), Method::GET, "/api/villages/dongmen/day", None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) =
        send(&app, As::Session("uploader"), Method::GET, "/api/villages/dongmen/day?date=12/01", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["error"].as_str().unwrap().contains("YYYY-MM-DD"), "{v}");
    let (status, _) = send(&app, As::Session("uploader"), Method::GET, "/api/villages/nowhere/day", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(&app, As::Anonymous, Method::GET, "/api/villages/dongmen/day", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
