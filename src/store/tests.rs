//! Unit tests of the store: the file (pragmas, schema versions, refusals) and the row rules.
//! The operator-level behaviour (restarts, kill -9, queries, CSV, `xiangyin log`) is tested in
//! `tests/store.rs`.

use std::time::Duration;

use chrono::{TimeZone, Utc};

use super::*;
use crate::config::ItemRef;
use crate::domain::{ClipId, Cue, CueId, GainDb, Language, MessageId, Priority, Text, VillageId, ZoneId};
use crate::scheduler::{Outcome, Planned};

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, h, m, s).unwrap()
}

fn planned(id: u64, village: &str, when: DateTime<Utc>, outcome: Outcome) -> Planned {
    let v = VillageId::new(village).unwrap();
    let z = ZoneId::new(village).unwrap();
    let cue = Cue {
        id: CueId(id),
        village: v.clone(),
        zone: z.clone(),
        clip: ClipId::new("0123456789abcdef").unwrap(),
        language: Language::new("yue-qingxi").unwrap(),
        priority: Priority::Scheduled,
        at: when,
        gain: GainDb(-3.0),
        chime: None,
        slot: Some("morning".into()),
    };
    Planned {
        id: CueId(id),
        slot: "morning".into(),
        firing: when,
        village: v,
        zone: z,
        item: Some(ItemRef::Message(MessageId::new("fire-safety").unwrap())),
        at: when,
        cue: Some(cue),
        duration: Duration::from_secs(30),
        outcome,
        chime_gain: None,
        chime_missing: None,
    }
}

fn temp() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&default_path(dir.path())).unwrap();
    (dir, store)
}

#[test]
fn open_creates_the_folder_and_a_wal_database_with_full_sync_at_the_current_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = default_path(&dir.path().join("var/deeper"));
    let store = Store::open(&path).unwrap();
    assert!(path.is_file());
    assert_eq!(store.path(), path);
    let q = |p: &str| -> String {
        store
            .conn
            .pragma_query_value(None, p, |r| r.get::<_, rusqlite::types::Value>(0))
            .map(|v| format!("{v:?}"))
            .unwrap()
    };
    assert_eq!(q("journal_mode"), "Text(\"wal\")");
    assert_eq!(q("synchronous"), "Integer(2)", "synchronous must be FULL");
    assert_eq!(q("user_version"), format!("Integer({SCHEMA_VERSION})"));
    assert_eq!(q("application_id"), format!("Integer({})", schema::APPLICATION_ID));
    assert!(q("busy_timeout").contains("5000"));
    // Reopening a current file changes nothing and works.
    drop(store);
    Store::open(&path).unwrap().check_integrity().unwrap();
}

#[test]
fn a_file_from_a_newer_xiangyin_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = default_path(dir.path());
    // As a newer xiangyin might leave it: our mark, a higher version, a rollback journal.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(&format!(
            "PRAGMA journal_mode = DELETE; CREATE TABLE future (x); PRAGMA application_id = {}; PRAGMA user_version = 99;",
            schema::APPLICATION_ID
        ))
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    let e = Store::open(&path).unwrap_err();
    assert!(matches!(e, StoreError::TooNew { found: 99, known: SCHEMA_VERSION, .. }), "{e:?}");
    assert!(e.needs_operator());
    assert!(e.to_string().contains("newer xiangyin"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(!dir.path().join("station.db-wal").exists(), "the journal mode was switched");
}

#[test]
fn a_file_that_is_not_a_database_is_refused_as_damaged_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = default_path(dir.path());
    let junk: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &junk).unwrap();
    let e = Store::open(&path).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
    assert!(e.to_string().contains("move it away"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), junk);
}

#[test]
fn another_programs_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = default_path(dir.path());
    rusqlite::Connection::open(&path).unwrap().execute_batch("CREATE TABLE songs (title TEXT)").unwrap();
    assert!(matches!(Store::open(&path), Err(StoreError::Corrupt { .. })));
    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other).unwrap().execute_batch("PRAGMA application_id = 42").unwrap();
    assert!(matches!(Store::open(&other), Err(StoreError::Corrupt { .. })));
}

