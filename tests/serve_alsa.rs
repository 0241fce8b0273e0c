//! `xiangyin serve` heard on a real-time "sound card": every cue starts within 20 ms of its
//! instant, as the card plays it.
//!
//! The real binary runs a station whose only output is the ALSA `file` PCM `xy_serve8`
//! (tests/alsa/asoundrc: 8 channels, i16, 48 kHz, periods of [`PERIOD`] frames — an 85 ms period
//! and a 171 ms device buffer, as a station set up for few wake-ups would have) writing into a
//! FIFO that this test drains at the card's byte rate. A slot fires every 5 s (6-field cron) on
//! one village with a 1 s tone that starts at full level. The test finds the first sound of
//! each cue in the stream, turns its position into the instant the card played it, and compares
//! that with the instant the as-run log (`xiangyin log --csv`) says the cue was scheduled for.
//! Every cue is printed; the first (the stream has just started) is not judged, and the next
//! [`MEASURED`] consecutive cues must each be within [`BOUND_MS`]. Then SIGTERM: exit 0, and the
//! log says `played`. A second test does the same on a card whose crystal runs 0.2 % slow, the
//! drift of hours against the system clock compressed into seconds.
//!
//! # The card's clock
//!
//! A sound card's DAC takes frames at its crystal's rate from the moment its stream runs,
//! whatever the computer does, so it plays frame `f` at `t0 + f / rate`. The reader emulates
//! exactly that: it takes bytes only as the allowance `elapsed × byte rate` grows, so its frame
//! count *is* the card's clock, while a wall timestamp taken at each read is that clock plus the
//! reader's own wake-up jitter (1 ms sleeps, tens of ms on a loaded machine). Timestamps would add
//! the harness's scheduling noise to the daemon's error; the frame count measures only what the
//! daemon put in the stream, which is what a listener hears. A stall of the reader (or of the
//! daemon's audio thread, leaving the FIFO empty) does not change that content as long as it is
//! shorter than the buffers behind it (the sink's ring and the device buffer, over 200 ms); the
//! reader records its lag at every read, and a cue whose surrounding second saw a lag over
//! [`LAG_MAX`] is not taken as a measurement: it is printed, and the next cues are measured
//! instead (the bound itself is never loosened).
//!
//! Two things sit between what ALSA calls played and the reader, and neither is a sound card's:
//! - **The `file` plugin's write buffer.** alsa-lib's pcm_file.c writes a frame to the file only
//!   once a whole ALSA buffer more has been written after it (it keeps `buffer_size` frames in
//!   its `wbuf`), while its `null` slave reports a queue (delay) of zero. A real card's driver
//!   reports the frames queued ahead of the DAC as the delay, and that is what the daemon
//!   compensates; here the queue is hidden from ALSA and is exactly one buffer, 2 periods (cpal
//!   asks for 2 periods with a fixed period size, and `null` takes any size). The card's clock
//!   is therefore the reader's moved one buffer earlier: [`HOLDBACK_FRAMES`].
//! - **The pipe.** A pipe holds 64 KiB by default: 85 ms of this card that nothing reports. The
//!   reader shrinks it to one page (4 KiB, 5.3 ms, the kernel's minimum) before the daemon opens
//!   the device, the order of a real card's FIFO, and those milliseconds are left in: they count
//!   against the bound.

mod common;

