//! `xiangyin clips`: the library as a table or JSON.

use std::io::Write;

use super::Paths;
use crate::library::tenths;

/// Lists every clip. Unreadable clip folders are reported on `err` and make the result false.
pub fn run(paths: &Paths, as_json: bool, out: &mut dyn Write, err: &mut dyn Write) -> std::io::Result<bool> {
    let (clips, broken) = paths.library().list()?;
    for b in &broken {
        writeln!(err, "warning: {}: {}", paths.layout.shown(&b.dir).display(), b.why)?;
    }
    if as_json {
        writeln!(out, "{}", serde_json::to_string_pretty(&clips).map_err(std::io::Error::other)?)?;
        return Ok(broken.is_empty());
    }
    if clips.is_empty() {
        writeln!(out, "the library is empty; add recordings with `xiangyin import`")?;
        return Ok(broken.is_empty());
    }
    writeln!(
        out,
        "{:<16}  {:<12}  {:<12}  {:>8}  {:>7}  {:>7}  {:<9}  title",
        "id", "language", "kind", "duration", "LUFS", "dBTP", "review"
    )?;
    for c in &clips {
        writeln!(
            out,
            "{:<16}  {:<12}  {:<12}  {:>7.1}s  {:>7.1}  {:>7.1}  {:<9}  {}",
            c.id.as_str(),
            c.language.as_str(),
            c.kind.name(),
            c.duration_s,
            tenths(c.loudness.integrated_lufs),
            tenths(c.loudness.true_peak_dbtp),
            c.review.name(),
            c.title
        )?;
    }
    writeln!(out, "{} clips", clips.len())?;
    Ok(broken.is_empty())
}
