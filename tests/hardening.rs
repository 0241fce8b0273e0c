//! `xiangyin serve` against what takes loudspeakers off the air in the field: a full state disk,
//! a neighbour holding thousands of half-sent requests, a stepped wall clock, twenty uploads at
//! once, a state directory on another file system and the litter of killed runs. Real
//! processes, a real port, a real tmpfs (the tests run as root, as CI does), the real cpal →
//! ALSA path for the card, and libfaketime for the wall clock of the daemon alone.
//!
//! What a county would notice is what is checked: every cue heard (on the card) or played (in
//! the log), on time; the as-run log complete and never doubled; `/healthz` saying what is
//! wrong while it is wrong; people still able to log in and broadcast.
//!
//! The tests that listen in real time take a lock in turn (one at a time keeps a loaded
//! two-core machine from starving their audio).

mod common;

#[path = "common/alsa.rs"]
mod alsa;
#[path = "common/daemon.rs"]
mod daemon;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use daemon::{Daemon, SmallDisk, Start, rows};

static REAL_TIME: Mutex<()> = Mutex::new(());

fn real_time() -> MutexGuard<'static, ()> {
    REAL_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Imports a 1 s, 1 kHz tone as the approved message `beep` into the station at `root`;
/// returns its clip id.
fn import_beep(root: &Path) -> String {
    let wav = root.join("beep.wav");
    let w = std::f64::consts::TAU * 1_000.0 / 48_000.0;
    let tone: Vec<f64> = (0..48_000).map(|i| 0.5 * (w * i as f64).cos()).collect();
    common::write_wav(&wav, &tone, 48_000, 1, 16, false);
    let out = common::xiangyin(
        root,
        &[
            "import",
            wav.to_str().unwrap(),
            "--language",
            "cmn",
            "--kind",
            "notice",
            "--message",
            "beep",
            "--approve",
            "--json",
        ],
    );
    assert!(out.status.success(), "import: {}{}", common::stdout(&out), common::stderr(&out));
    common::json_lines(&out)[0]["id"].as_str().unwrap().to_owned()
}

/// A slot named `every` playing `beep` on `village` every `secs` seconds.
fn beeps(village: &str, secs: u32, grace: Option<u32>) -> String {
    let grace = grace.map(|g| format!("    grace_minutes: {g}\n")).unwrap_or_default();
    format!(
        "playlists:\n  beeps:\n    mode: in-order\n    items: [beep]\nslots:\n  - name: every\n    \
         cron: \"*/{secs} * * * * *\"\n    playlist: beeps\n    targets: {{villages: [{village}]}}\n{grace}"
    )
}

/// Separate sounds in one channel (runs of non-zero samples split by at least 0.3 s of silence).
fn sounds(channel: &[i16]) -> usize {
    let mut n = 0;
    let mut quiet = usize::MAX;
    for &s in channel {
        if s != 0 {
            if quiet >= 14_400 {
                n += 1;
            }
            quiet = 0;
        } else {
            quiet = quiet.saturating_add(1);
        }
    }
    n
}

