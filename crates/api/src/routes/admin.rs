//! The admin panel's API: users (search, filter, page; a user's tier with history, blocking,
//! channels and usage), invite codes, API keys, statistics and the audit trail. Only admins
//! (see [`crate::auth::Admin`]); every change is written to the audit trail.

use super::me::language;
use crate::ApiState;
use crate::auth::{Admin, api_keys};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Params, PathParam};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use siftgram_core::model::{Invite, InviteCode, Role, Tier, TierChangeReason, User, UserId};
use siftgram_core::repo::{AuditEntry, RepoError};
use siftgram_core::rules::DailyQuota;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

async fn audit(state: &ApiState, admin: &Admin, action: &str, target: impl ToString, detail: impl Into<String>) -> ApiResult<()> {
    let entry = AuditEntry { at: state.repo.clock().now(), by: admin.0.id(), action: action.into(), target: target.to_string(), detail: detail.into() };
    tracing::warn!(admin = %entry.by, action = %entry.action, target = %entry.target, detail = %entry.detail, "admin change");
    Ok(state.repo.record_audit(&entry).await?)
}

fn user_id(raw: i64) -> ApiResult<UserId> {
    UserId::new(raw).map_err(|_| ApiError::not_found("user"))
}

#[derive(Serialize, ToSchema)]
pub struct UserRow {
    pub id: i64,
    pub display_name: String,
    /// `user` or `admin`.
    pub role: String,
    /// The tier in force now.
    pub tier: String,
    pub tier_expires_at: Option<i64>,
    pub blocked: bool,
    pub has_access: bool,
    pub channels: u32,
    pub language: String,
    pub created_at: i64,
}

fn row(user: &User, now: siftgram_core::Timestamp) -> UserRow {
    let tier = user.effective_tier(now);
    UserRow {
        id: user.id.get(),
        display_name: user.display_name.clone(),
        role: if user.is_admin() { "admin".into() } else { "user".into() },
        tier: tier.as_str().into(),
        tier_expires_at: user.tier_expiry_in_force(now).map(|t| t.0),
        blocked: user.blocked,
        has_access: user.has_access(),
        channels: user.channel_count,
        language: language(user.language),
        created_at: user.created_at.0,
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UsersQuery {
    /// A user id, or part of the display name (case-insensitive).
    #[param(max_length = 128)]
    pub q: Option<String>,
    pub tier: Option<String>,
    /// `user` or `admin`.
    pub role: Option<String>,
    pub blocked: Option<bool>,
    /// Rows to skip (default 0).
    pub offset: Option<usize>,
    /// 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub users: Vec<UserRow>,
    /// How many match the filters.
    pub total: usize,
    pub offset: usize,
}

/// Users, filtered and a page at a time, in id order.
#[utoipa::path(get, path = "/api/admin/users", tag = "admin", params(UsersQuery), responses((status = 200, body = UserPage)))]
pub async fn users(State(state): State<ApiState>, _admin: Admin, Params(query): Params<UsersQuery>) -> ApiResult<Json<UserPage>> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid("limit", "1 to 200"));
    }
    let tier = query.tier.as_deref().map(|t| t.parse::<Tier>().map_err(|e| ApiError::invalid("tier", e.to_string()))).transpose()?;
    let role = match query.role.as_deref() {
        None => None,
        Some("user") => Some(Role::User),
        Some("admin") => Some(Role::Admin),
        Some(_) => return Err(ApiError::invalid("role", "user or admin")),
    };
    let needle = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_lowercase);
    if needle.as_ref().is_some_and(|q| q.chars().count() > 128) {
        return Err(ApiError::invalid("q", "at most 128 characters"));
    }
    let now = state.repo.clock().now();
    let matching: Vec<User> = state.repo.all_users()
        .await?
        .into_iter()
        .filter(|u| tier.is_none_or(|t| u.effective_tier(now) == t))
        .filter(|u| role.is_none_or(|r| u.role == r))
        .filter(|u| query.blocked.is_none_or(|b| u.blocked == b))
        .filter(|u| needle.as_ref().is_none_or(|q| u.id.to_string() == *q || u.display_name.to_lowercase().contains(q.as_str())))
        .collect();
    let offset = query.offset.unwrap_or(0);
    let users = matching.iter().skip(offset).take(limit).map(|u| row(u, now)).collect();
    Ok(Json(UserPage { users, total: matching.len(), offset }))
}

