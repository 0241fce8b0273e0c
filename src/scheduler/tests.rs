//! plan_window and next_firing, as an operator would check them: what plays where and when.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use super::testkit::*;
use super::*;
use crate::config::{PlaylistMode, QuietHours};
use crate::domain::{DailyWindow, ReviewState};

const NO_HOLIDAYS: &dyn Fn(NaiveDate) -> bool = &|_| false;

/// Every entry of the local (Shanghai) days `first..=last`, from a fresh state.
fn days(plan: &Plan, clips: &ClipIndex, first: NaiveDate, last: NaiveDate) -> Vec<Planned> {
    let tz = plan.station.timezone;
    let mut st = PlaylistState::new();
    plan_window(plan, clips, local_instant(tz, first, 0), local_instant(tz, last, 1440), &mut st, NO_HOLIDAYS)
}

/// The same local days planned one window per day, carrying one state across the windows.
fn day_by_day(plan: &Plan, clips: &ClipIndex, first: NaiveDate, last: NaiveDate) -> Vec<Planned> {
    let tz = plan.station.timezone;
    let mut st = PlaylistState::new();
    let mut out = Vec::new();
    let mut day = first;
    while day <= last {
        out.extend(plan_window(
            plan,
            clips,
            local_instant(tz, day, 0),
            local_instant(tz, day, 1440),
            &mut st,
            NO_HOLIDAYS,
        ));
        day = day.succ_opt().expect("a next day");
    }
    out
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// (village, clip id prefix, outcome name) of each entry.
fn who_hears_what(entries: &[Planned]) -> Vec<(String, String, &'static str)> {
    entries
        .iter()
        .map(|p| {
            let clip = p.cue.as_ref().map_or("-".to_owned(), |c| c.clip.as_str()[..2].to_owned());
            (p.village.to_string(), clip, p.outcome.name())
        })
        .collect()
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[test]
fn seven_in_the_morning_in_shanghai_is_eleven_pm_utc_the_day_before() {
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["cmn"])],
        vec![playlist("news", PlaylistMode::InOrder, &["notice"], Duration::ZERO, 1)],
        vec![slot("morning", "0 7 * * *", "news", &["dongmen"])],
    );
    let clips = ClipIndex::new(&[clip("a1", "notice", "cmn", 5.0)]);
    let got = days(&plan, &clips, date(2026, 12, 1), date(2026, 12, 1));
    assert_eq!(got.len(), 1);
    let cue = got[0].playable().expect("plays");
    assert_eq!(cue.at, t("2026-11-30T23:00:00Z"));
    // The id is a pinned hash of (slot, firing, village, position): the same on every run.
    assert_eq!(cue.id, CueId(10_242_783_873_897_125_466));
    assert_eq!(cue.zone.as_str(), "dongmen");
    assert_eq!(cue.slot.as_deref(), Some("morning"));
    assert_eq!(cue.priority, crate::domain::Priority::Scheduled);
    assert_eq!(cue.language.as_str(), "cmn");
}

#[test]
fn in_order_plays_every_item_with_repeat_and_gap_to_the_millisecond() {
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["cmn"])],
        vec![playlist("news", PlaylistMode::InOrder, &["fire", "flu"], Duration::from_millis(2000), 2)],
        vec![slot("morning", "0 7 * * *", "news", &["dongmen"])],
    );
    let clips = ClipIndex::new(&[clip("a1", "fire", "cmn", 6.5), clip("b1", "flu", "cmn", 3.25)]);
    let got = days(&plan, &clips, date(2026, 12, 1), date(2026, 12, 1));
    let starts: Vec<String> = got.iter().map(|p| p.at.format("%H:%M:%S%.3f").to_string()).collect();
    // 23:00 UTC = 07:00 Shanghai. fire 6.5 s, gap 2 s, flu 3.25 s, gap 2 s, fire, gap, flu.
    assert_eq!(starts, ["23:00:00.000", "23:00:08.500", "23:00:13.750", "23:00:22.250"]);
    assert_eq!(who_hears_what(&got).iter().map(|w| w.1.as_str()).collect::<Vec<_>>(), ["a1", "b1", "a1", "b1"]);
    assert_eq!(got.iter().map(|p| ms(p.duration)).collect::<Vec<_>>(), [6500, 3250, 6500, 3250]);
    assert!(got.iter().all(|p| p.outcome == Outcome::Play));
}

