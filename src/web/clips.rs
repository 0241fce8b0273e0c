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

use super::error::{ApiJson, ApiQuery, BodyKind, not_null};
use super::{ApiError, ApiResult, AppState, Caller};
use crate::config::{ItemRef, Plan};
use crate::domain::{Action, ClipId, ClipKind, MessageId, ReviewState};
use crate::library::edit::{ClipEdit, EditError};
use crate::library::{ClipMeta, ImportError, ImportRequest, Refusal};

/// Room for the multipart framing and the text fields on top of the file itself, so the body
/// limit never cuts an upload that our own count of the file's bytes accepts.
pub const MULTIPART_MARGIN: u64 = 1024 * 1024;
/// Longest text field of an upload (title, transcript...).
const MAX_TEXT: usize = 64 * 1024;
/// Longest reason for a rejection, in characters.
const MAX_REASON: usize = 500;

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
    let kind =
        given(&q.kind).map(|k| k.parse::<ClipKind>().map_err(|e| ApiError::bad_request(sentence(&e)))).transpose()?;
    let review = given(&q.review);
    if let Some(r) = &review
        && !["pending", "approved", "rejected"].contains(&r.as_str())
    {
        return Err(ApiError::bad_request(format!("Review `{r}` is not pending, approved or rejected.")));
    }
    let language = given(&q.language);
    if let Some(l) = &language
        && !st.station().plan().station.languages.iter().any(|x| x.as_str() == l)
    {
        let l: String = l.chars().take(40).collect();
        return Err(ApiError::bad_request(format!("`{l}` is not one of the station's languages.")));
    }
    if q.q.as_ref().is_some_and(|t| t.chars().count() > 200) {
        return Err(ApiError::bad_request("A search text has at most 200 characters."));
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
        return Err(ApiError::not_found(format!("original file kept for clip {id}")));
    }
    let mut res =
        serve(st.library().clip_dir(&id).join(file), req, || format!("original file kept for clip {id}")).await?;
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
    let mut res = serve(st.library().canonical_path(&id), req, || format!("playout copy of clip {id}")).await?;
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    Ok(res)
}

/// Serves one file of a clip folder (Range, conditional requests, HEAD) with `ServeFile`.
async fn serve(path: PathBuf, req: Request, what: impl Fn() -> String) -> ApiResult<Response> {
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
// Upload

/// The upload body: axum's `Multipart` with the default body limit set, for this request, to the
/// station's upload limit plus [`MULTIPART_MARGIN`].
struct Upload(Multipart);

impl FromRequest<AppState> for Upload {
    type Rejection = ApiError;

    async fn from_request(mut req: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = state.config().max_upload.saturating_add(MULTIPART_MARGIN);
        DefaultBodyLimit::max(usize::try_from(limit).unwrap_or(usize::MAX)).apply(&mut req);
        Multipart::from_request(req, state).await.map(Upload).map_err(|e| {
            ApiError::bad_request(format!(
                "Send the recording as multipart/form-data with a `file` field ({}).",
                e.body_text().trim_end_matches('.')
            ))
        })
    }
}

/// A file in the staging folder, removed when dropped.
struct Staged(PathBuf);

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The text fields of an upload, as sent.
#[derive(Default)]
struct Form {
    title: Option<String>,
    language: Option<String>,
    kind: Option<String>,
    message: Option<String>,
    transcript: Option<String>,
    expires: Option<String>,
    max_plays_per_day: Option<String>,
}

impl Form {
    fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "title" => &mut self.title,
            "language" => &mut self.language,
            "kind" => &mut self.kind,
            "message" => &mut self.message,
            "transcript" => &mut self.transcript,
            "expires" => &mut self.expires,
            "max_plays_per_day" => &mut self.max_plays_per_day,
            _ => return None,
        })
    }
}

