//! Import benchmark: a 5-minute 192 kbps stereo MP3, imported (decode + loudness + canonical copy)
//! beside `ffmpeg -i F -f null -` (plain decode) on the same file. Prints a table.
//!
//! Run: `make bench` (or `cargo bench --bench import`). Needs ffmpeg to make the MP3 and to compare.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use xiangyin::config::{self, Layout};
use xiangyin::domain::{ClipKind, ReviewState};
use xiangyin::library::{ImportRequest, Library};

const RUNS: usize = 5;

fn best_of(runs: usize, mut f: impl FnMut() -> Duration) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs).map(|_| f()).collect();
    times.sort();
    (times[0], times[runs / 2])
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
            "ffmpeg is not installed: `apt-get install ffmpeg`, then run again (it makes the test MP3 and is the yardstick)."
        );
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mp3 = make_mp3(work.path());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let station = config::load_station(&Layout::new(root)).expect("demo station.yaml");

    let (ff_best, ff_median) = best_of(RUNS, || {
        let t = Instant::now();
        let ok = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-threads", "1", "-i"])
            .arg(&mp3)
            .args(["-f", "null", "-"])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        t.elapsed()
    });

    let (ours_best, ours_median) = best_of(RUNS, || {
        let lib_dir = tempfile::tempdir().unwrap();
        let lib = Library::new(lib_dir.path().join("audio-library"), lib_dir.path().join("staging"));
        let req = ImportRequest {
            path: &mp3,
            uploaded_name: "five-minutes-192k.mp3",
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
        let e = t.elapsed();
        assert!(!out.existing);
        e
    });

    // The same import as a process, the way ffmpeg is measured (process start, config load, fsyncs).
    let (cli_best, cli_median) = best_of(RUNS, || {
        let root = tempfile::tempdir().unwrap();
        for sub in ["schedules", "hardware-profiles"] {
            let dst = root.path().join(sub);
            std::fs::create_dir_all(&dst).unwrap();
            for e in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(sub)).unwrap() {
                let e = e.unwrap();
                std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
            }
        }
        let t = Instant::now();
        let ok = Command::new(env!("CARGO_BIN_EXE_xiangyin"))
            .arg("--root")
            .arg(root.path())
            .args(["import", "--language", "cmn", "--kind", "song"])
            .arg(&mp3)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok);
        t.elapsed()
    });

    let size = std::fs::metadata(&mp3).unwrap().len();
    println!();
    println!(
        "import of a 5-minute 192 kbps stereo MP3 ({:.1} MB), best of {RUNS} (median in brackets)",
        size as f64 / 1e6
    );
    println!("| what                                              | time            | × ffmpeg |");
    println!("|---------------------------------------------------|-----------------|----------|");
    println!(
        "| ffmpeg -threads 1 -i F -f null - (decode only)    | {:>6.3} s ({:.3}) | 1.00     |",
        ff_best.as_secs_f64(),
        ff_median.as_secs_f64()
    );
    println!(
        "| xiangyin import (decode+R128+true peak+48k copy)  | {:>6.3} s ({:.3}) | {:.2}     |",
        ours_best.as_secs_f64(),
        ours_median.as_secs_f64(),
        ours_best.as_secs_f64() / ff_best.as_secs_f64()
    );
    println!(
        "| `xiangyin import F` as a process                  | {:>6.3} s ({:.3}) | {:.2}     |",
        cli_best.as_secs_f64(),
        cli_median.as_secs_f64(),
        cli_best.as_secs_f64() / ff_best.as_secs_f64()
    );
    println!("goal: ≤ 1.00 × ffmpeg's plain decode");
}
