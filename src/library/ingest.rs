//! Import: copy and hash the upload, decode it whole (on a second thread), measure loudness,
//! write the canonical copy, and commit the clip folder with one rename.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::sync::mpsc;

use chrono::{NaiveDate, Utc};
use sha2::{Digest, Sha256};

use super::decode::{Source, SourceInfo};
use super::loudness::{Loudness, Meter};
use super::refusal::Refusal;
use super::resample::MonoResampler;
use super::sidecar::{
    CanonicalInfo, ClipMeta, LoudnessInfo, MAX_TRANSCRIPT_CHARS, OriginalInfo, ZERO_MAX_PLAYS, ZERO_MAX_PLAYS_ZH,
};
use super::stage::Stage;
use super::{CANONICAL, CANONICAL_RATE, Library, SIDECAR};
use crate::config::{Station, yaml};
use crate::domain::{ClipId, ClipKind, Language, MessageId, ReviewState, Say, Text};

/// What to import and how to tag it.
#[derive(Debug, Clone)]
pub struct ImportRequest<'a> {
    /// The file to read.
    pub path: &'a Path,
    /// Its name as the uploader had it (for the extension hint and the record).
    pub uploaded_name: &'a str,
    /// Title.
    pub title: &'a str,
    /// Language tag as given.
    pub language: &'a str,
    /// Kind.
    pub kind: ClipKind,
    /// Message id, as given.
    pub message: Option<&'a str>,
    /// Transcript.
    pub transcript: Option<&'a str>,
    /// Expiry date, as given (YYYY-MM-DD).
    pub expires: Option<&'a str>,
    /// At most this many plays per village and local day ([`ClipMeta::max_plays_per_day`]);
    /// `None` for no limit. `Some(0)` is refused.
    pub max_plays_per_day: Option<u32>,
    /// Who imports.
    pub uploader: &'a str,
    /// Initial review state.
    pub review: ReviewState,
    /// Station settings (languages, loudness policy, length limit).
    pub station: &'a Station,
}

/// A successful import.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    /// The clip as stored.
    pub meta: ClipMeta,
    /// True when the same bytes were already in the library (nothing was written).
    pub existing: bool,
}

/// Why an import did not happen, grouped by what the caller does next.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file or its tags are not acceptable: tell the person, change nothing.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The station could not write (disk full, permissions): an operator must look.
    #[error("the library could not be written: {0}")]
    Io(#[from] io::Error),
}

/// Clips shorter than this (one BS.1770 gating block, 400 ms at 48 kHz) are measured looped.
const SHORT_CLIP_FRAMES: usize = 19_200;

/// Decoded chunks travel from the decoding thread in pieces of about this many frames.
const CHUNK_FRAMES: usize = 16_384;

pub(super) fn import(lib: &Library, req: &ImportRequest<'_>) -> Result<ImportOutcome, ImportError> {
    let tags = check_tags(req)?;
    lib.clean_leftovers(false);
    let stage = Stage::new(lib)?;

    // 1. Copy the upload into the stage, hashing on the way: what we decode is what we keep.
    let ext = extension(req.uploaded_name).or_else(|| extension(&req.path.to_string_lossy()));
    let original_file = format!("original.{}", ext.as_deref().unwrap_or("bin"));
    let t = std::time::Instant::now();
    let (bytes, sha256) = copy_and_hash(req.path, &stage.path.join(&original_file))?;
    tracing::debug!(copy_s = t.elapsed().as_secs_f64(), bytes, "import: original copied and hashed");
    if bytes == 0 {
        return Err(Refusal::Empty.into());
    }
    let id = ClipId::from_digest(&sha256).expect("sha256 hex is a clip id");
    if let Some(meta) = lib.get(&id)? {
        return Ok(ImportOutcome { meta, existing: true });
    }

    // 2. Decode everything, measure, write the canonical copy.
    let limit_s = req.station.max_clip_duration.as_secs_f64();
    let (info, frames, loudness) =
        transcode(&stage.path.join(&original_file), ext.as_deref(), &stage.path.join(CANONICAL), limit_s)?;
    if loudness.is_silent() {
        return Err(Refusal::Silent { lufs: loudness.integrated_lufs }.into());
    }

    // 3. The sidecar, then commit.
    let meta = ClipMeta {
        id: id.clone(),
        title: req.title.trim().to_owned(),
        language: tags.language,
        kind: req.kind,
        message: tags.message,
        transcript: req.transcript.map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned),
        expires: tags.expires,
        max_plays_per_day: tags.max_plays_per_day,
        review: req.review.clone(),
        uploader: req.uploader.to_owned(),
        imported_at: Utc::now(),
        duration_s: (frames as f64 / f64::from(CANONICAL_RATE) * 1000.0).round() / 1000.0,
        original: OriginalInfo {
            file: original_file,
            uploaded_name: req.uploaded_name.to_owned(),
            bytes,
            sha256,
            codec: info.codec,
            sample_rate: info.sample_rate,
            channels: info.channels,
        },
        canonical: CanonicalInfo { file: CANONICAL.into(), sample_rate: CANONICAL_RATE, channels: 1, frames },
        loudness: LoudnessInfo::new(&loudness, &req.station.loudness),
    };
    write_file_synced(&stage.path.join(SIDECAR), sidecar_text(&meta)?.as_bytes())?;
    sync_dir(&stage.path)?;
    fs::create_dir_all(lib.dir())?;
    let committed = stage.commit(&lib.clip_dir(&id))?;
    if committed {
        sync_dir(lib.dir())?;
    }
    match committed {
        true => Ok(ImportOutcome { meta, existing: false }),
        // Another import of the same bytes won the race.
        false => Ok(ImportOutcome { meta: lib.get(&id)?.unwrap_or(meta), existing: true }),
    }
}

