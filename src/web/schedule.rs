//! A village's schedule in the JSON API: what reaches the village, its own playlist (the one part
//! people edit from the web UI), and the picture of one day.
//!
//! - `GET /api/villages/{id}/schedule` (anyone logged in): the village (languages, quiet hours,
//!   volume by time) and every slot that reaches it, with each item's variant for this village
//!   today. Slots written in the village's own file `schedules/village-<id>.yaml` are
//!   `editable`; shared slots from other files name their file.
//! - `PUT /api/villages/{id}/playlist` (edit-playlists): replaces the village's own file with the
//!   body (see [`VillagePlaylist`]), after checking the result exactly like `xiangyin check` in a
//!   scratch copy of the content root; 422 with every `file:line:col: message` and nothing written
//!   when it does not check. On success the file is replaced atomically, the running station
//!   switches to the new plan at once (the file watcher's reload that follows changes nothing),
//!   and the answer is the new schedule. A body with no items and no slots removes the file.
//! - `GET /api/villages/{id}/day?date=YYYY-MM-DD` (anyone logged in; default today in station
//!   time, up to 400 days ahead): the day's quiet hours and every entry the scheduler plans for
//!   the village, from the running station's rotation, so a `rotate` playlist shows the item the
//!   station will play (see `day_view`).
//!
//! Edits are serialised: one check-and-write at a time in this process.

use std::sync::{Mutex, PoisonError};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::error::{ApiJson, ApiQuery, BodyKind};
use super::{ApiError, ApiResult, AppState, Caller};
use crate::config::write::{self, VillagePlaylist};
use crate::config::{ItemRef, Plan, PlaylistMode, Problems, QuietRule, Village};
use crate::domain::{Action, ClipId, Language, Text, VillageId};
use crate::library::catalog_of;
use crate::scheduler::{self, ClipIndex, Variant, day_kind, local_instant};

/// The village schedule routes (see the module documentation).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/villages/{id}/schedule", get(get_schedule))
        .route("/api/villages/{id}/playlist", put(put_playlist))
        .route("/api/villages/{id}/day", get(get_day))
}

/// One playlist edit at a time: check, write and switch the plan as one step.
static EDITS: Mutex<()> = Mutex::new(());

/// `GET /api/villages/{id}/schedule`.
#[derive(Debug, Serialize)]
struct ScheduleView {
    village: VillageView,
    /// The village's own schedule file (whether it exists or not).
    file: String,
    /// The village's own playlist as its file holds it now (the body a PUT takes); null when
    /// there is no file (or it has no playlist `village-<id>`).
    playlist: Option<VillagePlaylist>,
    /// Why the village's own file could not be read, when it cannot.
    file_problem: Option<String>,
    /// Every slot of the running plan that reaches the village, in plan order.
    slots: Vec<SlotView>,
}

#[derive(Debug, Serialize)]
struct VillageView {
    id: VillageId,
    name: String,
    township: String,
    grids: Vec<String>,
    zone: String,
    languages: Vec<Language>,
    quiet_hours: QuietView,
    /// Village gain from a time of day on, sorted by time.
    volume_db: Vec<VolumeStep>,
}

#[derive(Debug, Serialize)]
struct QuietView {
    weekdays: Vec<String>,
    weekends: Vec<String>,
    holidays: Vec<String>,
}

#[derive(Debug, Serialize)]
struct VolumeStep {
    /// `HH:MM`.
    from: String,
    db: f64,
}

#[derive(Debug, Serialize)]
struct SlotView {
    name: String,
    /// As written.
    cron: String,
    playlist: String,
    /// `in-order`, `rotate` or `shuffle`.
    mode: &'static str,
    gap_s: f64,
    repeat: u32,
    /// `scheduled` or `background`.
    priority: &'static str,
    /// The chime's message or clip id, when the slot plays one.
    chime: Option<String>,
    /// `skip` or `defer`.
    in_quiet_hours: &'static str,
    /// `play` or `skip`.
    on_holidays: &'static str,
    from: Option<NaiveDate>,
    until: Option<NaiveDate>,
    /// The schedule file the slot is written in (null when it cannot be told).
    file: Option<String>,
    /// True for the slots of the village's own file, which a PUT replaces.
    editable: bool,
    /// What each item plays in this village today (station time).
    items: Vec<ItemView>,
}

