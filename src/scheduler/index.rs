//! The clips the scheduler may choose from, and the variant chain that picks one for a village.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDate;

use crate::config::{ItemRef, Station, Village};
use crate::domain::{ClipId, Language, MessageId};
use crate::library::ClipMeta;

/// The library as the scheduler sees it: clips by id, and each message's variants.
///
/// Built once from the library listing; cheap to query. Holds every clip, approved or not: the
/// review and expiry rules are applied when an item is resolved, so the answer can say *why*
/// nothing plays.
#[derive(Debug, Clone, Default)]
pub struct ClipIndex {
    by_id: BTreeMap<ClipId, ClipMeta>,
    /// Variants of each message, newest import first (ties: clip id ascending).
    by_message: BTreeMap<MessageId, Vec<ClipId>>,
}

/// What an item resolves to for one village on one local date.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Variant<'a> {
    /// This clip plays.
    Playable(&'a ClipMeta),
    /// The chain found a clip, but only among clips whose last day has passed; this is the one that
    /// would have played. Nothing plays.
    Expired(&'a ClipMeta),
    /// No approved clip in the village's languages, the station default or `zxx` (or, for a clip
    /// reference, the clip is missing or not approved). Nothing plays.
    None,
}

impl ClipIndex {
    /// Indexes `clips`. A later entry with the same id replaces an earlier one.
    pub fn new(clips: &[ClipMeta]) -> Self {
        let mut by_id = BTreeMap::new();
        for c in clips {
            by_id.insert(c.id.clone(), c.clone());
        }
        let mut by_message: BTreeMap<MessageId, Vec<ClipId>> = BTreeMap::new();
        for c in by_id.values() {
            if let Some(m) = &c.message {
                by_message.entry(m.clone()).or_default().push(c.id.clone());
            }
        }
        for ids in by_message.values_mut() {
            ids.sort_by(|a, b| {
                let (ca, cb) = (&by_id[a], &by_id[b]);
                cb.imported_at.cmp(&ca.imported_at).then_with(|| a.cmp(b))
            });
        }
        Self { by_id, by_message }
    }

    /// Number of clips indexed.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when no clip is indexed.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The clip with this id, whatever its review state.
    pub fn get(&self, id: &ClipId) -> Option<&ClipMeta> {
        self.by_id.get(id)
    }

    /// Every variant of message `m`, newest import first, whatever its review state.
    pub fn variants(&self, m: &MessageId) -> impl Iterator<Item = &ClipMeta> {
        self.by_message.get(m).into_iter().flatten().map(|id| &self.by_id[id])
    }

    /// Which clip `item` plays in `village` on local date `date`.
    ///
    /// A clip reference plays that clip whatever its language. A message plays, among its approved
    /// variants not expired on `date` (`expires` is the last day a clip may play), the first in the
    /// village's language order, else one in the station's default language, else one tagged `zxx`
    /// (no linguistic content); within one language the newest import wins. Language tags must match
    /// exactly (`cdo` does not stand in for `cdo-yongtai`). Unapproved clips are never chosen.
    pub fn resolve(&self, item: &ItemRef, village: &Village, station: &Station, date: NaiveDate) -> Variant<'_> {
        let live = |c: &ClipMeta| !is_expired(c, date);
        match item {
            ItemRef::Clip(id) => match self.get(id) {
                Some(c) if c.review.is_approved() && live(c) => Variant::Playable(c),
                Some(c) if c.review.is_approved() => Variant::Expired(c),
                _ => Variant::None,
            },
            ItemRef::Message(m) => {
                let approved: Vec<&ClipMeta> = self.variants(m).filter(|c| c.review.is_approved()).collect();
                let chain = language_chain(village, station);
                let current: Vec<&ClipMeta> = approved.iter().copied().filter(|c| live(c)).collect();
                if let Some(c) = first_in_chain(&current, &chain) {
                    Variant::Playable(c)
                } else if let Some(c) = first_in_chain(&approved, &chain) {
                    Variant::Expired(c)
                } else {
                    Variant::None
                }
            }
        }
    }
}

/// True when `date` is after the clip's last day.
pub fn is_expired(clip: &ClipMeta, date: NaiveDate) -> bool {
    clip.expires.is_some_and(|last| date > last)
}

/// How long the clip takes on air: the canonical copy's frames at its rate (what the engine plays),
/// or the recorded duration when the canonical copy's size is unknown.
pub fn clip_duration(clip: &ClipMeta) -> Duration {
    let c = &clip.canonical;
    if c.sample_rate > 0 && c.frames > 0 {
        let nanos = u128::from(c.frames) * 1_000_000_000 / u128::from(c.sample_rate);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    } else {
        Duration::from_secs_f64(clip.duration_s.max(0.0))
    }
}

/// The village's languages, then the station default, then `zxx`.
fn language_chain<'a>(village: &'a Village, station: &'a Station) -> Vec<Language> {
    let mut chain: Vec<Language> = village.languages.clone();
    chain.push(station.default_language.clone());
    chain.push(Language::new("zxx").expect("zxx is a language tag"));
    chain
}

