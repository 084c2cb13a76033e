//! The routes, gathered into one router with their OpenAPI document.

pub mod admin;
pub mod channels;
pub mod digest;
pub mod login;
pub mod me;
pub mod questions;

pub use login::Accepted;

use crate::auth::{Admin, Caller};
use crate::error::{ApiError, ApiResult};
use crate::{ApiState, MAX_BODY_BYTES};
use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use siftgram_core::messages::SessionCommand;
use siftgram_core::ports::OutgoingMessage;
use tracing::Instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The id of work an API request causes: a prefix and 96 random bits (a retried request is a
/// new request; the queues' deduplication covers their own redeliveries).
pub(crate) fn work_id(prefix: &str) -> String {
    use crate::auth::api_keys::{hex, random};
    format!("{prefix}-{}", hex(&random::<12>()))
}

pub(crate) fn is_work_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('-')).is_some_and(|hex| hex.len() == 24 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Queues work for the session node, in the user's FIFO group.
pub(crate) async fn enqueue_command(state: &ApiState, command: &SessionCommand) -> ApiResult<()> {
    let body = serde_json::to_string(command).expect("commands serialize");
    state.commands.send(OutgoingMessage::new(body).in_group(command.user().to_string()).dedup(command.id())).await?;
    Ok(())
}

/// Signs the caller's Telegram account out of Siftgram: the session node logs the session out
/// at Telegram and forgets it (channels and settings stay; `/login` connects again).
#[utoipa::path(post, path = "/api/logout", tag = "user", responses((status = 202, body = Accepted)))]
async fn logout(State(state): State<ApiState>, caller: Caller) -> ApiResult<(StatusCode, Json<Accepted>)> {
    let id = work_id("out");
    enqueue_command(&state, &SessionCommand::LogOut { id: id.clone(), user: caller.id() }).await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted { status: "accepted", id })))
}

/// Everything the API serves except the document itself.
fn documented() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(crate::openapi::base())
        .routes(routes!(me::me))
        .routes(routes!(logout))
        .routes(routes!(login::login_state))
        .routes(routes!(login::submit_password))
        .routes(routes!(channels::list, channels::add))
        .routes(routes!(channels::remove))
        .routes(routes!(channels::posts))
        .routes(routes!(questions::search))
        .routes(routes!(questions::ask))
        .routes(routes!(questions::answer))
        .routes(routes!(questions::history))
        .routes(routes!(digest::get, digest::put))
        .routes(routes!(admin::users))
        .routes(routes!(admin::user))
        .routes(routes!(admin::set_tier))
        .routes(routes!(admin::set_blocked))
        .routes(routes!(admin::invites, admin::create_invite))
        .routes(routes!(admin::revoke_invite))
        .routes(routes!(admin::api_key_list, admin::api_key_create))
        .routes(routes!(admin::api_key_revoke))
        .routes(routes!(admin::stats))
        .routes(routes!(admin::audit_trail))
}

/// The OpenAPI document of every route (what `/api/openapi.json` serves).
pub fn openapi() -> utoipa::openapi::OpenApi {
    crate::openapi::finish(documented().into_openapi())
}

pub(crate) fn router(state: ApiState) -> Router {
    let (routes, document) = documented().split_for_parts();
    let document = std::sync::Arc::new(crate::openapi::finish(document));
    routes
        .route("/api/openapi.json", get(move |_caller: Caller| async move { Json((*document).clone()) }))
        // Unknown admin paths answer non-admins as the known ones do: nothing to learn there.
        .route("/api/admin/{*rest}", axum::routing::any(|_admin: Admin| async { ApiError::not_found("route") }))
        .fallback(|| async { ApiError::not_found("route") })
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(std::sync::Arc::new(state.config.allowed_origins.clone()), crate::cors::cors))
        .layer(middleware::from_fn(request_span))
        .with_state(state)
}

/// A known path with another method. Under `/api/admin` only admins learn that much.
async fn method_not_allowed(uri: axum::http::Uri, admin: Result<Admin, ApiError>) -> ApiError {
    match admin {
        Err(refused) if uri.path().starts_with("/api/admin") => refused,
        _ => ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed"),
    }
}

/// One span per request (the caller's user id is recorded once known), and a log line. Each
/// request is a trace of its own (what it queues carries the id); the id is in `X-Trace-Id`.
async fn request_span(request: Request, next: Next) -> Response {
    let trace = siftgram_core::trace::TraceId::fresh("api");
    let span = tracing::info_span!("api", method = %request.method(), path = %request.uri().path(), user = tracing::field::Empty);
    let mut response = siftgram_core::trace::traced(Some(trace.clone()), next.run(request).instrument(span.clone())).await;
    span.in_scope(|| tracing::debug!(status = response.status().as_u16(), "answered"));
    if let Ok(value) = axum::http::HeaderValue::from_str(trace.as_str()) {
        response.headers_mut().insert("x-trace-id", value);
    }
    response.into_response()
}
