//! The clip library in the JSON API (the "Clips" section of `docs/web-api.md`).
//!
//! - `GET /api/clips?language=&kind=&review=&q=` and `GET /api/clips/{id}` (anyone logged in): the
//!   sidecar plus `used_by`, the slots of the running plan that play the clip (directly, as a
//!   variant of a message they play, or as their chime).
//! - `POST /api/clips` (upload): multipart with a `file` field streamed chunk by chunk into the
//!   staging folder (never whole in memory) and counted against `--max-upload-mb` (413 past it,
//!   the partial file deleted), then imported on a blocking thread as `web:<name>` with the
//!   uploaded file name; the staged file is removed whatever happens. A refused file is 400, 415
//!   or 422 with the refusal's sentence and changes nothing. 201 with the clip, or 200 with
//!   `"existing": true` when the same bytes are already in the library. The running station
//!   sees a new clip at once (its clip index is switched; the file watcher's reload follows).
//! - `PATCH /api/clips/{id}` and `DELETE /api/clips/{id}`: uploaders their own clips (uploader
//!   `web:<their name>`), reviewers (operator, admin) any. Delete answers 409 naming what still
//!   uses the clip: playlists and slots of the running plan, the station chime, cues waiting or
//!   on air. Changing the message of a clip that a playlist plays through that message is 409 too.
//! - `GET /api/clips/{id}/original` (attachment, the uploaded name in RFC 5987 `filename*`) and
//!   `GET /api/clips/{id}/audio` (the canonical WAV, Range requests answered 206).
//! - `POST /api/clips/{id}/review {decision, reason?}` (review): approve, or reject with a reason.
//!
//! Ids in paths must be clip ids (16 hex digits) before any path is built, so no request reaches
//! outside `audio-library/`. Every change is written to the audit trail.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path as FsPath, PathBuf};

use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tower_http::services::ServeFile;

use super::error::{ApiJson, ApiQuery, BodyKind, not_null, said, sentence_zh};
use super::{ApiError, ApiResult, AppState, Caller};
use crate::config::{ItemRef, Plan};
use crate::domain::{Action, ClipId, ClipKind, MessageId, ReviewState, Text};
use crate::library::edit::{ClipEdit, EditError};
use crate::library::{ClipMeta, ImportError, ImportRequest, Refusal};

/// Room for the multipart framing and the text fields on top of the file itself, so the body
/// limit never cuts an upload that our own count of the file's bytes accepts.
pub const MULTIPART_MARGIN: u64 = 1024 * 1024;
/// Longest text field of an upload (title, transcript...).
const MAX_TEXT: usize = 64 * 1024;
/// Longest reason for a rejection, in characters.
const MAX_REASON: usize = 500;

mod upload;
use upload::{imports, upload};

/// The clip routes (see the module documentation).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/clips", get(list).post(upload))
        .route("/api/clips/{id}", get(get_one).patch(patch).delete(remove))
        .route("/api/clips/{id}/original", get(original))
        .route("/api/clips/{id}/audio", get(audio))
        .route("/api/clips/{id}/review", post(review))
        .route("/api/imports", get(imports))
}

// ---------------------------------------------------------------------------------------------
// Reading

#[derive(Deserialize)]
struct ListQuery {
    language: Option<String>,
    kind: Option<String>,
    review: Option<String>,
    q: Option<String>,
}