fn problems(health: &serde_json::Value) -> Vec<String> {
    health["problems"]
        .as_array()
        .map(|a| a.iter().map(|p| p["reason"].as_str().unwrap_or("").to_owned()).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// A full state disk

/// The state disk fills up while slots fire every 4 s on a station with a sound card and a
/// recorder beside it. Every cue is still heard on the card; the recorder pauses (not the card);
/// `/healthz` says `disk-full` and that the as-run log waits in memory; an operator can still
/// log in and send an emergency, which is heard at once. When space returns, every row of the
/// outage is written, once, and the database is intact; the recordings stayed within their
/// budget. (Before: 0 of 4 cues heard, no row for the outage, logins and the emergency 500,
/// `/healthz` ok.)
#[test]
fn a_full_state_disk_silences_no_village_and_loses_no_row() {
    let _rt = real_time();
    let alsa_dir = alsa::setup();
    let st = daemon::station(&beeps("dongmen", 4, None));
    let root = st.path();
    let beep = import_beep(root);
    std::fs::write(
        root.join("hardware-profiles/card.yaml"),
        "description: a card and a recorder\noutputs:\n  \
         - {name: card, kind: device, device: \"alsa:xy_disk8\", rate: 48000, format: i16, channels: 8}\n  \
         - {name: rec, kind: wav, rate: 48000, format: i16, channels: 8, budget_mb: 6, keep_free_mb: 1}\n\
         zones:\n  dongmen: [card:1, rec:1]\n  ximen: [card:2, rec:2]\n  nanjie: [card:3]\n  beishan: [card:4]\n  \
         shiqiao: [card:5]\n  liutang: [card:6]\n  huangni: [card:7]\n  xiabei: [card:8]\nmax_level_dbfs: -1\n",
    )
    .unwrap();
    let disk = SmallDisk::mount(40);
    let fifo = alsa::fifo("xy_disk8");
    let card = alsa::Reader::start(&fifo, 16, Some(48_000 * 16));
    let mut start = Start::new(root, "card");
    start.state = Some(disk.path());
    start.extra = vec!["--disk-warn-mb", "4"];
    start.env = vec![
        ("ALSA_CONFIG_PATH", alsa::alsa_config_path().into_string().unwrap()),
        ("XY_ALSA_DIR", alsa_dir.display().to_string()),
    ];
    let d = Daemon::start(start);
    let (_admin, _) = d.first_admin("wang", "a long enough password");
    let played = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = rows(root, Some(disk.path()));
            if r.iter().filter(|r| r.village == "dongmen" && r.outcome == "played").count() >= n {
                return r;
            }
            assert!(Instant::now() < deadline, "fewer than {n} cues played: {r:#?}\n{}", d.log());
            std::thread::sleep(Duration::from_millis(300));
        }
    };
    played(2);

    // The disk fills up.
    let filler = disk.fill();
    let full_at = chrono::Utc::now();
    let h = d.wait_health(Duration::from_secs(15), "disk-full in /healthz", |h| {
        problems(h).contains(&"disk-full".to_owned())
    });
    assert_eq!(h["status"], "degraded", "{h}");
    // People can still log in, and an emergency goes on air.
    let (op, csrf) = d
        .login("wang", "a long enough password")
        .unwrap_or_else(|e| panic!("login with a full disk: {e:?}\n{}", d.log()));
    let r = op
        .post(d.url("/api/broadcasts"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"targets": {"villages": ["ximen"]}, "clip": beep, "priority": "emergency"}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "emergency with a full disk: {}", r.text().unwrap_or_default());
    std::thread::sleep(Duration::from_secs(14));
    let h = d.wait_health(Duration::from_secs(10), "the as-run log waiting in memory", |h| {
        problems(h).contains(&"as-run-backlog".to_owned()) && h["asrun_held"].as_u64().unwrap_or(0) > 0
    });
    assert!(problems(&h).contains(&"recorder".to_owned()), "the recorder says it paused: {h}");
    assert!(!problems(&h).contains(&"output".to_owned()), "the card is fine: {h}");

    // Space returns.
    std::fs::remove_file(&filler).unwrap();
    let freed_at = chrono::Utc::now();
    let h = d.wait_health(Duration::from_secs(20), "health back to ok", |h| h["status"] == "ok");
    assert_eq!(h["asrun_held"], 0, "{h}");
    std::thread::sleep(Duration::from_secs(2));
    let status = d.term();
    assert!(status.success(), "exit: {status}");
    let heard = card.finish().i16_channels(8);

    let all = rows(root, Some(disk.path()));
    let mut seen = BTreeMap::new();
    for r in &all {
        *seen.entry(r.cue.clone()).or_insert(0) += 1;
    }
    assert!(seen.values().all(|n| *n == 1), "a row twice: {seen:?}");
    let outage: Vec<&daemon::Row> =
        all.iter().filter(|r| r.village == "dongmen" && r.scheduled > full_at && r.scheduled < freed_at).collect();
    assert!(outage.len() >= 3, "firings during the outage have rows: {all:#?}");
    for r in &outage {
        assert_eq!(r.outcome, "played", "{r:?}");
        assert!(r.late_ms.is_none(), "on time: {r:?}");
    }
    let emergency: Vec<&daemon::Row> = all.iter().filter(|r| r.village == "ximen").collect();
    assert!(
        matches!(emergency[..], [r] if r.outcome == "played" && r.priority == "emergency"),
        "the emergency's row: {emergency:#?}"
    );
    // What the card played: one beep for every row that started — played, or on air when the
    // station was stopped at the end (logged `stopped`) — and the emergency on its own channel.
    let played_rows = all.iter().filter(|r| r.village == "dongmen" && r.started.is_some()).count();
    assert!(
        all.iter()
            .filter(|r| r.village == "dongmen" && r.started.is_some())
            .all(|r| r.outcome == "played" || (r.outcome == "stopped" && r.scheduled > freed_at)),
        "only a cue on air at the final stop may be other than played: {all:#?}"
    );
    println!(
        "full state disk: {} cues due during the outage, all logged played on time; {} beeps heard on the card for \
         {played_rows} rows that started; the emergency heard {} time(s)",
        outage.len(),
        sounds(&heard[0]),
        sounds(&heard[1])
    );
    assert_eq!(sounds(&heard[0]), played_rows, "beeps on the card vs rows that started");
    assert_eq!(sounds(&heard[1]), 1, "the emergency on ximen's channel");
    assert!(all.iter().all(|r| r.outcome != "failed-output" && r.outcome != "missed"), "{all:#?}");
    // Nothing damaged, nothing over budget.
    xiangyin::store::Store::open(&disk.path().join("station.db")).unwrap().check_integrity().unwrap();
    let rec: u64 =
        std::fs::read_dir(disk.path().join("recordings")).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    assert!(rec <= 6 * 1024 * 1024 + 65_536, "recordings use {rec} bytes of a 6 MiB budget");
    let log = d_log(root);
    assert!(log.contains("the as-run log cannot be written"), "a loud line when it started");
    assert!(log.contains("writable again"), "and one when it was over");
}

