//! Proof-of-play benchmark: what listening to the village lines costs, per village.
//!
//! For 1, 8, 64 and 256 monitored villages, one minute of audio goes through the work the
//! monitor thread does live (`src/line/monitor.rs`): each 10 ms block of what was sent (one
//! channel per village) and of what the taps heard (one interleaved capture of all villages,
//! 180 ms later, 20 dB down, with noise) is pushed into the envelope tracks, and every village's
//! line is judged in 4-second stretches ([`xiangyin::line::judge`]). Beside it, on the same
//! audio written as a stereo file (sent, heard) that one ffmpeg process reads once per village,
//! ffmpeg's `astats` filter measures the two channels' levels — the plainest thing a well-known tool does with line audio — and the
//! table gives the ratio. Goal: listening costs under 0.1 % of one core per village.
//! Run: `make bench` or `cargo bench --bench line`.

use std::process::Command;
use std::time::Duration;

use xiangyin::domain::Heard;
use xiangyin::line::judge::{self, Rules, Track};

const RATE: u32 = 48_000;
const SECONDS: usize = 60;
const BLOCK: usize = 480;
const DELAY: usize = 8_640; // 180 ms

/// Speech-like bursts, seeded per village.
fn speech(seed: u64, frames: usize) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f32 / (1u64 << 53) as f32
    };
    let mut out = Vec::with_capacity(frames);
    while out.len() < frames {
        let on = ((0.08 + 0.25 * rnd()) * RATE as f32) as usize;
        let off = ((0.04 + 0.2 * rnd()) * RATE as f32) as usize;
        out.extend((0..on).map(|i| 0.4 * (std::f32::consts::PI * i as f32 / on as f32).sin() * (2.0 * rnd() - 1.0)));
        out.extend(std::iter::repeat_n(0.0, off));
    }
    out.truncate(frames);
    out
}

fn cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The monitor's work for `villages` over SECONDS of audio; returns (CPU time, lines judged yes).
fn listen(villages: usize) -> (Duration, usize) {
    let frames = SECONDS * RATE as usize;
    let sent: Vec<Vec<f32>> = (0..villages).map(|v| speech(v as u64 + 1, frames)).collect();
    let mut noise = speech(999, frames);
    for n in &mut noise {
        *n *= 0.01;
    }
    // What the taps hear: one interleaved capture of every village.
    let mut back = vec![0f32; frames * villages];
    for (v, s) in sent.iter().enumerate() {
        for i in DELAY..frames {
            back[i * villages + v] = 0.1 * s[i - DELAY] + noise[(i + v * 977) % frames];
        }
    }
    let rules = Rules { expect_gain_db: -20.0, ..Rules::default() };
    let mut sent_tracks: Vec<Track> = (0..villages).map(|_| Track::new(Duration::from_secs(20))).collect();
    let mut back_tracks: Vec<Track> = (0..villages).map(|_| Track::new(Duration::from_secs(20))).collect();
    let mut next = vec![Duration::ZERO; villages];
    let mut yes = 0;
    let started = cpu_time();
    for b in 0..frames / BLOCK {
        let t = Duration::from_secs_f64((b * BLOCK) as f64 / f64::from(RATE));
        for (v, track) in sent_tracks.iter_mut().enumerate() {
            track.push(t, RATE, &sent[v][b * BLOCK..(b + 1) * BLOCK]);
        }
        let chunk = &back[b * BLOCK * villages..(b + 1) * BLOCK * villages];
        for (v, track) in back_tracks.iter_mut().enumerate() {
            track.push_interleaved(t, RATE, chunk, villages, v);
        }
        for v in 0..villages {
            let to = next[v] + Duration::from_secs(4);
            if back_tracks[v].known_until() >= to + rules.max_delay + Duration::from_millis(50) {
                if let Some(j) = judge::judge(&sent_tracks[v], &back_tracks[v], next[v], to, &rules)
                    && j.heard == Heard::Yes
                {
                    yes += 1;
                }
                next[v] = to;
            }
        }
    }
    (cpu_time() - started, yes)
}

fn ffmpeg_astats(villages: usize, dir: &std::path::Path) -> Option<Duration> {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        return None;
    }
    // One village's minute as a stereo file (sent, heard); ffmpeg measures it `villages` times.
    let frames = SECONDS * RATE as usize;
    let sent = speech(1, frames);
    let mut raw = Vec::with_capacity(frames * 4);
    for i in 0..frames {
        let heard = if i >= DELAY { 0.1 * sent[i - DELAY] } else { 0.0 };
        for x in [sent[i], heard] {
            raw.extend_from_slice(&((x * 32767.0) as i16).to_le_bytes());
        }
    }
    let path = dir.join("line.raw");
    std::fs::write(&path, raw).ok()?;
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let before = children_cpu();
        // One process reads the file `villages` times over (its start-up counted once).
        let loops = (villages - 1).to_string();
        let ok = Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-threads",
                "1",
                "-stream_loop",
                &loops,
                "-f",
                "s16le",
                "-ar",
                "48000",
                "-ac",
                "2",
                "-i",
            ])
            .arg(&path)
            .args(["-af", "astats=measure_overall=RMS_level:measure_perchannel=RMS_level", "-f", "null", "-"])
            .status()
            .ok()?
            .success();
        if !ok {
            return None;
        }
        best = best.min(children_cpu() - before);
    }
    Some(best)
}

fn children_cpu() -> Duration {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    println!("\nproof of play: the monitor's work for {SECONDS} s of audio per village (best of 3, one core)");
    println!(
        "| villages | CPU | per village: % of a core | stretches judged yes | ffmpeg astats (CPU) | × ffmpeg | goal |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---|");
    for villages in [1usize, 8, 64, 256] {
        let runs: Vec<(Duration, usize)> = (0..3).map(|_| listen(villages)).collect();
        let (cpu, yes) = runs.iter().min_by_key(|r| r.0).copied().unwrap();
        let share = cpu.as_secs_f64() / (SECONDS as f64 * villages as f64) * 100.0;
        let judged = villages * (SECONDS / 4 - 1);
        let (ff, ratio) = match (villages <= 64).then(|| ffmpeg_astats(villages, dir.path())).flatten() {
            Some(f) => (format!("{:.3} s", f.as_secs_f64()), format!("{:.2}", cpu.as_secs_f64() / f.as_secs_f64())),
            None => ("-".into(), "-".into()),
        };
        println!(
            "| {villages} | {:.3} s | {share:.4} % | {yes}/{judged} | {ff} | {ratio} | < 0.1 % per village: {} |",
            cpu.as_secs_f64(),
            if share < 0.1 { "met" } else { "NOT met" }
        );
    }
    println!(
        "(the capture callback's i16 → f32 copy and the send tap's channel copy come on top: one copy of each sample)"
    );
}
