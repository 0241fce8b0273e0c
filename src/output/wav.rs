//! The WAV recorder: one file per run, or one file per hour of audio time — within a disk
//! budget, and never at the expense of playout.
//!
//! With a [`RecorderBudget`] (every recorder of a hardware profile has one):
//! - files are cut into parts of at most a quarter of the budget, and before each new part the
//!   oldest recordings of this output (of any run) are deleted until the new part fits;
//! - recording pauses while the disk has less free space than the budget keeps free, and when a
//!   write fails (a full disk): the sink reports itself degraded with the reason, discards audio
//!   (it never returns the error to the playout, which goes on) and tries a new part every few
//!   seconds of audio, once there is room again.
//!
//! Without one (a render's output files) a file is whole or the write fails.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, TimeDelta, TimeZone, Timelike, Utc};

use super::wav_file::WavFile;
use super::{Health, OutputError, Sink, whole_frames};
use crate::config::{Output, RecorderBudget, SampleFormat};

/// While paused, a new part is tried every this many seconds of audio.
const RETRY_EVERY_S: u64 = 5;

const NANOS_PER_SEC: u128 = 1_000_000_000;
const NANOS_PER_HOUR: u64 = 3_600_000_000_000;

/// Records an output into WAV files (see [`super::open`] for names and splitting).
pub(crate) struct WavSink<Tz: TimeZone> {
    spec: Output,
    dir: PathBuf,
    run: String,
    hourly: bool,
    tz: Tz,
    start: DateTime<Utc>,
    /// Frames written since `start`.
    frames: u64,
    file: Option<OpenFile>,
    /// Largest number of frames one file may hold (WAV sizes are 32-bit).
    max_file_frames: u64,
    /// Bring the header up to date after this many frames.
    flush_every: u64,
    budget: Option<RecorderBudget>,
    /// Why recording is paused, since when, and the frame at which to try again.
    paused: Option<Paused>,
}

struct Paused {
    reason: String,
    since: Instant,
    retry_at: u64,
}

struct OpenFile {
    writer: WavFile,
    path: PathBuf,
    /// Frame index (since start) at which this file ends: the next hour, or the size limit.
    ends_at: u64,
    /// Whether `ends_at` is the size limit (the next file is another part of the same hour).
    ends_at_size_limit: bool,
    /// Hour label (`YYYYmmdd-HH`) for hourly files.
    label: Option<String>,
    /// Part number (1 for the first file of a run or hour).
    part: u32,
    unflushed: u64,
}