#[derive(Debug, Serialize)]
struct ItemView {
    /// The message or clip id as written.
    item: String,
    /// `playable`, `expired` (the variant found has passed its last day) or `no-variant`.
    status: &'static str,
    /// The clip chosen for the village; null for `no-variant`.
    variant: Option<VariantView>,
}

#[derive(Debug, Serialize)]
struct VariantView {
    clip: ClipId,
    language: Language,
    title: String,
}

/// The village with `id` in `plan`, or 404 with a sentence.
fn find<'p>(plan: &'p Plan, id: &str) -> ApiResult<&'p Village> {
    VillageId::new(id).ok().and_then(|v| plan.village(&v)).ok_or_else(|| {
        ApiError::not_found((
            format!("village `{id}` in schedules/villages.yaml"),
            format!("村 `{id}`（schedules/villages.yaml 里没有）"),
        ))
    })
}

/// Runs blocking work (file reads, checks) off the async threads.
async fn blocking<T, E>(f: impl FnOnce() -> Result<T, E> + Send + 'static) -> Result<T, E>
where
    T: Send + 'static,
    E: From<ApiError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| E::from(ApiError::internal(format!("a schedule task failed: {e}"))))?
}

async fn get_schedule(State(st): State<AppState>, _caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    let view = blocking(move || schedule_view(&st, &id, Utc::now())).await?;
    Ok(Json(view).into_response())
}

fn mode_name(m: PlaylistMode) -> &'static str {
    match m {
        PlaylistMode::InOrder => "in-order",
        PlaylistMode::Rotate => "rotate",
        PlaylistMode::Shuffle => "shuffle",
    }
}

fn schedule_view(st: &AppState, id: &str, now: DateTime<Utc>) -> ApiResult<ScheduleView> {
    let plan = st.station().plan().clone();
    let village = find(&plan, id)?;
    let (clips, _) = st.library().list()?;
    let index = ClipIndex::new(&clips);
    let layout = &st.paths().layout;
    let origins = write::slot_origins(layout);
    let own = layout.shown(&layout.schedules().join(write::village_file_name(&village.id)));
    let (playlist, file_problem) = match write::read_village_playlist(layout, &village.id) {
        Ok(p) => (p, None),
        Err(problem) => (None, Some(problem.to_string())),
    };
    let today = now.with_timezone(&plan.station.timezone).date_naive();
    let windows = |w: &[crate::domain::DailyWindow]| w.iter().map(ToString::to_string).collect();
    let q = &village.quiet_hours;
    let slots = plan
        .slots
        .iter()
        .filter(|s| s.villages.contains(&village.id))
        .filter_map(|s| {
            let p = plan.playlists.get(&s.playlist)?;
            let file = origins.get(&s.name);
            let items = p
                .items
                .iter()
                .map(|item| {
                    let (status, clip) = match index.resolve(item, village, &plan.station, today) {
                        Variant::Playable(c) => ("playable", Some(c)),
                        Variant::Expired(c) => ("expired", Some(c)),
                        Variant::None => ("no-variant", None),
                    };
                    let variant = clip.map(|c| VariantView {
                        clip: c.id.clone(),
                        language: c.language.clone(),
                        title: c.title.clone(),
                    });
                    ItemView { item: item.to_string(), status, variant }
                })
                .collect();
            Some(SlotView {
                name: s.name.clone(),
                cron: s.cron.as_str().to_owned(),
                playlist: s.playlist.to_string(),
                mode: mode_name(p.mode),
                gap_s: p.gap.as_secs_f64(),
                repeat: p.repeat,
                priority: s.priority.name(),
                chime: s.chime.as_ref().map(ItemRef::to_string),
                in_quiet_hours: match s.in_quiet_hours {
                    QuietRule::Skip => "skip",
                    QuietRule::Defer => "defer",
                },
                on_holidays: if s.on_holidays { "play" } else { "skip" },
                from: s.from,
                until: s.until,
                file: file.map(|f| f.display().to_string()),
                editable: file.is_some_and(|f| *f == own),
                items,
            })
        })
        .collect();
    Ok(ScheduleView {
        village: VillageView {
            id: village.id.clone(),
            name: village.name.clone(),
            township: village.township.clone(),
            grids: village.grids.clone(),
            zone: village.zone.to_string(),
            languages: village.languages.clone(),
            quiet_hours: QuietView {
                weekdays: windows(&q.weekdays),
                weekends: windows(&q.weekends),
                holidays: windows(&q.holidays),
            },
            volume_db: village.volume.iter().map(|(t, g)| VolumeStep { from: t.to_string(), db: g.0 }).collect(),
        },
        file: own.display().to_string(),
        playlist,
        file_problem,
        slots,
    })
}