#[test]
fn a_state_folder_that_cannot_be_created_is_an_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, "x").unwrap();
    let e = Store::open(&default_path(&file)).unwrap_err();
    assert!(matches!(e, StoreError::Open { .. }), "{e:?}");
    assert!(e.to_string().starts_with("cannot open the station database"), "{e}");
}

#[test]
fn outcome_names_are_stable_and_round_trip() {
    let names: Vec<&str> = AsRunOutcome::ALL.iter().map(|o| o.name()).collect();
    assert_eq!(
        names,
        [
            "played",
            "preempted",
            "resumed",
            "late",
            "missed",
            "skipped-quiet-hours",
            "skipped-expired",
            "skipped-holiday",
            "skipped-max-plays",
            "no-variant",
            "failed-output",
            "stopped"
        ]
    );
    for o in AsRunOutcome::ALL {
        assert_eq!(AsRunOutcome::from_name(o.name()), Some(o));
        assert_eq!(serde_json::to_string(&o).unwrap(), format!("\"{}\"", o.name()));
    }
    assert_eq!(AsRunOutcome::from_name("play"), None);
}

#[test]
fn cue_ids_above_i64_max_round_trip_and_sort_in_u64_order() {
    let (_dir, store) = temp();
    let ids = [u64::MAX, 1u64 << 63, (1u64 << 63) - 1, 0, 42];
    for id in ids {
        assert!(store.record_planned(&planned(id, "dongmen", at(7, 0, 0), Outcome::Play)).unwrap());
    }
    let got: Vec<u64> = store.query(&Filter::default()).unwrap().iter().map(|r| r.cue.0).collect();
    assert_eq!(got, [0, 42, (1u64 << 63) - 1, 1u64 << 63, u64::MAX]);
    assert_eq!(store.get(CueId(u64::MAX)).unwrap().unwrap().cue, CueId(u64::MAX));
}

#[test]
fn times_are_stored_as_fixed_width_utc_to_the_millisecond() {
    let t = at(7, 0, 5) + chrono::Duration::nanoseconds(123_456_789);
    assert_eq!(stamp(t), "2026-12-01T07:00:05.123Z");
    assert_eq!(stamp(at(23, 59, 59)), "2026-12-01T23:59:59.000Z");
    let (_dir, store) = temp();
    store.record_planned(&planned(1, "dongmen", t, Outcome::Play)).unwrap();
    let row = store.get(CueId(1)).unwrap().unwrap();
    assert_eq!(row.scheduled, at(7, 0, 5) + chrono::Duration::milliseconds(123));
}

#[test]
fn writes_that_do_not_fit_the_rows_state_change_nothing() {
    let (_dir, store) = temp();
    let id = CueId(7);
    // Unknown cue.
    assert!(!store.mark_started(id, at(7, 0, 0), None).unwrap());
    assert!(!store.mark_outcome(id, AsRunOutcome::Missed, None).unwrap());
    store.record_planned(&planned(7, "dongmen", at(7, 0, 0), Outcome::Play)).unwrap();
    // An end before a start, and on-air outcomes before a start.
    assert!(!store.mark_ended(id, at(7, 1, 0), AsRunOutcome::Played).unwrap());
    assert!(!store.mark_outcome(id, AsRunOutcome::Preempted, None).unwrap());
    assert!(store.mark_started(id, at(7, 0, 0), None).unwrap());
    // A second start, and never-aired outcomes after a start.
    assert!(!store.mark_started(id, at(7, 0, 9), None).unwrap());
    assert!(!store.mark_outcome(id, AsRunOutcome::Missed, None).unwrap());
    assert!(!store.mark_ended(id, at(7, 1, 0), AsRunOutcome::SkippedExpired).unwrap());
    assert!(store.mark_ended(id, at(7, 0, 30), AsRunOutcome::Played).unwrap());
    // Final: nothing moves it any more.
    assert!(!store.mark_ended(id, at(7, 1, 0), AsRunOutcome::Stopped).unwrap());
    assert!(!store.mark_outcome(id, AsRunOutcome::FailedOutput, Some(&Text::new("card", "card"))).unwrap());
    let row = store.get(id).unwrap().unwrap();
    assert_eq!(
        (row.started, row.ended, row.outcome),
        (Some(at(7, 0, 0)), Some(at(7, 0, 30)), Some(AsRunOutcome::Played))
    );
    assert_eq!(row.detail, None);
}