impl<Tz: TimeZone + Send + 'static> WavSink<Tz> {
    pub(crate) fn open(
        spec: &Output,
        dir: &Path,
        run: &str,
        hourly: bool,
        budget: Option<RecorderBudget>,
        start: DateTime<Tz>,
    ) -> Result<Self, OutputError> {
        if run.is_empty() || run.contains(['/', '\\']) || run.starts_with('.') {
            return Err(OutputError::Io {
                path: dir.join(run),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "a run name must be non-empty, without path separators or a leading dot",
                ),
            });
        }
        std::fs::create_dir_all(dir).map_err(|source| OutputError::Io { path: dir.to_path_buf(), source })?;
        let bytes_per_frame = u64::from(bytes_per_sample(spec.format)) * u64::from(spec.channels.max(1));
        // Room for the header (hound writes at most ~70 bytes of it).
        let wav_limit = (u64::from(u32::MAX) - 4096) / bytes_per_frame;
        let part_limit = budget.map_or(u64::MAX, |b| (b.max_bytes / 4 / bytes_per_frame).max(1));
        let mut sink = Self {
            spec: spec.clone(),
            dir: dir.to_path_buf(),
            run: run.to_owned(),
            hourly,
            tz: start.timezone(),
            start: start.with_timezone(&Utc),
            frames: 0,
            file: None,
            max_file_frames: wav_limit.min(part_limit),
            flush_every: u64::from(spec.rate.max(1)),
            budget,
            paused: None,
        };
        match sink.start_file(1) {
            Ok(()) => {}
            // A recorder that cannot start (a full disk) pauses; a render's file must open.
            Err(e) if sink.budget.is_some() => sink.pause(&e),
            Err(e) => return Err(e),
        }
        Ok(sink)
    }

    #[cfg(test)]
    fn with_max_file_frames(mut self, frames: u64) -> Result<Self, OutputError> {
        // Reopen the first file with the new limit.
        if let Some(f) = self.file.take() {
            f.writer.finalize().map_err(|e| wav_error(&self.spec, &f.path, e))?;
        }
        self.max_file_frames = frames;
        self.start_file(1)?;
        Ok(self)
    }

    /// The instant of frame `f` (since start).
    fn instant_of(&self, frame: u64) -> DateTime<Utc> {
        let ns = u128::from(frame) * NANOS_PER_SEC / u128::from(self.spec.rate.max(1));
        self.start + TimeDelta::nanoseconds(i64::try_from(ns).unwrap_or(i64::MAX))
    }

    /// The first frame at or after `ns` nanoseconds since start.
    fn frame_at(&self, ns: u128) -> u64 {
        let rate = u128::from(self.spec.rate.max(1));
        u64::try_from((ns * rate).div_ceil(NANOS_PER_SEC)).unwrap_or(u64::MAX)
    }

    /// Opens the file holding frame `self.frames`: first makes room within the budget and checks
    /// the free space the budget keeps.
    fn start_file(&mut self, part: u32) -> Result<(), OutputError> {
        if let Some(b) = self.budget {
            let bytes_per_frame = u64::from(bytes_per_sample(self.spec.format)) * u64::from(self.spec.channels.max(1));
            self.make_room(b, self.max_file_frames.saturating_mul(bytes_per_frame));
            self.check_free_space()?;
        }
        self.start_file_now(part)
    }

    /// With a budget: an error when the disk has less free space than the budget keeps.
    fn check_free_space(&self) -> Result<(), OutputError> {
        let Some(b) = self.budget else { return Ok(()) };
        let (free, _) =
            crate::os::disk_space(&self.dir).map_err(|source| OutputError::Io { path: self.dir.clone(), source })?;
        if free >= b.keep_free_bytes {
            return Ok(());
        }
        Err(OutputError::Io {
            path: self.dir.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                format!(
                    "only {} MB free, and recordings keep {} MB free for the station",
                    free / (1024 * 1024),
                    b.keep_free_bytes / (1024 * 1024)
                ),
            ),
        })
    }

    /// The recordings of this output in the folder (of every run), oldest first.
    fn recordings(&self) -> Vec<(PathBuf, u64)> {
        let name = self.spec.name.as_str();
        let (tail, mid) = (format!("-{name}.wav"), format!("-{name}-"));
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut found: Vec<(std::time::SystemTime, PathBuf, u64)> = entries
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().into_string().ok()?;
                let ours = n.starts_with("serve-") && n.ends_with(".wav") && (n.ends_with(&tail) || n.contains(&mid));
                let meta = e.metadata().ok()?;
                (ours && meta.is_file())
                    .then(|| (meta.modified().unwrap_or(std::time::UNIX_EPOCH), e.path(), meta.len()))
            })
            .collect();
        found.sort();
        found.into_iter().map(|(_, p, len)| (p, len)).collect()
    }

    /// Deletes the oldest recordings of this output until `room` more bytes fit the budget.
    fn make_room(&self, b: RecorderBudget, room: u64) {
        let mut files = self.recordings();
        let mut used: u64 = files.iter().map(|(_, n)| n).sum();
        let current = self.file.as_ref().map(|f| f.path.clone());
        files.retain(|(p, _)| Some(p) != current.as_ref());
        for (path, len) in files {
            if used.saturating_add(room.min(b.max_bytes)) <= b.max_bytes {
                break;
            }
            match std::fs::remove_file(&path) {
                Ok(()) => {
                    used = used.saturating_sub(len);
                    tracing::info!(output = %self.spec.name, path = %path.display(), "recording deleted to stay within the recorder's budget");
                }
                Err(e) => tracing::warn!(path = %path.display(), "cannot delete an old recording: {e}"),
            }
        }
    }

    /// Pauses recording after `e` (the playout goes on).
    fn pause(&mut self, e: &OutputError) {
        if let Some(f) = self.file.take() {
            // What was written stays a readable file as far as the disk allows.
            let _ = f.writer.finalize();
        }
        let reason = format!("recording paused: {e}");
        if self.paused.as_ref().is_none_or(|p| p.reason != reason) {
            tracing::error!(output = %self.spec.name, "{reason}; playout goes on, recording resumes when there is room");
        }
        let since = self.paused.as_ref().map_or_else(Instant::now, |p| p.since);
        let retry_at = self.frames + RETRY_EVERY_S * u64::from(self.spec.rate.max(1));
        self.paused = Some(Paused { reason, since, retry_at });
    }

    /// Opens the file holding frame `self.frames` (no budget checks).
    fn start_file_now(&mut self, part: u32) -> Result<(), OutputError> {
        let f = self.frames;
        let size_end = f.saturating_add(self.max_file_frames.max(1));
        let (label, hour_end) = if self.hourly {
            let t = self.instant_of(f);
            let local = t.with_timezone(&self.tz).naive_local();
            let into_hour = u64::from(local.minute()) * 60_000_000_000
                + u64::from(local.second()) * 1_000_000_000
                + u64::from(local.nanosecond().min(999_999_999));
            let to_next = NANOS_PER_HOUR - into_hour;
            let since_start = u128::try_from((t - self.start).num_nanoseconds().unwrap_or(0)).unwrap_or(0);
            let end = self.frame_at(since_start + u128::from(to_next)).max(f + 1);
            (Some(local.format("%Y%m%d-%H").to_string()), end)
        } else {
            (None, u64::MAX)
        };
        let mut name = format!("{}-{}", self.run, self.spec.name);
        if let Some(l) = &label {
            name.push('-');
            name.push_str(l);
        }
        if part > 1 {
            name.push_str(&format!("-{part}"));
        }
        name.push_str(".wav");
        let path = self.dir.join(name);
        let writer = WavFile::create(&path, wav_spec(&self.spec), self.spec.format)
            .map_err(|e| wav_error(&self.spec, &path, e))?;
        tracing::debug!(output = %self.spec.name, path = %path.display(), "recording");
        self.file = Some(OpenFile {
            writer,
            path,
            ends_at: hour_end.min(size_end),
            ends_at_size_limit: size_end < hour_end,
            label,
            part,
            unflushed: 0,
        });
        Ok(())
    }

    /// Finalizes the current file and opens the next one.
    fn roll(&mut self) -> Result<(), OutputError> {
        let Some(f) = self.file.take() else { return Ok(()) };
        let next_part = if f.ends_at_size_limit { f.part + 1 } else { 1 };
        tracing::debug!(output = %self.spec.name, path = %f.path.display(), hour = ?f.label, "recording closed");
        let path = f.path.clone();
        f.writer.finalize().map_err(|e| wav_error(&self.spec, &path, e))?;
        self.start_file(next_part)
    }

    fn write_frames(&mut self, samples: &[f32]) -> Result<(), OutputError> {
        let f = self.file.as_mut().expect("a file is open while writing");
        f.writer.write(samples).map_err(|e| wav_error(&self.spec, &f.path, e))
    }
}

