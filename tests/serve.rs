//! `xiangyin serve` as a county runs it: the real binary on a copy of the demo station with the
//! virtual (WAV) profile, slots firing every few seconds (6-field cron), HTTP on a real port.
//!
//! What an operator would notice, checked here:
//! - slots play on time into the recorder, and the as-run log says `played` at the instant;
//!   `/healthz` and `/metrics` answer on the port `serve` printed;
//! - kill -9 while a notice is on air: after the restart it is logged `stopped`, never replayed;
//! - kill -9 before a slot fires, restart after: within the slot's grace the notice plays late
//!   and is logged `late`; past a (short) grace it is logged `missed`; nothing plays twice;
//! - a broken edit is reported with file:line:col and the last good plan keeps playing; a good
//!   edit (file change or SIGHUP) takes effect without a restart;
//! - SIGTERM stops cleanly (exit 0) and the recording is a complete WAV file.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// A station folder: the demo content without quiet hours (tests run at any hour) and with the
/// given test schedule instead of the demo's.
fn station(schedule: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::copy_demo_awake(dir.path());
    for f in ["morning.yaml", "campaigns.yaml"] {
        std::fs::remove_file(dir.path().join("schedules").join(f)).unwrap();
    }
    std::fs::write(dir.path().join("schedules/test.yaml"), schedule).unwrap();
    dir
}

/// A running `xiangyin serve`.
struct Daemon {
    child: Child,
    addr: String,
    stderr: PathBuf,
}

impl Daemon {
    fn start(root: &Path, run: u32) -> Daemon {
        Self::start_with(root, run, "virtual")
    }

