//! A clip's `max_plays_per_day`, as an operator would check it: a campaign that fires four times a
//! day plays twice per village, every day, however the time is cut into windows.

use std::time::Duration;

use chrono::NaiveDate;

use super::testkit::*;
use super::*;
use crate::config::{PlaylistMode, QuietHours};
use crate::domain::DailyWindow;

const NO_HOLIDAYS: &dyn Fn(NaiveDate) -> bool = &|_| false;

/// Every entry of the local (Shanghai) days `first..=last` in one window, from a fresh state.
fn days(plan: &Plan, clips: &ClipIndex, first: NaiveDate, last: NaiveDate) -> Vec<Planned> {
    let tz = plan.station.timezone;
    let mut st = PlaylistState::new();
    plan_window(plan, clips, local_instant(tz, first, 0), local_instant(tz, last, 1440), &mut st, NO_HOLIDAYS)
}

/// The same days cut into consecutive windows of `step` (the last one shorter), the state carried
/// across them through JSON, as `serve` does over a restart.
fn cut(plan: &Plan, clips: &ClipIndex, first: NaiveDate, last: NaiveDate, step: chrono::Duration) -> Vec<Planned> {
    let tz = plan.station.timezone;
    let mut saved = serde_json::to_string(&PlaylistState::new()).unwrap();
    let mut out = Vec::new();
    let (mut from, end) = (local_instant(tz, first, 0), local_instant(tz, last, 1440));
    while from < end {
        let to = (from + step).min(end);
        let mut st: PlaylistState = serde_json::from_str(&saved).unwrap();
        out.extend(plan_window(plan, clips, from, to, &mut st, NO_HOLIDAYS));
        saved = serde_json::to_string(&st).unwrap();
        from = to;
    }
    out
}

/// "local day HH:MM village clip outcome" for each entry, in the order given.
fn summary(plan: &Plan, entries: &[Planned]) -> Vec<String> {
    let tz = plan.station.timezone;
    entries
        .iter()
        .map(|p| {
            let clip = p.cue.as_ref().map_or("-".to_owned(), |c| c.clip.as_str()[..2].to_owned());
            format!("{} {} {clip} {}", p.at.with_timezone(&tz).format("%d %H:%M"), p.village, p.outcome.name())
        })
        .collect()
}

/// Only `village`'s lines of [`summary`], without the village.
fn of(plan: &Plan, entries: &[Planned], village: &str) -> Vec<String> {
    summary(plan, entries)
        .into_iter()
        .filter_map(|l| {
            let mut parts = l.splitn(4, ' ');
            let (d, t, v, rest) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
            (v == village).then(|| format!("{d} {t} {rest}"))
        })
        .collect()
}

/// A campaign clip limited to `max` plays a day.
fn campaign(max: u32) -> ClipMeta {
    let mut c = clip("a1", "census", "cmn", 20.0);
    c.max_plays_per_day = Some(max);
    c
}

/// One slot, `campaign` at 08, 10, 12 and 14 o'clock, for dongmen and nanjie.
fn four_a_day() -> Plan {
    plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["cmn"]), village("nanjie", &["cmn"])],
        vec![playlist("campaign", PlaylistMode::InOrder, &["census"], Duration::ZERO, 1)],
        vec![slot("campaign", "0 8,10,12,14 * * *", "campaign", &["dongmen", "nanjie"])],
    )
}

#[test]
fn a_clip_limited_to_two_a_day_plays_twice_per_village_then_is_skipped_and_again_the_next_day() {
    let plan = four_a_day();
    let clips = ClipIndex::new(&[campaign(2)]);
    let got = days(&plan, &clips, date(2026, 12, 1), date(2026, 12, 2));
    let day = |d: u32| {
        [
            format!("{d:02} 08:00 a1 play"),
            format!("{d:02} 10:00 a1 play"),
            format!("{d:02} 12:00 a1 skipped-max-plays"),
            format!("{d:02} 14:00 a1 skipped-max-plays"),
        ]
    };
    let both: Vec<String> = day(1).into_iter().chain(day(2)).collect();
    assert_eq!(of(&plan, &got, "dongmen"), both);
    assert_eq!(of(&plan, &got, "nanjie"), both);
    // A skipped entry names the clip that would have played, takes no air time and is not cued.
    let skipped = got.iter().find(|p| p.outcome == Outcome::SkippedMaxPlays).unwrap();
    assert_eq!(skipped.cue.as_ref().unwrap().clip.as_str(), "a100000000000000");
    assert_eq!((skipped.duration, skipped.playable()), (Duration::ZERO, None));
    // Without a limit, all four play.
    let unlimited = ClipIndex::new(&[clip("a1", "census", "cmn", 20.0)]);
    assert!(days(&plan, &unlimited, date(2026, 12, 1), date(2026, 12, 2)).iter().all(|p| p.outcome == Outcome::Play));
}

