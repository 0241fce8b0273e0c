//! A month on air: December 2026 of a 32-village station, run by the real [`Station`] on the real
//! engine under a virtual clock ([`SimAir`]), produces an as-run log equal to a plan computed
//! independently in this file, with quiet hours never broken and expiries honoured.
//!
//! The station is written as YAML into a temporary folder (4 townships of 8 villages on a
//! 32-channel output, three kinds of quiet hours, dialect-first, Mandarin-only and dialect-only
//! villages, three holiday dates), its clips are generated tones imported through
//! [`Library::import`], and the station is driven with `tick` / `advance` / `on_event` as `serve`
//! drives it. The expected log comes from [`expected`], a deliberately plain reading of the
//! documented rules for this one configuration — cron by weekday, rotation, the documented shuffle
//! permutation (FNV-1a + SplitMix64, re-derived here), quiet hours checked minute by minute,
//! deferral to the first quiet-free minute, expiry by local date, the variant chain, daily play
//! limits, holidays, gaps and exact sample durations — and never calls the scheduler. Every row
//! must match (village, slot, clip, instant to the millisecond, outcome, deferred-from), every
//! played cue must start on its instant and last its exact length, and the log alone must show no
//! start in quiet hours, no play after a clip's last day and no row left unfinished.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Asia::Shanghai;
use xiangyin::config::{self, Layout};
use xiangyin::domain::{ClipId, ClipKind, Priority, ReviewState};
use xiangyin::engine::EngineConfig;
use xiangyin::library::{ClipMeta, ImportRequest, Library};
use xiangyin::station::{HAND_AHEAD, PLAN_AHEAD, SimAir, Station};
use xiangyin::store::{self, AsRunRow, Filter, Store};

const RATE: u64 = 48_000;
const DAYS: i64 = 31;
/// The longest stretch between two ticks, in minutes.
const MAX_JUMP_MIN: i64 = 10;
const TOWNSHIPS: [&str; 4] = ["城关镇", "石桥乡", "柳塘镇", "黄泥乡"];

/// Quiet hours as written in villages.yaml (`holidays: None` = the weekend ones).
struct Quiet {
    weekdays: &'static [&'static str],
    weekends: &'static [&'static str],
    holidays: Option<&'static [&'static str]>,
}

/// Weekend mornings sleep in until 07:30, holiday mornings until 08:00.
const Q_TOWN: Quiet =
    Quiet { weekdays: &["21:30-06:30"], weekends: &["21:30-07:30"], holidays: Some(&["21:30-08:00"]) };
/// A noon rest on weekdays; mornings free from 07:00 at weekends and on holidays.
const Q_NOON: Quiet = Quiet { weekdays: &["12:00-13:00", "22:00-06:00"], weekends: &["22:00-07:00"], holidays: None };
/// Early evenings: quiet from 20:00; holiday mornings until 09:00.
const Q_EARLY: Quiet =
    Quiet { weekdays: &["20:00-06:00"], weekends: &["20:00-07:30"], holidays: Some(&["20:00-09:00"]) };
const QUIETS: [&Quiet; 3] = [&Q_TOWN, &Q_NOON, &Q_EARLY];
const LANGS: [&[&str]; 4] = [&["cdo-yongtai", "cmn"], &["cmn"], &["cmn", "cdo-yongtai"], &["cdo-yongtai"]];

struct Village {
    id: String,
    township: &'static str,
    langs: &'static [&'static str],
    quiet: &'static Quiet,
}

/// 32 villages, 8 per township; language order cycles every 4, quiet hours every 3.
fn villages() -> Vec<Village> {
    (0..32)
        .map(|i| Village {
            id: format!("cun{i:02}"),
            township: TOWNSHIPS[i / 8],
            langs: LANGS[i % 4],
            quiet: QUIETS[i % 3],
        })
        .collect()
}

fn holidays() -> [NaiveDate; 3] {
    [date(11), date(24), date(25)]
}

/// One clip generated and imported: a tone of `frames` samples at 48 kHz.
struct ClipSpec {
    message: &'static str,
    lang: &'static str,
    kind: ClipKind,
    frames: u64,
    freq: f64,
    expires: Option<&'static str>,
    max_per_day: Option<u32>,
}

