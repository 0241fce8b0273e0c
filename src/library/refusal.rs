//! Why an import was refused, in one sentence a county operator can act on.

use std::fmt;

use crate::domain::{Say, Text};

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
    /// A metadata field is wrong (empty title, bad kind, bad date...), in both languages.
    #[error("{0}")]
    BadMetadata(Text),
}

impl Say for Refusal {
    fn zh(&self) -> String {
        match self {
            Refusal::Empty => "文件是空的（0 字节），可能是上传失败了，请重新上传".into(),
            Refusal::Unreadable(e) => format!("文件读不出来：{e}"),
            Refusal::NotAudio => {
                "这不是能读取的音频文件；请上传 WAV、MP3、FLAC、Ogg Vorbis 或 AAC（M4A）格式的文件".into()
            }
            Refusal::NoAudioTrack => "文件里没有音轨".into(),
            Refusal::UnsupportedCodec(codec) => {
                format!("音频的编码是 {codec}，广播站无法播放；请转换成 MP3、FLAC、WAV、Ogg Vorbis 或 AAC")
            }
            Refusal::BadHeader(detail) => {
                format!("文件头有误：{detail}；文件已损坏，或是用有问题的软件生成的，请重新导出")
            }
            Refusal::Corrupt { at_s, detail } => {
                format!("文件在 {} 处损坏：{detail}；请重新导出或重新复制", Clock(*at_s))
            }
            Refusal::Truncated { got_s, expected_s } => format!(
                "音频在 {} 就结束了{}；文件已损坏，或在复制、上传时被截断",
                Clock(*got_s),
                expected_s.map(|e| format!("，但文件上写的时长是 {}", Clock(e))).unwrap_or_default()
            ),
            Refusal::Silent { lufs } => {
                format!("录音没有声音（响度 {}）；请检查麦克风或文件", lufs_text_zh(*lufs))
            }
            Refusal::TooLong { seconds, limit_s } => {
                format!("录音时长 {}，超过了广播站的上限 {}", Clock(*seconds), Clock(*limit_s))
            }
            Refusal::LanguageNotAllowed { language, allowed } => {
                format!("语言 `{language}` 不是广播站使用的语言（{allowed}）")
            }
            Refusal::BadMetadata(why) => why.zh.clone(),
        }
    }
}

fn lufs_text(lufs: f64) -> String {
    if lufs.is_finite() { format!("{:.1} LUFS", super::sidecar::tenths(lufs)) } else { "digital silence".into() }
}

fn lufs_text_zh(lufs: f64) -> String {
    if lufs.is_finite() { lufs_text(lufs) } else { "数字静音".into() }
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

    #[test]
    fn every_refusal_says_itself_in_chinese_too() {
        let all = [
            Refusal::Empty,
            Refusal::Unreadable(std::io::Error::other("permission denied")),
            Refusal::NotAudio,
            Refusal::NoAudioTrack,
            Refusal::UnsupportedCodec("ALAC".into()),
            Refusal::BadHeader("a sample rate of 0 Hz".into()),
            Refusal::Corrupt { at_s: 65.0, detail: "invalid frame".into() },
            Refusal::Truncated { got_s: 3.97, expected_s: Some(10.03) },
            Refusal::Truncated { got_s: 3.97, expected_s: None },
            Refusal::Silent { lufs: f64::NEG_INFINITY },
            Refusal::Silent { lufs: -72.04 },
            Refusal::TooLong { seconds: 1850.0, limit_s: 1800.0 },
            Refusal::LanguageNotAllowed { language: "yue".into(), allowed: "cmn, cdo-yongtai".into() },
            Refusal::BadMetadata(Text::new("the clip needs a title", "请给录音写一个标题")),
        ];
        for r in &all {
            let (en, zh) = (r.to_string(), r.zh());
            assert!(!zh.trim().is_empty(), "{r:?}");
            assert_ne!(zh, en, "{r:?}");
            assert_eq!(r.text(), Text::new(en, zh.clone()));
            // Full-width punctuation, no English sentence left over.
            assert!(!zh.contains("; "), "{zh}");
        }
        let zh = |r: Refusal| r.zh();
        assert_eq!(
            zh(Refusal::Truncated { got_s: 3.97, expected_s: Some(10.03) }),
            "音频在 0:04.0 就结束了，但文件上写的时长是 0:10.0；文件已损坏，或在复制、上传时被截断"
        );
        assert!(zh(Refusal::Silent { lufs: f64::NEG_INFINITY }).contains("数字静音"));
        assert!(zh(Refusal::Silent { lufs: -72.04 }).contains("-72.0 LUFS"));
        assert!(zh(Refusal::LanguageNotAllowed { language: "yue".into(), allowed: "cmn".into() }).contains("`yue`"));
        assert!(zh(Refusal::Corrupt { at_s: 65.0, detail: "invalid frame".into() }).contains("1:05.0"));
        assert!(zh(Refusal::Unreadable(std::io::Error::other("permission denied"))).contains("permission denied"));
    }
}
