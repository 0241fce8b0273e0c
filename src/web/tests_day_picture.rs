//! The day picture, `xiangyin render` and the station agree on what a rotating playlist plays:
//! the demo's `morning-notices` takes turns (防火, 疫苗, 防火…) once per morning, and a station
//! that has run a few mornings is somewhere in that rotation — not at its start.

use std::collections::BTreeMap;

use axum::http::Method;
use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::commands::Paths;
use crate::config;
use crate::library::catalog_of;
use crate::station::{SimAir, Station};
use crate::store::{self, Filter, Store};
use crate::web::WebConfig;
use crate::web::testkit::{self, As, TestApp};

const VILLAGES: [&str; 2] = ["dongmen", "nanjie"];

fn local(tz: Tz, d: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    tz.from_local_datetime(&d.and_hms_opt(h, m, 0).unwrap()).unwrap().with_timezone(&Utc)
}

/// Runs the demo station (engine under a virtual clock) through the mornings of `days`, as
/// `serve` would tick it, and returns what it logged: (date, village) → clip.
fn run_mornings(paths: &Paths, tz: Tz, days: &[NaiveDate]) -> BTreeMap<(NaiveDate, String), String> {
    let library = paths.library();
    let (clips, _) = library.list().unwrap();
    let plan = config::load(&paths.layout, Some("virtual"), &catalog_of(&clips)).unwrap();
    let store = Store::open(&store::default_path(&paths.state)).unwrap();
    let air = SimAir::new(&plan.profile, local(tz, days[0], 6, 59));
    let mut s = Station::new(plan, &clips, library, store, air);
    for &d in days {
        // 06:59 to 07:45 (the weekend sleeps in until 07:30 and the notice waits for it).
        let (mut t, end) = (local(tz, d, 6, 59), local(tz, d, 7, 45));
        while t < end {
            s.tick(t).unwrap();
            // Every second while something plays or is due, else every 5 s (half of PLAN_AHEAD).
            let busy = s.on_air_count() > 0 || s.next_cue().is_some_and(|c| c.at < t + chrono::Duration::seconds(10));
            let next = t + chrono::Duration::seconds(if busy { 1 } else { 5 });
            for ev in s.air_mut().advance(next) {
                s.on_event(ev).unwrap();
            }
            t = next;
        }
    }
    let from = local(tz, days[0], 0, 0);
    s.store()
        .query(&Filter::default())
        .unwrap()
        .into_iter()
        .filter(|r| r.scheduled >= from && r.started.is_some() && r.slot.as_deref() == Some("morning-notices"))
        .filter(|r| VILLAGES.contains(&r.village.as_str()))
        .filter_map(|r| {
            Some(((r.scheduled.with_timezone(&tz).date_naive(), r.village.to_string()), r.clip?.to_string()))
        })
        .collect()
}

#[tokio::test]
async fn the_day_picture_render_and_station_play_the_same_rotating_notice_over_a_week() {
    let dir = tempfile::tempdir().unwrap();
    testkit::copy_demo(dir.path());
    let paths = Paths::new(dir.path(), None);
    let tz: Tz = chrono_tz::Asia::Shanghai;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let day = |n: i64| if n < 0 { today - Days::new(n.unsigned_abs()) } else { today + Days::new(n as u64) };

    // The station has played two mornings: the rotation is on its third turn.
    let before = run_mornings(&paths, tz, &[day(-2), day(-1)]);
    assert_eq!(before.len(), 4, "two mornings in two villages: {before:?}");

    // What the web page and `xiangyin render` say the next seven mornings will play.
    let week: Vec<NaiveDate> = (0..7).map(day).collect();
    let app = TestApp::new(dir.path(), WebConfig::default());
    let mut picture = BTreeMap::new();
    for &d in &week {
        for v in VILLAGES {
            let uri = format!("/api/villages/{v}/day?date={d}");
            let (status, _, body) = testkit::send(&app, As::Session("operator"), Method::GET, &uri, None).await;
            assert!(status.is_success(), "{uri}: {status} {body}");
            let view: serde_json::Value = serde_json::from_str(&body).unwrap();
            for c in view["cues"].as_array().unwrap().iter().filter(|c| c["slot"] == "morning-notices") {
                picture.insert((d, v.to_owned()), c["clip"].as_str().unwrap().to_owned());
            }
        }
    }
    drop(app);
    let mut rendered = BTreeMap::new();
    for &d in &week {
        let out_dir = dir.path().join(format!("render-{d}"));
        let mut said = Vec::new();
        // The firing's window (the weekend's deferred notice starts after it, still with its clip).
        let (from, to) = (format!("{d}T06:59:58"), format!("{d}T07:00:10"));
        assert!(crate::commands::render::run(&paths, Some("virtual"), &from, &to, &out_dir, &mut said).unwrap());
        let said = String::from_utf8(said).unwrap();
        assert!(said.contains("rotation: as the station saved it"), "{said}");
        let csv = std::fs::read_to_string(out_dir.join("cues.csv")).unwrap();
        for line in csv.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let plays = f[9].contains("played") || f[9].ends_with("not-started-in-window");
            if f[11] == "morning-notices" && VILLAGES.contains(&f[1]) && plays && !f[3].is_empty() {
                rendered.insert((d, f[1].to_owned()), f[3].to_owned());
            }
        }
        std::fs::remove_dir_all(&out_dir).unwrap();
    }

    // And what the station then really plays.
    let played = run_mornings(&paths, tz, &week);
    assert_eq!(played.len(), 14, "seven mornings in two villages: {played:?}");
    assert_eq!(picture, played, "the day picture shows what the station plays");
    assert_eq!(rendered, played, "render renders what the station plays");
    // The rotation really turns (not the same notice every day), and the third turn is 防火 again.
    let dongmen: Vec<&String> = week.iter().map(|d| &played[&(*d, "dongmen".to_owned())]).collect();
    assert_ne!(dongmen[0], dongmen[1]);
    assert_eq!(dongmen[0], &before[&(day(-2), "dongmen".to_owned())]);
}