#[test]
fn scheduler_decisions_are_final_rows_with_their_reason() {
    let (_dir, store) = temp();
    let mut no_variant = planned(1, "dongmen", at(7, 0, 0), Outcome::NoVariant { message: "flu-vaccine".into() });
    no_variant.cue = None;
    store.record_planned(&no_variant).unwrap();
    let deferred = planned(2, "dongmen", at(7, 0, 0), Outcome::Deferred { from: at(6, 0, 0) });
    store.record_planned(&deferred).unwrap();
    store.record_planned(&planned(3, "dongmen", at(7, 0, 0), Outcome::SkippedQuietHours)).unwrap();
    store.record_planned(&planned(4, "dongmen", at(7, 0, 0), Outcome::SkippedMaxPlays)).unwrap();

    let r1 = store.get(CueId(1)).unwrap().unwrap();
    assert_eq!((r1.outcome, r1.clip.as_ref(), r1.priority), (Some(AsRunOutcome::NoVariant), None, None));
    assert_eq!(r1.detail.as_deref(), Some("message flu-vaccine"));
    let r2 = store.get(CueId(2)).unwrap().unwrap();
    assert_eq!((r2.outcome, r2.state()), (None, "planned"));
    assert_eq!(r2.detail.as_deref(), Some("deferred from 2026-12-01T06:00:00.000Z"));
    assert_eq!(store.get(CueId(3)).unwrap().unwrap().outcome, Some(AsRunOutcome::SkippedQuietHours));
    // The clip that reached its daily limit is named, and the row is final.
    let r4 = store.get(CueId(4)).unwrap().unwrap();
    assert_eq!(
        (r4.outcome, r4.clip.as_ref().map(|c| c.as_str())),
        (Some(AsRunOutcome::SkippedMaxPlays), Some("0123456789abcdef"))
    );
    // Final rows are neither started nor listed as unfinished.
    assert!(!store.mark_started(CueId(3), at(7, 0, 0), None).unwrap());
    assert!(!store.mark_started(CueId(4), at(7, 0, 0), None).unwrap());
    let open: Vec<u64> = store.unfinished(at(8, 0, 0)).unwrap().iter().map(|r| r.cue.0).collect();
    assert_eq!(open, [2]);
}

#[test]
fn a_manual_play_is_recorded_without_a_slot() {
    let (_dir, store) = temp();
    let mut cue = planned(9, "ximen", at(10, 0, 0), Outcome::Play).cue.unwrap();
    cue.slot = None;
    cue.priority = Priority::Emergency;
    assert!(store.record_cue(&cue).unwrap());
    assert!(!store.record_cue(&cue).unwrap());
    let row = store.get(CueId(9)).unwrap().unwrap();
    assert_eq!((row.slot, row.priority), (None, Some(Priority::Emergency)));
}

