//! Outputs through the real cpal → ALSA path, without a sound card, and the WAV and null sinks.
//!
//! ALSA is pointed at `tests/alsa/asoundrc`, whose PCMs are ALSA's `file` plugin writing what
//! cpal plays into `$XY_ALSA_DIR/NAME.raw`. The tests make those paths FIFOs and read them, at
//! the byte rate where a real-time device clock matters, so a FIFO reader is the "sound card":
//! closing it unplugs the card, reopening it plugs it back in. cpal reads the ALSA configuration
//! once per process, so `setup()` sets the environment before any test touches cpal. The
//! harness (`setup`, `fifo`, `Reader`, log capture) lives in `tests/common/alsa.rs`, shared with
//! `tests/playout_alsa.rs`.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use xiangyin::config::{Output, OutputKind, SampleFormat};
use xiangyin::domain::OutputName;
use xiangyin::output::{self, Health, OutputError, Sink};

#[path = "common/alsa.rs"]
mod alsa;

use alsa::{Captured, Reader, device, fifo, log_lines, setup};

fn spec(name: &str, kind: OutputKind, channels: u16, rate: u32, format: SampleFormat) -> Output {
    Output { name: OutputName::new(name).unwrap(), kind, rate, format, channels }
}

fn open(o: &Output) -> Result<Box<dyn Sink>, OutputError> {
    output::open(o, setup(), "test", Utc::now())
}

/// Interleaved test signal: channel `c` is a tone of its own frequency and level, channel 0
/// overdriven to 1.2 so clamping shows. No channel starts at zero.
fn signal(frames: usize, channels: usize, rate: u32) -> Vec<f32> {
    let mut v = Vec::with_capacity(frames * channels);
    for i in 0..frames {
        let t = i as f64 / f64::from(rate);
        for c in 0..channels {
            let level = if c == 0 { 1.2 } else { 0.9 - 0.1 * c as f64 };
            let freq = 110.0 + 157.0 * c as f64;
            v.push((level * (std::f64::consts::TAU * freq * t + 0.3 + c as f64).sin()) as f32);
        }
    }
    v
}

/// What the card should receive for `samples` in `format`, little-endian (the test computes the
/// conversion itself: clamp, scale by 2^(bits-1), round, clamp).
fn expected_bytes(samples: &[f32], format: SampleFormat) -> Vec<u8> {
    let mut out = Vec::new();
    for &x in samples {
        let x = f64::from(x.clamp(-1.0, 1.0));
        let int = |bits: i32| {
            let scale = 2f64.powi(bits - 1);
            (x * scale).round().clamp(-scale, scale - 1.0) as i64
        };
        match format {
            SampleFormat::I16 => out.extend_from_slice(&(int(16) as i16).to_le_bytes()),
            SampleFormat::I24 => out.extend_from_slice(&(int(24) as i32).to_le_bytes()),
            SampleFormat::I32 => out.extend_from_slice(&(int(32) as i32).to_le_bytes()),
            SampleFormat::F32 => out.extend_from_slice(&(x as f32).to_le_bytes()),
        }
    }
    out
}

fn bytes_per_sample(format: SampleFormat) -> usize {
    match format {
        SampleFormat::I16 => 2,
        SampleFormat::I24 | SampleFormat::I32 | SampleFormat::F32 => 4,
    }
}

/// Compares what the card received with what was written, sample by sample. For i24 the card
/// reads the low three bytes of each 32-bit container; the fourth is padding.
fn assert_received(got: &Captured, want: &[u8], format: SampleFormat, frame_bytes: usize) {
    let (heard, written) = (got.data.len(), want.len());
    assert!(heard >= written, "the card received {heard} bytes of sound, {written} were written");
    let width = bytes_per_sample(format);
    let cmp = if format == SampleFormat::I24 { 3 } else { width };
    for (i, (g, w)) in got.data.chunks(width).zip(want.chunks(width)).enumerate() {
        assert_eq!(
            &g[..cmp],
            &w[..cmp],
            "sample {i} (frame {}, channel {}) differs",
            i * width / frame_bytes,
            (i * width % frame_bytes) / width
        );
    }
    let tail = &got.data[want.len()..];
    let noise = tail.iter().filter(|&&b| b != 0).count();
    assert_eq!(noise, 0, "after the signal the card received {noise} bytes that are not silence");
}

