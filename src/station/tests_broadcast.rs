//! Broadcast now under a virtual clock, on the demo station: every village asked for gets an
//! as-run row, whatever it hears — played, no variant, quiet hours — and only an emergency plays
//! in quiet hours.

use chrono::{DateTime, TimeZone, Utc};

use super::{SimAir, Station, Targets};
use crate::commands::Paths;
use crate::config::{self, ItemRef};
use crate::domain::{ClipId, MessageId, Priority};
use crate::library::catalog_of;
use crate::store::{Filter, Store};

fn station(at: DateTime<Utc>) -> (tempfile::TempDir, Station<SimAir>) {
    let dir = tempfile::tempdir().unwrap();
    crate::web::testkit::copy_demo(dir.path());
    let paths = Paths::new(dir.path(), None);
    let library = paths.library();
    let (clips, _) = library.list().unwrap();
    let plan = config::load(&paths.layout, Some("virtual"), &catalog_of(&clips)).unwrap();
    let store = Store::open(&crate::store::default_path(&paths.state)).unwrap();
    let air = SimAir::new(&plan.profile, at);
    (dir, Station::new(plan, &clips, library, store, air))
}

/// A weekday at 12:30 station time: 西门村 (ximen) sleeps 12:00–13:30 on weekdays.
fn noon() -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai.with_ymd_and_hms(2026, 12, 3, 12, 30, 0).unwrap().with_timezone(&Utc)
}

fn rows(s: &Station<SimAir>) -> Vec<(String, String)> {
    s.store()
        .query(&Filter::default())
        .unwrap()
        .into_iter()
        .map(|r| (r.village.to_string(), r.state().to_owned()))
        .collect()
}

#[test]
fn every_village_a_broadcast_asks_for_gets_a_row_and_quiet_hours_hold_for_all_but_emergencies() {
    let (_dir, mut s) = station(noon());
    let town = Targets { townships: vec!["城关镇".into()], ..Default::default() };
    // 快板 in the local dialect only: 南街社区 speaks Mandarin only; ximen sleeps.
    let clapper = ItemRef::Message(MessageId::new("anti-fraud-clapper").unwrap());
    let b = s.broadcast(&town, &clapper, Priority::Manual, noon()).unwrap();
    let heard: Vec<&str> = b.cues.iter().map(|c| c.village.as_str()).collect();
    assert_eq!(heard, ["dongmen", "beishan"], "{b:#?}");
    let skipped: Vec<(&str, &str)> = b.skipped.iter().map(|k| (k.village.as_str(), k.outcome)).collect();
    assert_eq!(skipped, [("ximen", "skipped-quiet-hours"), ("nanjie", "no-variant")]);
    assert!(b.skipped.iter().all(|k| !k.why.zh.is_empty() && k.why.zh != k.why.en), "said in Chinese too");
    let mut logged = rows(&s);
    logged.sort();
    assert_eq!(
        logged,
        [
            ("beishan".into(), "planned".into()),
            ("dongmen".into(), "planned".into()),
            ("nanjie".into(), "no-variant".into()),
            ("ximen".into(), "skipped-quiet-hours".into()),
        ],
        "a row for every village of the township"
    );

    // An emergency plays through quiet hours.
    let chime = ItemRef::Clip(ClipId::new("39e324582b3f496d").unwrap());
    let ximen = Targets { villages: vec!["ximen".into()], ..Default::default() };
    // Refused, and the refusal says why each village could not hear it (not "no recording").
    let refused = s.broadcast(&ximen, &chime, Priority::Manual, noon()).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "no targeted village can hear 39e324582b3f496d now (西门村: in its quiet hours (12:00-13:30); only an \
         emergency plays now)"
    );
    assert_eq!(
        crate::domain::Say::zh(&refused),
        "选中的村现在都听不到 39e324582b3f496d（西门村：正在休息时段（12:00-13:30）；这时只有紧急广播会播出）"
    );
    let e = s.broadcast(&ximen, &chime, Priority::Emergency, noon()).unwrap();
    assert_eq!(e.cues.len(), 1);
    assert!(e.skipped.is_empty() && e.unheard.is_empty(), "{e:#?}");
}

#[test]
fn a_broadcast_the_villages_cannot_hear_is_logged_failed_output_not_played() {
    let (_dir, mut s) = station(noon());
    // serve fell back to recording: no sound card.
    s.set_problem(
        super::Concern::Fallback,
        Some(("no sound card — villages hear NOTHING: test".into(), "没有声卡——各村听不到广播：测试".into())),
        noon(),
    );
    let chime = ItemRef::Clip(ClipId::new("39e324582b3f496d").unwrap());
    let dongmen = Targets { villages: vec!["dongmen".into()], ..Default::default() };
    let b = s.broadcast(&dongmen, &chime, Priority::Emergency, noon()).unwrap();
    assert_eq!(b.cues.len(), 1);
    assert_eq!(b.unheard.len(), 1, "the broadcast says dongmen will not hear it: {b:#?}");
    for ev in s.air_mut().advance(noon() + chrono::Duration::seconds(10)) {
        s.on_event(ev).unwrap();
    }
    let row = &s.store().query(&Filter::default()).unwrap()[0];
    assert_eq!(row.state(), "failed-output", "{row:?}");
    assert!(row.detail.as_deref().is_some_and(|d| d.starts_with("recorded only, no loudspeaker")), "{row:?}");
    // In both languages: the Chinese log page reads the Chinese one.
    let zh = row.detail_in(crate::domain::Lang::Zh).unwrap_or_default();
    assert!(zh.starts_with("只录了音，没有送到喇叭：没有声卡——各村听不到广播：测试"), "{zh}");
    assert!(row.started.is_some(), "it was recorded: {row:?}");
}
