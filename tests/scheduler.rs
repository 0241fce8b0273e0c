//! The scheduler on real configuration: the shipped demo station with its clip library, and small
//! stations written as YAML into temporary folders and loaded with `config::load`. Each test states
//! what an operator would hear (or not) in which village, and when.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use xiangyin::config::{self, Catalog, Layout, Plan};
use xiangyin::domain::{ClipId, ClipKind, Language, MessageId, ReviewState};
use xiangyin::library::{CanonicalInfo, ClipMeta, Library, LoudnessInfo, OriginalInfo};
use xiangyin::scheduler::{ClipIndex, Outcome, Planned, PlaylistState, local_instant, next_firing, plan_window};

const NO_HOLIDAYS: &dyn Fn(NaiveDate) -> bool = &|_| false;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Shanghai local time as an instant.
fn cst(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().with_timezone(&Utc)
}

/// The shipped demo (as git has it): its schedules, the virtual profile, and its clip library.
fn demo() -> (Plan, Vec<ClipMeta>) {
    let dir = tempfile::tempdir().unwrap();
    common::copy_demo(dir.path());
    let root = dir.path().to_owned();
    let library = Library::new(root.join("audio-library"), root.join("var/staging"));
    let (clips, broken) = library.list().unwrap();
    assert!(broken.is_empty(), "{broken:?}");
    let plan = config::load(&Layout::new(&root), Some("virtual"), &library.catalog().unwrap())
        .unwrap_or_else(|p| panic!("demo does not load:\n{p}"));
    (plan, clips)
}

/// Entries of the local days `first..=last`, planned in one window from `state`.
fn plan_days(
    plan: &Plan,
    clips: &ClipIndex,
    first: NaiveDate,
    last: NaiveDate,
    state: &mut PlaylistState,
    holidays: &dyn Fn(NaiveDate) -> bool,
) -> Vec<Planned> {
    let tz = plan.station.timezone;
    plan_window(plan, clips, local_instant(tz, first, 0), local_instant(tz, last, 1440), state, holidays)
}

/// Title of the clip an entry plays (or would have played), `-` when there is none.
fn title<'a>(p: &Planned, clips: &'a ClipIndex) -> &'a str {
    p.cue.as_ref().and_then(|c| clips.get(&c.clip)).map_or("-", |m| m.title.as_str())
}

fn local(plan: &Plan, t: DateTime<Utc>) -> String {
    t.with_timezone(&plan.station.timezone).format("%m-%d %H:%M:%S%.3f").to_string()
}

