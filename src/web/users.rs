//! The users API (admin only): list, add, change (role, password, disabled), remove users, and
//! make or revoke their API tokens.
//!
//! - `GET /api/users` → `[{name, role, created, disabled, tokens: [{label, created, last_used}]}]`
//! - `POST /api/users {name, role, password}` → 201 the user
//! - `PATCH /api/users/{name} {role?, password?, disabled?}` → the user (a new password ends their
//!   browser sessions; their API tokens keep working)
//! - `DELETE /api/users/{name}` → 204
//! - `POST /api/users/{name}/tokens {label}` → 201 `{user, label, token}` (the token is shown this
//!   once: the station keeps only its hash)
//! - `DELETE /api/users/{name}/tokens/{label}` → 204
//!
//! Every route needs [`Action::ManageUsers`] (401 anonymous, 403 another role). An admin cannot
//! delete or disable themself (409), and the store refuses to leave the station without an admin
//! who can log in (409). Refusals are one sentence: 400 for a bad name, role, password or label,
//! 404 for an unknown user or token, 409 for a taken name or label. Every change is written to the
//! audit trail under the admin's name.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::{ApiJson, BodyKind, not_null, said};
use super::{ApiError, ApiResult, AppState, Caller};
use crate::domain::{Action, Role};
use crate::store::{ApiToken, StoreError, User};

/// The routes of the users API.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/users", get(list).post(add))
        .route("/api/users/{name}", patch(change).delete(remove))
        .route("/api/users/{name}/tokens", axum::routing::post(make_token))
        .route("/api/users/{name}/tokens/{label}", delete(revoke_token))
}

/// The store's refusals as the person reads them; anything else is the station's fault.
pub(crate) fn refusal(e: StoreError) -> ApiError {
    let status = match &e {
        StoreError::NoSuchUser { .. } => StatusCode::NOT_FOUND,
        StoreError::UserExists { .. } | StoreError::LastAdmin { .. } | StoreError::TokenLabelTaken { .. } => {
            StatusCode::CONFLICT
        }
        e if e.is_refusal() => StatusCode::BAD_REQUEST,
        _ => return ApiError::from(e),
    };
    ApiError::new(status, said(&e))
}

/// `text` with a capital first letter and a closing full stop.
pub(crate) fn sentence(text: &str) -> String {
    let mut chars = text.trim().chars();
    let mut s: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !s.ends_with(['.', '!', '?', '。']) {
        s.push('.');
    }
    s
}

fn parse_role(s: &str) -> ApiResult<Role> {
    s.trim().parse().map_err(|e: String| {
        ApiError::bad_request((sentence(&e), format!("`{s}` 不是角色（只能是 admin、operator、uploader 之一）。")))
    })
}

/// A user as the API shows them, with the labels of their API tokens.
#[derive(Debug, Serialize)]
struct UserJson {
    name: String,
    role: Role,
    created: DateTime<Utc>,
    disabled: bool,
    tokens: Vec<TokenJson>,
}

#[derive(Debug, Serialize)]
struct TokenJson {
    label: String,
    created: DateTime<Utc>,
    last_used: Option<DateTime<Utc>>,
}

impl UserJson {
    fn new(u: User, tokens: &[ApiToken]) -> Self {
        let tokens = tokens
            .iter()
            .filter(|t| t.user == u.name)
            .map(|t| TokenJson { label: t.label.clone(), created: t.created, last_used: t.last_used })
            .collect();
        UserJson { name: u.name, role: u.role, created: u.created, disabled: u.disabled, tokens }
    }
}

fn one_user(st: &AppState, name: &str) -> ApiResult<UserJson> {
    let db = st.db();
    let user = db
        .user(name)?
        .ok_or_else(|| ApiError::not_found((format!("user named `{name}`"), format!("叫 `{name}` 的用户"))))?;
    let tokens = db.list_api_tokens(Some(name))?;
    Ok(UserJson::new(user, &tokens))
}

