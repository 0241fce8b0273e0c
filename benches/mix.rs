//! Offline mixing benchmark: `xiangyin render` against ffmpeg doing the same job, and a scale curve.
//!
//! Each case is a synthetic station (benches/synthetic-station.sh): N villages on N/8 eight-channel
//! 16-bit 48 kHz WAV outputs, every village looping its own 60-second clip (at its own loudness
//! gain) from 07:00. Both sides run as child processes; we measure wall time and the peak RSS the
//! kernel reports for the child (`wait4`, `ru_maxrss`).
//!
//! - Table 1, same job as ffmpeg: N = 8, 64, 256, a 10-minute window, files written to disk.
//!   ffmpeg gets every canonical clip as a looped input, `volume` per input, `amerge` per output.
//!   Rounds alternate xiangyin / ffmpeg; best of `XY_BENCH_ROUNDS` (default 3).
//! - Table 2, scale curve (xiangyin only, one round): N = 8…256 × 1, 10, 60-minute windows, every
//!   output file a symlink to /dev/null (checked after each run), so the disk is not the limit.
//!
//! Run: `make bench` or `cargo bench --bench mix` (needs ffmpeg and ~20 GB free disk). Quick runs:
//! `XY_BENCH_VILLAGES=8,64` (both tables), `XY_BENCH_WINDOWS=1,10` (table 2),
//! `XY_BENCH_SKIP_CURVE=1`, `XY_BENCH_ROUNDS=1`. Stations are kept in target/bench-stations/ and
//! reused until the generator script changes.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeDelta};

const BIN: &str = env!("CARGO_BIN_EXE_xiangyin");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// Clip length and station length given to the generator.
const CLIP_S: u64 = 60;
const STATION_MINUTES: u64 = 60;
/// The window start, station time (Asia/Shanghai, UTC+8, no DST).
const FROM: &str = "2026-12-10T07:00";
const ALL_VILLAGES: [usize; 5] = [8, 32, 64, 128, 256];
const SAME_JOB_VILLAGES: [usize; 3] = [8, 64, 256];
const SAME_JOB_MINUTES: u64 = 10;
const CURVE_WINDOWS: [u64; 3] = [1, 10, 60];

/// One finished child process.
struct Run {
    wall: Duration,
    rss_kib: u64,
}

/// One village of a station's clips.tsv.
struct Clip {
    gain_db: f64,
    path: PathBuf,
}

/// A comma-separated list from the environment, or `default`.
fn env_list<T: std::str::FromStr + Clone>(name: &str, default: &[T]) -> Vec<T> {
    match std::env::var(name) {
        Ok(s) if !s.trim().is_empty() => {
            s.split(',').map(|x| x.trim().parse().unwrap_or_else(|_| panic!("{name}: `{x}` is not a number"))).collect()
        }
        _ => default.to_vec(),
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Runs `cmd` with stdout and stderr to `log`; waits with `wait4` for its peak RSS. Panics, with
/// the log, when it fails.
fn measure(mut cmd: Command, log: &Path, what: &str) -> Run {
    let f = fs::File::create(log).expect("create the child's log file");
    cmd.stdin(Stdio::null()).stdout(f.try_clone().expect("duplicate the log file handle")).stderr(f);
    let t = Instant::now();
    let child = cmd.spawn().unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = loop {
        // SAFETY: status and usage are valid for writes; pid is our own unwaited child.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        break r;
    };
    let wall = t.elapsed();
    assert_eq!(r, pid, "{what}: wait4 failed: {}", std::io::Error::last_os_error());
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    if !ok {
        let out = fs::read_to_string(log).unwrap_or_default();
        panic!("{what}: failed (wait status {status:#x}):\n{out}");
    }
    Run { wall, rss_kib: usage.ru_maxrss as u64 }
}

/// The station of `n` villages, generated unless its clips.tsv is newer than the script.
fn station(n: usize) -> (PathBuf, Vec<Clip>) {
    let script = Path::new(ROOT).join("benches/synthetic-station.sh");
    let dir = Path::new(ROOT).join(format!("target/bench-stations/v{n}"));
    let tsv = dir.join("clips.tsv");
    let mtime = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    let fresh = matches!((mtime(&tsv), mtime(&script)), (Some(t), Some(s)) if t >= s);
    if !fresh {
        eprintln!("generating the {n}-village station in {}", dir.display());
        let st = Command::new("bash")
            .arg(&script)
            .arg(&dir)
            .arg(n.to_string())
            .arg(CLIP_S.to_string())
            .arg(STATION_MINUTES.to_string())
            .arg(BIN)
            .status()
            .expect("run benches/synthetic-station.sh");
        assert!(st.success(), "benches/synthetic-station.sh failed for {n} villages");
    }
    let text = fs::read_to_string(&tsv).expect("read the station's clips.tsv");
    let clips: Vec<Clip> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "clips.tsv: bad line `{l}`");
            // Relative paths (a station generated from the package root) resolve against it.
            Clip { gain_db: f[2].parse().expect("clips.tsv: gain is not a number"), path: Path::new(ROOT).join(f[3]) }
        })
        .collect();
    assert_eq!(clips.len(), n, "{}: {} villages, expected {n}", tsv.display(), clips.len());
    (dir, clips)
}

