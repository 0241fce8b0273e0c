//! Outputs: where the engine's samples go — a sound card (cpal), a WAV recorder (hound) or
//! nowhere (null), chosen by `kind` in the hardware profile.
//!
//! The engine hands every output interleaved f32 frames in [-1, 1] at that output's rate and
//! channel count through [`Sink::write`]. Backends, one file each:
//! - [`device`](self::device): a cpal stream fed from a lock-free ring; the audio callback only
//!   copies and converts. A supervisor thread rebuilds the stream with back-off when the device
//!   fails, while the sink discards audio so other outputs keep playing.
//! - [`wav`](self::wav): recordings under `STATE/recordings/`, optionally one file per hour.
//! - [`null`](self::null): discards everything, counts frames.
//!
//! [`devices`] lists what cpal sees, with ids to paste into a profile's `device:`.

mod alsa_log;
mod device;
mod list;
mod null;
mod place;
mod ring;
pub mod sample;
mod tap;
mod wav;
mod wav_file;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::{Output, OutputKind, SampleFormat};

pub use device::Absent;
pub use list::{DeviceInfo, devices};
pub use null::NullSink;
pub use tap::Taps;

/// Something that plays (or records, or discards) one output's audio.
pub trait Sink: Send {
    /// The output this sink plays (name, rate, channels, format).
    fn spec(&self) -> &Output;

    /// Accepts interleaved frames (`interleaved.len()` must be a multiple of the channel count).
    ///
    /// Device sinks push into a lock-free ring that the audio callback drains; when the ring is
    /// full they wait in short sleeps, so the caller is paced by the device clock. If the device
    /// has failed or stalls (ring still full after the ring's duration + 500 ms), the sink marks
    /// itself degraded, logs one warning, discards input and rebuilds the stream in the
    /// background with back-off (250 ms doubling to 2 s) until it plays again, then logs one
    /// recovery line. While degraded, `write` returns at once unless the caller runs more than a
    /// ring's duration ahead of the wall clock, in which case it sleeps just enough to keep the
    /// caller at real time (so a station whose only card is gone does not spin).
    /// WAV and null sinks never wait.
    fn write(&mut self, interleaved: &[f32]) -> Result<(), OutputError>;

    /// Like [`Sink::write`], for a block whose first frame is meant to be heard at `heard_at`.
    ///
    /// Device sinks place the block so that it is: they know from the device when the next
    /// frame queued would be heard, and pad with silence or skip frames to match — exactly
    /// where that cannot be heard (in silence), by a frame or two per block inside sound (only
    /// when more than 10 ms off). So a caller that renders ahead of time by at least
    /// [`Sink::latency`] gets its samples heard on its own clock, whatever the device buffers and
    /// however the device's clock drifts. Default (WAV and null sinks): [`Sink::write`].
    fn write_at(&mut self, interleaved: &[f32], heard_at: Instant) -> Result<(), OutputError> {
        let _ = heard_at;
        self.write(interleaved)
    }

    /// How long before it is heard a device takes a frame from the sink: its own queue plus
    /// one callback buffer, the longest seen so far (zero until it plays in real time). A
    /// writer that hands blocks to [`Sink::write_at`] must do so more than this ahead of their
    /// instant. Default (WAV and null sinks): zero.
    fn latency(&self) -> Duration {
        Duration::ZERO
    }

    /// True for sinks paced by hardware (devices). Default: false.
    fn is_realtime(&self) -> bool {
        false
    }

    /// Whether the output is currently playing. Default: always healthy.
    fn health(&self) -> Health {
        Health::Healthy
    }

    /// Device periods where the ring ran dry after playback had started (the callback filled
    /// silence), plus xruns the sound system reported. Default (WAV and null sinks): 0.
    fn underruns(&self) -> u64 {
        0
    }

    /// Flushes and closes: finalizes WAV headers; for devices, waits until what was written has
    /// been handed to the card (bounded by the ring's duration + 1 s), then stops the stream.
    fn finish(self: Box<Self>) -> Result<(), OutputError>;
}