impl<Tz: TimeZone + Send + 'static> Sink for WavSink<Tz> {
    fn spec(&self) -> &Output {
        &self.spec
    }

    fn write(&mut self, interleaved: &[f32]) -> Result<(), OutputError> {
        let frames = whole_frames(&self.spec, interleaved.len())? as u64;
        if self.budget.is_none() {
            return self.write_whole(interleaved, frames);
        }
        if let Some(p) = &self.paused {
            if self.frames < p.retry_at {
                self.frames += frames;
                return Ok(());
            }
            match self.start_file(1) {
                Ok(()) => {
                    let p = self.paused.take().expect("paused");
                    tracing::info!(
                        output = %self.spec.name,
                        "recording again after {:.0} s (it had paused: {})",
                        p.since.elapsed().as_secs_f64(),
                        p.reason
                    );
                }
                Err(e) => {
                    self.pause(&e);
                    self.frames += frames;
                    return Ok(());
                }
            }
        }
        let at = self.frames;
        if let Err(e) = self.write_whole(interleaved, frames) {
            self.pause(&e);
            self.frames = at + frames;
        }
        Ok(())
    }

    fn health(&self) -> Health {
        match &self.paused {
            None => Health::Healthy,
            Some(p) => Health::Degraded { reason: p.reason.clone(), since: p.since },
        }
    }

    fn finish(mut self: Box<Self>) -> Result<(), OutputError> {
        if let Some(f) = self.file.take() {
            let path = f.path.clone();
            f.writer.finalize().map_err(|e| wav_error(&self.spec, &path, e))?;
        }
        Ok(())
    }
}