/// `GET /api/clips`: every clip, sorted by title, filtered.
async fn list(
    State(st): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<Value>>> {
    // Filters are exact values, or empty for "all" (the pages' filter form sends empty ones).
    let given = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
    let kind = given(&q.kind).map(|k| k.parse::<ClipKind>().map_err(|e| kind_error(&k, &e))).transpose()?;
    let review = given(&q.review);
    if let Some(r) = &review
        && !["pending", "approved", "rejected"].contains(&r.as_str())
    {
        return Err(ApiError::bad_request((
            format!("Review `{r}` is not pending, approved or rejected."),
            format!("审核状态 `{r}` 不是 pending（待审）、approved（已批准）或 rejected（已退回）。"),
        )));
    }
    let language = given(&q.language);
    if let Some(l) = &language
        && !st.station().plan().station.languages.iter().any(|x| x.as_str() == l)
    {
        let l: String = l.chars().take(40).collect();
        return Err(ApiError::bad_request((
            format!("`{l}` is not one of the station's languages."),
            format!("`{l}` 不是广播站的语言。"),
        )));
    }
    if q.q.as_ref().is_some_and(|t| t.chars().count() > 200) {
        return Err(ApiError::bad_request(("A search text has at most 200 characters.", "搜索的文字最多 200 个字。")));
    }
    let text = given(&q.q).map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty());
    let (clips, broken) = st.library().list()?;
    for b in &broken {
        tracing::warn!("clip folder {} is not listed: {}", b.dir.display(), b.why);
    }
    let keep = |c: &ClipMeta| {
        language.as_deref().is_none_or(|l| c.language.as_str() == l)
            && kind.is_none_or(|k| c.kind == k)
            && review.as_deref().is_none_or(|r| c.review.name() == r)
            && text.as_deref().is_none_or(|t| {
                [Some(c.title.as_str()), c.transcript.as_deref(), c.message.as_ref().map(MessageId::as_str)]
                    .into_iter()
                    .flatten()
                    .chain([c.id.as_str()])
                    .any(|s| s.to_lowercase().contains(t))
            })
    };
    let station = st.station();
    let plan = station.plan();
    Ok(Json(clips.iter().filter(|c| keep(c)).map(|c| clip_json(c, &usage_of(plan, c).slots, false)).collect()))
}

/// `GET /api/clips/{id}`.
async fn get_one(State(st): State<AppState>, _caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let meta = find(&st, &clip_id(&id)?)?;
    Ok(Json(view(&st, &meta, false)))
}

/// `GET /api/clips/{id}/original`: the bytes as uploaded, as an attachment under the uploaded name.
async fn original(
    State(st): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let id = clip_id(&id)?;
    let meta = find(&st, &id)?;
    let file = &meta.original.file;
    if FsPath::new(file).file_name().and_then(|n| n.to_str()) != Some(file.as_str()) || file == ".." {
        tracing::warn!("clip {id}: its sidecar names the original `{file}`, which is not a file in the clip folder");
        return Err(ApiError::not_found((
            format!("original file kept for clip {id}"),
            format!("录音 {id} 保存的原始文件"),
        )));
    }
    let mut res = serve(st.library().clip_dir(&id).join(file), req, || {
        Text::new(format!("original file kept for clip {id}"), format!("录音 {id} 保存的原始文件"))
    })
    .await?;
    // Whatever the file was called when it was uploaded (page.html, x.svg), it is served as the
    // audio it was accepted as, or as plain bytes, never as something a browser would run.
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(audio_type_of(file)));
    h.insert(header::CONTENT_DISPOSITION, attachment(&meta.original.uploaded_name));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox"));
    Ok(res)
}

/// The media type of an original by its extension: an audio type for the formats the library
/// imports, `application/octet-stream` for anything else.
fn audio_type_of(file: &str) -> &'static str {
    let ext = FsPath::new(file).extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "wav" | "wave" => "audio/wav",
        "mp3" => "audio/mpeg",
        "flac" => "audio/flac",
        "ogg" | "oga" => "audio/ogg",
        "opus" => "audio/opus",
        "m4a" | "mp4" | "aac" => "audio/mp4",
        _ => "application/octet-stream",
    }
}

/// `GET /api/clips/{id}/audio`: the canonical WAV, with Range support.
async fn audio(
    State(st): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let id = clip_id(&id)?;
    find(&st, &id)?;
    let mut res = serve(st.library().canonical_path(&id), req, || {
        Text::new(format!("playout copy of clip {id}"), format!("录音 {id} 的播出副本"))
    })
    .await?;
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    Ok(res)
}

/// Serves one file of a clip folder (Range, conditional requests, HEAD) with `ServeFile`.
async fn serve(path: PathBuf, req: Request, what: impl Fn() -> Text) -> ApiResult<Response> {
    let res = ServeFile::new(&path)
        .try_call(req)
        .await
        .map_err(|e| ApiError::internal(format!("serving {}: {e}", path.display())))?;
    if res.status() == StatusCode::NOT_FOUND {
        return Err(ApiError::not_found(what()));
    }
    let mut res = res.map(Body::new);
    res.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(res)
}

/// `attachment; filename="ascii fallback"; filename*=UTF-8''percent-encoded` (RFC 6266 / 5987).
fn attachment(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' { c } else { '_' })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

// ---------------------------------------------------------------------------------------------
// Changing

/// A JSON field that may be absent (`None`), null (`Some(None)`) or set.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Patch {
    #[serde(default, deserialize_with = "not_null")]
    title: Option<String>,
    #[serde(default, deserialize_with = "present")]
    transcript: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    message: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    expires: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::whole::opt_opt_u32_whole")]
    max_plays_per_day: Option<Option<u32>>,
}