#[path = "common/alsa.rs"]
mod alsa;

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// Channels of the card.
const CHANNELS: usize = 8;
/// Bytes per frame (i16).
const FRAME_BYTES: usize = 2 * CHANNELS;
/// The card's rate.
const RATE: u32 = 48_000;
/// Frames per device period (`period_frames` in the profile): cpal makes the ALSA buffer 2 of them.
const PERIOD: u64 = 4_096;
/// Frames the ALSA `file` plugin keeps back before writing them to the FIFO: one ALSA buffer
/// (see the module docs).
const HOLDBACK_FRAMES: u64 = 2 * PERIOD;
/// The village under test and its channel on the card (0-based: `card:3`).
const VILLAGE: &str = "nanjie";
const VILLAGE_CHANNEL: usize = 2;
/// Seconds between slot firings (`*/5 * * * * *`).
const EVERY_S: i64 = 5;
/// The requirement: a cue is heard within this many milliseconds of its instant.
const BOUND_MS: f64 = 20.0;
/// Consecutive cues after the first that must each be within [`BOUND_MS`].
const MEASURED: usize = 4;
/// Give up when this many cues were heard without [`MEASURED`] consecutive good windows.
const MAX_CUES: usize = 14;
/// The most the reader may fall behind the card's clock around a cue for the cue to count:
/// shorter stalls are absorbed by the buffers behind the FIFO (see the module docs).
const LAG_MAX: Duration = Duration::from_millis(100);
/// The window around a cue's first sound in which the reader's lag is checked.
const LAG_BEFORE: Duration = Duration::from_secs(1);
const LAG_AFTER: Duration = Duration::from_millis(100);
/// Digital silence at least this long separates two cues.
const GAP_FRAMES: u64 = RATE as u64 / 2;
/// The FIFO's capacity (one page).
const PIPE_BYTES: i32 = 4096;

/// One real-time test at a time (the same pattern as tests/playout_alsa.rs).
static CARD: Mutex<()> = Mutex::new(());

fn card_lock() -> MutexGuard<'static, ()> {
    CARD.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------------
// The station