#[test]
fn the_chime_plays_once_before_the_first_item_and_counts_in_its_duration() {
    let mut s = slot("morning", "0 7 * * *", "news", &["dongmen", "nanjie"]);
    s.chime = Some(msg("chime"));
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["yue-qingxi", "cmn"]), village("nanjie", &["cmn"])],
        vec![playlist("news", PlaylistMode::InOrder, &["fire", "flu"], Duration::from_secs(2), 1)],
        vec![s],
    );
    let clips = ClipIndex::new(&[
        clip("a1", "fire", "cmn", 6.5),
        clip("b1", "flu", "cmn", 3.25),
        clip("c1", "chime", "zxx", 2.2),
        clip("c2", "chime", "yue-qingxi", 1.0),
    ]);
    let got = days(&plan, &clips, date(2026, 12, 1), date(2026, 12, 1));
    let dongmen: Vec<&Planned> = got.iter().filter(|p| p.village.as_str() == "dongmen").collect();
    let nanjie: Vec<&Planned> = got.iter().filter(|p| p.village.as_str() == "nanjie").collect();
    // dongmen hears its own-language chime (1 s); nanjie (cmn only) the zxx one (2.2 s).
    assert_eq!(dongmen[0].cue.as_ref().unwrap().chime.as_ref().unwrap().as_str(), "c200000000000000");
    assert_eq!(nanjie[0].cue.as_ref().unwrap().chime.as_ref().unwrap().as_str(), "c100000000000000");
    assert_eq!((ms(dongmen[0].duration), ms(nanjie[0].duration)), (7500, 8700));
    assert_eq!(nanjie[1].at - nanjie[0].at, chrono::Duration::milliseconds(8700 + 2000));
    assert_eq!(dongmen[1].at - dongmen[0].at, chrono::Duration::milliseconds(7500 + 2000));
    // Only the first item of each village has a chime.
    assert!(dongmen[1].cue.as_ref().unwrap().chime.is_none() && nanjie[1].cue.as_ref().unwrap().chime.is_none());
    // The chime's own gain (-3 dB loudness, unity village volume) is handed on.
    assert_eq!(nanjie[0].chime_gain, Some(GainDb(-3.0)));
    assert_eq!(nanjie[1].chime_gain, None);
}

#[test]
fn a_chime_that_cannot_play_is_reported_and_the_notice_plays_without_it() {
    let mut s = slot("morning", "0 7 * * *", "news", &["dongmen"]);
    s.chime = Some(msg("chime"));
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["cmn"])],
        vec![playlist("news", PlaylistMode::InOrder, &["fire"], Duration::ZERO, 1)],
        vec![s],
    );
    let mut chime = clip("c1", "chime", "zxx", 2.2);
    chime.review = ReviewState::Pending;
    let clips = ClipIndex::new(&[clip("a1", "fire", "cmn", 6.5), chime]);
    let got = days(&plan, &clips, date(2026, 12, 1), date(2026, 12, 1));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].outcome, Outcome::Play);
    assert_eq!(got[0].cue.as_ref().unwrap().chime, None);
    assert_eq!(ms(got[0].duration), 6500);
    assert_eq!(got[0].chime_missing, Some(Outcome::NoVariant { message: "chime".into() }));
}

#[test]
fn rotate_moves_on_once_per_firing_and_every_village_hears_the_same_notice() {
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![
            village("dongmen", &["yue-qingxi", "cmn"]),
            village("nanjie", &["cmn"]),
            village("huangni", &["yue-qingxi"]),
        ],
        vec![playlist("morning", PlaylistMode::Rotate, &["fire", "flu", "song"], Duration::from_secs(2), 1)],
        vec![slot("morning", "0 7 * * *", "morning", &["dongmen", "nanjie", "huangni"])],
    );
    let clips = ClipIndex::new(&[
        clip("a1", "fire", "yue-qingxi", 6.0),
        clip("a2", "fire", "cmn", 6.0),
        clip("b1", "flu", "yue-qingxi", 5.0),
        clip("b2", "flu", "cmn", 5.0),
        clip("d1", "song", "zxx", 30.0),
    ]);
    let got = days(&plan, &clips, date(2026, 12, 1), date(2026, 12, 3));
    let heard: Vec<String> = who_hears_what(&got).into_iter().map(|(v, c, _)| format!("{v}:{c}")).collect();
    assert_eq!(
        heard,
        [
            "dongmen:a1",
            "nanjie:a2",
            "huangni:a1", // day 1: fire safety, each in its language
            "dongmen:b1",
            "nanjie:b2",
            "huangni:b1", // day 2: flu vaccine
            "dongmen:d1",
            "nanjie:d1",
            "huangni:d1", // day 3: the song
        ]
    );
    // The same three days planned one window at a time, carrying the state, agree.
    let four = day_by_day(&plan, &clips, date(2026, 12, 1), date(2026, 12, 4));
    assert_eq!(four[..got.len()], got[..]);
    // Day 4 starts the round again.
    assert_eq!(four[got.len()].cue.as_ref().unwrap().clip.as_str(), "a100000000000000");
}

