//! Who is calling: a session cookie (people, with CSRF protection) or a bearer API token
//! (scripts). Login, logout, the first-admin setup link.
//!
//! - Session cookie `xy_session`: HttpOnly, SameSite=Strict, Path=/; the token is random and only
//!   its hash is stored. A mutating request (anything but GET/HEAD/OPTIONS) that authenticates
//!   with the cookie must carry the session's CSRF token in the `X-CSRF-Token` header (pages
//!   read it from `<meta name="csrf">`); otherwise 403.
//! - `Authorization: Bearer TOKEN`: an API token from `xiangyin user token`; no CSRF (a browser
//!   never sends it by itself).
//! - [`Caller`] as an extractor answers 401 to anonymous callers; [`Caller::require`] answers 403
//!   to the wrong role.

use std::time::Duration;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::error::{ApiJson, BodyKind, said};
use super::server::Peer;
use super::{ApiError, ApiResult, AppState};
use crate::domain::{Action, Role};
use crate::store::User;

/// Name of the session cookie.
pub const COOKIE: &str = "xy_session";
/// Header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a login lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// The session cookie; carries the session's CSRF token.
    Session {
        /// The session's CSRF token.
        csrf: String,
    },
    /// A bearer API token.
    Token,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user: User,
    /// How they authenticated.
    pub via: Via,
}

impl Caller {
    /// The user's name.
    pub fn name(&self) -> &str {
        &self.user.name
    }

    /// The user's role.
    pub fn role(&self) -> Role {
        self.user.role
    }

    /// Ok when the caller's role allows `action`; 403 otherwise.
    pub fn require(&self, action: Action) -> ApiResult<()> {
        if self.user.role.allows(action) { Ok(()) } else { Err(ApiError::forbidden(self.user.role, action)) }
    }

    /// The CSRF token to put in pages (sessions only).
    pub fn csrf(&self) -> Option<&str> {
        match &self.via {
            Via::Session { csrf } => Some(csrf),
            Via::Token => None,
        }
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Who is calling, if anyone (no CSRF check: for pages and GET handlers that adapt to the user).
pub fn identify(parts: &Parts, state: &AppState) -> ApiResult<Option<Caller>> {
    let db = state.db();
    if let Some(auth) = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let Some(token) = auth.strip_prefix("Bearer ") else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ("Use `Authorization: Bearer TOKEN`.", "请用 `Authorization: Bearer 令牌` 的写法。"),
            ));
        };
        return match db.api_token_user(token.trim())? {
            Some(user) => Ok(Some(Caller { user, via: Via::Token })),
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ("This API token is not valid (revoked or mistyped).", "这个 API 令牌无效（已撤销或抄错了）。"),
            )),
        };
    }
    if let Some(token) = cookie(&parts.headers, COOKIE) {
        // A database that cannot be read (a full disk can do that) still lets in-memory
        // sessions in.
        let stored = match db.session(token) {
            Ok(s) => s,
            Err(e) if e.is_transient() => None,
            Err(e) => return Err(e.into()),
        };
        if let Some((user, csrf)) = stored.or_else(|| state.memory().session(token)) {
            return Ok(Some(Caller { user, via: Via::Session { csrf } }));
        }
    }
    Ok(None)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = identify(parts, state)?.ok_or_else(ApiError::unauthorized)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if let (false, Via::Session { csrf }) = (safe, &caller.via) {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if sent != Some(csrf.as_str()) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    (
                        "This request lacks the page's CSRF token; reload the page and try again.",
                        "这个请求缺少页面的安全令牌（CSRF）；请刷新页面再试。",
                    ),
                ));
            }
        }
        Ok(caller)
    }
}

/// Optional caller: `None` for anonymous requests (never rejects, except a bad bearer token).
pub struct MaybeCaller(pub Option<Caller>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(MaybeCaller(identify(parts, state)?))
    }
}

/// `/api/session` (login, logout, who am I) and `/api/setup` (the first admin).
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/session", post(login).get(me).delete(logout)).route("/api/setup", post(setup))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    name: String,
    password: String,
}

impl BodyKind for Login {
    const WHAT: &'static str = "a login: JSON with name and password";
    const WHAT_ZH: &'static str = "登录：含 name 和 password 的 JSON";
}

#[derive(serde::Serialize)]
struct SessionInfo {
    name: String,
    role: Role,
    csrf: Option<String>,
}

fn session_cookie(token: &str, max_age: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}"))
        .expect("token is ascii")
}

