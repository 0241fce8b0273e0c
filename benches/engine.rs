//! Engine benchmark: real-time factor on one core with 1, 32 and 256 zones, each playing its own
//! clip with fades and the limiter, at the output rate and with every output resampled; memory per
//! zone. Prints a table. Run: `make bench` or `cargo bench --bench engine`.

use std::sync::Arc;
use std::time::Instant;

use xiangyin::config::{ChannelRef, Output, OutputKind, Profile, SampleFormat};
use xiangyin::domain::{CueId, GainDb, OutputName, Priority, ZoneId};
use xiangyin::engine::{CueCommand, ENGINE_RATE, Engine, EngineConfig, EventKind};
use xiangyin::output::NullSink;
use xiangyin::playout::{self, PERIOD_FRAMES, PlayoutEvent};

const SECONDS: usize = 20;
const BLOCK: usize = 1024;

fn profile(zones: usize, rate: u32) -> Profile {
    // 8-channel outputs, as many as needed.
    let outputs = zones.div_ceil(8);
    Profile {
        name: "bench".into(),
        outputs: (0..outputs)
            .map(|i| Output {
                name: OutputName::new(&format!("out{i}")).unwrap(),
                kind: OutputKind::Null,
                rate,
                format: SampleFormat::I16,
                channels: 8,
            })
            .collect(),
        zones: (0..zones)
            .map(|z| {
                (
                    ZoneId::new(&format!("z{z:03}")).unwrap(),
                    vec![ChannelRef { output: z / 8, channel: (z % 8) as u16, trim: GainDb(-1.0) }],
                )
            })
            .collect(),
        max_level_dbfs: -1.0,
        line: Default::default(),
    }
}

