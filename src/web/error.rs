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
}

impl ApiError {
    /// Any status with a sentence.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
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
        ApiError::internal(e)
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        ApiError::internal(e)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(serde_json::json!({ "error": self.message }))).into_response()
    }
}

/// What handlers return.
pub type ApiResult<T> = Result<T, ApiError>;