const fn clip(message: &'static str, lang: &'static str, frames: u64, freq: f64) -> ClipSpec {
    ClipSpec { message, lang, kind: ClipKind::Notice, frames, freq, expires: None, max_per_day: None }
}

/// Frame counts are deliberately not whole milliseconds, so instants after them are not either.
fn clip_specs() -> Vec<ClipSpec> {
    vec![
        ClipSpec { kind: ClipKind::Chime, ..clip("chime", "zxx", 36_011, 1320.0) },
        clip("fire-safety", "cdo-yongtai", 62_413, 330.0),
        clip("fire-safety", "cmn", 57_607, 350.0),
        clip("flu-vaccine", "cmn", 67_229, 370.0),
        // The dialect variant's last day is 12 December: then dialect villages hear Mandarin.
        ClipSpec { expires: Some("2026-12-12"), ..clip("water-notice", "cdo-yongtai", 52_817, 390.0) },
        clip("water-notice", "cmn", 55_231, 410.0),
        ClipSpec { kind: ClipKind::ClapperTalk, ..clip("anti-fraud", "cdo-yongtai", 72_041, 430.0) },
        ClipSpec { kind: ClipKind::ClapperTalk, ..clip("anti-fraud", "cmn", 69_643, 450.0) },
        // Only in the dialect: Mandarin-only villages have no variant.
        clip("dialect-tip", "cdo-yongtai", 48_047, 470.0),
        // At most twice a day per village.
        ClipSpec { kind: ClipKind::Song, max_per_day: Some(2), ..clip("song", "zxx", 76_801, 490.0) },
        ClipSpec { kind: ClipKind::Song, ..clip("opera", "zxx", 64_853, 510.0) },
        clip("weather", "cdo-yongtai", 53_459, 530.0),
        clip("weather", "cmn", 50_461, 550.0),
        // The only variant; its last day is 15 December, then it is skipped as expired.
        ClipSpec { expires: Some("2026-12-15"), ..clip("winter-campaign", "cmn", 48_067, 570.0) },
        clip("night-notice", "cdo-yongtai", 58_871, 590.0),
        clip("night-notice", "cmn", 54_073, 610.0),
    ]
}

const SCHEDULE_DAILY: &str = r#"playlists:
  morning: {mode: rotate, items: [fire-safety, flu-vaccine, water-notice], gap_s: 2}
  evening: {mode: shuffle, items: [opera, weather, song, winter-campaign], gap_s: 0.5}
slots:
  - {name: morning, cron: "0 7 * * *", playlist: morning, targets: {all: true}, chime: true, in_quiet_hours: defer}
  - {name: evening, cron: "30 20 * * *", playlist: evening, targets: {all: true}, in_quiet_hours: skip}
"#;

const SCHEDULE_CAMPAIGNS: &str = r#"playlists:
  noon: {mode: in-order, items: [anti-fraud, dialect-tip, song], gap_s: 0.5, repeat: 2}
  night: {items: [night-notice]}
slots:
  - name: noon
    cron: "0 12 * * 1-5"
    playlist: noon
    targets: {townships: [石桥乡]}
    on_holidays: skip
  - name: night
    cron: "0 22 * * 0"
    playlist: night
    targets: {townships: [黄泥乡]}
    in_quiet_hours: defer
    from: 2026-12-13
"#;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    InOrder,
    Rotate,
    Shuffle,
}

/// The schedule above, as this test reads it.
struct SlotModel {
    name: &'static str,
    hour: u32,
    minute: u32,
    weekdays_only: bool,
    sundays_only: bool,
    from: Option<NaiveDate>,
    playlist: &'static str,
    mode: Mode,
    items: &'static [&'static str],
    gap_ms: i64,
    repeat: usize,
    /// `None`: every village.
    townships: Option<&'static [&'static str]>,
    chime: bool,
    skip_holidays: bool,
    defer: bool,
}