fn d_log(root: &Path) -> String {
    std::fs::read_to_string(root.join("serve.log")).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// A neighbour's idle connections

/// Opens `n` connections from `from` to `to`, each sending half a request and then nothing,
/// held until the returned runtime is dropped; returns how many connected.
fn hold_half_sent(from: &str, to: &str, n: usize) -> (tokio::runtime::Runtime, usize) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (from, to): (std::net::SocketAddr, std::net::SocketAddr) =
        (format!("{from}:0").parse().unwrap(), to.parse().unwrap());
    let connected = rt.block_on(async move {
        let mut tries = tokio::task::JoinSet::new();
        for _ in 0..n {
            tries.spawn(async move {
                let s = tokio::net::TcpSocket::new_v4().ok()?;
                s.bind(from).ok()?;
                let mut c = tokio::time::timeout(Duration::from_secs(3), s.connect(to)).await.ok()?.ok()?;
                use tokio::io::AsyncWriteExt;
                let _ = c.write_all(b"GET /healthz HTTP/1.1\r\nHost: station\r\nX-Slow: ").await;
                Some(c)
            });
        }
        let mut held = Vec::new();
        while let Some(r) = tries.join_next().await {
            if let Ok(Some(c)) = r {
                held.push(c);
            }
        }
        let count = held.len();
        // Hold them (the runtime keeps the task, and with it the sockets, until it is dropped).
        tokio::spawn(async move {
            let _held = held;
            std::future::pending::<()>().await;
        });
        count
    });
    (rt, connected)
}

