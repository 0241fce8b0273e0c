//! Live-station benchmark: the real `xiangyin serve` process, on WAV outputs, measured from the
//! outside through /proc and its as-run log. Two tables:
//!
//! 1. **Burst** — 8, 64 and 256 villages (synthetic stations from `benches/synthetic-station.sh`,
//!    60 s clips, cached under `target/bench-stations/live-v{N}`) whose slots all fire at one
//!    instant about 25 s after the daemon is healthy: how many cues started, how late (the as-run
//!    log's `late_ms`), the daemon's peak RSS (`VmHWM`) and its CPU time around the instant.
//!    Goal: all 256 start within 20 ms, peak RSS ≤ 200 MB.
//! 2. **Idle** — `serve` with 1,000 one-second clips in the library (8 villages, outputs open,
//!    nothing due), and with an empty library: start-up (spawn → `/healthz` 200), CPU % of one
//!    core over 30 s and RSS at the end. Goal: ≤ 1 % of a core and ≤ 30 MB.
//!
//! Run: `cargo bench --bench live` (or `make bench`; needs ffmpeg for the synthetic stations).
//! `XY_BENCH_VILLAGES=8,64` limits the burst sizes; `XY_BENCH_ONLY=burst` or `idle` runs one table.
//! Delete `target/bench-stations/` to rebuild the cached stations.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, Timelike, Utc};
use chrono_tz::Asia::Shanghai;

const BIN: &str = env!("CARGO_BIN_EXE_xiangyin");
/// The slots of a station that must not fire while it is measured: 1 January, 00:00:00.
const NEVER: &str = "0 0 0 1 1 *";
const MIB: f64 = 1024.0 * 1024.0;

fn stations_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("bench-stations")
}

/// Runs `xiangyin --root ROOT args…`; panics with its output when it fails.
fn xiangyin(root: &Path, args: &[&str], what: &str) -> String {
    let o = Command::new(BIN)
        .arg("--root")
        .arg(root)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap_or_else(|e| panic!("running xiangyin for {what}: {e}"));
    assert!(
        o.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("xiangyin prints UTF-8")
}

fn checks(root: &Path) -> bool {
    Command::new(BIN).arg("--root").arg(root).arg("check").output().is_ok_and(|o| o.status.success())
}

/// The synthetic station with `n` villages and 60 s clips, made once and reused while it checks.
fn synthetic(n: usize) -> PathBuf {
    let dir = stations_dir().join(format!("live-v{n}"));
    if dir.join("clips.tsv").exists() && checks(&dir) {
        return dir;
    }
    eprintln!("live: making the {n}-village station in {} (once)…", dir.display());
    std::fs::create_dir_all(stations_dir()).expect("create target/bench-stations");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/synthetic-station.sh");
    let ok = Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .args([&n.to_string(), "60", "1"])
        .arg(BIN)
        .status()
        .expect("run benches/synthetic-station.sh");
    assert!(ok.success(), "benches/synthetic-station.sh {} {n} 60 1 failed", dir.display());
    dir
}

/// Copies a station folder; WAV files are hard-linked (the daemon only reads them), the rest copied.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy's folder");
    for e in std::fs::read_dir(from).expect("read the station folder") {
        let e = e.expect("read the station folder");
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().expect("stat a station file").is_dir() {
            copy_tree(&src, &dst);
        } else if src.extension().is_none_or(|x| x != "wav") || std::fs::hard_link(&src, &dst).is_err() {
            std::fs::copy(&src, &dst).expect("copy a station file");
        }
    }
}

