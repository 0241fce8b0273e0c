//! The whole live path with nothing mocked: cues → the playout thread → the engine → device
//! sinks → cpal → ALSA → a "sound card" the test listens to.
//!
//! The cards are ALSA `file` PCMs (tests/alsa/asoundrc) writing into FIFOs that a reader thread
//! drains at the byte rate, like a card's clock (harness in tests/common/alsa.rs). What the
//! FIFOs received proves, as an operator would hear it:
//! - a cue reaches only its zone's channels, at the gain and trim asked for, sample for sample
//!   what the pure engine renders;
//! - an emergency preempts a notice with a crossfade and no click, and the notice resumes
//!   where it stopped, with the events saying so;
//! - a card that is unplugged degrades only its own zones: the other card plays on without a
//!   gap, and the lost card is heard again once it is back;
//! - `xiangyin play` drives a real card end to end: the clip arrives on the village's channel
//!   only, at the gain the command printed.
//!
//! The tests take the card lock in turn (each is paced by a real-time clock; running them one
//! at a time keeps a loaded two-core machine from starving the audio threads).

mod common;

#[path = "common/alsa.rs"]
mod alsa;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use alsa::{Captured, Reader, device, fifo, setup};
use xiangyin::config::{ChannelRef, Output, Profile, SampleFormat};
use xiangyin::domain::{CueId, GainDb, Priority, ZoneId};
use xiangyin::engine::{CueCommand, ENGINE_RATE, Engine, EngineConfig, EventKind};
use xiangyin::output;
use xiangyin::playout::{self, PERIOD_FRAMES, PlayoutEvent, Running};

/// Channels of every test card (8-channel, i16, 48 kHz, like the demo station's card).
const CHANNELS: usize = 8;
/// Bytes per frame on those cards.
const FRAME_BYTES: usize = 2 * CHANNELS;
/// How far ahead of hearing the playout thread renders (what `xiangyin play` uses).
const LEAD: Duration = Duration::from_millis(100);

/// One real-time test at a time (see the module docs).
static CARD: Mutex<()> = Mutex::new(());

fn card_lock() -> MutexGuard<'static, ()> {
    CARD.lock().unwrap_or_else(PoisonError::into_inner)
}

fn ms(frames: usize) -> f64 {
    frames as f64 * 1000.0 / f64::from(ENGINE_RATE)
}

// ---------------------------------------------------------------------------------------------
// Building blocks

/// An 8-channel i16 card at the engine rate on the test PCM `pcm`.
fn card(name: &str, pcm: &str) -> Output {
    device(name, &format!("alsa:{pcm}"), CHANNELS as u16, ENGINE_RATE, SampleFormat::I16, None)
}

/// Where a zone is wired: (output index, 0-based channel, trim dB) for each channel it feeds.
type Wiring<'a> = &'a [(usize, u16, f64)];

/// A profile with `outputs` and `zones` as (zone, wiring).
fn profile(outputs: Vec<Output>, zones: &[(&str, Wiring)]) -> Profile {
    let zones: BTreeMap<ZoneId, Vec<ChannelRef>> = zones
        .iter()
        .map(|(z, chans)| {
            let refs = chans.iter().map(|&(output, channel, trim)| ChannelRef { output, channel, trim: GainDb(trim) });
            (ZoneId::new(z).unwrap(), refs.collect())
        })
        .collect();
    Profile { name: "test".into(), outputs, zones, max_level_dbfs: -1.0, line: Default::default() }
}

/// A mono sine at the engine rate, `amp` of full scale, starting at `phase` (radians).
///
/// Give tones a phase that is not a multiple of π where a jump matters: the playout periods
/// (10 ms) hold whole cycles of these test frequencies, so a tone starting at phase 0 is at a
/// zero crossing on every period boundary, and a cut there would make no click to hear.
fn tone(freq: f64, amp: f64, secs: f64, phase: f64) -> Arc<[f32]> {
    let n = (secs * f64::from(ENGINE_RATE)).round() as usize;
    let w = std::f64::consts::TAU * freq / f64::from(ENGINE_RATE);
    (0..n).map(|i| (amp * (w * i as f64 + phase).sin()) as f32).collect()
}

fn cue(id: u64, zone: &str, audio: &Arc<[f32]>, gain_db: f64, priority: Priority) -> CueCommand {
    CueCommand {
        id: CueId(id),
        zone: ZoneId::new(zone).unwrap(),
        audio: audio.clone().into(),
        gain: GainDb(gain_db),
        chime: None,
        priority,
        start: 0,
    }
}

