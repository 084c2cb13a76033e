//! Every failure the API answers with: a status and JSON `{"error": code, "message": …}` (plus
//! `field` when one input field is at fault). Internal failures are logged, never shown.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use siftgram_core::model::ValidationError;
use siftgram_core::repo::RepoError;
use siftgram_core::rules::LimitError;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable machine-readable code, e.g. `unauthorized`, `invalid`, `not_found`.
    pub error: &'static str,
    /// What went wrong, for people.
    pub message: String,
    /// The input field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    /// Seconds to wait (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, body: ErrorBody { error, message: message.into(), field: None }, retry_after: None }
    }
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    /// Says nothing about what the caller may not see.
    pub fn forbidden() -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", "not allowed")
    }
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }
    /// Input that cannot be used: the field named.
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::BAD_REQUEST, "invalid", message);
        e.body.field = Some(field.to_owned());
        e
    }
    pub fn conflict(error: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, error, message)
    }
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
    pub fn too_many(retry_after: u64) -> ApiError {
        ApiError { retry_after: Some(retry_after), ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests; slow down") }
    }
    /// Something failed here, not in the request: logged with its cause, shown as a 500.
    pub fn internal(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "API request failed");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "something went wrong; try again later")
    }
}

/// The field a validation error is about, as the API names it.
fn field_of(e: &ValidationError) -> &'static str {
    let what = match e {
        ValidationError::Empty(what) => what,
        ValidationError::TooLong { what, .. } | ValidationError::Malformed { what, .. } => what,
    };
    match *what {
        "channel username" | "username" => "username",
        "digest time" => "minute_of_day",
        "digest weekdays" => "weekdays",
        "digest size" => "max_posts",
        other => other,
    }
}

impl From<RepoError> for ApiError {
    fn from(e: RepoError) -> ApiError {
        match e {
            RepoError::Invalid(v) => ApiError::invalid(field_of(&v), v.to_string()),
            RepoError::NotFound(what) => ApiError::not_found(what),
            RepoError::AlreadyExists(what) => ApiError::conflict("exists", format!("{what} already exists")),
            RepoError::Invite(e) => ApiError::conflict("invite", e.to_string()),
            RepoError::Limit(e) => limit(e),
            RepoError::Admin(_) => ApiError::forbidden(),
            RepoError::Contended(what) => ApiError::unavailable(format!("too much concurrent change to {what}; try again")),
            e @ (RepoError::Corrupt { .. } | RepoError::Store(_)) => ApiError::internal(&e),
        }
    }
}

/// A tier limit: 403 for what the tier does not include, 429 for today's quota.
pub(crate) fn limit(e: LimitError) -> ApiError {
    match e {
        LimitError::Daily { .. } => ApiError::new(StatusCode::TOO_MANY_REQUESTS, "daily_limit", e.to_string()),
        LimitError::Channels { .. } | LimitError::NoDigests { .. } => ApiError::new(StatusCode::FORBIDDEN, "tier_limit", e.to_string()),
    }
}

impl From<siftgram_core::ports::QueueError> for ApiError {
    fn from(e: siftgram_core::ports::QueueError) -> ApiError {
        ApiError::internal(&e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("tma, Bearer"));
        }
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
