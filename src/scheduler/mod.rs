//! The scheduler: (plan, clips, playlist state) → the cues of a time window.
//!
//! Pure: no I/O, no wall clock, no threads. The same code serves `render` (a window in the past or
//! future, with a fresh state) and `serve` (consecutive windows, with the state persisted).
//!
//! # What a window holds
//!
//! [`plan_window`] plans every **firing** of every slot whose instant falls in `[from, to)`, and
//! returns one [`Planned`] entry per village and playlist item of those firings, sorted by start
//! instant. A firing belongs to exactly one window, so consecutive windows neither lose nor repeat
//! a firing, and the rotation state moves on exactly once per firing. The entries of a firing may
//! start after `to` (later items of a long firing, cues deferred past quiet hours); a caller that
//! only wants what starts before `to` filters on [`Planned::at`].
//!
//! # Decisions
//!
//! - **Non-playing entries are returned too**, so the as-run log can record them: quiet hours
//!   (skip), expired clips, clips that reached their daily limit, no variant for the village,
//!   holiday. [`Planned::cue`] is filled whenever a clip was chosen (also for quiet-hours, expiry
//!   and daily-limit skips, naming the clip that would have played), and is `None` for
//!   [`Outcome::NoVariant`] and [`Outcome::SkippedHoliday`].
//!   Only [`Planned::playable`] cues go to the engine. A non-playing entry takes no air time: the
//!   next item starts where it would have started.
//! - **Precedence** when several reasons apply to one item: no variant, then expired, then the
//!   daily limit, then quiet hours.
//! - **Daily limit**: a clip whose sidecar sets
//!   [`max_plays_per_day`](crate::library::ClipMeta::max_plays_per_day) plays at most that many
//!   times per village and per local calendar day (station time zone). What counts is each entry
//!   of that clip planned to play ([`Outcome::Play`] or [`Outcome::Deferred`]) in that village;
//!   the day is the local date of the entry's start ([`Planned::at`], after any deferral: a
//!   firing at 23:00 deferred to 06:30 counts on the next day, as does the expiry check). Once the
//!   limit is reached, later entries of the clip that day are [`Outcome::SkippedMaxPlays`] (no
//!   air time), whichever slot or playlist they come from; the next day starts from zero. Entries
//!   skipped for any reason, quiet hours included, do not count, and neither do chimes (a chime
//!   is never held back by a limit). Counts are kept in [`PlaylistState`], in planning order
//!   (firings in time order, slots firing together in file order, then villages in file order,
//!   then items), which is the same however the time is cut into windows; they are kept by cue id, so planning the same firing again gives the same result
//!   instead of counting it twice. Only clips with a limit are counted, from the moment they have
//!   one: a limit added or raised in the middle of a day applies to what is planned from then on.
//!   `render` starts from an empty state, so a render window that starts in the middle of a day
//!   counts from its start.
//! - **Holidays**: a slot with `on_holidays: skip` firing on a holiday gives one
//!   [`Outcome::SkippedHoliday`] entry per village (no item, no cue), and a rotating playlist does
//!   *not* move on, so the notice whose turn it was plays at the next firing.
//! - **Quiet hours**: only scheduled and background cues are subject to them; the start of each cue
//!   (its chime included) is checked; see [`quiet`] for the midnight rule. `defer` moves the cue to
//!   the end of the quiet stretch, and later items of the firing follow it back to back; they are
//!   [`Outcome::Deferred`] too, each `from` the instant it would have started without the delay.
//! - **Chime**: played once per village and firing, before the first cue that actually plays; if it
//!   cannot be played (no variant, expired) the cue plays without it and
//!   [`Planned::chime_missing`] says why.
//! - **Cue ids**: a stable hash (FNV-1a 64 over a spelled-out encoding, finished with SplitMix64;
//!   no `std` hasher, whose output may change between Rust versions) of the slot name,
//!   the firing instant, the village id and the entry's position in that village's firing (holiday
//!   entries use their own position). They do not depend on the window, the state or the library,
//!   so the same firing gets the same ids after a restart or a reload and `serve` can tell what it
//!   already played. Two slots with the same name firing at the same instant for the same village
//!   would collide; the later one in plan order is then re-hashed with a counter.
//! - **Durations** are the canonical copy's frames at its rate ([`clip_duration`]), exact to the
//!   nanosecond; `Planned::duration` is chime + clip.