/// A neighbour (127.0.0.2) opens 2,000 connections that send half a request and wait, against a
/// daemon limited to 1,024 open files. Slots keep playing (every firing played, none missed),
/// `/healthz` and login answer for everyone else (127.0.0.1), the flood is counted in
/// `/metrics`, and the half-sent requests are closed after the header timeout. (Before: `/healthz`
/// and login timed out and cues were logged `missed … Too many open files`.)
#[test]
fn idle_connections_from_a_neighbour_silence_no_village_and_lock_nobody_out() {
    let _rt = real_time();
    xiangyin::os::raise_open_files_limit().unwrap();
    let st = daemon::station(&beeps("dongmen", 3, None));
    let root = st.path();
    import_beep(root);
    let mut start = Start::new(root, "virtual");
    start.shell_prefix = Some("ulimit -n 1024;");
    let d = Daemon::start(start);
    let (_admin, _) = d.first_admin("wang", "a long enough password");
    let flood_from = chrono::Utc::now();
    let (held, connected) = hold_half_sent("127.0.0.2", &d.addr, 2_000);
    assert!(connected >= 1_000, "the test could open only {connected} connections");
    // Everyone else still gets through, while the flood is held.
    let t = Instant::now();
    let (code, _) = d.health();
    assert_eq!(code, 200, "healthz during the flood");
    d.login("wang", "a long enough password").unwrap_or_else(|e| panic!("login during the flood: {e:?}"));
    println!("healthz and login answered in {:?} with {connected} connections held", t.elapsed());
    std::thread::sleep(Duration::from_secs(12));
    let refused = d.metric("xiangyin_http_connections_refused_total").unwrap();
    let open = d.metric("xiangyin_http_connections ").unwrap_or(0.0);
    drop(held);
    let flood_to = chrono::Utc::now();
    assert!(refused >= 1_900.0, "refused {refused}");
    assert!(open < 40.0, "half-sent requests are closed after the header timeout: {open} open");
    std::thread::sleep(Duration::from_secs(1));
    assert!(d.term().success());
    let all = rows(root, None);
    let during: Vec<&daemon::Row> = all.iter().filter(|r| r.scheduled > flood_from && r.scheduled < flood_to).collect();
    assert!(during.len() >= 3, "{all:#?}");
    assert!(during.iter().all(|r| r.outcome == "played" && r.late_ms.is_none()), "every cue on time: {during:#?}");
    println!(
        "with {connected} half-sent connections held: {} cues due, {} played on time, {} missed; {refused} connections refused",
        during.len(),
        during.iter().filter(|r| r.outcome == "played" && r.late_ms.is_none()).count(),
        during.iter().filter(|r| r.outcome == "missed").count()
    );
    assert!(!d_log(root).contains("Too many open files"), "{}", d_log(root));
}

// ---------------------------------------------------------------------------------------------
// A stepped wall clock

/// The libfaketime that steps the daemon's wall clock (and only its wall clock).
const FAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// First frames of sounds in one channel (after at least 0.3 s of silence).
fn onsets(channel: &[i16]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut quiet = usize::MAX;
    for (i, &s) in channel.iter().enumerate() {
        if s != 0 {
            if quiet >= 14_400 {
                out.push(i);
            }
            quiet = 0;
        } else {
            quiet = quiet.saturating_add(1);
        }
    }
    out
}