fn clip(seed: usize, secs: f32) -> Arc<[f32]> {
    let f = 200.0 + 7.0 * seed as f32;
    (0..(secs * ENGINE_RATE as f32) as usize)
        .map(|i| 0.3 * (std::f32::consts::TAU * f * i as f32 / ENGINE_RATE as f32).sin())
        .collect::<Vec<_>>()
        .into()
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Renders SECONDS of audio with `zones` zones; returns the real-time factor.
fn rtf(zones: usize, rate: u32) -> f64 {
    let p = profile(zones, rate);
    let mut e = Engine::new(&p, &EngineConfig::default());
    let clips: Vec<Arc<[f32]>> = (0..zones).map(|z| clip(z, 7.0)).collect();
    // Each zone plays its own clip back to back for the whole run (fade in and out at every start
    // and end), and once a manual clip preempts it (fade out, fade in, resume).
    for (z, c) in clips.iter().enumerate() {
        let zone = ZoneId::new(&format!("z{z:03}")).unwrap();
        for k in 0..3u64 {
            let start = k * 7 * u64::from(ENGINE_RATE) + (z as u64 * 37) % 4800;
            let cmd = |id: u64, prio, start| CueCommand {
                id: CueId(id),
                zone: zone.clone(),
                audio: c.clone().into(),
                gain: GainDb(-3.0),
                chime: None,
                priority: prio,
                start,
            };
            e.cue(cmd(z as u64 * 10 + k, Priority::Scheduled, start)).unwrap();
        }
        e.cue(CueCommand {
            id: CueId(z as u64 * 10 + 9),
            zone: zone.clone(),
            audio: clip(z + 1, 1.0).into(),
            gain: GainDb::UNITY,
            chime: None,
            priority: Priority::Manual,
            start: 3 * u64::from(ENGINE_RATE),
        })
        .unwrap();
    }
    let frames = SECONDS * ENGINE_RATE as usize;
    let t = Instant::now();
    let mut done = 0;
    let mut checksum = 0f32;
    while done < frames {
        let out = e.render(BLOCK);
        checksum += out[0].first().copied().unwrap_or(0.0);
        done += BLOCK;
    }
    std::hint::black_box(checksum);
    SECONDS as f64 / t.elapsed().as_secs_f64()
}

/// Time from `Playout::cue` (play now) to the instant the playout places the cue's first sample
/// to be heard (the daemon's lead plus the outputs' reported latency, 0 for these null outputs),
/// over `trials` cues sent at scattered moments.
fn latency(trials: usize) -> Vec<std::time::Duration> {
    let p = profile(8, 48_000);
    let sinks: Vec<Box<dyn xiangyin::output::Sink>> =
        p.outputs.iter().map(|o| Box::new(NullSink::new(o)) as Box<dyn xiangyin::output::Sink>).collect();
    let running = playout::start(&p, &EngineConfig::default(), sinks, xiangyin::daemon::LEAD).unwrap();
    let audio = clip(3, 0.05);
    let mut out = Vec::new();
    for k in 0..trials {
        std::thread::sleep(std::time::Duration::from_micros(3_000 + (k as u64 * 7_919) % 17_000));
        let t0 = chrono::Utc::now();
        running.handle.cue(
            CueCommand {
                id: CueId(k as u64),
                zone: ZoneId::new(&format!("z{:03}", k % 8)).unwrap(),
                audio: audio.clone().into(),
                gain: GainDb::UNITY,
                chime: None,
                priority: Priority::Manual,
                start: 0,
            },
            None,
        );
        loop {
            match running.events.recv_timeout(std::time::Duration::from_secs(2)) {
                Ok(PlayoutEvent::Cue { event, at }) if event.kind == EventKind::Started(CueId(k as u64)) => {
                    out.push((at - t0).to_std().unwrap_or_default());
                    break;
                }
                Ok(_) => {}
                Err(_) => panic!("cue {k} never started"),
            }
        }
    }
    running.shutdown();
    out.sort();
    out
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if let Ok(z) = std::env::var("XY_ONLY_ZONES") {
        let z: usize = z.parse().unwrap();
        let rate = std::env::var("XY_ONLY_RATE").map_or(48_000, |r| r.parse().unwrap());
        println!("{z} zones at {rate} Hz: {:.0}×", rtf(z, rate));
        return;
    }
    // Memory per zone: engine state only (clip audio is shared and counted once).
    let before = rss_kib();
    let p = profile(256, 48_000);
    let mut e = Engine::new(&p, &EngineConfig::default());
    let shared = clip(0, 1.0);
    for z in 0..256 {
        let zone = ZoneId::new(&format!("z{z:03}")).unwrap();
        e.cue(CueCommand {
            id: CueId(z),
            zone,
            audio: shared.clone().into(),
            gain: GainDb::UNITY,
            chime: None,
            priority: Priority::Scheduled,
            start: 0,
        })
        .unwrap();
    }
    e.render(BLOCK);
    let after = rss_kib();
    println!(
        "memory: {:.1} KiB per zone of engine state (256 zones, RSS {} → {} KiB; clip audio is shared, 188 KiB per second of clip)",
        (after.saturating_sub(before)) as f64 / 256.0,
        before,
        after
    );
    std::hint::black_box(&e);
    drop(e);
    println!();
    println!("engine real-time factor, one thread, {SECONDS} s of audio per case, block {BLOCK} frames");
    println!("| zones | outputs at 48 kHz (no resampling) | outputs at 44.1 kHz (all resampled) | goal       |");
    println!("|-------|-----------------------------------|-------------------------------------|------------|");
    for zones in [1, 32, 256] {
        let a = rtf(zones, 48_000);
        let b = rtf(zones, 44_100);
        let goal = if zones == 256 { "≥100× / ≥30×" } else { "" };
        println!("| {zones:>5} | {a:>32.0}× | {b:>34.0}× | {goal:<10} |");
    }
    let lat = latency(60);
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    println!();
    println!(
        "play now → the instant its first sample is heard (render period {} frames = {:.0} ms, lead {} ms; a card adds \
         its buffer, 2 periods: 10.7 ms at 256 frames, 42.7 ms at 1,024; {} cues): median {:.1} ms, p95 {:.1} ms, max {:.1} ms (goal ≤ 50 ms)",
        PERIOD_FRAMES,
        PERIOD_FRAMES as f64 * 1000.0 / f64::from(ENGINE_RATE),
        xiangyin::daemon::LEAD.as_millis(),
        lat.len(),
        ms(lat[lat.len() / 2]),
        ms(lat[lat.len() * 95 / 100]),
        ms(*lat.last().unwrap())
    );
}