#[test]
fn shuffle_plays_every_item_once_per_firing_in_a_reproducible_order() {
    let items = ["m1", "m2", "m3", "m4", "m5"];
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["cmn"]), village("nanjie", &["cmn"])],
        vec![playlist("evening", PlaylistMode::Shuffle, &items, Duration::from_secs(5), 1)],
        vec![slot("evening", "0 19 * * *", "evening", &["dongmen", "nanjie"])],
    );
    let clips = ClipIndex::new(&[
        clip("a1", "m1", "cmn", 10.0),
        clip("a2", "m2", "cmn", 10.0),
        clip("a3", "m3", "cmn", 10.0),
        clip("a4", "m4", "cmn", 10.0),
        clip("a5", "m5", "cmn", 10.0),
    ]);
    let got = days(&plan, &clips, date(2026, 12, 1), date(2026, 12, 10));
    assert_eq!(got, days(&plan, &clips, date(2026, 12, 1), date(2026, 12, 10)), "same inputs, same plan");
    let mut orders = BTreeSet::new();
    for firing in got.iter().map(|p| p.firing).collect::<BTreeSet<_>>() {
        let order = |v: &str| -> Vec<String> {
            got.iter()
                .filter(|p| p.firing == firing && p.village.as_str() == v)
                .map(|p| p.item.as_ref().unwrap().to_string())
                .collect()
        };
        let dongmen = order("dongmen");
        assert_eq!(dongmen.iter().cloned().collect::<BTreeSet<_>>().len(), 5, "a repeat within a firing: {dongmen:?}");
        assert_eq!(dongmen, order("nanjie"), "both villages hear the firing's one order");
        orders.insert(dongmen);
    }
    assert!(orders.len() >= 5, "10 evenings, only {} orders: {orders:?}", orders.len());
}

#[test]
fn the_language_chain_decides_what_each_village_hears_and_no_variant_is_recorded() {
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["yue-qingxi", "cmn"]), village("nanjie", &["cmn"]), village("shanding", &["hak"])],
        vec![playlist("noon", PlaylistMode::InOrder, &["clapper", "notice", "song"], Duration::from_secs(1), 1)],
        vec![slot("noon", "0 12 * * *", "noon", &["dongmen", "nanjie", "shanding"])],
    );
    let clips = ClipIndex::new(&[
        clip("a1", "notice", "yue-qingxi", 4.0),
        clip("a2", "notice", "cmn", 4.0),
        clip("b1", "clapper", "yue-qingxi", 8.0),
        clip("d1", "song", "zxx", 3.0),
    ]);
    let got = days(&plan, &clips, date(2026, 12, 1), date(2026, 12, 1));
    let of = |v: &str| -> Vec<(String, &'static str, String)> {
        got.iter()
            .filter(|p| p.village.as_str() == v)
            .map(|p| {
                let clip = p.cue.as_ref().map_or("-".to_owned(), |c| c.clip.as_str()[..2].to_owned());
                (clip, p.outcome.name(), p.at.format("%H:%M:%S").to_string())
            })
            .collect()
    };
    let e = |c: &str, o: &'static str, at: &str| (c.to_owned(), o, at.to_owned());
    // 04:00 UTC = 12:00 Shanghai.
    assert_eq!(of("dongmen"), [e("b1", "play", "04:00:00"), e("a1", "play", "04:00:09"), e("d1", "play", "04:00:14")]);
    // The clapper talk exists only in yue-qingxi: recorded, and takes no air time.
    assert_eq!(
        of("nanjie"),
        [e("-", "no-variant", "04:00:00"), e("a2", "play", "04:00:00"), e("d1", "play", "04:00:05")]
    );
    // A Hakka village: the station default (Mandarin) for the notice, and music plays everywhere.
    assert_eq!(
        of("shanding"),
        [e("-", "no-variant", "04:00:00"), e("a2", "play", "04:00:00"), e("d1", "play", "04:00:05")]
    );
    let nanjie: Vec<&Planned> = got.iter().filter(|p| p.village.as_str() == "nanjie").collect();
    assert_eq!(nanjie[0].outcome, Outcome::NoVariant { message: "clapper".into() });
    assert_eq!(nanjie[0].at, nanjie[1].at);
    assert!(nanjie[0].playable().is_none());
}

