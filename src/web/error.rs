//! One error type for every handler: a status and a sentence a person can act on. Internal
//! details (database errors, paths) are logged, never shown.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::domain::{Action, Lang, Role, Say, Text};
use crate::store::StoreError;

/// An HTTP error: status + one clear sentence in English and Chinese. The response is
/// `{"error": sentence, "error_en": …, "error_zh": …}`, `error` in the caller's language (the
/// page language's cookie, `?lang=`, or Accept-Language; Chinese when nothing says): see
/// [`json_errors`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What the person reads, in both languages.
    pub text: Text,
    /// For 429 and 503: when to try again (sent as `Retry-After`, in whole seconds).
    pub retry_after: Option<std::time::Duration>,
    /// More for the body, rarely there (boxed: errors travel by value).
    pub details: Option<Box<Details>>,
}

/// What some errors add to their body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Details {
    /// For a 422 of the checker: each problem, in both languages (`problems` in the body).
    pub problems: Vec<Text>,
    /// More fields of the body, the same in every language (e.g. `positions`).
    pub extra: serde_json::Value,
}

/// The sentence of an [`ApiError`] response, for [`json_errors`] to say it in the caller's language.
#[derive(Debug, Clone)]
struct Said {
    text: Text,
    details: Option<Box<Details>>,
}

impl ApiError {
    /// Any status with a sentence (`(en, zh)` or a [`Text`]).
    pub fn new(status: StatusCode, message: impl Into<Text>) -> Self {
        Self { status, text: message.into(), retry_after: None, details: None }
    }

    /// The English sentence (logs, tests).
    pub fn message(&self) -> &str {
        &self.text.en
    }

    /// 429: too many attempts; try again after `wait`.
    pub fn too_many(wait: std::time::Duration, message: impl Into<Text>) -> Self {
        Self { status: StatusCode::TOO_MANY_REQUESTS, text: message.into(), retry_after: Some(wait), details: None }
    }

    /// 507: the station's disk is full, so this change could not be saved (playout goes on).
    pub fn disk_full() -> Self {
        Self::new(
            StatusCode::INSUFFICIENT_STORAGE,
            (
                "The station's disk is full, so this change was not saved. Broadcasting goes on; free some space \
                 on the station and try again.",
                "广播站的磁盘满了，这次修改没有保存。广播照常进行；请在广播站腾出空间后再试。",
            ),
        )
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(message: impl Into<Text>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: nobody is logged in.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ("Please log in first.", "请先登录。"))
    }

    /// 403: logged in, but the role does not allow `action`.
    pub fn forbidden(role: Role, action: Action) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            (
                format!("Your role ({role}) may not do this ({}).", action.name()),
                format!("你的角色（{}）不能做这件事（{}）。", role_zh(role), action.name()),
            ),
        )
    }

    /// 404 for `what` (a fragment in both languages: "clip 0123abcd" / "录音 0123abcd").
    pub fn not_found(what: impl Into<Text>) -> Self {
        let what = what.into();
        Self::new(StatusCode::NOT_FOUND, (format!("There is no {}.", what.en), format!("没有{}。", what.zh)))
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(message: impl Into<Text>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 422: understood, but the content has problems (e.g. a schedule that does not check).
    pub fn unprocessable(message: impl Into<Text>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// 500: logs `detail` and tells the person only that the station failed.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!("web: {detail}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ("The station could not do this; the error is in its log.", "广播站没能完成这件事；错误写在它的日志里。"),
        )
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

/// A role's name in Chinese.
fn role_zh(role: Role) -> &'static str {
    match role {
        Role::Admin => "管理员",
        Role::Operator => "播音员",
        Role::Uploader => "上传员",
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text.en)
    }
}

/// The JSON body of an error in `lang`.
fn error_body(text: &Text, lang: Lang, extra: Option<&serde_json::Value>) -> String {
    let mut v = serde_json::json!({ "error": text.get(lang), "error_en": text.en, "error_zh": text.zh });
    if let (Some(serde_json::Value::Object(more)), serde_json::Value::Object(map)) = (extra, &mut v) {
        for (k, x) in more {
            if !map.contains_key(k) {
                map.insert(k.clone(), x.clone());
            }
        }
    }
    v.to_string()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.text.zh, "error_en": self.text.en, "error_zh": self.text.zh });
        let mut res = (self.status, Json(body)).into_response();
        res.extensions_mut().insert(Said { text: self.text.clone(), details: self.details.clone() });
        if let Some(wait) = self.retry_after {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.max(1).into());
        }
        res
    }
}