/// The daemon's wall clock jumps 60 s ahead (libfaketime, monotonic clock untouched) while a
/// slot fires every 10 s. The step is logged and shown in `/healthz`; every later cue is heard
/// — in the recording, whose frames run on the real clock — within 1 s of its instant on the new
/// wall clock, and the log says when each really played: the cue waiting in the engine at the
/// step is `late` by about a minute, the firings the jump skipped are `missed` (grace 0), none
/// is "played on time" that was not. (Before: every later cue played 60 s late and was logged on
/// time.)
#[test]
fn a_stepped_wall_clock_is_followed_and_real_lateness_is_logged() {
    let _rt = real_time();
    assert!(Path::new(FAKETIME).exists(), "{FAKETIME} is missing: make test installs Debian's faketime");
    let st = daemon::station(&beeps("dongmen", 10, Some(0)));
    let root = st.path();
    import_beep(root);
    let offset = root.join("faketime.rc");
    std::fs::write(&offset, "+0\n").unwrap();
    let mut start = Start::new(root, "virtual");
    start.env = vec![
        ("LD_PRELOAD", FAKETIME.into()),
        ("FAKETIME_TIMESTAMP_FILE", offset.display().to_string()),
        ("FAKETIME_CACHE_DURATION", "1".into()),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1".into()),
    ];
    let d = Daemon::start(start);
    let deadline = Instant::now() + Duration::from_secs(40);
    while rows(root, None).iter().filter(|r| r.outcome == "played").count() < 2 {
        assert!(Instant::now() < deadline, "no two cues before the step:\n{}", d.log());
        std::thread::sleep(Duration::from_millis(300));
    }
    // Just after a firing, so that the next one is already waiting in the engine.
    let wait_to = |sec: u32| loop {
        let s = chrono::Utc::now().timestamp().rem_euclid(10) as u32;
        if s == sec {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    wait_to(6);
    std::fs::write(&offset, "+60\n").unwrap();
    let stepped_real = chrono::Utc::now();
    // What health says is checked last, so that a failure shows what was heard first.
    let mut told = None;
    for _ in 0..50 {
        let (_, h) = d.health();
        if problems(&h).contains(&"clock-step".to_owned()) {
            told = Some(h);
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(26));
    let steps = d.metric("xiangyin_clock_steps_total");
    let stopped_fake = chrono::Utc::now() + chrono::Duration::seconds(60);
    assert!(d.term().success());

    let step = chrono::Duration::seconds(60);
    let stepped_fake = stepped_real + step;
    let all = rows(root, None);
    let before: Vec<&daemon::Row> =
        all.iter().filter(|r| r.scheduled < stepped_real && r.outcome == "played").collect();
    let after: Vec<&daemon::Row> = all
        .iter()
        .filter(|r| r.scheduled > stepped_fake + chrono::Duration::seconds(5) && r.scheduled < stopped_fake)
        .collect();
    // The step takes effect within a second of the write (libfaketime reads its file each second).
    let skipped: Vec<&daemon::Row> = all
        .iter()
        .filter(|r| {
            r.scheduled > stepped_real + chrono::Duration::seconds(2)
                && r.scheduled < stepped_fake - chrono::Duration::seconds(2)
        })
        .collect();
    assert!(after.len() >= 2, "cues after the step: {all:#?}");
    assert!(!skipped.is_empty(), "the jump skipped firings: {all:#?}");

    // The recording runs on the real clock: place the first cue, then find the later ones.
    let rec = std::fs::read_dir(root.join("var/recordings"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "wav"))
        .unwrap();
    let samples: Vec<i16> = hound::WavReader::open(&rec).unwrap().samples::<i16>().map(Result::unwrap).collect();
    let ch0: Vec<i16> = samples.chunks_exact(8).map(|f| f[0]).collect();
    let heard = onsets(&ch0);
    let first = before[0];
    let origin = first.scheduled - chrono::Duration::microseconds(heard[0] as i64 * 1_000_000 / 48_000);
    for r in &after {
        let real_instant = r.scheduled - step;
        let want = ((real_instant - origin).num_microseconds().unwrap() * 48_000 / 1_000_000) as i64;
        let nearest = heard.iter().map(|&f| f as i64 - want).min_by_key(|d| d.abs()).unwrap();
        let late_ms = nearest * 1000 / 48_000;
        println!("cue scheduled {} heard {late_ms:+} ms from its instant on the stepped clock", r.scheduled);
        assert!(late_ms.abs() <= 1_000, "{r:?} was heard {late_ms} ms from its instant");
    }
    for r in &after {
        assert_eq!(r.outcome, "played", "{r:?}");
        let log_late = (r.started.unwrap() - r.scheduled).num_milliseconds();
        assert!(log_late.abs() <= 1_000, "{r:?}");
    }
    for r in &skipped {
        let late_in_log = r.late_ms.unwrap_or(0) >= 1_000 || r.outcome == "missed";
        assert!(late_in_log, "a cue the step made late is not logged on time: {r:?}");
    }
    assert!(d_log(root).contains("the wall clock was stepped by +60"), "{}", d_log(root));
    let told = told.expect("/healthz said nothing of the clock step");
    assert!(told["problems"].to_string().contains("+60"), "{told}");
    assert!(steps.is_some_and(|n| n >= 1.0), "xiangyin_clock_steps_total: {steps:?}");
}

// ---------------------------------------------------------------------------------------------
// Twenty uploads at once; a state directory on another file system; the litter of killed runs

/// A multipart body for an upload of `wav` as `name`.
fn upload_body(name: &str, wav: &[u8]) -> (String, Vec<u8>) {
    let b = "xy-boundary-hardening";
    let mut out = Vec::new();
    for (k, v) in [("title", name), ("language", "cmn"), ("kind", "notice")] {
        out.extend(format!("--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").bytes());
    }
    out.extend(
        format!("--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: audio/wav\r\n\r\n")
            .bytes(),
    );
    out.extend_from_slice(wav);
    out.extend(format!("\r\n--{b}--\r\n").bytes());
    (format!("multipart/form-data; boundary={b}"), out)
}

/// `secs` of a tone at `hz`, 22.05 kHz mono 16-bit (so the import resamples it), as WAV bytes.
fn tone_wav(hz: f64, secs: f64) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.wav");
    common::write_wav(&p, &common::sine(hz, 0.25, 22_050, 1, secs), 22_050, 1, 16, false);
    std::fs::read(p).unwrap()
}

/// Twenty people upload at once, with the state directory on another file system than the
/// library (a tmpfs). The uploads wait their turn — `/api/imports` shows them `queued`, never more
/// than two importing — while `/healthz` keeps answering; all twenty are imported, and nothing is
/// left in the staging folders. (Before: every upload left its whole staging folder behind when
/// the state was on another file system, and 20 uploads stalled every route for seconds.)
#[test]
fn twenty_uploads_queue_and_leave_nothing_behind_across_file_systems() {
    let _rt = real_time();
    let st = daemon::station(&beeps("dongmen", 30, None));
    let root = st.path();
    import_beep(root);
    let state = SmallDisk::mount(400);
    let mut start = Start::new(root, "virtual");
    start.state = Some(state.path());
    start.extra = vec!["--disk-warn-mb", "4"];
    let d = Daemon::start(start);
    let (c, csrf) = d.first_admin("wang", "a long enough password");
    let url = d.url("/api/clips");
    let wavs: Vec<Vec<u8>> = (0..20).map(|i| tone_wav(200.0 + 17.0 * f64::from(i), 180.0)).collect();
    let uploads: Vec<_> = wavs
        .into_iter()
        .enumerate()
        .map(|(i, wav)| {
            let (c, csrf, url) = (c.clone(), csrf.clone(), url.clone());
            std::thread::spawn(move || {
                let (ct, body) = upload_body(&format!("notice-{i}.wav"), &wav);
                let r = c
                    .post(&url)
                    .header("x-csrf-token", csrf)
                    .header("content-type", ct)
                    .body(body)
                    .timeout(Duration::from_secs(300))
                    .send()
                    .unwrap();
                (r.status().as_u16(), r.text().unwrap())
            })
        })
        .collect();
    let mut queued_seen = 0;
    let mut most_importing = 0;
    let mut health_ms = Vec::new();
    let (mut page_ms, mut api_ms) = (Vec::new(), Vec::new());
    while !uploads.iter().all(|u| u.is_finished()) {
        let t = Instant::now();
        let (code, _) = d.health();
        health_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(code == 200 || code == 503, "healthz {code}");
        let t = Instant::now();
        assert_eq!(c.get(d.url("/")).send().unwrap().status().as_u16(), 200, "the dashboard page");
        page_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let list: serde_json::Value = c.get(d.url("/api/imports")).send().unwrap().json().unwrap();
        api_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let list = list.as_array().unwrap();
        queued_seen = queued_seen.max(list.iter().filter(|q| q["state"] == "queued").count());
        most_importing = most_importing.max(list.iter().filter(|q| q["state"] == "importing").count());
        std::thread::sleep(Duration::from_millis(20));
    }
    for u in uploads {
        let (code, text) = u.join().unwrap();
        assert_eq!(code, 201, "{text}");
    }
    for (what, ms) in
        [("/healthz", &mut health_ms), ("the dashboard page", &mut page_ms), ("/api/imports", &mut api_ms)]
    {
        ms.sort_by(f64::total_cmp);
        let p99 = ms[(ms.len() * 99 / 100).min(ms.len() - 1)];
        println!("{what} during 20 uploads: {} answers, p50 {:.1} ms, p99 {p99:.1} ms", ms.len(), ms[ms.len() / 2]);
    }
    assert!(queued_seen >= 1, "the upload page could say `queued`");
    assert!(most_importing <= 2, "{most_importing} imports ran at once");
    let clips: Vec<serde_json::Value> = c.get(d.url("/api/clips")).send().unwrap().json().unwrap();
    assert_eq!(clips.iter().filter(|c| c["title"].as_str().is_some_and(|t| t.starts_with("notice-"))).count(), 20);
    assert!(d.term().success());
    let staging: Vec<_> = std::fs::read_dir(state.path().join("staging"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(staging.is_empty(), "left in the state's staging folder: {staging:?}");
    assert!(!root.join("audio-library/.staging").exists(), "left in the library's work area");
}

/// What killed runs leave behind — a half-built import, a half-streamed upload, an atomic
/// write's temporary file, scratch folders (today's private one and the old predictable one in
/// the system's temporary folder) — is gone once `serve` has started; and a restart within the
/// same second records to new files instead of overwriting the last run's.
#[test]
fn serve_cleans_what_killed_runs_left_and_never_overwrites_a_recording() {
    let st = daemon::station(&beeps("dongmen", 30, None));
    let root = st.path();
    import_beep(root);
    let gone = 4_194_303; // above the default pid_max: no process has it
    let litter = [
        root.join(format!("audio-library/.staging/import-{gone}-1-0")),
        root.join(format!("var/staging/upload-{gone}-2-0")),
        root.join(format!("schedules/.village-dongmen.yaml.tmp-{gone}-0")),
        root.join("var/tmp/check-Ab12Cd"),
        std::env::temp_dir().join(format!("xiangyin-check-{gone}-7")),
    ];
    for p in &litter {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        if p.to_string_lossy().contains("check") || p.to_string_lossy().contains("import-") {
            std::fs::create_dir_all(p.join("schedules")).unwrap();
            std::fs::write(p.join("schedules/x.yaml"), "x").unwrap();
        } else {
            std::fs::write(p, "half").unwrap();
        }
    }
    let first = Daemon::start(Start::new(root, "virtual"));
    for p in &litter {
        assert!(!p.exists(), "{} is still there", p.display());
    }
    first.kill9();
    let mut again = Start::new(root, "virtual");
    again.log = "serve-2.log";
    let second = Daemon::start(again);
    std::thread::sleep(Duration::from_millis(300));
    assert!(second.term().success());
    let recs: Vec<String> = std::fs::read_dir(root.join("var/recordings"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(recs.len(), 2, "each run records to its own file: {recs:?}");
}