#[test]
fn unapproved_clips_are_never_cued() {
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["yue-qingxi", "cmn"]), village("huangni", &["yue-qingxi"])],
        vec![playlist("news", PlaylistMode::InOrder, &["notice"], Duration::ZERO, 1)],
        vec![slot("morning", "0 7 * * *", "news", &["dongmen", "huangni"])],
    );
    let mut yue = clip("a1", "notice", "yue-qingxi", 4.0);
    yue.review = ReviewState::Pending;
    let mut cmn = clip("a2", "notice", "cmn", 4.0);
    cmn.review = ReviewState::Rejected { reason: "date read wrongly".into() };
    let clips = ClipIndex::new(&[yue.clone(), cmn.clone()]);
    let week = days(&plan, &clips, date(2026, 12, 1), date(2026, 12, 7));
    assert_eq!(week.len(), 14);
    assert!(week.iter().all(|p| p.cue.is_none() && matches!(p.outcome, Outcome::NoVariant { .. })), "{week:#?}");
    // Approving the Mandarin one: both villages hear it; the pending Cantonese clip is never cued.
    cmn.review = ReviewState::Approved;
    let clips = ClipIndex::new(&[yue, cmn]);
    let week = days(&plan, &clips, date(2026, 12, 1), date(2026, 12, 7));
    assert_eq!(week.len(), 14);
    for p in &week {
        // huangni has no Cantonese variant it may play, so it falls back to the station default.
        assert_eq!(p.playable().unwrap().clip.as_str(), "a200000000000000", "{p:?}");
    }
}

#[test]
fn a_clip_plays_on_its_last_local_day_and_is_skipped_the_day_after() {
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["cmn"])],
        vec![playlist("news", PlaylistMode::InOrder, &["notice"], Duration::ZERO, 1)],
        vec![slot("morning", "0 7 * * *", "news", &["dongmen"])],
    );
    let mut c = clip("a1", "notice", "cmn", 4.0);
    c.expires = Some(date(2026, 12, 31));
    let clips = ClipIndex::new(&[c]);
    let got = days(&plan, &clips, date(2026, 12, 31), date(2027, 1, 1));
    assert_eq!(got[0].outcome, Outcome::Play);
    // 1 Jan 07:00 in Shanghai is still 31 Dec in UTC: the local date decides.
    assert_eq!(got[1].at, t("2026-12-31T23:00:00Z"));
    assert_eq!(got[1].outcome, Outcome::SkippedExpired);
    assert_eq!(got[1].cue.as_ref().unwrap().clip.as_str(), "a100000000000000", "names the expired clip");
    assert!(got[1].playable().is_none());
    assert_eq!(got[1].duration, Duration::ZERO);
}

fn quiet_plan(rule: QuietRule, crons: &[&str]) -> Plan {
    let mut v = village("dongmen", &["cmn"]);
    v.quiet_hours = QuietHours {
        weekdays: vec![DailyWindow::parse("21:30-06:30").unwrap()],
        weekends: vec![DailyWindow::parse("21:30-07:30").unwrap()],
        holidays: vec![DailyWindow::parse("21:30-08:00").unwrap()],
    };
    let slots = crons
        .iter()
        .map(|c| {
            let mut s = slot(&format!("at {c}"), c, "news", &["dongmen"]);
            s.in_quiet_hours = rule;
            s
        })
        .collect();
    plan(
        station("Asia/Shanghai", "cmn"),
        vec![v],
        vec![playlist("news", PlaylistMode::InOrder, &["fire", "flu"], Duration::from_secs(2), 1)],
        slots,
    )
}

fn quiet_clips() -> ClipIndex {
    ClipIndex::new(&[clip("a1", "fire", "cmn", 6.5), clip("b1", "flu", "cmn", 3.25)])
}