/// Why a playlist edit was refused.
#[derive(Debug)]
enum EditError {
    /// 4xx / 5xx with a sentence.
    Api(ApiError),
    /// 422: the edited configuration does not check (`text` is the village file it would write,
    /// `file` its name in schedules/).
    Problems { problems: Problems, text: String, file: String },
}

impl From<ApiError> for EditError {
    fn from(e: ApiError) -> Self {
        EditError::Api(e)
    }
}

impl From<std::io::Error> for EditError {
    fn from(e: std::io::Error) -> Self {
        EditError::Api(e.into())
    }
}

impl IntoResponse for EditError {
    fn into_response(self) -> Response {
        match self {
            EditError::Api(e) => e.into_response(),
            EditError::Problems { problems, text, file } => {
                let n = problems.len();
                let mut e = ApiError::unprocessable((
                    format!(
                        "The playlist was not saved: it has {n} problem{}; nothing changed.",
                        if n == 1 { "" } else { "s" }
                    ),
                    format!("播放单没有保存：有 {n} 处问题；什么都没改。"),
                ));
                // In the editor's words (which item, which time to play); the file:line:col of
                // the YAML the station would write stays in `positions` for people who edit files.
                let words: Vec<Text> = problems
                    .0
                    .iter()
                    .map(|p| {
                        if p.file.ends_with(&file) {
                            in_editor_words(p, &text)
                        } else {
                            // Not the village's own file: the station's configuration has
                            // a problem elsewhere, which a person has to fix in that file.
                            let f = p.file.display();
                            Text::new(
                                format!("In {f} (line {}): {}", p.line, p.message),
                                format!("{f} 第 {} 行：{}", p.line, p.message_zh),
                            )
                        }
                    })
                    .collect();
                e.details = Some(Box::new(crate::web::error::Details {
                    problems: words,
                    extra: serde_json::json!({
                        "positions": problems.0.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    }),
                }));
                e.into_response()
            }
        }
    }
}

/// Where in the editor `p` is (the playlist's file is written from the editor's fields, so a
/// line of `text` is one of them), followed by the problem's sentence.
fn in_editor_words(p: &crate::config::Problem, text: &str) -> Text {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.get(p.line.saturating_sub(1)).copied().unwrap_or_default();
    let key = at.trim_start().trim_start_matches("- ").split(':').next().unwrap_or_default().trim();
    let slot = lines[..p.line.min(lines.len())].iter().filter(|l| l.starts_with("  - name:")).count();
    let in_items = lines[..p.line.min(lines.len())].iter().rev().find(|l| l.starts_with("    ") && l.contains(':'));
    let place = match key {
        "mode" => Text::new("Mode", "播放方式"),
        "gap_s" => Text::new("Gap", "间隔"),
        "repeat" => Text::new("Repeat", "重复次数"),
        "items" => {
            // A flow list: the item is the one the column falls in.
            let before =
                at.char_indices().take_while(|(i, _)| *i < p.col.saturating_sub(1)).filter(|(_, c)| *c == ',').count();
            Text::new(format!("Item {}", before + 1), format!("第 {} 项", before + 1))
        }
        _ if slot == 0 && in_items.is_some_and(|l| l.trim_start().starts_with("items:")) => {
            let n = lines[..p.line.min(lines.len())].iter().rev().take_while(|l| l.starts_with("      - ")).count();
            Text::new(format!("Item {n}"), format!("第 {n} 项"))
        }
        "cron" => Text::new(format!("Time to play {slot}"), format!("第 {slot} 个播放时间")),
        "chime" => Text::new(format!("Chime of time to play {slot}"), format!("第 {slot} 个播放时间的提示音")),
        "in_quiet_hours" => Text::new(
            format!("Quiet hours choice of time to play {slot}"),
            format!("第 {slot} 个播放时间在休息时段里的做法"),
        ),
        "on_holidays" => {
            Text::new(format!("Holidays choice of time to play {slot}"), format!("第 {slot} 个播放时间的节假日做法"))
        }
        "from" => Text::new(format!("First day of time to play {slot}"), format!("第 {slot} 个播放时间的开始日期")),
        "until" => Text::new(format!("Last day of time to play {slot}"), format!("第 {slot} 个播放时间的结束日期")),
        _ if slot > 0 => Text::new(format!("Time to play {slot}"), format!("第 {slot} 个播放时间")),
        _ => Text::new("The playlist", "播放单"),
    };
    Text::new(format!("{}: {}", place.en, p.message), format!("{}：{}", place.zh, p.message_zh))
}