/// Plays one second of `signal` through a device sink into a paced FIFO and checks the bytes.
fn play_one_second(pcm: &str, channels: u16, rate: u32, format: SampleFormat, period: Option<u32>) {
    setup();
    let path = fifo(pcm);
    let frame_bytes = usize::from(channels) * bytes_per_sample(format);
    let reader = Reader::start(&path, frame_bytes, Some(u64::from(rate) * frame_bytes as u64));
    let out = device(&pcm.replace('_', "-"), &format!("alsa:{pcm}"), channels, rate, format, period);
    let mut sink = open(&out).expect("open the device");
    assert!(sink.is_realtime());
    assert_eq!(sink.health(), Health::Healthy);

    let samples = signal(rate as usize, usize::from(channels), rate);
    let started = Instant::now();
    for chunk in samples.chunks(usize::from(channels) * rate as usize / 100) {
        sink.write(chunk).unwrap();
    }
    let writing = started.elapsed();
    let underruns = sink.underruns();
    sink.finish().unwrap();
    let got = reader.finish();

    println!("{pcm}: writing took {writing:?}, {} bytes of silence before the signal", got.skipped);
    // Paced by the card: 1 s of audio cannot be accepted much faster than the card plays it
    // (ring 200 ms + pipe and ALSA buffers let the writer run at most ~0.4 s ahead).
    assert!(writing >= Duration::from_millis(450), "1 s of audio was accepted in {writing:?}: not paced by the device");
    assert_eq!(got.skipped % frame_bytes as u64, 0);
    assert_eq!(underruns, 0, "the ring ran dry while the writer kept up");
    assert_received(&got, &expected_bytes(&samples, format), format, frame_bytes);
}

// ---------------------------------------------------------------------------------------------
// Devices

fn ids(list: &[output::DeviceInfo]) -> Vec<&str> {
    list.iter().map(|d| d.id.as_str()).collect()
}

#[test]
fn devices_lists_the_test_card_by_an_id_that_open_accepts() {
    setup();
    let list = output::devices().expect("list devices");
    let card = list
        .iter()
        .find(|d| d.id == "alsa:xy_list8")
        .unwrap_or_else(|| panic!("alsa:xy_list8 not listed; got {:?}", ids(&list)));
    assert_eq!(card.description, "xiangyin test: 8-channel card for the device list");
    for f in [SampleFormat::I16, SampleFormat::I24, SampleFormat::I32, SampleFormat::F32] {
        assert!(card.formats.contains(&f), "{f:?} missing from {:?}", card.formats);
    }
    assert!(card.max_channels >= 8, "max channels {}", card.max_channels);
    assert!(card.rates.iter().any(|&(lo, hi)| lo <= 48_000 && hi >= 48_000), "rates {:?}", card.rates);
    assert_eq!(card.problem, None);

    // The listed id opens, and what is written plays.
    let path = fifo("xy_list8");
    let reader = Reader::start(&path, 16, None);
    let out = device("listed", &card.id, 8, 48_000, SampleFormat::I16, None);
    let mut sink = open(&out).expect("open() accepts the listed id");
    let samples = signal(4_800, 8, 48_000); // 100 ms: fits the ring, so it plays in one piece
    sink.write(&samples).unwrap();
    sink.finish().unwrap();
    let got = reader.finish();
    assert_received(&got, &expected_bytes(&samples, SampleFormat::I16), SampleFormat::I16, 16);

    // More channels than the card takes: refused, saying what it does take.
    let wide = device("wide", &card.id, 65, 48_000, SampleFormat::I16, None);
    match open(&wide) {
        Err(OutputError::Unsupported { channels: 65, why, .. }) => {
            assert!(why.contains("up to 64 channels"), "{why}");
        }
        Err(e) => panic!("expected Unsupported, got {e}"),
        Ok(_) => panic!("65 channels opened"),
    }

    // An id that is not there names the ones that are.
    let missing = device("missing", "alsa:xy_no_such_card", 8, 48_000, SampleFormat::I16, None);
    match open(&missing) {
        Err(OutputError::DeviceNotFound { id, available, .. }) => {
            assert_eq!(id, "alsa:xy_no_such_card");
            assert!(available.contains(&"alsa:xy_list8".to_owned()), "{available:?}");
        }
        Err(e) => panic!("expected DeviceNotFound, got {e}"),
        Ok(_) => panic!("a missing device opened"),
    }
}