fn first_in_chain<'a>(candidates: &[&'a ClipMeta], chain: &[Language]) -> Option<&'a ClipMeta> {
    chain.iter().find_map(|lang| candidates.iter().copied().find(|c| &c.language == lang))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ReviewState;
    use crate::scheduler::testkit::{clip, date, station, village};

    fn msg(m: &str) -> ItemRef {
        ItemRef::Message(MessageId::new(m).unwrap())
    }

    #[test]
    fn a_village_hears_its_first_language_then_the_station_default_then_zxx() {
        let st = station("Asia/Shanghai", "cmn");
        let yue_first = village("dongmen", &["yue-qingxi", "cmn"]);
        let cmn_first = village("xiabei", &["cmn", "yue-qingxi"]);
        let hakka = village("shanding", &["hak"]);
        let d = date(2026, 12, 1);

        let both = ClipIndex::new(&[clip("a1", "notice", "yue-qingxi", 6.0), clip("a2", "notice", "cmn", 6.0)]);
        let id = |v: Variant<'_>| match v {
            Variant::Playable(c) => c.id.as_str()[..2].to_owned(),
            other => panic!("{other:?}"),
        };
        assert_eq!(id(both.resolve(&msg("notice"), &yue_first, &st, d)), "a1");
        assert_eq!(id(both.resolve(&msg("notice"), &cmn_first, &st, d)), "a2");
        // Neither of the village's languages: the station default (cmn).
        assert_eq!(id(both.resolve(&msg("notice"), &hakka, &st, d)), "a2");

        // Music has no language and plays everywhere.
        let song = ClipIndex::new(&[clip("b1", "song", "zxx", 30.0)]);
        assert_eq!(id(song.resolve(&msg("song"), &hakka, &st, d)), "b1");
        // A Cantonese-only notice has nothing for a Hakka village with a Mandarin default.
        let yue_only = ClipIndex::new(&[clip("c1", "notice", "yue-qingxi", 6.0)]);
        assert_eq!(yue_only.resolve(&msg("notice"), &hakka, &st, d), Variant::None);
        assert_eq!(yue_only.resolve(&msg("no-such-message"), &yue_first, &st, d), Variant::None);
    }

    #[test]
    fn the_newest_import_wins_within_one_language() {
        let st = station("Asia/Shanghai", "cmn");
        let v = village("dongmen", &["cmn"]);
        let mut old = clip("a1", "notice", "cmn", 6.0);
        old.imported_at = "2026-11-01T00:00:00Z".parse().unwrap();
        let mut new = clip("a2", "notice", "cmn", 6.0);
        new.imported_at = "2026-11-20T00:00:00Z".parse().unwrap();
        for order in [vec![old.clone(), new.clone()], vec![new.clone(), old.clone()]] {
            let idx = ClipIndex::new(&order);
            assert_eq!(idx.resolve(&msg("notice"), &v, &st, date(2026, 12, 1)), Variant::Playable(&new));
        }
    }

    #[test]
    fn unapproved_clips_are_never_chosen_even_as_the_only_match() {
        let st = station("Asia/Shanghai", "cmn");
        let v = village("dongmen", &["yue-qingxi", "cmn"]);
        let mut pending = clip("a1", "notice", "yue-qingxi", 6.0);
        pending.review = ReviewState::Pending;
        let mut rejected = clip("a2", "notice", "cmn", 6.0);
        rejected.review = ReviewState::Rejected { reason: "wrong date read out".into() };
        let idx = ClipIndex::new(&[pending.clone(), rejected.clone()]);
        assert_eq!(idx.resolve(&msg("notice"), &v, &st, date(2026, 12, 1)), Variant::None);
        assert_eq!(idx.resolve(&ItemRef::Clip(pending.id.clone()), &v, &st, date(2026, 12, 1)), Variant::None);
        // An approved Mandarin variant is taken over a pending Cantonese one.
        let ok = clip("a3", "notice", "cmn", 6.0);
        let idx = ClipIndex::new(&[pending, rejected, ok.clone()]);
        assert_eq!(idx.resolve(&msg("notice"), &v, &st, date(2026, 12, 1)), Variant::Playable(&ok));
    }

    #[test]
    fn a_clip_plays_on_its_last_day_and_not_the_day_after() {
        let st = station("Asia/Shanghai", "cmn");
        let v = village("dongmen", &["yue-qingxi", "cmn"]);
        let mut yue = clip("a1", "notice", "yue-qingxi", 6.0);
        yue.expires = Some(date(2026, 12, 31));
        let idx = ClipIndex::new(&[yue.clone()]);
        assert_eq!(idx.resolve(&msg("notice"), &v, &st, date(2026, 12, 31)), Variant::Playable(&yue));
        assert_eq!(idx.resolve(&msg("notice"), &v, &st, date(2027, 1, 1)), Variant::Expired(&yue));
        assert_eq!(idx.resolve(&ItemRef::Clip(yue.id.clone()), &v, &st, date(2027, 1, 1)), Variant::Expired(&yue));
        // A still-current Mandarin variant takes over when the Cantonese one has expired.
        let cmn = clip("a2", "notice", "cmn", 6.0);
        let idx = ClipIndex::new(&[yue, cmn.clone()]);
        assert_eq!(idx.resolve(&msg("notice"), &v, &st, date(2027, 1, 1)), Variant::Playable(&cmn));
    }

    #[test]
    fn a_clip_reference_plays_whatever_its_language() {
        let st = station("Asia/Shanghai", "cmn");
        let v = village("dongmen", &["yue-qingxi"]);
        let other = clip("a1", "anything", "hak", 6.0);
        let idx = ClipIndex::new(std::slice::from_ref(&other));
        assert_eq!(
            idx.resolve(&ItemRef::Clip(other.id.clone()), &v, &st, date(2026, 12, 1)),
            Variant::Playable(&other)
        );
    }

    #[test]
    fn duration_is_the_canonical_copy_to_the_nanosecond() {
        let mut c = clip("a1", "notice", "cmn", 0.0);
        c.canonical.frames = 304_420;
        c.canonical.sample_rate = 48_000;
        assert_eq!(clip_duration(&c), Duration::from_nanos(6_342_083_333));
        c.canonical.frames = 0;
        c.duration_s = 2.5;
        assert_eq!(clip_duration(&c), Duration::from_millis(2500));
    }
}
