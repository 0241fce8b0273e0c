//! The daily line test over a month, on a virtual clock: each village with `line_test:` in
//! villages.yaml gets its test tone every day at that station time, to the millisecond, through
//! the real station and engine ([`SimAir`]) — beside a daily notice that keeps its own time —
//! and a village without one never does. A test time inside quiet hours is refused by `check`
//! with the file, line and column.

mod common;

use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use xiangyin::config::{self, Layout};
use xiangyin::library::Library;
use xiangyin::station::{HAND_AHEAD, LINE_TEST_SLOT, PLAN_AHEAD, SimAir, Station};
use xiangyin::store::{self, AsRunOutcome, Filter, Store};

const DAYS: i64 = 31;

fn write(root: &Path, file: &str, text: &str) {
    let path = root.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn villages(test_time_of_c: &str) -> String {
    format!(
        "villages:\n\
         - {{id: a, name: 甲村, township: 城关镇, zone: za, languages: [cmn], line_test: \"10:00\", \
            quiet_hours: {{weekdays: \"21:00-06:00\", weekends: \"21:00-07:00\"}}}}\n\
         - {{id: b, name: 乙村, township: 城关镇, zone: zb, languages: [cmn], line_test: \"14:30\"}}\n\
         - {{id: c, name: 丙村, township: 城关镇, zone: zc, languages: [cmn], line_test: \"{test_time_of_c}\", \
            quiet_hours: {{weekdays: \"21:00-06:00\", weekends: \"21:00-07:00\"}}}}\n\
         - {{id: d, name: 丁村, township: 城关镇, zone: zd, languages: [cmn]}}\n"
    )
}

fn local(d: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    Shanghai.from_local_datetime(&d.and_hms_opt(h, m, 0).unwrap()).unwrap().with_timezone(&Utc)
}

#[test]
fn every_village_with_a_line_test_hears_its_tone_each_day_at_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "schedules/station.yaml",
        "name: 线路测试站\ntimezone: Asia/Shanghai\nlanguages: [cmn, zxx]\ndefault_language: cmn\nhardware_profile: sim\n",
    );
    write(root, "schedules/villages.yaml", &villages("08:15"));
    write(
        root,
        "schedules/daily.yaml",
        "playlists:\n  notice: {items: [notice]}\nslots:\n  - {name: daily, cron: \"0 10 * * *\", playlist: notice, \
         targets: {all: true}}\n",
    );
    let mut p = String::from("outputs:\n  - {name: out, kind: null, rate: 48000, format: i16, channels: 4}\nzones:\n");
    for (i, z) in ["za", "zb", "zc", "zd"].iter().enumerate() {
        p += &format!("  {z}: [out:{}]\n", i + 1);
    }
    write(root, "hardware-profiles/sim.yaml", &p);
    let wav = root.join("notice.wav");
    common::write_wav(&wav, &common::sine(500.0, 0.3, 48_000, 1, 3.0), 48_000, 1, 16, false);
    let out = common::xiangyin(
        root,
        &["import", wav.to_str().unwrap(), "--language", "cmn", "--kind", "notice", "--message", "notice", "--approve"],
    );
    assert!(out.status.success(), "import: {}{}", common::stdout(&out), common::stderr(&out));
    let layout = Layout::new(root);
    let state = root.join("var");
    let library = Library::new(layout.library(), state.join("staging"));
    let (clips, _) = library.list().unwrap();
    let plan = config::load(&layout, None, &library.catalog().unwrap()).unwrap_or_else(|p| panic!("{p}"));
    let profile = plan.profile.clone();

    let start = local(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(), 0, 0);
    let end = start + Duration::days(DAYS);
    let store = Store::open(&store::default_path(&state)).unwrap();
    let mut station = Station::new(plan, &clips, library, store, SimAir::new(&profile, start));
    station.recover(start).unwrap();
    let (plan_ahead, idle) = (Duration::from_std(PLAN_AHEAD).unwrap(), Duration::from_std(HAND_AHEAD).unwrap());
    let mut t = start;
    while t < end {
        station.tick(t).unwrap();
        let due = station.next_cue().map(|c| c.at);
        // Every second around cues; otherwise in steps of HAND_AHEAD (the test times are not known
        // to the clock driver: the station must plan them itself).
        let next = if station.on_air_count() > 0 || due.is_some_and(|at| at < t + plan_ahead) {
            t + Duration::seconds(1)
        } else {
            t + idle
        };
        let next = next.min(end);
        for ev in station.air_mut().advance(next) {
            station.on_event(ev).unwrap();
        }
        t = next;
    }

    let rows = station.store().query(&Filter::default()).unwrap();
    let tests: Vec<_> = rows.iter().filter(|r| r.slot.as_deref() == Some(LINE_TEST_SLOT)).collect();
    for (village, (h, m)) in [("a", (10, 0)), ("b", (14, 30)), ("c", (8, 15))] {
        let mine: Vec<_> = tests.iter().filter(|r| r.village.as_str() == village).collect();
        assert_eq!(mine.len(), DAYS as usize, "village {village}: one line test a day");
        for (i, r) in mine.iter().enumerate() {
            let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap() + chrono::Days::new(i as u64);
            let at = local(day, h, m);
            assert_eq!(r.scheduled, at, "village {village} day {day}");
            assert_eq!(r.started, Some(at), "village {village} day {day}: on its instant");
            let lasted = r.ended.unwrap() - r.started.unwrap();
            assert!((lasted - Duration::seconds(4)).abs() <= Duration::milliseconds(25), "a 4 s tone: {lasted}");
            assert_eq!(r.outcome, Some(AsRunOutcome::Played), "{r:?}");
            assert_eq!(r.heard, None, "no capture tap in the simulation: nothing is claimed");
        }
    }
    assert!(!tests.iter().any(|r| r.village.as_str() == "d"), "a village without line_test gets no tone");
    // The 10:00 notice and village a's 10:00 test share the line: the notice plays on its instant
    // (the test tone is background: it waits under the notice and resumes after it).
    let notices_a: Vec<_> =
        rows.iter().filter(|r| r.village.as_str() == "a" && r.slot.as_deref() == Some("daily")).collect();
    assert_eq!(notices_a.len(), DAYS as usize);
    for r in notices_a {
        assert_eq!(r.started, Some(r.scheduled), "the notice is not delayed by the line test: {r:?}");
        assert_eq!(r.outcome, Some(AsRunOutcome::Played), "{r:?}");
    }

    // A test time in quiet hours is refused, where it is written.
    write(root, "schedules/villages.yaml", &villages("22:15"));
    let out = common::xiangyin(root, &["check"]);
    assert!(!out.status.success());
    let text = common::stdout(&out) + &common::stderr(&out);
    assert!(
        text.contains("villages.yaml:") && text.contains("line test at 22:15 falls in the village's quiet hours"),
        "{text}"
    );
}