/// In file order: files sorted by name (`a-daily.yaml`, `b-campaigns.yaml`), slots as written.
fn slot_models() -> Vec<SlotModel> {
    let base = SlotModel {
        name: "",
        hour: 0,
        minute: 0,
        weekdays_only: false,
        sundays_only: false,
        from: None,
        playlist: "",
        mode: Mode::InOrder,
        items: &[],
        gap_ms: 0,
        repeat: 1,
        townships: None,
        chime: false,
        skip_holidays: false,
        defer: false,
    };
    vec![
        SlotModel {
            name: "morning",
            hour: 7,
            playlist: "morning",
            mode: Mode::Rotate,
            items: &["fire-safety", "flu-vaccine", "water-notice"],
            gap_ms: 2000,
            chime: true,
            defer: true,
            ..base
        },
        SlotModel {
            name: "evening",
            hour: 20,
            minute: 30,
            playlist: "evening",
            mode: Mode::Shuffle,
            items: &["opera", "weather", "song", "winter-campaign"],
            gap_ms: 500,
            ..base
        },
        SlotModel {
            name: "noon",
            hour: 12,
            weekdays_only: true,
            playlist: "noon",
            items: &["anti-fraud", "dialect-tip", "song"],
            gap_ms: 500,
            repeat: 2,
            townships: Some(&["石桥乡"]),
            skip_holidays: true,
            ..base
        },
        SlotModel {
            name: "night",
            hour: 22,
            sundays_only: true,
            from: Some(date(13)),
            playlist: "night",
            items: &["night-notice"],
            townships: Some(&["黄泥乡"]),
            defer: true,
            ..base
        },
    ]
}

fn date(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
}

fn local(d: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    Shanghai.from_local_datetime(&d.and_hms_opt(h, m, 0).unwrap()).single().unwrap().with_timezone(&Utc)
}

fn frames_to(frames: u64) -> Duration {
    Duration::nanoseconds((u128::from(frames) * 1_000_000_000 / u128::from(RATE)) as i64)
}

/// An instant rounded to the nearest millisecond, as the log stores it.
fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    let n = t.timestamp_nanos_opt().unwrap();
    DateTime::from_timestamp_nanos((n + 500_000).div_euclid(1_000_000) * 1_000_000)
}

// ---- the content root ----

fn write(root: &Path, file: &str, text: &str) {
    let path = root.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn yaml_list(w: &[&str]) -> String {
    format!("[{}]", w.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", "))
}

fn write_config(root: &Path, villages: &[Village]) {
    write(
        root,
        "schedules/station.yaml",
        "name: 月度测试站\ntimezone: Asia/Shanghai\nlanguages: [cdo-yongtai, cmn, zxx]\ndefault_language: cmn\n\
         hardware_profile: sim\nchime: chime\n",
    );
    let mut v = String::from("villages:\n");
    for (i, x) in villages.iter().enumerate() {
        let q = x.quiet;
        let holidays = q.holidays.map(|h| format!(", holidays: {}", yaml_list(h))).unwrap_or_default();
        v += &format!(
            "  - id: {id}\n    name: 第{i}村\n    township: {t}\n    grids: [g-{i:02}]\n    zone: z{i:02}\n    \
             languages: [{langs}]\n    quiet_hours: {{weekdays: {wd}, weekends: {we}{holidays}}}\n",
            id = x.id,
            t = x.township,
            langs = x.langs.join(", "),
            wd = yaml_list(q.weekdays),
            we = yaml_list(q.weekends),
        );
    }
    write(root, "schedules/villages.yaml", &v);
    write(root, "schedules/holidays.yaml", "holidays:\n  - 2026-12-11\n  - 2026-12-24..2026-12-25\n");
    write(root, "schedules/a-daily.yaml", SCHEDULE_DAILY);
    write(root, "schedules/b-campaigns.yaml", SCHEDULE_CAMPAIGNS);
    let mut p = String::from("outputs:\n  - {name: out, kind: null, rate: 48000, format: i16, channels: 32}\nzones:\n");
    for i in 0..villages.len() {
        p += &format!("  z{i:02}: [out:{}]\n", i + 1);
    }
    p += "trim_db: {\"out:7\": -2}\n";
    write(root, "hardware-profiles/sim.yaml", &p);
}

