//! The village lines (`GET /api/lines`): each village's amplifier power and what its line's
//! capture tap last heard; a line test now (`POST /api/lines/{village}/test`) and forced power
//! for wiring checks (`PUT /api/lines/{village}/power`).

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::{ApiJson, ApiQuery, BodyKind};
use super::{ApiError, ApiResult, AppState, Caller};
use crate::domain::{Action, Heard, HeardNote, Text, VillageId};
use crate::station::LINE_TEST_SLOT;

/// How long `?wait=true` waits for a line test's verdict.
const WAIT: Duration = Duration::from_secs(25);

/// The routes of this file.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/lines", get(lines))
        .route("/api/lines/{village}/test", post(test))
        .route("/api/lines/{village}/power", put(power))
}

/// One village's line.
#[derive(Serialize)]
pub struct LineView {
    /// The village id.
    pub village: String,
    name: String,
    zone: String,
    /// `true` on, `false` off, absent when no relay powers its amplifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    power: Option<bool>,
    forced: bool,
    relay_failing: bool,
    monitored: bool,
    /// The last verdict of its capture tap.
    #[serde(skip_serializing_if = "Option::is_none")]
    heard: Option<Heard>,
    #[serde(skip_serializing_if = "Option::is_none")]
    heard_at: Option<DateTime<Utc>>,
    /// The daily line test's time, station time.
    #[serde(skip_serializing_if = "Option::is_none")]
    line_test: Option<String>,
    /// When its line last passed a line test.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_good_test: Option<DateTime<Utc>>,
    /// All of it in one sentence for the dashboard (absent when the village has no relay, no
    /// tap and no line test).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Text>,
    /// `ok`, `warn` (a weak line, a failing relay) or `bad` (not heard, distorted).
    pub state: &'static str,
}

/// The dashboard's sentence about one line.
fn summary(v: &LineView, tz: chrono_tz::Tz) -> Option<Text> {
    if v.power.is_none() && !v.monitored && v.line_test.is_none() {
        return None;
    }
    let when = |t: DateTime<Utc>| t.with_timezone(&tz).format("%m-%d %H:%M").to_string();
    let mut en = Vec::new();
    let mut zh = Vec::new();
    if let Some(on) = v.power {
        let forced = if v.forced { " (forced)" } else { "" };
        let forced_zh = if v.forced { "（手动）" } else { "" };
        if v.relay_failing {
            en.push("amplifier relay not answering".to_owned());
            zh.push("功放继电器无应答".to_owned());
        } else {
            en.push(format!("amplifier {}{forced}", if on { "on" } else { "off" }));
            zh.push(format!("功放{}{forced_zh}", if on { "开" } else { "关" }));
        }
    }
    match (v.monitored, v.heard, v.heard_at) {
        (true, Some(h), Some(at)) => {
            en.push(format!("heard back: {h} ({})", when(at)));
            zh.push(format!("回采：{}（{}）", h.zh(), when(at)));
        }
        (true, _, _) => {
            en.push("heard back: nothing played yet".to_owned());
            zh.push("回采：还没有播过".to_owned());
        }
        (false, ..) => {
            en.push("no tap to hear the line".to_owned());
            zh.push("没有回采".to_owned());
        }
    }
    if let Some(t) = &v.line_test {
        match v.last_good_test {
            Some(at) => {
                en.push(format!("daily test {t}, last passed {}", when(at)));
                zh.push(format!("每日测试 {t}，上次通过 {}", when(at)));
            }
            None => {
                en.push(format!("daily test {t}, not passed yet"));
                zh.push(format!("每日测试 {t}，还没有通过过"));
            }
        }
    }
    Some(Text::new(en.join(" · "), zh.join(" · ")))
}

