//! Engine tests: pure, pulling samples from `render`.

use std::sync::Arc;

use super::*;
use crate::config::{ChannelRef, Output, OutputKind, SampleFormat};
use crate::domain::OutputName;

fn profile(zones: &[(&str, &[u16])], channels: u16) -> Profile {
    Profile {
        name: "test".into(),
        outputs: vec![Output {
            name: OutputName::new("rec").unwrap(),
            kind: OutputKind::Null,
            rate: ENGINE_RATE,
            format: SampleFormat::F32,
            channels,
        }],
        zones: zones
            .iter()
            .map(|(z, chans)| {
                (
                    ZoneId::new(z).unwrap(),
                    chans.iter().map(|c| ChannelRef { output: 0, channel: *c, trim: GainDb::UNITY }).collect(),
                )
            })
            .collect(),
        max_level_dbfs: -1.0,
        line: Default::default(),
    }
}

fn tone(freq: f32, amp: f32, secs: f32) -> Arc<[f32]> {
    (0..(secs * ENGINE_RATE as f32) as usize)
        .map(|i| amp * (std::f32::consts::TAU * freq * i as f32 / ENGINE_RATE as f32).sin())
        .collect::<Vec<_>>()
        .into()
}

fn dc(amp: f32, secs: f32) -> Arc<[f32]> {
    vec![amp; (secs * ENGINE_RATE as f32) as usize].into()
}

fn cue(id: u64, zone: &str, audio: Arc<[f32]>, priority: Priority, start: u64) -> CueCommand {
    CueCommand {
        id: CueId(id),
        zone: ZoneId::new(zone).unwrap(),
        audio: audio.into(),
        gain: GainDb::UNITY,
        chime: None,
        priority,
        start,
    }
}

/// Renders `secs` seconds in blocks of `block`, returning output 0 interleaved.
fn run(e: &mut Engine, secs: f32, block: usize) -> Vec<f32> {
    let total = (secs * ENGINE_RATE as f32) as usize;
    let mut out = Vec::new();
    let mut done = 0;
    while done < total {
        let n = block.min(total - done);
        out.extend_from_slice(e.render(n)[0]);
        done += n;
    }
    out
}

fn channel(buf: &[f32], ch: usize, chans: usize) -> Vec<f32> {
    buf.iter().skip(ch).step_by(chans).copied().collect()
}

#[test]
fn a_cue_starts_on_its_exact_sample_and_only_on_its_zone_channels() {
    let p = profile(&[("a", &[2, 5]), ("b", &[0])], 8);
    let mut e = Engine::new(&p, &EngineConfig::default());
    e.cue(cue(1, "a", dc(0.5, 0.5), Priority::Scheduled, 12_345)).unwrap();
    let out = run(&mut e, 1.0, 1000);
    for ch in 0..8 {
        let c = channel(&out, ch, 8);
        if ch == 2 || ch == 5 {
            let first = c.iter().position(|s| *s != 0.0).unwrap();
            assert_eq!(first, 12_345, "onset on channel {ch}");
            // After the 30 ms fade-in, the level is the clip's.
            assert!((c[12_345 + 2_000] - 0.5).abs() < 1e-6);
        } else {
            assert!(c.iter().all(|s| *s == 0.0), "channel {ch} must stay silent");
        }
    }
    let ev = e.drain_events();
    assert_eq!(ev[0], Event { sample: 12_345, kind: EventKind::Started(CueId(1)) });
    assert_eq!(ev[1], Event { sample: 12_345 + 24_000, kind: EventKind::Ended(CueId(1)) });
}

#[test]
fn gain_is_applied_in_decibels() {
    let p = profile(&[("a", &[0])], 1);
    let mut e = Engine::new(&p, &EngineConfig::default());
    let mut c = cue(1, "a", dc(0.5, 0.5), Priority::Scheduled, 0);
    c.gain = GainDb(-6.0206);
    e.cue(c).unwrap();
    let out = run(&mut e, 0.2, 480);
    assert!((out[5_000] - 0.25).abs() < 1e-4, "{}", out[5_000]);
}