/// A station folder: the demo schedules without quiet hours (tests run at any hour), a 1 s tone
/// at 1 kHz imported as the approved message `onset` (starting at its peak: a cosine), a slot
/// playing it on [`VILLAGE`] every [`EVERY_S`] seconds, and the profile `card` whose single
/// output is the ALSA device `alsa:xy_serve8`.
fn station() -> common::Station {
    let st = common::Station::new(false);
    for f in ["morning.yaml", "campaigns.yaml"] {
        std::fs::remove_file(st.root().join("schedules").join(f)).unwrap();
    }
    let villages = st.root().join("schedules/villages.yaml");
    let text = std::fs::read_to_string(&villages).unwrap();
    let text: String =
        text.lines().filter(|l| !l.trim_start().starts_with("quiet_hours:")).map(|l| format!("{l}\n")).collect();
    std::fs::write(&villages, text).unwrap();
    // The library is empty: the station chime is the test tone too (no slot here asks for it).
    st.edit("schedules/station.yaml", "chime: chime", "chime: onset");

    let wav = st.root().join("onset.wav");
    let frames = RATE as usize;
    let w = std::f64::consts::TAU * 1_000.0 / f64::from(RATE);
    let tone: Vec<f64> = (0..frames).map(|i| 0.5 * (w * i as f64).cos()).collect();
    common::write_wav(&wav, &tone, RATE, 1, 16, false);
    let out = st.run(&[
        "import",
        wav.to_str().unwrap(),
        "--language",
        "cmn",
        "--kind",
        "notice",
        "--message",
        "onset",
        "--approve",
        "--json",
    ]);
    assert!(out.status.success(), "import: {}{}", common::stdout(&out), common::stderr(&out));

    std::fs::write(
        st.root().join("schedules/test.yaml"),
        format!(
            "playlists:\n  onsets:\n    mode: in-order\n    items: [onset]\nslots:\n  - name: every-5s\n    \
             cron: \"*/{EVERY_S} * * * * *\"\n    playlist: onsets\n    targets: {{villages: [{VILLAGE}]}}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        st.root().join("hardware-profiles/card.yaml"),
        format!(
            "description: the test card (an ALSA file PCM into a FIFO the test drains in real time)\n\
         outputs:\n  - {{name: card, kind: device, device: \"alsa:xy_serve8\", rate: 48000, format: i16, channels: 8, \
         period_frames: {PERIOD}}}\n\
         zones:\n  dongmen: [card:1]\n  ximen: [card:2]\n  nanjie: [card:3]\n  beishan: [card:4]\n  \
         shiqiao: [card:5]\n  liutang: [card:6]\n  huangni: [card:7]\n  xiabei: [card:8]\n\
         max_level_dbfs: -1\n"
        ),
    )
    .unwrap();
    let check = st.run(&["check", "--profile", "card"]);
    assert!(check.status.success(), "check: {}{}", common::stdout(&check), common::stderr(&check));
    st
}

/// A running `xiangyin serve` (killed if the test fails before stopping it).
struct Daemon {
    child: Child,
    stderr: PathBuf,
}

impl Daemon {
    fn start(root: &Path) -> Daemon {
        let stderr = root.join("serve.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_xiangyin"))
            .args(["--root", root.to_str().unwrap(), "serve", "--profile", "card", "--listen", "127.0.0.1:0"])
            .env("ALSA_CONFIG_PATH", alsa::alsa_config_path())
            .env("XY_ALSA_DIR", alsa::setup())
            .env("RUST_LOG", "info,tokio_cron_scheduler=warn,xiangyin::output=debug")
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr).unwrap())
            .spawn()
            .expect("run xiangyin serve");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        // Keep reading, so that the daemon never writes into a closed pipe.
        thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let daemon = Daemon { child, stderr };
        assert!(line.starts_with("xiangyin: serving on http://"), "serve did not start: {line:?}\n{}", daemon.log());
        daemon
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGTERM, then waits (up to 20 s) for the exit.
    fn term(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success(), "kill -TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "serve did not stop within 20 s of SIGTERM:\n{}", self.log());
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One as-run row of the village, from `xiangyin log --csv`.
#[derive(Debug, Clone)]
struct Row {
    cue: String,
    scheduled: DateTime<Utc>,
    started: Option<DateTime<Utc>>,
    outcome: String,
}

fn rows(root: &Path) -> Vec<Row> {
    let o = common::xiangyin(root, &["log", "--csv", "--village", VILLAGE]);
    assert!(o.status.success(), "log: {}{}", common::stdout(&o), common::stderr(&o));
    let time = |s: &str| (!s.is_empty()).then(|| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc));
    common::csv_records(&common::stdout(&o))
        .into_iter()
        .map(|r| Row {
            cue: r["cue"].clone(),
            scheduled: time(&r["scheduled"]).unwrap(),
            started: time(&r["started"]),
            outcome: r["outcome"].clone(),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The card

/// A stretch of sound on the village's channel, in card frames.
#[derive(Debug, Clone, Copy)]
struct Sound {
    onset: u64,
    end: u64,
}

/// What the card has played so far.
#[derive(Default)]
struct Heard {
    /// The card's true rate in frames per second of the system clock ([`RATE`] × its drift).
    rate: f64,
    /// When the reader took its first frame, as an instant and in UTC (read together).
    t0: Option<(Instant, DateTime<Utc>)>,
    /// Frames played.
    frames: u64,
    /// Sounds on the village's channel, separated by at least [`GAP_FRAMES`] of silence.
    sounds: Vec<Sound>,
    /// Before each read: (frames played, how far the reader was behind the card's clock).
    lags: Vec<(u64, Duration)>,
    /// The first sound on another channel: (0-based channel, frame).
    stray: Option<(usize, u64)>,
}

impl Heard {
    /// The instant (UTC) the card played frame `f`: the reader's clock, less the `file`
    /// plugin's hold-back (see the module docs).
    fn utc_of(&self, f: u64) -> DateTime<Utc> {
        let (_, t0) = self.t0.expect("the card has played");
        let secs = (f as f64 - HOLDBACK_FRAMES as f64) / self.rate;
        t0 + chrono::Duration::nanoseconds((secs * 1e9).round() as i64)
    }

    /// The reader's worst lag while frames `from..to` were due.
    fn worst_lag(&self, from: u64, to: u64) -> Duration {
        let i = self.lags.partition_point(|l| l.0 < from);
        self.lags[i..].iter().take_while(|l| l.0 < to).map(|l| l.1).max().unwrap_or_default()
    }
}

/// The test's sound card: drains the FIFO at the byte rate on a thread (see the module docs).
struct Card {
    heard: Arc<Mutex<Heard>>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

unsafe extern "C" {
    /// fcntl(2), from the C library std already links.
    fn fcntl(fd: i32, cmd: i32, ...) -> i32;
}
/// Linux `F_SETPIPE_SZ` / `F_GETPIPE_SZ`.
const F_SETPIPE_SZ: i32 = 1031;
const F_GETPIPE_SZ: i32 = 1032;
/// Linux `O_NONBLOCK`.
const O_NONBLOCK: i32 = 0o4000;

impl Card {
    /// Makes the FIFO, shrinks its buffer and starts draining it (the reader waits for the
    /// daemon to open the device), `ppm` parts per million faster than [`RATE`] (negative:
    /// slower), as a card's crystal would.
    fn listen(path: &Path, ppm: f64) -> Card {
        // A non-blocking read end opens at once, before any writer: it lets the pipe be resized
        // while it is still empty, and the size stays with the FIFO while an end is open.
        let early = OpenOptions::new().read(true).custom_flags(O_NONBLOCK).open(path).expect("open the fifo");
        // SAFETY: fcntl on a file descriptor we own, with an int argument.
        let size = unsafe {
            fcntl(early.as_raw_fd(), F_SETPIPE_SZ, PIPE_BYTES);
            fcntl(early.as_raw_fd(), F_GETPIPE_SZ)
        };
        assert_eq!(size, PIPE_BYTES, "cannot shrink the FIFO to one page");
        let heard = Arc::new(Mutex::new(Heard { rate: f64::from(RATE) * (1.0 + ppm * 1e-6), ..Heard::default() }));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s, path) = (heard.clone(), stop.clone(), path.to_path_buf());
        let thread = thread::Builder::new()
            .name("card".into())
            .spawn(move || {
                let f = File::open(&path).expect("open the fifo"); // waits for the writer
                drop(early);
                drain(f, &h, &s);
            })
            .unwrap();
        Card { heard, stop, thread }
    }

    fn heard(&self) -> MutexGuard<'_, Heard> {
        self.heard.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits (up to `timeout`) for the writer to close the FIFO; stops reading either way.
    fn finish(self, timeout: Duration) -> (Heard, bool) {
        let deadline = Instant::now() + timeout;
        while !self.thread.is_finished() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        let closed = self.thread.is_finished();
        self.stop.store(true, Ordering::Release);
        if closed {
            self.thread.join().unwrap();
        }
        let heard = std::mem::take(&mut *self.heard.lock().unwrap_or_else(PoisonError::into_inner));
        (heard, closed)
    }
}

/// The reader: takes bytes at the card's rate from its first frame on, and notes sounds.
fn drain(mut f: File, heard: &Mutex<Heard>, stop: &AtomicBool) {
    let byte_rate = heard.lock().unwrap().rate * FRAME_BYTES as f64;
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending: Vec<u8> = Vec::with_capacity(buf.len() + FRAME_BYTES);
    let mut t0: Option<Instant> = None;
    let mut taken: u64 = 0; // bytes
    let mut last_sound: Option<u64> = None;
    while !stop.load(Ordering::Acquire) {
        let mut want = PIPE_BYTES as usize;
        let mut lag = Duration::ZERO;
        if let Some(t0) = t0 {
            let due = ((t0.elapsed().as_secs_f64() * byte_rate) as u64).saturating_sub(taken) as usize;
            if due < FRAME_BYTES {
                thread::sleep(Duration::from_millis(1));
                continue;
            }
            lag = Duration::from_secs_f64(due as f64 / byte_rate);
            want = due.min(buf.len());
        }
        let n = match f.read(&mut buf[..want]) {
            Ok(0) if t0.is_none() => {
                // A writer came and went (or none yet): wait for the stream.
                thread::sleep(Duration::from_millis(1));
                continue;
            }
            Ok(0) => break, // the daemon closed the device
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => panic!("reading the fifo: {e}"),
        };
        let mut h = heard.lock().unwrap_or_else(PoisonError::into_inner);
        if t0.is_none() {
            let now = Instant::now();
            t0 = Some(now);
            h.t0 = Some((now, Utc::now()));
        }
        h.lags.push((taken / FRAME_BYTES as u64, lag));
        taken += n as u64;
        pending.extend_from_slice(&buf[..n]);
        let whole = pending.len() - pending.len() % FRAME_BYTES;
        for frame in pending[..whole].chunks_exact(FRAME_BYTES) {
            let at = h.frames;
            h.frames += 1;
            for (c, s) in frame.chunks_exact(2).enumerate() {
                let s = i16::from_le_bytes([s[0], s[1]]);
                if s == 0 {
                    continue;
                }
                if c != VILLAGE_CHANNEL {
                    h.stray.get_or_insert((c, at));
                    continue;
                }
                match (last_sound, h.sounds.last_mut()) {
                    (Some(last), Some(sound)) if at - last < GAP_FRAMES => sound.end = at,
                    _ => h.sounds.push(Sound { onset: at, end: at }),
                }
                last_sound = Some(at);
            }
        }
        pending.drain(..whole);
    }
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// One cue as the card played it.
#[derive(Debug, Clone)]
struct Measure {
    cue: String,
    scheduled: DateTime<Utc>,
    /// When the engine says it started it (its playout clock).
    started: Option<DateTime<Utc>>,
    /// When the card played its first sound.
    heard: DateTime<Utc>,
    /// `heard - scheduled`, in ms.
    error_ms: f64,
    /// How long it sounded, in ms.
    lasted_ms: f64,
    /// The reader's worst lag around the onset.
    lag: Duration,
}

impl Measure {
    fn valid(&self) -> bool {
        self.lag <= LAG_MAX
    }
}

/// Every finished sound matched to its as-run row. Panics on a sound no cue explains.
fn measure(heard: &Heard, rows: &[Row]) -> Vec<Measure> {
    let rate = heard.rate;
    let tail = (rate * LAG_AFTER.as_secs_f64()) as u64;
    let mut out = Vec::new();
    for s in &heard.sounds {
        // Only sounds that are over (the 1 s tone) and whose lag window has been read.
        if heard.frames < s.end + GAP_FRAMES.max(tail) {
            break;
        }
        let at = heard.utc_of(s.onset);
        let Some(row) = rows.iter().min_by_key(|r| (r.scheduled - at).num_microseconds().unwrap_or(i64::MAX).abs())
        else {
            panic!("the card played a sound at {at} but the log has no cue: {rows:#?}")
        };
        let error_ms = (at - row.scheduled).num_microseconds().unwrap() as f64 / 1000.0;
        assert!(error_ms.abs() < 2_000.0, "a sound at {at} is {error_ms:.0} ms from the nearest cue {row:?}");
        let from = s.onset.saturating_sub((rate * LAG_BEFORE.as_secs_f64()) as u64);
        out.push(Measure {
            cue: row.cue.clone(),
            scheduled: row.scheduled,
            started: row.started,
            heard: at,
            error_ms,
            lasted_ms: (s.end + 1 - s.onset) as f64 * 1000.0 / rate,
            lag: heard.worst_lag(from, s.onset + tail),
        });
    }
    out
}

/// The first run of [`MEASURED`] consecutive valid cues after the first (index range), if any.
fn good_run(m: &[Measure]) -> Option<std::ops::Range<usize>> {
    (1..m.len().saturating_sub(MEASURED - 1)).map(|i| i..i + MEASURED).find(|r| {
        m[r.clone()].iter().all(Measure::valid)
            && m[r.clone()].windows(2).all(|w| w[1].scheduled - w[0].scheduled == chrono::Duration::seconds(EVERY_S))
    })
}

fn print(m: &[Measure]) {
    println!("cue scheduled (UTC), heard      heard - scheduled   engine start - scheduled   lasted   reader lag");
    for (i, x) in m.iter().enumerate() {
        let engine = x.started.map_or("-".to_owned(), |s| {
            format!("{:+.1} ms", (s - x.scheduled).num_microseconds().unwrap() as f64 / 1000.0)
        });
        println!(
            "{i:>2} {} (heard {})   {:>+8.2} ms   {engine:>12}   {:>6.1} ms   {:>5.1} ms{}",
            x.scheduled.format("%H:%M:%S%.3f"),
            x.heard.format("%H:%M:%S%.3f"),
            x.error_ms,
            x.lasted_ms,
            x.lag.as_secs_f64() * 1000.0,
            if i == 0 {
                "   (first cue: not judged)"
            } else if x.valid() {
                ""
            } else {
                "   (reader behind the card's clock: not a measurement)"
            }
        );
    }
}

// ---------------------------------------------------------------------------------------------

#[test]
fn serve_starts_every_cue_on_the_card_within_20_ms_of_its_instant() {
    listen_to_serve(0.0);
}

/// A card's crystal is off by up to ~100 ppm: 0.36 s an hour against the system clock. This
/// card runs 0.2 % slow, so that 25 s show what hours would: without correction every cue would
/// be heard 10 ms later than the one before.
#[test]
fn serve_keeps_cues_on_time_on_a_card_whose_clock_runs_slow() {
    listen_to_serve(-2_000.0);
}

/// Runs the station on a card whose clock is `ppm` off the system clock and checks what it
/// heard (see the module docs).
fn listen_to_serve(ppm: f64) {
    let _card = card_lock();
    alsa::setup();
    let began = Instant::now();
    let st = station();
    let card = Card::listen(&alsa::fifo("xy_serve8"), ppm);
    let daemon = Daemon::start(st.root());

    // Listen until MEASURED consecutive cues after the first were measured (or one was off).
    let deadline = Instant::now() + Duration::from_secs((MAX_CUES as u64 + 3) * EVERY_S as u64);
    let (measures, run) = loop {
        thread::sleep(Duration::from_millis(500));
        let rows = rows(st.root());
        let m = measure(&card.heard(), &rows);
        let off = m.iter().skip(1).any(|x| x.valid() && x.error_ms.abs() > BOUND_MS);
        let run = good_run(&m);
        if run.is_some() || off || m.len() >= MAX_CUES || Instant::now() > deadline {
            break (m, run);
        }
    };
    print(&measures);
    let stray = card.heard().stray;

    // Stop between two cues, so none is cut by the stop.
    let last = rows(st.root()).iter().filter_map(|r| r.started.map(|_| r.scheduled)).max().unwrap();
    let mut quiet = last + chrono::Duration::milliseconds(2_500);
    while quiet < Utc::now() {
        quiet += chrono::Duration::seconds(EVERY_S);
    }
    if let Ok(d) = (quiet - Utc::now()).to_std() {
        thread::sleep(d);
    }
    let status = daemon.term();
    let log = std::fs::read_to_string(st.root().join("serve.log")).unwrap_or_default();
    let (_, closed) = card.finish(Duration::from_secs(5));
    let rows = rows(st.root());

    assert!(status.success(), "serve exited with {status:?}:\n{log}");
    assert!(closed, "serve stopped but did not close the card");
    assert!(stray.is_none(), "a channel other than {VILLAGE}'s sounded: (channel, frame) {stray:?}");
    assert!(measures.len() >= 2, "the card heard {} cues:\n{log}", measures.len());
    for x in &measures[1..] {
        assert!(
            !x.valid() || x.error_ms.abs() <= BOUND_MS,
            "cue {} scheduled at {} was heard {:+.2} ms off (bound ±{BOUND_MS} ms)\n{log}",
            x.cue,
            x.scheduled,
            x.error_ms
        );
    }
    let Some(run) = run else {
        panic!("no {MEASURED} consecutive cues could be measured with the reader on the card's clock:\n{log}")
    };
    for x in &measures {
        assert!((995.0..=1_005.0).contains(&x.lasted_ms), "cue {} sounded for {:.1} ms, not 1 s", x.cue, x.lasted_ms);
    }
    let judged = &measures[run];
    for x in judged {
        let row = rows.iter().find(|r| r.cue == x.cue).unwrap();
        assert_eq!(row.outcome, "played", "{row:?}");
    }
    for r in rows.iter().filter(|r| r.started.is_some()) {
        assert_eq!(r.outcome, "played", "a cue that started was not played to its end: {r:?}");
    }
    let mut errors: Vec<f64> = judged.iter().map(|x| x.error_ms).collect();
    errors.sort_by(f64::total_cmp);
    println!(
        "card clock {ppm:+} ppm: judged {} cues: error min {:+.2} ms, median {:+.2} ms, max {:+.2} ms; took {:.1} s",
        errors.len(),
        errors[0],
        errors[errors.len() / 2],
        errors[errors.len() - 1],
        began.elapsed().as_secs_f64()
    );
}