/// Generates each clip as a 16-bit mono WAV at 48 kHz and imports it, approved.
fn import_clips(root: &Path, library: &Library, specs: &[ClipSpec]) -> Vec<ClipId> {
    let station = config::load_station(&Layout::new(root)).unwrap_or_else(|p| panic!("{p}"));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    specs
        .iter()
        .map(|c| {
            let path = root.join(format!("upload-{}.{}.wav", c.message, c.lang));
            let mut w = hound::WavWriter::create(&path, spec).unwrap();
            for i in 0..c.frames {
                let s = 0.3 * (2.0 * std::f64::consts::PI * c.freq * i as f64 / RATE as f64).sin();
                w.write_sample((s * 32767.0).round() as i16).unwrap();
            }
            w.finalize().unwrap();
            let title = format!("{}（{}）", c.message, c.lang);
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            let req = ImportRequest {
                path: &path,
                uploaded_name: &name,
                title: &title,
                language: c.lang,
                kind: c.kind,
                message: Some(c.message),
                transcript: None,
                expires: c.expires,
                max_plays_per_day: c.max_per_day,
                uploader: "cli:month-test",
                review: ReviewState::Approved,
                station: &station,
            };
            let done = library.import(&req).unwrap_or_else(|e| panic!("{title}: {e}"));
            assert!(!done.existing, "{title}: every tone is distinct");
            assert_eq!(done.meta.canonical.frames, c.frames, "{title}: a 48 kHz clip keeps its length");
            done.meta.id
        })
        .collect()
}

// ---- the expected log, computed without the scheduler ----

/// One expected as-run row.
#[derive(Debug, Clone)]
struct Entry {
    village: String,
    slot: &'static str,
    /// Index into the clip specs; `None` for no-variant and holiday rows.
    clip: Option<usize>,
    at: DateTime<Utc>,
    outcome: &'static str,
    deferred_from: Option<DateTime<Utc>>,
    duration: Duration,
}

fn minutes(hhmm: &str) -> u32 {
    let (h, m) = hhmm.split_once(':').unwrap();
    h.parse::<u32>().unwrap() * 60 + m.parse::<u32>().unwrap()
}

/// The quiet-hours rule as the design states it: each local day follows the windows of its own kind,
/// read as times of that day; a window wrapping midnight covers both ends of the day.
fn is_quiet(v: &Village, t: DateTime<Utc>) -> bool {
    let l = t.with_timezone(&Shanghai);
    let d = l.date_naive();
    let windows = if holidays().contains(&d) {
        v.quiet.holidays.unwrap_or(v.quiet.weekends)
    } else if matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
        v.quiet.weekends
    } else {
        v.quiet.weekdays
    };
    let now = l.hour() * 60 + l.minute();
    windows.iter().any(|w| {
        let (a, b) = w.split_once('-').unwrap();
        let (a, b) = (minutes(a), minutes(b));
        if a < b { a <= now && now < b } else { now >= a || now < b }
    })
}

/// The first instant from `t` on that is not quiet: `t` itself, or the first whole minute after it.
fn quiet_end(v: &Village, t: DateTime<Utc>) -> DateTime<Utc> {
    if !is_quiet(v, t) {
        return t;
    }
    let mut m = DateTime::from_timestamp(t.timestamp() - t.timestamp().rem_euclid(60), 0).unwrap();
    loop {
        m += Duration::minutes(1);
        if !is_quiet(v, m) {
            return m;
        }
    }
}

enum Pick {
    Play(usize),
    Expired(usize),
    None,
}

/// The village's languages, then the station default (cmn), then zxx; unexpired variants first.
fn pick(specs: &[ClipSpec], message: &str, v: &Village, day: NaiveDate) -> Pick {
    let chain: Vec<&str> = v.langs.iter().copied().chain(["cmn", "zxx"]).collect();
    let live = |c: &ClipSpec| c.expires.is_none_or(|e| day <= NaiveDate::parse_from_str(e, "%Y-%m-%d").unwrap());
    let find = |only_live: bool| {
        chain
            .iter()
            .find_map(|l| specs.iter().position(|c| c.message == message && c.lang == *l && (!only_live || live(c))))
    };
    match (find(true), find(false)) {
        (Some(i), _) => Pick::Play(i),
        (None, Some(i)) => Pick::Expired(i),
        (None, None) => Pick::None,
    }
}