struct Tags {
    language: Language,
    message: Option<MessageId>,
    expires: Option<NaiveDate>,
    max_plays_per_day: Option<u32>,
}

fn check_tags(req: &ImportRequest<'_>) -> Result<Tags, Refusal> {
    super::edit::check_title(req.title).map_err(Refusal::BadMetadata)?;
    if req.transcript.is_some_and(|t| t.chars().count() > MAX_TRANSCRIPT_CHARS) {
        return Err(Refusal::BadMetadata(super::edit::transcript_too_long()));
    }
    let language = Language::new(req.language).map_err(|e| Refusal::BadMetadata(e.text()))?;
    if !req.station.allows(&language) {
        return Err(Refusal::LanguageNotAllowed {
            language: req.language.to_owned(),
            allowed: req.station.languages.iter().map(Language::as_str).collect::<Vec<_>>().join(", "),
        });
    }
    let message = req
        .message
        .map(|m| MessageId::new(m).map_err(|e| Refusal::BadMetadata(super::edit::bad_message(&e))))
        .transpose()?;
    let expires = req
        .expires
        .map(|d| {
            super::edit::parse_date(d).map_err(|e| {
                Refusal::BadMetadata(Text::new(format!("expiry {}", e.en), format!("最后播放日期有误：{}", e.zh)))
            })
        })
        .transpose()?;
    if req.max_plays_per_day == Some(0) {
        return Err(Refusal::BadMetadata(Text::new(ZERO_MAX_PLAYS, ZERO_MAX_PLAYS_ZH)));
    }
    if req.max_plays_per_day.is_some_and(|n| n > super::edit::MAX_PLAYS_PER_DAY) {
        return Err(Refusal::BadMetadata(super::edit::too_many_plays()));
    }
    Ok(Tags { language, message, expires, max_plays_per_day: req.max_plays_per_day })
}

