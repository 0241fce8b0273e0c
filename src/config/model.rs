//! Checked configuration: what the rest of the station uses. Every value here has been validated
//! and every reference resolved, so users of these types never re-check.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::domain::{
    ClipId, CronRule, DailyWindow, DayKind, GainDb, Language, MessageId, OutputName, PlaylistId, Priority, Text,
    TimeOfDay, VillageId, ZoneId,
};

/// Station-wide settings from `schedules/station.yaml`.
#[derive(Debug, Clone)]
pub struct Station {
    /// Display name.
    pub name: String,
    /// Time zone of every schedule.
    pub timezone: Tz,
    /// Languages clips may be tagged with, in preference order.
    pub languages: Vec<Language>,
    /// Fallback when none of a village's languages has a variant.
    pub default_language: Language,
    /// Profile used when none is named on the command line.
    pub hardware_profile: String,
    /// Loudness normalisation policy.
    pub loudness: LoudnessPolicy,
    /// Longest recording the library accepts.
    pub max_clip_duration: Duration,
    /// Played before cues whose slot asks for the station chime.
    pub chime: Option<ItemRef>,
    /// What people call the languages (`station.yaml` `language_names`); a language without a
    /// name is shown by its tag.
    pub language_names: BTreeMap<Language, Text>,
}

impl Station {
    /// True when clips may be tagged with `lang`.
    pub fn allows(&self, lang: &Language) -> bool {
        self.languages.contains(lang)
    }

    /// What people call `lang`: its name from `language_names`, else the tag itself.
    pub fn language_name(&self, lang: &Language) -> Text {
        self.language_names.get(lang).cloned().unwrap_or_else(|| Text::new(lang.as_str(), lang.as_str()))
    }
}

/// Loudness targets (EBU R128 style).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoudnessPolicy {
    /// Integrated loudness every clip is brought to.
    pub target_lufs: f64,
    /// Highest true peak allowed after gain.
    pub max_true_peak_dbtp: f64,
}

impl Default for LoudnessPolicy {
    fn default() -> Self {
        Self { target_lufs: -23.0, max_true_peak_dbtp: -1.0 }
    }
}

/// A village and how it is reached.
#[derive(Debug, Clone)]
pub struct Village {
    /// Slug.
    pub id: VillageId,
    /// Display name.
    pub name: String,
    /// Township.
    pub township: String,
    /// Grid ids.
    pub grids: Vec<String>,
    /// Zone wired to its amplifier.
    pub zone: ZoneId,
    /// Language order.
    pub languages: Vec<Language>,
    /// Quiet hours.
    pub quiet_hours: QuietHours,
    /// Volume steps by time of day, sorted; before the first step the last one applies (it wraps).
    pub volume: Vec<(TimeOfDay, GainDb)>,
    /// When the daily line test tone plays (outside quiet hours), if it does.
    pub line_test: Option<TimeOfDay>,
}

impl Village {
    /// The village gain at minute-of-day `t`.
    pub fn volume_at(&self, t: TimeOfDay) -> GainDb {
        self.volume.iter().rev().find(|(from, _)| *from <= t).or(self.volume.last()).map_or(GainDb::UNITY, |(_, g)| *g)
    }
}

/// Quiet hours per kind of day.
#[derive(Debug, Clone, Default)]
pub struct QuietHours {
    /// Monday–Friday.
    pub weekdays: Vec<DailyWindow>,
    /// Saturday and Sunday.
    pub weekends: Vec<DailyWindow>,
    /// Holidays.
    pub holidays: Vec<DailyWindow>,
}

impl QuietHours {
    /// The windows that apply on a day of this kind.
    pub fn windows(&self, kind: DayKind) -> &[DailyWindow] {
        match kind {
            DayKind::Weekday => &self.weekdays,
            DayKind::Weekend => &self.weekends,
            DayKind::Holiday => &self.holidays,
        }
    }
}

/// What a playlist item or chime names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ItemRef {
    /// A message: the variant in the village's language is chosen at play time.
    Message(MessageId),
    /// One clip, whatever its language.
    Clip(ClipId),
}

impl std::fmt::Display for ItemRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ItemRef::Message(m) => write!(f, "{m}"),
            ItemRef::Clip(c) => write!(f, "{c}"),
        }
    }
}

