//! `xiangyin render`: the scheduler's plan for a time window, played through the engine under a
//! virtual clock as fast as the CPU allows; one WAV per output and `cues.csv`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::Paths;
use crate::config::{self, Plan};
use crate::domain::CueId;
use crate::engine::{CueCommand, ENGINE_RATE, Engine, EngineConfig, Event, EventKind};
use crate::library::stream::Streamer;
use crate::library::{AudioCache, Library, catalog_of};
use crate::output;
use crate::scheduler::{self, ClipIndex, Planned};
use crate::station::Projection;
use crate::store::{self, Store};

/// Frames rendered per engine call.
const BLOCK: usize = 4800;
/// Run name given to the recorder.
const RUN: &str = "render";

/// Reads `2026-11-29T07:00`, `2026-11-29 07:00[:ss]` (station time) or RFC 3339 with an offset.
pub fn parse_instant(s: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
            return tz
                .from_local_datetime(&naive)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| format!("`{s}` does not exist in {tz}"));
        }
    }
    Err(format!("`{s}` is not a time: write 2026-11-29T07:00 (station time) or an RFC 3339 instant"))
}

/// The engine sample of instant `t` when sample 0 is `origin`.
pub fn sample_of(origin: DateTime<Utc>, t: DateTime<Utc>) -> u64 {
    let ns = (t - origin).num_nanoseconds().unwrap_or(0).max(0) as i128;
    ((ns * i128::from(ENGINE_RATE) + 500_000_000) / 1_000_000_000) as u64
}

/// What happened to one planned entry during the render.
#[derive(Default, Clone)]
struct Fate {
    start: Option<u64>,
    end: Option<u64>,
    preempted: bool,
    stopped: bool,
}

/// Runs the render. Returns false (after saying why on `out`) when the configuration is broken.
pub fn run(
    paths: &Paths,
    profile: Option<&str>,
    from: &str,
    to: &str,
    out_dir: &Path,
    out: &mut dyn Write,
) -> std::io::Result<bool> {
    let library = paths.library();
    let (clips, _) = library.list()?;
    let plan = match config::load(&paths.layout, profile, &catalog_of(&clips)) {
        Ok(p) => p,
        Err(problems) => {
            write!(out, "{problems}")?;
            return Ok(false);
        }
    };
    let tz = plan.station.timezone;
    let (from, to) = match (parse_instant(from, tz), parse_instant(to, tz)) {
        (Ok(a), Ok(b)) if a < b => (a, b),
        (Ok(_), Ok(_)) => {
            writeln!(out, "--to must be after --from")?;
            return Ok(false);
        }
        (Err(e), _) | (_, Err(e)) => {
            writeln!(out, "{e}")?;
            return Ok(false);
        }
    };
    std::fs::create_dir_all(out_dir)?;
    let index = ClipIndex::new(&clips);
    let calendar = plan.calendar.clone();
    // The rotation the station saved, so that a rotating playlist renders the item the station
    // will play (and the web page's day picture shows).
    let db = store::default_path(&paths.state);
    let projection = if db.exists() {
        match Store::open(&db).and_then(|s| Projection::saved(&s)) {
            Ok(p) => {
                writeln!(out, "rotation: as the station saved it in {}", db.display())?;
                p
            }
            Err(e) => {
                writeln!(out, "rotation: from each playlist's first item ({e})")?;
                Projection::fresh()
            }
        }
    } else {
        writeln!(out, "rotation: from each playlist's first item (no station database at {} yet)", db.display())?;
        Projection::fresh()
    };
    let planned = projection.plan(&plan, &index, from, to, Utc::now(), &|d| calendar.is_holiday(d));
    let fates = play(&plan, &library, &planned, from, to, out_dir)?;
    write_csv(&out_dir.join("cues.csv"), &planned, &fates, from, tz)?;
    let played = fates.values().filter(|f| f.start.is_some()).count();
    writeln!(
        out,
        "rendered {} → {} ({}): {} cues planned, {} played; files in {}",
        from.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S"),
        to.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S"),
        tz,
        planned.len(),
        played,
        out_dir.display()
    )?;
    Ok(true)
}

