//! The village line, end to end with the real binary: amplifier relays switched on time over
//! pseudo-terminals that speak the boards' protocols, and proof of play through ALSA — the
//! station plays into a FIFO, the test plays "the line" (a delay, an amplifier's gain, noise,
//! or a fault) into the FIFO a capture PCM reads, and the as-run log says what was heard.

mod common;
#[path = "common/daemon.rs"]
mod daemon;
#[path = "common/pty.rs"]
mod pty;

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use daemon::{Daemon, Start};
use pty::{BoardResponder, ModbusResponder};

const RATE: u32 = 48_000;
const CHANNELS: usize = 8;
const ZONES: &str = "zones:\n  dongmen: [card:1]\n  ximen: [card:2]\n  nanjie: [card:3]\n  beishan: [card:4]\n  \
                     shiqiao: [card:5]\n  liutang: [card:6]\n  huangni: [card:7]\n  xiabei: [card:8]\n";

/// A station without quiet hours and with two imported messages: `beep` (a 2 s tone) and `talk`
/// (12 s of speech-like bursts), and `schedule` as schedules/test.yaml.
fn station(schedule: &str) -> common::Station {
    let st = common::Station::new(false);
    for f in ["morning.yaml", "campaigns.yaml"] {
        std::fs::remove_file(st.root().join("schedules").join(f)).unwrap();
    }
    let villages = st.root().join("schedules/villages.yaml");
    let text = std::fs::read_to_string(&villages).unwrap();
    let text: String =
        text.lines().filter(|l| !l.trim_start().starts_with("quiet_hours:")).map(|l| format!("{l}\n")).collect();
    std::fs::write(&villages, text).unwrap();
    st.edit("schedules/station.yaml", "chime: chime", "chime: beep");
    let beep = common::sine(700.0, 0.4, RATE, 1, 2.0);
    let talk = speech_like(12.0);
    for (name, samples) in [("beep", beep), ("talk", talk)] {
        let wav = st.root().join(format!("{name}.wav"));
        common::write_wav(&wav, &samples, RATE, 1, 16, false);
        let out = st.run(&[
            "import",
            wav.to_str().unwrap(),
            "--language",
            "cmn",
            "--kind",
            "notice",
            "--message",
            name,
            "--approve",
        ]);
        assert!(out.status.success(), "import {name}: {}{}", common::stdout(&out), common::stderr(&out));
    }
    std::fs::write(st.root().join("schedules/test.yaml"), schedule).unwrap();
    st
}

/// Syllable-like noise bursts (seeded): what speech looks like to an envelope.
fn speech_like(secs: f64) -> Vec<f64> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let n = (secs * f64::from(RATE)) as usize;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let on = (0.08 + 0.25 * rnd()) * f64::from(RATE);
        let off = (0.04 + 0.2 * rnd()) * f64::from(RATE);
        for i in 0..on as usize {
            let env = (std::f64::consts::PI * i as f64 / on).sin();
            out.push(0.5 * env * (2.0 * rnd() - 1.0));
        }
        out.extend(std::iter::repeat_n(0.0, off as usize));
    }
    out.truncate(n);
    out
}