#[test]
fn quiet_hours_skip_cues_on_both_sides_of_midnight_in_shanghai() {
    // Tuesday 1 Dec 2026 into Wednesday 2 Dec; weekday quiet hours 21:30-06:30.
    let plan = quiet_plan(QuietRule::Skip, &["29 21 * * *", "0 23 * * *", "0 5 * * *", "30 6 * * *"]);
    let tz = plan.station.timezone;
    let got = plan_window(
        &plan,
        &quiet_clips(),
        cst(2026, 12, 1, 12, 0, 0),
        cst(2026, 12, 2, 12, 0, 0),
        &mut PlaylistState::new(),
        NO_HOLIDAYS,
    );
    let summary: Vec<String> = got
        .iter()
        .map(|p| {
            format!(
                "{} {} {}",
                p.at.with_timezone(&tz).format("%d %H:%M:%S%.3f"),
                p.item.as_ref().unwrap(),
                p.outcome.name()
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            "01 21:29:00.000 fire play",
            "01 21:29:08.500 flu play", // started before 21:30: plays
            "01 23:00:00.000 fire skipped-quiet-hours",
            "01 23:00:00.000 flu skipped-quiet-hours",
            "02 05:00:00.000 fire skipped-quiet-hours",
            "02 05:00:00.000 flu skipped-quiet-hours",
            "02 06:30:00.000 fire play",
            "02 06:30:08.500 flu play",
        ]
    );
    // A 21:29:55 firing: the second item would start at 21:30:03.5, inside the window.
    let plan = quiet_plan(QuietRule::Skip, &["55 29 21 * * *"]);
    let got = plan_window(
        &plan,
        &quiet_clips(),
        cst(2026, 12, 1, 12, 0, 0),
        cst(2026, 12, 2, 0, 0, 0),
        &mut PlaylistState::new(),
        NO_HOLIDAYS,
    );
    assert_eq!(got.iter().map(|p| p.outcome.name()).collect::<Vec<_>>(), ["play", "skipped-quiet-hours"]);
}

#[test]
fn quiet_hours_defer_moves_the_firing_to_their_end_on_both_sides_of_midnight() {
    let plan = quiet_plan(QuietRule::Defer, &["0 23 * * *", "0 5 * * *"]);
    let tz = plan.station.timezone;
    let got = plan_window(
        &plan,
        &quiet_clips(),
        cst(2026, 12, 1, 12, 0, 0),
        cst(2026, 12, 2, 12, 0, 0),
        &mut PlaylistState::new(),
        NO_HOLIDAYS,
    );
    let end = cst(2026, 12, 2, 6, 30, 0);
    assert_eq!(end, t("2026-12-01T22:30:00Z"));
    // Both firings land at Wednesday 06:30; the one fired before midnight (the 23:00 slot is first
    // in file order, the tie-break) and the one after.
    let summary: Vec<(String, String, Outcome)> = got
        .iter()
        .map(|p| (p.slot.clone(), p.at.with_timezone(&tz).format("%d %H:%M:%S%.3f").to_string(), p.outcome.clone()))
        .collect();
    let d = |s: &str, at: &str, from: DateTime<Utc>| (s.to_owned(), at.to_owned(), Outcome::Deferred { from });
    assert_eq!(
        summary,
        [
            d("at 0 23 * * *", "02 06:30:00.000", cst(2026, 12, 1, 23, 0, 0)),
            d("at 0 5 * * *", "02 06:30:00.000", cst(2026, 12, 2, 5, 0, 0)),
            d("at 0 23 * * *", "02 06:30:08.500", cst(2026, 12, 1, 23, 0, 8) + chrono::Duration::milliseconds(500)),
            d("at 0 5 * * *", "02 06:30:08.500", cst(2026, 12, 2, 5, 0, 8) + chrono::Duration::milliseconds(500)),
        ]
    );
    assert!(got.iter().all(|p| p.playable().is_some_and(|c| c.at == p.at)));
    // Friday night waits for the weekend morning: 07:30 on Saturday 5 Dec.
    let got = plan_window(
        &plan,
        &quiet_clips(),
        cst(2026, 12, 4, 12, 0, 0),
        cst(2026, 12, 5, 0, 0, 0),
        &mut PlaylistState::new(),
        NO_HOLIDAYS,
    );
    assert_eq!(got[0].at, cst(2026, 12, 5, 7, 30, 0));
}

#[test]
fn the_date_window_is_inclusive_local_days() {
    let mut early = slot("early", "30 0 * * *", "news", &["dongmen"]);
    let mut late = slot("late", "30 23 * * *", "news", &["dongmen"]);
    for s in [&mut early, &mut late] {
        s.from = Some(date(2026, 12, 2));
        s.until = Some(date(2026, 12, 4));
    }
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["cmn"])],
        vec![playlist("news", PlaylistMode::InOrder, &["notice"], Duration::ZERO, 1)],
        vec![early, late],
    );
    let clips = ClipIndex::new(&[clip("a1", "notice", "cmn", 4.0)]);
    let got = days(&plan, &clips, date(2026, 11, 25), date(2026, 12, 10));
    let tz = plan.station.timezone;
    let local: Vec<String> = got.iter().map(|p| p.at.with_timezone(&tz).format("%m-%d %H:%M").to_string()).collect();
    assert_eq!(local, ["12-02 00:30", "12-02 23:30", "12-03 00:30", "12-03 23:30", "12-04 00:30", "12-04 23:30"]);
    // 2 Dec 00:30 in Shanghai is 1 Dec in UTC, and still inside the window.
    assert_eq!(got[0].at, t("2026-12-01T16:30:00Z"));
}