/// `PATCH /api/clips/{id}`.
async fn patch(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(p): ApiJson<Patch>,
) -> ApiResult<Json<Value>> {
    let id = clip_id(&id)?;
    let meta = find(&st, &id)?;
    may_change(&caller, &meta)?;
    let edit = ClipEdit {
        title: p.title,
        transcript: p.transcript,
        message: p.message,
        expires: p.expires,
        max_plays_per_day: p.max_plays_per_day,
    };
    let mut after = meta.clone();
    edit.apply(&mut after).map_err(edit_error)?;
    if after.message != meta.message
        && let Some(old) = &meta.message
    {
        let u = usage(st.station().plan(), None, Some(old));
        if let Some(uses) = u.describe(0) {
            let name = st.station().plan().station.language_name(&meta.language);
            return Err(ApiError::conflict((
                format!(
                    "Clip {id} is the {} recording of message {old}, which {}; keep its message or change those first.",
                    name.en, uses.en
                ),
                format!(
                    "录音 {id} 是消息 {old} 的{}版本，而这条消息{}；请保留它的消息名，或先改那些地方。",
                    name.zh, uses.zh
                ),
            )));
        }
    }
    let updated = st.library().edit(&id, &edit).map_err(edit_error)?.ok_or_else(|| not_found_clip(&id))?;
    let changed: Vec<&str> = [
        ("title", meta.title != updated.title),
        ("transcript", meta.transcript != updated.transcript),
        ("message", meta.message != updated.message),
        ("expires", meta.expires != updated.expires),
        ("max_plays_per_day", meta.max_plays_per_day != updated.max_plays_per_day),
    ]
    .into_iter()
    .filter_map(|(f, c)| c.then_some(f))
    .collect();
    if !changed.is_empty() {
        audit(&st, &caller, "clip-edit", &format!("{id}: {}", changed.join(", ")));
        refresh_index(&st);
    }
    Ok(Json(view(&st, &updated, false)))
}

/// `DELETE /api/clips/{id}`.
async fn remove(State(st): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id = clip_id(&id)?;
    let meta = find(&st, &id)?;
    may_change(&caller, &meta)?;
    let cues = waiting_cues(&st, &id)?;
    let u = usage(st.station().plan(), Some(&id), meta.message.as_ref());
    if let Some(uses) = u.describe(cues) {
        let name = st.station().plan().station.language_name(&meta.language);
        let (through, through_zh) = match (&meta.message, u.through_message) {
            (Some(m), true) => {
                (format!(", the {} recording of message {m},", name.en), format!("（消息 {m} 的{}版本）", name.zh))
            }
            _ => (String::new(), String::new()),
        };
        return Err(ApiError::conflict((
            format!("Clip {id}{through} {}; take it out of those first.", uses.en),
            format!("录音 {id}{through_zh}{}；请先把它从那里拿掉。", uses.zh),
        )));
    }
    if !st.library().remove(&id)? {
        return Err(not_found_clip(&id));
    }
    audit(&st, &caller, "clip-delete", &format!("{id} {} ({})", meta.title, meta.original.uploaded_name));
    refresh_index(&st);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    decision: String,
    #[serde(default, deserialize_with = "not_null")]
    reason: Option<String>,
}

impl BodyKind for ReviewBody {
    const WHAT: &'static str = "a review: JSON with decision (approve or reject) and reason";
    const WHAT_ZH: &'static str = "审核：含 decision（approve 或 reject）和 reason 的 JSON";
}

impl BodyKind for Patch {
    const WHAT: &'static str = "a clip change: JSON with title, transcript, message, expires or max_plays_per_day";
    const WHAT_ZH: &'static str = "录音修改：含 title、transcript、message、expires 或 max_plays_per_day 的 JSON";
}

