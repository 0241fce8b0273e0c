//! Builders for the scheduler's unit tests: a plan in code, without files.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use crate::config::{
    ItemRef, LoudnessPolicy, Plan, Playlist, PlaylistMode, Profile, QuietHours, QuietRule, Slot, Station, Village,
};
use crate::domain::{
    ClipId, ClipKind, CronRule, Language, MessageId, PlaylistId, Priority, ReviewState, VillageId, ZoneId,
};
use crate::library::{CanonicalInfo, ClipMeta, LoudnessInfo, OriginalInfo};

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// An instant given as Shanghai local time.
pub fn cst(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai.with_ymd_and_hms(y, m, d, h, min, s).unwrap().with_timezone(&Utc)
}

pub fn lang(s: &str) -> Language {
    Language::new(s).unwrap()
}

pub fn station(tz: &str, default_language: &str) -> Station {
    Station {
        name: "测试站".into(),
        timezone: tz.parse().unwrap(),
        languages: ["yue-qingxi", "cmn", "hak", "zxx"].iter().map(|l| lang(l)).collect(),
        default_language: lang(default_language),
        hardware_profile: "virtual".into(),
        loudness: LoudnessPolicy::default(),
        max_clip_duration: Duration::from_secs(1800),
        chime: None,
        language_names: Default::default(),
    }
}

/// A village on a zone of the same name, no quiet hours, unity volume.
pub fn village(id: &str, languages: &[&str]) -> Village {
    Village {
        id: VillageId::new(id).unwrap(),
        name: id.to_owned(),
        township: "城关镇".into(),
        grids: Vec::new(),
        zone: ZoneId::new(id).unwrap(),
        languages: languages.iter().map(|l| lang(l)).collect(),
        quiet_hours: QuietHours::default(),
        volume: Vec::new(),
        line_test: None,
    }
}

/// An approved clip of `message` (empty: none) in `language`, `secs` long at 48 kHz, measured at
/// −20 LUFS / −6 dBTP (gain −3 dB to the default −23 LUFS target), with no expiry and no daily
/// limit. `hex` starts the clip id.
pub fn clip(hex: &str, message: &str, language: &str, secs: f64) -> ClipMeta {
    let id = ClipId::new(&format!("{hex:0<16}")).unwrap();
    ClipMeta {
        id: id.clone(),
        title: format!("{message} ({language})"),
        language: lang(language),
        kind: ClipKind::Notice,
        message: (!message.is_empty()).then(|| MessageId::new(message).unwrap()),
        transcript: None,
        expires: None,
        max_plays_per_day: None,
        review: ReviewState::Approved,
        uploader: "cli:test".into(),
        imported_at: "2026-11-28T16:00:00Z".parse().unwrap(),
        duration_s: secs,
        original: OriginalInfo {
            file: "original.wav".into(),
            uploaded_name: "x.wav".into(),
            bytes: 0,
            sha256: format!("{id}{}", "0".repeat(48)),
            codec: "pcm_s16le".into(),
            sample_rate: 48_000,
            channels: 1,
        },
        canonical: CanonicalInfo {
            file: "canonical.wav".into(),
            sample_rate: 48_000,
            channels: 1,
            frames: (secs * 48_000.0).round() as u64,
        },
        loudness: LoudnessInfo { integrated_lufs: -20.0, true_peak_dbtp: -6.0, gain_db: -3.0, target_lufs: -23.0 },
    }
}

pub fn msg(m: &str) -> ItemRef {
    ItemRef::Message(MessageId::new(m).unwrap())
}

pub fn playlist(id: &str, mode: PlaylistMode, items: &[&str], gap: Duration, repeat: u32) -> Playlist {
    Playlist { id: PlaylistId::new(id).unwrap(), mode, items: items.iter().map(|m| msg(m)).collect(), gap, repeat }
}

/// A scheduled slot with no chime, no date window, playing on holidays, skipping quiet hours.
pub fn slot(name: &str, cron: &str, playlist: &str, villages: &[&str]) -> Slot {
    Slot {
        name: name.into(),
        cron: CronRule::parse(cron).unwrap(),
        playlist: PlaylistId::new(playlist).unwrap(),
        villages: villages.iter().map(|v| VillageId::new(v).unwrap()).collect(),
        chime: None,
        priority: Priority::Scheduled,
        from: None,
        until: None,
        on_holidays: true,
        in_quiet_hours: QuietRule::Skip,
        grace: Duration::from_secs(300),
    }
}

pub fn plan(station: Station, villages: Vec<Village>, playlists: Vec<Playlist>, slots: Vec<Slot>) -> Plan {
    Plan {
        station,
        villages,
        playlists: playlists.into_iter().map(|p| (p.id.clone(), p)).collect(),
        slots,
        profile: Profile {
            name: "virtual".into(),
            outputs: Vec::new(),
            zones: BTreeMap::new(),
            max_level_dbfs: -1.0,
            line: Default::default(),
        },
        calendar: Default::default(),
    }
}
