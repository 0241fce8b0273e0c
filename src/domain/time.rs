//! Time rules: times of day, daily windows such as quiet hours, day kinds, and cron rules.

use std::fmt;

use chrono::{DateTime, NaiveTime, TimeZone, Timelike};

/// Why a time rule could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Not `HH:MM` with HH 00–23 (or 24:00) and MM 00–59.
    #[error("`{0}` is not a time of day: write HH:MM, e.g. 06:30")]
    TimeOfDay(String),
    /// Not `HH:MM-HH:MM`.
    #[error("`{0}` is not a time window: write HH:MM-HH:MM, e.g. 21:30-06:30")]
    Window(String),
    /// Start and end are the same instant.
    #[error("`{0}` is an empty window: start and end are the same")]
    EmptyWindow(String),
    /// The cron text has a wrong number of fields or a bad field.
    #[error("`{text}` is not a cron rule: {why}")]
    Cron {
        /// The rule as written.
        text: String,
        /// What is wrong with it.
        why: String,
        /// The same in Chinese.
        why_zh: String,
    },
}

impl crate::domain::Say for TimeError {
    fn zh(&self) -> String {
        match self {
            TimeError::TimeOfDay(s) => format!("`{s}` 不是时刻：请写 HH:MM，例如 06:30"),
            TimeError::Window(s) => format!("`{s}` 不是时段：请写 HH:MM-HH:MM，例如 21:30-06:30"),
            TimeError::EmptyWindow(s) => format!("`{s}` 是空时段：开始和结束是同一时刻"),
            TimeError::Cron { text, why_zh, .. } => format!("`{text}` 不是有效的 cron 规则：{why_zh}"),
        }
    }
}

/// A time of day with minute precision, 00:00 to 24:00 (24:00 only as a window end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay {
    minutes: u16,
}

impl TimeOfDay {
    /// Reads `HH:MM`.
    pub fn parse(s: &str) -> Result<Self, TimeError> {
        let err = || TimeError::TimeOfDay(s.to_owned());
        let (h, m) = s.trim().split_once(':').ok_or_else(err)?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return Err(err());
        }
        let h: u16 = h.parse().map_err(|_| err())?;
        let m: u16 = m.parse().map_err(|_| err())?;
        if m > 59 || h > 24 || (h == 24 && m != 0) {
            return Err(err());
        }
        Ok(Self { minutes: h * 60 + m })
    }

    /// Minutes since midnight (0–1440).
    pub fn minutes(self) -> u16 {
        self.minutes
    }

    /// The time of day of a clock reading, truncated to the minute.
    pub fn of<Tz: TimeZone>(t: &DateTime<Tz>) -> Self {
        Self { minutes: (t.hour() * 60 + t.minute()) as u16 }
    }

    /// As a chrono time (24:00 becomes 23:59:59.999).
    pub fn to_naive(self) -> NaiveTime {
        if self.minutes >= 1440 {
            NaiveTime::from_hms_milli_opt(23, 59, 59, 999).expect("valid time")
        } else {
            NaiveTime::from_hms_opt(u32::from(self.minutes / 60), u32::from(self.minutes % 60), 0).expect("valid time")
        }
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

/// A window within a day, `start` inclusive to `end` exclusive; it wraps past midnight when
/// `end` is earlier than `start` (`21:30-06:30`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DailyWindow {
    /// First minute inside the window.
    pub start: TimeOfDay,
    /// First minute after the window.
    pub end: TimeOfDay,
}

impl DailyWindow {
    /// Reads `HH:MM-HH:MM`.
    pub fn parse(s: &str) -> Result<Self, TimeError> {
        let (a, b) = s.split_once('-').ok_or_else(|| TimeError::Window(s.to_owned()))?;
        let start = TimeOfDay::parse(a).map_err(|_| TimeError::Window(s.to_owned()))?;
        let end = TimeOfDay::parse(b).map_err(|_| TimeError::Window(s.to_owned()))?;
        if start.minutes % 1440 == end.minutes % 1440 {
            return Err(TimeError::EmptyWindow(s.to_owned()));
        }
        Ok(Self { start, end })
    }

