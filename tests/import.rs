//! `xiangyin import` through the real binary: every accepted format and odd variant, every refusal
//! leaving the library untouched, idempotent re-import, and imports killed at random moments.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Station, fixture, json_lines, snapshot, stdout};

fn import_json(st: &Station, file: &Path, extra: &[&str]) -> (bool, serde_json::Value) {
    let mut args = vec!["import", file.to_str().unwrap(), "--json"];
    if !extra.contains(&"--language") {
        args.extend(["--language", "cmn"]);
    }
    if !extra.contains(&"--kind") {
        args.extend(["--kind", "notice"]);
    }
    args.extend_from_slice(extra);
    let out = st.run(&args);
    let mut lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{}", stdout(&out));
    (out.status.success(), lines.remove(0))
}

/// Reads a canonical copy: (rate, channels, float?, frames).
fn canonical_shape(st: &Station, id: &str) -> (u32, u16, bool, u32) {
    let r = hound::WavReader::open(st.library().join(id).join("canonical.wav")).unwrap();
    let s = r.spec();
    (s.sample_rate, s.channels, s.sample_format == hound::SampleFormat::Float, r.duration())
}

#[test]
fn every_supported_format_imports_at_the_right_loudness_and_length() {
    // All fixtures are a 1 kHz sine peaking at -20 dBFS, 2.0 s long: -23.0 LUFS as one channel.
    let st = Station::new(false);
    let cases = [
        ("tone-mono-44100.mp3", "mp3", 0.6),
        ("tone-stereo-48000.mp3", "mp3", 0.6),
        ("tone-mono-48000.flac", "flac", 0.1),
        ("tone-stereo-96000-24bit.flac", "flac", 0.1),
        ("tone-mono-44100.ogg", "vorbis", 0.3),
        ("tone-stereo-44100.m4a", "aac", 0.3),
        ("tone-mono-8000-u8.wav", "pcm_u8", 0.2),
    ];
    for (name, codec, tolerance) in cases {
        let (ok, v) = import_json(&st, &fixture(name), &[]);
        assert!(ok, "{name}: {v}");
        assert_eq!(v["original"]["codec"], codec, "{name}");
        let lufs = v["loudness"]["integrated_lufs"].as_f64().unwrap();
        assert!((lufs + 23.0).abs() <= tolerance, "{name}: {lufs} LUFS");
        let dur = v["duration_s"].as_f64().unwrap();
        assert!((dur - 2.0).abs() < 0.06, "{name}: {dur} s");
        let gain = v["loudness"]["gain_db"].as_f64().unwrap();
        assert!((gain - (-23.0 - lufs)).abs() < 0.02, "{name}: gain {gain} for {lufs} LUFS");
        let id = v["id"].as_str().unwrap();
        let (rate, chans, float, frames) = canonical_shape(&st, id);
        assert_eq!((rate, chans, float), (48_000, 1, true), "{name}");
        assert!((i64::from(frames) - 96_000).abs() < 3_000, "{name}: {frames} frames");
        // The original is kept byte for byte.
        let ext = Path::new(name).extension().unwrap().to_str().unwrap();
        assert_eq!(
            std::fs::read(st.library().join(id).join(format!("original.{ext}"))).unwrap(),
            std::fs::read(fixture(name)).unwrap()
        );
    }
    let out = st.run(&["clips"]);
    assert_eq!(stdout(&out).lines().last(), Some("7 clips"));
}

#[test]
fn wav_in_every_bit_depth_and_float_imports() {
    let st = Station::new(false);
    let dir = tempfile::tempdir().unwrap();
    let amp = 10f64.powf(-20.0 / 20.0);
    for (bits, float, rate, chans) in [
        (16, false, 44_100, 1),
        (24, false, 48_000, 2),
        (32, false, 22_050, 1),
        (32, true, 96_000, 2),
        (8, false, 16_000, 1),
    ] {
        let path = dir.path().join(format!("tone-{bits}{}-{rate}-{chans}.wav", if float { "f" } else { "" }));
        common::write_wav(&path, &common::sine(1000.0, amp, rate, chans, 2.0), rate, chans, bits, float);
        let (ok, v) = import_json(&st, &path, &[]);
        assert!(ok, "{}: {v}", path.display());
        let lufs = v["loudness"]["integrated_lufs"].as_f64().unwrap();
        assert!((lufs + 23.0).abs() < 0.15, "{}: {lufs}", path.display());
        assert_eq!(v["original"]["sample_rate"], rate);
        assert_eq!(v["original"]["channels"], chans);
    }
}

#[test]
fn a_full_scale_997_hz_sine_measures_minus_3_01_lufs_and_is_turned_down() {
    let st = Station::new(false);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loud.wav");
    common::write_wav(&path, &common::sine(997.0, 1.0, 48_000, 1, 3.0), 48_000, 1, 32, true);
    let (ok, v) = import_json(&st, &path, &[]);
    assert!(ok, "{v}");
    let lufs = v["loudness"]["integrated_lufs"].as_f64().unwrap();
    assert!((lufs + 3.01).abs() < 0.1, "{lufs}");
    // Target -23 LUFS would need -19.99 dB; the true-peak ceiling is not the limit here.
    assert!((v["loudness"]["gain_db"].as_f64().unwrap() + 19.99).abs() < 0.1, "{v}");
}