mod hash;
mod index;
pub mod quiet;
mod state;

#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_limits;

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

pub use index::{ClipIndex, Variant, clip_duration, is_expired};
pub use quiet::{day_kind, local_instant, quiet_until, quiet_window_at};
pub use state::{PlaylistState, shuffled_order};

use crate::config::{ItemRef, Plan, Playlist, QuietRule, Slot, Village};
use crate::domain::{ClipId, Cue, CueId, GainDb, Priority, TimeOfDay, VillageId, ZoneId};
use crate::library::ClipMeta;
use hash::StableHasher;

/// What happens to a planned entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// Plays at its planned instant.
    Play,
    /// Its start fell in the village's quiet hours and the slot says `skip`.
    SkippedQuietHours,
    /// Its start fell in the village's quiet hours and the slot says `defer`: it plays when they
    /// end; `from` is the instant it would have started.
    Deferred {
        /// The original start.
        from: DateTime<Utc>,
    },
    /// The variant the village would hear has passed its last day.
    SkippedExpired,
    /// No approved clip of the item in the village's languages, the station default or `zxx`
    /// (or the named clip is missing or not approved). `message` is the item as written.
    NoVariant {
        /// The message (or clip id) that had nothing to play.
        message: String,
    },
    /// The slot does not play on holidays and the firing's local date is one.
    SkippedHoliday,
    /// The clip has already been planned to play its
    /// [`max_plays_per_day`](crate::library::ClipMeta::max_plays_per_day) in this village on this
    /// local day.
    SkippedMaxPlays,
}

impl Outcome {
    /// True for the outcomes that put sound on the air (play, deferred).
    pub fn plays(&self) -> bool {
        matches!(self, Outcome::Play | Outcome::Deferred { .. })
    }

    /// A short name for logs: `play`, `skipped-quiet-hours`, `deferred`, `skipped-expired`,
    /// `no-variant`, `skipped-holiday`, `skipped-max-plays`.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Play => "play",
            Outcome::SkippedQuietHours => "skipped-quiet-hours",
            Outcome::Deferred { .. } => "deferred",
            Outcome::SkippedExpired => "skipped-expired",
            Outcome::NoVariant { .. } => "no-variant",
            Outcome::SkippedHoliday => "skipped-holiday",
            Outcome::SkippedMaxPlays => "skipped-max-plays",
        }
    }
}

/// One planned entry: a cue for the engine, or the record of one that will not play and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// Stable id (the cue's id when there is a cue).
    pub id: CueId,
    /// The slot that fired.
    pub slot: String,
    /// When the slot fired.
    pub firing: DateTime<Utc>,
    /// The village it is for.
    pub village: VillageId,
    /// The village's zone.
    pub zone: ZoneId,
    /// The playlist item; `None` for a holiday skip, which concerns the whole firing.
    pub item: Option<ItemRef>,
    /// When it starts (or would have started); for a deferred cue, the new instant.
    pub at: DateTime<Utc>,
    /// The cue, whenever a clip was chosen; `None` for no variant and holiday skips. Check
    /// [`Planned::outcome`] (or use [`Planned::playable`]) before playing it.
    pub cue: Option<Cue>,
    /// Air time: chime + clip for playing entries, zero for the others.
    pub duration: Duration,
    /// What happens to it.
    pub outcome: Outcome,
    /// Gain of the chime (its loudness gain + the village volume), when the cue has a chime.
    /// (The domain `Cue` has one gain, the clip's; the engine needs this one for the chime.)
    pub chime_gain: Option<GainDb>,
    /// Set when the slot asked for a chime before this cue but it cannot play
    /// ([`Outcome::NoVariant`] or [`Outcome::SkippedExpired`]); the cue plays without it.
    pub chime_missing: Option<Outcome>,
}

