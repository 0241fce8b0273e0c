//! Helpers shared by the integration tests: a throw-away station, the real binary, generated audio.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where the shipped demo content lives).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[path = "demo.rs"]
mod demo;
pub use demo::{copy_demo_awake_from, copy_demo_from};

/// Copies the repository's demo content (as git has it: not what trying `make run` did to the
/// working tree) into `dest`.
pub fn copy_demo(dest: &Path) {
    copy_demo_from(&repo(), dest);
}

/// [`copy_demo`] without the villages' quiet hours (tests that play whatever the hour).
pub fn copy_demo_awake(dest: &Path) {
    copy_demo_awake_from(&repo(), dest);
}

/// The committed fixture `name`.
pub fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures").join(name)
}

/// A station in a temporary folder: the demo schedules and profiles, and an empty library unless
/// `with_library` copies the demo clips too.
pub struct Station {
    pub dir: tempfile::TempDir,
}

impl Station {
    pub fn new(with_library: bool) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_demo(dir.path());
        if !with_library {
            std::fs::remove_dir_all(dir.path().join("audio-library")).unwrap();
            std::fs::create_dir_all(dir.path().join("audio-library")).unwrap();
        }
        Self { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn library(&self) -> PathBuf {
        self.root().join("audio-library")
    }

    /// Runs `xiangyin --root ROOT args...`.
    pub fn run(&self, args: &[&str]) -> Output {
        xiangyin(self.root(), args)
    }

    /// Replaces the text `from` with `to` in `file` (relative to the root); panics if absent.
    pub fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.root().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} does not contain {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }
}

/// Runs the real binary.
pub fn xiangyin(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xiangyin"))
        .arg("--root")
        .arg(root)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run xiangyin")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Copies the folder `from` to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    demo::copy_tree(from, to);
}

/// Every file under `dir` with its bytes, keyed by relative path (folders included, empty).
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let rel = entry.path().strip_prefix(base).unwrap().to_path_buf();
            if entry.file_type().unwrap().is_dir() {
                out.insert(rel.join(""), Vec::new());
                walk(base, &entry.path(), out);
            } else {
                out.insert(rel, std::fs::read(entry.path()).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out
}

/// A sine, `secs` long, at `amp` of full scale, in every channel.
pub fn sine(freq: f64, amp: f64, rate: u32, channels: u16, secs: f64) -> Vec<f64> {
    let frames = (f64::from(rate) * secs) as usize;
    let mut out = Vec::with_capacity(frames * usize::from(channels));
    for i in 0..frames {
        let v = amp * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin();
        for _ in 0..channels {
            out.push(v);
        }
    }
    out
}

/// Writes interleaved samples (−1..1) as a WAV of the given integer or float sample format.
pub fn write_wav(path: &Path, samples: &[f64], rate: u32, channels: u16, bits: u16, float: bool) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float { hound::SampleFormat::Float } else { hound::SampleFormat::Int },
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        if float {
            w.write_sample(s as f32).unwrap();
        } else {
            let max = f64::from(1u32 << (bits - 1)) - 1.0;
            let v = (s * max).round() as i32;
            match bits {
                8 => w.write_sample(v as i8).unwrap(),
                16 => w.write_sample(v as i16).unwrap(),
                _ => w.write_sample(v).unwrap(),
            }
        }
    }
    w.finalize().unwrap();
}

/// Parses `--json` output of `import` (one object per line).
pub fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

/// Splits RFC 4180 CSV text (what `xiangyin log --csv` writes) into records of fields.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    records
}

/// The records of CSV `text` after its header line, each as column name → field.
pub fn csv_records(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut records = parse_csv(text).into_iter();
    let head = records.next().unwrap_or_default();
    records.map(|r| head.iter().cloned().zip(r).collect()).collect()
}
