//! One error type for every handler: a status and a sentence a person can act on. Internal
//! details (database errors, paths) are logged, never shown.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::domain::{Action, Role};
use crate::store::StoreError;

/// An HTTP error: status + one clear sentence (`{"error": "..."}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What the person reads.
    pub message: String,
    /// For 429 and 503: when to try again (sent as `Retry-After`, in whole seconds).
    pub retry_after: Option<std::time::Duration>,
}

impl ApiError {
    /// Any status with a sentence.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), retry_after: None }
    }

    /// 429: too many attempts; try again after `wait`.
    pub fn too_many(wait: std::time::Duration, message: impl Into<String>) -> Self {
        Self { status: StatusCode::TOO_MANY_REQUESTS, message: message.into(), retry_after: Some(wait) }
    }

    /// 507: the station's disk is full, so this change could not be saved (playout goes on).
    pub fn disk_full() -> Self {
        Self::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "The station's disk is full, so this change was not saved. Broadcasting goes on; free some space on \
             the station and try again.",
        )
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: nobody is logged in.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Please log in first.")
    }

    /// 403: logged in, but the role does not allow `action`.
    pub fn forbidden(role: Role, action: Action) -> Self {
        Self::new(StatusCode::FORBIDDEN, format!("Your role ({role}) may not do this ({}).", action.name()))
    }

    /// 404 for `what` (a sentence fragment like "clip 0123abcd").
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("There is no {what}."))
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 422: understood, but the content has problems (e.g. a schedule that does not check).
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// 500: logs `detail` and tells the person only that the station failed.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!("web: {detail}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "The station could not do this; the error is in its log.")
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_disk_full() {
            tracing::error!("web: {e}");
            return ApiError::disk_full();
        }
        ApiError::internal(e)
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        if is_disk_full(&e) {
            tracing::error!("web: {e}");
            return ApiError::disk_full();
        }
        ApiError::internal(e)
    }
}

/// True for "no space left on device" (and quota exceeded).
pub fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull || matches!(e.raw_os_error(), Some(28 | 122))
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(serde_json::json!({ "error": self.message }))).into_response();
        if let Some(wait) = self.retry_after {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.max(1).into());
        }
        res
    }
}

/// What handlers return.
pub type ApiResult<T> = Result<T, ApiError>;

/// A JSON body axum could not take, as one sentence with the status axum chose: 400 (not JSON),
/// 413 (too large), 415 (not sent as JSON), 422 (JSON without the fields `what` needs).
/// `what` says what was expected ("a village playlist: JSON with mode, items…").
pub fn json_rejection(e: &axum::extract::rejection::JsonRejection, what: &str) -> ApiError {
    use axum::extract::rejection::JsonRejection as J;
    let detail = e.body_text();
    let detail = detail.trim_end_matches('.');
    let message = match e {
        J::MissingJsonContentType(_) => {
            format!("Send the request body as JSON (Content-Type: application/json); it should be {what}.")
        }
        J::JsonSyntaxError(_) => format!("The request body is not valid JSON ({detail}); it should be {what}."),
        J::JsonDataError(_) => format!("The request body is not {what} ({detail})."),
        _ if e.status() == StatusCode::PAYLOAD_TOO_LARGE => "The request body is too large.".to_owned(),
        _ => format!("The request body could not be read ({detail}); it should be {what}."),
    };
    ApiError::new(e.status(), message)
}

/// What a JSON body is, in words, for the sentence that refuses a wrong one.
pub trait BodyKind {
    /// E.g. "a clip change: JSON with title, transcript, message, expires or max_plays_per_day".
    const WHAT: &'static str;
}

/// A JSON body that must be an object of `T`'s shape, refused as an [`ApiError`] otherwise:
/// 400 (not JSON), 413 (too large), 415 (not sent as JSON), 422 (not an object, a field of the
/// wrong type or unknown). A struct is never read from a JSON array, as serde alone would.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned + BodyKind,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let Json(v) =
            Json::<serde_json::Value>::from_request(req, state).await.map_err(|e| json_rejection(&e, T::WHAT))?;
        if !v.is_object() {
            return Err(ApiError::unprocessable(format!("The request body must be a JSON object: {}.", T::WHAT)));
        }
        serde_json::from_value(v).map(ApiJson).map_err(|e| {
            let e = e.to_string();
            ApiError::unprocessable(format!("The request body is not {} ({}).", T::WHAT, e.trim_end_matches('.')))
        })
    }
}

/// For an optional field that, when present, must not be `null` (`#[serde(default,
/// deserialize_with = "not_null")]`): absent is `None`, a value is `Some`, `null` is an error.
pub fn not_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// `axum::extract::Query` whose rejection is an [`ApiError`] (400 with a sentence).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(e) => Err(ApiError::bad_request(format!(
                "The query string is not right ({}).",
                e.body_text().trim_end_matches('.')
            ))),
        }
    }
}

/// The error net behind every route: a response of 400 or more that is not JSON or an HTML
/// page (axum's own plain-text rejections, an empty 405, a 413 from a body limit) becomes
/// `{"error": sentence}` with the same status and headers (`Allow` stays).
pub async fn json_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = req.method().clone();
    let res = next.run(req).await;
    let status = res.status();
    if status.as_u16() < 400 {
        return res;
    }
    let kind = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if kind.starts_with("application/json") || kind.starts_with("text/html") {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let allow = parts.headers.get(axum::http::header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED if !allow.is_empty() => {
            format!("{method} is not allowed here; this address takes {allow}.")
        }
        StatusCode::METHOD_NOT_ALLOWED => format!("{method} is not allowed here."),
        StatusCode::PAYLOAD_TOO_LARGE => "The request body is too large.".to_owned(),
        StatusCode::REQUEST_TIMEOUT => "The request took too long to arrive.".to_owned(),
        _ if !text.is_empty() => format!("The request could not be handled: {}.", text.trim_end_matches('.')),
        _ => format!("The request could not be handled ({status})."),
    };
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts.headers.insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json"));
    let body = serde_json::json!({ "error": message }).to_string();
    Response::from_parts(parts, axum::body::Body::from(body))
}