async fn list(State(st): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<UserJson>>> {
    caller.require(Action::ManageUsers)?;
    let db = st.db();
    let tokens = db.list_api_tokens(None)?;
    Ok(Json(db.list_users()?.into_iter().map(|u| UserJson::new(u, &tokens)).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    role: String,
    password: String,
}

impl BodyKind for NewUser {
    const WHAT: &'static str = "a new user: JSON with name, role and password";
    const WHAT_ZH: &'static str = "新用户：含 name、role 和 password 的 JSON";
}

async fn add(State(st): State<AppState>, caller: Caller, ApiJson(req): ApiJson<NewUser>) -> ApiResult<Response> {
    caller.require(Action::ManageUsers)?;
    let name = req.name.as_str();
    let role = parse_role(&req.role)?;
    {
        let db = st.db();
        db.add_user(name, role, &req.password).map_err(refusal)?;
        st.memory().audit(&db, Some(caller.name()), "user-add", Some(&format!("{name} as {role}")));
    }
    Ok((StatusCode::CREATED, Json(one_user(&st, name)?)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    #[serde(default, deserialize_with = "not_null")]
    role: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    password: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    disabled: Option<bool>,
}

impl BodyKind for Change {
    const WHAT: &'static str = "a change of a user: JSON with role, password or disabled";
    const WHAT_ZH: &'static str = "用户修改：含 role、password 或 disabled 的 JSON";
}

async fn change(
    State(st): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<Change>,
) -> ApiResult<Json<UserJson>> {
    caller.require(Action::ManageUsers)?;
    if req.role.is_none() && req.password.is_none() && req.disabled.is_none() {
        return Err(ApiError::bad_request((
            "Nothing to change: give a role, a password or disabled.",
            "没有要改的内容：请给出 role、password 或 disabled。",
        )));
    }
    // Check everything first, so that a refusal changes nothing.
    let role = req.role.as_deref().map(parse_role).transpose()?;
    if let Some(p) = &req.password {
        crate::store::check_password(p).map_err(refusal)?;
    }
    if req.disabled == Some(true) && name == caller.name() {
        return Err(ApiError::conflict((
            "You cannot disable yourself; another admin can.",
            "不能停用你自己；请另一位管理员来做。",
        )));
    }
    let db = st.db();
    if db.user(&name)?.is_none() {
        return Err(ApiError::not_found((format!("user named `{name}`"), format!("叫 `{name}` 的用户"))));
    }
    let me = Some(caller.name());
    if let Some(role) = role {
        db.set_role(&name, role).map_err(refusal)?;
        st.memory().end_sessions_of(&name);
        st.memory().audit(&db, me, "user-role", Some(&format!("{name} to {role}")));
    }
    if let Some(disabled) = req.disabled {
        db.set_disabled(&name, disabled).map_err(refusal)?;
        st.memory().end_sessions_of(&name);
        st.memory().audit(&db, me, if disabled { "user-disable" } else { "user-enable" }, Some(&name));
    }
    if let Some(p) = &req.password {
        db.set_password(&name, p).map_err(refusal)?;
        st.memory().audit(&db, me, "user-passwd", Some(&name));
    }
    drop(db);
    Ok(Json(one_user(&st, &name)?))
}

async fn remove(State(st): State<AppState>, caller: Caller, Path(name): Path<String>) -> ApiResult<StatusCode> {
    caller.require(Action::ManageUsers)?;
    if name == caller.name() {
        return Err(ApiError::conflict((
            "You cannot delete yourself; another admin can.",
            "不能删除你自己；请另一位管理员来做。",
        )));
    }
    let db = st.db();
    db.remove_user(&name).map_err(refusal)?;
    st.memory().end_sessions_of(&name);
    st.memory().audit(&db, Some(caller.name()), "user-remove", Some(&name));
    Ok(StatusCode::NO_CONTENT)
}

impl BodyKind for NewToken {
    const WHAT: &'static str = "a new API token: JSON with label";
    const WHAT_ZH: &'static str = "新 API 令牌：含 label 的 JSON";
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    label: String,
}

#[derive(Serialize)]
struct MadeToken {
    user: String,
    label: String,
    token: String,
}

async fn make_token(
    State(st): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<NewToken>,
) -> ApiResult<Response> {
    caller.require(Action::ManageUsers)?;
    // The label as given must be a label (1 to 64 characters, not blank); it is kept trimmed.
    if req.label.chars().count() > crate::store::MAX_TOKEN_LABEL_CHARS {
        return Err(refusal(crate::store::StoreError::BadTokenLabel { max: crate::store::MAX_TOKEN_LABEL_CHARS }));
    }
    let label = req.label.trim().to_owned();
    let db = st.db();
    let token = db.create_api_token(&name, &label).map_err(refusal)?;
    st.memory().audit(&db, Some(caller.name()), "token-create", Some(&format!("{name} `{label}`")));
    Ok((StatusCode::CREATED, Json(MadeToken { user: name, label, token })).into_response())
}

async fn revoke_token(
    State(st): State<AppState>,
    caller: Caller,
    Path((name, label)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.require(Action::ManageUsers)?;
    let db = st.db();
    if !db.revoke_api_token(&name, &label)? {
        return Err(ApiError::not_found((
            format!("API token labelled `{label}` for `{name}`"),
            format!("`{name}` 名下叫 `{label}` 的 API 令牌"),
        )));
    }
    st.memory().audit(&db, Some(caller.name()), "token-revoke", Some(&format!("{name} `{label}`")));
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
#[path = "tests_users.rs"]
pub(crate) mod tests;
