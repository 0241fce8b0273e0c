//! `xiangyin line test VILLAGE` and `xiangyin line power VILLAGE on|off`: wiring checks of one
//! village line with the station stopped (a running `serve` holds the sound card and the relay
//! ports; then use the dashboard or `POST /api/lines/{village}/test`, `PUT
//! /api/lines/{village}/power`).
//!
//! `line test` powers the village's amplifier (waiting its lead-in), plays the test tone on its
//! zone, listens on its capture tap and prints what came back; the play and its verdict go into
//! the as-run log like a line test of `serve`. `line power` switches the amplifier relay and
//! leaves it so (boards and Modbus coils keep their state after the command exits).

use std::io::Write;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::Paths;
use crate::config::{self, Plan, RelayKindConf};
use crate::domain::{Cue, CueId, GainDb, Language, Priority, Text, VillageId};
use crate::engine::{Audio, CueCommand, ENGINE_RATE, EngineConfig, EventKind};
use crate::line::relay::{self, RelayKind, RelaySpec};
use crate::line::{Line, tone};
use crate::output;
use crate::playout::{self, PlayoutEvent};
use crate::station::{LINE_TEST_SLOT, LinePort, LineReport, line_test_clip};
use crate::store::{self, AsRunOutcome, Store};

/// What to tell someone whose station is running.
const BUSY_HINT: &str = "if `xiangyin serve` is running it holds the devices: use the line buttons on the \
                         dashboard, or POST /api/lines/VILLAGE/test and PUT /api/lines/VILLAGE/power";

fn load(
    paths: &Paths,
    profile: Option<&str>,
    village: &str,
    out: &mut dyn Write,
) -> std::io::Result<Option<(Plan, VillageId)>> {
    let library = paths.library();
    let plan = match config::load(&paths.layout, profile, &library.catalog()?) {
        Ok(p) => p,
        Err(problems) => {
            write!(out, "{problems}")?;
            return Ok(None);
        }
    };
    match VillageId::new(village).ok().filter(|id| plan.village(id).is_some()) {
        Some(id) => Ok(Some((plan, id))),
        None => {
            let known: Vec<&str> = plan.villages.iter().map(|v| v.id.as_str()).collect();
            writeln!(out, "unknown village `{village}` (villages: {})", known.join(", "))?;
            Ok(None)
        }
    }
}

/// Switches the amplifier relay of `village` on or off.
pub fn power(
    paths: &Paths,
    profile: Option<&str>,
    village: &str,
    on: bool,
    out: &mut dyn Write,
) -> std::io::Result<bool> {
    let Some((plan, id)) = load(paths, profile, village, out)? else { return Ok(false) };
    let v = plan.village(&id).expect("checked");
    let Some(p) = plan.profile.line.power.get(&v.zone) else {
        writeln!(
            out,
            "{} ({}) has no amplifier relay in hardware profile `{}` (see `power:`)",
            v.name, v.id, plan.profile.name
        )?;
        return Ok(false);
    };
    let conf = &plan.profile.line.relays[p.relay];
    let kind = match &conf.kind {
        RelayKindConf::Board { port, channels } => RelayKind::Board { port: port.clone(), channels: *channels },
        RelayKindConf::Modbus { port, baud, unit } => {
            RelayKind::Modbus { port: port.clone(), baud: *baud, unit: *unit }
        }
        RelayKindConf::Gpio { chip } => RelayKind::Gpio { chip: chip.clone() },
    };
    let spec = RelaySpec { name: conf.name.clone(), kind, timeout: conf.timeout };
    let result = relay::open(&spec, &[p.channel]).and_then(|mut r| r.set(&[(p.channel, on)]));
    match result {
        Ok(()) => {
            writeln!(
                out,
                "{} ({}): amplifier {} (relay {} channel {})",
                v.name,
                v.id,
                if on { "ON" } else { "OFF" },
                conf.name,
                p.channel
            )?;
            Ok(true)
        }
        Err(e) => {
            writeln!(out, "{}", e.sentence().0)?;
            writeln!(out, "({BUSY_HINT})")?;
            Ok(false)
        }
    }
}