/// `POST /api/clips` (see the module documentation).
async fn upload(State(st): State<AppState>, caller: Caller, Upload(mut parts): Upload) -> ApiResult<Response> {
    caller.require(Action::Upload)?;
    let max = st.config().max_upload;
    let library = st.library();
    let mut form = Form::default();
    let mut file: Option<(Staged, String, u64)> = None;
    while let Some(mut field) = parts.next_field().await.map_err(|e| multipart_error(&e, max))? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if file.is_some() {
                return Err(ApiError::bad_request("Send one file per upload."));
            }
            let uploaded = uploaded_name(field.file_name());
            let staged = Staged(library.upload_path()?);
            let bytes = stream_to(&mut field, &staged.0, max).await?;
            file = Some((staged, uploaded, bytes));
        } else if let Some(slot) = form.slot(&name) {
            if slot.is_some() {
                return Err(ApiError::bad_request(format!("The `{name}` field is sent twice.")));
            }
            *slot = Some(text_field(&mut field, &name, max).await?);
        } else {
            return Err(ApiError::bad_request(format!(
                "`{}` is not a field of an upload (file, title, language, kind, message, transcript, expires, \
                 max_plays_per_day).",
                name.chars().take(40).collect::<String>()
            )));
        }
    }
    let Some((staged, uploaded, bytes)) = file else {
        return Err(ApiError::bad_request("Choose a recording to upload: the `file` field is missing."));
    };

    let station = st.station().plan().station.clone();
    let given = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let Some(language) = given(form.language) else {
        let known: Vec<&str> = station.languages.iter().map(|l| l.as_str()).collect();
        return Err(ApiError::bad_request(format!(
            "Choose the language spoken in the recording (one of the station's: {}).",
            known.join(", ")
        )));
    };
    let kind = match given(form.kind) {
        Some(k) => k.parse::<ClipKind>().map_err(|e| ApiError::bad_request(sentence(&e)))?,
        None => ClipKind::Notice,
    };
    let max_plays_per_day = given(form.max_plays_per_day)
        .map(|n| {
            n.parse::<u32>().map_err(|_| {
                ApiError::bad_request(format!(
                    "The maximum number of plays per day `{n}` is not a whole number; leave it empty for no limit."
                ))
            })
        })
        .transpose()?;
    let title = given(form.title).unwrap_or_else(|| {
        FsPath::new(&uploaded).file_stem().and_then(|s| s.to_str()).unwrap_or("untitled").to_owned()
    });
    let (message, transcript, expires) = (given(form.message), given(form.transcript), given(form.expires));
    let uploader = format!("web:{}", caller.name());

    let (state, who, name) = (st.clone(), caller.clone(), uploaded.clone());
    let queued = st.imports().submit(&uploaded, caller.name(), move || {
        // Moved here so the staged upload is removed when the import is over, whatever happened.
        let staged = staged;
        let req = ImportRequest {
            path: &staged.0,
            uploaded_name: &name,
            title: &title,
            language: &language,
            kind,
            message: message.as_deref(),
            transcript: transcript.as_deref(),
            expires: expires.as_deref(),
            max_plays_per_day,
            uploader: &uploader,
            review: ReviewState::Pending,
            station: &station,
        };
        let result = catch_unwind(AssertUnwindSafe(|| library.import(&req))).unwrap_or_else(|_| {
            Err(ImportError::Refused(Refusal::Corrupt { at_s: 0.0, detail: "the decoder gave up on this file".into() }))
        });
        // Recorded here, not after the await, so a client that hangs up mid-import cannot leave
        // a clip in the library that the audit trail and the running station do not know of.
        match &result {
            Ok(done) => {
                if !done.existing {
                    let m = &done.meta;
                    let detail = format!("{} {} ({name}, {bytes} bytes, {})", m.id, m.title, m.language);
                    audit(&state, &who, "clip-upload", &detail);
                    refresh_index(&state);
                }
                state.import_ended(None);
            }
            Err(ImportError::Io(e)) => state.import_ended(Some(&e.to_string())),
            Err(ImportError::Refused(_)) => state.import_ended(None),
        }
        result
    });
    let waiting = queued.map_err(|e| ApiError::too_many(std::time::Duration::from_secs(60), sentence(&e)))?;
    let result = waiting.await.map_err(|e| ApiError::internal(format!("the import task failed: {e}")))?;

    match result {
        Ok(done) if done.existing => Ok((StatusCode::OK, Json(view(&st, &done.meta, true))).into_response()),
        Ok(done) => Ok((StatusCode::CREATED, Json(view(&st, &done.meta, false))).into_response()),
        Err(ImportError::Refused(r)) => {
            tracing::info!(user = caller.name(), "upload of {uploaded} refused: {r}");
            Err(ApiError::new(refusal_status(&r), sentence(&r)))
        }
        Err(ImportError::Io(e)) => {
            if crate::web::error::is_disk_full(&e) {
                tracing::error!("importing {uploaded}: {e}");
                return Err(ApiError::disk_full());
            }
            Err(ApiError::internal(format!("importing {uploaded}: {e}")))
        }
    }
}

/// `GET /api/imports`: the uploads waiting to be imported or importing now, in order.
async fn imports(State(st): State<AppState>, _caller: Caller) -> Json<Vec<crate::library::QueuedImport>> {
    Json(st.imports().list())
}

/// Writes the field chunk by chunk to `path`, counting; past `max` bytes stops reading, deletes
/// the partial file and answers 413.
async fn stream_to(field: &mut Field<'_>, path: &FsPath, max: u64) -> ApiResult<u64> {
    let mut out = tokio::fs::File::create(path).await?;
    let mut bytes = 0u64;
    let written = async {
        while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(&e, max))? {
            bytes += chunk.len() as u64;
            if bytes > max {
                return Err(too_large(max));
            }
            out.write_all(&chunk).await?;
        }
        out.flush().await?;
        Ok::<_, ApiError>(())
    }
    .await;
    drop(out);
    if written.is_err() {
        let _ = tokio::fs::remove_file(path).await;
    }
    written.map(|()| bytes)
}