#[test]
fn demo_tuesday_every_village_hears_its_own_language_at_the_planned_instants() {
    let (plan, clips) = demo();
    let index = ClipIndex::new(&clips);
    let day = plan_days(&plan, &index, date(2026, 12, 1), date(2026, 12, 1), &mut PlaylistState::new(), NO_HOLIDAYS);
    assert!(day.iter().all(|p| p.outcome == Outcome::Play), "{day:#?}");

    // 07:00: morning notices in all 8 villages; a fresh rotation starts with fire safety.
    let morning: Vec<&Planned> = day.iter().filter(|p| p.slot == "morning-notices").collect();
    let heard: Vec<(String, &str)> = morning.iter().map(|p| (p.village.to_string(), title(p, &index))).collect();
    let yue = "冬季防火提醒（青溪话）";
    let cmn = "冬季防火提醒（普通话）";
    assert_eq!(
        heard,
        [
            ("dongmen".into(), yue),
            ("ximen".into(), yue),
            ("nanjie".into(), cmn), // languages: [cmn]
            ("beishan".into(), yue),
            ("shiqiao".into(), yue),
            ("liutang".into(), yue),
            ("huangni".into(), yue),
            ("xiabei".into(), cmn), // languages: [cmn, yue-qingxi]
        ]
    );
    for p in &morning {
        let cue = p.playable().unwrap();
        assert_eq!(cue.at, "2026-11-30T23:00:00Z".parse::<DateTime<Utc>>().unwrap(), "07:00 in Shanghai");
        assert_eq!(cue.zone.as_str(), p.village.as_str());
        assert_eq!(cue.chime.as_ref().map(ClipId::as_str), Some("39e324582b3f496d"), "the station chime first");
    }
    // Chime 105600 frames + notice 304420 frames at 48 kHz.
    assert_eq!(morning[0].duration.as_nanos(), 8_542_083_333);
    // dongmen is at −6 dB from 06:30; the notice's loudness gain is −1.58 dB.
    let g = morning[0].playable().unwrap().gain.0;
    assert!((g - (-7.58)).abs() < 1e-9, "{g}");
    assert!((morning[1].playable().unwrap().gain.0 - (-1.58)).abs() < 1e-9);

    // 11:30: the anti-fraud programme in 石桥乡 only, clapper talk then song, 3 s apart.
    let noon: Vec<&Planned> = day.iter().filter(|p| p.slot == "noon-anti-fraud").collect();
    let villages: BTreeSet<&str> = noon.iter().map(|p| p.village.as_str()).collect();
    assert_eq!(villages, BTreeSet::from(["shiqiao", "liutang", "huangni", "xiabei"]));
    let xiabei: Vec<&Planned> = noon.iter().copied().filter(|p| p.village.as_str() == "xiabei").collect();
    assert_eq!(xiabei.iter().map(|p| title(p, &index)).collect::<Vec<_>>(), ["快板：防电信诈骗", "丰收小调"]);
    assert_eq!(local(&plan, xiabei[0].at), "12-01 11:30:00.000");
    // chime 2.2 s + clapper talk 417609 frames (8.700187 s) + gap 3 s.
    assert_eq!(local(&plan, xiabei[1].at), "12-01 11:30:13.900");

    // 19:00: the evening programme, shuffled, each item once, in dongmen, ximen and (grid g-004) nanjie.
    let evening: Vec<&Planned> = day.iter().filter(|p| p.slot == "evening-town").collect();
    let mut per_village: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for p in &evening {
        per_village.entry(p.village.as_str()).or_default().push(p.item.as_ref().unwrap().to_string());
    }
    assert_eq!(per_village.keys().copied().collect::<Vec<_>>(), ["dongmen", "nanjie", "ximen"]);
    for items in per_village.values() {
        assert_eq!(items.iter().collect::<BTreeSet<_>>().len(), 3, "{items:?}");
        assert_eq!(items, &per_village["dongmen"], "one order per firing");
    }
    assert_eq!(day.len(), 8 + 4 * 2 + 3 * 3);
    assert!(day.windows(2).all(|w| w[0].at <= w[1].at), "time order");
}

#[test]
fn demo_saturday_morning_notices_wait_where_the_weekend_sleeps_in() {
    let (plan, clips) = demo();
    let index = ClipIndex::new(&clips);
    // Saturday 5 Dec 2026, 07:00. The town villages are quiet until 07:30 at weekends; the slot
    // says `in_quiet_hours: defer`, so their notice plays at 07:30.
    let day = plan_days(&plan, &index, date(2026, 12, 5), date(2026, 12, 5), &mut PlaylistState::new(), NO_HOLIDAYS);
    let morning: BTreeMap<&str, &str> =
        day.iter().filter(|p| p.slot == "morning-notices").map(|p| (p.village.as_str(), p.outcome.name())).collect();
    assert_eq!(
        morning,
        BTreeMap::from([
            ("dongmen", "deferred"),
            ("ximen", "deferred"),
            ("nanjie", "deferred"),
            ("beishan", "play"),
            ("shiqiao", "play"),
            ("liutang", "play"),
            ("huangni", "play"),
            ("xiabei", "play"),
        ])
    );
    for p in day.iter().filter(|p| p.slot == "morning-notices" && p.outcome.name() == "deferred") {
        assert_eq!(p.at.with_timezone(&plan.station.timezone).format("%H:%M").to_string(), "07:30", "{}", p.village);
    }
    // The noon programme is weekdays only.
    assert!(day.iter().all(|p| p.slot != "noon-anti-fraud"));
}

#[test]
fn demo_rotation_carries_across_a_restart() {
    let (plan, clips) = demo();
    let index = ClipIndex::new(&clips);
    let notice_in_dongmen = |state: &mut PlaylistState, d: u32| -> String {
        let day = plan_days(&plan, &index, date(2026, 12, d), date(2026, 12, d), state, NO_HOLIDAYS);
        let p = day.iter().find(|p| p.slot == "morning-notices" && p.village.as_str() == "dongmen").unwrap();
        title(p, &index).to_owned()
    };
    let mut state = PlaylistState::new();
    assert_eq!(notice_in_dongmen(&mut state, 1), "冬季防火提醒（青溪话）");
    // serve stops and starts again from its saved state.
    let saved = serde_json::to_string(&state).unwrap();
    let mut state: PlaylistState = serde_json::from_str(&saved).unwrap();
    assert_eq!(notice_in_dongmen(&mut state, 2), "老人免费流感疫苗（青溪话）");
    assert_eq!(notice_in_dongmen(&mut state, 3), "冬季防火提醒（青溪话）");
}