#[test]
fn a_beep_shorter_than_a_gating_block_is_measured_not_called_silent() {
    let st = Station::new(false);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("beep.wav");
    // 0.2 s of 1 kHz at -20 dBFS peak: -23.0 LUFS when measured over its own length.
    common::write_wav(&path, &common::sine(1000.0, 0.1, 48_000, 1, 0.2), 48_000, 1, 16, false);
    let (ok, v) = import_json(&st, &path, &["--kind", "chime"]);
    assert!(ok, "{v}");
    let lufs = v["loudness"]["integrated_lufs"].as_f64().unwrap();
    assert!((lufs + 23.0).abs() < 0.3, "{lufs}");
}

#[test]
fn each_refusal_is_one_sentence_and_leaves_the_library_byte_for_byte() {
    let st = Station::new(true);
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("long.wav");
    common::write_wav(&long, &common::sine(440.0, 0.3, 8_000, 1, 40.0), 8_000, 1, 16, false);
    st.edit("schedules/station.yaml", "max_clip_minutes: 30", "max_clip_minutes: 0.5");
    let before = snapshot(&st.library());
    let cases: Vec<(std::path::PathBuf, &[&str], &str)> = vec![
        (fixture("empty.wav"), &[], "the file is empty"),
        (fixture("not-audio.mp3"), &[], "not an audio file we can read"),
        (fixture("truncated.mp3"), &[], "ends at 0:03.9 although the file says it lasts 0:10.0"),
        (fixture("truncated.flac"), &[], "although the file says it lasts 0:10.0"),
        (fixture("garbage-middle.mp3"), &[], "damaged"),
        (fixture("tone-stereo-44100.opus"), &[], "encoded as Opus"),
        (fixture("silence.wav"), &[], "silent"),
        (long.clone(), &[], "lasts 0:40.0, longer than the station's limit of 0:30.0"),
        (
            fixture("tone-mono-48000.flac"),
            &["--language", "eng"],
            "language `eng` is not one of the station's languages",
        ),
        (fixture("tone-mono-48000.flac"), &["--title", "  "], "needs a title"),
        (fixture("tone-mono-48000.flac"), &["--expires", "next week"], "not a date"),
        (dir.path().join("no-such-file.wav"), &[], "could not be read"),
    ];
    for (file, extra, expect) in cases {
        let (ok, v) = import_json(&st, &file, extra);
        assert!(!ok, "{} should be refused: {v}", file.display());
        let err = v["error"].as_str().unwrap_or_else(|| panic!("{v}"));
        assert!(err.contains(expect), "{}: {err}", file.display());
        assert!(!err.contains('\n'), "one sentence: {err}");
        assert_eq!(snapshot(&st.library()), before, "{} changed the library", file.display());
    }
    let staging = st.root().join("var/staging");
    assert_eq!(std::fs::read_dir(&staging).map(|d| d.count()).unwrap_or(0), 0, "staging left behind");
}

#[test]
fn importing_the_same_file_twice_gives_the_same_id_and_no_second_copy() {
    let st = Station::new(false);
    let (ok, first) = import_json(&st, &fixture("tone-mono-44100.ogg"), &[]);
    assert!(ok && first["existing"] == false, "{first}");
    let after_first = snapshot(&st.library());
    let (ok, second) = import_json(&st, &fixture("tone-mono-44100.ogg"), &["--title", "another name"]);
    assert!(ok && second["existing"] == true, "{second}");
    assert_eq!(first["id"], second["id"]);
    assert_eq!(second["title"], first["title"], "the stored clip is unchanged");
    assert_eq!(snapshot(&st.library()), after_first);
    // A copy under another name is the same audio.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("renamed.ogg");
    std::fs::copy(fixture("tone-mono-44100.ogg"), &copy).unwrap();
    let (_, third) = import_json(&st, &copy, &[]);
    assert_eq!(third["id"], first["id"]);
    assert_eq!(std::fs::read_dir(st.library()).unwrap().count(), 1);
}

#[test]
fn a_folder_of_mixed_recordings_gets_a_verdict_per_file() {
    let st = Station::new(false);
    let out = st.run(&["import", fixture("").to_str().unwrap(), "--language", "cmn", "--kind", "other", "--json"]);
    assert_eq!(out.status.code(), Some(1), "some files are refused");
    let verdicts = json_lines(&out);
    let files = std::fs::read_dir(fixture("")).unwrap().count();
    assert_eq!(verdicts.len(), files, "one verdict per file");
    let accepted: Vec<&str> =
        verdicts.iter().filter(|v| v.get("error").is_none()).map(|v| v["file"].as_str().unwrap()).collect();
    assert_eq!(accepted.len(), 7, "{accepted:?}");
    assert!(accepted.iter().all(|f| f.contains("tone-") && !f.ends_with(".opus")), "{accepted:?}");
}