async fn put_playlist(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<ApiJson<VillagePlaylist>, ApiError>,
) -> Result<Response, EditError> {
    caller.require(Action::EditPlaylists)?;
    let ApiJson(body) = body?;
    let user = caller.name().to_owned();
    let view = blocking(move || edit(&st, &id, &body, &user)).await?;
    Ok(Json(view).into_response())
}

/// Checks, writes and applies one edit of a village's own playlist; see the module documentation.
fn edit(st: &AppState, id: &str, body: &VillagePlaylist, user: &str) -> Result<ScheduleView, EditError> {
    if let Some(sentence) = body.over_limits() {
        return Err(EditError::Api(ApiError::unprocessable(sentence)));
    }
    let _one_at_a_time = EDITS.lock().unwrap_or_else(PoisonError::into_inner);
    let (profile, village, name) = {
        let station = st.station();
        let plan = station.plan();
        let v = find(plan, id)?;
        (plan.profile.name.clone(), v.id.clone(), v.name.clone())
    };
    let (clips, _) = st.library().list()?;
    let layout = &st.paths().layout;
    let file_name = write::village_file_name(&village);
    let text = (!body.is_empty()).then(|| write::village_file_text(&village, &name, body));
    let plan = match write::check_replaced(
        layout,
        &file_name,
        text.as_deref(),
        &profile,
        &catalog_of(&clips),
        &st.paths().scratch(),
    )? {
        Ok(plan) => plan,
        Err(problems) => {
            tracing::info!(village = %village, user, "playlist edit refused: {} problem(s)", problems.len());
            return Err(EditError::Problems { problems, text: text.unwrap_or_default(), file: file_name });
        }
    };
    let path = layout.schedules().join(&file_name);
    let detail = match &text {
        Some(t) => {
            write::write_atomic(&path, t)?;
            format!("village {village}: {} item(s), {} slot(s)", body.items.len(), body.slots.len())
        }
        None => {
            write::remove_durably(&path)?;
            format!("village {village}: own schedule file removed")
        }
    };
    st.station().set_plan(plan, &clips);
    tracing::info!(user, "playlist edited: {detail}");
    // The edit is done and on air: an audit entry the disk cannot take waits in memory.
    st.audit(Some(user), "edit-playlist", Some(&detail));
    Ok(schedule_view(st, id, Utc::now())?)
}

/// `?date=YYYY-MM-DD`.
#[derive(Debug, Deserialize)]
struct DayQuery {
    date: Option<String>,
}

/// `GET /api/villages/{id}/day`.
#[derive(Debug, Serialize)]
struct DayView {
    village: VillageId,
    name: String,
    /// The local date shown.
    date: NaiveDate,
    /// `weekday`, `weekend` or `holiday`.
    day_kind: crate::domain::DayKind,
    /// The quiet stretches of this date, local `HH:MM-HH:MM` (`24:00` ends at midnight), sorted.
    quiet_hours: Vec<String>,
    /// Every entry the scheduler plans for the village starting on this date, in time order.
    cues: Vec<DayCue>,
}

#[derive(Debug, Serialize)]
struct DayCue {
    /// Local `HH:MM:SS`.
    start: String,
    /// Local `HH:MM:SS` when its air time ends (the start for entries that do not play).
    end: String,
    /// The start as an instant.
    at: DateTime<Utc>,
    slot: String,
    /// The message or clip id as written; null for a holiday skip.
    item: Option<String>,
    clip: Option<ClipId>,
    title: Option<String>,
    language: Option<Language>,
    /// `play`, `deferred`, `skipped-quiet-hours`, `skipped-expired`, `no-variant`,
    /// `skipped-holiday` or `skipped-max-plays`.
    outcome: &'static str,
    /// For a deferred entry: the local `HH:MM:SS` it would have started at.
    deferred_from: Option<String>,
    /// The chime clip played before it, if any.
    chime: Option<ClipId>,
}

