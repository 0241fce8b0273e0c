//! What a slot plays each time it fires: the playlist modes, the little state rotation keeps, and
//! the daily play counts of clips with a `max_plays_per_day`.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::hash::{SplitMix64, StableHasher};
use crate::config::{ItemRef, Playlist, PlaylistMode};
use crate::domain::{ClipId, CueId, PlaylistId, VillageId};

/// How many recent firings each rotating playlist remembers, so that planning the same firing again
/// (a reload, an overlapping window) gives the same item instead of moving on.
const REMEMBERED_FIRINGS: usize = 64;

/// Days of play counts kept before the newest day counted: enough for a reload or an overlapping
/// window to re-plan today and yesterday (a cue deferred past the night counts on the next day).
const REMEMBERED_DAYS: u64 = 3;

/// Daily-limit decisions: local date → village id → clip id → the cues judged that day.
type PlayCounts = BTreeMap<NaiveDate, BTreeMap<String, BTreeMap<String, DayCount>>>;

/// The cues of one clip in one village on one local day that were judged under its daily limit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct DayCount {
    /// Cues planned to play, in the order they were counted: these count toward the limit.
    #[serde(default)]
    plays: Vec<CueId>,
    /// Cues skipped for quiet hours while the limit was not yet reached: not counted, remembered
    /// so that planning them again still says "quiet hours" after later cues reached the limit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    quiet: Vec<CueId>,
}

/// Where each rotating playlist stands, and how often each clip with a daily limit has been planned
/// to play today. Persisted by `serve` between runs (serde), so the morning notices keep taking
/// turns and a campaign keeps its daily count across restarts; `render` starts from an empty state
/// or a copy.
///
/// Shuffle needs no state: its order is a pure function of the playlist id and the firing instant.
///
/// Daily counts are kept only for clips that have a
/// [`max_plays_per_day`](crate::library::ClipMeta::max_plays_per_day), per local date (station
/// time zone), village and clip, as the ids of the cues counted — so planning the same firing again
/// finds its cues already counted instead of counting them twice, and gives the same outcomes.
/// Only the newest day counted and the three days before it are kept; older days are dropped after
/// each window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlaylistState {
    /// Rotation per playlist id.
    #[serde(default)]
    rotate: BTreeMap<String, Rotation>,
    /// Cues counted toward clips' daily limits.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    plays: PlayCounts,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Rotation {
    /// Index (modulo the current item count) of the item the next new firing plays.
    next: usize,
    /// The latest firings and the index each played, oldest first.
    #[serde(default)]
    recent: Vec<Turn>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Turn {
    slot: String,
    at: DateTime<Utc>,
    index: usize,
}

impl PlaylistState {
    /// An empty state: every rotating playlist starts at its first item.
    pub fn new() -> Self {
        Self::default()
    }

    /// The index the next new firing of rotating playlist `id` will play (before taking it modulo
    /// the item count); 0 for a playlist that has not fired yet.
    pub fn rotate_position(&self, id: &PlaylistId) -> usize {
        self.rotate.get(id.as_str()).map_or(0, |r| r.next)
    }

    /// How many cues of `clip` in `village` on local `date` count toward the clip's daily limit
    /// (0 for a clip without a limit, whose plays are not counted).
    pub fn plays_on(&self, date: NaiveDate, village: &VillageId, clip: &ClipId) -> usize {
        self.plays
            .get(&date)
            .and_then(|v| v.get(village.as_str()))
            .and_then(|c| c.get(clip.as_str()))
            .map_or(0, |d| d.plays.len())
    }

    /// Whether cue `cue` of `clip` in `village` on local `date` is within a limit of `max` plays
    /// that day. `plays` says whether the cue would play (it is then counted when admitted) or is
    /// skipped for quiet hours (never counted; only the verdict is remembered). A cue judged before
    /// (its firing planned again) gets the same verdict; otherwise it is admitted while fewer than
    /// `max` cues are counted. A cue that is not admitted is never counted.
    pub(super) fn admit(
        &mut self,
        date: NaiveDate,
        village: &VillageId,
        clip: &ClipId,
        cue: CueId,
        max: u32,
        plays: bool,
    ) -> bool {
        let known = self.plays.get(&date).and_then(|v| v.get(village.as_str())).and_then(|c| c.get(clip.as_str()));
        if let Some(d) = known
            && (d.plays.contains(&cue) || (!plays && d.quiet.contains(&cue)))
        {
            return true;
        }
        if known.map_or(0, |d| d.plays.len()) >= max as usize {
            return false;
        }
        let by_clip = self.plays.entry(date).or_default().entry(village.as_str().to_owned()).or_default();
        let day = by_clip.entry(clip.as_str().to_owned()).or_default();
        if plays {
            day.quiet.retain(|&c| c != cue);
            day.plays.push(cue);
        } else {
            day.quiet.push(cue);
        }
        true
    }