#[test]
fn the_day_is_the_local_day_in_station_time() {
    // 07:00 and 23:00 in Shanghai are 23:00 and 15:00 UTC: the UTC dates differ, the local ones
    // decide. A limit of 1 lets the first firing of each local day play.
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["cmn"])],
        vec![playlist("campaign", PlaylistMode::InOrder, &["census"], Duration::ZERO, 1)],
        vec![slot("campaign", "0 7,23 * * *", "campaign", &["dongmen"])],
    );
    let got = days(&plan, &ClipIndex::new(&[campaign(1)]), date(2026, 12, 1), date(2026, 12, 2));
    assert_eq!(
        of(&plan, &got, "dongmen"),
        ["01 07:00 a1 play", "01 23:00 a1 skipped-max-plays", "02 07:00 a1 play", "02 23:00 a1 skipped-max-plays"]
    );
}

#[test]
fn each_village_counts_its_own_plays_across_slots_and_playlists() {
    // dongmen also hears the campaign at 07:00 from another slot and playlist: its two plays are
    // used up by 08:00, while nanjie's count is its own.
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["cmn"]), village("nanjie", &["cmn"])],
        vec![
            playlist("campaign", PlaylistMode::InOrder, &["census"], Duration::ZERO, 1),
            playlist("morning", PlaylistMode::InOrder, &["census"], Duration::ZERO, 1),
        ],
        vec![
            slot("campaign", "0 8,10,12,14 * * *", "campaign", &["dongmen", "nanjie"]),
            slot("morning", "0 7 * * *", "morning", &["dongmen"]),
        ],
    );
    let got = days(&plan, &ClipIndex::new(&[campaign(2)]), date(2026, 12, 1), date(2026, 12, 1));
    assert_eq!(
        of(&plan, &got, "dongmen"),
        [
            "01 07:00 a1 play",
            "01 08:00 a1 play",
            "01 10:00 a1 skipped-max-plays",
            "01 12:00 a1 skipped-max-plays",
            "01 14:00 a1 skipped-max-plays",
        ]
    );
    assert_eq!(
        of(&plan, &got, "nanjie"),
        ["01 08:00 a1 play", "01 10:00 a1 play", "01 12:00 a1 skipped-max-plays", "01 14:00 a1 skipped-max-plays"]
    );
}

#[test]
fn each_variant_has_its_own_limit() {
    // The census message in two languages: dongmen hears the Cantonese clip (limit 1), nanjie the
    // Mandarin one (limit 3).
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["yue-qingxi", "cmn"]), village("nanjie", &["cmn"])],
        vec![playlist("campaign", PlaylistMode::InOrder, &["census"], Duration::ZERO, 1)],
        vec![slot("campaign", "0 8,10,12,14 * * *", "campaign", &["dongmen", "nanjie"])],
    );
    let mut yue = clip("b1", "census", "yue-qingxi", 20.0);
    yue.max_plays_per_day = Some(1);
    let got = days(&plan, &ClipIndex::new(&[campaign(3), yue]), date(2026, 12, 1), date(2026, 12, 1));
    let outcomes = |v: &str| -> Vec<String> { of(&plan, &got, v).iter().map(|l| l[9..].to_owned()).collect() };
    assert_eq!(
        outcomes("dongmen"),
        ["b1 play", "b1 skipped-max-plays", "b1 skipped-max-plays", "b1 skipped-max-plays"]
    );
    assert_eq!(outcomes("nanjie"), ["a1 play", "a1 play", "a1 play", "a1 skipped-max-plays"]);
}

#[test]
fn within_one_firing_the_limit_cuts_a_repeat_short_and_skipped_items_take_no_air_time() {
    // census (20 s, limit 2) and flu (5 s) played three times over, 2 s apart.
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["cmn"])],
        vec![playlist("news", PlaylistMode::InOrder, &["census", "flu"], Duration::from_secs(2), 3)],
        vec![slot("news", "0 8 * * *", "news", &["dongmen"])],
    );
    let clips = ClipIndex::new(&[campaign(2), clip("c1", "flu", "cmn", 5.0)]);
    let got = days(&plan, &clips, date(2026, 12, 1), date(2026, 12, 1));
    let tz = plan.station.timezone;
    let lines: Vec<String> = got
        .iter()
        .map(|p| {
            let clip = &p.cue.as_ref().unwrap().clip.as_str()[..2];
            format!("{} {clip} {}", p.at.with_timezone(&tz).format("%H:%M:%S"), p.outcome.name())
        })
        .collect();
    assert_eq!(
        lines,
        [
            "08:00:00 a1 play",
            "08:00:22 c1 play",
            "08:00:29 a1 play",
            "08:00:51 c1 play",
            "08:00:58 a1 skipped-max-plays",
            "08:00:58 c1 play",
        ]
    );
}