#[test]
fn one_second_of_8_channel_i16_lands_byte_exact() {
    play_one_second("xy_i16x8", 8, 48_000, SampleFormat::I16, None);
}

#[test]
fn one_second_of_stereo_f32_at_44_1_khz_lands_byte_exact() {
    play_one_second("xy_f32x2", 2, 44_100, SampleFormat::F32, None);
}

#[test]
fn one_second_of_stereo_i32_at_44_1_khz_with_a_fixed_period_lands_byte_exact() {
    play_one_second("xy_i32x2", 2, 44_100, SampleFormat::I32, Some(441));
}

#[test]
fn one_second_of_stereo_i24_at_44_1_khz_lands_byte_exact() {
    play_one_second("xy_i24x2", 2, 44_100, SampleFormat::I24, None);
}

#[test]
fn an_unplugged_card_degrades_once_keeps_write_prompt_and_recovers() {
    setup();
    let path = fifo("xy_loss8");
    let (channels, rate, frame_bytes) = (8u16, 48_000u32, 16usize);
    let bytes_per_sec = Some(u64::from(rate) * frame_bytes as u64);
    let first_card = Reader::start(&path, frame_bytes, bytes_per_sec);
    let out = device("lossy", "alsa:xy_loss8", channels, rate, SampleFormat::I16, None);
    let mut sink = open(&out).expect("open");
    let tone = signal(480, 8, rate); // 10 ms
    let silence = vec![0.0f32; tone.len()];

    // Playing normally.
    for _ in 0..40 {
        sink.write(&tone).unwrap();
    }
    assert_eq!(sink.health(), Health::Healthy);

    // Unplug: the sink notices, warns once, and write stays prompt while it discards.
    let before = first_card.unplug();
    assert!(!before.data.is_empty(), "the card heard nothing before it was unplugged");
    let lost = Instant::now();
    let mut degraded_after = None;
    let mut slowest = Duration::ZERO;
    while lost.elapsed() < Duration::from_millis(1_500) {
        let t = Instant::now();
        sink.write(&tone).unwrap();
        slowest = slowest.max(t.elapsed());
        if degraded_after.is_none() && !sink.health().is_healthy() {
            degraded_after = Some(lost.elapsed());
        }
    }
    println!("degraded after {degraded_after:?}; slowest write while unplugged {slowest:?}");
    let degraded_after = degraded_after.expect("the sink never noticed the card was gone");
    assert!(degraded_after < Duration::from_secs(1), "noticed only after {degraded_after:?}");
    assert!(slowest < Duration::from_millis(300), "a write took {slowest:?} while the card was gone");
    match sink.health() {
        Health::Degraded { reason, since } => {
            assert!(!reason.is_empty());
            assert!(since <= Instant::now());
        }
        Health::Healthy => panic!("healthy while unplugged"),
    }
    let warnings = log_lines("WARN", "`lossy`");
    assert_eq!(warnings.len(), 1, "expected one warning, got {warnings:#?}");

    // Plug back in: healthy again within 5 s.
    let second_card = Reader::start(&path, frame_bytes, bytes_per_sec);
    let back = Instant::now();
    while !sink.health().is_healthy() {
        assert!(back.elapsed() < Duration::from_secs(5), "not healthy 5 s after the card came back");
        sink.write(&silence).unwrap();
    }

    println!("healthy again {:?} after the card came back", back.elapsed());

    // Audio written after recovery reaches the card, intact.
    let after = signal(14_400, 8, rate); // 300 ms
    for chunk in after.chunks(tone.len()) {
        sink.write(chunk).unwrap();
    }
    sink.finish().unwrap();
    let got = second_card.finish();
    assert_received(&got, &expected_bytes(&after, SampleFormat::I16), SampleFormat::I16, frame_bytes);
    assert_eq!(log_lines("WARN", "`lossy`").len(), 1, "more warnings after recovery");
    assert_eq!(log_lines("INFO", "`lossy` is playing again").len(), 1, "one recovery line");
}