/// Opens every output of `profile` (its FIFO readers must be running) and starts playout.
fn start(profile: &Profile) -> Running {
    let sinks = profile
        .outputs
        .iter()
        .map(|o| {
            output::open(o, setup(), "test", chrono::Utc::now()).unwrap_or_else(|e| panic!("open {}: {e}", o.name))
        })
        .collect();
    playout::start(profile, &EngineConfig::default(), sinks, LEAD).expect("start the playout thread")
}

/// A paced reader ("the card") on `path`.
fn listen(path: &Path) -> Reader {
    Reader::start(path, FRAME_BYTES, Some(u64::from(ENGINE_RATE) * FRAME_BYTES as u64))
}

/// Waits up to `timeout` for an event matching `want`, keeping every event in `seen`.
fn wait_for(
    running: &Running,
    seen: &mut Vec<PlayoutEvent>,
    timeout: Duration,
    what: &str,
    want: impl Fn(&PlayoutEvent) -> bool,
) -> PlayoutEvent {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match running.events.recv_timeout(left) {
            Ok(ev) => {
                seen.push(ev.clone());
                if want(&ev) {
                    return ev;
                }
            }
            Err(_) => panic!("no {what} within {timeout:?}; events so far: {seen:#?}"),
        }
    }
}

/// An engine event of `kind` (for [`wait_for`]).
fn is_cue(kind: EventKind) -> impl Fn(&PlayoutEvent) -> bool {
    move |ev| matches!(ev, PlayoutEvent::Cue { event, .. } if event.kind == kind)
}

/// The engine events among `seen`, as (sample, kind).
fn cue_events(seen: &[PlayoutEvent]) -> Vec<(u64, EventKind)> {
    seen.iter()
        .filter_map(|ev| match ev {
            PlayoutEvent::Cue { event, .. } => Some((event.sample, event.kind)),
            _ => None,
        })
        .collect()
}

fn no_late_or_refused(seen: &[PlayoutEvent]) {
    for ev in seen {
        assert!(
            !matches!(ev, PlayoutEvent::Late { .. } | PlayoutEvent::Refused { .. }),
            "unexpected {ev:?} in {seen:#?}"
        );
    }
}