/// dongmen, quiet 21:30-06:30 on weekdays; `campaign` (limit 2) from slots at `crons`.
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
            let mut s = slot(&format!("at {c}"), c, "campaign", &["dongmen"]);
            s.in_quiet_hours = rule;
            s
        })
        .collect();
    plan(
        station("Asia/Shanghai", "cmn"),
        vec![v],
        vec![playlist("campaign", PlaylistMode::InOrder, &["census"], Duration::ZERO, 1)],
        slots,
    )
}

#[test]
fn cues_skipped_for_quiet_hours_do_not_count_and_the_limit_comes_before_quiet_hours() {
    let plan = quiet_plan(QuietRule::Skip, &["0 5,6,7,8,9,22 * * *"]);
    let got = days(&plan, &ClipIndex::new(&[campaign(2)]), date(2026, 12, 1), date(2026, 12, 1));
    assert_eq!(
        of(&plan, &got, "dongmen"),
        [
            "01 05:00 a1 skipped-quiet-hours",
            "01 06:00 a1 skipped-quiet-hours",
            "01 07:00 a1 play",
            "01 08:00 a1 play",
            "01 09:00 a1 skipped-max-plays",
            // Quiet too, but the limit was reached first: it says so.
            "01 22:00 a1 skipped-max-plays",
        ]
    );
}

#[test]
fn a_deferred_cue_counts_on_the_day_it_plays() {
    // The 23:00 firing of 1 Dec waits until 06:30 on 2 Dec and counts there: with the 05:00
    // firing (also deferred to 06:30), 2 Dec's two plays are used up before its 07:00 firing.
    let plan = quiet_plan(QuietRule::Defer, &["0 23 * * *", "0 5 * * *", "0 7 * * *"]);
    let got = days(&plan, &ClipIndex::new(&[campaign(2)]), date(2026, 12, 1), date(2026, 12, 2));
    let tz = plan.station.timezone;
    let lines: Vec<String> = got
        .iter()
        .map(|p| {
            let fired = p.firing.with_timezone(&tz).format("%d %H:%M");
            format!("{fired} → {} {}", p.at.with_timezone(&tz).format("%d %H:%M"), p.outcome.name())
        })
        .collect();
    assert_eq!(
        lines,
        [
            "01 05:00 → 01 06:30 deferred", // 30 Nov 23:00 is outside the window
            "01 07:00 → 01 07:00 play",
            "01 23:00 → 02 06:30 deferred",
            "02 05:00 → 02 06:30 deferred",
            "02 07:00 → 02 07:00 skipped-max-plays",
            "02 23:00 → 03 06:30 deferred",
        ]
    );
}

#[test]
fn an_expired_clip_is_skipped_as_expired_not_as_over_its_limit() {
    let plan = four_a_day();
    let mut c = campaign(1);
    c.expires = Some(date(2026, 12, 1));
    let got = days(&plan, &ClipIndex::new(&[c]), date(2026, 12, 1), date(2026, 12, 2));
    let mut expected = vec!["01 08:00 a1 play".to_owned()];
    expected.extend(["10:00", "12:00", "14:00"].map(|t| format!("01 {t} a1 skipped-max-plays")));
    expected.extend(["08:00", "10:00", "12:00", "14:00"].map(|t| format!("02 {t} a1 skipped-expired")));
    assert_eq!(of(&plan, &got, "dongmen"), expected);
}

#[test]
fn chimes_neither_count_nor_are_held_back() {
    // The chime clip is limited to one play a day, and is also an item of the 12:00 slot: it
    // chimes before all four campaign firings, and still plays once as an item.
    let mut campaign_slot = slot("campaign", "0 8,10,12,14 * * *", "campaign", &["dongmen"]);
    campaign_slot.chime = Some(msg("chime"));
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![village("dongmen", &["cmn"])],
        vec![
            playlist("campaign", PlaylistMode::InOrder, &["census"], Duration::ZERO, 1),
            playlist("bells", PlaylistMode::InOrder, &["chime"], Duration::ZERO, 2),
        ],
        vec![campaign_slot, slot("bells", "0 12 * * *", "bells", &["dongmen"])],
    );
    let mut chime = clip("d1", "chime", "zxx", 2.0);
    chime.max_plays_per_day = Some(1);
    let got =
        days(&plan, &ClipIndex::new(&[clip("a1", "census", "cmn", 20.0), chime]), date(2026, 12, 1), date(2026, 12, 1));
    let chimed = got.iter().filter(|p| p.playable().is_some_and(|c| c.chime.is_some())).count();
    assert_eq!(chimed, 4);
    let bells: Vec<&str> = got.iter().filter(|p| p.slot == "bells").map(|p| p.outcome.name()).collect();
    assert_eq!(bells, ["play", "skipped-max-plays"]);
}