    /// True when the window runs past midnight.
    pub fn wraps(self) -> bool {
        self.end < self.start
    }

    /// True when minute-of-day `t` lies inside the window.
    pub fn contains(self, t: TimeOfDay) -> bool {
        if self.wraps() { t >= self.start || t < self.end } else { t >= self.start && t < self.end }
    }

    /// The minute ranges `[a, b)` within one day that the window covers (two when it wraps).
    pub fn minute_ranges(self) -> Vec<(u16, u16)> {
        if self.wraps() {
            vec![(self.start.minutes, 1440), (0, self.end.minutes)]
        } else {
            vec![(self.start.minutes, self.end.minutes)]
        }
    }

    /// True when the two windows share at least one minute.
    pub fn overlaps(self, other: DailyWindow) -> bool {
        self.minute_ranges().iter().any(|&(a, b)| other.minute_ranges().iter().any(|&(c, d)| a < d && c < b))
    }
}

impl fmt::Display for DailyWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

/// Which set of rules a calendar day follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DayKind {
    /// Monday to Friday that is not a holiday.
    Weekday,
    /// Saturday or Sunday that is not a holiday.
    Weekend,
    /// A day in the holiday calendar.
    Holiday,
}

/// A cron rule as users write it: 5 fields (minute hour day month weekday) or 6 (seconds first).
#[derive(Debug, Clone)]
pub struct CronRule {
    text: String,
    cron: croner::Cron,
}

/// Why croner refused `text`, in Chinese (croner says it in English only): the first field with
/// a number outside its range, or what each field takes.
fn cron_zh(text: &str) -> String {
    let fields: Vec<&str> = text.split_whitespace().collect();
    let names: &[(&str, u32, u32)] = &[("分钟", 0, 59), ("小时", 0, 23), ("日", 1, 31), ("月", 1, 12), ("星期", 0, 7)];
    let seconds = [("秒", 0, 59)];
    let ranges: Vec<&(&str, u32, u32)> =
        if fields.len() == 6 { seconds.iter().chain(names).collect() } else { names.iter().collect() };
    for (i, (field, (name, lo, hi))) in fields.iter().zip(ranges).enumerate() {
        let bad = field
            .split([',', '-', '/'])
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .find(|n| n.parse::<u32>().map_or(true, |v| v < *lo || v > *hi));
        if let Some(n) = bad {
            return format!("第 {} 栏（{name}）的 {n} 超出了 {lo}–{hi}", i + 1);
        }
    }
    "各栏依次是分 时 日 月 星期，可写数字、`*`、`,`、`-` 和 `/`，例如 `30 7 * * 1-5` 是工作日 7:30".into()
}

impl CronRule {
    /// Reads a 5- or 6-field cron rule.
    pub fn parse(text: &str) -> Result<Self, TimeError> {
        let fields = text.split_whitespace().count();
        if !(5..=6).contains(&fields) {
            return Err(TimeError::Cron {
                text: text.to_owned(),
                why: format!(
                    "it has {fields} fields; write 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)"
                ),
                why_zh: format!("它有 {fields} 栏；请写 5 栏（分 时 日 月 星期）或 6 栏（秒在最前）"),
            });
        }
        let cron = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Optional)
            .build()
            .parse(text)
            .map_err(|e| TimeError::Cron { text: text.to_owned(), why: e.to_string(), why_zh: cron_zh(text) })?;
        Ok(Self { text: text.to_owned(), cron })
    }

    /// The rule as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first instant strictly after `after` that the rule matches, if any within croner's search
    /// limit (several years). Fractions of a second in `after` are dropped first, so the answer is
    /// always on a whole second.
    pub fn next_after<Tz: TimeZone>(&self, after: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        let whole = after.with_nanosecond(0).unwrap_or_else(|| after.clone());
        self.cron.find_next_occurrence(&whole, false).ok()
    }

    /// Every matching instant from `from` (exclusive) up to `until` (exclusive).
    pub fn between<Tz: TimeZone + Copy>(
        &self,
        from: &DateTime<Tz>,
        until: &DateTime<Tz>,
    ) -> impl Iterator<Item = DateTime<Tz>> {
        let until = until.clone();
        self.cron.iter_after(from.clone()).take_while(move |t| *t < until)
    }
}

