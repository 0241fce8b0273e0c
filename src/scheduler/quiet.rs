//! Local time, kinds of day, and quiet hours.
//!
//! # The midnight rule
//!
//! Each calendar day follows the windows of its own kind (holiday, weekend or weekday), read as
//! times of *that* day. A window that wraps midnight, `21:30-06:30`, therefore covers 00:00–06:30
//! and 21:30–24:00 of every day of its kind. The night from Friday to Saturday is quiet from Friday
//! 21:30 (Friday's weekday window) until the end of Saturday's weekend window in the morning
//! (07:30 with `weekends: "21:30-07:30"`): Saturday morning sleeps in, and Monday morning does not.
//! Likewise `holidays: "21:30-08:00"` keeps the holiday morning itself quiet until 08:00.
//! (The other reading, "a window belongs to the day it starts on", would make the first working
//! day after a holiday quiet until 08:00 and the holiday morning not, the opposite of what people
//! writing these windows mean.)
//!
//! Quiet hours are checked to the minute: a cue at 06:29:59 falls inside `21:30-06:30`, one at
//! 06:30:00 does not.

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use crate::config::Village;
use crate::domain::{DailyWindow, DayKind, TimeOfDay};

/// The kind of `date`: a holiday if the calendar says so, else weekend on Saturday and Sunday,
/// else weekday.
pub fn day_kind(date: NaiveDate, holidays: &dyn Fn(NaiveDate) -> bool) -> DayKind {
    if holidays(date) {
        DayKind::Holiday
    } else if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        DayKind::Weekend
    } else {
        DayKind::Weekday
    }
}

/// The instant of local `date` at `minutes` past midnight (1440 = the next midnight) in `tz`.
/// An ambiguous local time takes its earlier instant; one skipped by a clock change takes the first
/// local minute after it that exists.
pub fn local_instant(tz: Tz, date: NaiveDate, minutes: u16) -> DateTime<Utc> {
    let midnight: NaiveDateTime = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    let mut local = midnight + chrono::Duration::minutes(i64::from(minutes));
    for _ in 0..=24 * 60 {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(a, _) => return a.with_timezone(&Utc),
            LocalResult::None => local += chrono::Duration::minutes(1),
        }
    }
    // No zone skips a whole day; fall back to reading the time as UTC.
    Utc.from_utc_datetime(&local)
}

/// The quiet window of `village` that instant `t` falls in, if any (see the midnight rule above).
pub fn quiet_window_at(
    village: &Village,
    tz: Tz,
    t: DateTime<Utc>,
    holidays: &dyn Fn(NaiveDate) -> bool,
) -> Option<DailyWindow> {
    let local = t.with_timezone(&tz);
    let now = TimeOfDay::of(&local);
    village.quiet_hours.windows(day_kind(local.date_naive(), holidays)).iter().copied().find(|w| w.contains(now))
}

