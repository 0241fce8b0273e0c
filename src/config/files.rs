//! The shapes of the YAML files exactly as people write them. Unknown keys are refused.
//!
//! Values that need checking (times, tags, references) stay strings here; `check.rs` turns them
//! into domain types so that every problem can be reported with its own position.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `schedules/station.yaml`: settings for the whole station.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StationFile {
    /// Display name of the station.
    #[serde(default)]
    pub name: String,
    /// IANA time zone all schedules are written in.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Allowed language tags, in the station's preference order.
    pub languages: Vec<String>,
    /// Language used when a village's own languages have no variant (default: the last of `languages`).
    #[serde(default)]
    pub default_language: Option<String>,
    /// Profile used when `--profile` is not given.
    #[serde(default = "default_profile")]
    pub hardware_profile: String,
    /// Loudness normalisation.
    #[serde(default)]
    pub loudness: LoudnessFile,
    /// Longest recording the library accepts, in minutes.
    #[serde(default = "default_max_clip_minutes")]
    pub max_clip_minutes: f64,
    /// Message or clip played before a cue whose slot says `chime: true`.
    #[serde(default)]
    pub chime: Option<String>,
    /// What people call each language, by tag: `cmn: {zh: 普通话, en: Mandarin}`.
    #[serde(default)]
    pub language_names: std::collections::BTreeMap<String, LanguageNameFile>,
}

/// The names of one language in `station.yaml`'s `language_names` (one may be left out).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageNameFile {
    /// 中文名称，例如 青溪话.
    #[serde(default)]
    pub zh: String,
    /// English name, e.g. Qingxi dialect.
    #[serde(default)]
    pub en: String,
}

fn default_timezone() -> String {
    "Asia/Shanghai".into()
}
fn default_profile() -> String {
    "default".into()
}
fn default_max_clip_minutes() -> f64 {
    30.0
}

/// Loudness settings of `station.yaml`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LoudnessFile {
    /// Integrated loudness every clip is brought to, in LUFS.
    #[serde(default = "default_target")]
    pub target_lufs: f64,
    /// Highest true peak after gain, in dBTP.
    #[serde(default = "default_peak")]
    pub max_true_peak_dbtp: f64,
}

fn default_target() -> f64 {
    -23.0
}
fn default_peak() -> f64 {
    -1.0
}

impl Default for LoudnessFile {
    fn default() -> Self {
        Self { target_lufs: default_target(), max_true_peak_dbtp: default_peak() }
    }
}

/// `schedules/villages.yaml`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VillagesFile {
    /// Every village the station reaches.
    #[serde(default)]
    pub villages: Vec<VillageFile>,
}

/// One village.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VillageFile {
    /// Ascii slug.
    pub id: String,
    /// Display name (Chinese).
    pub name: String,
    /// Township (乡镇) the village belongs to.
    pub township: String,
    /// Grid (网格) ids.
    #[serde(default)]
    pub grids: Vec<String>,
    /// Zone that reaches the village; wired to channels by the hardware profile.
    pub zone: String,
    /// Language order: the first playable variant wins.
    pub languages: Vec<String>,
    /// Times when only emergencies may play.
    #[serde(default)]
    pub quiet_hours: QuietHoursFile,
    /// Gain in dB from a time of day on (`"06:30": -6`), until the next entry.
    #[serde(default)]
    pub volume_db: BTreeMap<String, f64>,
    /// Daily line test (`"10:00"`): a short tone on the village's line, outside quiet hours.
    #[serde(default)]
    pub line_test: Option<String>,
}

/// Quiet hours per kind of day; each is one window (`"21:30-06:30"`) or a list of windows.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHoursFile {
    /// Monday–Friday.
    #[serde(default)]
    pub weekdays: Windows,
    /// Saturday and Sunday.
    #[serde(default)]
    pub weekends: Windows,
    /// Days in the holiday calendar (default: same as weekends).
    #[serde(default)]
    pub holidays: Option<Windows>,
}

