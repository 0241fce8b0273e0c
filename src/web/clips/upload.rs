//! `POST /api/clips` (upload) and `GET /api/imports`: the multipart body streamed into the
//! staging folder, counted against `--max-upload-mb`, then imported through the station's import
//! queue; see the parent module's documentation.

use super::*;

/// The upload body: axum's `Multipart` with the default body limit set, for this request, to the
/// station's upload limit plus [`MULTIPART_MARGIN`].
pub(super) struct Upload(Multipart);

impl FromRequest<AppState> for Upload {
    type Rejection = ApiError;

    async fn from_request(mut req: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = state.config().max_upload.saturating_add(MULTIPART_MARGIN);
        DefaultBodyLimit::max(usize::try_from(limit).unwrap_or(usize::MAX)).apply(&mut req);
        Multipart::from_request(req, state).await.map(Upload).map_err(|e| {
            let detail = e.body_text();
            let detail = detail.trim_end_matches('.');
            ApiError::bad_request((
                format!("Send the recording as multipart/form-data with a `file` field ({detail})."),
                format!("请用 multipart/form-data 上传录音，文件放在 `file` 字段里（{detail}）。"),
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
pub(super) async fn upload(
    State(st): State<AppState>,
    caller: Caller,
    Upload(mut parts): Upload,
) -> ApiResult<Response> {
    caller.require(Action::Upload)?;
    let max = st.config().max_upload;
    let library = st.library();
    let mut form = Form::default();
    let mut file: Option<(Staged, String, u64)> = None;
    while let Some(mut field) = parts.next_field().await.map_err(|e| multipart_error(&e, max))? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if file.is_some() {
                return Err(ApiError::bad_request(("Send one file per upload.", "每次只上传一个文件。")));
            }
            let uploaded = uploaded_name(field.file_name());
            let staged = Staged(library.upload_path()?);
            let bytes = stream_to(&mut field, &staged.0, max).await?;
            file = Some((staged, uploaded, bytes));
        } else if let Some(slot) = form.slot(&name) {
            if slot.is_some() {
                return Err(ApiError::bad_request((
                    format!("The `{name}` field is sent twice."),
                    format!("`{name}` 这一项填了两次。"),
                )));
            }
            *slot = Some(text_field(&mut field, &name, max).await?);
        } else {
            let shown: String = name.chars().take(40).collect();
            return Err(ApiError::bad_request((
                format!(
                    "`{shown}` is not a field of an upload (file, title, language, kind, message, transcript, \
                     expires, max_plays_per_day)."
                ),
                format!(
                    "上传里没有 `{shown}` 这一项（可以有 file、title、language、kind、message、transcript、expires、\
                     max_plays_per_day）。"
                ),
            )));
        }
    }
    let Some((staged, uploaded, bytes)) = file else {
        return Err(ApiError::bad_request((
            "Choose a recording to upload: the `file` field is missing.",
            "请选择要上传的录音：没有收到 `file` 这一项。",
        )));
    };

    let station = st.station().plan().station.clone();
    let given = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let Some(language) = given(form.language) else {
        let named = |l: &crate::domain::Language| {
            let n = station.language_name(l);
            let or_tag = |name: &str, wrap: fn(&str, &str) -> String| {
                if name == l.as_str() { name.to_owned() } else { wrap(name, l.as_str()) }
            };
            (or_tag(&n.en, |n, l| format!("{n} ({l})")), or_tag(&n.zh, |n, l| format!("{n}（{l}）")))
        };
        let (en, zh): (Vec<String>, Vec<String>) = station.languages.iter().map(named).unzip();
        return Err(ApiError::bad_request((
            format!("Choose the language spoken in the recording (one of the station's: {}).", en.join(", ")),
            format!("请选择录音里说的语言（广播站的语言之一：{}）。", zh.join("、")),
        )));
    };
    let kind = match given(form.kind) {
        Some(k) => k.parse::<ClipKind>().map_err(|e| kind_error(&k, &e))?,
        None => ClipKind::Notice,
    };
    let max_plays_per_day = given(form.max_plays_per_day)
        .map(|n| {
            n.parse::<u32>().map_err(|_| {
                ApiError::bad_request((
                    format!(
                        "The maximum number of plays per day `{n}` is not a whole number; leave it empty for no limit."
                    ),
                    format!("每天最多播放次数 `{n}` 不是整数；不限次数请留空。"),
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
    let waiting = queued.map_err(|e| ApiError::too_many(std::time::Duration::from_secs(60), said(&e)))?;
    let result = waiting.await.map_err(|e| ApiError::internal(format!("the import task failed: {e}")))?;

    match result {
        Ok(done) if done.existing => Ok((StatusCode::OK, Json(view(&st, &done.meta, true))).into_response()),
        Ok(done) => Ok((StatusCode::CREATED, Json(view(&st, &done.meta, false))).into_response()),
        Err(ImportError::Refused(r)) => {
            tracing::info!(user = caller.name(), "upload of {uploaded} refused: {r}");
            Err(ApiError::new(refusal_status(&r), said(&r)))
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
pub(super) async fn imports(State(st): State<AppState>, _caller: Caller) -> Json<Vec<crate::library::QueuedImport>> {
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
            return Err(ApiError::bad_request((
                format!("The `{name}` field is longer than {} KB.", MAX_TEXT / 1024),
                format!("`{name}` 这一项超过了 {} KB。", MAX_TEXT / 1024),
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| {
        ApiError::bad_request((
            format!("The `{name}` field is not UTF-8 text."),
            format!("`{name}` 这一项不是 UTF-8 文字。"),
        ))
    })
}

fn multipart_error(e: &MultipartError, max: u64) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(max)
    } else {
        let detail = e.body_text();
        let detail = detail.trim_end_matches('.');
        ApiError::bad_request((
            format!("The upload could not be read ({detail}); send it again."),
            format!("上传的内容读不出来（{detail}）；请重新上传。"),
        ))
    }
}

fn too_large(max: u64) -> ApiError {
    let mb = max as f64 / (1024.0 * 1024.0);
    let mb = if mb.fract() == 0.0 { format!("{mb:.0}") } else { format!("{mb:.2}") };
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        (
            format!(
                "The file is larger than the station's upload limit of {mb} MB; shorten or compress the recording."
            ),
            format!("文件超过了广播站的上传上限 {mb} MB；请剪短或压缩录音。"),
        ),
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