/// Starts a session for `user` (in memory when the disk cannot take it) and answers with its cookie.
fn logged_in(state: &AppState, user: &User) -> ApiResult<Response> {
    let stored = state.db().create_session(&user.name, SESSION_TTL);
    let (token, csrf) = match stored {
        Ok(s) => s,
        Err(e) if e.is_transient() => {
            tracing::error!("a session cannot be saved ({e}); `{}` is logged in until the daemon restarts", user.name);
            state.memory().start_session(user, SESSION_TTL)?
        }
        Err(e) => return Err(e.into()),
    };
    let body = SessionInfo { name: user.name.clone(), role: user.role, csrf: Some(csrf) };
    let mut res = Json(body).into_response();
    res.headers_mut().insert(header::SET_COOKIE, session_cookie(&token, SESSION_TTL.as_secs()));
    Ok(res)
}

/// `POST /api/session`: checks the password off the async threads and without holding the
/// database, one of a few at a time, behind the back-off of [`super::throttle`].
async fn login(State(state): State<AppState>, peer: Peer, ApiJson(req): ApiJson<Login>) -> ApiResult<Response> {
    let name = req.name.trim().to_owned();
    let addr = peer.0.map(|a| a.ip());
    if let Some(wait) = state.throttle().wait(&name, addr, std::time::Instant::now()) {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return Err(ApiError::too_many(
            wait,
            (
                format!("Too many wrong passwords: wait {secs} s before trying again."),
                format!("密码错误次数太多：请等 {secs} 秒再试。"),
            ),
        ));
    }
    let record = state.db().password_record(&name)?;
    let user = {
        let _turn = state.hashing().acquire().await.map_err(ApiError::internal)?;
        let password = req.password;
        tokio::task::spawn_blocking(move || record.check(&password)).await.map_err(ApiError::internal)??
    };
    match user {
        Some(u) if !u.disabled => {
            state.throttle().succeeded(&name, addr);
            state.audit(Some(&u.name), "login", None);
            logged_in(&state, &u)
        }
        _ => {
            state.throttle().failed(&name, addr, std::time::Instant::now());
            Err(ApiError::new(StatusCode::UNAUTHORIZED, ("Wrong name or password.", "用户名或密码不对。")))
        }
    }
}

async fn me(caller: Caller) -> Json<SessionInfo> {
    Json(SessionInfo { name: caller.user.name.clone(), role: caller.user.role, csrf: caller.csrf().map(str::to_owned) })
}

async fn logout(State(state): State<AppState>, headers: HeaderMap, _caller: Caller) -> ApiResult<Response> {
    if let Some(token) = cookie(&headers, COOKIE) {
        state.memory().end_session(token);
        if let Err(e) = state.db().end_session(token) {
            // The cookie is cleared either way; a session row left behind expires by itself.
            tracing::warn!("logout: the session could not be removed from the database: {e}");
        }
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(header::SET_COOKIE, session_cookie("", 0));
    Ok(res)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Setup {
    token: String,
    name: String,
    password: String,
}

impl BodyKind for Setup {
    const WHAT: &'static str = "the first admin: JSON with token, name and password";
    const WHAT_ZH: &'static str = "第一个管理员：含 token、name 和 password 的 JSON";
}

/// Creates the first admin with the one-time setup token `serve` printed, and logs them in.
async fn setup(State(state): State<AppState>, ApiJson(req): ApiJson<Setup>) -> ApiResult<Response> {
    if state.db().user_count()? > 0 {
        return Err(ApiError::conflict((
            "The station already has users; log in instead.",
            "广播站已经有用户了；请直接登录。",
        )));
    }
    crate::store::check_user_name(req.name.trim()).map_err(|e| ApiError::bad_request(said(&e)))?;
    crate::store::check_password(&req.password).map_err(|e| ApiError::bad_request(said(&e)))?;
    if !state.db().use_setup_token(&req.token)? {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            (
                "This setup link is not valid any more; restart serve for a new one.",
                "这个设置链接已经失效；重新启动 serve 会给出新的链接。",
            ),
        ));
    }
    state.db().add_user(req.name.trim(), Role::Admin, &req.password).map_err(|e| ApiError::bad_request(said(&e)))?;
    state.audit(Some(req.name.trim()), "setup", Some("first admin"));
    let user = state.db().user(req.name.trim())?.ok_or_else(|| ApiError::internal("the new admin vanished"))?;
    logged_in(&state, &user)
}