/// FNV-1a 64 over length-prefixed fields, finished with SplitMix64's mixer (the scheduler's
/// documented, stable shuffle seed), and a Fisher–Yates shuffle drawn from SplitMix64.
fn shuffled(n: usize, playlist: &str, at: DateTime<Utc>) -> Vec<usize> {
    fn mix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    let mut bytes = |b: &[u8]| {
        for &x in b {
            h = (h ^ u64::from(x)).wrapping_mul(0x0000_0100_0000_01B3);
        }
    };
    for s in ["shuffle", playlist] {
        bytes(&(s.len() as u64).to_le_bytes());
        bytes(s.as_bytes());
    }
    bytes(&(at.timestamp() as u64).to_le_bytes());
    bytes(&u64::from(at.timestamp_subsec_nanos()).to_le_bytes());
    let mut state = mix(h);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let j = ((u128::from(mix(state)) * (i as u128 + 1)) >> 64) as usize;
        order.swap(i, j);
    }
    order
}

/// Every slot firing of the month in time order (ties: slot file order), as (instant, slot index).
fn firings(slots: &[SlotModel]) -> Vec<(DateTime<Utc>, usize)> {
    let mut out = Vec::new();
    for d in 1..=31 {
        let day = date(d);
        for (k, s) in slots.iter().enumerate() {
            let wd = day.weekday();
            let fires = (!s.weekdays_only || !matches!(wd, Weekday::Sat | Weekday::Sun))
                && (!s.sundays_only || wd == Weekday::Sun)
                && s.from.is_none_or(|f| day >= f);
            if fires {
                out.push((local(day, s.hour, s.minute), k));
            }
        }
    }
    out.sort();
    out
}

/// Every row the month should log, in no particular order.
fn expected(villages: &[Village], specs: &[ClipSpec]) -> Vec<Entry> {
    let slots = slot_models();
    let chime = specs.iter().position(|c| c.message == "chime").unwrap();
    let mut rotation: HashMap<&str, usize> = HashMap::new();
    let mut plays: HashMap<(NaiveDate, String, usize), u32> = HashMap::new();
    let mut out = Vec::new();
    for (firing, k) in firings(&slots) {
        let s = &slots[k];
        let targets = villages.iter().filter(|v| s.townships.is_none_or(|t| t.contains(&v.township)));
        let day = firing.with_timezone(&Shanghai).date_naive();
        if s.skip_holidays && holidays().contains(&day) {
            for v in targets {
                let e = Entry {
                    village: v.id.clone(),
                    slot: s.name,
                    clip: None,
                    at: firing,
                    outcome: "skipped-holiday",
                    deferred_from: None,
                    duration: Duration::zero(),
                };
                out.push(e);
            }
            continue;
        }
        let once: Vec<&str> = match s.mode {
            Mode::InOrder => s.items.to_vec(),
            Mode::Rotate => {
                let r = rotation.entry(s.playlist).or_default();
                *r += 1;
                vec![s.items[(*r - 1) % s.items.len()]]
            }
            Mode::Shuffle => shuffled(s.items.len(), s.playlist, firing).into_iter().map(|i| s.items[i]).collect(),
        };
        let selection: Vec<&str> = (0..s.repeat).flat_map(|_| once.iter().copied()).collect();
        for v in targets {
            let mut cursor = firing;
            let mut delay = Duration::zero();
            let mut chime_due = s.chime;
            for message in &selection {
                let mut at = cursor;
                let mut quiet_skip = false;
                if is_quiet(v, at) {
                    if s.defer {
                        let end = quiet_end(v, at);
                        delay += end - at;
                        at = end;
                    } else {
                        quiet_skip = true;
                    }
                }
                let day = at.with_timezone(&Shanghai).date_naive();
                let (clip, mut outcome) = match pick(specs, message, v, day) {
                    Pick::Play(i) => (Some(i), None),
                    Pick::Expired(i) => (Some(i), Some("skipped-expired")),
                    Pick::None => (None, Some("no-variant")),
                };
                if let (None, Some(i)) = (outcome, clip)
                    && let Some(max) = specs[i].max_per_day
                {
                    let n = plays.entry((day, v.id.clone(), i)).or_default();
                    if *n >= max {
                        outcome = Some("skipped-max-plays");
                    } else if !quiet_skip {
                        *n += 1;
                    }
                }
                let outcome = outcome.unwrap_or(if quiet_skip { "skipped-quiet-hours" } else { "played" });
                let mut duration = Duration::zero();
                if outcome == "played" {
                    duration = frames_to(specs[clip.unwrap()].frames);
                    if std::mem::take(&mut chime_due) {
                        duration += frames_to(specs[chime].frames);
                    }
                }
                let deferred_from = (outcome == "played" && delay > Duration::zero()).then(|| at - delay);
                out.push(Entry { village: v.id.clone(), slot: s.name, clip, at, outcome, deferred_from, duration });
                cursor = if outcome == "played" { at + duration + Duration::milliseconds(s.gap_ms) } else { at };
            }
        }
    }
    out
}

