//! Broadcast now (`POST /api/broadcasts`, `DELETE /api/broadcasts/{id}`) and the as-run log
//! (`GET /api/log`).

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::error::{ApiJson, ApiQuery, BodyKind, said};
use super::{ApiError, ApiResult, AppState, Caller};
use crate::config::ItemRef;
use crate::domain::{Action, ClipId, MessageId, Priority, VillageId};
use crate::station::{BroadcastError, Targets};
use crate::store::{AsRunRow, Filter};

/// Most rows one request for the log may ask for.
const MAX_LOG_ROWS: usize = 100_000;

/// The routes of this file.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/broadcasts", post(start))
        .route("/api/broadcasts/{id}", delete(stop))
        .route("/api/log", get(log))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    targets: Targets,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    clip: Option<String>,
    #[serde(default = "manual")]
    priority: String,
}

impl BodyKind for Request {
    const WHAT: &'static str = "a broadcast: JSON with targets, one message or clip, and priority";
    const WHAT_ZH: &'static str = "广播：含 targets、一个 message 或 clip、priority 的 JSON";
}

fn manual() -> String {
    "manual".into()
}

async fn start(State(st): State<AppState>, caller: Caller, ApiJson(req): ApiJson<Request>) -> ApiResult<Response> {
    caller.require(Action::Broadcast)?;
    let item = match (req.message.as_deref().filter(|s| !s.is_empty()), req.clip.as_deref().filter(|s| !s.is_empty())) {
        (Some(m), None) => ItemRef::Message(MessageId::new(m).map_err(|e| ApiError::bad_request(said(&e)))?),
        (None, Some(c)) => ItemRef::Clip(ClipId::new(c).map_err(|e| ApiError::bad_request(said(&e)))?),
        _ => {
            return Err(ApiError::bad_request((
                "Choose one message or one clip to broadcast.",
                "请选一条消息或一段录音来广播（只能选一个）。",
            )));
        }
    };
    let priority = match req.priority.as_str() {
        "manual" => Priority::Manual,
        "emergency" => Priority::Emergency,
        other => {
            return Err(ApiError::bad_request((
                format!("Priority `{other}` is not manual or emergency."),
                format!("优先级 `{other}` 不是 manual（普通）或 emergency（紧急）。"),
            )));
        }
    };
    let result = st.station().broadcast(&req.targets, &item, priority, Utc::now());
    match result {
        Ok(b) => {
            let villages: Vec<&str> = b.cues.iter().map(|c| c.village.as_str()).collect();
            st.audit(
                Some(caller.name()),
                "broadcast",
                Some(&format!("{} {} {item} → {}", b.id, priority.name(), villages.join(","))),
            );
            Ok((StatusCode::CREATED, Json(b)).into_response())
        }
        Err(BroadcastError::Audio(clip, e)) => Err(ApiError::internal(format!("clip {clip}: {e}"))),
        // Well formed, but the library has nothing the targets can hear: the station's state.
        Err(e @ BroadcastError::NothingToPlay(_)) => Err(ApiError::conflict(said(&e))),
        Err(e) => Err(ApiError::bad_request(said(&e))),
    }
}

async fn stop(State(st): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    caller.require(Action::Broadcast)?;
    if !st.station().stop_broadcast(&id) {
        return Err(ApiError::not_found((format!("broadcast `{id}` playing now"), format!("正在播的广播 `{id}`"))));
    }
    st.audit(Some(caller.name()), "stop-broadcast", Some(&id));
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct LogQuery {
    village: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    limit: Option<usize>,
    format: Option<String>,
}

#[derive(serde::Serialize)]
struct LogRow {
    cue: String,
    village: String,
    zone: String,
    clip: Option<String>,
    language: Option<String>,
    priority: Option<&'static str>,
    slot: Option<String>,
    scheduled: DateTime<Utc>,
    started: Option<DateTime<Utc>>,
    ended: Option<DateTime<Utc>>,
    late_ms: Option<u64>,
    outcome: &'static str,
    detail: Option<String>,
    /// The detail in Chinese (rows written before it was kept have none).
    detail_zh: Option<String>,
    /// What the line's capture tap heard (absent when not monitored).
    #[serde(skip_serializing_if = "Option::is_none")]
    heard: Option<crate::domain::HeardNote>,
}

impl From<AsRunRow> for LogRow {
    fn from(r: AsRunRow) -> Self {
        LogRow {
            cue: r.cue.to_string(),
            outcome: r.state(),
            village: r.village.to_string(),
            zone: r.zone.to_string(),
            clip: r.clip.map(|c| c.to_string()),
            language: r.language.map(|l| l.to_string()),
            priority: r.priority.map(Priority::name),
            slot: r.slot,
            scheduled: r.scheduled,
            started: r.started,
            ended: r.ended,
            late_ms: r.late_by.map(|d| d.as_millis() as u64),
            detail: r.detail,
            detail_zh: r.detail_zh,
            heard: r.heard,
        }
    }
}

/// The as-run log, newest filters applied, oldest first; `format=csv` for a spreadsheet.
async fn log(State(st): State<AppState>, _caller: Caller, ApiQuery(q): ApiQuery<LogQuery>) -> ApiResult<Response> {
    let village = match q.village.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => Some(VillageId::new(v).map_err(|e| ApiError::bad_request(said(&e)))?),
        None => None,
    };
    if q.limit.is_some_and(|l| l > MAX_LOG_ROWS) {
        return Err(ApiError::bad_request((
            format!("A page of the log has at most {MAX_LOG_ROWS} rows."),
            format!("播出记录一次最多取 {MAX_LOG_ROWS} 行。"),
        )));
    }
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            let other: String = other.chars().take(20).collect();
            return Err(ApiError::bad_request((
                format!("Format `{other}` is not json or csv."),
                format!("格式 `{other}` 不是 json 或 csv。"),
            )));
        }
    };
    let filter = Filter { village, since: q.since, until: q.until, limit: Some(q.limit.unwrap_or(5000)) };
    let rows = st.db().query(&filter)?;
    if csv {
        let mut buf = Vec::new();
        let tz = st.station().plan().station.timezone;
        let titles = st.library().list()?.0.into_iter().map(|c| (c.id.to_string(), c.title)).collect();
        crate::store::write_csv(&rows, tz, &titles, &mut buf)?;
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"as-run.csv\""),
            ],
            buf,
        )
            .into_response());
    }
    Ok(Json(rows.into_iter().map(LogRow::from).collect::<Vec<_>>()).into_response())
}

#[cfg(test)]
#[path = "tests_broadcast.rs"]
mod tests;