/// Decodes `src` on a second thread while this one resamples, meters and writes `dst`.
fn transcode(
    src: &Path,
    ext: Option<&str>,
    dst: &Path,
    limit_s: f64,
) -> Result<(SourceInfo, u64, Loudness), ImportError> {
    let mut source = Source::open(src, ext)?;
    let info = source.info.clone();
    if let Some(expected) = info.expected_frames {
        let secs = expected as f64 / f64::from(info.sample_rate.max(1));
        if secs > limit_s {
            return Err(Refusal::TooLong { seconds: secs, limit_s }.into());
        }
    }
    let limit_frames = (limit_s * f64::from(info.sample_rate)) as u64;

    // Three stages so two cores share the work evenly: decode + downmix (one thread), resample +
    // canonical WAV (this thread), loudness and true peak (one thread).
    let (tx, rx) = mpsc::sync_channel::<Vec<f32>>(4);
    let decoder = std::thread::Builder::new().name("import-decode".into()).spawn(move || -> Result<(), Refusal> {
        let mut decoded = Vec::with_capacity(CHUNK_FRAMES * 2);
        let mut busy = std::time::Duration::ZERO;
        loop {
            let t = std::time::Instant::now();
            let more = source.next_mono(&mut decoded)?;
            busy += t.elapsed();
            if source.frames() > limit_frames {
                return Err(Refusal::TooLong { seconds: source.position_s(), limit_s });
            }
            if decoded.len() >= CHUNK_FRAMES || (!more && !decoded.is_empty()) {
                let full = std::mem::replace(&mut decoded, Vec::with_capacity(CHUNK_FRAMES * 2));
                if tx.send(full).is_err() {
                    return Ok(()); // the writer gave up; its error is reported
                }
            }
            if !more {
                tracing::debug!(decode_s = busy.as_secs_f64(), "import: decoding done");
                return Ok(());
            }
        }
    })?;
    let (meter_tx, meter_rx) = mpsc::sync_channel::<std::sync::Arc<Vec<f32>>>(4);
    let meter =
        std::thread::Builder::new().name("import-meter".into()).spawn(move || -> Result<Loudness, String> {
            let mut meter = Meter::new(1, CANONICAL_RATE).map_err(|e| e.to_string())?;
            let mut busy = std::time::Duration::ZERO;
            // The start of the clip, kept for clips too short for one 400 ms gating block.
            let mut head: Vec<f32> = Vec::new();
            for chunk in meter_rx {
                let t = std::time::Instant::now();
                if head.len() < SHORT_CLIP_FRAMES {
                    head.extend_from_slice(&chunk[..chunk.len().min(SHORT_CLIP_FRAMES - head.len())]);
                }
                meter.add(&chunk).map_err(|e| e.to_string())?;
                busy += t.elapsed();
            }
            tracing::debug!(meter_s = busy.as_secs_f64(), "import: loudness measured");
            let mut result = meter.result().map_err(|e| e.to_string())?;
            if !head.is_empty() && head.len() < SHORT_CLIP_FRAMES {
                // A beep or chime shorter than one gating block: measure it played back to back
                // (the loudness of a repeated short sound is the loudness of the sound).
                let looped: Vec<f32> = head.iter().copied().cycle().take(SHORT_CLIP_FRAMES * 2).collect();
                let again = super::loudness::measure(&looped, 1, CANONICAL_RATE).map_err(|e| e.to_string())?;
                result.integrated_lufs = again.integrated_lufs;
            }
            Ok(result)
        })?;

    let written = (|| -> Result<u64, ImportError> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: CANONICAL_RATE,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut wav =
            hound::WavWriter::new(BufWriter::with_capacity(1 << 20, File::create(dst)?), spec).map_err(hound_io)?;
        let mut resampler = MonoResampler::new(info.sample_rate, CANONICAL_RATE).map_err(io::Error::other)?;
        let mut frames = 0u64;
        let mut busy = std::time::Duration::ZERO;
        let mut out = Vec::new();
        let mut emit = |out: Vec<f32>, wav: &mut hound::WavWriter<_>| -> Result<(), ImportError> {
            for s in &out {
                wav.write_sample(*s).map_err(hound_io)?;
            }
            frames += out.len() as u64;
            meter_tx
                .send(std::sync::Arc::new(out))
                .map_err(|_| ImportError::Io(io::Error::other("the loudness meter stopped")))
        };
        for chunk in rx.iter() {
            let t = std::time::Instant::now();
            out.reserve(chunk.len() * 2);
            resampler.push(&chunk, &mut out).map_err(io::Error::other)?;
            emit(std::mem::take(&mut out), &mut wav)?;
            busy += t.elapsed();
        }
        resampler.finish(&mut out).map_err(io::Error::other)?;
        emit(out, &mut wav)?;
        tracing::debug!(write_s = busy.as_secs_f64(), "import: resample and write done");
        let t = std::time::Instant::now();
        wav.finalize().map_err(hound_io)?;
        File::open(dst)?.sync_all()?;
        tracing::debug!(sync_s = t.elapsed().as_secs_f64(), "import: canonical copy on disk");
        Ok(frames)
    })();

    drop(meter_tx); // ends the meter's input
    drop(rx); // unblocks the decoder if the writer stopped early
    let decoded = decoder
        .join()
        .unwrap_or_else(|_| Err(Refusal::Corrupt { at_s: 0.0, detail: "the decoder gave up on this file".into() }));
    decoded?; // a decode refusal explains a writer stop better than the writer's error
    let frames = written?;
    let loudness =
        meter.join().map_err(|_| io::Error::other("the loudness meter panicked"))?.map_err(io::Error::other)?;
    if frames == 0 {
        return Err(Refusal::NoAudioTrack.into());
    }
    Ok((info, frames, loudness))
}

fn hound_io(e: hound::Error) -> io::Error {
    match e {
        hound::Error::IoError(io) => io,
        other => io::Error::other(other.to_string()),
    }
}