    fn start_with(root: &Path, run: u32, profile: &str) -> Daemon {
        let stderr = root.join(format!("serve-{run}.log"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_xiangyin"))
            .args(["--root", root.to_str().unwrap(), "serve", "--profile", profile, "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info,tokio_cron_scheduler=warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        // Keep reading what serve prints after (the setup link), as a terminal would.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let addr = line
            .trim()
            .strip_prefix("xiangyin: serving on http://")
            .and_then(|a| a.strip_suffix('/'))
            .unwrap_or_else(|| panic!("serve did not start: {line:?}\n{}", std::fs::read_to_string(&stderr).unwrap()))
            .to_owned();
        Daemon { child, addr, stderr }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap()
    }

    fn get(&self, path: &str) -> (u16, String) {
        let r = reqwest::blocking::get(format!("http://{}{path}", self.addr)).unwrap();
        (r.status().as_u16(), r.text().unwrap())
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill").args([sig, &self.child.id().to_string()]).status().unwrap().success();
        assert!(ok, "kill {sig}");
    }

    fn kill9(mut self) {
        self.signal("-KILL");
        self.child.wait().unwrap();
    }

    fn term(mut self) -> std::process::ExitStatus {
        self.signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "serve did not stop within 20 s of SIGTERM:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One as-run row, from `xiangyin log --csv`.
#[derive(Debug, Clone)]
struct Row {
    cue: String,
    village: String,
    slot: String,
    scheduled: DateTime<Utc>,
    started: Option<DateTime<Utc>>,
    ended: Option<DateTime<Utc>>,
    late_ms: Option<u64>,
    outcome: String,
    detail: String,
}

fn rows(root: &Path) -> Vec<Row> {
    let o = common::xiangyin(root, &["log", "--csv"]);
    assert!(o.status.success(), "log: {}", common::stderr(&o));
    let time = |s: &str| (!s.is_empty()).then(|| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc));
    common::csv_records(&common::stdout(&o))
        .into_iter()
        .map(|r| Row {
            cue: r["cue"].clone(),
            village: r["village"].clone(),
            slot: r["slot"].clone(),
            scheduled: time(&r["scheduled"]).unwrap(),
            started: time(&r["started"]),
            ended: time(&r["ended"]),
            late_ms: r["late_ms"].parse().ok(),
            outcome: r["outcome"].clone(),
            detail: r["detail"].clone(),
        })
        .collect()
}

/// Waits (up to `secs`) until `pred` holds for the log; returns the rows then.
fn wait_for(root: &Path, secs: u64, what: &str, pred: impl Fn(&[Row]) -> bool) -> Vec<Row> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let r = rows(root);
        if pred(&r) {
            return r;
        }
        assert!(Instant::now() < deadline, "waited {secs} s for {what}; the log:\n{r:#?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn sleep_until(t: DateTime<Utc>) {
    if let Ok(d) = (t - Utc::now()).to_std() {
        std::thread::sleep(d);
    }
}

#[test]
fn slots_play_on_time_with_health_and_metrics_and_a_clean_stop() {
    let dir = station(
        "slots:\n  - name: every-10s\n    cron: \"*/10 * * * * *\"\n    playlist: morning-notices\n    \
         targets: {villages: [dongmen, nanjie]}\n",
    );
    // morning-notices lives in morning.yaml, removed above: define it here.
    let path = dir.path().join("schedules/test.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        format!("playlists:\n  morning-notices:\n    mode: rotate\n    items: [fire-safety, flu-vaccine]\n{text}"),
    )
    .unwrap();
    let d = Daemon::start(dir.path(), 1);
    let r = wait_for(dir.path(), 40, "two played cues in each village", |r| {
        ["dongmen", "nanjie"].iter().all(|v| r.iter().filter(|x| x.village == *v && x.outcome == "played").count() >= 2)
    });
    for row in r.iter().filter(|x| x.outcome == "played") {
        let start = row.started.unwrap();
        let off = (start - row.scheduled).num_milliseconds().abs();
        assert!(off <= 2, "cue {} started {off} ms off its instant: {row:?}", row.cue);
        assert_eq!(row.scheduled.timestamp_subsec_millis(), 0);
        assert_eq!(row.scheduled.timestamp() % 10, 0, "fires on the cron: {row:?}");
        assert!(row.ended.unwrap() > start + chrono::Duration::seconds(4), "a notice is over 4 s: {row:?}");
    }
    let (code, body) = d.get("/healthz");
    assert_eq!(code, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["profile"], "virtual");
    assert!(health["next_cue"].is_string(), "{body}");
    let (code, metrics) = d.get("/metrics");
    assert_eq!(code, 200);
    let played: u64 = metrics
        .lines()
        .find(|l| l.starts_with("xiangyin_cues_total{village=\"dongmen\",outcome=\"played\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no played count for dongmen in:\n{metrics}"));
    assert!(played >= 2, "{metrics}");
    assert!(metrics.contains("xiangyin_output_up{output=\"rec\"} 1"), "{metrics}");
    let next: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("xiangyin_seconds_to_next_cue "))
        .unwrap_or_else(|| panic!("{metrics}"))
        .parse()
        .unwrap();
    assert!((-1.0..=10.5).contains(&next), "next cue within a 10 s cron: {next}");
    assert!(d.log().contains("recorded to WAV"), "says it has no sound card:\n{}", d.log());

    let log = d.log();
    let status = d.term();
    assert!(status.success(), "exit {status:?}\n{log}");
    // The recording: 8 channels; dongmen (channel 1) and nanjie (channel 3) carry sound, the others silence.
    let rec: Vec<PathBuf> = std::fs::read_dir(dir.path().join("var/recordings"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    assert_eq!(rec.len(), 1, "{rec:?}");
    let mut wav = hound::WavReader::open(&rec[0]).expect("a complete WAV after SIGTERM");
    assert_eq!(wav.spec().channels, 8);
    let mut peak = [0i32; 8];
    for (i, s) in wav.samples::<i16>().enumerate() {
        let s = i32::from(s.unwrap()).abs();
        peak[i % 8] = peak[i % 8].max(s);
    }
    assert!(peak[0] > 3000 && peak[2] > 3000, "dongmen and nanjie heard their notices: {peak:?}");
    for (ch, p) in peak.iter().enumerate().filter(|(ch, _)| ![0, 2].contains(ch)) {
        assert_eq!(*p, 0, "channel {} must stay silent", ch + 1);
    }
    // After a clean stop nothing is left on air.
    assert!(rows(dir.path()).iter().all(|r| r.started.is_none() || r.ended.is_some() || r.outcome == "stopped"));
}

#[test]
fn a_restart_plays_late_within_grace_logs_missed_after_it_and_never_plays_twice() {
    let dir = station(
        "playlists:\n  notices:\n    mode: rotate\n    items: [fire-safety, flu-vaccine]\nslots:\n  \
         - name: patient\n    cron: \"*/20 * * * * *\"\n    playlist: notices\n    targets: {villages: [dongmen]}\n  \
         - name: strict\n    cron: \"*/20 * * * * *\"\n    playlist: notices\n    targets: {villages: [ximen]}\n    \
         grace_minutes: 0.02\n",
    );
    let root = dir.path();

    // 1. kill -9 while dongmen's notice is on air.
    let d = Daemon::start(root, 1);
    // Just started (a notice lasts over 5 s), so it is still on air when the kill lands even on
    // a loaded machine.
    let fresh = |x: &Row| {
        x.village == "dongmen"
            && x.ended.is_none()
            && x.started.is_some_and(|t| Utc::now() - t < chrono::Duration::milliseconds(2500))
    };
    let r = wait_for(root, 40, "a notice on air", |r| r.iter().any(fresh));
    d.kill9();
    let on_air = r.iter().find(|x| x.village == "dongmen" && x.ended.is_none() && x.started.is_some()).unwrap().clone();

    // 2. Restart at once: the interrupted notice is `stopped`, not replayed.
    let d = Daemon::start(root, 2);
    let r = wait_for(root, 10, "the interrupted cue settled", |r| {
        r.iter().any(|x| x.cue == on_air.cue && x.outcome == "stopped")
    });
    let row = r.iter().find(|x| x.cue == on_air.cue).unwrap();
    assert_eq!(row.started, on_air.started, "its start stands");
    assert!(row.detail.contains("on air"), "{row:?}");

    // 3. Wait until the next firing is planned, kill -9 before it, restart 3 s after it.
    let r = wait_for(root, 30, "the next firing planned", |r| {
        r.iter().any(|x| {
            x.village == "ximen" && x.started.is_none() && x.scheduled > Utc::now() + chrono::Duration::seconds(2)
        })
    });
    let due = r
        .iter()
        .filter(|x| {
            x.village == "ximen" && x.started.is_none() && x.scheduled > Utc::now() + chrono::Duration::seconds(2)
        })
        .map(|x| x.scheduled)
        .min()
        .unwrap();
    d.kill9();
    sleep_until(due + chrono::Duration::seconds(3));
    let d = Daemon::start(root, 3);
    let r = wait_for(root, 20, "the late and the missed cue", |r| {
        let at = |v: &str| r.iter().find(|x| x.village == v && x.scheduled == due).map(|x| x.outcome.clone());
        at("dongmen").as_deref() == Some("late") && at("ximen").as_deref() == Some("missed")
    });
    let late = r.iter().find(|x| x.village == "dongmen" && x.scheduled == due).unwrap();
    let late_ms = late.late_ms.unwrap();
    assert!((3000..8000).contains(&late_ms), "late by the downtime: {late:?}");
    let missed = r.iter().find(|x| x.village == "ximen" && x.scheduled == due).unwrap();
    assert!(missed.started.is_none(), "{missed:?}");
    assert!(d.log().contains("recovering from the previous run"), "{}", d.log());

    // 4. Nothing played twice: every start in the log is one cue's, and no two started cues of a
    //    village overlap (a replay would overlap or repeat an instant).
    let status = d.term();
    assert!(status.success());
    let r = rows(root);
    let mut by_village: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for x in r.iter().filter(|x| x.started.is_some()) {
        by_village.entry(&x.village).or_default().push(x);
    }
    for (v, mut xs) in by_village {
        xs.sort_by_key(|x| x.started);
        for w in xs.windows(2) {
            let end = w[0].ended.unwrap_or(w[0].started.unwrap());
            assert!(w[1].started.unwrap() >= end, "{v}: two cues on air at once: {:?} {:?}", w[0], w[1]);
            assert_ne!(w[0].scheduled, w[1].scheduled, "{v}: one firing played twice");
        }
    }
    assert!(r.iter().all(|x| x.slot == "patient" || x.slot == "strict"));
}

#[test]
fn a_broken_edit_keeps_the_last_good_plan_and_a_good_one_takes_effect() {
    let good = "playlists:\n  notices:\n    mode: rotate\n    items: [fire-safety, flu-vaccine]\nslots:\n  \
                - name: often\n    cron: \"*/10 * * * * *\"\n    playlist: notices\n    targets: {villages: [dongmen]}\n";
    let dir = station(good);
    let root = dir.path();
    let d = Daemon::start(root, 1);
    wait_for(root, 20, "a first played cue", |r| r.iter().any(|x| x.outcome == "played"));

    // A typo: an unknown playlist (line 8, column 15 of test.yaml).
    let broken = good.replace("playlist: notices", "playlist: notice");
    std::fs::write(root.join("schedules/test.yaml"), &broken).unwrap();
    let edited = Utc::now();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !d.log().contains("last good plan keeps running") {
        assert!(Instant::now() < deadline, "no refused reload in:\n{}", d.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = d.log();
    let problem = log.lines().find(|l| l.contains("test.yaml:")).unwrap_or_else(|| panic!("{log}"));
    assert!(problem.contains("schedules/test.yaml:8:15"), "file:line:col of the typo: {problem}");
    assert!(problem.contains("notice"), "{problem}");
    // The old plan plays on.
    wait_for(root, 20, "a cue after the broken edit", |r| {
        r.iter().any(|x| x.outcome == "played" && x.started.unwrap() > edited + chrono::Duration::seconds(1))
    });

    // A good edit, announced with SIGHUP as an operator would: ximen joins.
    let joined = good.replace("villages: [dongmen]", "villages: [dongmen, ximen]");
    std::fs::write(root.join("schedules/test.yaml"), &joined).unwrap();
    d.signal("-HUP");
    wait_for(root, 30, "ximen playing after the fix", |r| {
        r.iter().any(|x| x.village == "ximen" && x.outcome == "played")
    });
    assert!(d.log().contains("reloaded"), "{}", d.log());
    let (_, metrics) = d.get("/metrics");
    assert!(metrics.contains("xiangyin_reloads_total{result=\"refused\"} 1"), "{metrics}");
    assert!(d.term().success());
}

#[test]
fn a_missing_sound_card_falls_back_to_the_virtual_profile_loudly() {
    let dir = station(
        "playlists:\n  notices:\n    mode: rotate\n    items: [fire-safety]\nslots:\n  - name: often\n    \
         cron: \"*/5 * * * * *\"\n    playlist: notices\n    targets: {villages: [dongmen]}\n",
    );
    let root = dir.path();
    // The station's profile names a card this machine does not have.
    let profile = std::fs::read_to_string(root.join("hardware-profiles/default.yaml")).unwrap();
    std::fs::write(
        root.join("hardware-profiles/county.yaml"),
        profile.replace("alsa:default", "alsa:hw:CARD=XiangyinNoSuchCard"),
    )
    .unwrap();
    let d = Daemon::start_with(root, 1, "county");
    let log = d.log();
    assert!(
        log.contains("NO SOUND CARD: profile `county` cannot play; falling back to the `virtual` profile"),
        "{log}"
    );
    let (code, body) = d.get("/healthz");
    assert_eq!(code, 503, "a station without its card is not healthy: {body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["profile"], "virtual");
    assert!(health["fallback"].as_str().unwrap().contains("county"), "{body}");
    // It still plays (to the recorder) and keeps its log, which says the village heard nothing.
    let r = wait_for(root, 20, "a cue recorded on the virtual profile", |r| {
        r.iter().any(|x| x.outcome == "failed-output" && x.started.is_some())
    });
    assert!(!r.iter().any(|x| x.outcome == "played"), "a cue only recorded was not heard: {r:#?}");
    let row = r.iter().find(|x| x.outcome == "failed-output").unwrap();
    assert!(row.detail.contains("recorded only, no loudspeaker: no sound card"), "{row:?}");
    assert!(d.term().success());
    let recorded: u64 =
        std::fs::read_dir(root.join("var/recordings")).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    assert!(recorded > 48_000, "the recorder kept what it played: {recorded} bytes");
}

#[test]
fn open_event_streams_and_listeners_do_not_hold_up_a_stop() {
    let dir = station(
        "playlists:\n  notices:\n    mode: rotate\n    items: [fire-safety]\nslots:\n  - name: often\n    \
         cron: \"*/10 * * * * *\"\n    playlist: notices\n    targets: {villages: [dongmen]}\n",
    );
    let root = dir.path();
    // A script's user and token, made from the command line before the station starts.
    let mut add = Command::new(env!("CARGO_BIN_EXE_xiangyin"))
        .args(["--root", root.to_str().unwrap(), "user", "add", "ops", "--role", "operator"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(add.stdin.as_mut().unwrap(), b"a long enough password\n").unwrap();
    assert!(add.wait().unwrap().success());
    let o = common::xiangyin(root, &["user", "token", "ops", "--label", "script"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let token = common::stdout(&o).trim().to_owned();
    let d = Daemon::start(root, 1);
    let client = reqwest::blocking::Client::builder().timeout(None).build().unwrap();
    let open = |path: &str| {
        let r = client.get(format!("http://{}{path}", d.addr)).bearer_auth(&token).send().unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r
    };
    let events = open("/api/events");
    let listen = open("/api/listen/dongmen");
    let started = Instant::now();
    let status = d.term();
    assert!(status.success());
    assert!(started.elapsed() < Duration::from_secs(10), "stopping took {:?}", started.elapsed());
    drop((events, listen));
}