#[test]
fn demo_a_pending_clip_is_not_played_and_the_next_language_stands_in() {
    let (plan, mut clips) = demo();
    for c in &mut clips {
        if c.title == "冬季防火提醒（青溪话）" {
            c.review = ReviewState::Pending;
        }
    }
    let index = ClipIndex::new(&clips);
    let day = plan_days(&plan, &index, date(2026, 12, 1), date(2026, 12, 1), &mut PlaylistState::new(), NO_HOLIDAYS);
    let morning: BTreeMap<&str, (&str, &str)> = day
        .iter()
        .filter(|p| p.slot == "morning-notices")
        .map(|p| (p.village.as_str(), (title(p, &index), p.outcome.name())))
        .collect();
    assert_eq!(morning["dongmen"], ("冬季防火提醒（普通话）", "play")); // yue-qingxi, then cmn
    // huangni speaks only yue-qingxi: the station default, Mandarin, stands in.
    assert_eq!(morning["huangni"], ("冬季防火提醒（普通话）", "play"));
    assert!(day.iter().all(|p| p.cue.as_ref().is_none_or(|c| c.clip.as_str() != "13ec56b0d9870bbd")));
}

#[test]
fn demo_next_firing_after_tuesday_noon_is_the_evening_programme() {
    let (plan, _) = demo();
    let (at, slot) = next_firing(&plan, cst(2026, 12, 1, 12, 0)).unwrap();
    assert_eq!((at, slot.name.as_str()), (cst(2026, 12, 1, 19, 0), "evening-town"));
    assert_eq!(at.to_rfc3339(), "2026-12-01T11:00:00+00:00");
}

// ---- a small station written as YAML ----

/// A clip of `message` in `language`, approved, `secs` long, measured at −20 LUFS / −6 dBTP.
fn clip(hex: &str, message: &str, language: &str, kind: ClipKind, secs: f64) -> ClipMeta {
    let id = ClipId::new(&format!("{hex:0<16}")).unwrap();
    ClipMeta {
        id: id.clone(),
        title: format!("{message}.{language}"),
        language: Language::new(language).unwrap(),
        kind,
        message: Some(MessageId::new(message).unwrap()),
        transcript: None,
        expires: None,
        max_plays_per_day: None,
        review: ReviewState::Approved,
        uploader: "cli:test".into(),
        imported_at: "2026-09-01T08:00:00Z".parse().unwrap(),
        duration_s: secs,
        original: OriginalInfo {
            file: "original.wav".into(),
            uploaded_name: format!("{message}.wav"),
            bytes: 1,
            sha256: format!("{id}{}", "0".repeat(48)),
            codec: "pcm_s16le".into(),
            sample_rate: 48_000,
            channels: 1,
        },
        canonical: CanonicalInfo {
            file: "canonical.wav".into(),
            sample_rate: 48_000,
            channels: 1,
            frames: (secs * 48_000.0).round() as u64,
        },
        loudness: LoudnessInfo { integrated_lufs: -20.0, true_peak_dbtp: -6.0, gain_db: -3.0, target_lufs: -23.0 },
    }
}

fn catalog(clips: &[ClipMeta]) -> Catalog {
    let mut cat = Catalog::default();
    for c in clips {
        cat.clips.insert(c.id.clone());
        if let Some(m) = &c.message {
            cat.messages.entry(m.clone()).or_default().insert(c.language.clone());
        }
    }
    cat
}