impl fmt::Display for CronRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn windows_wrap_past_midnight() {
        let w = DailyWindow::parse("21:30-06:30").unwrap();
        assert!(w.wraps());
        assert!(w.contains(TimeOfDay::parse("23:00").unwrap()));
        assert!(w.contains(TimeOfDay::parse("00:00").unwrap()));
        assert!(!w.contains(TimeOfDay::parse("06:30").unwrap()));
        assert!(!w.contains(TimeOfDay::parse("12:00").unwrap()));
        assert!(DailyWindow::parse("12:00-13:00").unwrap().overlaps(DailyWindow::parse("12:59-14:00").unwrap()));
        assert!(!DailyWindow::parse("12:00-13:00").unwrap().overlaps(DailyWindow::parse("13:00-14:00").unwrap()));
        assert!(w.overlaps(DailyWindow::parse("05:00-05:30").unwrap()));
    }

    #[test]
    fn malformed_times_are_refused() {
        for bad in ["25:00", "7", "07:5", "07:60", "aa:bb", "24:01"] {
            assert!(TimeOfDay::parse(bad).is_err(), "{bad}");
        }
        assert!(DailyWindow::parse("21:30").is_err());
        assert!(DailyWindow::parse("08:00-08:00").is_err());
    }

    #[test]
    fn cron_takes_five_or_six_fields() {
        let c = CronRule::parse("0 7 * * *").unwrap();
        let t = Utc.with_ymd_and_hms(2026, 11, 28, 8, 0, 0).unwrap();
        assert_eq!(c.next_after(&t).unwrap(), Utc.with_ymd_and_hms(2026, 11, 29, 7, 0, 0).unwrap());
        assert!(CronRule::parse("30 0 7 * * *").is_ok());
        assert!(CronRule::parse("0 7 * *").is_err());
        assert!(CronRule::parse("0 7 * * * * *").is_err());
        assert!(CronRule::parse("0 25 * * *").is_err());
        assert_eq!(c.between(&t, &(t + chrono::Duration::days(3))).count(), 3);
    }

    #[test]
    fn a_bad_cron_is_explained_in_chinese_without_the_parsers_english() {
        use crate::domain::Say;
        let zh = |t: &str| CronRule::parse(t).unwrap_err().zh();
        assert_eq!(zh("61 7 * * *"), "`61 7 * * *` 不是有效的 cron 规则：第 1 栏（分钟）的 61 超出了 0–59");
        assert!(zh("0 25 * * *").ends_with("第 2 栏（小时）的 25 超出了 0–23"));
        assert!(zh("0 0 7 * 13 *").ends_with("第 5 栏（月）的 13 超出了 1–12"), "{}", zh("0 0 7 * 13 *"));
        assert!(zh("0 7 * * 1-5x").contains("例如 `30 7 * * 1-5` 是工作日 7:30"));
        assert!(zh("0 7 * *").contains("它有 4 栏"));
        for t in ["61 7 * * *", "0 7 * * 1-5x", "0 7 * *"] {
            let zh = zh(t);
            // `cron` is the name of the notation (the editor's field is labelled so).
            let english = zh.split(|c: char| !c.is_ascii_alphabetic()).any(|w| w.len() > 2 && w != "cron");
            assert!(!english, "{zh}");
        }
    }

    #[test]
    fn next_is_on_a_whole_second() {
        let c = CronRule::parse("30 11 * * *").unwrap();
        let t = Utc.with_ymd_and_hms(2026, 11, 28, 11, 29, 59).unwrap() + chrono::Duration::milliseconds(500);
        assert_eq!(c.next_after(&t).unwrap(), Utc.with_ymd_and_hms(2026, 11, 28, 11, 30, 0).unwrap());
    }

    #[test]
    fn a_cron_that_cannot_fire_has_no_next() {
        let c = CronRule::parse("0 7 31 2 *").unwrap();
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert!(c.next_after(&t).is_none());
    }
}