/// What handlers return.
pub type ApiResult<T> = Result<T, ApiError>;

/// An error's sentence in both languages, as a sentence (capital first letter, a full stop).
pub fn said(e: &impl Say) -> Text {
    Text::new(super::users::sentence(&e.to_string()), sentence_zh(&e.zh()))
}

/// `text` ending with a Chinese full stop.
pub fn sentence_zh(text: &str) -> String {
    let t = text.trim();
    if t.ends_with(['。', '！', '？', '.']) { t.to_owned() } else { format!("{t}。") }
}

/// A JSON body axum could not take, as one sentence with the status axum chose: 400 (not JSON),
/// 413 (too large), 415 (not sent as JSON), 422 (JSON without the fields `what` needs).
/// `what` says what was expected ("a village playlist: JSON with mode, items…").
pub fn json_rejection(e: &axum::extract::rejection::JsonRejection, what: &str, what_zh: &str) -> ApiError {
    use axum::extract::rejection::JsonRejection as J;
    let detail = e.body_text();
    let detail = detail.trim_end_matches('.');
    let message = match e {
        J::MissingJsonContentType(_) => Text::new(
            format!("Send the request body as JSON (Content-Type: application/json); it should be {what}."),
            format!("请求内容要用 JSON 发送（Content-Type: application/json）；应当是{what_zh}。"),
        ),
        J::JsonSyntaxError(_) => Text::new(
            format!("The request body is not valid JSON ({detail}); it should be {what}."),
            format!("请求内容不是正确的 JSON（{detail}）；应当是{what_zh}。"),
        ),
        J::JsonDataError(_) => Text::new(
            format!("The request body is not {what} ({detail})."),
            format!("请求内容不是{what_zh}（{detail}）。"),
        ),
        _ if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Text::new("The request body is too large.", "请求的内容太大了。")
        }
        _ => Text::new(
            format!("The request body could not be read ({detail}); it should be {what}."),
            format!("请求内容读不出来（{detail}）；应当是{what_zh}。"),
        ),
    };
    ApiError::new(e.status(), message)
}

/// What a JSON body is, in words, for the sentence that refuses a wrong one.
pub trait BodyKind {
    /// E.g. "a clip change: JSON with title, transcript, message, expires or max_plays_per_day".
    const WHAT: &'static str;
    /// The same in Chinese, e.g. "录音修改：含 title、transcript……的 JSON".
    const WHAT_ZH: &'static str;
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
        let Json(v) = Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(|e| json_rejection(&e, T::WHAT, T::WHAT_ZH))?;
        if !v.is_object() {
            return Err(ApiError::unprocessable((
                format!("The request body must be a JSON object: {}.", T::WHAT),
                format!("请求内容必须是一个 JSON 对象：{}。", T::WHAT_ZH),
            )));
        }
        serde_json::from_value(v).map(ApiJson).map_err(|e| {
            let e = e.to_string();
            let e = e.trim_end_matches('.');
            ApiError::unprocessable((
                format!("The request body is not {} ({e}).", T::WHAT),
                format!("请求内容不是{}（{e}）。", T::WHAT_ZH),
            ))
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
            Err(e) => {
                let detail = e.body_text();
                let detail = detail.trim_end_matches('.');
                Err(ApiError::bad_request((
                    format!("The query string is not right ({detail})."),
                    format!("网址里的查询参数不对（{detail}）。"),
                )))
            }
        }
    }
}