fn window_end(minutes: u64) -> String {
    let from = NaiveDateTime::parse_from_str(FROM, "%Y-%m-%dT%H:%M").expect("FROM is a time");
    (from + TimeDelta::minutes(minutes as i64)).format("%Y-%m-%dT%H:%M").to_string()
}

/// `xiangyin render` of `minutes` from 07:00 into `out`; checks every cue due in the window played.
fn run_xiangyin(dir: &Path, villages: usize, minutes: u64, out: &Path, work: &Path) -> Run {
    let state = tempfile::tempdir_in(work).expect("create a fresh state folder");
    let mut cmd = Command::new(BIN);
    cmd.arg("--root").arg(dir).arg("--state").arg(state.path());
    cmd.args(["render", "--profile", "bench", "--from", FROM, "--to", &window_end(minutes), "--out"]).arg(out);
    let log = work.join("xiangyin.log");
    let run = measure(cmd, &log, &format!("xiangyin render ({villages} villages, {minutes} min)"));
    check_cues(out, villages, minutes, &log);
    run
}

/// cues.csv: every cue scheduled before the window's end played (the station's playlists run for
/// an hour, so cues after a shorter window are rightly `not-started-in-window`).
fn check_cues(out: &Path, villages: usize, minutes: u64, log: &Path) {
    let fail = |why: String| -> ! {
        let log = fs::read_to_string(log).unwrap_or_default();
        panic!("xiangyin render ({villages} villages, {minutes} min): {why}\n{log}")
    };
    let csv = fs::read_to_string(out.join("cues.csv")).unwrap_or_else(|e| fail(format!("no cues.csv: {e}")));
    let to = DateTime::<FixedOffset>::parse_from_rfc3339(&format!("{}:00+08:00", window_end(minutes)))
        .expect("the window end is a time");
    let mut played = 0;
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (scheduled, outcome) = (f.get(6).copied().unwrap_or(""), f.get(9).copied().unwrap_or(""));
        let at = DateTime::parse_from_rfc3339(scheduled)
            .unwrap_or_else(|_| fail(format!("cues.csv: bad scheduled time in `{line}`")));
        match outcome {
            "played" if at < to => played += 1,
            "not-started-in-window" if at >= to => {}
            _ => fail(format!("cues.csv: `{line}`")),
        }
    }
    let expected = villages as u64 * minutes * 60 / CLIP_S;
    if played != expected {
        fail(format!("{played} cues played, expected {expected}"));
    }
}

/// The same job with one ffmpeg process: every clip looped, its gain, 8 villages per output.
fn run_ffmpeg(clips: &[Clip], minutes: u64, out: &Path, work: &Path) -> Run {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"]);
    let mut graph = String::new();
    for (i, c) in clips.iter().enumerate() {
        cmd.args(["-max_size", "65536", "-stream_loop", "-1", "-i"]).arg(&c.path);
        graph.push_str(&format!("[{i}:a]volume={}dB[a{i}];", c.gain_db));
    }
    let outputs = clips.len().div_ceil(8);
    for k in 0..outputs {
        let ins: String = (k * 8..(k * 8 + 8).min(clips.len())).map(|i| format!("[a{i}]")).collect();
        let n = (k * 8 + 8).min(clips.len()) - k * 8;
        graph.push_str(&format!("{ins}amerge=inputs={n}[o{}]{}", k + 1, if k + 1 < outputs { ";" } else { "" }));
    }
    cmd.arg("-filter_complex").arg(graph);
    let seconds = (minutes * 60).to_string();
    for k in 1..=outputs {
        cmd.args(["-map", &format!("[o{k}]"), "-t", &seconds, "-c:a", "pcm_s16le", "-ar", "48000"])
            .arg(out.join(format!("out{k}.wav")));
    }
    fs::create_dir_all(out).expect("create ffmpeg's output folder");
    measure(cmd, &work.join("ffmpeg.log"), &format!("ffmpeg ({} villages, {minutes} min)", clips.len()))
}