/// A text field, at most [`MAX_TEXT`] bytes of UTF-8.
async fn text_field(field: &mut Field<'_>, name: &str, max: u64) -> ApiResult<String> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(&e, max))? {
        if buf.len() + chunk.len() > MAX_TEXT {
            return Err(ApiError::bad_request(format!("The `{name}` field is longer than {} KB.", MAX_TEXT / 1024)));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| ApiError::bad_request(format!("The `{name}` field is not UTF-8 text.")))
}

fn multipart_error(e: &MultipartError, max: u64) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(max)
    } else {
        ApiError::bad_request(format!(
            "The upload could not be read ({}); send it again.",
            e.body_text().trim_end_matches('.')
        ))
    }
}

fn too_large(max: u64) -> ApiError {
    let mb = max as f64 / (1024.0 * 1024.0);
    let mb = if mb.fract() == 0.0 { format!("{mb:.0}") } else { format!("{mb:.2}") };
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("The file is larger than the station's upload limit of {mb} MB; shorten or compress the recording."),
    )
}

/// The uploaded file's own name: its last path component, without control characters.
fn uploaded_name(raw: Option<&str>) -> String {
    let base = raw.unwrap_or_default().rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    match clean.trim() {
        "" | "." | ".." => "upload".to_owned(),
        name => name.to_owned(),
    }
}

/// 415 for what is not audio the station decodes, 422 for audio it will not take, 400 for a
/// damaged file or wrong tags.
fn refusal_status(r: &Refusal) -> StatusCode {
    match r {
        Refusal::NotAudio | Refusal::UnsupportedCodec(_) | Refusal::NoAudioTrack => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Refusal::Silent { .. } | Refusal::TooLong { .. } | Refusal::LanguageNotAllowed { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        _ => StatusCode::BAD_REQUEST,
    }
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
            return Err(ApiError::conflict(format!(
                "Clip {id} is the {} recording of message {old}, which {uses}; keep its message or change those first.",
                meta.language
            )));
        }
    }
    let updated =
        st.library().edit(&id, &edit).map_err(edit_error)?.ok_or_else(|| ApiError::not_found(format!("clip {id}")))?;
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
        let through = match (&meta.message, u.through_message) {
            (Some(m), true) => format!(", the {} recording of message {m},", meta.language),
            _ => String::new(),
        };
        return Err(ApiError::conflict(format!("Clip {id}{through} {uses}; take it out of those first.")));
    }
    if !st.library().remove(&id)? {
        return Err(ApiError::not_found(format!("clip {id}")));
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
}

impl BodyKind for Patch {
    const WHAT: &'static str = "a clip change: JSON with title, transcript, message, expires or max_plays_per_day";
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
        return Err(ApiError::bad_request(format!("A reason has at most {MAX_REASON} characters.")));
    }
    let reason = raw.trim();
    let state = match b.decision.as_str() {
        "approve" => ReviewState::Approved,
        "reject" if reason.is_empty() => {
            return Err(ApiError::bad_request("Say why the clip is rejected: the uploader reads the reason."));
        }
        "reject" if raw.chars().any(char::is_control) => {
            return Err(ApiError::bad_request("A reason is one line of text, without control characters."));
        }
        "reject" => ReviewState::Rejected { reason: reason.to_owned() },
        other => {
            let other: String = other.chars().take(40).collect();
            return Err(ApiError::bad_request(format!("Decision `{other}` is not approve or reject.")));
        }
    };
    let meta = st
        .library()
        .review(&id, state)
        .map_err(edit_error)?
        .ok_or_else(|| ApiError::not_found(format!("clip {id}")))?;
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
            format!("You may change only the clips you uploaded; clip {} was uploaded by {}.", meta.id, meta.uploader),
        ))
    }
}

fn edit_error(e: EditError) -> ApiError {
    match e {
        EditError::Invalid(why) => ApiError::bad_request(sentence(&why)),
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
    fn describe(&self, cues: usize) -> Option<String> {
        let named = |one: &str, names: &[String]| match names {
            [] => None,
            [n] => Some(format!("{one} {n}")),
            ns => Some(format!("{one}s {}", ns.join(", "))),
        };
        let parts: Vec<String> = [
            named("playlist", &self.playlists),
            named("slot", &self.slots),
            self.station_chime.then(|| "the station chime".to_owned()),
            (cues > 0).then(|| format!("{cues} cue{} waiting or on air", if cues == 1 { "" } else { "s" })),
        ]
        .into_iter()
        .flatten()
        .collect();
        match parts.as_slice() {
            [] => None,
            [one] => Some(format!("is still used by {one}")),
            [rest @ .., last] => Some(format!("is still used by {} and {last}", rest.join("; "))),
        }
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
        ApiError::bad_request(format!("`{shown}` is not a clip id (16 lower-case hex digits)."))
    })
}

fn find(st: &AppState, id: &ClipId) -> ApiResult<ClipMeta> {
    st.library().get(id)?.ok_or_else(|| ApiError::not_found(format!("clip {id}")))
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