#[test]
fn a_card_that_hangs_while_opening_gives_a_degraded_sink_that_recovers() {
    setup();
    // A FIFO nobody reads yet: opening the PCM blocks, like a hung driver.
    let path = fifo("xy_late2");
    let (rate, frame_bytes) = (48_000u32, 4usize);
    let out = device("late", "alsa:xy_late2", 2, rate, SampleFormat::I16, None);
    let t = Instant::now();
    let mut sink = open(&out).expect("a device that is slow to open still gives a sink");
    let took = t.elapsed();
    println!("open returned after {took:?}");
    assert!(took < Duration::from_secs(5), "open blocked for {took:?}");
    match sink.health() {
        Health::Degraded { reason, .. } => assert!(reason.contains("did not open"), "{reason}"),
        Health::Healthy => panic!("healthy before the device opened"),
    }

    // Meanwhile writes are prompt, but keep the caller near real time instead of letting it spin.
    let chunk = signal(480, 2, rate); // 10 ms
    let t = Instant::now();
    let mut slowest = Duration::ZERO;
    for _ in 0..50 {
        let w = Instant::now();
        sink.write(&chunk).unwrap();
        slowest = slowest.max(w.elapsed());
    }
    let half_second = t.elapsed();
    println!("0.5 s of audio discarded in {half_second:?}, slowest write {slowest:?}");
    assert!(slowest < Duration::from_millis(100), "a write took {slowest:?}");
    assert!(half_second >= Duration::from_millis(200), "discarding did not keep real time: {half_second:?}");

    // The card answers: healthy within 5 s, and new audio plays intact.
    let card = Reader::start(&path, frame_bytes, Some(u64::from(rate) * frame_bytes as u64));
    let back = Instant::now();
    let silence = vec![0.0f32; chunk.len()];
    while !sink.health().is_healthy() {
        assert!(back.elapsed() < Duration::from_secs(5), "not healthy 5 s after the card answered");
        sink.write(&silence).unwrap();
    }
    let after = signal(9_600, 2, rate); // 200 ms
    for c in after.chunks(chunk.len()) {
        sink.write(c).unwrap();
    }
    sink.finish().unwrap();
    assert_received(&card.finish(), &expected_bytes(&after, SampleFormat::I16), SampleFormat::I16, frame_bytes);
    assert_eq!(log_lines("WARN", "`late`").len(), 1);
}

// ---------------------------------------------------------------------------------------------
// WAV and null

fn wav_out(name: &str, hourly: bool, channels: u16, rate: u32, format: SampleFormat) -> Output {
    spec(name, OutputKind::Wav { hourly, budget: None }, channels, rate, format)
}

/// Samples that exercise clamping and rounding, two channels.
const PROBE: [f32; 12] = [0.0, 0.5, -0.5, 1.0, -1.0, 1.7, -3.0, 0.1, -0.1, 0.25, 1e-6, -1e-6];

#[test]
fn wav_sink_writes_each_format_clamped_and_rounded() {
    let dir = tempfile::tempdir().unwrap();
    let start = Utc.with_ymd_and_hms(2030, 3, 4, 5, 6, 7).unwrap();
    for (format, bits, float) in [
        (SampleFormat::I16, 16, false),
        (SampleFormat::I24, 24, false),
        (SampleFormat::I32, 32, false),
        (SampleFormat::F32, 32, true),
    ] {
        let name = format!("rec-{bits}{}", if float { "f" } else { "i" });
        let out = wav_out(&name, false, 2, 22_050, format);
        let mut sink = output::open(&out, dir.path(), "run7", start).unwrap();
        assert!(!sink.is_realtime());
        sink.write(&PROBE).unwrap();
        sink.write(&PROBE[..4]).unwrap();
        sink.finish().unwrap();

        let path = dir.path().join("recordings").join(format!("run7-{name}.wav"));
        let mut r = hound::WavReader::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let s = r.spec();
        assert_eq!((s.channels, s.sample_rate, s.bits_per_sample), (2, 22_050, bits));
        assert_eq!(s.sample_format, if float { hound::SampleFormat::Float } else { hound::SampleFormat::Int });
        let all: Vec<f32> = PROBE.iter().chain(&PROBE[..4]).copied().collect();
        if float {
            let got: Vec<f32> = r.samples::<f32>().map(Result::unwrap).collect();
            let want: Vec<f32> = all.iter().map(|x| x.clamp(-1.0, 1.0)).collect();
            assert_eq!(got, want);
        } else {
            let got: Vec<i64> = r.samples::<i32>().map(|x| i64::from(x.unwrap())).collect();
            let scale = 2f64.powi(i32::from(bits) - 1);
            let want: Vec<i64> = all
                .iter()
                .map(|&x| (f64::from(x.clamp(-1.0, 1.0)) * scale).round().clamp(-scale, scale - 1.0) as i64)
                .collect();
            assert_eq!(got, want, "{format:?}");
        }
    }
    // Spot checks a listener would notice: full scale, clipping, and rounding (not truncation).
    let mut r = hound::WavReader::open(dir.path().join("recordings/run7-rec-16i.wav")).unwrap();
    let got: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
    assert_eq!(&got[..10], &[0, 16_384, -16_384, 32_767, -32_768, 32_767, -32_768, 3_277, -3_277, 8_192]);
    let mut r = hound::WavReader::open(dir.path().join("recordings/run7-rec-24i.wav")).unwrap();
    let got: Vec<i32> = r.samples::<i32>().map(Result::unwrap).collect();
    assert_eq!(&got[3..7], &[8_388_607, -8_388_608, 8_388_607, -8_388_608]);
}