/// Whether an output is playing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Playing (or recording) normally.
    Healthy,
    /// Not playing: its audio is being discarded while the device is reopened.
    Degraded {
        /// Why, in words for the operator (the latest failure).
        reason: String,
        /// When the output stopped playing.
        since: Instant,
    },
}

impl Health {
    /// True when [`Health::Healthy`].
    pub fn is_healthy(&self) -> bool {
        matches!(self, Health::Healthy)
    }
}

/// What went wrong with an output, grouped by what the caller does next.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// No device has this id: fix `device:` in the hardware profile (ids as `xiangyin devices`
    /// prints them), or plug the card in.
    #[error("output `{output}`: no sound device `{id}`; devices found: {}", list_or_none(.available))]
    DeviceNotFound {
        /// Output name.
        output: String,
        /// The id the profile gave.
        id: String,
        /// Output device ids that do exist.
        available: Vec<String>,
    },
    /// The device (or file format) cannot take this format / rate / channel count / period:
    /// change the output in the hardware profile.
    #[error(
        "output `{output}`: {target} cannot play {} at {rate} Hz with {channels} channels: {why}",
        name_of(.format)
    )]
    Unsupported {
        /// Output name.
        output: String,
        /// Device id or file path.
        target: String,
        /// Requested sample format.
        format: SampleFormat,
        /// Requested rate in Hz.
        rate: u32,
        /// Requested channel count.
        channels: u16,
        /// What the device said, or what it accepts.
        why: String,
    },
    /// The sound system itself failed (no ALSA, permission denied, …): fix the station, not the
    /// profile.
    #[error("{context}: {message}")]
    Sound {
        /// Which output or operation.
        context: String,
        /// What the sound system said.
        message: String,
    },
    /// Reading or writing a file failed (recordings folder missing, disk full, …).
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The caller passed a slice that is not a whole number of frames (a bug in the caller).
    #[error("output `{output}`: {samples} samples is not a whole number of {channels}-channel frames")]
    PartialFrame {
        /// Output name.
        output: String,
        /// Samples passed.
        samples: usize,
        /// Channels per frame.
        channels: u16,
    },
}

/// An output's health reason (as [`Health::Degraded`] says it, in English) in Chinese: the
/// sentences the outputs and the playout make, with their numbers and the sound system's own
/// words kept as they are.
pub fn reason_zh(reason: &str) -> String {
    let tail = |prefix: &str| reason.strip_prefix(prefix).map(str::to_owned);
    let digits = |s: &str| s.chars().filter(|c| c.is_ascii_digit() || *c == '.').collect::<String>();
    if let Some(r) = tail("recording paused: ") {
        return format!("录音暂停：{}", reason_detail_zh(&r));
    }
    if let Some(r) = tail("cannot open the device: ") {
        return format!("声卡打不开：{}", reason_detail_zh(&r));
    }
    if reason.starts_with("the device took no audio for ") {
        return format!("声卡 {} 毫秒没有取走声音", digits(reason));
    }
    if reason.starts_with("the device stopped asking for audio for ") {
        return format!("声卡停止要声音已经 {} 毫秒", digits(reason));
    }
    if reason.starts_with("the device did not open within ") {
        return format!("声卡 {} 秒内没有打开", digits(reason));
    }
    if let Some(r) = tail("the output has taken no audio for ") {
        let secs = r.split_whitespace().next().unwrap_or("");
        return format!("这个输出已经 {secs} 秒没有取走声音（写声音的线程卡住了）");
    }
    if reason == "its writer thread ended" {
        return "写声音的线程停了".into();
    }
    reason_detail_zh(reason)
}