/// Every village's line, in villages.yaml order.
pub fn views(st: &AppState) -> Vec<LineView> {
    let (villages, states, tz) = {
        let s = st.station();
        (s.plan().villages.clone(), s.line_states(), s.plan().station.timezone)
    };
    let good = st.db().last_good(LINE_TEST_SLOT).unwrap_or_default();
    villages
        .iter()
        .map(|v| {
            let s = states.get(&v.zone).cloned().unwrap_or_default();
            let mut view = LineView {
                village: v.id.to_string(),
                name: v.name.clone(),
                zone: v.zone.to_string(),
                power: s.power,
                forced: s.forced,
                relay_failing: s.relay_failing,
                monitored: s.monitored,
                heard: s.last.map(|l| l.0),
                heard_at: s.last.map(|l| l.1),
                line_test: v.line_test.map(|t| t.to_string()),
                last_good_test: good.iter().find(|(g, _)| *g == v.id).map(|(_, at)| *at),
                summary: None,
                state: "ok",
            };
            view.summary = summary(&view, tz);
            view.state = match view.heard {
                Some(Heard::No | Heard::Distorted) => "bad",
                _ if view.relay_failing || view.heard == Some(Heard::Weak) => "warn",
                _ => "ok",
            };
            view
        })
        .collect()
}

async fn lines(State(st): State<AppState>, _caller: Caller) -> ApiResult<Json<Vec<LineView>>> {
    Ok(Json(tokio::task::spawn_blocking(move || views(&st)).await.map_err(|e| ApiError::internal(e.to_string()))?))
}

fn village_of(id: &str) -> ApiResult<VillageId> {
    VillageId::new(id).map_err(|_| ApiError::not_found((format!("village `{id}`"), format!("村 `{id}`"))))
}

#[derive(Deserialize)]
struct WaitQuery {
    #[serde(default)]
    wait: bool,
}

#[derive(Serialize)]
struct TestResult {
    cue: String,
    village: String,
    at: DateTime<Utc>,
    /// What came back (with `?wait=true` on a monitored line, once the tone has ended; absent
    /// when no verdict came within 25 s).
    #[serde(skip_serializing_if = "Option::is_none")]
    heard: Option<HeardNote>,
}

async fn test(
    State(st): State<AppState>,
    caller: Caller,
    Path(village): Path<String>,
    ApiQuery(q): ApiQuery<WaitQuery>,
) -> ApiResult<Response> {
    caller.require(Action::Broadcast)?;
    let v = village_of(&village)?;
    let (cue, monitored) = {
        let mut s = st.station();
        let cue = s.line_test_now(&v, Utc::now()).map_err(|t| ApiError::new(StatusCode::NOT_FOUND, t))?;
        let monitored = s.line_states().get(&cue.zone).is_some_and(|l| l.monitored);
        (cue, monitored)
    };
    st.audit(Some(caller.name()), "line-test", Some(v.as_str()));
    let mut result = TestResult { cue: cue.id.to_string(), village: v.to_string(), at: cue.at, heard: None };
    // Only a monitored line can say what came back.
    if q.wait && monitored {
        let until = tokio::time::Instant::now() + WAIT;
        while tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let row = st.db().get(cue.id).ok().flatten();
            if let Some(note) = row.and_then(|r| r.heard) {
                result.heard = Some(note);
                break;
            }
        }
    }
    Ok((StatusCode::CREATED, Json(result)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PowerRequest {
    /// `true` on, `false` off, `null` back to the schedule.
    on: Option<bool>,
}

impl BodyKind for PowerRequest {
    const WHAT: &'static str = "amplifier power: JSON with on (true, false, or null for the schedule)";
    const WHAT_ZH: &'static str = "功放电源：含 on（true 开、false 关、null 交回节目表）的 JSON";
}

async fn power(
    State(st): State<AppState>,
    caller: Caller,
    Path(village): Path<String>,
    ApiJson(req): ApiJson<PowerRequest>,
) -> ApiResult<StatusCode> {
    caller.require(Action::Broadcast)?;
    let v = village_of(&village)?;
    // A village whose zone has no relay has no amplifier power to set: not found, with the reason.
    st.station().force_power(&v, req.on).map_err(|t| ApiError::new(StatusCode::NOT_FOUND, t))?;
    let what = match req.on {
        Some(true) => "on",
        Some(false) => "off",
        None => "auto",
    };
    st.audit(Some(caller.name()), "line-power", Some(&format!("{v} {what}")));
    Ok(StatusCode::NO_CONTENT)
}