    /// Drops the counts of days more than [`REMEMBERED_DAYS`] before the newest day counted.
    pub(super) fn forget_old_plays(&mut self) {
        let Some(&newest) = self.plays.keys().next_back() else { return };
        if let Some(cutoff) = newest.checked_sub_days(chrono::Days::new(REMEMBERED_DAYS)) {
            self.plays = self.plays.split_off(&cutoff);
        }
    }

    /// The item index a rotating playlist plays at `slot`'s firing `at`, moving the playlist on once.
    /// Asking again for a firing it remembers gives the same index and does not move it on.
    fn rotate_turn(&mut self, playlist: &Playlist, slot: &str, at: DateTime<Utc>) -> usize {
        let len = playlist.items.len().max(1);
        let r = self.rotate.entry(playlist.id.as_str().to_owned()).or_default();
        if let Some(t) = r.recent.iter().find(|t| t.slot == slot && t.at == at) {
            return t.index % len;
        }
        let index = r.next % len;
        r.next = (index + 1) % len;
        r.recent.push(Turn { slot: slot.to_owned(), at, index });
        if r.recent.len() > REMEMBERED_FIRINGS {
            r.recent.remove(0);
        }
        index
    }

    /// What one firing of `playlist` by `slot` at `at` plays, in order, with `repeat` applied:
    ///
    /// - in-order: every item, in the listed order;
    /// - rotate: the one item whose turn it is (the playlist moves on once per firing, whichever
    ///   villages the firing reaches);
    /// - shuffle: every item once, in an order drawn from the playlist id and the firing instant
    ///   (the same firing always gets the same order; different firings usually differ).
    ///
    /// The selection then plays `repeat` times in the same order.
    pub fn selection<'p>(&mut self, playlist: &'p Playlist, slot: &str, at: DateTime<Utc>) -> Vec<&'p ItemRef> {
        let one: Vec<&ItemRef> = match playlist.mode {
            PlaylistMode::InOrder => playlist.items.iter().collect(),
            PlaylistMode::Rotate if playlist.items.is_empty() => Vec::new(),
            PlaylistMode::Rotate => vec![&playlist.items[self.rotate_turn(playlist, slot, at)]],
            PlaylistMode::Shuffle => {
                shuffled_order(playlist.items.len(), &playlist.id, at).into_iter().map(|i| &playlist.items[i]).collect()
            }
        };
        let repeat = playlist.repeat.max(1) as usize;
        let mut out = Vec::with_capacity(one.len() * repeat);
        for _ in 0..repeat {
            out.extend(one.iter().copied());
        }
        out
    }
}