/// When the quiet hours that `t` falls in end: the first instant from `t` on that is not quiet,
/// following the night across midnight into the next day's windows. `None` when `t` is not quiet.
pub fn quiet_until(
    village: &Village,
    tz: Tz,
    t: DateTime<Utc>,
    holidays: &dyn Fn(NaiveDate) -> bool,
) -> Option<DateTime<Utc>> {
    let mut at = t;
    let mut moved = false;
    // Each step reaches a window's end or a midnight; a window can never cover a whole day, so a
    // quiet stretch ends within two steps a day. The bound only guards against the impossible.
    for _ in 0..800 {
        let Some(w) = quiet_window_at(village, tz, at, holidays) else {
            return moved.then_some(at);
        };
        let local = at.with_timezone(&tz);
        let now = TimeOfDay::of(&local).minutes();
        let end = if w.wraps() && now >= w.start.minutes() { 1440 } else { w.end.minutes() };
        at = local_instant(tz, local.date_naive(), end);
        moved = true;
    }
    tracing::warn!(village = %village.id, "quiet hours of {} never end; deferring to {at}", village.id);
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::QuietHours;
    use crate::scheduler::testkit::{date, village};

    fn shanghai(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Shanghai.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().with_timezone(&Utc)
    }

    fn dongmen() -> Village {
        let mut v = village("dongmen", &["cmn"]);
        v.quiet_hours = QuietHours {
            weekdays: vec![DailyWindow::parse("21:30-06:30").unwrap()],
            weekends: vec![DailyWindow::parse("21:30-07:30").unwrap()],
            holidays: vec![DailyWindow::parse("21:30-08:00").unwrap()],
        };
        v
    }

    const NO_HOLIDAYS: &dyn Fn(NaiveDate) -> bool = &|_| false;

    #[test]
    fn day_kinds_follow_the_calendar_then_the_weekday() {
        let national_day = |d: NaiveDate| d == date(2026, 10, 1);
        assert_eq!(day_kind(date(2026, 10, 1), &national_day), DayKind::Holiday); // a Thursday
        assert_eq!(day_kind(date(2026, 10, 2), &national_day), DayKind::Weekday);
        assert_eq!(day_kind(date(2026, 10, 3), &national_day), DayKind::Weekend);
        assert_eq!(day_kind(date(2026, 10, 4), &national_day), DayKind::Weekend);
    }

    #[test]
    fn a_night_window_is_quiet_on_both_sides_of_midnight_in_shanghai() {
        let tz = chrono_tz::Asia::Shanghai;
        let v = dongmen();
        // Tuesday 2026-12-01 → Wednesday 2026-12-02, weekday window 21:30-06:30.
        assert_eq!(quiet_window_at(&v, tz, shanghai(2026, 12, 1, 21, 29), NO_HOLIDAYS), None);
        assert!(quiet_window_at(&v, tz, shanghai(2026, 12, 1, 21, 30), NO_HOLIDAYS).is_some());
        assert!(quiet_window_at(&v, tz, shanghai(2026, 12, 1, 23, 0), NO_HOLIDAYS).is_some());
        assert!(quiet_window_at(&v, tz, shanghai(2026, 12, 2, 5, 0), NO_HOLIDAYS).is_some());
        assert_eq!(quiet_window_at(&v, tz, shanghai(2026, 12, 2, 6, 30), NO_HOLIDAYS), None);
        // Both sides end at Wednesday 06:30 local = Tuesday 22:30 UTC.
        let end = shanghai(2026, 12, 2, 6, 30);
        assert_eq!(end.to_rfc3339(), "2026-12-01T22:30:00+00:00");
        assert_eq!(quiet_until(&v, tz, shanghai(2026, 12, 1, 23, 0), NO_HOLIDAYS), Some(end));
        assert_eq!(quiet_until(&v, tz, shanghai(2026, 12, 2, 5, 0), NO_HOLIDAYS), Some(end));
        assert_eq!(quiet_until(&v, tz, shanghai(2026, 12, 2, 7, 0), NO_HOLIDAYS), None);
    }

    #[test]
    fn friday_night_runs_into_the_weekend_morning_and_sunday_night_into_a_weekday_morning() {
        let tz = chrono_tz::Asia::Shanghai;
        let v = dongmen();
        // Friday 2026-12-04 23:00 → Saturday 07:30 (weekend mornings sleep in).
        assert_eq!(quiet_until(&v, tz, shanghai(2026, 12, 4, 23, 0), NO_HOLIDAYS), Some(shanghai(2026, 12, 5, 7, 30)));
        // Saturday 07:00 is quiet, Monday 07:00 is not.
        assert!(quiet_window_at(&v, tz, shanghai(2026, 12, 5, 7, 0), NO_HOLIDAYS).is_some());
        assert_eq!(quiet_window_at(&v, tz, shanghai(2026, 12, 7, 7, 0), NO_HOLIDAYS), None);
        // Sunday 23:00 → Monday 06:30.
        assert_eq!(quiet_until(&v, tz, shanghai(2026, 12, 6, 23, 0), NO_HOLIDAYS), Some(shanghai(2026, 12, 7, 6, 30)));
    }

    #[test]
    fn a_holiday_morning_is_quiet_until_its_own_window_ends() {
        let tz = chrono_tz::Asia::Shanghai;
        let v = dongmen();
        let national_day = |d: NaiveDate| d == date(2026, 10, 1);
        // Wednesday 30 Sep 23:00 → Thursday 1 Oct (holiday) 08:00; 2 Oct (Friday) is a weekday again.
        assert_eq!(quiet_until(&v, tz, shanghai(2026, 9, 30, 23, 0), &national_day), Some(shanghai(2026, 10, 1, 8, 0)));
        assert_eq!(
            quiet_until(&v, tz, shanghai(2026, 10, 1, 23, 0), &national_day),
            Some(shanghai(2026, 10, 2, 6, 30))
        );
    }

    #[test]
    fn adjacent_windows_are_followed_to_their_common_end() {
        let tz = chrono_tz::Asia::Shanghai;
        let mut v = village("ximen", &["cmn"]);
        v.quiet_hours.weekdays =
            vec![DailyWindow::parse("12:00-13:00").unwrap(), DailyWindow::parse("13:00-13:30").unwrap()];
        assert_eq!(
            quiet_until(&v, tz, shanghai(2026, 12, 1, 12, 10), NO_HOLIDAYS),
            Some(shanghai(2026, 12, 1, 13, 30))
        );
    }

    #[test]
    fn local_instants_are_timezone_correct() {
        // 07:00 in Shanghai (UTC+8, no DST) is 23:00 UTC the day before.
        let t = local_instant(chrono_tz::Asia::Shanghai, date(2026, 12, 1), 7 * 60);
        assert_eq!(t.to_rfc3339(), "2026-11-30T23:00:00+00:00");
        assert_eq!(local_instant(chrono_tz::Asia::Shanghai, date(2026, 12, 1), 1440), shanghai(2026, 12, 2, 0, 0));
        // A local time skipped by a DST change moves to the first one that exists.
        let gap = local_instant(chrono_tz::Europe::Berlin, date(2026, 3, 29), 2 * 60 + 30);
        assert_eq!(gap.to_rfc3339(), "2026-03-29T01:00:00+00:00");
    }
}