/// f32 → i16 as a card receives it (clamp, × 32768, round half away from zero, clamp).
fn to_card(x: f32) -> i16 {
    (f64::from(x.clamp(-1.0, 1.0)) * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16
}

/// What the pure engine renders for `profile` and `cues` (with their `start`s), rendered in the
/// playout thread's periods until it is idle: per output, per channel, as the card receives it.
fn reference(profile: &Profile, cues: Vec<CueCommand>) -> Vec<Vec<Vec<i16>>> {
    let mut engine = Engine::new(profile, &EngineConfig::default());
    let last_start = cues.iter().map(|c| c.start).max().unwrap_or(0);
    for c in cues {
        engine.cue(c).unwrap();
    }
    let mut out: Vec<Vec<Vec<i16>>> =
        profile.outputs.iter().map(|o| vec![Vec::new(); usize::from(o.channels)]).collect();
    while engine.now() <= last_start || !engine.is_idle() {
        for (o, block) in engine.render(PERIOD_FRAMES).into_iter().enumerate() {
            let ch = out[o].len();
            for frame in block.chunks_exact(ch) {
                for (c, &x) in frame.iter().enumerate() {
                    out[o][c].push(to_card(x));
                }
            }
        }
    }
    out
}

fn first_sound(channels: &[Vec<i16>]) -> Option<usize> {
    let frames = channels.iter().map(Vec::len).max().unwrap_or(0);
    (0..frames).find(|&i| channels.iter().any(|c| c.get(i).is_some_and(|&s| s != 0)))
}

fn last_sound(channel: &[i16]) -> Option<usize> {
    channel.iter().rposition(|&s| s != 0)
}

/// Checks that the card heard, from its first sound on, exactly what `want` holds from its
/// first sound on, on every channel, and silence after it.
fn assert_heard_exactly(heard: &[Vec<i16>], want: &[Vec<i16>], what: &str) {
    let w0 = first_sound(want).expect("the reference is silent");
    let want_end = want.iter().filter_map(|c| last_sound(c)).max().unwrap() + 1;
    let needed = want_end - w0;
    let got = heard[0].len();
    assert!(got >= needed, "{what}: the card heard {} ms of sound, the engine rendered {} ms", ms(got), ms(needed));
    for (c, (h, w)) in heard.iter().zip(want).enumerate() {
        let mismatches: Vec<usize> = (0..needed).filter(|&i| h[i] != w[w0 + i]).collect();
        if let Some(&i) = mismatches.first() {
            panic!(
                "{what}: channel {} differs from the engine's render at {} of {needed} frames; first at frame {i} \
                 ({:.1} ms in): heard {}, rendered {}",
                c + 1,
                mismatches.len(),
                ms(i),
                h[i],
                w[w0 + i]
            );
        }
        if let Some(i) = h[needed..].iter().position(|&s| s != 0) {
            panic!(
                "{what}: channel {} not silent {:.1} ms after the sound ended (value {})",
                c + 1,
                ms(i),
                h[needed + i]
            );
        }
    }
}

fn assert_silent_except(heard: &[Vec<i16>], live: &[usize], what: &str) {
    for (c, ch) in heard.iter().enumerate() {
        if live.contains(&c) {
            continue;
        }
        if let Some(i) = ch.iter().position(|&s| s != 0) {
            panic!("{what}: channel {} is not silent: {} at {:.1} ms", c + 1, ch[i], ms(i));
        }
    }
}

/// Amplitude (in sample units) of the component at `freq` in `x` (a single DFT bin; exact for
/// tones with a whole number of cycles in the window).
fn amplitude(x: &[i16], freq: f64) -> f64 {
    let w = std::f64::consts::TAU * freq / f64::from(ENGINE_RATE);
    let (mut re, mut im) = (0.0, 0.0);
    for (k, &s) in x.iter().enumerate() {
        let (sin, cos) = (w * k as f64).sin_cos();
        re += f64::from(s) * cos;
        im -= f64::from(s) * sin;
    }
    2.0 * (re * re + im * im).sqrt() / x.len() as f64
}

fn peak(x: &[i16]) -> f64 {
    x.iter().map(|&s| f64::from(s).abs()).fold(0.0, f64::max)
}

/// Largest step between neighbouring samples of `x`.
fn max_step(x: &[i16]) -> i32 {
    x.windows(2).map(|w| (i32::from(w[1]) - i32::from(w[0])).abs()).max().unwrap_or(0)
}

/// Longest run of exact zeros inside `x` (between its first and last sound).
fn longest_silence_inside(x: &[i16]) -> usize {
    let (Some(a), Some(b)) = (x.iter().position(|&s| s != 0), last_sound(x)) else { return x.len() };
    let (mut run, mut most) = (0, 0);
    for &s in &x[a..=b] {
        run = if s == 0 { run + 1 } else { 0 };
        most = most.max(run);
    }
    most
}

// ---------------------------------------------------------------------------------------------
// 1. Routing and level

#[test]
fn a_cue_on_one_zone_lands_only_on_its_channels_at_its_level() {
    let _card = card_lock();
    setup();
    let path = fifo("xy_route8");
    let reader = listen(&path);
    // dongmen feeds channels 3 and 6, channel 6 trimmed by −3 dB; two other zones are wired
    // and stay silent.
    let profile = profile(
        vec![card("card", "xy_route8")],
        &[("dongmen", &[(0, 2, 0.0), (0, 5, -3.0)]), ("ximen", &[(0, 0, 0.0)]), ("xiabei", &[(0, 7, 0.0)])],
    );
    let clip = tone(1_000.0, 0.1, 1.0, 0.0); // −20 dBFS peak (sampled exactly at 48 kHz), 1 s
    let notice = cue(1, "dongmen", &clip, -6.0, Priority::Manual);

    let running = start(&profile);
    let mut seen = Vec::new();
    running.handle.cue(notice.clone(), None);
    wait_for(&running, &mut seen, Duration::from_secs(10), "end of the notice", is_cue(EventKind::Ended(CueId(1))));
    running.shutdown();
    let got = reader.finish();

    let heard = got.i16_channels(CHANNELS);
    assert!(!heard[0].is_empty(), "the card heard nothing ({} bytes of silence)", got.skipped);
    assert_silent_except(&heard, &[2, 5], "channels of other zones");
    let want = 0.1 * 10f64.powf(-6.0 / 20.0) * 32_768.0; // ≈ 0.05 of full scale
    let trimmed = want * 10f64.powf(-3.0 / 20.0);
    let (p3, p6) = (peak(&heard[2]), peak(&heard[5]));
    assert!((p3 / want - 1.0).abs() < 0.01, "channel 3 peaks at {p3}, want {want:.1} (−20 dBFS tone, −6 dB gain)");
    assert!((p6 / trimmed - 1.0).abs() < 0.01, "channel 6 peaks at {p6}, want {trimmed:.1} (−3 dB trim)");
    let lasted = last_sound(&heard[2]).unwrap() + 1;
    // (The fades' first and last few samples round to zero.)
    assert!(lasted <= clip.len() && lasted + 10 >= clip.len(), "the 1 s clip sounded for {:.2} ms", ms(lasted));

    let events = cue_events(&seen);
    let kinds: Vec<EventKind> = events.iter().map(|e| e.1).collect();
    assert_eq!(kinds, [EventKind::Started(CueId(1)), EventKind::Ended(CueId(1))]);
    assert_eq!(events[1].0 - events[0].0, clip.len() as u64, "Ended is one clip length after Started");
    no_late_or_refused(&seen);

    // Sample for sample what the pure engine renders for the same cue.
    assert_heard_exactly(&heard, &reference(&profile, vec![notice])[0], "the card");
}

// ---------------------------------------------------------------------------------------------
// 2. Preemption and resume

#[test]
fn an_emergency_preempts_a_notice_with_a_crossfade_and_the_notice_resumes_where_it_stopped() {
    let _card = card_lock();
    setup();
    let path = fifo("xy_preempt8");
    let reader = listen(&path);
    let profile = profile(vec![card("card", "xy_preempt8")], &[("nanjie", &[(0, 2, 0.0)]), ("ximen", &[(0, 1, 0.0)])]);
    // 500 Hz and 1500 Hz: whole cycles in a 2 ms window, so each window tells them apart.
    let (fa, fb) = (500.0, 1_500.0);
    let notice = tone(fa, 0.25, 2.0, 1.0);
    let alarm = tone(fb, 0.25, 0.5, 1.0);
    let (a, b) = (CueId(1), CueId(2));

    let running = start(&profile);
    let mut seen = Vec::new();
    running.handle.cue(cue(1, "nanjie", &notice, 0.0, Priority::Manual), None);
    wait_for(&running, &mut seen, Duration::from_secs(5), "start of the notice", is_cue(EventKind::Started(a)));
    std::thread::sleep(Duration::from_millis(500));
    running.handle.cue(cue(2, "nanjie", &alarm, 0.0, Priority::Emergency), None);
    wait_for(&running, &mut seen, Duration::from_secs(15), "end of the notice", is_cue(EventKind::Ended(a)));
    running.shutdown();
    let got = reader.finish();
    no_late_or_refused(&seen);

    // Events: in this order, at consistent samples.
    let events = cue_events(&seen);
    let kinds: Vec<EventKind> = events.iter().map(|e| e.1).collect();
    use EventKind::{Ended, Preempted, Resumed, Started};
    assert_eq!(kinds, [Started(a), Started(b), Preempted(a), Ended(b), Resumed(a), Ended(a)], "{events:?}");
    let at = |k: EventKind| events.iter().find(|e| e.1 == k).unwrap().0;
    let (sa, sb) = (at(Started(a)), at(Started(b)));
    let gap = ms((sb - sa) as usize);
    assert!((300.0..1_400.0).contains(&gap), "the emergency started {gap:.0} ms into the notice, not ~500 ms");
    assert_eq!(at(Preempted(a)), sb, "the notice is preempted when the emergency starts");
    assert_eq!(at(Ended(b)), sb + alarm.len() as u64, "the emergency plays its whole length");
    assert_eq!(at(Resumed(a)), at(Ended(b)), "the notice resumes when the emergency ends");

    // The audio, in 2 ms windows: which tone is heard when.
    let heard = got.i16_channels(CHANNELS);
    assert_silent_except(&heard, &[2], "channels of other zones");
    let ch = &heard[2];
    let full = 0.25 * 32_768.0;
    const WIN: usize = 96; // 2 ms
    let windows: Vec<(f64, f64)> =
        ch.chunks_exact(WIN).map(|w| (amplitude(w, fa) / full, amplitude(w, fb) / full)).collect();
    let win_ms = ms(WIN);
    // Dominant tone, run by run: A, then B, then A again.
    let mut runs: Vec<(char, usize)> = Vec::new();
    for &(xa, xb) in &windows {
        let label = if xa > 0.5 && xb < 0.5 {
            'A'
        } else if xb > 0.5 && xa < 0.5 {
            'B'
        } else {
            continue;
        };
        match runs.last_mut() {
            Some((l, n)) if *l == label => *n += 1,
            _ => runs.push((label, 1)),
        }
    }
    let order: String = runs.iter().map(|r| r.0).collect();
    assert_eq!(order, "ABA", "tones heard in order (runs of 2 ms windows: {runs:?})");
    // A crossfade, not a cut and not a pile-up: both tones audible for about one fade (30 ms).
    let both: Vec<usize> = (0..windows.len()).filter(|&i| windows[i].0 > 0.05 && windows[i].1 > 0.05).collect();
    let overlap = both.len() as f64 * win_ms;
    assert!((20.0..=40.0).contains(&overlap), "the tones overlap for {overlap:.0} ms, want a 30 ms crossfade");
    assert!(both.windows(2).all(|w| w[1] == w[0] + 1), "the overlap is not one crossfade: windows {both:?}");
    let first_b = windows.iter().position(|w| w.1 > 0.05).unwrap();
    assert_eq!(both[0], first_b, "the crossfade is where the emergency comes in");
    // Nothing of the notice is lost: it is heard for its whole length.
    let heard_a = windows.iter().filter(|w| w.0 > 0.05).count() as f64 * win_ms;
    let heard_b = windows.iter().filter(|w| w.1 > 0.05).count() as f64 * win_ms;
    println!("A heard {heard_a:.0} ms, B heard {heard_b:.0} ms, crossfade {overlap:.0} ms, runs {runs:?}");
    assert!((heard_a - 2_000.0).abs() <= 50.0, "the 2 s notice was heard for {heard_a:.0} ms");
    assert!((heard_b - 500.0).abs() <= 50.0, "the 0.5 s emergency was heard for {heard_b:.0} ms");

    // No clicks: no step between neighbouring samples larger than the tones' own steepest.
    let as_card = |clip: &[f32]| clip.iter().map(|&x| to_card(x)).collect::<Vec<i16>>();
    let steepest = max_step(&as_card(&notice)).max(max_step(&as_card(&alarm)));
    // (From the silence before the first sound on: a start without a fade clicks too.)
    let worst = max_step(&[&[0], &ch[..]].concat());
    assert!(
        f64::from(worst) <= 1.05 * f64::from(steepest),
        "a step of {worst} between neighbouring samples (the tones' steepest is {steepest}): a click"
    );

    // And sample for sample what the pure engine renders for the same cues.
    let mut first = cue(1, "nanjie", &notice, 0.0, Priority::Manual);
    let mut second = cue(2, "nanjie", &alarm, 0.0, Priority::Emergency);
    (first.start, second.start) = (0, sb - sa);
    assert_heard_exactly(&heard, &reference(&profile, vec![first, second])[0], "the card");
}

// ---------------------------------------------------------------------------------------------
// 3. One failing card among two

#[test]
fn an_unplugged_card_degrades_only_its_zones_and_plays_again_when_it_is_back() {
    let _card = card_lock();
    setup();
    let (path1, path2) = (fifo("xy_pair1_8"), fifo("xy_pair2_8"));
    let (first_card, other_card) = (listen(&path1), listen(&path2));
    // Zone x on the first card's channel 1, zone y on the second card's channel 2.
    let profile = profile(
        vec![card("one", "xy_pair1_8"), card("two", "xy_pair2_8")],
        &[("x", &[(0, 0, 0.0)]), ("y", &[(1, 1, 0.0)])],
    );
    let (fx, fy) = (600.0, 900.0);
    let x_clip = tone(fx, 0.2, 4.0, 1.0);
    let y_clip = tone(fy, 0.2, 4.0, 1.0);
    let (x, y) = (CueId(1), CueId(2));

    let running = start(&profile);
    let mut seen = Vec::new();
    running.handle.cue(cue(1, "x", &x_clip, 0.0, Priority::Scheduled), None);
    running.handle.cue(cue(2, "y", &y_clip, 0.0, Priority::Scheduled), None);
    wait_for(&running, &mut seen, Duration::from_secs(5), "start of x", is_cue(EventKind::Started(x)));
    if !cue_events(&seen).iter().any(|e| e.1 == EventKind::Started(y)) {
        wait_for(&running, &mut seen, Duration::from_secs(5), "start of y", is_cue(EventKind::Started(y)));
    }
    std::thread::sleep(Duration::from_secs(1));

    // Unplug the first card.
    let before = first_card.unplug();
    let unplugged = Instant::now();
    let degraded = |name: &'static str| move |ev: &PlayoutEvent| matches!(ev, PlayoutEvent::OutputDegraded { output, .. } if output == name);
    wait_for(&running, &mut seen, Duration::from_secs(5), "OutputDegraded for `one`", degraded("one"));
    println!("`one` degraded {:?} after it was unplugged", unplugged.elapsed());
    std::thread::sleep(Duration::from_millis(500));

    // Plug it back in.
    let second_card = listen(&path1);
    let back = Instant::now();
    let recovered = |ev: &PlayoutEvent| matches!(ev, PlayoutEvent::OutputRecovered { output } if output == "one");
    wait_for(&running, &mut seen, Duration::from_secs(5), "OutputRecovered for `one`", recovered);
    println!("`one` recovered {:?} after it was plugged back in", back.elapsed());

    for id in [x, y] {
        if !cue_events(&seen).iter().any(|e| e.1 == EventKind::Ended(id)) {
            wait_for(&running, &mut seen, Duration::from_secs(15), "end of the tones", is_cue(EventKind::Ended(id)));
        }
    }
    running.shutdown();
    let other = other_card.finish();
    let after = second_card.finish();
    no_late_or_refused(&seen);

    // Health events: the first card degraded once and recovered once; the other never degraded.
    let health: Vec<&PlayoutEvent> = seen
        .iter()
        .filter(|ev| matches!(ev, PlayoutEvent::OutputDegraded { .. } | PlayoutEvent::OutputRecovered { .. }))
        .collect();
    assert!(
        matches!(health[..], [PlayoutEvent::OutputDegraded { output: o1, reason }, PlayoutEvent::OutputRecovered { output: o2 }]
            if o1 == "one" && o2 == "one" && !reason.is_empty()),
        "want one OutputDegraded and one OutputRecovered, both for `one`; got {health:#?}"
    );

    // The other card played on: y continuous from start to end, exactly as rendered.
    let heard = other.i16_channels(CHANNELS);
    assert_silent_except(&heard, &[1], "the other card, outside zone y");
    let gap = longest_silence_inside(&heard[1]);
    assert!(gap <= PERIOD_FRAMES, "zone y went silent for {:.1} ms while the other card was unplugged", ms(gap));
    assert_heard_exactly(
        &heard,
        &reference(&profile, vec![cue(2, "y", &y_clip, 0.0, Priority::Scheduled)])[1],
        "the other card",
    );

    // The first card heard x until it was unplugged…
    let x_ref = &reference(&profile, vec![cue(1, "x", &x_clip, 0.0, Priority::Scheduled)])[0];
    let x_ref0 = first_sound(x_ref).unwrap();
    let heard = before.i16_channels(CHANNELS);
    assert!(
        ms(heard[0].len()) >= 500.0,
        "the first card heard only {:.0} ms before it was unplugged",
        ms(heard[0].len())
    );
    assert_silent_except(&heard, &[0], "the first card before the unplug, outside zone x");
    let n = heard[0].len();
    assert!(
        heard[0][..] == x_ref[0][x_ref0..x_ref0 + n],
        "the first card did not hear x intact before it was unplugged"
    );

    // …and hears it again once it is back: the rest of x, one unbroken piece to its end.
    let heard = after.i16_channels(CHANNELS);
    assert_silent_except(&heard, &[0], "the first card after it came back, outside zone x");
    let full = 0.2 * 32_768.0;
    let loud = heard[0].chunks_exact(PERIOD_FRAMES).filter(|w| amplitude(w, fx) > 0.9 * full).count();
    assert!(
        ms(loud * PERIOD_FRAMES) >= 1_000.0,
        "x was heard for only {:.0} ms after the first card came back",
        ms(loud * PERIOD_FRAMES)
    );
    let end = last_sound(&heard[0]).unwrap() + 1;
    let x_end = last_sound(&x_ref[0]).unwrap() + 1;
    let piece = &heard[0][..end];
    assert!(
        end <= x_end && piece == &x_ref[0][x_end - end..x_end],
        "after the first card came back it did not hear the rest of x unbroken ({:.0} ms of sound)",
        ms(end)
    );
}

/// A card that hangs — open, but taking no audio, as a stuck driver does — must not disturb the
/// other card: no gap, no dropped or repeated frame, every sample as rendered.
#[test]
fn a_hung_card_never_disturbs_the_other_card() {
    let _card = card_lock();
    setup();
    let (path1, path2) = (fifo("xy_hang1_8"), fifo("xy_hang2_8"));
    let (stuck_card, other_card) = (listen(&path1), listen(&path2));
    let profile = profile(
        vec![card("one", "xy_hang1_8"), card("two", "xy_hang2_8")],
        &[("x", &[(0, 0, 0.0)]), ("y", &[(1, 1, 0.0)])],
    );
    let x_clip = tone(600.0, 0.2, 7.0, 1.0);
    let y_clip = tone(900.0, 0.2, 7.0, 1.0);
    let running = start(&profile);
    let mut seen = Vec::new();
    running.handle.cue(cue(1, "x", &x_clip, 0.0, Priority::Scheduled), None);
    running.handle.cue(cue(2, "y", &y_clip, 0.0, Priority::Scheduled), None);
    for id in [CueId(1), CueId(2)] {
        if !cue_events(&seen).iter().any(|e| e.1 == EventKind::Started(id)) {
            wait_for(&running, &mut seen, Duration::from_secs(5), "the tones to start", is_cue(EventKind::Started(id)));
        }
    }
    std::thread::sleep(Duration::from_secs(1));

    // The first card hangs for about 3 s, then takes audio again.
    stuck_card.hang();
    let degraded = |ev: &PlayoutEvent| matches!(ev, PlayoutEvent::OutputDegraded { output, .. } if output == "one");
    wait_for(&running, &mut seen, Duration::from_secs(5), "OutputDegraded for the hung card", degraded);
    std::thread::sleep(Duration::from_secs(2));
    stuck_card.resume();
    if !cue_events(&seen).iter().any(|e| e.1 == EventKind::Ended(CueId(2))) {
        wait_for(&running, &mut seen, Duration::from_secs(15), "the end of y", is_cue(EventKind::Ended(CueId(2))));
    }
    running.shutdown();
    let other = other_card.finish();
    let _ = stuck_card.unplug();
    no_late_or_refused(&seen);
    assert!(
        !seen.iter().any(|ev| matches!(ev, PlayoutEvent::OutputDegraded { output, .. } if output == "two")),
        "the healthy card was reported degraded: {seen:#?}"
    );
    let heard = other.i16_channels(CHANNELS);
    assert_silent_except(&heard, &[1], "the healthy card, outside zone y");
    let gap = longest_silence_inside(&heard[1]);
    println!("the healthy card's longest gap while the other one hung: {:.1} ms", ms(gap));
    assert_eq!(gap, 0, "the healthy card went silent for {:.1} ms while the other one hung", ms(gap));
    assert_heard_exactly(
        &heard,
        &reference(&profile, vec![cue(2, "y", &y_clip, 0.0, Priority::Scheduled)])[1],
        "the healthy card while the other one hung",
    );
}

// ---------------------------------------------------------------------------------------------
// 4. `xiangyin play` on a real card

/// A demo-shaped station with one approved 1 s 800 Hz tone and a profile `card` whose single
/// 8-channel output is the ALSA device `device`. Returns the station and the clip id.
fn play_station(device: &str) -> (common::Station, String) {
    let st = common::Station::new(false);
    for f in ["morning.yaml", "campaigns.yaml"] {
        std::fs::remove_file(st.root().join("schedules").join(f)).unwrap();
    }
    // A 1 s, 800 Hz tone at half scale, imported as an approved notice that doubles as the chime.
    let wav = st.root().join("tone.wav");
    common::write_wav(&wav, &common::sine(800.0, 0.5, ENGINE_RATE, 1, 1.0), ENGINE_RATE, 1, 32, true);
    st.edit("schedules/station.yaml", "chime: chime", "chime: tone");
    let out = st.run(&[
        "import",
        wav.to_str().unwrap(),
        "--language",
        "cmn",
        "--kind",
        "notice",
        "--message",
        "tone",
        "--approve",
        "--json",
    ]);
    assert!(out.status.success(), "import: {}{}", common::stdout(&out), common::stderr(&out));
    let clip = common::json_lines(&out)[0]["id"].as_str().expect("clip id").to_owned();
    std::fs::write(
        st.root().join("hardware-profiles/card.yaml"),
        "description: the test card (an ALSA file PCM)\n\
         outputs:\n  - {name: card, kind: device, device: \"DEVICE\", rate: 48000, format: i16, channels: 8}\n\
         zones:\n  dongmen: [card:1]\n  ximen: [card:2]\n  nanjie: [card:3]\n  beishan: [card:4]\n  \
         shiqiao: [card:5]\n  liutang: [card:6]\n  huangni: [card:7]\n  xiabei: [card:8]\n\
         max_level_dbfs: -1\n"
            .replace("DEVICE", device),
    )
    .unwrap();

    (st, clip)
}

#[test]
fn xiangyin_play_sends_the_clip_to_the_villages_channel_only_and_says_what_it_played() {
    let _card = card_lock();
    setup();
    let (st, clip) = play_station("alsa:xy_play8");
    let path = fifo("xy_play8");
    let reader = listen(&path);
    let mut child = Command::new(env!("CARGO_BIN_EXE_xiangyin"))
        .arg("--root")
        .arg(st.root())
        .args(["play", "--village", "nanjie", "--clip", &clip, "--profile", "card"])
        .env("ALSA_CONFIG_PATH", alsa::alsa_config_path())
        .env("XY_ALSA_DIR", setup())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run xiangyin play");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("`xiangyin play` still running after 30 s: {}{}", common::stdout(&out), common::stderr(&out));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let took = started.elapsed();
    let (stdout, stderr) = (common::stdout(&out), common::stderr(&out));
    let got: Captured = reader.finish();
    println!("`xiangyin play` took {took:?}:\n{stdout}");

    assert!(out.status.success(), "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    assert!(
        stdout.contains(&format!("playing {clip} ")) && stdout.contains("on nanjie 南街社区 (zone nanjie → card:3)"),
        "it does not say what it plays where:\n{stdout}"
    );
    assert!(stdout.contains("done: 1.0 s played"), "it does not say it finished:\n{stdout}");
    let gain: f64 = stdout
        .split("gain ")
        .nth(1)
        .and_then(|s| s.split(" dB").next())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `gain … dB` in:\n{stdout}"));

    let heard = got.i16_channels(CHANNELS);
    assert!(!heard[0].is_empty(), "the card heard nothing");
    assert_silent_except(&heard, &[2], "channels of other villages");
    let ch = &heard[2];
    let lasted = last_sound(ch).unwrap() + 1;
    assert!(lasted <= 48_000 && lasted + 10 >= 48_000, "the 1 s clip sounded for {:.2} ms", ms(lasted));
    // The level is the one printed (the gain is printed to 0.1 dB: ±0.6 %).
    let want = 0.5 * 10f64.powf(gain / 20.0) * 32_768.0;
    let got_peak = peak(ch);
    assert!((got_peak / want - 1.0).abs() < 0.015, "peak {got_peak}, want {want:.0} (0.5 × gain {gain:+.1} dB)");
    // It is the 800 Hz tone, whole, at that level (10 ms windows past the fades).
    let body = &ch[PERIOD_FRAMES * 4..lasted - PERIOD_FRAMES * 4];
    for (i, w) in body.chunks_exact(PERIOD_FRAMES).enumerate() {
        let a = amplitude(w, 800.0);
        assert!((a / want - 1.0).abs() < 0.015, "800 Hz at {a:.0} in window {i} (want {want:.0})");
    }
    // The as-run log has it, like any cue the station plays.
    let log = play_rows(&st);
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(log[0].starts_with(&format!("nanjie,nanjie,{clip},cmn,manual,,")), "{log:?}");
    assert!(log[0].contains(",played,xiangyin play,"), "{log:?}");
}

#[test]
fn check_says_when_the_profiles_card_is_not_there_and_still_passes_the_configuration() {
    let _card = card_lock();
    setup();
    let (st, _) = play_station("alsa:xy_list8");
    let check = |st: &common::Station| {
        let out = Command::new(env!("CARGO_BIN_EXE_xiangyin"))
            .arg("--root")
            .arg(st.root())
            .args(["check", "--profile", "card"])
            .env("ALSA_CONFIG_PATH", alsa::alsa_config_path())
            .env("XY_ALSA_DIR", setup())
            .output()
            .expect("run xiangyin check");
        let (stdout, stderr) = (common::stdout(&out), common::stderr(&out));
        assert!(out.status.success(), "the configuration is right: {stdout}{stderr}");
        assert!(!stderr.contains("ALSA lib"), "alsa-lib's own lines leak:\n{stderr}");
        stdout
    };
    let there = check(&st);
    assert!(there.contains(", profile card; "), "{there}");
    st.edit("hardware-profiles/card.yaml", "alsa:xy_list8", "alsa:xy_unplugged");
    let gone = check(&st);
    assert!(
        gone.contains(
            ", profile card (its card alsa:xy_unplugged is not present; serve would fall back to virtual: villages would hear nothing); "
        ),
        "{gone}"
    );
}

/// The as-run rows (CSV lines without the header) of the station `st`.
fn play_rows(st: &common::Station) -> Vec<String> {
    let o = common::xiangyin(st.root(), &["log", "--csv"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    common::stdout(&o).lines().skip(1).map(|l| l.split_once(',').unwrap().1.to_owned()).collect()
}

#[test]
fn xiangyin_play_on_a_card_that_does_not_answer_says_the_village_did_not_hear_it() {
    let _card = card_lock();
    setup();
    // Nobody reads this card's FIFO, so opening it hangs: the output starts degraded.
    let _fifo = fifo("xy_late2");
    let (st, clip) = play_station("alsa:xy_late2");
    let out = Command::new(env!("CARGO_BIN_EXE_xiangyin"))
        .arg("--root")
        .arg(st.root())
        .args(["play", "--village", "nanjie", "--clip", &clip, "--profile", "card"])
        .env("ALSA_CONFIG_PATH", alsa::alsa_config_path())
        .env("XY_ALSA_DIR", setup())
        .env("RUST_LOG", "error")
        .output()
        .expect("run xiangyin play");
    let stdout = common::stdout(&out);
    assert_eq!(out.status.code(), Some(1), "a silent village is a failure:\n{stdout}{}", common::stderr(&out));
    assert!(stdout.contains("warning: output `card` is not playing"), "{stdout}");
    assert!(stdout.contains("but `card` was not playing, so 南街社区 did not hear all of it"), "{stdout}");
    let log = play_rows(&st);
    assert!(log.len() == 1 && log[0].contains(",failed-output,xiangyin play: output card: "), "{log:?}");
}