#[test]
fn an_emergency_preempts_and_the_notice_resumes_where_it_stopped() {
    let p = profile(&[("a", &[0])], 1);
    let mut e = Engine::new(&p, &EngineConfig::default());
    // A ramp makes the position audible: sample value = position.
    let ramp: Arc<[f32]> = (0..48_000).map(|i| i as f32 / 100_000.0).collect::<Vec<_>>().into();
    e.cue(cue(1, "a", ramp, Priority::Scheduled, 0)).unwrap();
    e.cue(cue(2, "a", dc(-0.3, 0.5), Priority::Emergency, 10_000)).unwrap();
    let out = run(&mut e, 2.0, 256);
    let ev = e.drain_events();
    let kinds: Vec<EventKind> = ev.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::Started(CueId(1)),
            EventKind::Started(CueId(2)),
            EventKind::Preempted(CueId(1)),
            EventKind::Ended(CueId(2)),
            EventKind::Resumed(CueId(1)),
            EventKind::Ended(CueId(1)),
        ]
    );
    assert_eq!(ev[1].sample, 10_000);
    assert_eq!(ev[2].sample, 10_000);
    let resumed = ev[4].sample as usize;
    assert_eq!(resumed, 10_000 + 24_000);
    // During the emergency only the emergency is heard (after the crossfade).
    assert!((out[20_000] + 0.3).abs() < 1e-6);
    // After resuming, the ramp continues from where it paused: paused after 10_000 + 1_440 samples.
    let after_fade = resumed + 1_440 + 10;
    let pos = (out[after_fade] * 100_000.0).round() as i64;
    assert_eq!(pos, (10_000 + 1_440 + 1_440 + 10) as i64, "resumed position");
    // Nothing of the notice is lost: 11_440 samples before the pause, the remaining 36_560 after
    // the resume at 34_000.
    assert_eq!(ev[5].sample, 34_000 + (48_000 - 11_440));
}

#[test]
fn equal_levels_queue_first_come_first_served() {
    let p = profile(&[("a", &[0])], 1);
    let mut e = Engine::new(&p, &EngineConfig::default());
    e.cue(cue(1, "a", dc(0.2, 0.5), Priority::Manual, 0)).unwrap();
    e.cue(cue(2, "a", dc(0.4, 0.5), Priority::Manual, 1_000)).unwrap();
    run(&mut e, 1.5, 512);
    let ev = e.drain_events();
    assert_eq!(ev[2], Event { sample: 24_000, kind: EventKind::Started(CueId(2)) });
}

#[test]
fn background_is_ducked_not_paused() {
    let p = profile(&[("a", &[0])], 1);
    let mut e = Engine::new(&p, &EngineConfig { duck_db: -20.0, ..Default::default() });
    e.cue(cue(1, "a", dc(0.5, 2.0), Priority::Background, 0)).unwrap();
    e.cue(cue(2, "a", dc(0.0, 0.5), Priority::Scheduled, 4_800)).unwrap();
    let out = run(&mut e, 1.0, 480);
    assert!((out[20_000] - 0.05).abs() < 1e-4, "ducked level {}", out[20_000]);
    assert!((out[40_000] - 0.5).abs() < 1e-4, "back to full {}", out[40_000]);
}

#[test]
fn transitions_never_click() {
    // Largest step between neighbouring samples never exceeds what the signals themselves make.
    let p = profile(&[("a", &[0])], 1);
    let mut e = Engine::new(&p, &EngineConfig::default());
    let amp = 0.8;
    e.cue(cue(1, "a", tone(440.0, amp, 2.0), Priority::Scheduled, 100)).unwrap();
    e.cue(cue(2, "a", tone(660.0, amp, 0.4), Priority::Emergency, 20_011)).unwrap();
    e.cue(cue(3, "a", tone(550.0, amp, 1.0), Priority::Manual, 60_000)).unwrap();
    let out = run(&mut e, 4.0, 333);
    let natural = amp * std::f32::consts::TAU * 660.0 / ENGINE_RATE as f32;
    let worst = out.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0f32, f32::max);
    assert!(worst <= natural * 1.05, "step {worst} > natural {natural}");
}