#[test]
fn csv_fields_are_quoted_only_when_needed() {
    assert_eq!(csv::field("东门村"), "东门村");
    assert_eq!(csv::field("a,b"), "\"a,b\"");
    assert_eq!(csv::field("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(csv::field("two\nlines"), "\"two\nlines\"");
    assert_eq!(csv::field(""), "");
}

#[test]
fn a_saved_value_that_no_longer_fits_is_a_json_error_not_a_panic() {
    let (_dir, store) = temp();
    store.save_json("playlists", &vec![1, 2, 3]).unwrap();
    let e = store.load_json::<std::collections::BTreeMap<String, u32>>("playlists").unwrap_err();
    assert!(matches!(e, StoreError::Json { .. }) && !e.needs_operator(), "{e:?}");
    assert_eq!(store.load_json::<u32>("nothing-here").unwrap(), None);
}

#[test]
fn processes_opening_a_new_database_at_once_all_succeed() {
    // `serve` and `xiangyin log` started together on a fresh state folder: one creates the schema,
    // the others wait for it and find it current. Races are rare: try a few fresh folders.
    for _ in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let path = default_path(&dir.path().join("var"));
        let threads: Vec<_> = (0..6)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let s = Store::open(&path).unwrap();
                    s.record_planned(&planned(i, "dongmen", at(7, 0, 0), Outcome::Play)).unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.query(&Filter::default()).unwrap().len(), 6);
        s.check_integrity().unwrap();
    }
}

#[test]
fn a_store_can_move_to_another_thread() {
    fn send<T: Send>() {}
    send::<Store>();
    send::<StoreError>();
}

#[test]
fn a_cue_found_on_air_after_a_crash_is_stopped_for_good() {
    let (_dir, store) = temp();
    let id = CueId(7);
    store.record_planned(&planned(7, "dongmen", at(7, 0, 0), Outcome::Play)).unwrap();
    assert!(store.mark_started(id, at(7, 0, 0), None).unwrap());
    // The next run settles it: stopped, its end unknown.
    assert!(
        store
            .mark_outcome(
                id,
                AsRunOutcome::Stopped,
                Some(&Text::new("the station stopped while it was on air", "the station stopped while it was on air"))
            )
            .unwrap()
    );
    assert!(store.unfinished(at(23, 0, 0)).unwrap().is_empty(), "no longer open");
    // Neither a later shutdown nor another restart rewrites it.
    assert!(!store.mark_ended(id, at(7, 30, 0), AsRunOutcome::Stopped).unwrap());
    assert!(!store.mark_outcome(id, AsRunOutcome::Stopped, Some(&Text::new("again", "again"))).unwrap());
    let row = store.get(id).unwrap().unwrap();
    assert_eq!((row.outcome, row.ended), (Some(AsRunOutcome::Stopped), None));
    assert_eq!(row.detail.as_deref(), Some("the station stopped while it was on air"));
}

#[test]
fn a_verdict_is_kept_only_for_a_cue_that_played_and_the_last_good_test_is_found() {
    let (_d, s) = temp();
    let mut test = planned(7, "dongmen", at(10, 0, 0), Outcome::Play);
    test.slot = "line-test".into();
    if let Some(c) = test.cue.as_mut() {
        c.slot = Some("line-test".into());
    }
    s.record_planned(&test).unwrap();
    let note = |heard| crate::domain::HeardNote {
        heard,
        level_dbfs: Some(-38.0),
        delay_ms: Some(279),
        detail: Text::new("heard back", "回采听到了"),
    };
    assert!(!s.mark_heard(CueId(7), &note(crate::domain::Heard::Yes)).unwrap(), "not started: nothing to prove");
    assert!(!s.mark_heard(CueId(99), &note(crate::domain::Heard::Yes)).unwrap(), "unknown cue");
    s.mark_started(CueId(7), at(10, 0, 0), None).unwrap();
    s.mark_ended(CueId(7), at(10, 0, 4), AsRunOutcome::Played).unwrap();
    assert!(s.mark_heard(CueId(7), &note(crate::domain::Heard::No)).unwrap());
    assert_eq!(s.last_good("line-test").unwrap(), vec![]);
    assert!(s.mark_heard(CueId(7), &note(crate::domain::Heard::Yes)).unwrap(), "a later verdict replaces it");
    let row = s.get(CueId(7)).unwrap().unwrap();
    assert_eq!(row.heard, Some(note(crate::domain::Heard::Yes)));
    assert_eq!(row.outcome, Some(AsRunOutcome::Played), "the verdict does not touch the outcome");
    assert_eq!(s.last_good("line-test").unwrap(), vec![(VillageId::new("dongmen").unwrap(), at(10, 0, 0))]);
}
