//! The as-run log as CSV, for spreadsheets and scripts.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;

use super::AsRunRow;

/// The header line of [`write_csv`] (without its line end).
pub const CSV_HEADER: &str = "cue,village,zone,clip,language,priority,slot,scheduled,started,ended,late_ms,outcome,detail,title,heard,\
     heard_level_dbfs,heard_delay_ms,heard_detail";

/// Writes `rows` as CSV: the [`CSV_HEADER`] line, then one line per row, in the given order.
///
/// Fields are quoted as RFC 4180 says: a field holding a comma, a double quote or a line break is
/// put in double quotes, with its double quotes doubled; text is UTF-8 (村名 and details as
/// written). Lines end with `\n`, like `render`'s `cues.csv`. Times are in the station's time
/// zone `tz` with its offset and milliseconds (`2026-12-04T07:00:00.000+08:00`), as every page
/// shows them; `cue` is the decimal cue id; `title` is the clip's title from `titles` (by clip
/// id; empty for a clip no longer in the library); the `heard…` columns are the proof of play
/// (empty when the line is not monitored); empty fields are absent values (`outcome` is empty
/// while a cue is planned or on air).
pub fn write_csv(
    rows: &[AsRunRow],
    tz: Tz,
    titles: &BTreeMap<String, String>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(out, "{CSV_HEADER}")?;
    let time = |t: DateTime<Utc>| {
        (t + chrono::Duration::microseconds(500)).with_timezone(&tz).to_rfc3339_opts(SecondsFormat::Millis, true)
    };
    for r in rows {
        let opt = |v: Option<String>| v.unwrap_or_default();
        let fields = [
            r.cue.to_string(),
            r.village.to_string(),
            r.zone.to_string(),
            opt(r.clip.as_ref().map(ToString::to_string)),
            opt(r.language.as_ref().map(ToString::to_string)),
            opt(r.priority.map(|p| p.name().to_owned())),
            opt(r.slot.clone()),
            time(r.scheduled),
            opt(r.started.map(time)),
            opt(r.ended.map(time)),
            opt(r.late_by.map(|d| d.as_millis().to_string())),
            opt(r.outcome.map(|o| o.name().to_owned())),
            opt(r.detail.clone()),
            opt(r.clip.as_ref().and_then(|c| titles.get(c.as_str()).cloned())),
            opt(r.heard.as_ref().map(|h| h.heard.to_string())),
            opt(r.heard.as_ref().and_then(|h| h.level_dbfs).map(|l| format!("{l:.1}"))),
            opt(r.heard.as_ref().and_then(|h| h.delay_ms).map(|d| d.to_string())),
            opt(r.heard.as_ref().map(|h| h.detail.en.clone())),
        ];
        let line: Vec<Cow<'_, str>> = fields.iter().map(|f| field(f)).collect();
        writeln!(out, "{}", line.join(","))?;
    }
    Ok(())
}

/// One field, quoted when RFC 4180 requires it. A field a spreadsheet would take for a formula
/// (starting with `=`, `+`, `-`, `@`, a tab or a carriage return — a slot name in a hand-written
/// file can) gets a leading `'`, so it is shown as the text it is and never run.
pub(super) fn field(s: &str) -> Cow<'_, str> {
    let s: Cow<'_, str> =
        if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { Cow::Owned(format!("'{s}")) } else { Cow::Borrowed(s) };
    if s.contains([',', '"', '\n', '\r']) { Cow::Owned(format!("\"{}\"", s.replace('"', "\"\""))) } else { s }
}

#[cfg(test)]
mod csv_tests {
    use super::field;

    #[test]
    fn cells_a_spreadsheet_would_run_are_text() {
        assert_eq!(field("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(field("+1"), "'+1");
        assert_eq!(field("-2+3"), "'-2+3");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field("morning-notices"), "morning-notices");
        assert_eq!(field("a,b"), "\"a,b\"");
    }
}