#[test]
fn a_stopped_cue_fades_out() {
    let p = profile(&[("a", &[0])], 1);
    let mut e = Engine::new(&p, &EngineConfig::default());
    e.cue(cue(7, "a", dc(0.5, 2.0), Priority::Manual, 0)).unwrap();
    let mut out = run(&mut e, 0.5, 480);
    assert!(e.stop_cue(&ZoneId::new("a").unwrap(), CueId(7)).unwrap());
    out.extend(run(&mut e, 0.5, 480));
    let worst = out.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0f32, f32::max);
    assert!(worst < 0.5 / 1_000.0, "step {worst}");
    assert_eq!(out[24_000 + 1_440 + 10], 0.0);
    assert!(e.drain_events().iter().any(|ev| ev.kind == EventKind::Stopped(CueId(7))));
}

#[test]
fn the_limiter_holds_eight_overlapping_loud_clips() {
    let zones: Vec<String> = (0..8).map(|i| format!("z{i}")).collect();
    let spec: Vec<(&str, &[u16])> = zones.iter().map(|z| (z.as_str(), &[0u16][..])).collect();
    let p = profile(&spec, 1); // deliberately all on one channel (a check would refuse this wiring)
    let mut e = Engine::new(&p, &EngineConfig::default());
    for (i, z) in zones.iter().enumerate() {
        let mut c = cue(i as u64, z, tone(300.0 + 37.0 * i as f32, 0.9, 1.0), Priority::Scheduled, i as u64 * 100);
        c.gain = GainDb(6.0);
        e.cue(c).unwrap();
    }
    let out = run(&mut e, 1.5, 1024);
    let ceiling = GainDb(-1.0).linear() as f32;
    let peak = out.iter().fold(0f32, |m, s| m.max(s.abs()));
    assert!(peak <= ceiling, "peak {peak} above ceiling {ceiling}");
    assert!(peak > ceiling * 0.85, "the limiter should not crush the signal: {peak}");
}

#[test]
fn a_chime_plays_before_the_clip() {
    let p = profile(&[("a", &[0])], 1);
    let mut e = Engine::new(&p, &EngineConfig::default());
    let mut c = cue(1, "a", dc(0.25, 0.5), Priority::Scheduled, 0);
    c.chime = Some((dc(0.5, 0.25).into(), GainDb::UNITY));
    e.cue(c).unwrap();
    let out = run(&mut e, 1.0, 480);
    assert!((out[6_000] - 0.5).abs() < 1e-6);
    assert!((out[18_000] - 0.25).abs() < 1e-6);
    assert_eq!(e.drain_events()[1], Event { sample: 36_000, kind: EventKind::Ended(CueId(1)) });
}

#[test]
fn unknown_zones_and_past_starts_are_refused() {
    let p = profile(&[("a", &[0])], 1);
    let mut e = Engine::new(&p, &EngineConfig::default());
    assert!(matches!(e.cue(cue(1, "b", dc(0.1, 0.1), Priority::Manual, 0)), Err(EngineError::UnknownZone(_))));
    run(&mut e, 0.1, 480);
    assert!(matches!(e.cue(cue(1, "a", dc(0.1, 0.1), Priority::Manual, 0)), Err(EngineError::InThePast { .. })));
}

