//! Why an import was refused, in one sentence a county operator can act on.

use std::fmt;

/// A file the library will not take. Each variant's message is one sentence for people.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Zero bytes.
    #[error("the file is empty (0 bytes); the upload probably failed, try again")]
    Empty,
    /// Could not be read at all.
    #[error("the file could not be read: {0}")]
    Unreadable(#[source] std::io::Error),
    /// Not a container symphonia recognises.
    #[error("this is not an audio file we can read; send WAV, MP3, FLAC, Ogg Vorbis or AAC (M4A)")]
    NotAudio,
    /// A container with no audio in it.
    #[error("the file has no audio track")]
    NoAudioTrack,
    /// Audio in a codec we do not decode.
    #[error(
        "the audio is encoded as {0}, which the station cannot play; convert it to MP3, FLAC, WAV, Ogg Vorbis or AAC"
    )]
    UnsupportedCodec(String),
    /// The header describes audio no recording has (a sample rate of 0 Hz or 4 GHz, no
    /// channels…): refused before anything is allocated for it.
    #[error("the file's header is wrong: {0}; the file is damaged or was made by a broken program — export it again")]
    BadHeader(String),
    /// Breaks at some point.
    #[error("the file is damaged at {}: {detail}; export or copy it again", Clock(*at_s))]
    Corrupt {
        /// Where decoding failed, seconds from the start.
        at_s: f64,
        /// What the decoder said.
        detail: String,
    },
    /// Ends before its header said it would.
    #[error("the audio ends at {}{}; the file is damaged or was cut off during copying or upload", Clock(*got_s), expected_s.map(|e| format!(" although the file says it lasts {}", Clock(e))).unwrap_or_default())]
    Truncated {
        /// Seconds that decoded.
        got_s: f64,
        /// Seconds the header promised.
        expected_s: Option<f64>,
    },
    /// Quieter than the gate.
    #[error("the recording is silent (loudness {}); check the microphone or the file", lufs_text(*lufs))]
    Silent {
        /// Integrated loudness, LUFS (−∞ for digital silence).
        lufs: f64,
    },
    /// Longer than the station allows.
    #[error("the recording lasts {}, longer than the station's limit of {}", Clock(*seconds), Clock(*limit_s))]
    TooLong {
        /// Length (or at least this long).
        seconds: f64,
        /// The station's limit.
        limit_s: f64,
    },
    /// Language tag not in the station list.
    #[error("language `{language}` is not one of the station's languages ({allowed})")]
    LanguageNotAllowed {
        /// As given.
        language: String,
        /// Station languages, comma separated.
        allowed: String,
    },
    /// A metadata field is wrong (empty title, bad kind, bad date...).
    #[error("{0}")]
    BadMetadata(String),
}

fn lufs_text(lufs: f64) -> String {
    if lufs.is_finite() { format!("{lufs:.1} LUFS") } else { "digital silence".into() }
}

/// Seconds shown as m:ss.s.
struct Clock(f64);

impl fmt::Display for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.max(0.0);
        let m = (s / 60.0).floor();
        write!(f, "{}:{:04.1}", m as u64, s - m * 60.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_single_sentences_with_times() {
        let t = Refusal::Truncated { got_s: 3.97, expected_s: Some(10.03) }.to_string();
        assert_eq!(
            t,
            "the audio ends at 0:04.0 although the file says it lasts 0:10.0; the file is damaged or was cut off during copying or upload"
        );
        let l = Refusal::TooLong { seconds: 1850.0, limit_s: 1800.0 }.to_string();
        assert!(l.contains("30:50.0") && l.contains("30:00.0"), "{l}");
        assert!(Refusal::Silent { lufs: f64::NEG_INFINITY }.to_string().contains("digital silence"));
    }
}