/// How a playlist walks its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaylistMode {
    /// Every item, in order, each slot.
    InOrder,
    /// One item per slot, moving on each time.
    Rotate,
    /// Every item in a random order, no repeats until all have played.
    Shuffle,
}

/// A playlist.
#[derive(Debug, Clone)]
pub struct Playlist {
    /// Id.
    pub id: PlaylistId,
    /// Mode.
    pub mode: PlaylistMode,
    /// Items.
    pub items: Vec<ItemRef>,
    /// Silence between items.
    pub gap: Duration,
    /// Times the selection plays per slot.
    pub repeat: u32,
}

/// What a slot does inside a village's quiet hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuietRule {
    /// Do not play.
    Skip,
    /// Play when the quiet hours end.
    Defer,
}

/// A slot: when a playlist plays, and for whom.
#[derive(Debug, Clone)]
pub struct Slot {
    /// Name for logs.
    pub name: String,
    /// When.
    pub cron: CronRule,
    /// What.
    pub playlist: PlaylistId,
    /// Who: the resolved, de-duplicated village list.
    pub villages: Vec<VillageId>,
    /// Chime before the cue.
    pub chime: Option<ItemRef>,
    /// Priority (scheduled or background).
    pub priority: Priority,
    /// First day.
    pub from: Option<NaiveDate>,
    /// Last day.
    pub until: Option<NaiveDate>,
    /// Play on holidays?
    pub on_holidays: bool,
    /// Inside quiet hours.
    pub in_quiet_hours: QuietRule,
    /// How late a cue may still start after a restart.
    pub grace: Duration,
}

impl Slot {
    /// The first instant strictly after `after` when the slot fires, honouring its date window.
    pub fn next_after(&self, tz: Tz, after: chrono::DateTime<Tz>) -> Option<chrono::DateTime<Tz>> {
        use chrono::TimeZone;
        let mut from = after;
        if let Some(first) = self.from {
            let start = tz.from_local_datetime(&first.and_hms_opt(0, 0, 0)?).earliest()?;
            if start > from {
                from = start - chrono::Duration::seconds(1);
            }
        }
        let next = self.cron.next_after(&from)?;
        match self.until {
            Some(last) if next.date_naive() > last => None,
            _ => Some(next),
        }
    }
}

/// Sample format of an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    /// 16-bit signed integer.
    I16,
    /// 24-bit signed integer.
    I24,
    /// 32-bit signed integer.
    I32,
    /// 32-bit float.
    F32,
}

/// What an output is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputKind {
    /// A sound card through cpal.
    Device {
        /// Device id as `xiangyin devices` prints it.
        id: String,
        /// Frames per period, if fixed.
        period_frames: Option<u32>,
    },
    /// A WAV recorder under the state directory.
    Wav {
        /// Start a new file every hour.
        hourly: bool,
        /// How much disk the recordings may use; `None` for files that must stay whole (a render).
        budget: Option<RecorderBudget>,
    },
    /// Discards everything (keeps time).
    Null,
}

/// How much disk a recorder may use (profile keys `budget_mb` and `keep_free_mb`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecorderBudget {
    /// The recordings of this output, of every run, stay under this many bytes: the oldest parts
    /// are deleted to make room.
    pub max_bytes: u64,
    /// Recording pauses while the disk has less free space than this (the station's log needs
    /// it more than the recordings do), and resumes when there is room again.
    pub keep_free_bytes: u64,
}

impl Default for RecorderBudget {
    fn default() -> Self {
        Self { max_bytes: 2048 * MIB, keep_free_bytes: 512 * MIB }
    }
}

/// Bytes in a MiB.
pub const MIB: u64 = 1024 * 1024;

/// One output of a profile.
#[derive(Debug, Clone)]
pub struct Output {
    /// Name.
    pub name: OutputName,
    /// Kind.
    pub kind: OutputKind,
    /// Rate in Hz.
    pub rate: u32,
    /// Sample format.
    pub format: SampleFormat,
    /// Channels.
    pub channels: u16,
}

/// One channel a zone feeds.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelRef {
    /// Index into [`Profile::outputs`].
    pub output: usize,
    /// 0-based channel within that output.
    pub channel: u16,
    /// Trim for this channel.
    pub trim: GainDb,
}

