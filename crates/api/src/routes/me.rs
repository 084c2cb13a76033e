//! `GET /api/me`: who the caller is, their tier, its limits and what they used today.

use crate::ApiState;
use crate::auth::Caller;
use crate::error::ApiResult;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use siftgram_core::rules::DailyQuota;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Limits {
    pub max_channels: u32,
    pub posts_per_day: u32,
    pub questions_per_day: u32,
    pub digests: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Usage {
    /// Questions, searches and digests on request counted today (UTC).
    pub questions: u32,
    pub channels: u32,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: i64,
    pub display_name: String,
    /// `ru` or `en`: what the Mini Apps and the bot answer in.
    pub language: String,
    /// `user` or `admin`.
    pub role: String,
    pub admin: bool,
    /// The tier in force now (a lapsed one reads `free`).
    pub tier: String,
    /// Unix seconds; null when the tier does not lapse.
    pub tier_expires_at: Option<i64>,
    /// An invite was redeemed (or the user is an admin): the product is theirs to use.
    pub has_access: bool,
    /// Their Telegram account is connected (a session is stored).
    pub signed_in: bool,
    pub limits: Limits,
    pub usage_today: Usage,
}

pub(crate) fn language(lang: siftgram_core::model::Language) -> String {
    match lang {
        siftgram_core::model::Language::Ru => "ru".into(),
        siftgram_core::model::Language::En => "en".into(),
    }
}

/// The caller's profile, tier, limits and today's usage.
#[utoipa::path(get, path = "/api/me", tag = "user", responses((status = 200, body = Me)))]
pub async fn me(State(state): State<ApiState>, caller: Caller) -> ApiResult<Json<Me>> {
    let now = state.repo.clock().now();
    let user = &caller.user;
    let tier = user.effective_tier(now);
    let limits = state.repo.catalog().limits(tier);
    let questions = state.repo.daily_usage(user.id, DailyQuota::RagQueries).await?;
    let signed_in = state.repo.load_session(user.id).await?.is_some();
    Ok(Json(Me {
        id: user.id.get(),
        display_name: user.display_name.clone(),
        language: language(caller.lang),
        role: if user.is_admin() { "admin".into() } else { "user".into() },
        admin: state.config.is_admin(user.id),
        tier: tier.as_str().into(),
        tier_expires_at: user.tier_expiry_in_force(now).map(|t| t.0),
        has_access: user.has_access(),
        signed_in,
        limits: Limits {
            max_channels: limits.max_channels,
            posts_per_day: limits.posts_per_day,
            questions_per_day: limits.rag_queries_per_day,
            digests: limits.digests,
        },
        usage_today: Usage { questions, channels: user.channel_count },
    }))
}