/// The sound system's words for common failures, in Chinese; anything else as it is.
fn reason_detail_zh(detail: &str) -> String {
    let known = [
        (
            "busy (another program, or another output of this station, is using it)",
            "正被占用（别的程序或本站的另一个输出在用）",
        ),
        ("not available (unplugged?)", "不在（拔掉了？）"),
        ("permission denied (is the user in the `audio` group?)", "没有权限（用户在 `audio` 组里吗？）"),
        ("No space left on device (os error 28)", "磁盘没有空间了"),
    ];
    let mut out = detail.to_owned();
    for (en, zh) in known {
        out = out.replace(en, zh);
    }
    if let Some(i) = out.find(" MB free, and recordings keep ") {
        // "…: only N MB free, and recordings keep M MB free for the station"
        let head = &out[..i];
        let n = head.rsplit(' ').next().unwrap_or("");
        let m: String =
            out[i + " MB free, and recordings keep ".len()..].chars().take_while(|c| c.is_ascii_digit()).collect();
        return format!("磁盘只剩 {n} MB，录音要给广播站留出 {m} MB");
    }
    out
}

fn list_or_none(ids: &[String]) -> String {
    if ids.is_empty() { "none".to_owned() } else { ids.join(", ") }
}

fn name_of(f: &SampleFormat) -> &'static str {
    format_name(*f)
}

/// The profile spelling of a sample format (`i16`, `i24`, `i32`, `f32`).
pub fn format_name(f: SampleFormat) -> &'static str {
    match f {
        SampleFormat::I16 => "i16",
        SampleFormat::I24 => "i24",
        SampleFormat::I32 => "i32",
        SampleFormat::F32 => "f32",
    }
}

/// Opens the sink for `spec`.
///
/// - Device: finds the device by id (`alsa:NAME` as [`devices`] prints it; a bare ALSA name such
///   as `hw:CARD=PCH,DEV=0` also works), checks that it accepts the format, rate and channels,
///   and starts the stream (waiting up to 3 s for it). Wrong ids and refused configurations are
///   errors; a device that exists but is busy, failing or slow to open gives a sink that starts
///   [`Health::Degraded`] and keeps retrying in the background.
/// - WAV: files go under `state_dir/recordings/` (created if missing) named `{run}-{output}.wav`,
///   or for hourly split `{run}-{output}-{YYYYmmdd-HH}.wav`: one file per hour of audio time,
///   counted from `start` and named by the hour in `start`'s time zone (pass a
///   `DateTime<chrono_tz::Tz>` for the station's local hours, or `DateTime<Utc>`). Each hour's
///   file is finalized when the next one starts, and the open file's header is brought up to
///   date every second of audio, so a killed process leaves valid files. A file that would pass
///   WAV's 4 GiB limit continues in `…-2.wav`, `…-3.wav`.
/// - Null: discards.
pub fn open<Tz>(
    spec: &Output,
    state_dir: &Path,
    run: &str,
    start: chrono::DateTime<Tz>,
) -> Result<Box<dyn Sink>, OutputError>
where
    Tz: chrono::TimeZone + Send + 'static,
{
    match &spec.kind {
        OutputKind::Device { id, period_frames } => Ok(Box::new(device::DeviceSink::open(spec, id, *period_frames)?)),
        OutputKind::Wav { hourly, budget } => {
            Ok(Box::new(wav::WavSink::open(spec, &state_dir.join("recordings"), run, *hourly, *budget, start)?))
        }
        OutputKind::Null => Ok(Box::new(NullSink::new(spec))),
    }
}

/// Whether `spec`'s sound device is there and takes its format (always for files and null
/// outputs), without opening a stream: see [`device::probe`].
pub fn probe(spec: &Output) -> Result<(), Absent> {
    match &spec.kind {
        OutputKind::Device { id, period_frames } => device::probe(spec, id, *period_frames),
        OutputKind::Wav { .. } | OutputKind::Null => Ok(()),
    }
}

/// Checks that `samples` is whole frames of `spec`.
fn whole_frames(spec: &Output, samples: usize) -> Result<usize, OutputError> {
    let ch = usize::from(spec.channels.max(1));
    if samples.is_multiple_of(ch) {
        Ok(samples / ch)
    } else {
        Err(OutputError::PartialFrame { output: spec.name.to_string(), samples, channels: spec.channels })
    }
}