/// A checked hardware profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// File stem.
    pub name: String,
    /// Outputs.
    pub outputs: Vec<Output>,
    /// Zone wiring.
    pub zones: BTreeMap<ZoneId, Vec<ChannelRef>>,
    /// Ceiling for every output sample, dBFS.
    pub max_level_dbfs: f64,
    /// Amplifier power relays and the capture inputs that listen back to the lines.
    pub line: LineWiring,
}

/// The village lines' own hardware: relays that power amplifiers, and capture inputs tapped
/// after them (profile keys `relays`, `power`, `inputs`, `monitor`). Empty for a station that
/// has neither.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineWiring {
    /// Relay devices.
    pub relays: Vec<RelayConf>,
    /// Zone → the relay channel that powers its amplifier.
    pub power: BTreeMap<ZoneId, PowerConf>,
    /// Capture devices.
    pub inputs: Vec<InputConf>,
    /// Zone → the capture channel that hears its line.
    pub monitor: BTreeMap<ZoneId, MonitorConf>,
}

/// One relay device.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayConf {
    /// Name used in `power:` (`amps:3`).
    pub name: String,
    /// What it is and where.
    pub kind: RelayKindConf,
    /// How long to wait for it to answer.
    pub timeout: Duration,
}

/// The kinds of relay.
#[derive(Debug, Clone, PartialEq)]
pub enum RelayKindConf {
    /// A USB-serial board of the single-byte-command kind.
    Board {
        /// Serial port.
        port: std::path::PathBuf,
        /// Relays on the board.
        channels: u8,
    },
    /// Modbus RTU coils.
    Modbus {
        /// Serial port.
        port: std::path::PathBuf,
        /// Baud rate.
        baud: u32,
        /// Slave address.
        unit: u8,
    },
    /// GPIO lines of a character device.
    Gpio {
        /// `/dev/gpiochipN`.
        chip: std::path::PathBuf,
    },
}

/// How a zone's amplifier is powered.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerConf {
    /// Index into [`LineWiring::relays`].
    pub relay: usize,
    /// Channel on it (board relay 1.., Modbus coil 1.., GPIO line offset 0..).
    pub channel: u32,
    /// Power on this long before the first cue that needs it.
    pub lead_in: Duration,
    /// Power off this long after the last cue.
    pub hang: Duration,
    /// Never switched off.
    pub always_on: bool,
}

/// One capture device.
#[derive(Debug, Clone, PartialEq)]
pub struct InputConf {
    /// Name used in `monitor:` (`taps:2`).
    pub name: String,
    /// Device id as `xiangyin devices` prints it.
    pub device: String,
    /// Rate in Hz.
    pub rate: u32,
    /// Sample format.
    pub format: SampleFormat,
    /// Channels.
    pub channels: u16,
}

/// Where a zone's line is heard back.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorConf {
    /// Index into [`LineWiring::inputs`].
    pub input: usize,
    /// 0-based channel.
    pub channel: u16,
    /// The level expected back relative to what is sent, dB (the tap's attenuation).
    pub expect_db: f64,
}

/// The holiday calendar from `schedules/holidays.yaml` (empty when the file is absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    /// Every holiday, as local dates.
    pub holidays: std::collections::BTreeSet<NaiveDate>,
}

impl Calendar {
    /// True when `date` is a holiday.
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holidays.contains(&date)
    }
}

/// Everything `serve`, `render` and `check` need: station, villages, schedule and wiring.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Station settings.
    pub station: Station,
    /// Villages in file order.
    pub villages: Vec<Village>,
    /// Playlists by id.
    pub playlists: BTreeMap<PlaylistId, Playlist>,
    /// Slots in file order (files sorted by name).
    pub slots: Vec<Slot>,
    /// The chosen wiring.
    pub profile: Profile,
    /// Holidays.
    pub calendar: Calendar,
}

impl Plan {
    /// The village with this id.
    pub fn village(&self, id: &VillageId) -> Option<&Village> {
        self.villages.iter().find(|v| &v.id == id)
    }
}

/// What the library holds, as far as configuration checks need to know.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Every clip id.
    pub clips: std::collections::BTreeSet<ClipId>,
    /// Messages and the languages they have clips in.
    pub messages: BTreeMap<MessageId, std::collections::BTreeSet<Language>>,
}