/// Rewrites every slot's cron (and every playlist's `repeat`) in `schedules/bench.yaml`, through a
/// rename so that the daemon's watcher never reads half a file.
fn rewrite_slots(root: &Path, cron: &str, repeat: Option<u32>) {
    let path = root.join("schedules/bench.yaml");
    let text = std::fs::read_to_string(&path).expect("read schedules/bench.yaml");
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            let mut l = l.to_owned();
            if let (Some(i), true) = (l.find("cron: \""), l.trim_start().starts_with("- ")) {
                let end = l[i + 7..].find('"').expect("a quoted cron") + i + 7;
                l.replace_range(i + 7..end, cron);
            }
            if let (Some(i), Some(r)) = (l.find("repeat: "), repeat) {
                let end = l[i + 8..].find(|c: char| !c.is_ascii_digit()).map_or(l.len(), |e| e + i + 8);
                l.replace_range(i + 8..end, &r.to_string());
            }
            l
        })
        .collect();
    let tmp = root.join("bench.yaml.new");
    std::fs::write(&tmp, out.join("\n") + "\n").expect("write the new bench.yaml");
    std::fs::rename(&tmp, &path).expect("move the new bench.yaml into schedules/");
}

/// A running `xiangyin serve`, killed when dropped (also when the bench panics).
struct Daemon {
    child: Child,
    addr: String,
    log: PathBuf,
    http: reqwest::blocking::Client,
    /// Spawn → first `/healthz` 200.
    startup: Duration,
}

impl Daemon {
    fn start(root: &Path, state: &Path) -> Daemon {
        let log = root.join("serve.log");
        let t0 = Instant::now();
        let mut child = Command::new(BIN)
            .arg("--root")
            .arg(root)
            .arg("--state")
            .arg(state)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info,tokio_cron_scheduler=warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("create serve.log"))
            .spawn()
            .expect("spawn xiangyin serve");
        let mut out = BufReader::new(child.stdout.take().expect("serve's stdout"));
        let mut line = String::new();
        out.read_line(&mut line).expect("read serve's first line");
        // Keep reading, as a terminal would (the setup link comes next).
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let addr = line.trim().strip_prefix("xiangyin: serving on http://").and_then(|a| a.strip_suffix('/'));
        let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().expect("HTTP client");
        let mut d = Daemon { child, addr: addr.unwrap_or_default().to_owned(), log, http, startup: Duration::ZERO };
        assert!(!d.addr.is_empty(), "serve did not start: {line:?}\n{}", d.log_text());
        loop {
            if d.http.get(d.url("/healthz")).send().is_ok_and(|r| r.status().as_u16() == 200) {
                d.startup = t0.elapsed();
                return d;
            }
            assert!(t0.elapsed() < Duration::from_secs(120), "no /healthz 200 within 120 s:\n{}", d.log_text());
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A line of `/proc/PID/status`, in KiB.
    fn status_kib(&self, key: &str) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("read /proc/PID/status");
        s.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':')?.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in /proc/PID/status"))
    }

    /// utime + stime, in seconds.
    fn cpu_s(&self) -> f64 {
        let s = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).expect("read /proc/PID/stat");
        // Fields after the command name: state is field 3, utime 14, stime 15.
        let rest: Vec<&str> = s[s.rfind(')').expect("a stat line") + 2..].split_whitespace().collect();
        let ticks: u64 = rest[11].parse::<u64>().expect("utime") + rest[12].parse::<u64>().expect("stime");
        ticks as f64 / clock_ticks()
    }

    /// `xiangyin_reloads_total{result="ok"}` from /metrics.
    fn reloads(&self) -> u64 {
        let text = self.http.get(self.url("/metrics")).send().and_then(|r| r.text()).expect("GET /metrics");
        text.lines()
            .find_map(|l| l.strip_prefix("xiangyin_reloads_total{result=\"ok\"} ")?.trim().parse().ok())
            .expect("xiangyin_reloads_total in /metrics")
    }

    /// SIGTERM, then up to 60 s for the exit (Drop kills it otherwise).
    fn stop(mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.child.try_wait().expect("wait for serve").is_none() {
            if Instant::now() > deadline {
                eprintln!("live: serve did not stop within 60 s of SIGTERM; killing it");
                return;
            }
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

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }) as f64
}

fn sleep_until(t: DateTime<Utc>) {
    if let Ok(d) = (t - Utc::now()).to_std() {
        std::thread::sleep(d);
    }
}

