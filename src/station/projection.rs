//! What the station will play, seen from outside it: the day picture of the web page and
//! `xiangyin render` plan from the rotation the station saved, so that for a `rotate` playlist
//! they show the notice the station will actually play, not the one a fresh rotation would.
//!
//! The station plans consecutive windows and saves, with each, the scheduler's state and the
//! instant it has planned to (`planned_to`). A projection continues from there exactly as the
//! station will: firings from `planned_to` on take their turns in order (after a long stop the
//! station resumes [`CATCH_UP`] back at most, and so does the projection); firings before it are
//! planned again from the saved state, whose remembered turns give the item each really played
//! (exact for the latest 64 firings of each playlist; older ones are approximate).

use chrono::{DateTime, NaiveDate, Utc};

use super::{CATCH_UP, STATE_KEY, Saved};
use crate::config::Plan;
use crate::scheduler::{self, ClipIndex, Planned, PlaylistState};
use crate::store::{Store, StoreError};

/// The station's rotation and how far it has planned.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    planned_to: Option<DateTime<Utc>>,
    playlists: PlaylistState,
}

impl Projection {
    /// A projection for a station that has never planned (every rotation at its first item).
    pub fn fresh() -> Self {
        Self::default()
    }

    /// The projection a station saved in `store`; [`Projection::fresh`] when it saved none (or a
    /// state this build cannot read, which the station itself would start afresh from too).
    pub fn saved(store: &Store) -> Result<Self, StoreError> {
        Ok(match store.load_json::<Saved>(STATE_KEY) {
            Ok(Some(s)) => Self { planned_to: s.planned_to, playlists: s.playlists },
            Ok(None) => Self::fresh(),
            Err(StoreError::Json { .. }) => Self::fresh(),
            Err(e) => return Err(e),
        })
    }

    pub(super) fn of(saved: &Saved) -> Self {
        Self { planned_to: saved.planned_to, playlists: saved.playlists.clone() }
    }

    /// Every entry the station plans for the firings in `[from, to)`, as it will plan them
    /// (`now` says where a stopped station would resume).
    pub fn plan(
        &self,
        plan: &Plan,
        clips: &ClipIndex,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
        holidays: &dyn Fn(NaiveDate) -> bool,
    ) -> Vec<Planned> {
        if from >= to {
            return Vec::new();
        }
        let catch_up = chrono::Duration::from_std(CATCH_UP).unwrap_or_default();
        let Some(resume) = self.planned_to.map(|t| t.max(now - catch_up)) else {
            return scheduler::plan_window(plan, clips, from, to, &mut self.playlists.clone(), holidays);
        };
        let split = resume.clamp(from, to);
        let mut out = Vec::new();
        if from < split {
            // Already planned: the remembered turns say what each firing played.
            out.extend(scheduler::plan_window(plan, clips, from, split, &mut self.playlists.clone(), holidays));
        }
        if split < to {
            let mut ahead = self.playlists.clone();
            if resume < split {
                // The firings between where the station is and `from` move the rotation on.
                scheduler::plan_window(plan, clips, resume, split, &mut ahead, holidays);
            }
            out.extend(scheduler::plan_window(plan, clips, split, to, &mut ahead, holidays));
        }
        out
    }
}
