//! Import benchmark: a 5-minute 192 kbps stereo MP3, the same as FLAC, and a 30-minute 16 kHz mono
//! WAV (a phone recorder's), each imported (decode + loudness + true peak + canonical copy) beside
//! `ffmpeg -threads 1 -i F -f null -` (plain decode) on the same file, rounds interleaved; with
//! the peak RSS of both as processes. Prints a table.
//!
//! Run: `make bench` (or `cargo bench --bench import`). Needs ffmpeg to make the MP3 and to compare.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use xiangyin::config::{self, Layout};
use xiangyin::domain::{ClipKind, ReviewState};
use xiangyin::library::{ImportRequest, Library};

const RUNS: usize = 5;

/// (best, median) of the times.
fn best_of(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[0], times[times.len() / 2])
}

fn have(cmd: &str) -> bool {
    Command::new(cmd).arg("-version").output().is_ok_and(|o| o.status.success())
}

fn make_mp3(dir: &Path) -> std::path::PathBuf {
    // Five minutes of something music-like: a few detuned partials with slow tremolo, plus noise.
    let wav = dir.join("source.wav");
    let rate = 44_100u32;
    let spec =
        hound::WavSpec { channels: 2, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(&wav, spec).unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for i in 0..rate as usize * 300 {
        let t = i as f64 / f64::from(rate);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let noise = (seed >> 40) as f64 / f64::from(1u32 << 24) - 0.5;
        let trem = 0.6 + 0.4 * (2.0 * std::f64::consts::PI * 0.3 * t).sin();
        let tone = [220.0, 277.2, 329.6, 440.5].iter().map(|f| (2.0 * std::f64::consts::PI * f * t).sin()).sum::<f64>();
        let l = 0.12 * trem * tone + 0.05 * noise;
        let r = 0.12 * trem * tone - 0.05 * noise;
        w.write_sample((l * 32767.0) as i16).unwrap();
        w.write_sample((r * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
    let mp3 = dir.join("five-minutes-192k.mp3");
    let st = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(&wav)
        .args(["-c:a", "libmp3lame", "-b:a", "192k"])
        .arg(&mp3)
        .status()
        .unwrap();
    assert!(st.success(), "ffmpeg could not encode the benchmark MP3");
    mp3
}

/// Runs `ffmpeg` with `args` on the source `wav`, writing `out`; returns `out`.
fn convert(wav: &Path, args: &[&str], out: std::path::PathBuf) -> std::path::PathBuf {
    let st = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args.iter().take_while(|a| **a != "-i"))
        .arg("-i")
        .arg(wav)
        .args(args.iter().skip_while(|a| **a != "-i").skip(1))
        .arg(&out)
        .status()
        .expect("run ffmpeg");
    assert!(st.success(), "ffmpeg could not make {}", out.display());
    out
}

/// Runs a command to its end; returns its wall time and peak RSS (KiB, from `wait4`).
fn measured(cmd: &mut Command) -> (Duration, u64) {
    let t = Instant::now();
    let child = cmd.stdout(std::process::Stdio::null()).spawn().expect("start the command");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, with valid pointers.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let e = t.elapsed();
    assert!(pid > 0 && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "{cmd:?} failed ({status:#x})");
    (e, usage.ru_maxrss as u64)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    if !have("ffmpeg") {
        println!(
            "ffmpeg is not installed: `apt-get install ffmpeg`, then run again (it makes the test files and is the yardstick)."
        );
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mp3 = make_mp3(work.path());
    let source = work.path().join("source.wav");
    let flac = convert(&source, &["-i", "-c:a", "flac"], work.path().join("five-minutes.flac"));
    // 30 minutes (the demo station's longest clip) of the same sound, 16 kHz mono 16-bit.
    let long = convert(
        &source,
        &["-stream_loop", "5", "-i", "-ac", "1", "-ar", "16000", "-t", "1799", "-c:a", "pcm_s16le"],
        work.path().join("thirty-minutes-16k.wav"),
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let station = config::load_station(&Layout::new(root)).expect("demo station.yaml");
    // A station root for the process imports: the demo's configuration, an empty library.
    let proc_root = tempfile::tempdir().unwrap();
    for sub in ["schedules", "hardware-profiles"] {
        let dst = proc_root.path().join(sub);
        std::fs::create_dir_all(&dst).unwrap();
        for e in std::fs::read_dir(root.join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
        }
    }

    println!();
    println!(
        "import beside ffmpeg's plain decode (`ffmpeg -threads 1 -i F -f null -`), rounds interleaved, best of {RUNS} \
         (median in brackets); peak RSS of `xiangyin import F` and of that ffmpeg as processes"
    );
    println!(
        "| file | ffmpeg decode | import (in process) | × ffmpeg | `xiangyin import` process | × ffmpeg | RSS import / ffmpeg MiB | goal |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    let cases: [(&str, &Path, f64); 3] = [
        ("5 min MP3 192 kbps stereo", &mp3, 1.0),
        ("5 min FLAC stereo 44.1 kHz", &flac, 1.0),
        ("30 min WAV 16 kHz mono", &long, 1.5),
    ];
    for (what, file, goal) in cases {
        let (mut ff, mut ours, mut cli) = (Vec::new(), Vec::new(), Vec::new());
        let (mut ff_rss, mut cli_rss) = (0, 0);
        for _ in 0..RUNS {
            let (t, rss) = measured(
                Command::new("ffmpeg")
                    .args(["-hide_banner", "-loglevel", "error", "-threads", "1", "-i"])
                    .arg(file)
                    .args(["-f", "null", "-"]),
            );
            ff.push(t);
            ff_rss = ff_rss.max(rss);
            let lib_dir = tempfile::tempdir().unwrap();
            let lib = Library::new(lib_dir.path().join("audio-library"), lib_dir.path().join("staging"));
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let req = ImportRequest {
                path: file,
                uploaded_name: &name,
                title: "bench",
                language: "cmn",
                kind: ClipKind::Song,
                message: None,
                transcript: None,
                expires: None,
                max_plays_per_day: None,
                uploader: "bench",
                review: ReviewState::Pending,
                station: &station,
            };
            let t = Instant::now();
            let out = lib.import(&req).expect("import");
            ours.push(t.elapsed());
            assert!(!out.existing);
            let _ = std::fs::remove_dir_all(proc_root.path().join("audio-library"));
            let (t, rss) = measured(
                Command::new(env!("CARGO_BIN_EXE_xiangyin"))
                    .arg("--root")
                    .arg(proc_root.path())
                    .args(["import", "--language", "cmn", "--kind", "song"])
                    .arg(file),
            );
            cli.push(t);
            cli_rss = cli_rss.max(rss);
        }
        let (ff, ours, cli) = (best_of(ff), best_of(ours), best_of(cli));
        let ratio = |d: (Duration, Duration)| d.0.as_secs_f64() / ff.0.as_secs_f64();
        let cell = |d: (Duration, Duration)| format!("{:.3} s ({:.3})", d.0.as_secs_f64(), d.1.as_secs_f64());
        let met = if ratio(ours) <= goal { "met" } else { "not met" };
        println!(
            "| {what} | {} | {} | {:.2} | {} | {:.2} | {:.1} / {:.1} | ≤ {goal:.1}× ffmpeg: {met} |",
            cell(ff),
            cell(ours),
            ratio(ours),
            cell(cli),
            ratio(cli),
            cli_rss as f64 / 1024.0,
            ff_rss as f64 / 1024.0
        );
    }
}