fn extension(name: &str) -> Option<String> {
    let ext = Path::new(name).extension()?.to_str()?.to_ascii_lowercase();
    (!ext.is_empty() && ext.len() <= 8 && ext.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(ext)
}

fn copy_and_hash(src: &Path, dst: &Path) -> Result<(u64, String), ImportError> {
    let mut input = File::open(src).map_err(Refusal::Unreadable)?;
    let mut out = File::create(dst)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = input.read(&mut buf).map_err(Refusal::Unreadable)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        total += n as u64;
    }
    out.sync_all()?;
    let digest = hasher.finalize();
    Ok((total, digest.iter().map(|b| format!("{b:02x}")).collect()))
}

fn sidecar_text(meta: &ClipMeta) -> io::Result<String> {
    let body = yaml::to_string(meta).map_err(io::Error::other)?;
    Ok(format!("# xiangyin clip — written by the station; edit with care\n{body}"))
}

fn write_file_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Rewrites a clip's sidecar: temp file, fsync, rename, fsync the folder.
pub(super) fn write_sidecar_atomically(clip_dir: &Path, meta: &ClipMeta) -> io::Result<()> {
    let tmp = clip_dir.join(format!(".{SIDECAR}.tmp-{}", std::process::id()));
    write_file_synced(&tmp, sidecar_text(meta)?.as_bytes())?;
    fs::rename(&tmp, clip_dir.join(SIDECAR))?;
    sync_dir(clip_dir)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::LoudnessPolicy;

    fn station() -> Station {
        Station {
            name: "测试站".into(),
            timezone: chrono_tz::Asia::Shanghai,
            languages: vec![Language::new("cmn").unwrap()],
            default_language: Language::new("cmn").unwrap(),
            hardware_profile: "virtual".into(),
            loudness: LoudnessPolicy::default(),
            max_clip_duration: Duration::from_secs(1800),
            chime: None,
            language_names: Default::default(),
        }
    }

    fn request<'a>(path: &'a Path, station: &'a Station, max_plays_per_day: Option<u32>) -> ImportRequest<'a> {
        ImportRequest {
            path,
            uploaded_name: "notice.wav",
            title: "防火通知",
            language: "cmn",
            kind: ClipKind::Notice,
            message: Some("fire-safety"),
            transcript: None,
            expires: None,
            max_plays_per_day,
            uploader: "cli:test",
            review: ReviewState::Pending,
            station,
        }
    }

    /// One second of a `hz` tone at −20 dBFS, 48 kHz mono 16-bit.
    fn tone(path: &Path, hz: f64) {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 48_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for i in 0..48_000 {
            let x = 0.1 * (2.0 * std::f64::consts::PI * hz * f64::from(i) / 48_000.0).sin();
            w.write_sample((x * f64::from(i16::MAX)) as i16).unwrap();
        }
        w.finalize().unwrap();
    }

    #[test]
    fn the_daily_limit_goes_into_the_sidecar() {
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("notice.wav");
        tone(&wav, 1000.0);
        let lib = Library::new(dir.path().join("audio-library"), dir.path().join("staging"));
        let st = station();
        let done = lib.import(&request(&wav, &st, Some(2))).unwrap();
        assert_eq!(done.meta.max_plays_per_day, Some(2));
        assert_eq!(lib.get(&done.meta.id).unwrap().unwrap().max_plays_per_day, Some(2));
        let text = fs::read_to_string(lib.clip_dir(&done.meta.id).join(SIDECAR)).unwrap();
        assert!(text.contains("\nmax_plays_per_day: 2\n"), "{text}");
        // Without one, the sidecar does not mention it.
        let other = dir.path().join("other.wav");
        tone(&other, 500.0);
        let done = lib.import(&request(&other, &st, None)).unwrap();
        assert_eq!(done.meta.max_plays_per_day, None);
        let text = fs::read_to_string(lib.clip_dir(&done.meta.id).join(SIDECAR)).unwrap();
        assert!(!text.contains("max_plays_per_day"), "{text}");
    }

    #[test]
    fn a_daily_limit_of_zero_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("notice.wav");
        tone(&wav, 1000.0);
        let lib = Library::new(dir.path().join("audio-library"), dir.path().join("staging"));
        let st = station();
        let e = lib.import(&request(&wav, &st, Some(0))).unwrap_err();
        assert!(matches!(e, ImportError::Refused(Refusal::BadMetadata(_))), "{e:?}");
        assert_eq!(e.to_string(), ZERO_MAX_PLAYS);
        assert!(!lib.dir().exists());
    }
}