/// Every clip folder in the library is complete: sidecar readable, canonical copy of the stated length.
fn assert_consistent(st: &Station) -> usize {
    let out = st.run(&["clips", "--json"]);
    assert!(out.status.success(), "broken clip folder: {}", common::stderr(&out));
    let clips: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    for c in &clips {
        let id = c["id"].as_str().unwrap();
        let (_, _, _, frames) = canonical_shape(st, id);
        assert_eq!(u64::from(frames), c["canonical"]["frames"].as_u64().unwrap(), "{id}");
    }
    clips.len()
}

#[test]
fn an_import_killed_at_any_moment_leaves_no_half_written_clip() {
    let st = Station::new(false);
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("long-notice.wav");
    common::write_wav(&big, &common::sine(523.0, 0.25, 44_100, 2, 240.0), 44_100, 2, 16, false);

    // How long an undisturbed import takes here, to spread the kills over it.
    let probe = Station::new(false);
    let t0 = std::time::Instant::now();
    assert!(probe.run(&["import", big.to_str().unwrap(), "--language", "cmn", "--kind", "notice"]).status.success());
    let full = t0.elapsed();

    for step in 0..8u32 {
        let delay = full.mul_f64(f64::from(step) / 8.0 + 0.03);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_xiangyin"))
            .args([
                "--root",
                st.root().to_str().unwrap(),
                "import",
                big.to_str().unwrap(),
                "--language",
                "cmn",
                "--kind",
                "notice",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let n = assert_consistent(&st);
        assert!(n <= 1, "at most the one clip");
    }
    // The next import cleans what the killed ones left in staging and completes.
    let out = st.run(&["import", big.to_str().unwrap(), "--language", "cmn", "--kind", "notice"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(assert_consistent(&st), 1);
    // Imports are built in the library's own work area (one file system, one rename).
    let work = st.library().join(".staging");
    assert!(
        !work.exists(),
        "staging folders of killed imports remain: {:?}",
        std::fs::read_dir(&work).map(|d| d.count())
    );
    let _ = Duration::ZERO;
}

/// A 16-bit mono WAV of `frames` frames of a quiet tone whose header claims `rate` Hz.
fn wav_claiming(path: &Path, rate: u32, frames: usize) {
    let data: Vec<u8> = (0..frames).flat_map(|i| ((8000.0 * (i as f64 / 10.0).sin()) as i16).to_le_bytes()).collect();
    let mut f = Vec::new();
    f.extend(b"RIFF");
    f.extend((36 + data.len() as u32).to_le_bytes());
    f.extend(b"WAVEfmt ");
    f.extend(16u32.to_le_bytes());
    f.extend(1u16.to_le_bytes()); // PCM
    f.extend(1u16.to_le_bytes()); // mono
    f.extend(rate.to_le_bytes());
    f.extend(rate.wrapping_mul(2).to_le_bytes());
    f.extend(2u16.to_le_bytes());
    f.extend(16u16.to_le_bytes());
    f.extend(b"data");
    f.extend((data.len() as u32).to_le_bytes());
    f.extend(data);
    std::fs::write(path, f).unwrap();
}

/// A header that lies about the sample rate is refused with a sentence about the header, before
/// anything is allocated for it: under a 1 GB address-space limit, with no clip written. (Before,
/// 4,294,967,295 Hz made the import grow without bound, and 0 or 1 Hz was called "800 minutes".)
#[test]
fn a_wav_whose_header_lies_about_its_rate_is_refused_in_bounded_memory() {
    let st = Station::new(false);
    let dir = tempfile::tempdir().unwrap();
    for rate in [u32::MAX, (1 << 31) - 1, 0, 1] {
        let path = dir.path().join(format!("rate-{rate}.wav"));
        wav_claiming(&path, rate, 48_000);
        let before = snapshot(&st.library());
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -v 1000000; exec '{}' --root '{}' import '{}' --language cmn --kind notice",
                env!("CARGO_BIN_EXE_xiangyin"),
                st.root().display(),
                path.display()
            ))
            .output()
            .unwrap();
        let said = format!("{}{}", stdout(&out), common::stderr(&out));
        assert_eq!(out.status.code(), Some(1), "{rate} Hz: {said}");
        assert!(
            said.contains("header is wrong") && said.contains(&format!("{rate} Hz")),
            "{rate} Hz: want a sentence about the header, got {said}"
        );
        assert!(!said.contains("800:00") && !said.contains("panicked"), "{rate} Hz: {said}");
        assert_eq!(snapshot(&st.library()), before, "{rate} Hz: the library changed");
    }
}

#[test]
fn listing_into_a_reader_that_stopped_reading_ends_quietly() {
    // `xiangyin clips --json | head -1`: head exits, the next write meets a closed pipe. The
    // reading end is closed before the listing starts, so every run meets it.
    let st = Station::new(true);
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    for args in [&["clips", "--json"][..], &["clips"], &["log", "--csv"]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_xiangyin"))
            .arg("--root")
            .arg(st.root())
            .args(args)
            .stdout(writer.try_clone().unwrap())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?}\n{err}", out.status);
        assert!(!err.contains("Broken pipe") && !err.contains("panicked"), "{args:?}: {err}");
    }
}