fn problems(h: &serde_json::Value) -> Vec<(String, String, String)> {
    h["problems"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    let s = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
                    (s("reason"), s("subject"), s("message"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The wall-clock instant of a monotonic one.
fn utc_of(t: Instant) -> DateTime<Utc> {
    let (ni, nu) = (Instant::now(), Utc::now());
    nu - chrono::Duration::from_std(ni.saturating_duration_since(t)).unwrap()
}

#[test]
fn amplifiers_switch_on_lead_in_before_each_cue_and_off_hang_after_and_a_dead_relay_degrades_only_its_zone() {
    let board = BoardResponder::spawn(0xAB); // a 4-relay board
    let plc = ModbusResponder::spawn(1);
    let st = station(
        "playlists:\n  beeps:\n    items: [beep]\nslots:\n  - name: every-20s\n    cron: \"5/20 * * * * *\"\n    \
         playlist: beeps\n    targets: {villages: [dongmen, ximen]}\n",
    );
    std::fs::write(
        st.root().join("hardware-profiles/relays.yaml"),
        format!(
            "outputs:\n  - {{name: card, kind: wav, rate: 48000, format: i16, channels: 8}}\n{ZONES}\
             relays:\n  - {{name: amps, kind: board, port: \"{}\", channels: 4, timeout_ms: 300}}\n  \
             - {{name: plc, kind: modbus, port: \"{}\", unit: 1, timeout_ms: 300}}\n\
             power:\n  dongmen: {{relay: \"amps:1\", lead_in_s: 2, hang_s: 3}}\n  \
             ximen: {{relay: \"plc:2\", lead_in_s: 2, hang_s: 3}}\n",
            board.path().display(),
            plc.path().display()
        ),
    )
    .unwrap();
    let check = st.run(&["check", "--profile", "relays"]);
    assert!(check.status.success(), "check: {}{}", common::stdout(&check), common::stderr(&check));
    let d = Daemon::start(Start::new(st.root(), "relays"));
    // A cue due sooner than its lead-in after the start cannot have had its amplifier on in time.
    let warm = Utc::now() + chrono::Duration::seconds(4);

    // Two cues on each village, planned after the start.
    let deadline = Instant::now() + Duration::from_secs(70);
    let ended = |v: &str| {
        daemon::rows(st.root(), None)
            .into_iter()
            .filter(|r| r.village == v && r.ended.is_some() && r.slot == "every-20s" && r.scheduled >= warm)
            .collect::<Vec<_>>()
    };
    while ended("dongmen").len() < 2 || ended("ximen").len() < 2 {
        assert!(Instant::now() < deadline, "two cues did not play within 70 s:\n{}", d.log());
        thread::sleep(Duration::from_millis(500));
    }
    thread::sleep(Duration::from_secs(4)); // past the hang time of the second cue
    let near = |what: &str, got: Option<DateTime<Utc>>, want: DateTime<Utc>| {
        let got = got.unwrap_or_else(|| panic!("{what}: never switched (wanted {want})\n{}", d.log()));
        let off = (got - want).num_milliseconds();
        println!("{what}: {off:+} ms from its instant");
        assert!(off.abs() <= 300, "{what}: switched at {got}, {off:+} ms from {want}");
    };
    let bytes: Vec<(DateTime<Utc>, u8)> = board.log().into_iter().map(|(t, b)| (utc_of(t), b)).collect();
    for r in ended("dongmen").iter().take(2) {
        let (s, e) = (r.started.unwrap(), r.ended.unwrap());
        let on = bytes.iter().filter(|(t, b)| b & 1 == 1 && *t <= s).map(|(t, _)| *t).max();
        near("board relay 1 on", on, s - chrono::Duration::seconds(2));
        let off = bytes.iter().filter(|(t, b)| b & 1 == 0 && *t > e).map(|(t, _)| *t).min();
        near("board relay 1 off", off, e + chrono::Duration::seconds(3));
    }
    let coils: Vec<(DateTime<Utc>, u16, bool)> = plc.log().into_iter().map(|(t, a, on)| (utc_of(t), a, on)).collect();
    for r in ended("ximen").iter().take(2) {
        let (s, e) = (r.started.unwrap(), r.ended.unwrap());
        let on = coils.iter().filter(|(t, a, on)| *a == 1 && *on && *t <= s).map(|(t, ..)| *t).max();
        near("Modbus coil 2 on", on, s - chrono::Duration::seconds(2));
        let off = coils.iter().filter(|(t, a, on)| *a == 1 && !*on && *t > e).map(|(t, ..)| *t).min();
        near("Modbus coil 2 off", off, e + chrono::Duration::seconds(3));
    }

    // An emergency while the amplifier is off: switched on at once, the cue waits its lead-in.
    let (op, csrf) = d.first_admin("li", "a long enough password");
    let asked = Utc::now();
    let r = op
        .post(d.url("/api/broadcasts"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"targets": {"villages": ["dongmen"]}, "message": "beep", "priority": "emergency"}))
        .send()
        .unwrap();
    let b: serde_json::Value = r.json().unwrap();
    let at = DateTime::parse_from_rfc3339(b["cues"][0]["at"].as_str().expect("a cue")).unwrap().with_timezone(&Utc);
    let waited = (at - asked).num_milliseconds();
    assert!((1_900..=2_400).contains(&waited), "the emergency starts after the 2 s lead-in: {waited} ms, {b}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let on = loop {
        let on = board.log().into_iter().map(|(t, b)| (utc_of(t), b)).find(|(t, b)| b & 1 == 1 && *t >= asked);
        if let Some((t, _)) = on {
            break t;
        }
        assert!(Instant::now() < deadline, "the amplifier was not switched on for the emergency");
        thread::sleep(Duration::from_millis(100));
    };
    println!("emergency: amplifier on {} ms after the request, cue at +{waited} ms", (on - asked).num_milliseconds());
    assert!((on - asked).num_milliseconds() < 300, "switched on at once: {on} for a request at {asked}");
    let deadline = Instant::now() + Duration::from_secs(15);
    let heard = loop {
        let rows = daemon::rows(st.root(), None);
        if let Some(s) =
            rows.iter().find(|r| r.village == "dongmen" && r.priority == "emergency").and_then(|r| r.started)
        {
            break s;
        }
        assert!(Instant::now() < deadline, "the emergency did not start:\n{}", d.log());
        thread::sleep(Duration::from_millis(200));
    };
    assert!((heard - on).num_milliseconds() >= 1_950, "the amplifier had its lead-in: on {on}, heard {heard}");

    // The Modbus relay stops answering: its zone is degraded, the other zone and playout go on.
    plc.set_mode(pty::Mode::Silent);
    let h = d.wait_health(Duration::from_secs(30), "the silent relay in /healthz", |h| {
        problems(h).iter().any(|(r, s, _)| r == "relay" && s == "plc")
    });
    let (_, _, msg) = problems(&h).into_iter().find(|(r, ..)| r == "relay").unwrap();
    assert!(
        msg.contains("does not answer") && msg.contains("ximen"),
        "the sentence names the relay and its zone: {msg}"
    );
    assert!(!problems(&h).iter().any(|(_, s, _)| s == "amps"), "the board is fine: {h}");
    assert!(d.metric("xiangyin_degraded{reason=\"relay\"}").unwrap_or(0.0) >= 1.0);
    assert_eq!(d.metric("xiangyin_amplifier_relay_up{zone=\"ximen\"}"), Some(0.0));
    assert_eq!(d.metric("xiangyin_amplifier_relay_up{zone=\"dongmen\"}"), Some(1.0));
    let before = ended("ximen").len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while ended("ximen").len() <= before {
        assert!(Instant::now() < deadline, "ximen's cue must play although its relay is silent:\n{}", d.log());
        thread::sleep(Duration::from_millis(500));
    }
    let last = ended("ximen").last().cloned().unwrap();
    assert_eq!(last.outcome, "played", "the cue played on time: {last:?}");

    // It answers again: retried, and health clears.
    plc.set_mode(pty::Mode::Answer);
    d.wait_health(Duration::from_secs(40), "the relay back to health", |h| {
        !problems(h).iter().any(|(r, ..)| r == "relay")
    });
    assert_eq!(d.term().code(), Some(0));
}

// ---------------------------------------------------------------------------------------------
// Proof of play: the test is the line between the card and the tap.

/// What the test's "line" does to each tap channel.
#[derive(Clone)]
struct Wiring {
    /// Tap channel c hears output channel `source[c]` (None: silence).
    source: [Option<usize>; CHANNELS],
    gain: f32,
    noise: f32,
    clip: bool,
}

impl Wiring {
    fn straight(gain: f32) -> Self {
        Wiring { source: std::array::from_fn(Some), gain, noise: 0.003, clip: false }
    }
}

/// Reads the station's card in real time and writes the taps, `DELAY` later.
struct Line {
    wiring: Arc<Mutex<Wiring>>,
    stop: Arc<AtomicBool>,
    /// The tap's cable is pulled: nothing more is written into the capture FIFO.
    cut: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

const DELAY_FRAMES: usize = 7200; // 150 ms of cable and amplifier

impl Line {
    fn start(card: PathBuf, taps: PathBuf) -> Line {
        let wiring = Arc::new(Mutex::new(Wiring::straight(0.1)));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(200);
        let (w, s) = (wiring.clone(), stop.clone());
        let reader = thread::spawn(move || read_card(&card, &w, &s, &tx));
        let (s, cut) = (stop.clone(), Arc::new(AtomicBool::new(false)));
        let c = cut.clone();
        let writer = thread::spawn(move || write_taps(&taps, &rx, &s, &c));
        Line { wiring, stop, cut, threads: vec![reader, writer] }
    }

    /// Pulls (true) or plugs back (false) the capture's cable.
    fn cut(&self, cut: bool) {
        self.cut.store(cut, Ordering::Release);
    }

    fn set(&self, w: Wiring) {
        *self.wiring.lock().unwrap() = w;
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        // Not joined: a thread may wait in open() for a station that failed to start, and a
        // failing test must report, not hang.
        self.stop.store(true, Ordering::Release);
        self.threads.clear();
    }
}

fn read_card(card: &Path, wiring: &Mutex<Wiring>, stop: &AtomicBool, tx: &SyncSender<Vec<u8>>) {
    let mut f = File::open(card).expect("open the card FIFO");
    let frame = 2 * CHANNELS;
    let block = 480 * frame;
    let started = Instant::now();
    let mut total = 0u64;
    let mut delay: VecDeque<[f32; CHANNELS]> = std::iter::repeat_n([0.0; CHANNELS], DELAY_FRAMES).collect();
    let mut buf = vec![0u8; block];
    let mut seed: u32 = 1;
    while !stop.load(Ordering::Acquire) {
        let allowed = (started.elapsed().as_secs_f64() * f64::from(RATE) * frame as f64) as u64;
        if allowed < total + block as u64 {
            thread::sleep(Duration::from_millis(2));
            continue;
        }
        if f.read_exact(&mut buf).is_err() {
            return;
        }
        total += block as u64;
        let w = wiring.lock().unwrap().clone();
        let mut out = Vec::with_capacity(block);
        for fr in buf.chunks_exact(frame) {
            let mut x = [0f32; CHANNELS];
            for (c, s) in fr.chunks_exact(2).enumerate() {
                x[c] = f32::from(i16::from_le_bytes([s[0], s[1]])) / 32768.0;
            }
            delay.push_back(x);
            let d = delay.pop_front().unwrap();
            for c in 0..CHANNELS {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let n = (seed as f32 / u32::MAX as f32 * 2.0 - 1.0) * w.noise;
                let mut y = w.source[c].map_or(0.0, |o| d[o]) * w.gain + n;
                if w.clip {
                    y = y.clamp(-0.5, 0.5) * 2.0;
                }
                out.extend_from_slice(&((y.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes());
            }
        }
        // The tap takes what it reads; if it is not reading, the line's sound is lost, never the card's time.
        let _ = tx.try_send(out);
    }
}

fn write_taps(taps: &Path, rx: &Receiver<Vec<u8>>, stop: &AtomicBool, cut: &AtomicBool) {
    while !stop.load(Ordering::Acquire) {
        // Waits for the station's capture to open its end (it may close and reopen it), without
        // blocking: a station that is gone must not keep the test from ending.
        let f = OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(taps);
        let Ok(mut f) = f else {
            thread::sleep(Duration::from_millis(20));
            continue;
        };
        // SAFETY: clears O_NONBLOCK on a descriptor this function owns.
        unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETFL, 0) };
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                // A pulled cable: the capture device stays open and delivers nothing, as a stuck
                // USB card does.
                Ok(_) if cut.load(Ordering::Acquire) => {}
                Ok(b) => {
                    if f.write_all(&b).is_err() {
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if stop.load(Ordering::Acquire) {
                        return;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    assert!(std::process::Command::new("mkfifo").arg(path).status().unwrap().success());
}

/// The profile `tapped`: the FIFO card, and taps on dongmen (channel 1) and ximen (2), 20 dB down.
fn tapped_profile(st: &common::Station) {
    std::fs::write(
        st.root().join("hardware-profiles/tapped.yaml"),
        format!(
            "outputs:\n  - {{name: card, kind: device, device: \"alsa:xy_line8\", rate: 48000, format: i16, channels: 8, \
             period_frames: 1024}}\n{ZONES}\
             inputs:\n  - {{name: taps, device: \"alsa:xy_tap8\", rate: 48000, format: i16, channels: 8}}\n\
             monitor:\n  dongmen: {{input: \"taps:1\", expect_db: -20}}\n  ximen: {{input: \"taps:2\", expect_db: -20}}\n"
        ),
    )
    .unwrap();
    let check = st.run(&["check", "--profile", "tapped"]);
    assert!(check.status.success(), "check: {}{}", common::stdout(&check), common::stderr(&check));
}

/// ALSA pointed at the test PCMs, their files in `dir`.
fn alsa_env(dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("XY_ALSA_DIR", dir.display().to_string()),
        ("ALSA_CONFIG_PATH", format!("/usr/share/alsa/alsa.conf:{}/tests/alsa/asoundrc", env!("CARGO_MANIFEST_DIR"))),
    ]
}

#[test]
fn each_line_is_heard_back_and_a_silent_clipped_or_crossed_line_is_named() {
    let st = station("slots: []\n");
    tapped_profile(&st);
    let alsa = tempfile::tempdir().unwrap();
    let (card, taps) = (alsa.path().join("xy_line8.raw"), alsa.path().join("xy_tap8.in"));
    mkfifo(&card);
    mkfifo(&taps);
    let line = Line::start(card, taps);
    let mut start = Start::new(st.root(), "tapped");
    start.env = alsa_env(alsa.path());
    let d = Daemon::start(start);
    let (op, csrf) = d.first_admin("li", "a long enough password");
    let test = |village: &str| -> serde_json::Value {
        let r = op
            .post(d.url(&format!("/api/lines/{village}/test?wait=true")))
            .header("x-csrf-token", &csrf)
            .timeout(Duration::from_secs(40))
            .send()
            .unwrap();
        let code = r.status().as_u16();
        let v: serde_json::Value = r.json().unwrap();
        assert_eq!(code, 201, "the line test was played: {v}\n{}", d.log());
        assert!(v["heard"].is_object(), "the line test came back with a verdict: {v}\n{}", d.log());
        println!("line test {village}: {}", v["heard"]);
        v["heard"].clone()
    };
    let line_problem = |zone: &str| {
        let (_, h) = d.health();
        problems(&h).into_iter().find(|(r, s, _)| r == "line" && s == zone).map(|p| p.2)
    };
    // Let the capture settle.
    thread::sleep(Duration::from_secs(2));

    // A good line: 20 dB down, 150 ms of delay, noise.
    let heard = test("dongmen");
    assert_eq!(heard["heard"], "yes", "{heard}\n{}", d.log());
    let delay = heard["delay_ms"].as_i64().unwrap();
    assert!((150..=900).contains(&delay), "the delay includes the line's 150 ms: {heard}");
    let level = heard["level_dbfs"].as_f64().unwrap();
    assert!((-45.0..=-25.0).contains(&level), "the tone came back about 20 dB down: {heard}");
    assert_eq!(line_problem("dongmen"), None);

    // A dead line: nothing comes back.
    let mut w = Wiring::straight(0.1);
    w.source[0] = None;
    line.set(w);
    let heard = test("dongmen");
    assert_eq!(heard["heard"], "no", "{heard}");
    let msg = line_problem("dongmen").expect("a dead line raises its alarm");
    assert!(msg.contains("nothing came back"), "{msg}");
    // How soon: a notice on the dead line raises the alarm a few seconds into the notice, not
    // at its end (the alarm from the test above is cleared by a good test first).
    line.set(Wiring::straight(0.1));
    assert_eq!(test("dongmen")["heard"], "yes");
    let mut w = Wiring::straight(0.1);
    w.source[0] = None;
    line.set(w);
    let r = op
        .post(d.url("/api/broadcasts"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"targets": {"villages": ["dongmen"]}, "message": "talk", "priority": "manual"}))
        .send()
        .unwrap();
    let b: serde_json::Value = r.json().unwrap();
    let on_air = DateTime::parse_from_rfc3339(b["cues"][0]["at"].as_str().unwrap()).unwrap().with_timezone(&Utc);
    let deadline = Instant::now() + Duration::from_secs(15);
    while line_problem("dongmen").is_none() {
        assert!(Instant::now() < deadline, "a dead line under a 12 s notice raised no alarm within 15 s");
        thread::sleep(Duration::from_millis(100));
    }
    let after = (Utc::now() - on_air).num_milliseconds();
    println!("a dead line is reported {after} ms after the notice went on air");
    assert!(after < 12_000, "reported while the notice still plays, not after it: {after} ms");
    thread::sleep(Duration::from_secs(9)); // the notice ends

    // An overdriven amplifier.
    let mut w = Wiring::straight(3.0);
    w.clip = true;
    line.set(w);
    let heard = test("dongmen");
    assert_eq!(heard["heard"], "distorted", "{heard}");

    // Crossed wires: dongmen's tap hears ximen's line while ximen plays its own notice.
    let mut w = Wiring::straight(0.1);
    w.source[0] = Some(1);
    line.set(w);
    let r = op
        .post(d.url("/api/broadcasts"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"targets": {"villages": ["ximen"]}, "message": "talk", "priority": "manual"}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().unwrap_or_default());
    thread::sleep(Duration::from_millis(500));
    let heard = test("dongmen");
    assert_eq!(heard["heard"], "no", "{heard}");
    let detail = heard["detail"]["en"].as_str().unwrap_or_default();
    assert!(detail.contains("ximen"), "the verdict names the zone heard instead: {heard}");
    let msg = line_problem("dongmen").expect("crossed wires raise the alarm");
    assert!(msg.contains("ximen") && msg.contains("crossed"), "{msg}");

    // The capture's cable is pulled: health says so; playout goes on; plugged back, it clears.
    line.set(Wiring::straight(0.1));
    line.cut(true);
    let h = d.wait_health(Duration::from_secs(20), "the stopped capture in /healthz", |h| {
        problems(h).iter().any(|(r, s, _)| r == "capture" && s == "taps")
    });
    let (_, _, msg) = problems(&h).into_iter().find(|(r, ..)| r == "capture").unwrap();
    assert!(msg.contains("not capturing") && msg.contains("alsa:xy_tap8"), "{msg}");
    assert!(!problems(&h).iter().any(|(r, ..)| r == "output"), "the card plays on: {h}");
    line.cut(false);
    d.wait_health(Duration::from_secs(30), "the capture back", |h| !problems(h).iter().any(|(r, ..)| r == "capture"));

    // Mended: the alarm clears with the next good test, and the log keeps every verdict.
    thread::sleep(Duration::from_secs(10)); // ximen's notice ends
    let heard = test("dongmen");
    assert_eq!(heard["heard"], "yes", "{heard}");
    assert_eq!(line_problem("dongmen"), None, "a good test clears the alarm");
    let lines: serde_json::Value = op.get(d.url("/api/lines")).send().unwrap().json().unwrap();
    let dm = lines.as_array().unwrap().iter().find(|l| l["village"] == "dongmen").unwrap();
    assert_eq!(dm["monitored"], true);
    assert_eq!(dm["heard"], "yes");
    assert!(dm["last_good_test"].is_string(), "{dm}");
    // The dashboard says it, in Chinese first.
    let page = op.get(d.url("/")).send().unwrap().text().unwrap();
    let card = page.split("data-village=\"dongmen\"").nth(1).unwrap_or_default();
    let line_row = card.split("class=\"line-state\"").nth(1).and_then(|r| r.split("</dd>").next()).unwrap_or_default();
    assert!(line_row.contains("回采：听到了"), "the dashboard card shows what came back: {line_row}");
    let n = d.metric("xiangyin_line_heard_total{village=\"dongmen\",heard=\"yes\"}").unwrap_or(0.0);
    assert!(n >= 2.0, "metrics count the verdicts: {n}");
    drop(line);
    let _ = d.term();
}

/// `xiangyin line test` and `xiangyin line power` with the station stopped.
#[test]
fn the_line_commands_test_a_line_and_switch_its_amplifier() {
    let st = station("slots: []\n");
    tapped_profile(&st);
    let board = BoardResponder::spawn(0xAB);
    let profile = std::fs::read_to_string(st.root().join("hardware-profiles/tapped.yaml")).unwrap();
    std::fs::write(
        st.root().join("hardware-profiles/tapped.yaml"),
        format!(
            "{profile}relays:\n  - {{name: amps, kind: board, port: \"{}\", channels: 4, timeout_ms: 300}}\n\
             power:\n  dongmen: {{relay: \"amps:1\", lead_in_s: 1, hang_s: 0}}\n",
            board.path().display()
        ),
    )
    .unwrap();
    let alsa = tempfile::tempdir().unwrap();
    let (card, taps) = (alsa.path().join("xy_line8.raw"), alsa.path().join("xy_tap8.in"));
    mkfifo(&card);
    mkfifo(&taps);
    let _line = Line::start(card, taps);
    let run = |args: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_xiangyin"));
        c.arg("--root").arg(st.root()).args(args).env("RUST_LOG", "warn");
        for (k, v) in alsa_env(alsa.path()) {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let o = run(&["line", "test", "dongmen", "--profile", "tapped"]);
    let text = common::stdout(&o);
    println!("{text}");
    assert!(o.status.success(), "{text}{}", common::stderr(&o));
    assert!(text.contains("heard: yes"), "{text}");
    let rows = daemon::rows(st.root(), None);
    let r = rows.iter().find(|r| r.slot == "line-test" && r.village == "dongmen").expect("the test is in the log");
    assert_eq!(r.outcome, "played");
    // The amplifier was on for the tone (the board got relay 1 before the tone started).
    let on = board.log().into_iter().find(|(_, b)| b & 1 == 1).map(|(t, _)| utc_of(t)).expect("relay 1 switched on");
    assert!(on <= r.started.unwrap(), "powered {on}, tone at {:?}", r.started);
    drop(board);

    let board = BoardResponder::spawn(0xAB);
    let profile = std::fs::read_to_string(st.root().join("hardware-profiles/tapped.yaml")).unwrap();
    let old_port = profile.split("port: \"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    std::fs::write(
        st.root().join("hardware-profiles/tapped.yaml"),
        profile.replace(&old_port, &board.path().display().to_string()),
    )
    .unwrap();
    let o = run(&["line", "power", "dongmen", "on", "--profile", "tapped"]);
    assert!(o.status.success(), "{}{}", common::stdout(&o), common::stderr(&o));
    assert!(common::stdout(&o).contains("amplifier ON"), "{}", common::stdout(&o));
    assert_eq!(board.wait_log(2, Duration::from_secs(2)).last().map(|(_, b)| *b), Some(0b1));
    let o = run(&["line", "power", "ximen", "on", "--profile", "tapped"]);
    assert!(!o.status.success());
    assert!(common::stdout(&o).contains("has no amplifier relay"), "{}", common::stdout(&o));
}