impl<Tz: TimeZone + Send + 'static> WavSink<Tz> {
    /// Writes `frames` frames into the files, rolling parts as needed; the first error stops it.
    fn write_whole(&mut self, interleaved: &[f32], frames: u64) -> Result<(), OutputError> {
        let mut left = frames;
        let ch = usize::from(self.spec.channels.max(1));
        let mut rest = interleaved;
        while left > 0 {
            if self.file.is_none() {
                self.start_file(1)?;
            }
            let ends_at = self.file.as_ref().map_or(u64::MAX, |f| f.ends_at);
            let n = left.min(ends_at - self.frames);
            let (now, later) = rest.split_at(n as usize * ch);
            self.write_frames(now)?;
            rest = later;
            left -= n;
            self.frames += n;
            if self.frames >= ends_at {
                self.roll()?;
            } else if let Some(f) = self.file.as_mut() {
                f.unflushed += n;
                if f.unflushed >= self.flush_every {
                    f.unflushed = 0;
                    let path = f.path.clone();
                    f.writer.flush().map_err(|e| wav_error(&self.spec, &path, e))?;
                    self.check_free_space()?;
                }
            }
        }
        Ok(())
    }
}

fn bytes_per_sample(f: SampleFormat) -> u16 {
    match f {
        SampleFormat::I16 => 2,
        SampleFormat::I24 => 3,
        SampleFormat::I32 | SampleFormat::F32 => 4,
    }
}

fn wav_spec(spec: &Output) -> hound::WavSpec {
    let (bits_per_sample, sample_format) = match spec.format {
        SampleFormat::I16 => (16, hound::SampleFormat::Int),
        SampleFormat::I24 => (24, hound::SampleFormat::Int),
        SampleFormat::I32 => (32, hound::SampleFormat::Int),
        SampleFormat::F32 => (32, hound::SampleFormat::Float),
    };
    hound::WavSpec { channels: spec.channels, sample_rate: spec.rate, bits_per_sample, sample_format }
}