// ---- comparing ----

/// What is compared: village, slot, clip (as `message.lang`), scheduled instant to the ms,
/// outcome, and the original instant of a deferred cue.
type Key = (String, String, String, DateTime<Utc>, String, Option<DateTime<Utc>>);

fn label(specs: &[ClipSpec], i: Option<usize>) -> String {
    i.map_or("-".into(), |i| format!("{}.{}", specs[i].message, specs[i].lang))
}

fn expected_key(specs: &[ClipSpec], e: &Entry) -> Key {
    let from = e.deferred_from.map(ms);
    (e.village.clone(), e.slot.into(), label(specs, e.clip), ms(e.at), e.outcome.into(), from)
}

fn row_key(labels: &HashMap<ClipId, String>, r: &AsRunRow) -> Key {
    let clip = r.clip.as_ref().map_or("-".into(), |c| labels.get(c).cloned().unwrap_or_else(|| format!("?{c}")));
    let from = r
        .detail
        .as_deref()
        .and_then(|d| d.strip_prefix("deferred from "))
        .map(|t| DateTime::parse_from_rfc3339(t.split(';').next().unwrap()).unwrap().with_timezone(&Utc));
    (r.village.to_string(), r.slot.clone().unwrap_or_default(), clip, r.scheduled, r.state().into(), from)
}

fn show(k: &Key) -> String {
    let t = k.3.with_timezone(&Shanghai).format("%m-%d %H:%M:%S%.3f");
    let from = k.5.map(|f| format!(" (from {})", f.with_timezone(&Shanghai).format("%m-%d %H:%M"))).unwrap_or_default();
    format!("{t} {} {} {} {}{from}", k.0, k.1, k.2, k.4)
}

/// Panics listing (some of) what only one side has.
fn assert_same(want: &[Key], got: &[Key]) {
    let mut balance: BTreeMap<&Key, i64> = BTreeMap::new();
    for k in want {
        *balance.entry(k).or_default() += 1;
    }
    for k in got {
        *balance.entry(k).or_default() -= 1;
    }
    let side = |missing: bool| -> Vec<String> {
        balance.iter().filter(|(_, n)| if missing { **n > 0 } else { **n < 0 }).map(|(k, _)| show(k)).collect()
    };
    let (missing, extra) = (side(true), side(false));
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the as-run log differs from the independent plan: {} expected rows missing, {} unexpected rows\n\
         missing (first 25):\n  {}\nunexpected (first 25):\n  {}",
        missing.len(),
        extra.len(),
        missing.iter().take(25).cloned().collect::<Vec<_>>().join("\n  "),
        extra.iter().take(25).cloned().collect::<Vec<_>>().join("\n  ")
    );
    assert_eq!(want.len(), got.len());
}

// ---- the month ----