/// Sizes of the WAV files in `out`.
fn wav_sizes(out: &Path) -> BTreeMap<String, u64> {
    fs::read_dir(out)
        .expect("list an output folder")
        .map(|e| e.expect("read an output folder entry"))
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.ends_with(".wav").then(|| (name, e.metadata().expect("stat an output file").len()))
        })
        .collect()
}

fn remove(out: &Path) {
    if out.exists() {
        fs::remove_dir_all(out).expect("delete an output folder");
    }
}

/// Warns unless both sides wrote the same files, each within 1 % of the other's size.
fn compare_sizes(villages: usize, xy: &BTreeMap<String, u64>, ff: &BTreeMap<String, u64>) {
    let same_names = xy.keys().eq(ff.keys());
    let off: Vec<String> = xy
        .iter()
        .filter_map(|(name, &a)| {
            let b = *ff.get(name)?;
            ((a as f64 - b as f64).abs() > 0.01 * a.max(b) as f64).then(|| format!("{name}: {a} vs {b} bytes"))
        })
        .collect();
    if !same_names || !off.is_empty() {
        println!(
            "warning: {villages} villages: the outputs differ (xiangyin {:?}, ffmpeg {:?}) {}",
            xy.keys().collect::<Vec<_>>(),
            ff.keys().collect::<Vec<_>>(),
            off.join(", ")
        );
    }
}

fn same_job(villages: &[usize], rounds: usize, work: &Path) {
    println!();
    println!(
        "same job as ffmpeg: {SAME_JOB_MINUTES}-minute window, every village looping its own {CLIP_S} s clip, \
         8-channel 16-bit 48 kHz WAV files written to disk; best of {rounds} interleaved round(s), peak RSS the \
         largest of the rounds; ffmpeg is tuned with `-max_size 65536` per input (its WAV packet size; \
         ~3× slower with the default)"
    );
    println!(
        "| villages | outputs | xiangyin s | ffmpeg s | speed ratio | xiangyin peak RSS MiB | ffmpeg peak RSS MiB | goal    |"
    );
    println!(
        "|---------:|--------:|-----------:|---------:|------------:|----------------------:|--------------------:|---------|"
    );
    for &n in villages {
        let (dir, clips) = station(n);
        let out = work.join("out");
        let (mut xy, mut ff): (Vec<Run>, Vec<Run>) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            remove(&out);
            xy.push(run_xiangyin(&dir, n, SAME_JOB_MINUTES, &out, work));
            let xy_sizes = wav_sizes(&out);
            remove(&out);
            ff.push(run_ffmpeg(&clips, SAME_JOB_MINUTES, &out, work));
            let ff_sizes = wav_sizes(&out);
            remove(&out);
            if round == 0 {
                compare_sizes(n, &xy_sizes, &ff_sizes);
            }
        }
        let best = |r: &[Run]| r.iter().map(|r| r.wall).min().expect("at least one round").as_secs_f64();
        let rss = |r: &[Run]| mib(r.iter().map(|r| r.rss_kib).max().expect("at least one round"));
        let (xs, fs_) = (best(&xy), best(&ff));
        let (xr, fr) = (rss(&xy), rss(&ff));
        let ratio = fs_ / xs;
        let goal = if ratio >= 1.5 && xr <= fr { "met" } else { "not met" };
        println!(
            "| {n:>8} | {:>7} | {xs:>10.2} | {fs_:>8.2} | {:>11} | {xr:>21.1} | {fr:>19.1} | {goal:<7} |",
            n.div_ceil(8),
            format!("{ratio:.2}×")
        );
    }
    println!("goal: speed ratio (ffmpeg time ÷ xiangyin time) ≥ 1.5× and xiangyin peak RSS ≤ ffmpeg's");
}

/// Least-squares slope of y over x (None with fewer than two distinct x).
fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    let (mx, my) = (points.iter().map(|p| p.0).sum::<f64>() / n, points.iter().map(|p| p.1).sum::<f64>() / n);
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    (sxx > 0.0).then(|| points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>() / sxx)
}

/// Makes OUT/recordings/render-out{K}.wav symlinks to /dev/null before a render.
fn null_outputs(out: &Path, outputs: usize) {
    let rec = out.join("recordings");
    fs::create_dir_all(&rec).expect("create OUT/recordings");
    for k in 1..=outputs {
        std::os::unix::fs::symlink("/dev/null", rec.join(format!("render-out{k}.wav")))
            .expect("symlink a render output to /dev/null");
    }
}