fn write(root: &Path, file: &str, text: &str) {
    let path = root.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Two villages of 城关镇 on a two-channel recorder, a late notice that defers past quiet hours,
/// and a workday rotation in a date window that skips holidays.
fn yaml_station(clips: &[ClipMeta]) -> (tempfile::TempDir, Plan) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "schedules/station.yaml",
        "name: 测试站\ntimezone: Asia/Shanghai\nlanguages: [cdo-yongtai, cmn, zxx]\ndefault_language: cmn\nhardware_profile: virtual\nchime: chime\n",
    );
    write(
        root,
        "schedules/villages.yaml",
        r#"villages:
  - id: dongmen
    name: 东门村
    township: 城关镇
    zone: dongmen
    languages: [cdo-yongtai, cmn]
    quiet_hours: {weekdays: "21:30-06:30", weekends: "21:30-07:30", holidays: "21:30-08:00"}
    volume_db: {"06:30": -4, "08:00": 0, "20:00": -10}
  - id: xicun
    name: 西村
    township: 城关镇
    zone: xicun
    languages: [cmn]
    quiet_hours: {weekdays: "21:30-06:30", weekends: "21:30-06:30"}
"#,
    );
    write(
        root,
        "schedules/notices.yaml",
        r#"playlists:
  late: {mode: in-order, items: [night-notice, song], gap_s: 1.5}
  workday: {mode: rotate, items: [night-notice, song]}
slots:
  - name: late-notice
    cron: "0 22 * * *"
    playlist: late
    targets: {all: true}
    chime: true
    in_quiet_hours: defer
  - name: workday
    cron: "0 8 * * 1-5"
    playlist: workday
    targets: {villages: [xicun]}
    from: 2026-09-28
    until: 2026-10-09
    on_holidays: skip
"#,
    );
    write(
        root,
        "hardware-profiles/virtual.yaml",
        "outputs:\n  - {name: rec, kind: wav, rate: 48000, format: i16, channels: 2}\nzones: {dongmen: [rec:1], xicun: [rec:2]}\n",
    );
    let plan = config::load(&Layout::new(root), Some("virtual"), &catalog(clips))
        .unwrap_or_else(|p| panic!("station does not load:\n{p}"));
    (dir, plan)
}

fn yaml_clips() -> Vec<ClipMeta> {
    vec![
        clip("a1", "night-notice", "cdo-yongtai", ClipKind::Notice, 10.0),
        clip("a2", "night-notice", "cmn", ClipKind::Notice, 8.0),
        clip("b1", "song", "zxx", ClipKind::Song, 20.0),
        clip("c1", "chime", "zxx", ClipKind::Chime, 2.0),
    ]
}

/// National Day week: 1–7 October 2026.
fn national_day(d: NaiveDate) -> bool {
    d >= date(2026, 10, 1) && d <= date(2026, 10, 7)
}

#[test]
fn yaml_station_the_late_notice_waits_for_each_village_morning() {
    let clips = yaml_clips();
    let (_dir, plan) = yaml_station(&clips);
    let index = ClipIndex::new(&clips);
    // Tuesday 1 Dec 22:00 and Friday 4 Dec 22:00.
    let got = plan_window(
        &plan,
        &index,
        cst(2026, 12, 1, 12, 0),
        cst(2026, 12, 5, 0, 0),
        &mut PlaylistState::new(),
        NO_HOLIDAYS,
    );
    let late: Vec<String> = got
        .iter()
        .filter(|p| {
            p.slot == "late-notice" && (p.firing == cst(2026, 12, 1, 22, 0) || p.firing == cst(2026, 12, 4, 22, 0))
        })
        .map(|p| format!("{} {} {} {}", local(&plan, p.at), p.village, title(p, &index), p.outcome.name()))
        .collect();
    assert_eq!(
        late,
        [
            // Tuesday night → Wednesday 06:30 in both villages: chime 2 s + notice, 1.5 s gap, song.
            "12-02 06:30:00.000 dongmen night-notice.cdo-yongtai deferred",
            "12-02 06:30:00.000 xicun night-notice.cmn deferred",
            "12-02 06:30:11.500 xicun song.zxx deferred",
            "12-02 06:30:13.500 dongmen song.zxx deferred",
            // Friday night → Saturday: dongmen sleeps in until 07:30 at weekends, xicun does not.
            "12-05 06:30:00.000 xicun night-notice.cmn deferred",
            "12-05 06:30:11.500 xicun song.zxx deferred",
            "12-05 07:30:00.000 dongmen night-notice.cdo-yongtai deferred",
            "12-05 07:30:13.500 dongmen song.zxx deferred",
        ]
    );
    let first = got.iter().find(|p| p.slot == "late-notice" && p.village.as_str() == "dongmen").unwrap();
    assert_eq!(first.outcome, Outcome::Deferred { from: cst(2026, 12, 1, 22, 0) });
    let cue = first.playable().unwrap();
    assert_eq!(cue.chime.as_ref().map(ClipId::as_str), Some("c100000000000000"));
    // −3 dB loudness gain, and dongmen's volume when it plays (−4 dB from 06:30), not at 22:00 (−10).
    assert_eq!(cue.gain.0, -7.0);
    let xicun = got.iter().find(|p| p.slot == "late-notice" && p.village.as_str() == "xicun").unwrap();
    assert_eq!(xicun.playable().unwrap().gain.0, -3.0);
}