/// `POST /api/clips/{id}/review`.
async fn review(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ReviewBody>,
) -> ApiResult<Json<Value>> {
    caller.require(Action::Review)?;
    let id = clip_id(&id)?;
    let raw = b.reason.as_deref().unwrap_or_default();
    if raw.chars().count() > MAX_REASON {
        return Err(ApiError::bad_request((
            format!("A reason has at most {MAX_REASON} characters."),
            format!("理由最多 {MAX_REASON} 个字。"),
        )));
    }
    let reason = raw.trim();
    let state = match b.decision.as_str() {
        "approve" => ReviewState::Approved,
        "reject" if reason.is_empty() => {
            return Err(ApiError::bad_request((
                "Say why the clip is rejected: the uploader reads the reason.",
                "请写明退回的理由：上传的人会看到。",
            )));
        }
        "reject" if raw.chars().any(char::is_control) => {
            return Err(ApiError::bad_request((
                "A reason is one line of text, without control characters.",
                "理由只能是一行文字，不能有控制字符。",
            )));
        }
        "reject" => ReviewState::Rejected { reason: reason.to_owned() },
        other => {
            let other: String = other.chars().take(40).collect();
            return Err(ApiError::bad_request((
                format!("Decision `{other}` is not approve or reject."),
                format!("审核结果 `{other}` 不是 approve（批准）或 reject（退回）。"),
            )));
        }
    };
    let meta = st.library().review(&id, state).map_err(edit_error)?.ok_or_else(|| not_found_clip(&id))?;
    let detail = match &meta.review {
        ReviewState::Rejected { reason } => format!("{id} rejected: {reason}"),
        other => format!("{id} {}", other.name()),
    };
    audit(&st, &caller, "clip-review", &detail);
    refresh_index(&st);
    Ok(Json(view(&st, &meta, false)))
}

/// Reviewers change any clip; others only the clips they uploaded from the web.
fn may_change(caller: &Caller, meta: &ClipMeta) -> ApiResult<()> {
    if caller.role().allows(Action::Review) {
        return Ok(());
    }
    caller.require(Action::EditOwnClips)?;
    if meta.uploader == format!("web:{}", caller.name()) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            (
                format!(
                    "You may change only the clips you uploaded; clip {} was uploaded by {}.",
                    meta.id, meta.uploader
                ),
                format!("你只能改自己上传的录音；录音 {} 是 {} 上传的。", meta.id, meta.uploader),
            ),
        ))
    }
}

/// 404 for a clip.
fn not_found_clip(id: &ClipId) -> ApiError {
    ApiError::not_found((format!("clip {id}"), format!("录音 {id}")))
}

/// 400 for a clip kind that is not one.
fn kind_error(k: &str, e: &str) -> ApiError {
    ApiError::bad_request((
        sentence(&e),
        format!(
            "`{k}` 不是录音类型（只能是 notice 通知、song 歌曲、clapper-talk 快板、chime 提示音、other 其他之一）。"
        ),
    ))
}

fn edit_error(e: EditError) -> ApiError {
    match e {
        EditError::Invalid(why) => ApiError::bad_request(Text::new(sentence(&why.en), sentence_zh(&why.zh))),
        EditError::Io(e) => ApiError::internal(e),
    }
}

// ---------------------------------------------------------------------------------------------
// Who uses a clip

/// What in the running plan uses a clip.
#[derive(Debug, Default)]
struct Usage {
    /// Playlists with the clip (or its message) among their items.
    playlists: Vec<String>,
    /// Slots that play one of those playlists, or the clip as their chime, in plan order.
    slots: Vec<String>,
    /// The station chime is the clip (or its message).
    station_chime: bool,
    /// Some use is through the clip's message rather than its id.
    through_message: bool,
}

impl Usage {
    /// "is still used by playlist a, slots b and c and the station chime", or `None` when unused.
    fn describe(&self, cues: usize) -> Option<Text> {
        let named = |one: &str, names: &[String]| match names {
            [] => None,
            [n] => Some(format!("{one} {n}")),
            ns => Some(format!("{one}s {}", ns.join(", "))),
        };
        let named_zh = |one: &str, names: &[String]| (!names.is_empty()).then(|| format!("{one} {}", names.join("、")));
        let parts: Vec<String> = [
            named("playlist", &self.playlists),
            named("slot", &self.slots),
            self.station_chime.then(|| "the station chime".to_owned()),
            (cues > 0).then(|| format!("{cues} cue{} waiting or on air", if cues == 1 { "" } else { "s" })),
        ]
        .into_iter()
        .flatten()
        .collect();
        let parts_zh: Vec<String> = [
            named_zh("播放单", &self.playlists),
            named_zh("播放时间", &self.slots),
            self.station_chime.then(|| "广播站的提示音".to_owned()),
            (cues > 0).then(|| format!("{cues} 个等待中或正在播的节目")),
        ]
        .into_iter()
        .flatten()
        .collect();
        let en = match parts.as_slice() {
            [] => return None,
            [one] => format!("is still used by {one}"),
            [rest @ .., last] => format!("is still used by {} and {last}", rest.join("; ")),
        };
        Some(Text::new(en, format!("还在被{}用着", parts_zh.join("、"))))
    }
}