impl Planned {
    /// The cue to hand to the engine, if this entry plays.
    pub fn playable(&self) -> Option<&Cue> {
        self.cue.as_ref().filter(|_| self.outcome.plays())
    }

    /// The instant the entry's air time ends (its start for non-playing entries).
    pub fn end(&self) -> DateTime<Utc> {
        self.at + to_chrono(self.duration)
    }
}

/// Every entry of every slot **firing** whose instant falls in `[from, to)`, in time order of start
/// (ties: slot file order, then village order in `villages.yaml`, then firing, then item order).
///
/// The window selects firings, not cue starts: a firing at 21:59:50 with a 5-minute programme, or
/// one deferred past the night, belongs to the window holding 21:59:50 even though its cues start
/// later. Plan consecutive windows `[a, b)`, `[b, c)`… and every firing is planned exactly once.
///
/// Slots fire on `slot.cron` read in the station time zone, only on local dates within
/// `slot.from..=slot.until`. `holidays` says which local dates are holidays. Rotating playlists
/// move on in `state` once per firing (see [`PlaylistState::selection`]), and `state` counts the
/// plays of clips with a daily limit (see the module documentation), forgetting days long past
/// when the window is planned. See the module documentation for what non-playing entries look
/// like.
pub fn plan_window(
    plan: &Plan,
    clips: &ClipIndex,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    state: &mut PlaylistState,
    holidays: &dyn Fn(NaiveDate) -> bool,
) -> Vec<Planned> {
    let tz = plan.station.timezone;
    let mut cx = Context { plan, clips, tz, holidays, used_ids: HashSet::new() };
    let mut out: Vec<(SortKey, Planned)> = Vec::new();
    // All firings in time order first, so that slots sharing a rotating playlist take their turns
    // in the order they fire, however the time is cut into windows.
    let mut all: Vec<(DateTime<Utc>, usize)> = Vec::new();
    for (slot_index, slot) in plan.slots.iter().enumerate() {
        if plan.playlists.contains_key(&slot.playlist) {
            all.extend(firings(slot, tz, from, to).into_iter().map(|t| (t, slot_index)));
        } else {
            tracing::warn!(slot = %slot.name, "slot {} names unknown playlist {}; nothing planned", slot.name, slot.playlist);
        }
    }
    all.sort();
    for (firing, slot_index) in all {
        let slot = &plan.slots[slot_index];
        let playlist = &plan.playlists[&slot.playlist];
        let mut villages: Vec<(usize, &Village)> = slot
            .villages
            .iter()
            .filter_map(|id| plan.villages.iter().position(|v| &v.id == id).map(|i| (i, &plan.villages[i])))
            .collect();
        villages.sort_by_key(|(i, _)| *i);
        let date = firing.with_timezone(&tz).date_naive();
        if !slot.on_holidays && holidays(date) {
            for &(village_index, village) in &villages {
                let p = cx.holiday_entry(slot, village, firing);
                out.push((SortKey { at: p.at, slot_index, village_index, firing, seq: u64::MAX }, p));
            }
            continue;
        }
        let selection = state.selection(playlist, &slot.name, firing);
        for &(village_index, village) in &villages {
            let entries = cx.village_firing(slot, playlist, &selection, village, firing, state);
            for (seq, p) in entries.into_iter().enumerate() {
                out.push((SortKey { at: p.at, slot_index, village_index, firing, seq: seq as u64 }, p));
            }
        }
    }
    state.forget_old_plays();
    out.sort_by_key(|(key, _)| *key);
    out.into_iter().map(|(_, p)| p).collect()
}

