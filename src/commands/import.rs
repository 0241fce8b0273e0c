//! `xiangyin import`: files (or folders of files) into the clip library.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use serde_json::json;

use super::Paths;
use crate::config;
use crate::domain::{ClipKind, ReviewState};
use crate::library::{ClipMeta, ImportError, ImportRequest, Refusal, tenths};

/// Tags given on the command line, applied to every file.
#[derive(Debug, Clone)]
pub struct Tags {
    /// Title; default: the file name without extension.
    pub title: Option<String>,
    /// Language tag.
    pub language: String,
    /// Kind.
    pub kind: ClipKind,
    /// Message id.
    pub message: Option<String>,
    /// Transcript.
    pub transcript: Option<String>,
    /// Expiry date (YYYY-MM-DD).
    pub expires: Option<String>,
    /// At most this many plays per village and local day (`--max-plays-per-day`); `None` for no
    /// limit. 0 is refused for every file, with a sentence saying so.
    pub max_plays_per_day: Option<u32>,
    /// Mark approved right away (station staff importing at the station).
    pub approve: bool,
    /// Who imports.
    pub uploader: String,
}

/// Files named on the command line, folders expanded (sorted, hidden files skipped, not recursive).
pub fn expand(inputs: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|f| f.is_file() && !f.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')))
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            files.push(p.clone());
        }
    }
    files
}

/// Imports each file; prints one line (or one JSON object) per file. Returns true when every file
/// was imported or already present.
pub fn run(
    paths: &Paths,
    inputs: &[PathBuf],
    tags: &Tags,
    as_json: bool,
    out: &mut dyn Write,
) -> std::io::Result<bool> {
    let station = match config::load_station(&paths.layout) {
        Ok(s) => s,
        Err(problems) => {
            let msg = format!("the station settings have problems, fix them first:\n{problems}");
            if as_json {
                writeln!(out, "{}", json!({ "error": msg.trim_end() }))?;
            } else {
                write!(out, "{msg}")?;
            }
            return Ok(false);
        }
    };
    let library = paths.library();
    let files = expand(inputs);
    if files.is_empty() {
        let msg = "no files to import";
        if as_json {
            writeln!(out, "{}", json!({ "error": msg }))?;
        } else {
            writeln!(out, "{msg}")?;
        }
        return Ok(false);
    }
    let mut all_ok = true;
    for file in &files {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("upload").to_owned();
        let title = tags.title.clone().unwrap_or_else(|| stem(file));
        let req = ImportRequest {
            path: file,
            uploaded_name: &name,
            title: &title,
            language: &tags.language,
            kind: tags.kind,
            message: tags.message.as_deref(),
            transcript: tags.transcript.as_deref(),
            expires: tags.expires.as_deref(),
            max_plays_per_day: tags.max_plays_per_day,
            uploader: &tags.uploader,
            review: if tags.approve { ReviewState::Approved } else { ReviewState::Pending },
            station: &station,
        };
        let result = catch_unwind(AssertUnwindSafe(|| library.import(&req))).unwrap_or_else(|_| {
            Err(ImportError::Refused(Refusal::Corrupt { at_s: 0.0, detail: "the decoder gave up on this file".into() }))
        });
        match result {
            Ok(done) => {
                if as_json {
                    let mut v = serde_json::to_value(&done.meta).unwrap_or_default();
                    v["file"] = json!(file.display().to_string());
                    v["existing"] = json!(done.existing);
                    writeln!(out, "{v}")?;
                } else {
                    writeln!(out, "{}", describe(file, &done.meta, done.existing))?;
                }
            }
            Err(e) => {
                all_ok = false;
                if as_json {
                    writeln!(out, "{}", json!({ "file": file.display().to_string(), "error": e.to_string() }))?;
                } else {
                    writeln!(out, "{}: refused: {e}", file.display())?;
                }
            }
        }
    }
    Ok(all_ok)
}

fn stem(p: &Path) -> String {
    p.file_stem().and_then(|s| s.to_str()).unwrap_or("untitled").to_owned()
}

fn describe(file: &Path, m: &ClipMeta, existing: bool) -> String {
    let what = if existing { "already in the library as" } else { "imported as" };
    let mut line = format!(
        "{}: {what} {} — {} [{} {}], {:.1} s, {:.1} LUFS, {:.1} dBTP, gain {:+.1} dB, {}",
        file.display(),
        m.id,
        m.title,
        m.language,
        m.kind,
        m.duration_s,
        tenths(m.loudness.integrated_lufs),
        tenths(m.loudness.true_peak_dbtp),
        tenths(m.loudness.gain_db),
        m.review.name()
    );
    if let Some(n) = m.max_plays_per_day {
        line.push_str(&format!(", at most {n} plays a day per village"));
    }
    line
}
