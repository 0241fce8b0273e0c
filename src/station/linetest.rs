//! The daily line test: a short tone on each village's line at the time `villages.yaml` sets
//! (`line_test: "10:00"`, outside quiet hours), so a dead line is found even on a day without
//! notices. It is planned like a slot's cue (priority background, so it never delays a programme; slot [`LINE_TEST_SLOT`], an
//! as-run row of its own) and proven like every cue by the line's capture tap.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sha2::Digest;

use super::journal::Write;
use super::{Air, Pending, Station};
use crate::domain::{ClipId, Cue, CueId, GainDb, Language, Priority, Text, VillageId};
use crate::engine::{Audio, CueCommand, ENGINE_RATE};

/// The slot name of line-test cues in the as-run log.
pub const LINE_TEST_SLOT: &str = "line-test";
/// How long the test tone plays.
pub const TONE_SECONDS: f32 = 4.0;
/// Its peak level, dBFS.
pub const TONE_DBFS: f32 = -12.0;
/// How late a test may still play after a restart.
const GRACE: Duration = Duration::from_secs(300);

/// The clip id line-test cues carry (no clip in the library has it: it is the first 32 hex
/// digits of the SHA-256 of `xiangyin line test tone`).
pub fn line_test_clip() -> ClipId {
    static ID: OnceLock<ClipId> = OnceLock::new();
    ID.get_or_init(|| {
        let hex: String = sha2::Sha256::digest(b"xiangyin line test tone").iter().map(|b| format!("{b:02x}")).collect();
        ClipId::from_digest(&hex).expect("a SHA-256 digest in hex is a clip id")
    })
    .clone()
}

/// The test tone at the engine rate.
pub(super) fn tone() -> Audio {
    static TONE: OnceLock<Arc<[f32]>> = OnceLock::new();
    Audio::Memory(
        TONE.get_or_init(|| crate::line::tone::line_test_tone(ENGINE_RATE, TONE_SECONDS, TONE_DBFS).into()).clone(),
    )
}

impl<A: Air> Station<A> {
    /// Plays the test tone on `village` now (after its amplifier's lead-in), at manual priority,
    /// logged like a line test; the cue's as-run row gets the verdict when the tone has ended.
    pub fn line_test_now(&mut self, village: &VillageId, now: DateTime<Utc>) -> Result<Cue, Text> {
        let v = self.plan.village(village).ok_or_else(|| {
            Text::new(
                format!("There is no village `{village}` on this station."),
                format!("这个广播站没有村 `{village}`。"),
            )
        })?;
        let zone = v.zone.clone();
        let at = self.line.ready_at(&zone, now, false);
        self.broadcast_seq += 1;
        let cue = Cue {
            id: test_cue_id(&format!("{village}#{}", self.broadcast_seq), now),
            village: village.clone(),
            zone: zone.clone(),
            clip: line_test_clip(),
            language: Language::new("zxx").expect("zxx is a language tag"),
            priority: Priority::Manual,
            at,
            gain: GainDb::UNITY,
            chime: None,
            slot: Some(LINE_TEST_SLOT.to_owned()),
        };
        let cmd = CueCommand {
            id: cue.id,
            zone,
            audio: tone(),
            gain: GainDb::UNITY,
            chime: None,
            priority: Priority::Manual,
            start: 0,
        };
        self.journal.write(Write::Cue(cue.clone()), now);
        self.manual.insert(cue.id, cue.clone());
        if at > now {
            self.air.cue(cmd, at)
        } else {
            self.air.cue_now(cmd)
        }
        tracing::info!(%village, "line test now");
        Ok(cue)
    }

    /// Plans the line tests that fall in `[from, to)`: one cue per village whose test time is in
    /// the window, logged and waiting like a slot's cue.
    pub(super) fn plan_line_tests(&mut self, from: DateTime<Utc>, to: DateTime<Utc>, now: DateTime<Utc>) {
        let tz = self.plan.station.timezone;
        let first = from.with_timezone(&tz).date_naive();
        let last = to.with_timezone(&tz).date_naive();
        let mut made = Vec::new();
        for v in &self.plan.villages {
            let Some(t) = v.line_test else { continue };
            let mut day = first;
            while day <= last {
                if let Some(at) = tz.from_local_datetime(&day.and_time(t.to_naive())).earliest() {
                    let at = at.with_timezone(&Utc);
                    if at >= from && at < to {
                        made.push(Cue {
                            id: test_cue_id(v.id.as_str(), at),
                            village: v.id.clone(),
                            zone: v.zone.clone(),
                            clip: line_test_clip(),
                            language: Language::new("zxx").expect("zxx is a language tag"),
                            // Below every programme: a notice at the same minute preempts the
                            // tone (which resumes after it), never waits for it.
                            priority: Priority::Background,
                            at,
                            gain: GainDb::UNITY,
                            chime: None,
                            slot: Some(LINE_TEST_SLOT.to_owned()),
                        });
                    }
                }
                day = day.succ_opt().unwrap_or(last + chrono::Days::new(1));
            }
        }
        if made.is_empty() {
            return;
        }
        for cue in made {
            if self.saved.pending.iter().any(|p| p.cue.id == cue.id) {
                continue;
            }
            tracing::info!(village = %cue.village, at = %cue.at, "line test planned");
            self.journal.write(Write::Cue(cue.clone()), now);
            self.saved.pending.push(Pending { cue, chime_gain: None, grace: GRACE });
        }
        self.saved.pending.sort_by_key(|p| p.cue.at);
        self.dirty = true;
    }
}

/// A stable id for the line test of `village` at `at` (FNV-1a 64).
fn test_cue_id(village: &str, at: DateTime<Utc>) -> CueId {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in LINE_TEST_SLOT.bytes().chain([0]).chain(village.bytes()).chain(at.timestamp_millis().to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    CueId(h)
}