#[test]
fn holidays_skip_slots_that_say_so_without_moving_the_rotation_on() {
    let mut skip = slot("workday-notices", "0 8 * * *", "rota", &["dongmen", "nanjie"]);
    skip.on_holidays = false;
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["cmn"]), village("nanjie", &["cmn"])],
        vec![playlist("rota", PlaylistMode::Rotate, &["fire", "flu"], Duration::ZERO, 1)],
        vec![skip],
    );
    let clips = ClipIndex::new(&[clip("a1", "fire", "cmn", 4.0), clip("b1", "flu", "cmn", 4.0)]);
    let tz = plan.station.timezone;
    let national_day = |d: NaiveDate| d == date(2026, 10, 1);
    let got = plan_window(
        &plan,
        &clips,
        local_instant(tz, date(2026, 9, 30), 0),
        local_instant(tz, date(2026, 10, 3), 0),
        &mut PlaylistState::new(),
        &national_day,
    );
    assert_eq!(
        who_hears_what(&got),
        [
            ("dongmen".into(), "a1".into(), "play"),
            ("nanjie".into(), "a1".into(), "play"),
            ("dongmen".into(), "-".into(), "skipped-holiday"),
            ("nanjie".into(), "-".into(), "skipped-holiday"),
            ("dongmen".into(), "b1".into(), "play"), // the flu notice's turn was kept for 2 Oct
            ("nanjie".into(), "b1".into(), "play"),
        ]
    );
    assert_eq!(got[2].at, cst(2026, 10, 1, 8, 0, 0));
    assert!(got[2].item.is_none() && got[2].cue.is_none());
}

#[test]
fn slots_that_play_on_holidays_follow_the_holiday_quiet_hours() {
    let plan = quiet_plan(QuietRule::Skip, &["45 7 * * *"]);
    let national_day = |d: NaiveDate| d == date(2026, 10, 1);
    let tz = plan.station.timezone;
    let got = plan_window(
        &plan,
        &quiet_clips(),
        local_instant(tz, date(2026, 10, 1), 0),
        local_instant(tz, date(2026, 10, 3), 0),
        &mut PlaylistState::new(),
        &national_day,
    );
    let outcomes: Vec<(u32, &str)> = got
        .iter()
        .map(|p| (p.at.with_timezone(&tz).format("%d").to_string().parse().unwrap(), p.outcome.name()))
        .collect();
    // 1 Oct (holiday, quiet until 08:00): skipped. 2 Oct (Friday, quiet until 06:30): plays.
    assert_eq!(outcomes, [(1, "skipped-quiet-hours"), (1, "skipped-quiet-hours"), (2, "play"), (2, "play")]);
}

