//! The QR login, seen from the login Mini App: `GET /api/login` shows what the session node
//! wrote (the QR to scan, the 2FA prompt, a block, the outcome); `POST /api/login/password`
//! sends the two-step verification password — sealed to the session node before it leaves
//! this process, so the queue (and its dead letters) only ever carry ciphertext; it is never
//! stored or logged here.

use crate::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Body;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use siftgram_core::messages::SessionCommand;
use siftgram_core::repo::{LOGIN_STATE_TTL_SECS, LoginState};
use siftgram_core::rules::MAX_PASSWORD_FAILURES;
use utoipa::ToSchema;

/// Where the caller's login stands.
#[derive(Serialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LoginView {
    /// No login in progress (none started, or it ended more than 10 minutes ago): send /login.
    None,
    /// Scan this QR code in Telegram (Settings → Devices → Link Desktop Device).
    Waiting {
        /// The `tg://login?token=…` URL the QR code holds.
        url: String,
        /// The QR code as an `<svg>` element.
        qr_svg: String,
        /// Unix seconds when Telegram stops accepting this code (the node then shows a new one).
        expires_at: i64,
        seconds_left: i64,
    },
    /// Two-step verification is on: the account's password is needed.
    PasswordNeeded {
        hint: Option<String>,
        /// Wrong passwords so far.
        failures: u32,
        attempts_left: u32,
    },
    /// Too many wrong passwords.
    Blocked { until: i64 },
    Done,
    Failed { reason: String },
}

/// The caller's login as the session node last wrote it.
#[utoipa::path(get, path = "/api/login", tag = "login", responses((status = 200, body = LoginView)))]
pub async fn login_state(State(state): State<ApiState>, caller: Caller) -> ApiResult<Json<LoginView>> {
    let now = state.repo.clock().now();
    let view = match state.repo.login_state(caller.id()).await? {
        None => match state.repo.login_blocked_until(caller.id()).await? {
            Some(until) if until > now => LoginView::Blocked { until: until.0 },
            _ => LoginView::None,
        },
        Some(LoginState::Waiting { url, expires }) => {
            let qr_svg = crate::qr::svg(&url).ok_or_else(|| ApiError::internal(&"the login URL does not fit a QR code"))?;
            LoginView::Waiting { url, qr_svg, expires_at: expires.0, seconds_left: (expires.0 - now.0).max(0) }
        }
        Some(LoginState::PasswordNeeded { hint, failures }) => {
            LoginView::PasswordNeeded { hint, failures, attempts_left: MAX_PASSWORD_FAILURES.saturating_sub(failures) }
        }
        Some(LoginState::Blocked { until }) => LoginView::Blocked { until: until.0 },
        Some(LoginState::Done) => LoginView::Done,
        Some(LoginState::Failed { reason }) => LoginView::Failed { reason },
    };
    Ok(Json(view))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordForm {
    /// The account's two-step verification password (1 to 1024 bytes).
    #[schema(min_length = 1, max_length = 1024)]
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct Accepted {
    /// `accepted`: the work is queued; watch its effect (the login state, the channel list).
    pub status: &'static str,
    /// The queued work's id.
    pub id: String,
}

/// Sends the 2FA password of the login in progress to the session node.
#[utoipa::path(post, path = "/api/login/password", tag = "login", request_body = PasswordForm, responses((status = 202, body = Accepted)))]
pub async fn submit_password(State(state): State<ApiState>, caller: Caller, Body(form): Body<PasswordForm>) -> ApiResult<(StatusCode, Json<Accepted>)> {
    if form.password.is_empty() || form.password.len() > siftgram_sealed::MAX_PASSWORD_BYTES {
        return Err(ApiError::invalid("password", format!("1 to {} bytes", siftgram_sealed::MAX_PASSWORD_BYTES)));
    }
    match state.repo.login_state(caller.id()).await? {
        Some(LoginState::PasswordNeeded { .. }) => {}
        _ => return Err(ApiError::conflict("no_password_asked", "no login is waiting for a password; send /login to the bot")),
    }
    let key = state.repo.password_key().await?.ok_or_else(|| ApiError::unavailable("the session node is not running"))?;
    let now = state.repo.clock().now();
    let sealed = siftgram_sealed::seal(&key, caller.id(), now.plus_secs(LOGIN_STATE_TTL_SECS), &form.password).map_err(|e| ApiError::internal(&e))?;
    drop(form);
    let id = super::work_id("pw");
    super::enqueue_command(&state, &SessionCommand::SubmitPassword { id: id.clone(), user: caller.id(), password: sealed }).await?;
    tracing::info!(user = %caller.id(), work = %id, "2FA password sealed and queued");
    Ok((StatusCode::ACCEPTED, Json(Accepted { status: "accepted", id })))
}