#[test]
fn yaml_station_holidays_skip_the_workday_rotation_and_keep_the_holiday_morning_quiet() {
    let clips = yaml_clips();
    let (_dir, plan) = yaml_station(&clips);
    let index = ClipIndex::new(&clips);
    let got = plan_days(&plan, &index, date(2026, 9, 20), date(2026, 10, 20), &mut PlaylistState::new(), &national_day);
    let workday: Vec<String> = got
        .iter()
        .filter(|p| p.slot == "workday")
        .map(|p| format!("{} {} {}", local(&plan, p.at), title(p, &index), p.outcome.name()))
        .collect();
    assert_eq!(
        workday,
        [
            "09-28 08:00:00.000 night-notice.cmn play", // `from` is a Monday
            "09-29 08:00:00.000 song.zxx play",
            "09-30 08:00:00.000 night-notice.cmn play",
            "10-01 08:00:00.000 - skipped-holiday",
            "10-02 08:00:00.000 - skipped-holiday",
            "10-05 08:00:00.000 - skipped-holiday",
            "10-06 08:00:00.000 - skipped-holiday",
            "10-07 08:00:00.000 - skipped-holiday",
            "10-08 08:00:00.000 song.zxx play", // the song's turn was kept through the holiday
            "10-09 08:00:00.000 night-notice.cmn play", // `until` is inclusive
        ]
    );
    // The late notice plays on holidays; on holiday mornings dongmen is quiet until 08:00, while
    // xicun (no holiday window given: the weekend one applies) wakes at 06:30.
    let deferred_to = |fired: DateTime<Utc>, village: &str| -> String {
        let p =
            got.iter().find(|p| p.slot == "late-notice" && p.firing == fired && p.village.as_str() == village).unwrap();
        local(&plan, p.at)
    };
    assert_eq!(deferred_to(cst(2026, 10, 1, 22, 0), "dongmen"), "10-02 08:00:00.000");
    assert_eq!(deferred_to(cst(2026, 10, 1, 22, 0), "xicun"), "10-02 06:30:00.000");
    // 7 Oct is the last holiday: the morning of 8 Oct (a Thursday) is a weekday again.
    assert_eq!(deferred_to(cst(2026, 10, 7, 22, 0), "dongmen"), "10-08 06:30:00.000");
}

#[test]
fn yaml_station_an_expiring_notice_plays_its_last_day_and_then_falls_silent() {
    let mut clips = yaml_clips();
    for c in &mut clips {
        if c.message.as_ref().is_some_and(|m| m.as_str() == "night-notice") {
            c.expires = Some(date(2026, 12, 2));
        }
    }
    let (_dir, plan) = yaml_station(&clips);
    let index = ClipIndex::new(&clips);
    // Fired 1 Dec 22:00, plays 2 Dec 06:30 (last day); fired 2 Dec 22:00, would play 3 Dec 06:30.
    let got = plan_days(&plan, &index, date(2026, 12, 1), date(2026, 12, 2), &mut PlaylistState::new(), NO_HOLIDAYS);
    let notice: Vec<String> = got
        .iter()
        .filter(|p| p.village.as_str() == "xicun" && p.item.as_ref().is_some_and(|i| i.to_string() == "night-notice"))
        .map(|p| format!("{} {}", local(&plan, p.at), p.outcome.name()))
        .collect();
    assert_eq!(notice, ["12-02 06:30:00.000 deferred", "12-03 06:30:00.000 skipped-expired"]);
    // The song still plays after the expired notice, with the chime moved onto it.
    let song = got
        .iter()
        .find(|p| p.village.as_str() == "xicun" && p.firing == cst(2026, 12, 2, 22, 0) && p.outcome.plays())
        .unwrap();
    assert_eq!(title(song, &index), "song.zxx");
    assert_eq!(local(&plan, song.at), "12-03 06:30:00.000");
    assert!(song.playable().unwrap().chime.is_some());
}