#[derive(Serialize, ToSchema)]
pub struct TierChangeView {
    pub from: String,
    pub to: String,
    pub at: i64,
    pub expires_at: Option<i64>,
    /// `invite CODE`, `admin ID` or `lapsed`.
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct UserChannel {
    pub id: i64,
    pub title: String,
    pub username: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UserDetail {
    pub user: UserRow,
    pub history: Vec<TierChangeView>,
    pub channels: Vec<UserChannel>,
    /// Questions (and searches, digests on request) today.
    pub questions_today: u32,
    pub signed_in: bool,
    pub invite_code: Option<String>,
}

/// One user: their tier history, channels and today's usage.
#[utoipa::path(get, path = "/api/admin/users/{user_id}", tag = "admin", params(("user_id" = i64, Path)), responses((status = 200, body = UserDetail)))]
pub async fn user(State(state): State<ApiState>, _admin: Admin, PathParam(raw): PathParam<i64>) -> ApiResult<Json<UserDetail>> {
    Ok(Json(detail(&state, user_id(raw)?).await?))
}

async fn detail(state: &ApiState, id: UserId) -> ApiResult<UserDetail> {
    let user = state.repo.get_user(id).await?.ok_or_else(|| ApiError::not_found("user"))?;
    let history = state
        .repo
        .tier_history(id)
        .await?
        .into_iter()
        .rev()
        .map(|c| TierChangeView {
            from: c.from.as_str().into(),
            to: c.to.as_str().into(),
            at: c.at.0,
            expires_at: c.expires_at.map(|t| t.0),
            reason: match c.reason {
                TierChangeReason::Invite { code } => format!("invite {code}"),
                TierChangeReason::AdminGrant { by } => format!("admin {by}"),
                TierChangeReason::Lapsed => "lapsed".into(),
            },
        })
        .collect();
    let mut channels = Vec::new();
    for sub in state.repo.subscriptions_of(id).await? {
        if let Some(c) = state.repo.get_channel(sub.channel).await? {
            channels.push(UserChannel { id: c.id.get(), title: c.title, username: c.username.map(|u| u.as_str().to_owned()) });
        }
    }
    Ok(UserDetail {
        user: row(&user, state.repo.clock().now()),
        history,
        channels,
        questions_today: state.repo.daily_usage(id, DailyQuota::RagQueries).await?,
        signed_in: state.repo.load_session(id).await?.is_some(),
        invite_code: user.invite_code.map(|c| c.to_string()),
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierForm {
    /// free, trial, basic, premium or enterprise.
    pub tier: String,
    /// 1 to 3650 days; absent: the tier's default length.
    #[schema(minimum = 1, maximum = 3650)]
    pub days: Option<u32>,
}

/// Sets a user's tier (the change goes into their subscription history).
#[utoipa::path(put, path = "/api/admin/users/{user_id}/tier", tag = "admin", params(("user_id" = i64, Path)), request_body = TierForm, responses((status = 200, body = UserDetail)))]
pub async fn set_tier(State(state): State<ApiState>, admin: Admin, PathParam(raw): PathParam<i64>, Body(form): Body<TierForm>) -> ApiResult<Json<UserDetail>> {
    let id = user_id(raw)?;
    let tier: Tier = form.tier.parse().map_err(|e: siftgram_core::model::ValidationError| ApiError::invalid("tier", e.to_string()))?;
    if form.days.is_some_and(|d| d == 0 || d > Invite::MAX_DAYS) {
        return Err(ApiError::invalid("days", format!("1 to {}", Invite::MAX_DAYS)));
    }
    let (_, change) = state.repo.grant_tier(&admin.0.user, id, tier, form.days).await?;
    let until = change.expires_at.map(|t| format!(" until {t}")).unwrap_or_default();
    audit(&state, &admin, "tier", id, format!("{} → {}{until}", change.from, change.to)).await?;
    Ok(Json(detail(&state, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockForm {
    pub blocked: bool,
}

/// Blocks or unblocks a user (admins cannot be blocked here: their access is the setting's).
#[utoipa::path(put, path = "/api/admin/users/{user_id}/blocked", tag = "admin", params(("user_id" = i64, Path)), request_body = BlockForm, responses((status = 200, body = UserDetail)))]
pub async fn set_blocked(State(state): State<ApiState>, admin: Admin, PathParam(raw): PathParam<i64>, Body(form): Body<BlockForm>) -> ApiResult<Json<UserDetail>> {
    let id = user_id(raw)?;
    if state.config.is_admin(id) {
        return Err(ApiError::conflict("admin", "admins follow SIFTGRAM_ADMIN_IDS and cannot be blocked"));
    }
    let before = state.repo.get_user(id).await?.ok_or_else(|| ApiError::not_found("user"))?;
    if before.blocked != form.blocked {
        state.repo.set_blocked(id, form.blocked).await?;
        audit(&state, &admin, if form.blocked { "block" } else { "unblock" }, id, before.display_name).await?;
    }
    Ok(Json(detail(&state, id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct InviteView {
    pub code: String,
    /// `https://t.me/<bot>?start=CODE` when the bot's username is configured.
    pub link: Option<String>,
    pub tier: String,
    pub trial_days: Option<u32>,
    pub max_uses: u32,
    pub uses: u32,
    pub created_at: i64,
    pub created_by: i64,
    pub expires_at: Option<i64>,
    pub expired: bool,
}

fn invite_view(state: &ApiState, i: &Invite) -> InviteView {
    InviteView {
        code: i.code.to_string(),
        link: state.config.bot_username.as_ref().map(|bot| format!("https://t.me/{bot}?start={}", i.code)),
        tier: i.tier.as_str().into(),
        trial_days: i.trial_days,
        max_uses: i.max_uses,
        uses: i.uses,
        created_at: i.created_at.0,
        created_by: i.created_by.get(),
        expires_at: i.expires_at.map(|t| t.0),
        expired: i.is_expired(state.repo.clock().now()),
    }
}

/// Invite codes, newest first (the latest 200).
#[utoipa::path(get, path = "/api/admin/invites", tag = "admin", responses((status = 200, body = Vec<InviteView>)))]
pub async fn invites(State(state): State<ApiState>, _admin: Admin) -> ApiResult<Json<Vec<InviteView>>> {
    Ok(Json(state.repo.list_invites(200).await?.iter().map(|i| invite_view(&state, i)).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteForm {
    pub tier: String,
    /// How long the code can be redeemed: 1 to 3650 days.
    #[schema(minimum = 1, maximum = 3650)]
    pub days: u32,
    /// 1 to 10000 users.
    #[schema(minimum = 1, maximum = 10000)]
    pub uses: u32,
    /// How long the granted tier lasts (absent: the tier's default).
    #[schema(minimum = 1, maximum = 3650)]
    pub trial_days: Option<u32>,
}

/// Creates an invite code.
#[utoipa::path(post, path = "/api/admin/invites", tag = "admin", request_body = InviteForm, responses((status = 201, body = InviteView)))]
pub async fn create_invite(State(state): State<ApiState>, admin: Admin, Body(form): Body<InviteForm>) -> ApiResult<(StatusCode, Json<InviteView>)> {
    let tier: Tier = form.tier.parse().map_err(|e: siftgram_core::model::ValidationError| ApiError::invalid("tier", e.to_string()))?;
    if form.days == 0 || form.days > Invite::MAX_DAYS {
        return Err(ApiError::invalid("days", format!("1 to {}", Invite::MAX_DAYS)));
    }
    if form.uses == 0 || form.uses > Invite::MAX_USES {
        return Err(ApiError::invalid("uses", format!("1 to {}", Invite::MAX_USES)));
    }
    if form.trial_days.is_some_and(|d| d == 0 || d > Invite::MAX_DAYS) {
        return Err(ApiError::invalid("trial_days", format!("1 to {}", Invite::MAX_DAYS)));
    }
    let now = state.repo.clock().now();
    for _ in 0..8 {
        let bytes = crate::auth::api_keys::random::<{ InviteCode::RANDOM_BYTES }>();
        let invite = Invite::new(InviteCode::from_random_bytes(bytes), admin.0.id(), now, tier, Some(form.days), form.uses, form.trial_days)
            .map_err(|e| ApiError::from(RepoError::Invalid(e)))?;
        match state.repo.create_invite(&invite).await {
            Ok(()) => {
                audit(&state, &admin, "invite_create", &invite.code, format!("{tier}, {} uses, {} days", form.uses, form.days)).await?;
                return Ok((StatusCode::CREATED, Json(invite_view(&state, &invite))));
            }
            Err(RepoError::AlreadyExists(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::unavailable("could not find a free invite code; try again"))
}

/// Revokes an invite code: nobody can redeem it any more.
#[utoipa::path(delete, path = "/api/admin/invites/{code}", tag = "admin", params(("code" = String, Path)), responses((status = 200, body = InviteView)))]
pub async fn revoke_invite(State(state): State<ApiState>, admin: Admin, PathParam(code): PathParam<String>) -> ApiResult<Json<InviteView>> {
    let invite = match state.repo.revoke_invite(&code).await {
        Err(RepoError::Invalid(_)) => return Err(ApiError::not_found("invite")),
        other => other?,
    };
    audit(&state, &admin, "invite_revoke", &invite.code, "").await?;
    Ok(Json(invite_view(&state, &invite)))
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub user: i64,
    pub name: String,
    pub created_at: i64,
    pub created_by: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

fn key_view(k: &siftgram_core::repo::ApiKey) -> ApiKeyView {
    ApiKeyView {
        id: k.id.clone(),
        user: k.user.get(),
        name: k.name.clone(),
        created_at: k.created_at.0,
        created_by: k.created_by.get(),
        last_used_at: k.last_used_at.map(|t| t.0),
        revoked_at: k.revoked_at.map(|t| t.0),
    }
}

/// Every API key (revoked ones too), oldest first per user.
#[utoipa::path(get, path = "/api/admin/api-keys", tag = "admin", responses((status = 200, body = Vec<ApiKeyView>)))]
pub async fn api_key_list(State(state): State<ApiState>, _admin: Admin) -> ApiResult<Json<Vec<ApiKeyView>>> {
    Ok(Json(state.repo.list_api_keys(None).await?.iter().map(key_view).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyForm {
    /// Whose requests the key makes.
    #[schema(minimum = 1)]
    pub user: i64,
    /// To tell keys apart (at most 64 characters).
    #[serde(default)]
    #[schema(max_length = 64)]
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct NewApiKey {
    /// The key itself: shown this once, never again (only its hash is kept).
    pub key: String,
    pub api_key: ApiKeyView,
}

/// Creates an API key for a user.
#[utoipa::path(post, path = "/api/admin/api-keys", tag = "admin", request_body = ApiKeyForm, responses((status = 201, body = NewApiKey)))]
pub async fn api_key_create(State(state): State<ApiState>, admin: Admin, Body(form): Body<ApiKeyForm>) -> ApiResult<(StatusCode, Json<NewApiKey>)> {
    let user = UserId::new(form.user).map_err(|_| ApiError::invalid("user", "a Telegram user id"))?;
    let (record, key) = api_keys::create(&state.repo, user, admin.0.id(), &form.name).await?;
    audit(&state, &admin, "api_key_create", &record.id, format!("for {user} ({})", record.name)).await?;
    Ok((StatusCode::CREATED, Json(NewApiKey { key, api_key: key_view(&record) })))
}

/// Revokes an API key at once.
#[utoipa::path(delete, path = "/api/admin/api-keys/{key_id}", tag = "admin", params(("key_id" = String, Path)), responses((status = 204)))]
pub async fn api_key_revoke(State(state): State<ApiState>, admin: Admin, PathParam(id): PathParam<String>) -> ApiResult<StatusCode> {
    if id.len() > 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::not_found("api key"));
    }
    if state.repo.revoke_api_key(&id).await? {
        audit(&state, &admin, "api_key_revoke", &id, "").await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct QueueStats {
    pub name: String,
    /// Waiting or in flight (approximate on SQS).
    pub depth: usize,
    pub dead_letters: usize,
}

#[derive(Serialize, ToSchema)]
pub struct Stats {
    pub users: usize,
    pub with_access: usize,
    pub blocked: usize,
    /// Tier name → users.
    pub by_tier: BTreeMap<String, usize>,
    /// Users who asked or searched today (UTC).
    pub active_today: usize,
    pub questions_today: u64,
    pub channels: usize,
    pub posts: u64,
    pub queues: Vec<QueueStats>,
}

/// Users per tier, activity today, channels, posts, queue depths and dead letters.
#[utoipa::path(get, path = "/api/admin/stats", tag = "admin", responses((status = 200, body = Stats)))]
pub async fn stats(State(state): State<ApiState>, _admin: Admin) -> ApiResult<Json<Stats>> {
    let now = state.repo.clock().now();
    let users = state.repo.all_users().await?;
    let mut by_tier: BTreeMap<String, usize> = Tier::ALL.iter().map(|t| (t.as_str().to_owned(), 0)).collect();
    let (mut active_today, mut questions_today) = (0, 0u64);
    for u in &users {
        *by_tier.entry(u.effective_tier(now).as_str().to_owned()).or_default() += 1;
        let asked = state.repo.daily_usage(u.id, DailyQuota::RagQueries).await?;
        active_today += usize::from(asked > 0);
        questions_today += u64::from(asked);
    }
    let channels = state.repo.list_channels().await?;
    let mut posts = 0;
    for c in &channels {
        posts += state.repo.channel_stats(c.id).await?.post_count;
    }
    let mut queues = Vec::new();
    for q in &state.queues {
        let (depth, dead_letters) = q.depths().await?;
        queues.push(QueueStats { name: q.name.clone(), depth, dead_letters });
    }
    Ok(Json(Stats {
        users: users.len(),
        with_access: users.iter().filter(|u| u.has_access()).count(),
        blocked: users.iter().filter(|u| u.blocked).count(),
        by_tier,
        active_today,
        questions_today,
        channels: channels.len(),
        posts,
        queues,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct AuditView {
    pub at: i64,
    pub by: i64,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// The latest 200 admin changes, newest first.
#[utoipa::path(get, path = "/api/admin/audit", tag = "admin", responses((status = 200, body = Vec<AuditView>)))]
pub async fn audit_trail(State(state): State<ApiState>, _admin: Admin) -> ApiResult<Json<Vec<AuditView>>> {
    let entries = state.repo.recent_audit(200).await?;
    Ok(Json(entries.into_iter().map(|e| AuditView { at: e.at.0, by: e.by.get(), action: e.action, target: e.target, detail: e.detail }).collect()))
}