#[test]
fn outputs_at_other_rates_are_resampled() {
    let mut p = profile(&[("a", &[0])], 1);
    p.outputs[0].rate = 44_100;
    let mut e = Engine::new(&p, &EngineConfig::default());
    e.cue(cue(1, "a", tone(1000.0, 0.5, 1.0), Priority::Manual, 0)).unwrap();
    let out = run(&mut e, 1.0, 4800);
    assert!((out.len() as i64 - 44_100).abs() < 2_100, "{} frames", out.len());
    let peak = out[10_000..30_000].iter().fold(0f32, |m, s| m.max(s.abs()));
    assert!((peak - 0.5).abs() < 0.01, "{peak}");
}

/// A streamed source whose reader has nothing for the frames in `late` (a disk that fell behind),
/// and records when it was opened.
struct Slow {
    audio: Arc<[f32]>,
    late: std::ops::Range<u64>,
    opened: Arc<std::sync::atomic::AtomicU64>,
    clock: Arc<std::sync::atomic::AtomicU64>,
}

struct SlowReader {
    audio: Arc<[f32]>,
    late: std::ops::Range<u64>,
}

impl Source for Slow {
    fn frames(&self) -> u64 {
        self.audio.len() as u64
    }
    fn open(&self) -> Box<dyn Reader> {
        use std::sync::atomic::Ordering;
        self.opened.store(self.clock.load(Ordering::SeqCst), Ordering::SeqCst);
        Box::new(SlowReader { audio: self.audio.clone(), late: self.late.clone() })
    }
}

impl Reader for SlowReader {
    fn read(&mut self, pos: u64, out: &mut [f32]) -> usize {
        if self.late.contains(&pos) {
            return 0;
        }
        let n = out.len().min(self.audio.len() - pos as usize);
        out[..n].copy_from_slice(&self.audio[pos as usize..pos as usize + n]);
        n
    }
}

#[test]
fn streamed_audio_is_opened_ahead_and_a_late_disk_costs_silence_not_timing() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let p = profile(&[("a", &[0])], 1);
    let mut e = Engine::new(&p, &EngineConfig::default());
    let opened = Arc::new(AtomicU64::new(u64::MAX));
    let clock = Arc::new(AtomicU64::new(0));
    let r = u64::from(ENGINE_RATE);
    // One second of DC from 3 s on; the disk has nothing for the frames 0.5 s–0.6 s into it.
    let src = Slow { audio: dc(0.5, 1.0), late: r / 2..r / 2 + r / 10, opened: opened.clone(), clock: clock.clone() };
    let mut c = cue(1, "a", dc(0.0, 0.0), Priority::Scheduled, 3 * r);
    c.audio = Audio::Source(Arc::new(src));
    e.cue(c).unwrap();
    let mut out = Vec::new();
    let mut events = Vec::new();
    while e.now() < 5 * r {
        clock.store(e.now(), Ordering::SeqCst);
        out.extend_from_slice(e.render(480)[0]);
        events.extend(e.drain_events());
    }
    let at = opened.load(Ordering::SeqCst);
    assert!(at < 3 * r && at >= r - 480, "opened about 2 s before it is due, not at once or late: sample {at}");
    let s = (3 * r) as usize;
    let fade = 30 * ENGINE_RATE as usize / 1000;
    assert!(out[s + fade + 100..s + r as usize / 2].iter().all(|x| (*x - 0.5).abs() < 1e-3), "plays until the gap");
    let gap = s + r as usize / 2..s + (r / 2 + r / 10) as usize;
    assert!(out[gap.clone()].iter().all(|x| *x == 0.0), "the missing frames are silence");
    assert!(out[gap.end + 10..s + r as usize - fade - 100].iter().all(|x| (*x - 0.5).abs() < 1e-3), "then it goes on");
    assert_eq!(e.starved_frames(), r / 10, "the silence is counted");
    let ended = events.iter().find(|ev| ev.kind == EventKind::Ended(CueId(1))).expect("it ends").sample;
    assert_eq!(ended, 4 * r, "it ends on time: the clock did not wait for the disk");
}