fn wav_error(spec: &Output, path: &Path, e: hound::Error) -> OutputError {
    match e {
        hound::Error::IoError(source) => OutputError::Io { path: path.to_path_buf(), source },
        hound::Error::Unsupported => OutputError::Unsupported {
            output: spec.name.to_string(),
            target: path.display().to_string(),
            format: spec.format,
            rate: spec.rate,
            channels: spec.channels,
            why: "the WAV writer does not support this combination".into(),
        },
        other => OutputError::Io { path: path.to_path_buf(), source: std::io::Error::other(other.to_string()) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OutputKind;
    use crate::domain::OutputName;

    fn out(channels: u16, rate: u32, format: SampleFormat) -> Output {
        let name = OutputName::new("rec").unwrap();
        Output { name, kind: OutputKind::Wav { hourly: false, budget: None }, rate, format, channels }
    }

    #[test]
    fn a_file_past_the_size_limit_continues_in_a_numbered_part() {
        let dir = tempfile::tempdir().unwrap();
        let spec = out(2, 8000, SampleFormat::I16);
        let start = Utc.with_ymd_and_hms(2030, 5, 1, 8, 0, 0).unwrap();
        let sink =
            WavSink::open(&spec, dir.path(), "r1", false, None, start).unwrap().with_max_file_frames(1000).unwrap();
        let mut sink: Box<dyn Sink> = Box::new(sink);
        let frames: Vec<f32> = (0..2500).flat_map(|i| [i as f32 / 32768.0, -(i as f32) / 32768.0]).collect();
        sink.write(&frames[..3000]).unwrap(); // 1500 frames: crosses the first limit
        sink.write(&frames[3000..]).unwrap();
        sink.finish().unwrap();
        let read = |name: &str| -> Vec<i16> {
            hound::WavReader::open(dir.path().join(name)).unwrap().samples::<i16>().map(Result::unwrap).collect()
        };
        let (a, b, c) = (read("r1-rec.wav"), read("r1-rec-2.wav"), read("r1-rec-3.wav"));
        assert_eq!((a.len(), b.len(), c.len()), (2000, 2000, 1000));
        assert_eq!(&a[..4], &[0, 0, 1, -1]);
        assert_eq!(&b[..2], &[1000, -1000]);
        assert_eq!(&c[..2], &[2000, -2000]);
    }

    #[test]
    fn hour_boundaries_follow_the_time_zone_of_start() {
        // 05:59:59.75 UTC = 13:59:59.75 in UTC+8: the first file is hour 13, the second hour 14.
        let dir = tempfile::tempdir().unwrap();
        let spec = out(1, 8000, SampleFormat::I16);
        let tz = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        let start = Utc.with_ymd_and_hms(2030, 5, 1, 5, 59, 59).unwrap() + TimeDelta::milliseconds(750);
        let mut sink: Box<dyn Sink> =
            Box::new(WavSink::open(&spec, dir.path(), "r2", true, None, start.with_timezone(&tz)).unwrap());
        sink.write(&vec![0.25; 8000]).unwrap();
        sink.finish().unwrap();
        let len = |name: &str| hound::WavReader::open(dir.path().join(name)).unwrap().len();
        assert_eq!(len("r2-rec-20300501-13.wav"), 2000);
        assert_eq!(len("r2-rec-20300501-14.wav"), 6000);
    }

    fn recorder(dir: &Path, run: &str, budget: RecorderBudget) -> Box<dyn Sink> {
        let spec = out(2, 8000, SampleFormat::I16);
        let start = Utc.with_ymd_and_hms(2030, 5, 1, 8, 0, 0).unwrap();
        Box::new(WavSink::open(&spec, dir, &format!("serve-{run}"), false, Some(budget), start).unwrap())
    }

    fn used(dir: &Path) -> (u64, usize) {
        let files: Vec<u64> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).collect();
        (files.iter().sum(), files.len())
    }

    #[test]
    fn recordings_stay_within_their_budget_across_runs_deleting_the_oldest_parts() {
        let dir = tempfile::tempdir().unwrap();
        // 2 channels × 16 bit × 8 kHz = 32 kB/s; a 256 kB budget cuts parts of 64 kB (2 s).
        let budget = RecorderBudget { max_bytes: 256 * 1024, keep_free_bytes: 0 };
        for run in ["a", "b"] {
            let mut sink = recorder(dir.path(), run, budget);
            for _ in 0..20 {
                sink.write(&vec![0.25; 16_000]).unwrap(); // 1 s
            }
            assert!(sink.health().is_healthy());
            sink.finish().unwrap();
            let (bytes, files) = used(dir.path());
            assert!(bytes <= budget.max_bytes + 4096, "run {run}: {bytes} bytes in {files} files");
        }
        // The newest audio survives: the second run's last part is there and readable.
        let newest = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains("serve-b-rec"))
            .max()
            .unwrap();
        assert!(hound::WavReader::open(&newest).unwrap().len() > 0);
        assert!(
            !std::fs::read_dir(dir.path()).unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("serve-a-rec.wav")),
            "the first run's first part, the oldest, was deleted"
        );
    }

    #[test]
    fn a_recorder_without_room_pauses_without_failing_the_writer_and_resumes_when_there_is_room() {
        let dir = tempfile::tempdir().unwrap();
        let spec = out(2, 8000, SampleFormat::I16);
        let start = Utc.with_ymd_and_hms(2030, 5, 1, 8, 0, 0).unwrap();
        let tight = RecorderBudget { max_bytes: 1 << 30, keep_free_bytes: u64::MAX };
        let mut sink = WavSink::open(&spec, dir.path(), "serve-x", false, Some(tight), start).unwrap();
        assert!(sink.write(&vec![0.25; 16_000]).is_ok(), "the playout never sees the recorder's trouble");
        let Health::Degraded { reason, .. } = sink.health() else { panic!("a recorder without room says so") };
        assert!(reason.contains("recording paused") && reason.contains("MB free"), "{reason}");
        assert_eq!(used(dir.path()), (0, 0), "nothing recorded");
        // Room again: recording resumes within RETRY_EVERY_S seconds of audio.
        sink.budget = Some(RecorderBudget { max_bytes: 1 << 30, keep_free_bytes: 0 });
        for _ in 0..=RETRY_EVERY_S {
            sink.write(&vec![0.25; 16_000]).unwrap();
        }
        assert!(sink.health().is_healthy());
        Box::new(sink).finish().unwrap();
        assert_eq!(used(dir.path()).1, 1, "one file recorded after the pause");
    }

    #[test]
    fn refuses_run_names_that_are_paths() {
        let dir = tempfile::tempdir().unwrap();
        let spec = out(1, 8000, SampleFormat::I16);
        let start = Utc.with_ymd_and_hms(2030, 5, 1, 5, 0, 0).unwrap();
        for bad in ["", "../x", "a/b", ".hidden"] {
            assert!(WavSink::open(&spec, dir.path(), bad, false, None, start).is_err(), "{bad:?}");
        }
    }
}
