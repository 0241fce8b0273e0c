//! Decoding any accepted file to mono f32 with symphonia, strictly: a packet that fails to decode or
//! a stream that ends before its header said it would is an error, not something to skip.

use std::fs::File;
use std::path::Path;

use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use super::refusal::Refusal;

/// What the file says about itself before decoding.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    /// Codec short name (`mp3`, `flac`, `pcm_s16le`, `aac`, `vorbis`, ...).
    pub codec: String,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Channels in the file.
    pub channels: u16,
    /// Frames the container promises, when it knows.
    pub expected_frames: Option<u64>,
}

/// A decoder positioned at the start of the audio.
pub struct Source {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    /// What the file is.
    pub info: SourceInfo,
    frames: u64,
    planes: Vec<Vec<f32>>,
}

/// Frames a stream may fall short of its header before it counts as truncated (decoder priming and
/// padding differ between encoders).
const SHORTFALL_TOLERANCE: u64 = 4096;
/// Sample rates a recording may have (telephone audio to studio masters).
pub const RATES: std::ops::RangeInclusive<u32> = 4_000..=384_000;
/// Channels a recording may have.
pub const MAX_CHANNELS: u16 = 32;

impl Source {
    /// Probes `path`. `extension` helps the probe (uploads keep their original name).
    pub fn open(path: &Path, extension: Option<&str>) -> Result<Self, Refusal> {
        let file = File::open(path).map_err(Refusal::Unreadable)?;
        let len = file.metadata().map_err(Refusal::Unreadable)?.len();
        if len == 0 {
            return Err(Refusal::Empty);
        }
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = extension {
            hint.with_extension(ext);
        }
        let format = symphonia::default::get_probe()
            .probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
            .map_err(|e| match e {
                SymError::Unsupported(_) => Refusal::NotAudio,
                SymError::IoError(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => Refusal::NotAudio,
                SymError::IoError(io) => Refusal::Unreadable(io),
                other => Refusal::Corrupt { at_s: 0.0, detail: other.to_string() },
            })?;
        let track = format.default_track(TrackType::Audio).ok_or(Refusal::NoAudioTrack)?;
        let params = track.codec_params.as_ref().and_then(|p| p.audio()).ok_or(Refusal::NoAudioTrack)?.clone();
        let track_id = track.id;
        let expected_frames = track.num_frames;
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(&params, &AudioDecoderOptions::default())
            .map_err(|_| Refusal::UnsupportedCodec(codec_name(&params)))?;
        let codec = decoder.codec_info().short_name.to_owned();
        let sample_rate = params
            .sample_rate
            .ok_or_else(|| Refusal::Corrupt { at_s: 0.0, detail: "the file does not say its sample rate".into() })?;
        if !RATES.contains(&sample_rate) {
            return Err(Refusal::BadHeader(format!(
                "it says the sample rate is {sample_rate} Hz, and recordings have {} to {} Hz",
                RATES.start(),
                RATES.end()
            )));
        }
        let channels = params.channels.as_ref().map_or(0, |c| c.count());
        if channels > usize::from(MAX_CHANNELS) {
            return Err(Refusal::BadHeader(format!(
                "it says the audio has {channels} channels, and the station takes at most {MAX_CHANNELS}"
            )));
        }
        let channels = channels as u16;
        Ok(Self {
            format,
            decoder,
            track_id,
            info: SourceInfo { codec, sample_rate, channels, expected_frames },
            frames: 0,
            planes: Vec::new(),
        })
    }

    /// Seconds decoded so far.
    pub fn position_s(&self) -> f64 {
        self.frames as f64 / f64::from(self.info.sample_rate.max(1))
    }

    /// Frames decoded so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Decodes the next packet, appending its mono downmix (mean of channels) to `out`.
    /// Returns `Ok(false)` at the clean end of the stream.
    pub fn next_mono(&mut self, out: &mut Vec<f32>) -> Result<bool, Refusal> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => return self.finish(),
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return self.finish(),
                Err(SymError::ResetRequired) => return self.finish(),
                Err(SymError::IoError(e)) => return Err(Refusal::Unreadable(e)),
                Err(e) => return Err(Refusal::Corrupt { at_s: self.position_s(), detail: e.to_string() }),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let buf = match self.decoder.decode(&packet) {
                Ok(b) => b,
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Err(self.truncated());
                }
                Err(e) => return Err(Refusal::Corrupt { at_s: self.position_s(), detail: e.to_string() }),
            };
            let n = buf.frames();
            if n == 0 {
                continue;
            }
            buf.copy_to_vecs_planar::<f32>(&mut self.planes);
            let chans = self.planes.len().max(1);
            let start = out.len();
            out.extend_from_slice(&self.planes[0][..n]);
            if chans > 1 {
                let dst = &mut out[start..];
                for plane in &self.planes[1..] {
                    for (d, s) in dst.iter_mut().zip(&plane[..n]) {
                        *d += *s;
                    }
                }
                let scale = 1.0 / chans as f32;
                dst.iter_mut().for_each(|d| *d *= scale);
            }
            if let Some(bad) = out[start..].iter().position(|s| !s.is_finite()) {
                return Err(Refusal::Corrupt {
                    at_s: (self.frames + bad as u64) as f64 / f64::from(self.info.sample_rate),
                    detail: "the decoder produced invalid samples".into(),
                });
            }
            self.frames += n as u64;
            return Ok(true);
        }
    }

    fn finish(&mut self) -> Result<bool, Refusal> {
        if let Some(expected) = self.info.expected_frames
            && self.frames + SHORTFALL_TOLERANCE < expected
        {
            return Err(self.truncated());
        }
        Ok(false)
    }

    fn truncated(&self) -> Refusal {
        let rate = f64::from(self.info.sample_rate.max(1));
        Refusal::Truncated { got_s: self.position_s(), expected_s: self.info.expected_frames.map(|f| f as f64 / rate) }
    }
}

/// A person-readable name for a codec symphonia cannot decode.
fn codec_name(params: &symphonia::core::codecs::audio::AudioCodecParameters) -> String {
    use symphonia::core::codecs::audio::well_known as wk;
    let known = [
        (wk::CODEC_ID_OPUS, "Opus"),
        (wk::CODEC_ID_SPEEX, "Speex"),
        (wk::CODEC_ID_WMA, "WMA"),
        (wk::CODEC_ID_AC3, "AC-3"),
        (wk::CODEC_ID_EAC3, "E-AC-3"),
        (wk::CODEC_ID_DCA, "DTS"),
        (wk::CODEC_ID_MUSEPACK, "Musepack"),
    ];
    known
        .iter()
        .find(|(id, _)| *id == params.codec)
        .map_or_else(|| format!("codec {}", params.codec), |(_, n)| (*n).to_owned())
}