#[test]
fn gain_is_the_clip_loudness_gain_plus_the_village_volume_at_that_time() {
    use crate::domain::TimeOfDay;
    let mut v = village("dongmen", &["cmn"]);
    v.volume = vec![
        (TimeOfDay::parse("06:30").unwrap(), GainDb(-6.0)),
        (TimeOfDay::parse("08:00").unwrap(), GainDb(0.0)),
        (TimeOfDay::parse("20:00").unwrap(), GainDb(-4.0)),
    ];
    let mut st = station("Asia/Shanghai", "cmn");
    let crons = ["0 5 * * *", "0 7 * * *", "0 12 * * *", "0 21 * * *"];
    let slots = crons.iter().map(|c| slot(c, c, "news", &["dongmen"])).collect::<Vec<_>>();
    let lists = vec![playlist("news", PlaylistMode::InOrder, &["notice", "loud"], Duration::ZERO, 1)];
    // notice: −20 LUFS / −6 dBTP → −3 dB. loud: −30 LUFS / −2 dBTP → +7 to target, but only +1 of headroom.
    let mut loud = clip("b1", "loud", "cmn", 1.0);
    loud.loudness.integrated_lufs = -30.0;
    loud.loudness.true_peak_dbtp = -2.0;
    let clips = ClipIndex::new(&[clip("a1", "notice", "cmn", 1.0), loud]);
    let gains = |plan: &Plan| -> Vec<f64> {
        days(plan, &clips, date(2026, 12, 1), date(2026, 12, 1)).iter().map(|p| p.playable().unwrap().gain.0).collect()
    };
    // 05:00 is before the first step: the last one (20:00, −4) still holds from the evening before.
    let p = plan(st.clone(), vec![v.clone()], lists.clone(), slots.clone());
    assert_eq!(gains(&p), [-7.0, -3.0, -9.0, -5.0, -3.0, 1.0, -7.0, -3.0]);
    // A new station target changes the loudness part without re-importing.
    st.loudness.target_lufs = -18.0;
    let p = plan(st, vec![v], lists, slots);
    assert_eq!(gains(&p), [-2.0, -3.0, -4.0, -5.0, 2.0, 1.0, -2.0, -3.0]);
}

#[test]
fn cue_ids_are_unique_and_do_not_depend_on_how_the_time_is_cut_into_windows() {
    let mut chimed = slot("morning", "0 7 * * *", "rota", &["dongmen", "nanjie"]);
    chimed.chime = Some(msg("fire"));
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["cmn"]), village("nanjie", &["cmn"])],
        vec![
            playlist("rota", PlaylistMode::Rotate, &["fire", "flu"], Duration::ZERO, 2),
            playlist("all", PlaylistMode::InOrder, &["fire", "flu"], Duration::from_secs(1), 1),
        ],
        vec![chimed, slot("hourly", "0 * * * *", "all", &["dongmen", "nanjie"])],
    );
    let clips = ClipIndex::new(&[clip("a1", "fire", "cmn", 4.0), clip("b1", "flu", "cmn", 4.0)]);
    let tz = plan.station.timezone;
    let whole = days(&plan, &clips, date(2026, 12, 1), date(2026, 12, 7));
    let ids: HashSet<CueId> = whole.iter().map(|p| p.id).collect();
    assert_eq!(ids.len(), whole.len());
    assert_eq!(whole.len(), 7 * (2 * 2 + 24 * 2 * 2));
    assert!(whole.iter().all(|p| p.cue.as_ref().is_none_or(|c| c.id == p.id)));
    // Cut into windows of 7 hours (cutting through firings' item sequences), carrying the state.
    let mut st = PlaylistState::new();
    let mut cut = Vec::new();
    let mut from = local_instant(tz, date(2026, 12, 1), 0);
    let end = local_instant(tz, date(2026, 12, 8), 0);
    while from < end {
        let to = (from + chrono::Duration::hours(7)).min(end);
        cut.extend(plan_window(&plan, &clips, from, to, &mut st, NO_HOLIDAYS));
        from = to;
    }
    cut.sort_by_key(|p| (p.at, p.id));
    let mut whole_sorted = whole.clone();
    whole_sorted.sort_by_key(|p| (p.at, p.id));
    assert_eq!(cut, whole_sorted);
}

#[test]
fn a_window_holds_firings_from_its_start_up_to_but_not_including_its_end() {
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["cmn"])],
        vec![playlist("news", PlaylistMode::InOrder, &["notice"], Duration::ZERO, 1)],
        vec![slot("morning", "0 7 * * *", "news", &["dongmen"])],
    );
    let clips = ClipIndex::new(&[clip("a1", "notice", "cmn", 4.0)]);
    let seven = cst(2026, 12, 1, 7, 0, 0);
    let mut st = PlaylistState::new();
    assert_eq!(plan_window(&plan, &clips, seven, seven + chrono::Duration::seconds(1), &mut st, NO_HOLIDAYS).len(), 1);
    assert!(plan_window(&plan, &clips, seven - chrono::Duration::hours(1), seven, &mut st, NO_HOLIDAYS).is_empty());
    let just_after = seven + chrono::Duration::milliseconds(1);
    assert!(
        plan_window(&plan, &clips, just_after, just_after + chrono::Duration::hours(1), &mut st, NO_HOLIDAYS)
            .is_empty()
    );
    assert!(plan_window(&plan, &clips, seven, seven, &mut st, NO_HOLIDAYS).is_empty());
}