/// A busier station for the window tests: two villages, a rotating playlist and an in-order one
/// with repeats, deferrals past the night, and limited clips.
fn busy() -> (Plan, ClipIndex) {
    let mut quiet = village("dongmen", &["yue-qingxi", "cmn"]);
    quiet.quiet_hours.weekdays = vec![DailyWindow::parse("21:30-06:30").unwrap()];
    quiet.quiet_hours.weekends = vec![DailyWindow::parse("21:30-07:30").unwrap()];
    let mut night = slot("night", "0 5,23 * * *", "rota", &["dongmen", "nanjie"]);
    night.in_quiet_hours = QuietRule::Defer;
    let plan = plan(
        station("Asia/Shanghai", "cmn"),
        vec![quiet, village("nanjie", &["cmn"])],
        vec![
            playlist("rota", PlaylistMode::Rotate, &["census", "flu"], Duration::from_secs(2), 2),
            playlist("news", PlaylistMode::InOrder, &["census", "flu", "fire"], Duration::from_secs(1), 2),
        ],
        vec![night, slot("news", "17 */3 * * *", "news", &["dongmen", "nanjie"])],
    );
    let mut yue = clip("b1", "census", "yue-qingxi", 20.0);
    yue.max_plays_per_day = Some(3);
    let mut flu = clip("c1", "flu", "cmn", 7.5);
    flu.max_plays_per_day = Some(5);
    let clips = ClipIndex::new(&[campaign(4), yue, flu, clip("e1", "fire", "cmn", 3.0)]);
    (plan, clips)
}

#[test]
fn windows_cut_at_any_point_and_restarts_give_the_same_plan_as_one_window() {
    let (plan, clips) = busy();
    let (first, last) = (date(2026, 12, 1), date(2026, 12, 6));
    let whole = days(&plan, &clips, first, last);
    let limited = whole.iter().filter(|p| p.outcome == Outcome::SkippedMaxPlays).count();
    assert!(limited > 20 && whole.iter().filter(|p| p.outcome.plays()).count() > 50, "{limited} limited");
    let mut whole_sorted = whole.clone();
    whole_sorted.sort_by_key(|p| (p.at, p.id));
    for minutes in [60, 7 * 60, 313, 24 * 60, 37] {
        let mut got = cut(&plan, &clips, first, last, chrono::Duration::minutes(minutes));
        got.sort_by_key(|p| (p.at, p.id));
        assert_eq!(summary(&plan, &got), summary(&plan, &whole_sorted), "windows of {minutes} min");
        assert_eq!(got, whole_sorted, "windows of {minutes} min");
    }
}

#[test]
fn planning_the_same_window_again_does_not_count_its_plays_twice() {
    let (plan, clips) = busy();
    let tz = plan.station.timezone;
    let mut st = PlaylistState::new();
    let (a, b, c) =
        (local_instant(tz, date(2026, 12, 1), 0), cst(2026, 12, 1, 13, 0, 0), local_instant(tz, date(2026, 12, 2), 0));
    let morning = plan_window(&plan, &clips, a, b, &mut st, NO_HOLIDAYS);
    let after_morning = st.clone();
    // A reload re-plans the morning: the same entries, the same counts.
    assert_eq!(plan_window(&plan, &clips, a, b, &mut st, NO_HOLIDAYS), morning);
    assert_eq!(st, after_morning);
    let afternoon = plan_window(&plan, &clips, b, c, &mut st, NO_HOLIDAYS);
    let mut both: Vec<Planned> = morning.into_iter().chain(afternoon).collect();
    both.sort_by_key(|p| (p.at, p.id));
    let mut whole = days(&plan, &clips, date(2026, 12, 1), date(2026, 12, 1));
    whole.sort_by_key(|p| (p.at, p.id));
    assert_eq!(both, whole);
    // nanjie wants the Mandarin census clip 20 times that day; 4 are counted.
    assert_eq!(st.plays_on(date(2026, 12, 1), &VillageId::new("nanjie").unwrap(), &campaign(4).id), 4);
}