/// A permutation of `0..n` drawn (Fisher–Yates) from a seed made of the playlist id and the instant.
pub fn shuffled_order(n: usize, playlist: &PlaylistId, at: DateTime<Utc>) -> Vec<usize> {
    let seed = StableHasher::new().str("shuffle").str(playlist.as_str()).instant(at).finish();
    let mut rng = SplitMix64::new(seed);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.below(i + 1);
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;
    use crate::domain::MessageId;

    fn playlist(mode: PlaylistMode, items: &[&str], repeat: u32) -> Playlist {
        Playlist {
            id: PlaylistId::new("notices").unwrap(),
            mode,
            items: items.iter().map(|m| ItemRef::Message(MessageId::new(m).unwrap())).collect(),
            gap: Duration::from_secs(2),
            repeat,
        }
    }

    fn names(items: &[&ItemRef]) -> Vec<String> {
        items.iter().map(|i| i.to_string()).collect()
    }

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, d, 23, 0, 0).unwrap()
    }

    #[test]
    fn rotation_takes_turns_and_replanning_a_firing_does_not_move_it_on() {
        let p = playlist(PlaylistMode::Rotate, &["fire-safety", "flu-vaccine", "harvest"], 1);
        let mut st = PlaylistState::new();
        assert_eq!(names(&st.selection(&p, "morning", day(1))), ["fire-safety"]);
        assert_eq!(names(&st.selection(&p, "morning", day(2))), ["flu-vaccine"]);
        // The same firing planned again (a reload) plays the same item.
        assert_eq!(names(&st.selection(&p, "morning", day(2))), ["flu-vaccine"]);
        assert_eq!(names(&st.selection(&p, "morning", day(3))), ["harvest"]);
        assert_eq!(names(&st.selection(&p, "morning", day(4))), ["fire-safety"]);
        assert_eq!(st.rotate_position(&p.id), 1);
    }

    #[test]
    fn rotation_survives_a_restart_through_serde() {
        let p = playlist(PlaylistMode::Rotate, &["a", "b", "c"], 1);
        let mut st = PlaylistState::new();
        st.selection(&p, "morning", day(1));
        let saved = serde_json::to_string(&st).unwrap();
        let mut back: PlaylistState = serde_json::from_str(&saved).unwrap();
        assert_eq!(back, st);
        assert_eq!(names(&back.selection(&p, "morning", day(2))), ["b"]);
        // An old state file without any field still loads.
        assert_eq!(serde_json::from_str::<PlaylistState>("{}").unwrap(), PlaylistState::new());
    }

    #[test]
    fn rotation_memory_is_bounded() {
        let p = playlist(PlaylistMode::Rotate, &["a", "b"], 1);
        let mut st = PlaylistState::new();
        for i in 0..200 {
            st.selection(&p, "s", day(1) + chrono::Duration::hours(i));
        }
        assert_eq!(st.rotate["notices"].recent.len(), REMEMBERED_FIRINGS);
    }

    #[test]
    fn repeat_plays_the_whole_selection_again_in_the_same_order() {
        let p = playlist(PlaylistMode::InOrder, &["a", "b"], 3);
        let mut st = PlaylistState::new();
        assert_eq!(names(&st.selection(&p, "s", day(1))), ["a", "b", "a", "b", "a", "b"]);
        let r = playlist(PlaylistMode::Rotate, &["a", "b"], 2);
        assert_eq!(names(&st.selection(&r, "s", day(1))), ["a", "a"]);
    }

    #[test]
    fn shuffle_is_a_permutation_fixed_by_the_firing_and_varies_between_firings() {
        let id = PlaylistId::new("evening").unwrap();
        let mut orders = BTreeSet::new();
        for d in 1..=20 {
            let o = shuffled_order(6, &id, day(d));
            assert_eq!(o.iter().copied().collect::<BTreeSet<_>>(), (0..6).collect(), "{o:?}");
            assert_eq!(o, shuffled_order(6, &id, day(d)));
            orders.insert(o);
        }
        assert!(orders.len() >= 10, "only {} distinct orders in 20 firings", orders.len());
        assert!(shuffled_order(0, &id, day(1)).is_empty());
        assert_eq!(shuffled_order(1, &id, day(1)), [0]);
    }

    fn ids(village: &str, clip: &str) -> (VillageId, ClipId) {
        (VillageId::new(village).unwrap(), ClipId::new(&format!("{clip:0<16}")).unwrap())
    }

    fn date(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    #[test]
    fn a_daily_limit_admits_each_cue_once_and_counts_only_what_it_admits() {
        let (dongmen, a1) = ids("dongmen", "a1");
        let (nanjie, _) = ids("nanjie", "a1");
        let mut st = PlaylistState::new();
        // A cue skipped for quiet hours is judged but not counted.
        assert!(st.admit(date(1), &dongmen, &a1, CueId(9), 2, false));
        assert_eq!(st.plays_on(date(1), &dongmen, &a1), 0);
        assert!(st.admit(date(1), &dongmen, &a1, CueId(1), 2, true));
        assert!(st.admit(date(1), &dongmen, &a1, CueId(2), 2, true));
        assert!(!st.admit(date(1), &dongmen, &a1, CueId(3), 2, true));
        assert_eq!(st.plays_on(date(1), &dongmen, &a1), 2);
        // The same cue planned again is still admitted, and not counted twice.
        assert!(st.admit(date(1), &dongmen, &a1, CueId(2), 2, true));
        assert_eq!(st.plays_on(date(1), &dongmen, &a1), 2);
        // The quiet-hours cue judged before the limit was reached keeps its verdict; a new one
        // is over the limit.
        assert!(st.admit(date(1), &dongmen, &a1, CueId(9), 2, false));
        assert!(!st.admit(date(1), &dongmen, &a1, CueId(10), 2, false));
        // Another village, another day: counted apart.
        assert!(st.admit(date(1), &nanjie, &a1, CueId(4), 2, true));
        assert!(st.admit(date(2), &dongmen, &a1, CueId(5), 2, true));
        assert_eq!((st.plays_on(date(1), &nanjie, &a1), st.plays_on(date(2), &dongmen, &a1)), (1, 1));
    }

    #[test]
    fn daily_counts_survive_a_restart_and_old_days_are_forgotten() {
        let (dongmen, a1) = ids("dongmen", "a1");
        let mut st = PlaylistState::new();
        for d in 1..=9 {
            st.admit(date(d), &dongmen, &a1, CueId(u64::from(d)), 1, true);
            st.forget_old_plays();
        }
        assert_eq!(st.plays.keys().copied().collect::<Vec<_>>(), [date(6), date(7), date(8), date(9)]);
        let saved = serde_json::to_string(&st).unwrap();
        assert!(saved.contains(r#""plays":{"2026-12-06":{"dongmen":{"a100000000000000":{"plays":[6]}}}"#), "{saved}");
        let mut back: PlaylistState = serde_json::from_str(&saved).unwrap();
        assert_eq!(back, st);
        assert!(!back.admit(date(9), &dongmen, &a1, CueId(99), 1, true));
        // A state without counts writes no `plays` at all, as before the limit existed.
        assert_eq!(serde_json::to_string(&PlaylistState::new()).unwrap(), r#"{"rotate":{}}"#);
    }
}