/// What in `plan` names clip `id` or message `message`.
fn usage(plan: &Plan, id: Option<&ClipId>, message: Option<&MessageId>) -> Usage {
    let mut u = Usage::default();
    let mut refers = |item: &ItemRef| match item {
        ItemRef::Clip(c) => Some(c) == id,
        ItemRef::Message(m) => {
            let hit = Some(m) == message;
            u.through_message |= hit;
            hit
        }
    };
    let playlists: Vec<_> =
        plan.playlists.values().filter(|p| p.items.iter().any(&mut refers)).map(|p| p.id.clone()).collect();
    let mut slots: Vec<String> = Vec::new();
    for s in &plan.slots {
        if (playlists.contains(&s.playlist) || s.chime.as_ref().is_some_and(&mut refers)) && !slots.contains(&s.name) {
            slots.push(s.name.clone());
        }
    }
    let station_chime = plan.station.chime.as_ref().is_some_and(&mut refers);
    u.playlists = playlists.iter().map(ToString::to_string).collect();
    u.slots = slots;
    u.station_chime = station_chime;
    u
}

fn usage_of(plan: &Plan, clip: &ClipMeta) -> Usage {
    usage(plan, Some(&clip.id), clip.message.as_ref())
}

/// Cues of the clip waiting in the as-run log or on air, and cues whose chime it is.
fn waiting_cues(st: &AppState, id: &ClipId) -> ApiResult<usize> {
    let horizon = Utc::now() + chrono::Duration::days(366);
    let rows = st.db().unfinished(horizon)?;
    let logged = rows.iter().filter(|r| r.clip.as_ref() == Some(id)).count();
    let chimes = st
        .station()
        .status()
        .iter()
        .flat_map(|v| v.now_playing.iter().chain(v.next.iter()))
        .filter(|c| c.chime.as_ref() == Some(id) && c.clip != *id)
        .count();
    Ok(logged + chimes)
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// A path segment as a clip id; anything else is 400 before any path is built.
fn clip_id(s: &str) -> ApiResult<ClipId> {
    ClipId::new(s).map_err(|_| {
        let shown: String = s.chars().take(40).collect();
        ApiError::bad_request((
            format!("`{shown}` is not a clip id (16 lower-case hex digits)."),
            format!("`{shown}` 不是录音编号（16 位小写十六进制数字）。"),
        ))
    })
}

fn find(st: &AppState, id: &ClipId) -> ApiResult<ClipMeta> {
    st.library().get(id)?.ok_or_else(|| not_found_clip(id))
}

/// The clip JSON with `used_by` computed from the running plan.
fn view(st: &AppState, meta: &ClipMeta, existing: bool) -> Value {
    let u = usage_of(st.station().plan(), meta);
    clip_json(meta, &u.slots, existing)
}

/// The sidecar as JSON plus `used_by` (and `existing: true` for a repeated upload).
fn clip_json(meta: &ClipMeta, used_by: &[String], existing: bool) -> Value {
    let mut v = serde_json::to_value(meta).unwrap_or_default();
    v["used_by"] = serde_json::json!(used_by);
    if existing {
        v["existing"] = Value::Bool(true);
    }
    v
}

/// Lets the running station see the library as it is now (a new clip can be broadcast at once;
/// a review decision counts for the next firings). The file watcher's reload follows anyway.
fn refresh_index(st: &AppState) {
    match st.library().list() {
        Ok((clips, _)) => {
            let mut station = st.station();
            let plan = station.plan().clone();
            station.set_plan(plan, &clips);
        }
        Err(e) => {
            tracing::error!("the clip library could not be re-read after a change ({e}); the next reload will show it")
        }
    }
}

/// Writes the audit trail; the change is done, so an entry the disk cannot take waits in memory.
fn audit(st: &AppState, caller: &Caller, action: &str, detail: &str) {
    st.audit(Some(caller.name()), action, Some(detail));
}

/// `s` as a sentence: capital first letter, one full stop.
fn sentence(s: &impl ToString) -> String {
    let s = s.to_string();
    let s = s.trim().trim_end_matches('.');
    let mut c = s.chars();
    match c.next() {
        Some(f) => format!("{}{}.", f.to_uppercase(), c.as_str()),
        None => String::new(),
    }
}

#[cfg(test)]
#[path = "tests_clips.rs"]
mod tests;