/// One window or several.
#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Windows {
    /// `"21:30-06:30"`
    One(String),
    /// `["12:00-13:30", "21:30-06:30"]`
    Many(Vec<String>),
}

impl Default for Windows {
    fn default() -> Self {
        Windows::Many(Vec::new())
    }
}

impl Windows {
    /// The windows as written, in order.
    pub fn as_slice(&self) -> &[String] {
        match self {
            Windows::One(s) => std::slice::from_ref(s),
            Windows::Many(v) => v,
        }
    }

    /// True when the file wrote a list (positions then have an index).
    pub fn is_list(&self) -> bool {
        matches!(self, Windows::Many(_))
    }
}

/// `schedules/holidays.yaml` (optional): the holiday calendar.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HolidaysFile {
    /// Holidays: `2026-10-01` or a range `2026-10-01..2026-10-07` (both ends included).
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// Any other `schedules/*.yaml`: playlists and slots.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleFile {
    /// Playlists by id.
    #[serde(default)]
    pub playlists: BTreeMap<String, PlaylistFile>,
    /// When playlists play.
    #[serde(default)]
    pub slots: Vec<SlotFile>,
}

/// One playlist.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlaylistFile {
    /// `in-order`, `rotate` or `shuffle`.
    #[serde(default = "default_mode")]
    pub mode: String,
    /// Messages (or clip ids) in order.
    pub items: Vec<String>,
    /// Silence between items, seconds.
    #[serde(default)]
    pub gap_s: f64,
    /// How many times the whole selection plays per slot.
    #[serde(default = "one")]
    pub repeat: u32,
}

fn default_mode() -> String {
    "in-order".into()
}
fn one() -> u32 {
    1
}

/// One slot.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlotFile {
    /// Optional name for logs (default: playlist@cron).
    #[serde(default)]
    pub name: Option<String>,
    /// 5-field (or 6-field, seconds first) cron rule in the station's time zone.
    pub cron: String,
    /// Playlist to play.
    pub playlist: String,
    /// Who hears it.
    pub targets: TargetsFile,
    /// `true` for the station chime, `false` for none, or a message / clip id.
    #[serde(default)]
    pub chime: Option<Chime>,
    /// `scheduled` (default) or `background`.
    #[serde(default)]
    pub priority: Option<String>,
    /// First day the slot plays (YYYY-MM-DD).
    #[serde(default)]
    pub from: Option<String>,
    /// Last day the slot plays (YYYY-MM-DD).
    #[serde(default)]
    pub until: Option<String>,
    /// On holidays: `play` (default) or `skip`.
    #[serde(default)]
    pub on_holidays: Option<String>,
    /// Inside a village's quiet hours: `skip` (default) or `defer` (to the end of the quiet hours).
    #[serde(default)]
    pub in_quiet_hours: Option<String>,
    /// How late a cue may still start after a restart, in minutes (default 5).
    #[serde(default)]
    pub grace_minutes: Option<f64>,
}

/// `chime:` value.
#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Chime {
    /// `true` / `false`
    Flag(bool),
    /// A message or clip id.
    Named(String),
}

/// Who a slot reaches; the union of all lists, or everyone.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TargetsFile {
    /// `true` for every village.
    #[serde(default)]
    pub all: bool,
    /// Village ids.
    #[serde(default)]
    pub villages: Vec<String>,
    /// Township names.
    #[serde(default)]
    pub townships: Vec<String>,
    /// Grid ids.
    #[serde(default)]
    pub grids: Vec<String>,
}