/// Plays the line test tone on `village` and says what its capture tap heard.
pub fn test(paths: &Paths, profile: Option<&str>, village: &str, out: &mut dyn Write) -> std::io::Result<bool> {
    let Some((plan, id)) = load(paths, profile, village, out)? else { return Ok(false) };
    let v = plan.village(&id).expect("checked").clone();
    if !plan.profile.line.monitor.contains_key(&v.zone) {
        writeln!(
            out,
            "note: no capture tap listens to zone `{}` (see `monitor:` in hardware profile `{}`): the tone plays, nothing can be heard back",
            v.zone, plan.profile.name
        )?;
    }
    let mut line = Line::start(&plan.profile, plan.station.timezone)?;
    let mut sinks = Vec::new();
    let now = Utc::now();
    for (i, o) in plan.profile.outputs.iter().enumerate() {
        match output::open(o, &paths.state, "line-test", now) {
            Ok(s) => sinks.push(line.wrap(i, s)),
            Err(e) => {
                writeln!(out, "{e}\n({BUSY_HINT})")?;
                return Ok(false);
            }
        }
    }
    let running = playout::start(&plan.profile, &EngineConfig::default(), sinks, crate::daemon::LEAD)?;
    let samples = tone::line_test_tone(ENGINE_RATE, crate::station::TONE_SECONDS, crate::station::TONE_DBFS);
    let at = line.ready_at(&v.zone, Utc::now(), false);
    let cue = Cue {
        id: CueId(now.timestamp_nanos_opt().unwrap_or_default() as u64 | 1 << 63),
        village: v.id.clone(),
        zone: v.zone.clone(),
        clip: line_test_clip(),
        language: Language::new("zxx").expect("a language tag"),
        priority: Priority::Manual,
        at,
        gain: GainDb::UNITY,
        chime: None,
        slot: Some(LINE_TEST_SLOT.to_owned()),
    };
    let log = Store::open(&store::default_path(&paths.state)).ok();
    if let Some(s) = &log {
        let _ = s.record_cue_saying(&cue, Some(&Text::new("xiangyin line test", "xiangyin line test")));
    }
    writeln!(
        out,
        "line test on {} ({}), zone {}: amplifier lead-in until {}",
        v.name,
        v.id,
        v.zone,
        at.format("%H:%M:%S%.3f")
    )?;
    let cmd = CueCommand {
        id: cue.id,
        zone: v.zone.clone(),
        audio: Audio::Memory(samples.into()),
        gain: GainDb::UNITY,
        chime: None,
        priority: Priority::Manual,
        start: 0,
    };
    running.handle.cue(cmd, Some(at));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut verdict = None;
    let mut ended = false;
    let mut playing = true;
    while Instant::now() < deadline && verdict.is_none() && playing {
        loop {
            let ev = match running.events.recv_timeout(Duration::from_millis(100)) {
                Ok(ev) => ev,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => break,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    writeln!(out, "the playout stopped")?;
                    playing = false;
                    break;
                }
            };
            match ev {
                PlayoutEvent::Cue { event, at } if event.kind == EventKind::Started(cue.id) => {
                    line.started(cue.id, &v.id, &v.zone, at);
                    if let Some(s) = &log {
                        let _ = s.mark_started(cue.id, at, None);
                    }
                }
                PlayoutEvent::Cue { event, at } if event.kind == EventKind::Ended(cue.id) => {
                    line.ended(cue.id, &v.zone, at);
                    if let Some(s) = &log {
                        let _ = s.mark_ended(cue.id, at, AsRunOutcome::Played);
                    }
                    ended = true;
                }
                PlayoutEvent::OutputDegraded { output, reason } => {
                    writeln!(out, "warning: output `{output}`: {reason}")?
                }
                _ => {}
            }
        }
        for r in line.poll() {
            match r {
                LineReport::Heard { cue: c, note, .. } if c == cue.id => verdict = Some(note),
                LineReport::Problem { problem: Some(t), .. } => writeln!(out, "problem: {}", t.en)?,
                _ => {}
            }
        }
        if ended && !plan.profile.line.monitor.contains_key(&v.zone) {
            break;
        }
    }
    running.shutdown();
    match verdict {
        Some(note) => {
            if let (Some(s), true) = (&log, ended) {
                let _ = s.mark_heard(cue.id, &note);
            }
            writeln!(out, "heard: {} — {}", note.heard, note.detail.en)?;
            Ok(note.heard == crate::domain::Heard::Yes)
        }
        None if ended => {
            writeln!(out, "the tone played; nothing was judged (no capture tap, or the tap heard nothing in time)")?;
            Ok(!plan.profile.line.monitor.contains_key(&v.zone))
        }
        None => {
            writeln!(out, "the tone did not finish playing within 30 s")?;
            Ok(false)
        }
    }
}