async fn get_day(
    State(st): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<DayQuery>,
) -> ApiResult<Response> {
    let view = blocking(move || day_view(&st, &id, q.date.as_deref(), Utc::now())).await?;
    Ok(Json(view).into_response())
}

/// How far ahead the day picture reaches (it plans every day from now to the one shown).
const DAYS_AHEAD: i64 = 400;

fn local_hms(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%H:%M:%S").to_string()
}

fn hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The picture of one local day of a village.
///
/// The scheduler plans the firings of that day and the day before (so that cues deferred past
/// last night's quiet hours show), keeping the entries that start on the day. It plans from the
/// running station's rotation ([`crate::station::Projection`]), so a `rotate` playlist shows the item the station
/// will play (and `xiangyin render` renders). Up to [`DAYS_AHEAD`] days ahead.
fn day_view(st: &AppState, id: &str, date: Option<&str>, now: DateTime<Utc>) -> ApiResult<DayView> {
    let (plan, projection) = {
        let s = st.station();
        (s.plan().clone(), s.projection())
    };
    let village = find(&plan, id)?;
    let tz = plan.station.timezone;
    let date = match date {
        None => now.with_timezone(&tz).date_naive(),
        Some(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| not_a_date(s))?,
    };
    let day_before = date.pred_opt().ok_or_else(|| {
        ApiError::bad_request((format!("{date} is too early a date."), format!("{date} 这个日期太早了。")))
    })?;
    let today = now.with_timezone(&tz).date_naive();
    if (date - today).num_days() > DAYS_AHEAD {
        return Err(ApiError::bad_request((
            format!("{date} is too far ahead: the day picture reaches {DAYS_AHEAD} days from today."),
            format!("{date} 太远了：日程图最多看到今天起 {DAYS_AHEAD} 天。"),
        )));
    }
    let holidays = |d: NaiveDate| plan.calendar.is_holiday(d);
    let kind = day_kind(date, &holidays);
    let mut ranges: Vec<(u16, u16)> =
        village.quiet_hours.windows(kind).iter().flat_map(|w| w.minute_ranges()).collect();
    ranges.sort_unstable();
    let quiet_hours = ranges.into_iter().map(|(a, b)| format!("{}-{}", hhmm(a), hhmm(b))).collect();

    let (clips, _) = st.library().list()?;
    let index = ClipIndex::new(&clips);
    let (start, end) = (local_instant(tz, date, 0), local_instant(tz, date, 1440));
    let planned = projection.plan(&plan, &index, local_instant(tz, day_before, 0), end, now, &holidays);
    let cues = planned
        .into_iter()
        .filter(|p| p.village == village.id && p.at >= start && p.at < end)
        .map(|p| {
            let cue = p.cue.as_ref();
            DayCue {
                start: local_hms(p.at, tz),
                end: local_hms(p.end(), tz),
                at: p.at,
                slot: p.slot.clone(),
                item: p.item.as_ref().map(ItemRef::to_string),
                clip: cue.map(|c| c.clip.clone()),
                title: cue.and_then(|c| index.get(&c.clip)).map(|c| c.title.clone()),
                language: cue.map(|c| c.language.clone()),
                outcome: p.outcome.name(),
                deferred_from: match &p.outcome {
                    scheduler::Outcome::Deferred { from } => Some(local_hms(*from, tz)),
                    _ => None,
                },
                chime: cue.and_then(|c| c.chime.clone()),
            }
        })
        .collect();
    Ok(DayView { village: village.id.clone(), name: village.name.clone(), date, day_kind: kind, quiet_hours, cues })
}

#[cfg(test)]
#[path = "tests_schedule.rs"]
mod tests_schedule;

#[cfg(test)]
#[path = "tests_day_picture.rs"]
mod tests_day_picture;

impl BodyKind for VillagePlaylist {
    const WHAT: &'static str = "a village playlist: JSON with mode, items, gap_s, repeat and slots";
    const WHAT_ZH: &'static str = "村播放单：含 mode、items、gap_s、repeat 和 slots 的 JSON";
}

/// 400 for a text that is not a `YYYY-MM-DD` date.
pub(crate) fn not_a_date(s: &str) -> ApiError {
    ApiError::bad_request((
        format!("`{s}` is not a date: write YYYY-MM-DD, e.g. 2026-12-01."),
        format!("`{s}` 不是日期：请写 YYYY-MM-DD，例如 2026-12-01。"),
    ))
}