/// Parses CSV with quoted fields into maps keyed by the header.
fn csv(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let (mut records, mut rec, mut field, mut quoted) = (Vec::new(), Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => field.push(chars.next().unwrap()),
            ('"', _) => quoted = !quoted,
            (',', false) => rec.push(std::mem::take(&mut field)),
            ('\n', false) => {
                rec.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut rec));
            }
            ('\r', false) => {}
            (c, _) => field.push(c),
        }
    }
    let Some((head, rows)) = records.split_first() else { return Vec::new() };
    rows.iter().map(|r| head.iter().cloned().zip(r.iter().cloned()).collect()).collect()
}

struct Burst {
    villages: usize,
    /// As-run rows at the instant, by outcome (empty = on air).
    rows: std::collections::BTreeMap<String, usize>,
    started: usize,
    /// When not all had started at T+5 s: (started, max late_ms) at T+20 s.
    later: Option<(usize, u64)>,
    late20: usize,
    p50: u64,
    p95: u64,
    max: u64,
    hwm_mib: f64,
    cpu_burst: f64,
    cpu_window: f64,
    startup: Duration,
}

fn burst(n: usize) -> Burst {
    let station = synthetic(n);
    let tmp = tempfile::tempdir_in(stations_dir()).expect("temp root under target/bench-stations");
    let root = tmp.path().join("root");
    copy_tree(&station, &root);
    rewrite_slots(&root, NEVER, Some(1));
    let state = tmp.path().join("state");
    eprintln!("live: burst of {n} villages: starting serve…");
    let d = Daemon::start(&root, &state);
    let before = d.reloads();
    // One instant ~25 s from now, on a whole second, in station time.
    let at = (Utc::now() + chrono::Duration::seconds(25)).trunc_subsecs(0) + chrono::Duration::seconds(1);
    let local = at.with_timezone(&Shanghai);
    rewrite_slots(&root, &format!("{} {} {} * * *", local.second(), local.minute(), local.hour()), None);
    let deadline = Instant::now() + Duration::from_secs(15);
    while d.reloads() <= before {
        assert!(Instant::now() < deadline, "the daemon did not reload the new crons within 15 s:\n{}", d.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(Utc::now() < at - chrono::Duration::seconds(12), "the reload took too long to measure around the instant");
    eprintln!("live: burst of {n} villages at {} station time…", local.format("%H:%M:%S"));
    let ms = |m: i64| chrono::Duration::milliseconds(m);
    sleep_until(at - ms(12_000));
    let w0 = d.cpu_s();
    sleep_until(at - ms(500));
    let b0 = d.cpu_s();
    sleep_until(at + ms(500));
    let b1 = d.cpu_s();
    sleep_until(at + ms(5_000));
    let w1 = d.cpu_s();
    let hwm = d.status_kib("VmHWM");
    let args = ["--state", state.to_str().expect("a UTF-8 path"), "log", "--csv"];
    // The as-run rows of the instant, and the lateness of those that started (sorted).
    let read = || {
        let rows: Vec<_> = csv(&xiangyin(&root, &args, "xiangyin log --csv"))
            .into_iter()
            .filter(|r| {
                r.get("scheduled")
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                    .is_some_and(|s| s.with_timezone(&Utc) == at)
            })
            .collect();
        let mut late: Vec<u64> = rows
            .iter()
            .filter(|r| r.get("started").is_some_and(|s| !s.is_empty()))
            .map(|r| r.get("late_ms").and_then(|l| l.parse().ok()).unwrap_or(0))
            .collect();
        late.sort_unstable();
        (rows, late)
    };
    let (rows, late) = read();
    let later = (late.len() < n).then(|| {
        sleep_until(at + ms(20_000));
        let (_, l) = read();
        (l.len(), l.last().copied().unwrap_or(0))
    });
    let startup = d.startup;
    d.stop();
    let mut outcomes = std::collections::BTreeMap::new();
    for r in &rows {
        let o = r.get("outcome").filter(|o| !o.is_empty()).map_or("on air / pending", |o| o.as_str());
        *outcomes.entry(o.to_owned()).or_insert(0) += 1;
    }
    let pct = |p: usize| late.get((late.len() * p).div_ceil(100).saturating_sub(1)).copied().unwrap_or(0);
    Burst {
        villages: n,
        rows: outcomes,
        started: late.len(),
        later,
        late20: late.iter().filter(|&&l| l > 20).count(),
        p50: pct(50),
        p95: pct(95),
        max: late.last().copied().unwrap_or(0),
        hwm_mib: hwm as f64 / 1024.0,
        cpu_burst: b1 - b0,
        cpu_window: w1 - w0,
        startup,
    }
}

/// A 48 kHz mono 16-bit WAV of one second: a tone of its own and a little noise of its own.
fn wav(path: &Path, seed: u32) {
    let rate = 48_000u32;
    let f = 150.0 + 1.37 * seed as f32;
    let mut lcg = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let spec =
        hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).expect("create a generated WAV");
    for i in 0..rate {
        lcg = lcg.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let noise = (lcg >> 16) as f32 / 65_536.0 - 0.5;
        let s = 0.25 * (std::f32::consts::TAU * f * i as f32 / rate as f32).sin() + 0.01 * noise;
        w.write_sample((s * 32_767.0) as i16).expect("write a generated WAV");
    }
    w.finalize().expect("finish a generated WAV");
}

/// The 8-village synthetic station's villages and profile, with `clips` one-second clips and (when
/// there are clips) one slot per village that does not fire while measured. Cached.
fn idle_station(clips: usize) -> PathBuf {
    let dir = stations_dir().join(format!("idle-{clips}"));
    if dir.join(".complete").exists() && checks(&dir) {
        return dir;
    }
    let base = synthetic(8);
    eprintln!("live: making the idle station with {clips} clips in {} (once)…", dir.display());
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["schedules", "hardware-profiles", "audio-library"] {
        std::fs::create_dir_all(dir.join(sub)).expect("create the idle station's folders");
    }
    for f in ["schedules/station.yaml", "schedules/villages.yaml", "hardware-profiles/bench.yaml"] {
        std::fs::copy(base.join(f), dir.join(f)).expect("copy the 8-village station's configuration");
    }
    if clips > 0 {
        let src = tempfile::tempdir_in(stations_dir()).expect("a folder for the generated WAVs");
        for i in 0..clips {
            wav(&src.path().join(format!("c{i:04}.wav")), i as u32);
        }
        let args = ["import", "--language", "cmn", "--kind", "notice", "--approve", "--json"];
        let src_arg = src.path().to_str().expect("a UTF-8 path");
        let out = xiangyin(&dir, &[&args[..], &[src_arg]].concat(), "importing the one-second clips");
        let ids: Vec<String> = out
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["id"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(ids.len(), clips, "import made {} clips of {clips}:\n{out}", ids.len());
        let mut y = String::from("playlists:\n");
        for (v, id) in ids.iter().take(8).enumerate() {
            y += &format!("  pv{:03}: {{items: [{id}], repeat: 1}}\n", v + 1);
        }
        y += "slots:\n";
        for v in 1..=8.min(ids.len()) {
            y += &format!(
                "  - {{name: sv{v:03}, cron: \"{NEVER}\", playlist: pv{v:03}, targets: {{villages: [v{v:03}]}}}}\n"
            );
        }
        std::fs::write(dir.join("schedules/bench.yaml"), y).expect("write schedules/bench.yaml");
    }
    xiangyin(&dir, &["check"], "checking the idle station");
    std::fs::write(dir.join(".complete"), "").expect("mark the idle station complete");
    dir
}

struct Idle {
    startup: Duration,
    cpu_pct: f64,
    rss_mib: f64,
}

fn idle(clips: usize) -> Idle {
    let station = idle_station(clips);
    let tmp = tempfile::tempdir_in(stations_dir()).expect("temp root under target/bench-stations");
    let root = tmp.path().join("root");
    copy_tree(&station, &root);
    eprintln!("live: idle with {clips} clips: 5 s to settle, then 30 s measured…");
    let d = Daemon::start(&root, &tmp.path().join("state"));
    std::thread::sleep(Duration::from_secs(5));
    let (c0, t0) = (d.cpu_s(), Instant::now());
    std::thread::sleep(Duration::from_secs(30));
    let (c1, secs) = (d.cpu_s(), t0.elapsed().as_secs_f64());
    let rss = d.status_kib("VmRSS");
    let startup = d.startup;
    d.stop();
    Idle { startup, cpu_pct: 100.0 * (c1 - c0) / secs, rss_mib: rss as f64 / 1024.0 }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let only = std::env::var("XY_BENCH_ONLY").unwrap_or_default();
    let sizes: Vec<usize> = std::env::var("XY_BENCH_VILLAGES")
        .map(|v| v.split(',').map(|s| s.trim().parse().expect("XY_BENCH_VILLAGES: numbers, e.g. 8,64")).collect())
        .unwrap_or_else(|_| vec![8, 64, 256]);
    if only != "idle" {
        let results: Vec<Burst> = sizes.iter().map(|&n| burst(n)).collect();
        println!();
        println!("burst: every village's slot fires at one instant T, 60 s clips, 8-channel WAV outputs");
        println!(
            "(lateness = the as-run log's late_ms, empty = 0; CPU = daemon utime+stime; peak RSS = VmHWM at T+5 s)"
        );
        println!(
            "| villages | cues started | late > 20 ms | lateness p50 / p95 / max ms | peak RSS MiB | CPU s T±0.5 s / T−12…T+5 s | start-up ms | goal met?      |"
        );
        println!(
            "|---------:|-------------:|-------------:|----------------------------:|-------------:|---------------------------:|------------:|----------------|"
        );
        for b in &results {
            let met = b.started == b.villages && b.late20 == 0 && b.hwm_mib * MIB <= 200e6;
            let goal =
                format!("{}{}", if met { "yes" } else { "no" }, if b.villages == 256 { "" } else { " (goal: 256)" });
            println!(
                "| {:>8} | {:>12} | {:>12} | {:>27} | {:>12.1} | {:>26} | {:>11.0} | {goal:<14} |",
                b.villages,
                format!("{} / {}", b.started, b.villages),
                b.late20,
                format!("{} / {} / {}", b.p50, b.p95, b.max),
                b.hwm_mib,
                format!("{:.2} / {:.2}", b.cpu_burst, b.cpu_window),
                b.startup.as_secs_f64() * 1000.0,
            );
        }
        println!("goal: 256 villages all start within 20 ms of their instant, peak RSS ≤ 200 MB");
        for b in &results {
            let mut rows: Vec<String> = b.rows.iter().map(|(o, k)| format!("{k} {o}")).collect();
            if rows.is_empty() {
                rows.push("none".into());
            }
            print!("{} villages: as-run rows at T+5 s: {}", b.villages, rows.join(", "));
            match b.later {
                Some((k, max)) => println!("; at T+20 s {k} / {} had started, the latest {max} ms late", b.villages),
                None => println!(),
            }
        }
    }
    if only != "burst" {
        let full = idle(1000);
        let empty = idle(0);
        println!();
        println!("idle serve: 8 villages on one 8-channel WAV output (open, recording silence), nothing due");
        println!("(CPU over 30 s after 5 s settling, utime+stime ÷ CLK_TCK; RSS = VmRSS at the end)");
        println!(
            "| library                          | start-up ms | CPU % of one core | RSS MiB | goal                 |"
        );
        println!(
            "|----------------------------------|------------:|------------------:|--------:|----------------------|"
        );
        for (name, r) in [("1,000 one-second clips, 8 slots", &full), ("empty (no slots)", &empty)] {
            let met = r.cpu_pct <= 1.0 && r.rss_mib * MIB <= 30e6;
            println!(
                "| {name:<32} | {:>11.0} | {:>17.2} | {:>7.1} | {:<20} |",
                r.startup.as_secs_f64() * 1000.0,
                r.cpu_pct,
                r.rss_mib,
                if name.starts_with("1,000") {
                    if met { "≤1 %, ≤30 MB: yes" } else { "≤1 %, ≤30 MB: no" }
                } else {
                    ""
                }
            );
        }
    }
}