/// After a render: each OUT/out{K}.wav is still the symlink to /dev/null, no other WAV was written,
/// and /dev/null is still the character device.
fn check_null_outputs(out: &Path, outputs: usize) {
    for k in 1..=outputs {
        let p = out.join(format!("out{k}.wav"));
        let target = fs::read_link(&p).unwrap_or_else(|e| panic!("{}: not a symlink any more: {e}", p.display()));
        assert_eq!(target, Path::new("/dev/null"), "{}: points at {}", p.display(), target.display());
    }
    let wavs = wav_sizes(out);
    assert_eq!(wavs.len(), outputs, "the render wrote other WAV files: {:?}", wavs.keys().collect::<Vec<_>>());
    assert!(!out.join("recordings").exists(), "OUT/recordings was left behind");
    use std::os::unix::fs::FileTypeExt;
    let t = fs::metadata("/dev/null").expect("stat /dev/null").file_type();
    assert!(t.is_char_device(), "/dev/null is no longer a character device");
}

fn curve(villages: &[usize], windows: &[u64], work: &Path) {
    println!();
    println!(
        "scale curve, xiangyin render only, one round: every village looping its own {CLIP_S} s clip; every \
         output file goes to /dev/null (OUT/recordings/render-outK.wav made symlinks to /dev/null before the \
         run; checked after it that the render renamed the symlinks and wrote no real file), so this is \
         mixing + encoding without the disk"
    );
    println!("| villages | window min | render s | × real time | µs per village-second | peak RSS MiB |");
    println!("|---------:|-----------:|---------:|------------:|----------------------:|-------------:|");
    let mut rows: Vec<(usize, u64, f64)> = Vec::new();
    for &n in villages {
        let (dir, _) = station(n);
        for &m in windows {
            let out = work.join("out");
            remove(&out);
            null_outputs(&out, n.div_ceil(8));
            let r = run_xiangyin(&dir, n, m, &out, work);
            check_null_outputs(&out, n.div_ceil(8));
            remove(&out);
            let s = r.wall.as_secs_f64();
            let secs = (m * 60) as f64;
            println!(
                "| {n:>8} | {m:>10} | {s:>8.2} | {:>11} | {:>21.1} | {:>12.1} |",
                format!("{:.0}×", secs / s),
                s * 1e6 / (n as f64 * secs),
                mib(r.rss_kib)
            );
            rows.push((n, m, mib(r.rss_kib)));
        }
    }
    // RSS growth: per village at 10 min (or the first window), per minute at the most villages.
    let at_m = if windows.contains(&10) { 10 } else { windows[0] };
    let max_n = *villages.iter().max().expect("some villages");
    let per_village: Vec<(f64, f64)> = rows.iter().filter(|r| r.1 == at_m).map(|r| (r.0 as f64, r.2)).collect();
    let per_minute: Vec<(f64, f64)> = rows.iter().filter(|r| r.0 == max_n).map(|r| (r.1 as f64, r.2)).collect();
    let show =
        |s: Option<f64>, unit: &str| s.map_or("n/a (one point)".to_owned(), |s| format!("{s:.2} MiB per {unit}"));
    println!(
        "RSS growth (least squares): {} (at {at_m} min); {} of window (at {max_n} villages)",
        show(slope(&per_village), "village"),
        show(slope(&per_minute), "minute")
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let ffmpeg = Command::new("ffmpeg").arg("-version").output();
    assert!(ffmpeg.is_ok_and(|o| o.status.success()), "ffmpeg is missing (make bench installs it)");
    let villages: Vec<usize> = env_list("XY_BENCH_VILLAGES", &ALL_VILLAGES);
    for &n in &villages {
        assert!(n > 0 && n % 8 == 0, "XY_BENCH_VILLAGES: {n} is not a multiple of 8");
    }
    let windows: Vec<u64> = env_list("XY_BENCH_WINDOWS", &CURVE_WINDOWS);
    let rounds: usize = env_list("XY_BENCH_ROUNDS", &[3usize])[0].max(1);
    let skip_curve = std::env::var("XY_BENCH_SKIP_CURVE").is_ok_and(|v| !v.is_empty() && v != "0");
    let stations = Path::new(ROOT).join("target/bench-stations");
    fs::create_dir_all(&stations).expect("create target/bench-stations");
    // Outputs and state go beside the stations (the same disk as target/, not a small tmpfs).
    let work = tempfile::tempdir_in(&stations).expect("create the benchmark's work folder");

    let same: Vec<usize> =
        if std::env::var("XY_BENCH_VILLAGES").is_ok() { villages.clone() } else { SAME_JOB_VILLAGES.to_vec() };
    same_job(&same, rounds, work.path());
    if !skip_curve {
        curve(&villages, &windows, work.path());
    }
}
