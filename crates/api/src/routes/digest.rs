//! Digest settings: read and replace (the same checks as the bot's `/digest` panel: a tier with
//! digests to enable them, followed channels only, a real time zone).

use crate::ApiState;
use crate::auth::Member;
use crate::error::{ApiError, ApiResult};
use crate::extract::Body;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use siftgram_core::model::{ChannelId, DigestFrequency, DigestSettings, DigestStyle, MAX_TAG_CHARS};
use utoipa::ToSchema;

/// Tags a digest may be narrowed to (as in the bot).
pub const MAX_DIGEST_TAGS: usize = 20;

#[derive(Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    Daily,
    Weekly,
}

#[derive(Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    /// One line per post.
    Brief,
    /// A few sentences per post.
    Detailed,
}

/// What can be set.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DigestForm {
    pub enabled: bool,
    pub frequency: Frequency,
    /// Local time of day in minutes (0 to 1439).
    #[schema(maximum = 1439)]
    pub minute_of_day: u16,
    /// ISO weekdays, 1 = Monday (weekly digests).
    #[serde(default)]
    #[schema(max_items = 7)]
    pub weekdays: Vec<u8>,
    /// An IANA zone name, e.g. `Europe/Moscow`.
    #[schema(min_length = 1, max_length = 64)]
    pub timezone: String,
    /// Only these followed channels (empty: all).
    #[serde(default)]
    pub channels: Vec<i64>,
    /// Only posts with any of these tags (empty: all).
    #[serde(default)]
    #[schema(max_items = 20)]
    pub tags: Vec<String>,
    /// 1 to 100.
    #[schema(minimum = 1, maximum = 100)]
    pub max_posts: u16,
    pub ai_summary: bool,
    pub style: Style,
}

#[derive(Serialize, ToSchema)]
pub struct DigestView {
    pub enabled: bool,
    pub frequency: Frequency,
    pub minute_of_day: u16,
    pub weekdays: Vec<u8>,
    pub timezone: String,
    pub channels: Vec<i64>,
    pub tags: Vec<String>,
    pub max_posts: u16,
    pub ai_summary: bool,
    pub style: Style,
    /// Unix seconds of the next digest (null when disabled).
    pub next_due: Option<i64>,
    pub last_sent: Option<i64>,
}

fn view(s: DigestSettings) -> DigestView {
    DigestView {
        enabled: s.enabled,
        frequency: match s.frequency {
            DigestFrequency::Daily => Frequency::Daily,
            DigestFrequency::Weekly => Frequency::Weekly,
        },
        minute_of_day: s.minute_of_day,
        weekdays: s.weekdays,
        timezone: s.timezone,
        channels: s.channels.iter().map(|c| c.get()).collect(),
        tags: s.tags,
        max_posts: s.max_posts,
        ai_summary: s.ai_summary,
        style: match s.style {
            DigestStyle::Brief => Style::Brief,
            DigestStyle::Detailed => Style::Detailed,
        },
        next_due: s.next_due.map(|t| t.0),
        last_sent: s.last_sent.map(|t| t.0),
    }
}

/// The caller's digest settings (defaults, disabled, when never saved).
#[utoipa::path(get, path = "/api/digest", tag = "digest", responses((status = 200, body = DigestView)))]
pub async fn get(State(state): State<ApiState>, Member(caller): Member) -> ApiResult<Json<DigestView>> {
    Ok(Json(view(state.repo.digest_settings(caller.id()).await?)))
}

/// Replaces the caller's digest settings and schedules the next digest.
#[utoipa::path(put, path = "/api/digest", tag = "digest", request_body = DigestForm, responses((status = 200, body = DigestView)))]
pub async fn put(State(state): State<ApiState>, Member(caller): Member, Body(form): Body<DigestForm>) -> ApiResult<Json<DigestView>> {
    if form.tags.len() > MAX_DIGEST_TAGS || form.tags.iter().any(|t| t.trim().is_empty() || t.chars().count() > MAX_TAG_CHARS) {
        return Err(ApiError::invalid("tags", format!("at most {MAX_DIGEST_TAGS} tags of 1 to {MAX_TAG_CHARS} characters")));
    }
    let followed: Vec<ChannelId> = state.repo.subscriptions_of(caller.id()).await?.into_iter().map(|s| s.channel).collect();
    let mut channels = Vec::new();
    for raw in &form.channels {
        match ChannelId::new(*raw) {
            Ok(c) if followed.contains(&c) => channels.push(c),
            _ => return Err(ApiError::invalid("channels", format!("{raw} is not a channel you follow"))),
        }
    }
    channels.sort();
    channels.dedup();
    let mut weekdays = form.weekdays.clone();
    weekdays.sort();
    weekdays.dedup();
    let mut settings = state.repo.digest_settings(caller.id()).await?;
    settings.enabled = form.enabled;
    settings.frequency = match form.frequency {
        Frequency::Daily => DigestFrequency::Daily,
        Frequency::Weekly => DigestFrequency::Weekly,
    };
    settings.minute_of_day = form.minute_of_day;
    settings.weekdays = weekdays;
    settings.timezone = form.timezone.trim().to_owned();
    settings.channels = channels;
    settings.tags = form.tags.iter().map(|t| t.trim().to_owned()).collect();
    settings.max_posts = form.max_posts;
    settings.ai_summary = form.ai_summary;
    settings.style = match form.style {
        Style::Brief => DigestStyle::Brief,
        Style::Detailed => DigestStyle::Detailed,
    };
    // Checked before anything is written: the tier, then the values themselves.
    if settings.enabled {
        siftgram_core::rules::check_can_use_digests(&caller.user, state.repo.catalog(), state.repo.clock().now()).map_err(crate::error::limit)?;
    }
    settings.validate().map_err(|e| ApiError::from(siftgram_core::repo::RepoError::Invalid(e)))?;
    Ok(Json(view(state.repo.save_digest_settings(&settings).await?)))
}
