//! Plain types shared by every part of the station: ids, languages, priorities, gains, time rules
//! and the roles of people.
//!
//! Nothing here reads files, touches devices or knows about HTTP; the types only promise that a value
//! which exists is well formed (a `VillageId` is a valid slug, a `Language` a valid tag, ...).

mod clip;
mod cue;
mod gain;
mod heard;
mod ids;
mod language;
mod priority;
mod role;
mod text;
mod time;
pub mod whole;

pub use clip::{ClipKind, ReviewState};
pub use cue::{Cue, CueId};
pub use gain::GainDb;
pub use heard::{Heard, HeardNote};
pub use ids::{ClipId, IdError, MessageId, OutputName, PlaylistId, VillageId, ZoneId};
pub use language::{Language, LanguageError};
pub use priority::Priority;
pub use role::{Action, Role};
pub use text::{Lang, Say, Text};
pub use time::{CronRule, DailyWindow, DayKind, TimeError, TimeOfDay};