/// The next instant strictly after `after` at which a slot fires (honouring its date window, not
/// holidays), and that slot; the first in file order when several fire together.
pub fn next_firing(plan: &Plan, after: DateTime<Utc>) -> Option<(DateTime<Utc>, &Slot)> {
    let tz = plan.station.timezone;
    // Cron instants are whole seconds; croner keeps the sub-second part of its starting point
    // (11:29:59.5 → 11:30:00.5), so search from the whole second (strictly after it is the same).
    let after = DateTime::from_timestamp(after.timestamp(), 0).unwrap_or(after).with_timezone(&tz);
    plan.slots
        .iter()
        .filter_map(|s| s.next_after(tz, after).map(|t| (t.with_timezone(&Utc), s)))
        .min_by_key(|(t, _)| *t)
}

/// The instants in `[from, to)` at which `slot` fires, within its date window.
fn firings(slot: &Slot, tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut start = from;
    let mut end = to;
    if let Some(first) = slot.from {
        start = start.max(local_instant(tz, first, 0));
    }
    if let Some(last) = slot.until {
        end = end.min(local_instant(tz, last, 1440));
    }
    if start >= end {
        return Vec::new();
    }
    // `between` excludes its start; cron works in whole seconds.
    let Some(before) = DateTime::from_timestamp(start.timestamp() - 1, 0) else { return Vec::new() };
    let in_window = |d: NaiveDate| slot.from.is_none_or(|f| d >= f) && slot.until.is_none_or(|u| d <= u);
    slot.cron
        .between(&before.with_timezone(&tz), &end.with_timezone(&tz))
        .filter(|t| in_window(t.date_naive()))
        .map(|t| t.with_timezone(&Utc))
        .filter(|t| *t >= start)
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct SortKey {
    at: DateTime<Utc>,
    slot_index: usize,
    village_index: usize,
    firing: DateTime<Utc>,
    seq: u64,
}

struct Context<'a> {
    plan: &'a Plan,
    clips: &'a ClipIndex,
    tz: Tz,
    holidays: &'a dyn Fn(NaiveDate) -> bool,
    used_ids: HashSet<u64>,
}