#[test]
fn simultaneous_cues_come_in_slot_file_order_then_village_file_order() {
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["cmn"]), village("ximen", &["cmn"]), village("nanjie", &["cmn"])],
        vec![
            playlist("news", PlaylistMode::InOrder, &["notice"], Duration::ZERO, 1),
            playlist("music", PlaylistMode::InOrder, &["song"], Duration::ZERO, 1),
        ],
        vec![
            slot("second-file-order", "0 7 * * *", "music", &["nanjie", "dongmen"]),
            slot("first-by-name-but-later", "0 7 * * *", "news", &["nanjie", "ximen"]),
        ],
    );
    let clips = ClipIndex::new(&[clip("a1", "notice", "cmn", 4.0), clip("d1", "song", "zxx", 4.0)]);
    let got = days(&plan, &clips, date(2026, 12, 1), date(2026, 12, 1));
    let order: Vec<String> = got.iter().map(|p| format!("{}/{}", p.slot, p.village)).collect();
    assert_eq!(
        order,
        [
            "second-file-order/dongmen",
            "second-file-order/nanjie",
            "first-by-name-but-later/ximen",
            "first-by-name-but-later/nanjie",
        ]
    );
}

#[test]
fn next_firing_is_the_earliest_slot_in_station_time() {
    let mut later = slot("winter", "0 7 * * *", "news", &["dongmen"]);
    later.from = Some(date(2026, 12, 10));
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["cmn"])],
        vec![playlist("news", PlaylistMode::InOrder, &["notice"], Duration::ZERO, 1)],
        vec![later, slot("noon", "30 11 * * 1-5", "news", &["dongmen"])],
    );
    // Saturday 5 Dec 2026 12:00 local: the weekday noon slot next fires Monday 7 Dec 11:30.
    let (at, s) = next_firing(&plan, cst(2026, 12, 5, 12, 0, 0)).unwrap();
    assert_eq!((at, s.name.as_str()), (cst(2026, 12, 7, 11, 30, 0), "noon"));
    assert_eq!(at, t("2026-12-07T03:30:00Z"));
    // Strictly after: at 11:30:00 exactly the next is the following day; half a second before, this one.
    assert_eq!(next_firing(&plan, cst(2026, 12, 7, 11, 30, 0)).unwrap().0, cst(2026, 12, 8, 11, 30, 0));
    let before = cst(2026, 12, 7, 11, 29, 59) + chrono::Duration::milliseconds(500);
    assert_eq!(next_firing(&plan, before).unwrap().0, cst(2026, 12, 7, 11, 30, 0));
    // After 10 Dec, the 07:00 winter slot comes first.
    let (at, s) = next_firing(&plan, cst(2026, 12, 10, 1, 0, 0)).unwrap();
    assert_eq!((at, s.name.as_str()), (cst(2026, 12, 10, 7, 0, 0), "winter"));
}

#[test]
fn slots_sharing_a_rotating_playlist_take_turns_in_the_order_they_fire() {
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["cmn"])],
        vec![playlist("rota", PlaylistMode::Rotate, &["fire", "flu", "song"], Duration::ZERO, 1)],
        vec![slot("evening", "0 19 * * *", "rota", &["dongmen"]), slot("morning", "0 7 * * *", "rota", &["dongmen"])],
    );
    let clips = ClipIndex::new(&[
        clip("a1", "fire", "cmn", 4.0),
        clip("b1", "flu", "cmn", 4.0),
        clip("d1", "song", "zxx", 4.0),
    ]);
    let week = days(&plan, &clips, date(2026, 12, 1), date(2026, 12, 3));
    let heard: Vec<String> =
        week.iter().map(|p| format!("{} {}", p.slot, &p.playable().unwrap().clip.as_str()[..2])).collect();
    assert_eq!(heard, ["morning a1", "evening b1", "morning d1", "evening a1", "morning b1", "evening d1"]);
    assert_eq!(day_by_day(&plan, &clips, date(2026, 12, 1), date(2026, 12, 3)), week);
}