/// A temporary station root, in memory where Linux offers it: the store writes with
/// `synchronous=FULL`, and a month's ~20 000 synced transactions would otherwise measure the disk
/// (durability is `tests/store.rs`'s business).
fn temp_root() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    shm.is_dir().then(|| tempfile::tempdir_in(shm).ok()).flatten().unwrap_or_else(|| tempfile::tempdir().unwrap())
}

#[test]
fn a_month_of_32_villages_logs_exactly_the_independent_plan() {
    let wall = Instant::now();
    let dir = temp_root();
    let root = dir.path();
    let villages = villages();
    let specs = clip_specs();
    write_config(root, &villages);
    let layout = Layout::new(root);
    let state = root.join("var");
    let library = Library::new(layout.library(), state.join("staging"));
    let ids = import_clips(root, &library, &specs);
    let labels: HashMap<ClipId, String> =
        ids.iter().enumerate().map(|(i, id)| (id.clone(), label(&specs, Some(i)))).collect();
    let (clips, broken) = library.list().unwrap();
    assert!(broken.is_empty(), "{broken:?}");
    let plan = config::load(&layout, None, &library.catalog().unwrap()).unwrap_or_else(|p| panic!("{p}"));
    assert_eq!((plan.villages.len(), plan.slots.len(), plan.profile.outputs[0].channels), (32, 4, 32));
    let metas: HashMap<ClipId, ClipMeta> = clips.iter().map(|c| (c.id.clone(), c.clone())).collect();

    // Run the month as `serve` would: tick, let the engine play up to the next tick, report.
    let start = local(date(1), 0, 0);
    let end = start + Duration::days(DAYS);
    let store = Store::open(&store::default_path(&state)).unwrap();
    let air = SimAir::new(&plan.profile, start);
    let mut station = Station::new(plan, &clips, library, store, air);
    assert_eq!(station.recover(start).unwrap(), Default::default(), "a fresh station has nothing to recover");
    // Ticks come every second while a cue is on air or due within PLAN_AHEAD, and at least every
    // PLAN_AHEAD / 2 and HAND_AHEAD otherwise (so each firing is planned before its instant and
    // each cue handed over in time) — except across long silences, where the clock jumps (at most
    // MAX_JUMP_MIN) to PLAN_AHEAD before the next firing of this test's schedule or the next
    // waiting cue, and that tick plans the whole stretch as one window. (Were a firing jumped
    // over, its cues would be logged late or missed, and the comparison below would say so.)
    // The engine itself jumps over the silence between cues.
    let idle_step = Duration::from_std((PLAN_AHEAD / 2).min(HAND_AHEAD)).unwrap();
    let plan_ahead = Duration::from_std(PLAN_AHEAD).unwrap();
    let wakes: Vec<DateTime<Utc>> = firings(&slot_models()).into_iter().map(|(t, _)| t).collect();
    let (mut t, mut ticks, mut w) = (start, 0u64, 0);
    while t < end {
        station.tick(t).unwrap();
        ticks += 1;
        while wakes.get(w).is_some_and(|f| *f <= t) {
            w += 1;
        }
        let due = station.next_cue().map(|c| c.at);
        let next = if station.on_air_count() > 0 || due.is_some_and(|at| at < t + plan_ahead) {
            t + Duration::seconds(1)
        } else {
            let wake = wakes.get(w).copied().into_iter().chain(due).min().unwrap_or(end) - plan_ahead;
            wake.clamp(t + idle_step, t + Duration::minutes(MAX_JUMP_MIN))
        };
        let next = next.min(end);
        for ev in station.air_mut().advance(next) {
            station.on_event(ev).unwrap();
        }
        t = next;
    }

    let rows = station.store().query(&Filter::default()).unwrap();
    let want = expected(&villages, &specs);
    let want_keys: Vec<Key> = want.iter().map(|e| expected_key(&specs, e)).collect();
    assert_same(&want_keys, &rows.iter().map(|r| row_key(&labels, r)).collect::<Vec<_>>());

    // Timing to the millisecond: every played row started on its instant and ran its exact length.
    let durations: HashMap<Key, Duration> = want.iter().map(|e| (expected_key(&specs, e), e.duration)).collect();
    let one_ms = Duration::milliseconds(1);
    let fade = Duration::from_std(EngineConfig::default().fade).unwrap();
    let (mut start_dev, mut end_dev) = (Duration::zero(), Duration::zero());
    for r in rows.iter().filter(|r| r.started.is_some()) {
        let (started, ended) = (r.started.unwrap(), r.ended.expect("a started cue ended within the month"));
        let dur = durations[&row_key(&labels, r)];
        start_dev = start_dev.max((started - r.scheduled).abs());
        end_dev = end_dev.max((ended - (started + dur)).abs());
        assert!((started - r.scheduled).abs() <= one_ms, "{}: started {started}", show(&row_key(&labels, r)));
        let off = (ended - (started + dur)).abs();
        assert!(off <= one_ms + fade, "{}: ended {ended}, {off} off", show(&row_key(&labels, r)));
        assert_eq!(r.late_by, None);
    }

    // Straight from the log: quiet hours kept, expiries honoured, every row final.
    let by_id: HashMap<&str, &Village> = villages.iter().map(|v| (v.id.as_str(), v)).collect();
    for r in &rows {
        let v = by_id[r.village.as_str()];
        if let Some(started) = r.started
            && r.priority != Some(Priority::Emergency)
        {
            assert!(!is_quiet(v, started), "{} started in its quiet hours: {r:?}", r.village);
        }
        if r.state() == "skipped-quiet-hours" {
            assert!(is_quiet(v, r.scheduled), "skipped outside quiet hours: {r:?}");
        }
        if let (Some(started), Some(expires)) = (r.started, r.clip.as_ref().and_then(|c| metas[c].expires)) {
            assert!(started.with_timezone(&Shanghai).date_naive() <= expires, "played after its last day: {r:?}");
        }
        if r.state() == "skipped-expired" {
            let expires = r.clip.as_ref().and_then(|c| metas[c].expires).expect("an expired clip has a last day");
            assert!(r.scheduled.with_timezone(&Shanghai).date_naive() > expires, "skipped before its last day: {r:?}");
        }
        if r.scheduled < end {
            assert!(r.outcome.is_some() && (r.started.is_none() || r.ended.is_some()), "not final: {r:?}");
        }
    }

    // The month exercised every rule it claims to, and the metrics agree with the log.
    let mut per_outcome: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rows {
        *per_outcome.entry(r.state()).or_default() += 1;
    }
    for o in ["played", "skipped-quiet-hours", "skipped-expired", "skipped-holiday", "skipped-max-plays", "no-variant"]
    {
        assert!(per_outcome.get(o).is_some_and(|n| *n > 0), "no `{o}` row: {per_outcome:?}");
    }
    let deferred = want.iter().filter(|e| e.deferred_from.is_some()).count();
    assert!(deferred > 0);
    let played_label = |l: &str| rows.iter().filter(|r| r.started.is_some() && row_key(&labels, r).2 == l).count();
    assert!(played_label("water-notice.cdo-yongtai") > 0 && played_label("winter-campaign.cmn") > 0);
    let mut metric_totals: BTreeMap<&str, usize> = BTreeMap::new();
    for ((_, o), n) in &station.metrics().cues {
        *metric_totals.entry(o.name()).or_default() += *n as usize;
    }
    assert_eq!(metric_totals, per_outcome, "metrics count what the log says");

    let mut by_count: Vec<(&str, usize)> = per_outcome.into_iter().collect();
    by_count.sort_by_key(|(o, n)| (std::cmp::Reverse(*n), *o));
    let summary = by_count.iter().map(|(o, n)| format!("{o} {n}")).collect::<Vec<_>>().join(", ");
    println!(
        "month: {} villages × {DAYS} simulated days: {} as-run rows = {summary} ({deferred} of the played deferred \
         past quiet hours); {ticks} ticks; starts within {} µs and ends within {} µs of plan; wall {:.1} s",
        villages.len(),
        rows.len(),
        start_dev.num_microseconds().unwrap(),
        end_dev.num_microseconds().unwrap(),
        wall.elapsed().as_secs_f64()
    );
}