#[test]
fn hourly_wav_starts_a_new_valid_file_at_the_hour_even_if_the_process_dies() {
    let dir = tempfile::tempdir().unwrap();
    let tz = chrono_tz::Asia::Shanghai;
    // Half a second before local midnight: the split also changes the date in the name.
    let start = tz.with_ymd_and_hms(2030, 1, 2, 23, 59, 59).unwrap() + chrono::TimeDelta::milliseconds(500);
    let rate = 8_000;
    let samples = signal(rate as usize, 2, rate); // 1 s
    let rec = dir.path().join("recordings");
    let read = |name: &str| -> Vec<i16> {
        let mut r = hound::WavReader::open(rec.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((r.spec().channels, r.spec().sample_rate), (2, rate));
        r.samples::<i16>().map(Result::unwrap).collect()
    };
    let as_i16 = |xs: &[f32]| -> Vec<i16> {
        let one = |x: f32| (f64::from(x.clamp(-1.0, 1.0)) * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16;
        xs.iter().map(|&x| one(x)).collect()
    };

    // A run that is killed after crossing the hour: the finished hour is a complete file.
    let out = wav_out("bell", true, 2, rate, SampleFormat::I16);
    let mut sink = output::open(&out, dir.path(), "killed", start).unwrap();
    for chunk in samples.chunks(2 * 300) {
        sink.write(chunk).unwrap();
    }
    std::mem::forget(sink); // no finish, no drop: as if the process died here
    assert_eq!(read("killed-bell-20300102-23.wav"), as_i16(&samples[..2 * 4_000]));
    let _ = read("killed-bell-20300103-00.wav"); // opens: its header is valid too

    // A run that finishes: both hours complete, nothing lost or repeated at the seam.
    let mut sink = output::open(&out, dir.path(), "clean", start).unwrap();
    for chunk in samples.chunks(2 * 300) {
        sink.write(chunk).unwrap();
    }
    sink.finish().unwrap();
    assert_eq!(read("clean-bell-20300102-23.wav"), as_i16(&samples[..2 * 4_000]));
    assert_eq!(read("clean-bell-20300103-00.wav"), as_i16(&samples[2 * 4_000..]));
    let mut names: Vec<String> =
        std::fs::read_dir(&rec).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "clean-bell-20300102-23.wav",
            "clean-bell-20300103-00.wav",
            "killed-bell-20300102-23.wav",
            "killed-bell-20300103-00.wav"
        ]
    );
}

#[test]
fn null_sink_never_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let out = spec("void", OutputKind::Null, 8, 48_000, SampleFormat::I16);
    let mut sink = output::open(&out, dir.path(), "r", Utc::now()).unwrap();
    assert!(!sink.is_realtime());
    let chunk = vec![0.1f32; 4_800 * 8]; // 100 ms
    let t = Instant::now();
    for _ in 0..6_000 {
        sink.write(&chunk).unwrap(); // 10 minutes of audio
    }
    assert!(t.elapsed() < Duration::from_secs(2), "10 min of audio took {:?}", t.elapsed());
    assert_eq!(sink.health(), Health::Healthy);
    assert_eq!(sink.underruns(), 0);
    assert!(matches!(sink.write(&[0.0; 3]), Err(OutputError::PartialFrame { samples: 3, channels: 8, .. })));
    sink.finish().unwrap();
    assert!(!dir.path().join("recordings").exists(), "a null output wrote files");
}
