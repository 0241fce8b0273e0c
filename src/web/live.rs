//! Live views: `GET /api/events` (server-sent events: the villages' state whenever it changes)
//! and `GET /api/listen/{zone}` (what a zone's channel plays now, as an endless WAV stream).

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::Stream;

use super::{ApiError, ApiResult, AppState, Caller};
use crate::domain::ZoneId;

/// How often the state is looked at for changes.
const POLL: Duration = Duration::from_millis(500);

/// The routes of this file.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/events", get(events)).route("/api/listen/{zone}", get(listen))
}

/// How often a `tick` tells the page the station is alive (the page calls the station lost when
/// it hears nothing for three of these).
const TICK: Duration = Duration::from_secs(2);

/// What the event stream last sent.
struct Sent {
    villages: String,
    health: String,
    tick: std::time::Instant,
}

/// Event `villages` with the JSON of `GET /api/villages` and event `health` with the station's
/// problems (`{status, problems}` as `/healthz` has them), each first at once and then whenever
/// it changes, and a `tick` (the station's time) at least every [`TICK`].
async fn events(State(st): State<AppState>, _caller: Caller) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let start = Sent { villages: String::new(), health: String::new(), tick: std::time::Instant::now() };
    let stream = futures_util::stream::unfold((st, start, 0u8), |(st, mut sent, first)| async move {
        loop {
            // The first call sends villages, the second health, at once; then one change at a time.
            if first >= 2 {
                tokio::time::sleep(POLL).await;
            }
            let (villages, health) = {
                let s = st.station();
                let problems = s.health().problems();
                let status = if problems.is_empty() { "ok" } else { "degraded" };
                let health = serde_json::json!({"status": status, "problems": problems}).to_string();
                (serde_json::to_string(&s.status()).unwrap_or_else(|_| "[]".into()), health)
            };
            if villages != sent.villages {
                sent.villages.clone_from(&villages);
                sent.tick = std::time::Instant::now();
                return Some((Ok(Event::default().event("villages").data(villages)), (st, sent, first + 1)));
            }
            if health != sent.health {
                sent.health.clone_from(&health);
                sent.tick = std::time::Instant::now();
                return Some((Ok(Event::default().event("health").data(health)), (st, sent, first + 1)));
            }
            if sent.tick.elapsed() >= TICK {
                sent.tick = std::time::Instant::now();
                let now = chrono::Utc::now().to_rfc3339();
                return Some((Ok(Event::default().event("tick").data(now)), (st, sent, first.max(2))));
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// A WAV header for an endless 16-bit mono stream at `rate` (sizes at their maximum, which
/// browsers and players read as "until the stream ends").
fn wav_header(rate: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(44);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&u32::MAX.to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // PCM
    h.extend_from_slice(&1u16.to_le_bytes()); // mono
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&(rate * 2).to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&16u16.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&(u32::MAX - 36).to_le_bytes());
    h
}

/// Listen in: the first channel wired to `zone`, as the output plays it (after gain, trim and
/// limiter), 16-bit mono at the output's rate, until the listener goes away.
async fn listen(State(st): State<AppState>, _caller: Caller, Path(zone): Path<String>) -> ApiResult<Response> {
    let zone_id =
        ZoneId::new(&zone).map_err(|_| ApiError::not_found((format!("zone `{zone}`"), format!("分区 `{zone}`"))))?;
    let (output, channel, rate) = {
        let s = st.station();
        let profile = &s.plan().profile;
        let c = profile.zones.get(&zone_id).and_then(|c| c.first()).ok_or_else(|| {
            ApiError::not_found((
                format!("zone `{zone}` in the hardware profile"),
                format!("硬件配置里的分区 `{zone}`"),
            ))
        })?;
        (c.output, usize::from(c.channel), profile.outputs[c.output].rate)
    };
    let rx = st.taps().listen(output, channel);
    let header = futures_util::stream::once(async move { Ok::<Bytes, Infallible>(Bytes::from(wav_header(rate))) });
    let audio = futures_util::stream::unfold(rx, |mut rx| async move {
        let block = rx.recv().await?;
        let bytes: Vec<u8> = block.iter().flat_map(|s| s.to_le_bytes()).collect();
        Some((Ok::<Bytes, Infallible>(Bytes::from(bytes)), rx))
    });
    use futures_util::StreamExt;
    let body = Body::from_stream(header.chain(audio));
    Ok(([(header::CONTENT_TYPE, "audio/wav"), (header::CACHE_CONTROL, "no-store")], body).into_response())
}