fn play(
    plan: &Plan,
    library: &Library,
    planned: &[Planned],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    out_dir: &Path,
) -> std::io::Result<HashMap<CueId, Fate>> {
    let mut engine = Engine::new(&plan.profile, &EngineConfig::default());
    let mut cache = AudioCache::new(library, Streamer::waiting()?);
    let mut commands = Vec::new();
    for p in planned {
        let Some(cue) = p.playable() else { continue };
        let chime = match (&cue.chime, p.chime_gain) {
            (Some(id), Some(g)) => Some((cache.get(id)?, g)),
            _ => None,
        };
        commands.push(CueCommand {
            id: cue.id,
            zone: cue.zone.clone(),
            audio: cache.get(&cue.clip)?,
            gain: cue.gain,
            chime,
            priority: cue.priority,
            start: sample_of(from, cue.at),
        });
    }
    commands.sort_by_key(|c| c.start);
    let total = sample_of(from, to);

    // Every output is recorded, whatever its kind, with its own rate, format and channels.
    let mut sinks = Vec::new();
    for o in &plan.profile.outputs {
        let mut spec = o.clone();
        spec.kind = config::OutputKind::Wav { hourly: false, budget: None };
        sinks.push(output::open(&spec, out_dir, RUN, from).map_err(std::io::Error::other)?);
    }
    let mut fates: HashMap<CueId, Fate> = HashMap::new();
    let mut next = 0;
    while engine.now() < total {
        let now = engine.now();
        let n = ((total - now) as usize).min(BLOCK);
        // Hand over every cue due before the end of this block (the engine places it to the sample).
        while next < commands.len() && commands[next].start < now + n as u64 {
            engine.cue(commands[next].clone()).map_err(std::io::Error::other)?;
            next += 1;
        }
        let blocks = engine.render(n);
        for (sink, block) in sinks.iter_mut().zip(blocks) {
            sink.write(block).map_err(std::io::Error::other)?;
        }
        for Event { sample, kind } in engine.drain_events() {
            match kind {
                EventKind::Started(id) => fates.entry(id).or_default().start = Some(sample),
                EventKind::Ended(id) => fates.entry(id).or_default().end = Some(sample),
                EventKind::Preempted(id) => fates.entry(id).or_default().preempted = true,
                EventKind::Stopped(id) => {
                    let f = fates.entry(id).or_default();
                    f.end = Some(sample);
                    f.stopped = true;
                }
                EventKind::Resumed(_) => {}
            }
        }
    }
    for sink in sinks {
        sink.finish().map_err(std::io::Error::other)?;
    }
    // The recorder names files `recordings/{run}-{output}.wav` (and `-2.wav`, `-3.wav`… past WAV's
    // 4 GiB limit); a render wants `OUT/{output}.wav`, `OUT/{output}-2.wav`, ….
    let recordings = out_dir.join("recordings");
    let prefix = format!("{RUN}-");
    for entry in std::fs::read_dir(&recordings)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(rest) = name.strip_prefix(&prefix) {
            std::fs::rename(entry.path(), out_dir.join(rest))?;
        }
    }
    let _ = std::fs::remove_dir(&recordings);
    Ok(fates)
}

fn write_csv(
    path: &PathBuf,
    planned: &[Planned],
    fates: &HashMap<CueId, Fate>,
    from: DateTime<Utc>,
    tz: Tz,
) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "cue,village,zone,clip,language,priority,scheduled,start_sample,end_sample,outcome,chime,slot")?;
    for p in planned {
        let fate = fates.get(&p.id).cloned().unwrap_or_default();
        let (clip, language, priority, chime) = match &p.cue {
            Some(c) => (
                c.clip.to_string(),
                c.language.to_string(),
                c.priority.name(),
                c.chime.as_ref().map(ToString::to_string).unwrap_or_default(),
            ),
            None => (String::new(), String::new(), "", String::new()),
        };
        let scheduled = match &p.outcome {
            scheduler::Outcome::Deferred { from } => *from,
            _ => p.at,
        };
        let outcome = if !p.outcome.plays() {
            p.outcome.name().to_owned()
        } else {
            let mut o = match (fate.start, fate.end) {
                (None, _) => "not-started-in-window".to_owned(),
                (Some(_), None) => "cut-off-by-window".to_owned(),
                (Some(s), Some(_)) if s > sample_of(from, p.at) => "played-late".to_owned(),
                (Some(_), Some(_)) if fate.stopped => "stopped".to_owned(),
                _ => "played".to_owned(),
            };
            if fate.preempted {
                o.push_str("+preempted-resumed");
            }
            if matches!(p.outcome, scheduler::Outcome::Deferred { .. }) {
                o = format!("deferred-{o}");
            }
            o
        };
        writeln!(
            w,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            p.id,
            p.village,
            p.zone,
            clip,
            language,
            priority,
            scheduled.with_timezone(&tz).to_rfc3339(),
            fate.start.map(|s| s.to_string()).unwrap_or_default(),
            fate.end.map(|s| s.to_string()).unwrap_or_default(),
            outcome,
            chime,
            p.slot
        )?;
    }
    w.flush()
}