impl Context<'_> {
    /// A stable id for entry `seq` of `village`'s part of `slot`'s firing at `firing`.
    fn cue_id(&mut self, slot: &str, firing: DateTime<Utc>, village: &VillageId, seq: u64) -> CueId {
        let mut h = StableHasher::new();
        h.str("cue").str(slot).instant(firing).str(village.as_str()).u64(seq);
        let mut id = h.finish();
        let mut bump = 0u64;
        while !self.used_ids.insert(id) {
            bump += 1;
            id = h.clone().u64(bump).finish();
        }
        CueId(id)
    }

    fn holiday_entry(&mut self, slot: &Slot, village: &Village, firing: DateTime<Utc>) -> Planned {
        Planned {
            id: self.cue_id(&slot.name, firing, &village.id, u64::MAX),
            slot: slot.name.clone(),
            firing,
            village: village.id.clone(),
            zone: village.zone.clone(),
            item: None,
            at: firing,
            cue: None,
            duration: Duration::ZERO,
            outcome: Outcome::SkippedHoliday,
            chime_gain: None,
            chime_missing: None,
        }
    }

    /// The entries of one firing for one village: items back to back from the firing instant.
    fn village_firing(
        &mut self,
        slot: &Slot,
        playlist: &Playlist,
        selection: &[&ItemRef],
        village: &Village,
        firing: DateTime<Utc>,
        state: &mut PlaylistState,
    ) -> Vec<Planned> {
        let station = &self.plan.station;
        let quiet_applies = matches!(slot.priority, Priority::Scheduled | Priority::Background);
        let mut cursor = firing;
        // How far deferrals have pushed this firing: items after a deferred one are deferred too.
        let mut delay = chrono::Duration::zero();
        let mut chime_pending = slot.chime.is_some();
        let mut out = Vec::with_capacity(selection.len());
        for (seq, &item) in selection.iter().enumerate() {
            let id = self.cue_id(&slot.name, firing, &village.id, seq as u64);
            let mut at = cursor;
            let mut quiet_skip = false;
            if quiet_applies && let Some(end) = quiet_until(village, self.tz, at, self.holidays) {
                match slot.in_quiet_hours {
                    QuietRule::Skip => quiet_skip = true,
                    QuietRule::Defer => {
                        delay += end - at;
                        at = end;
                    }
                }
            }
            let date = at.with_timezone(&self.tz).date_naive();
            // Precedence: no variant, expired, daily limit, quiet hours.
            let (clip, mut skip) = match self.clips.resolve(item, village, station, date) {
                Variant::Playable(c) => (Some(c), None),
                Variant::Expired(c) => (Some(c), Some(Outcome::SkippedExpired)),
                Variant::None => (None, Some(Outcome::NoVariant { message: item.to_string() })),
            };
            if skip.is_none()
                && let Some(c) = clip
                && let Some(max) = c.max_plays_per_day
                // A cue skipped for quiet hours is asked about but not counted.
                && !state.admit(date, &village.id, &c.id, id, max, !quiet_skip)
            {
                skip = Some(Outcome::SkippedMaxPlays);
            }
            let outcome = match skip {
                Some(o) => o,
                None if quiet_skip => Outcome::SkippedQuietHours,
                None if delay > chrono::Duration::zero() => Outcome::Deferred { from: at - delay },
                None => Outcome::Play,
            };
            // A non-playing entry keeps its chosen clip (for the log) but takes no air time.
            let plays = outcome.plays();
            let (cue, duration, chime_gain, chime_missing) = if !plays {
                if let Outcome::NoVariant { message } = &outcome {
                    tracing::warn!(slot = %slot.name, village = %village.id, "no playable variant of `{message}` for {}", village.id);
                }
                (clip.map(|c| self.cue(id, slot, village, c, at, None)), Duration::ZERO, None, None)
            } else {
                let clip = clip.expect("a playing entry has a clip");
                let mut chime: Option<&ClipMeta> = None;
                let mut chime_missing = None;
                if chime_pending {
                    chime_pending = false;
                    let wanted = slot.chime.as_ref().expect("pending only when the slot has a chime");
                    match self.clips.resolve(wanted, village, station, date) {
                        Variant::Playable(c) => chime = Some(c),
                        Variant::Expired(_) => chime_missing = Some(Outcome::SkippedExpired),
                        Variant::None => chime_missing = Some(Outcome::NoVariant { message: wanted.to_string() }),
                    }
                }
                (
                    Some(self.cue(id, slot, village, clip, at, chime.map(|c| c.id.clone()))),
                    chime.map_or(Duration::ZERO, clip_duration) + clip_duration(clip),
                    chime.map(|c| self.gain(village, c, at)),
                    chime_missing,
                )
            };
            out.push(Planned {
                id,
                slot: slot.name.clone(),
                firing,
                village: village.id.clone(),
                zone: village.zone.clone(),
                item: Some(item.clone()),
                at,
                cue,
                duration,
                outcome,
                chime_gain,
                chime_missing,
            });
            cursor = if plays { at + to_chrono(duration) + to_chrono(playlist.gap) } else { at };
        }
        out
    }

    fn cue(
        &self,
        id: CueId,
        slot: &Slot,
        village: &Village,
        clip: &ClipMeta,
        at: DateTime<Utc>,
        chime: Option<ClipId>,
    ) -> Cue {
        Cue {
            id,
            village: village.id.clone(),
            zone: village.zone.clone(),
            clip: clip.id.clone(),
            language: clip.language.clone(),
            priority: slot.priority,
            at,
            gain: self.gain(village, clip, at),
            chime,
            slot: Some(slot.name.clone()),
        }
    }

    /// The clip's loudness gain under the station policy plus the village volume at `at`.
    fn gain(&self, village: &Village, clip: &ClipMeta, at: DateTime<Utc>) -> GainDb {
        let local = at.with_timezone(&self.tz);
        clip.loudness.gain(&self.plan.station.loudness) + village.volume_at(TimeOfDay::of(&local))
    }
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
