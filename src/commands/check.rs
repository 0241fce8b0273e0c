//! `xiangyin check`: every configuration problem, one a line, or a one-line summary.

use std::collections::BTreeSet;
use std::io::Write;

use super::Paths;
use crate::config::{self, Plan};

/// Runs the check, writing problems or the summary to `out` and library warnings to `err`.
/// Returns true when everything is well.
pub fn run(paths: &Paths, profile: Option<&str>, out: &mut dyn Write, err: &mut dyn Write) -> std::io::Result<bool> {
    let library = paths.library();
    let (clips, broken) = match library.list() {
        Ok(v) => v,
        Err(e) => {
            writeln!(out, "{}: the clip library cannot be read: {e}", paths.layout.shown(library.dir()).display())?;
            return Ok(false);
        }
    };
    for b in &broken {
        writeln!(err, "warning: {}: {}", paths.layout.shown(&b.dir).display(), b.why)?;
    }
    let catalog = crate::library::catalog_of(&clips);
    match config::load(&paths.layout, profile, &catalog) {
        Ok(plan) => {
            let approved = clips.iter().filter(|c| c.review.is_approved()).count();
            let mut line = summary(&plan, clips.len(), approved);
            if let Some(note) = card_note(&plan) {
                let profile = format!("profile {};", plan.profile.name);
                line = line.replacen(&profile, &format!("profile {} ({note});", plan.profile.name), 1);
            }
            writeln!(out, "{line}")?;
            Ok(true)
        }
        Err(problems) => {
            write!(out, "{problems}")?;
            writeln!(err, "{} problem{} found", problems.len(), if problems.len() == 1 { "" } else { "s" })?;
            Ok(false)
        }
    }
}

/// What serve would meet at the sound card now, when it is not what the profile needs: the
/// configuration is right (check still passes), but the station would not be heard.
fn card_note(plan: &Plan) -> Option<String> {
    let absent: Vec<crate::output::Absent> =
        plan.profile.outputs.iter().filter_map(|o| crate::output::probe(o).err()).collect();
    let first = absent.first()?;
    let devices: Vec<&str> = absent.iter().map(|a| a.device.as_str()).collect();
    let (its, state) = if absent.len() == 1 { ("its card", "is") } else { ("its cards", "are") };
    let fallback = if plan.profile.name == "virtual" {
        "serve would not start"
    } else {
        "serve would fall back to virtual: villages would hear nothing"
    };
    let devices = devices.join(", ");
    Some(if first.missing {
        format!("{its} {devices} {state} not present; {fallback}")
    } else {
        // There but refusing: a running station holds it, or it takes no format the profile asks.
        format!(
            "{its} {devices} {state} there but not usable now ({}): unless a running station holds it, {fallback}",
            first.why
        )
    })
}

/// `ok: 8 villages in 2 townships, 4 slots, 7 clips (7 approved), profile virtual; next cue ...`
pub fn summary(plan: &Plan, clips: usize, approved: usize) -> String {
    let tz = plan.station.timezone;
    let now = chrono::Utc::now().with_timezone(&tz);
    let townships: BTreeSet<&str> = plan.villages.iter().map(|v| v.township.as_str()).collect();
    let next = plan.slots.iter().filter_map(|s| s.next_after(tz, now).map(|t| (t, s))).min_by_key(|(t, _)| *t);
    let next = match next {
        Some((t, s)) => format!(
            "next cue {} ({}) {} → {} village{}",
            t.format("%Y-%m-%d %H:%M"),
            tz,
            s.name,
            s.villages.len(),
            if s.villages.len() == 1 { "" } else { "s" }
        ),
        None => "no cue ahead".to_owned(),
    };
    format!(
        "ok: {} villages in {} townships, {} slots, {} clips ({} approved), profile {}; {}",
        plan.villages.len(),
        townships.len(),
        plan.slots.len(),
        clips,
        approved,
        plan.profile.name,
        next
    )
}