/// `hardware-profiles/NAME.yaml`: the station's wiring.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    /// What a person should know about this wiring.
    #[serde(default)]
    pub description: String,
    /// Sound cards, recorders and null sinks.
    pub outputs: Vec<OutputFile>,
    /// Zone → channels (`output:N`, N from 1).
    pub zones: BTreeMap<String, Vec<String>>,
    /// Per-channel trim in dB (`"card:3": -2`).
    #[serde(default)]
    pub trim_db: BTreeMap<String, f64>,
    /// No output sample ever exceeds this level (dBFS); the limiter holds it.
    #[serde(default = "default_max_level")]
    pub max_level_dbfs: f64,
    /// Relay devices that switch amplifiers.
    #[serde(default)]
    pub relays: Vec<RelayFile>,
    /// Zone → its amplifier's relay channel and timing.
    #[serde(default)]
    pub power: BTreeMap<String, PowerFile>,
    /// Capture devices tapped after the amplifiers.
    #[serde(default)]
    pub inputs: Vec<InputFile>,
    /// Zone → the capture channel that hears its line (`taps:1`, or `{input: taps:1, expect_db: -20}`).
    #[serde(default)]
    pub monitor: BTreeMap<String, MonitorFile>,
}

/// One relay device.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RelayFile {
    /// Name used in `power:`.
    pub name: String,
    /// `board` (USB-serial single-byte board), `modbus` (RTU coils) or `gpio`.
    pub kind: String,
    /// For `board` and `modbus`: the serial port (`/dev/ttyUSB0`).
    #[serde(default)]
    pub port: Option<String>,
    /// For `gpio`: the chip (`/dev/gpiochip0`).
    #[serde(default)]
    pub chip: Option<String>,
    /// For `board`: relays on it (default 8).
    #[serde(default)]
    pub channels: Option<u8>,
    /// For `modbus`: baud rate (default 9600).
    #[serde(default)]
    pub baud: Option<u32>,
    /// For `modbus`: slave address (default 1).
    #[serde(default)]
    pub unit: Option<u8>,
    /// How long to wait for an answer, ms (default 500).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// A zone's amplifier power.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PowerFile {
    /// `relay-name:channel`.
    pub relay: String,
    /// Seconds of power before the first cue (default 2).
    #[serde(default)]
    pub lead_in_s: Option<f64>,
    /// Seconds of power after the last cue (default 30).
    #[serde(default)]
    pub hang_s: Option<f64>,
    /// Keep it on all the time.
    #[serde(default)]
    pub always_on: bool,
}

/// One capture device.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InputFile {
    /// Name used in `monitor:`.
    pub name: String,
    /// Capture device id: `alsa:NAME` as `arecord -L` names it (`alsa:taps`).
    pub device: String,
    /// Sample rate in Hz.
    #[serde(default = "default_rate")]
    pub rate: u32,
    /// `i16`, `i24`, `i32` or `f32`.
    #[serde(default = "default_format")]
    pub format: String,
    /// Channel count.
    pub channels: u16,
}

/// Where a zone is heard back.
#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum MonitorFile {
    /// `input:N`.
    Channel(String),
    /// With the level expected back.
    Full {
        /// `input:N`.
        input: String,
        /// Level expected back relative to what is sent, dB (default 0).
        #[serde(default)]
        expect_db: f64,
    },
}

fn default_max_level() -> f64 {
    -1.0
}

/// One output.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutputFile {
    /// Name used in channel references.
    pub name: String,
    /// `device`, `wav` or `null`.
    pub kind: String,
    /// For `device`: the id `xiangyin devices` prints (e.g. `alsa:default`).
    #[serde(default)]
    pub device: Option<String>,
    /// Sample rate in Hz.
    #[serde(default = "default_rate")]
    pub rate: u32,
    /// `i16`, `i24`, `i32` or `f32`.
    #[serde(default = "default_format")]
    pub format: String,
    /// Channel count.
    pub channels: u16,
    /// For `device`: frames per period (default: the driver's choice).
    #[serde(default)]
    pub period_frames: Option<u32>,
    /// For `wav`: `run` (one file per run, default) or `hour` (a new file every hour).
    #[serde(default)]
    pub split: Option<String>,
    /// For `wav`: the most disk all recordings of this output may use, in MiB (default 2048).
    #[serde(default)]
    pub budget_mb: Option<u64>,
    /// For `wav`: pause recording while the disk has less than this free, in MiB (default 512).
    #[serde(default)]
    pub keep_free_mb: Option<u64>,
}

fn default_rate() -> u32 {
    48_000
}
fn default_format() -> String {
    "i16".into()
}
