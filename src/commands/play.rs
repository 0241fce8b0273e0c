//! `xiangyin play`: one clip on one village now — the wiring check ("is channel 3 really 东门村?").

use std::io::Write;
use std::time::Duration;

use super::Paths;
use crate::config::{self, OutputKind};
use crate::domain::{ClipId, Cue, CueId, Priority, Text, TimeOfDay, VillageId};
use crate::engine::{CueCommand, EngineConfig, EventKind};
use crate::output;
use crate::playout::{self, PlayoutEvent};
use crate::store::{self, AsRunOutcome, Store};

/// How far ahead of hearing the engine renders during `play`.
const LEAD: Duration = crate::daemon::LEAD;

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
    // Streamed as it plays (a half-hour clip is 340 MB decoded).
    let audio = crate::library::stream::Streamer::live()?.open(&library.canonical_path(&meta.id))?.audio();

    let start = chrono::Utc::now();
    // A cue id of its own (the instant, with the top bit set: scheduled cues' ids are hashes).
    let id = CueId(start.timestamp_nanos_opt().unwrap_or_default() as u64 | 1 << 63);
    let log = AsRun::open(
        paths,
        Cue {
            id,
            village: v.id.clone(),
            zone: v.zone.clone(),
            clip: meta.id.clone(),
            language: meta.language.clone(),
            priority,
            at: start,
            gain,
            chime: None,
            slot: None,
        },
    );
    let mut sinks = Vec::new();
    for o in &plan.profile.outputs {
        match output::open(o, &paths.state, "play", start) {
            Ok(s) => sinks.push(s),
            Err(e) => {
                log.failed(Text::new(e.to_string(), format!("输出打不开：{e}")));
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
    let running = match playout::start(&plan.profile, &EngineConfig::default(), sinks, LEAD) {
        Ok(r) => r,
        Err(e) => {
            // The row written above must not stay `planned`.
            log.failed(Text::new(format!("the playout could not start: {e}"), format!("播出没能启动：{e}")));
            return Err(e);
        }
    };
    running.handle.cue(CueCommand { id, zone: v.zone.clone(), audio, gain, chime: None, priority, start: 0 }, None);
    let limit = Duration::from_secs_f64(meta.duration_s + 10.0);
    let deadline = std::time::Instant::now() + limit;
    let mut ok = false;
    // Outputs the village hears through that were not playing at some point during the clip: its
    // sound cards, or — for a zone only recorders feed — those (a recorder beside a card that plays
    // does not make the village deaf, as for the station's own cues).
    let outputs: Vec<&crate::config::Output> =
        plan.profile.zones[&v.zone].iter().map(|c| &plan.profile.outputs[c.output]).collect();
    let is_card = |o: &&crate::config::Output| matches!(o.kind, crate::config::OutputKind::Device { .. });
    let heard_through: Vec<&crate::config::Output> =
        if outputs.iter().any(is_card) { outputs.iter().copied().filter(is_card).collect() } else { outputs };
    let village_outputs: Vec<String> = heard_through.iter().map(|o| o.name.to_string()).collect();
    let mut silent: Vec<(String, String)> = Vec::new();
    let mut ended = None;
    while let Ok(ev) = running.events.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
        match ev {
            PlayoutEvent::Cue { event, at } if event.kind == EventKind::Started(id) => log.started(at),
            PlayoutEvent::Cue { event, at } if matches!(event.kind, EventKind::Ended(c) | EventKind::Stopped(c) if c == id) =>
            {
                ended = Some(at);
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
    // The as-run log says what the village heard, as for the station's own cues.
    match (ended, silent.first()) {
        (_, Some((o, reason))) => log.failed(Text::new(
            format!("output {o}: {reason}"),
            format!("输出 {o}：{}", crate::output::reason_zh(reason)),
        )),
        (Some(at), None) => log.ended(at, AsRunOutcome::Played),
        (None, None) => log.failed(Text::new("did not finish playing", "没有播完")),
    }
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

/// The as-run row of a `play`: written to the station database like any cue's (detail
/// "xiangyin play"), so the log shows this village was played to from the command line. A
/// database that cannot be opened or written only costs the row, never the play (said once).
struct AsRun {
    store: Option<Store>,
    id: CueId,
}

impl AsRun {
    fn open(paths: &Paths, cue: Cue) -> AsRun {
        let id = cue.id;
        let store = Store::open(&store::default_path(&paths.state))
            .and_then(|s| s.record_cue_saying(&cue, Some(&Text::new(DETAIL, DETAIL))).map(|_| s));
        match store {
            Ok(s) => AsRun { store: Some(s), id },
            Err(e) => {
                tracing::warn!("this play is not in the as-run log: {e}");
                AsRun { store: None, id }
            }
        }
    }

    fn write(&self, what: &str, f: impl FnOnce(&Store) -> Result<bool, crate::store::StoreError>) {
        if let Some(s) = &self.store
            && let Err(e) = f(s)
        {
            tracing::warn!("the as-run log did not get this play's {what}: {e}");
        }
    }

    fn started(&self, at: chrono::DateTime<chrono::Utc>) {
        self.write("start", |s| s.mark_started(self.id, at, None));
    }

    fn ended(&self, at: chrono::DateTime<chrono::Utc>, outcome: AsRunOutcome) {
        self.write("end", |s| s.mark_ended(self.id, at, outcome));
    }

    fn failed(&self, why: Text) {
        let detail = Text::new(format!("{DETAIL}: {}", why.en), format!("{DETAIL}：{}", why.zh));
        self.write("outcome", |s| s.mark_outcome(self.id, AsRunOutcome::FailedOutput, Some(&detail)));
    }
}

/// The as-run detail of a `play`.
const DETAIL: &str = "xiangyin play";
