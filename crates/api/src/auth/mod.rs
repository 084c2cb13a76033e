//! Who is calling. Three kinds of caller, each proven on every request:
//! * Mini App users: `Authorization: tma <initData>`, checked with the bot token's HMAC
//!   ([`init_data`]); the user in it is the caller, nothing else the page says is trusted.
//! * Admins: a Mini App user listed in `SIFTGRAM_ADMIN_IDS` (the stored role follows it).
//! * Automation: `Authorization: Bearer sg_<id>_<secret>` API keys ([`api_keys`]), each acting
//!   as the user it was made for, rate-limited per key; never admin.

pub mod api_keys;
pub mod init_data;
pub mod third_party;

pub use init_data::{InitData, InitDataError, WebAppUser, sign_init_data, validate_init_data};
pub use third_party::{TelegramEnvironment, validate_third_party};

use crate::ApiState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use siftgram_core::model::{Language, Role, User, UserId};
use siftgram_core::rules::RateDecision;

/// How the caller proved who they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    MiniApp,
    /// The API key's public id.
    ApiKey(String),
}

/// The authenticated user behind a request, as stored.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: User,
    pub via: Via,
    /// The language to answer in: the Mini App's Telegram language, else the stored one.
    pub lang: Language,
}

impl Caller {
    pub fn id(&self) -> UserId {
        self.user.id
    }
}

fn no_credentials() -> ApiError {
    ApiError::unauthorized("send Authorization: tma <initData> (from Telegram) or Bearer <API key>")
}

fn authorization(parts: &Parts) -> Result<&str, ApiError> {
    parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(no_credentials)
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Caller, ApiError> {
        let header = authorization(parts)?;
        let now = state.repo.clock().now();
        let (id, via, lang) = if let Some(raw) = header.strip_prefix("tma ") {
            let data = validate_init_data(raw.trim(), state.config.bot_token(), now, state.config.init_data_max_age_secs).map_err(|e| {
                tracing::info!(error = %e, "Mini App launch data refused");
                ApiError::unauthorized(match e {
                    InitDataError::Expired { .. } => "the Mini App's launch data has expired; open it from Telegram again".to_owned(),
                    _ => "open this from Telegram".to_owned(),
                })
            })?;
            let id = UserId::new(data.user.id).map_err(|_| ApiError::unauthorized("open this from Telegram"))?;
            (id, Via::MiniApp, Some(Language::from_telegram_code(data.user.language_code.as_deref())))
        } else if let Some(key) = header.strip_prefix("Bearer ") {
            let key = api_keys::verify(&state.repo, key.trim()).await?;
            if let RateDecision::Limited { .. } = state.repo.take_api_key_token(&key.id, state.config.api_key_rate).await? {
                return Err(ApiError::too_many(60 / u64::from(state.config.api_key_rate.per_minute.max(1)).max(1)));
            }
            state.repo.touch_api_key(&key.id).await?;
            (key.user, Via::ApiKey(key.id), None)
        } else {
            return Err(no_credentials());
        };
        let user = state.repo.get_user(id).await?.ok_or_else(|| match via {
            Via::MiniApp => ApiError::new(axum::http::StatusCode::FORBIDDEN, "unknown_user", "send /start to the bot first"),
            Via::ApiKey(_) => ApiError::unauthorized("this API key's user no longer exists"),
        })?;
        if user.blocked {
            return Err(ApiError::new(axum::http::StatusCode::FORBIDDEN, "blocked", "this account is blocked"));
        }
        let span = tracing::Span::current();
        span.record("user", user.id.get());
        Ok(Caller { lang: lang.unwrap_or(user.language), user, via })
    }
}

/// A Mini App caller who is an admin. Anyone else gets a bare 403.
#[derive(Clone, Debug)]
pub struct Admin(pub Caller);

impl FromRequestParts<ApiState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Admin, ApiError> {
        let mut caller = Caller::from_request_parts(parts, state).await?;
        if caller.via != Via::MiniApp || !state.config.is_admin(caller.id()) {
            return Err(ApiError::forbidden());
        }
        if caller.user.role != Role::Admin {
            // The setting decides; the stored role (which `grant_tier` checks) catches up.
            tracing::warn!(user = %caller.id(), "admin role granted from SIFTGRAM_ADMIN_IDS");
            caller.user = state.repo.set_role(caller.id(), Role::Admin).await?;
        }
        Ok(Admin(caller))
    }
}

/// Only for users who have access (an invite redeemed, or admins): the product's own routes.
#[derive(Clone, Debug)]
pub struct Member(pub Caller);

impl FromRequestParts<ApiState> for Member {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Member, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if !caller.user.has_access() {
            return Err(ApiError::new(axum::http::StatusCode::FORBIDDEN, "no_access", "sign in with an invite code first: /login CODE in the bot"));
        }
        Ok(Member(caller))
    }
}
