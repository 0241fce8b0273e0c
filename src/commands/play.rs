//! `xiangyin play`: one clip on one village now — the wiring check ("is channel 3 really 东门村?").

use std::io::Write;
use std::time::Duration;

use super::Paths;
use crate::config::{self, OutputKind};
use crate::domain::{ClipId, CueId, Priority, TimeOfDay, VillageId};
use crate::engine::{CueCommand, EngineConfig, EventKind};
use crate::output;
use crate::playout::{self, PlayoutEvent};

/// How far ahead of hearing the engine renders during `play`.
const LEAD: Duration = Duration::from_millis(100);

/// Plays `clip` on `village` at `priority`, waits until it has finished, and reports.
pub fn run(
    paths: &Paths,
    profile: Option<&str>,
    village: &str,
    clip: &str,
    priority: Priority,
    out: &mut dyn Write,
) -> std::io::Result<bool> {
    let library = paths.library();
    let plan = match config::load(&paths.layout, profile, &library.catalog()?) {
        Ok(p) => p,
        Err(problems) => {
            write!(out, "{problems}")?;
            return Ok(false);
        }
    };
    let Some(v) = VillageId::new(village).ok().and_then(|id| plan.village(&id).cloned()) else {
        let known: Vec<&str> = plan.villages.iter().map(|v| v.id.as_str()).collect();
        writeln!(out, "unknown village `{village}` (villages: {})", known.join(", "))?;
        return Ok(false);
    };
    let Some(meta) = ClipId::new(clip).ok().and_then(|id| library.get(&id).ok().flatten()) else {
        writeln!(out, "no clip `{clip}` in the library (see `xiangyin clips`)")?;
        return Ok(false);
    };
    // Emergencies play at the full configured level; everything else at the village's volume now.
    let mut gain = meta.loudness.gain(&plan.station.loudness);
    if priority != Priority::Emergency {
        let now = chrono::Utc::now().with_timezone(&plan.station.timezone);
        gain = gain + v.volume_at(TimeOfDay::of(&now));
    }
    let audio = library.load_canonical(&meta.id)?;

    let start = chrono::Utc::now();
    let mut sinks = Vec::new();
    for o in &plan.profile.outputs {
        match output::open(o, &paths.state, "play", start) {
            Ok(s) => sinks.push(s),
            Err(e) => {
                writeln!(out, "{e}")?;
                writeln!(out, "(try `--profile virtual` to record to WAV instead)")?;
                return Ok(false);
            }
        }
    }
    let wiring: Vec<String> = plan.profile.zones[&v.zone]
        .iter()
        .map(|c| format!("{}:{}", plan.profile.outputs[c.output].name, c.channel + 1))
        .collect();
    writeln!(
        out,
        "playing {} “{}” [{}] on {} {} (zone {} → {}) at {} priority, gain {:+.1} dB",
        meta.id,
        meta.title,
        meta.language,
        v.id,
        v.name,
        v.zone,
        wiring.join(", "),
        priority,
        gain.0
    )?;
    let running = playout::start(&plan.profile, &EngineConfig::default(), sinks, LEAD)?;
    let id = CueId(1);
    running.handle.cue(CueCommand { id, zone: v.zone.clone(), audio, gain, chime: None, priority, start: 0 }, None);
    let limit = Duration::from_secs_f64(meta.duration_s + 10.0);
    let deadline = std::time::Instant::now() + limit;
    let mut ok = false;
    // Outputs that carry this village and were not playing at some point during the clip.
    let village_outputs: Vec<String> =
        plan.profile.zones[&v.zone].iter().map(|c| plan.profile.outputs[c.output].name.to_string()).collect();
    let mut silent: Vec<(String, String)> = Vec::new();
    while let Ok(ev) = running.events.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
        match ev {
            PlayoutEvent::Cue { event, .. } if matches!(event.kind, EventKind::Ended(c) | EventKind::Stopped(c) if c == id) =>
            {
                ok = true;
                break;
            }
            PlayoutEvent::OutputDegraded { output, reason } => {
                writeln!(out, "warning: output `{output}` is not playing: {reason}")?;
                if village_outputs.contains(&output) {
                    silent.push((output, reason));
                }
            }
            PlayoutEvent::OutputRecovered { output } => writeln!(out, "output `{output}` plays again")?,
            PlayoutEvent::Refused { why, .. } => {
                writeln!(out, "{why}")?;
                break;
            }
            _ => {}
        }
    }
    running.shutdown();
    if ok && !silent.is_empty() {
        let names: Vec<String> = silent.iter().map(|(o, _)| format!("`{o}`")).collect();
        writeln!(
            out,
            "the clip ran, but {} {} not playing, so {} did not hear all of it (see `xiangyin devices`, or try `--profile virtual`)",
            names.join(", "),
            if names.len() == 1 { "was" } else { "were" },
            v.name
        )?;
        return Ok(false);
    }
    if ok {
        writeln!(out, "done: {:.1} s played", meta.duration_s)?;
        for o in &plan.profile.outputs {
            if matches!(o.kind, OutputKind::Wav { .. }) {
                writeln!(
                    out,
                    "recorded to {}",
                    paths.state.join("recordings").join(format!("play-{}.wav", o.name)).display()
                )?;
            }
        }
    } else {
        writeln!(out, "the clip did not finish playing within {:.0} s", limit.as_secs_f64())?;
    }
    Ok(ok)
}