/// The language a request's sentences are for: `?lang=`, else `X-XY-Lang` (what the pages'
/// script sends: the language of the page that asks), else the page-language cookie, else the
/// first of Accept-Language that the station speaks, else Chinese.
pub fn request_lang(headers: &axum::http::HeaderMap, query: Option<&str>) -> Lang {
    let from_query = query
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")))
        .and_then(Lang::parse)
        .or_else(|| headers.get("x-xy-lang").and_then(|v| v.to_str().ok()).and_then(Lang::parse));
    let from_cookie = || super::auth::cookie(headers, super::i18n::LANG_COOKIE).and_then(Lang::parse);
    let from_accept = || {
        headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(|v| {
            v.split(',').find_map(|part| {
                let tag = part.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
                if tag.starts_with("zh") {
                    Some(Lang::Zh)
                } else if tag.starts_with("en") {
                    Some(Lang::En)
                } else {
                    None
                }
            })
        })
    };
    from_query.or_else(from_cookie).or_else(from_accept).unwrap_or_default()
}

/// The error net behind every route. Every error answer is `{"error": sentence, "error_en",
/// "error_zh"}` with `error` in the caller's language ([`request_lang`]): an [`ApiError`] is said
/// again in that language, and a response of 400 or more that is not JSON or an HTML page
/// (axum's own plain-text rejections, an empty 405, a 413 from a body limit) gets a sentence,
/// keeping its status and headers (`Allow` stays).
pub async fn json_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let lang = request_lang(req.headers(), req.uri().query());
    let method = req.method().clone();
    let res = next.run(req).await;
    let status = res.status();
    if status.as_u16() < 400 {
        return res;
    }
    if let Some(said) = res.extensions().get::<Said>().cloned() {
        let (mut parts, _) = res.into_parts();
        parts.headers.remove(axum::http::header::CONTENT_LENGTH);
        let extra = said.details.as_ref().map(|d| {
            let mut extra = if d.extra.is_object() { d.extra.clone() } else { serde_json::json!({}) };
            if !d.problems.is_empty() {
                let p = &d.problems;
                let pick = |f: fn(&Text) -> &str| p.iter().map(|t| f(t).to_owned()).collect::<Vec<_>>();
                extra["problems"] = serde_json::json!(p.iter().map(|t| t.get(lang).to_owned()).collect::<Vec<_>>());
                extra["problems_en"] = serde_json::json!(pick(|t| &t.en));
                extra["problems_zh"] = serde_json::json!(pick(|t| &t.zh));
            }
            extra
        });
        return Response::from_parts(parts, axum::body::Body::from(error_body(&said.text, lang, extra.as_ref())));
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
    let detail = text.trim_end_matches('.');
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED if !allow.is_empty() => Text::new(
            format!("{method} is not allowed here; this address takes {allow}."),
            format!("这个地址不接受 {method}；它接受 {allow}。"),
        ),
        StatusCode::METHOD_NOT_ALLOWED => {
            Text::new(format!("{method} is not allowed here."), format!("这个地址不接受 {method}。"))
        }
        StatusCode::PAYLOAD_TOO_LARGE => Text::new("The request body is too large.", "请求的内容太大了。"),
        StatusCode::REQUEST_TIMEOUT => Text::new("The request took too long to arrive.", "请求传得太慢，超时了。"),
        _ if !text.is_empty() => {
            Text::new(format!("The request could not be handled: {detail}."), format!("这个请求没法处理：{detail}。"))
        }
        _ => Text::new(
            format!("The request could not be handled ({status})."),
            format!("这个请求没法处理（{status}）。"),
        ),
    };
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts.headers.insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json"));
    Response::from_parts(parts, axum::body::Body::from(error_body(&message, lang, None)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_asking_pages_language_wins_over_a_cookie_another_tab_changed() {
        // An English page asks while another tab has switched the cookie to Chinese.
        let h = headers(&[("x-xy-lang", "en"), ("cookie", "xy_lang=zh"), ("accept-language", "zh-CN")]);
        assert_eq!(request_lang(&h, None), Lang::En);
        assert_eq!(request_lang(&h, Some("lang=zh")), Lang::Zh, "?lang= says it outright");
        // Without the page's word: the cookie, then the browser's languages, then Chinese.
        assert_eq!(request_lang(&headers(&[("cookie", "xy_lang=en"), ("accept-language", "zh")]), None), Lang::En);
        assert_eq!(request_lang(&headers(&[("accept-language", "fr, en;q=0.8")]), None), Lang::En);
        assert_eq!(request_lang(&headers(&[("x-xy-lang", "fr")]), None), Lang::Zh);
    }
}
