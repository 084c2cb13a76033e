//! The caller's channels: list (with counts and sync progress), add (the bot's rules and tier
//! limits; the session node resolves the name and subscribes), remove, and a channel's posts.

use super::{Accepted, enqueue_command, work_id};
use crate::ApiState;
use crate::auth::Member;
use crate::error::{ApiError, ApiResult, limit};
use crate::extract::{Body, Params, PathParam};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use siftgram_core::messages::{ReplyTo, SessionCommand};
use siftgram_core::model::{ChannelId, Username};
use siftgram_core::rules;
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, ToSchema)]
pub struct ChannelView {
    pub id: i64,
    pub username: Option<String>,
    pub title: String,
    /// Posts kept.
    pub posts: u64,
    /// Unix seconds of the last check for new posts.
    pub last_synced_at: Option<i64>,
    /// While the history loads: an estimate in percent (never 100 before it ends).
    pub history_loaded_percent: Option<u64>,
    /// The history stopped at this many posts (the tier's allowance).
    pub history_limit: Option<u64>,
    /// New posts not kept today (over the tier's daily allowance).
    pub not_kept_today: u32,
}

#[derive(Serialize, ToSchema)]
pub struct ChannelList {
    pub channels: Vec<ChannelView>,
    /// The tier's limit.
    pub max_channels: u32,
}

/// The caller's channels.
#[utoipa::path(get, path = "/api/channels", tag = "channels", responses((status = 200, body = ChannelList)))]
pub async fn list(State(state): State<ApiState>, Member(caller): Member) -> ApiResult<Json<ChannelList>> {
    // Each channel's reads are independent: they run at once (on DynamoDB and on the embedded
    // store's blocking threads alike), in the subscriptions' order.
    let subscriptions = state.repo.subscriptions_of(caller.id()).await?;
    let views = futures_util::future::try_join_all(subscriptions.iter().map(|sub| channel_view(&state, sub.channel))).await?;
    let tier = caller.user.effective_tier(state.repo.clock().now());
    Ok(Json(ChannelList { channels: views.into_iter().flatten().collect(), max_channels: state.repo.catalog().limits(tier).max_channels }))
}

/// One followed channel with its counts and sync progress (None if it is gone).
async fn channel_view(state: &ApiState, id: ChannelId) -> ApiResult<Option<ChannelView>> {
    let repo = &state.repo;
    let (channel, stats, sync, today) = futures_util::future::try_join4(repo.get_channel(id), repo.channel_stats(id), repo.sync_state(id), repo.kept_today(id)).await?;
    let Some(c) = channel else { return Ok(None) };
    let posts = stats.post_count;
    Ok(Some(ChannelView {
        id: c.id.get(),
        username: c.username.as_ref().map(|u| u.as_str().to_owned()),
        title: c.title.clone(),
        posts,
        last_synced_at: c.last_synced_at.map(|t| t.0),
        history_loaded_percent: sync.history_limit.is_none().then(|| sync.history_loaded(posts, c.last_message_id)).flatten(),
        history_limit: sync.history_limit,
        not_kept_today: today.not_kept,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddChannel {
    /// `@name`, `name` or `https://t.me/name`.
    #[schema(min_length = 1, max_length = 256)]
    pub username: String,
}

/// Follows a public channel: the session node finds it and subscribes (the bot tells the user
/// how it went, and the channel then shows in the list). A channel already followed is
/// checked for new posts instead.
#[utoipa::path(post, path = "/api/channels", tag = "channels", request_body = AddChannel, responses((status = 202, body = Accepted)))]
pub async fn add(State(state): State<ApiState>, Member(caller): Member, Body(form): Body<AddChannel>) -> ApiResult<(StatusCode, Json<Accepted>)> {
    let username = Username::parse(&form.username).map_err(|e| ApiError::invalid("username", e.to_string()))?;
    let reply = ReplyTo { chat_id: caller.id().get(), message_id: None, language: caller.lang };
    let id = work_id("ch");
    if let Some(channel) = state.repo.find_channel_by_username(username.as_str()).await?
        && state.repo.follows(caller.id(), channel.id).await?
    {
        enqueue_command(&state, &SessionCommand::SyncChannel { id: id.clone(), user: caller.id(), channel: channel.id, reply }).await?;
        return Ok((StatusCode::ACCEPTED, Json(Accepted { status: "already_following", id })));
    }
    rules::check_can_add_channel(&caller.user, state.repo.catalog(), state.repo.clock().now()).map_err(limit)?;
    enqueue_command(&state, &SessionCommand::ResolveChannel { id: id.clone(), user: caller.id(), username, reply }).await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted { status: "accepted", id })))
}

fn channel_id(raw: i64) -> ApiResult<ChannelId> {
    ChannelId::new(raw).map_err(|_| ApiError::not_found("channel"))
}

async fn followed(state: &ApiState, caller: &crate::auth::Caller, channel: ChannelId) -> ApiResult<()> {
    if state.repo.follows(caller.id(), channel).await? { Ok(()) } else { Err(ApiError::not_found("channel")) }
}

/// Stops following a channel (its posts stay for other followers).
#[utoipa::path(delete, path = "/api/channels/{channel_id}", tag = "channels", params(("channel_id" = i64, Path)), responses((status = 204)))]
pub async fn remove(State(state): State<ApiState>, Member(caller): Member, PathParam(raw): PathParam<i64>) -> ApiResult<StatusCode> {
    let channel = channel_id(raw)?;
    followed(&state, &caller, channel).await?;
    state.repo.unsubscribe(caller.id(), channel).await?;
    enqueue_command(&state, &SessionCommand::LeaveChannel { id: work_id("rm"), user: caller.id(), channel }).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PostsQuery {
    /// Posts older than this message id (the previous page's `next_before`).
    #[param(minimum = 1)]
    pub before: Option<i64>,
    /// 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct PostView {
    pub message_id: i64,
    /// Unix seconds.
    pub date: i64,
    pub text: String,
    pub link: String,
    pub views: Option<u64>,
    pub tags: Vec<String>,
    pub edited_at: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct PostPage {
    pub posts: Vec<PostView>,
    /// Pass as `before` for the next page; null on the last one.
    pub next_before: Option<i64>,
}

/// A followed channel's posts, newest first.
#[utoipa::path(get, path = "/api/channels/{channel_id}/posts", tag = "channels", params(("channel_id" = i64, Path), PostsQuery), responses((status = 200, body = PostPage)))]
pub async fn posts(State(state): State<ApiState>, Member(caller): Member, PathParam(raw): PathParam<i64>, Params(query): Params<PostsQuery>) -> ApiResult<Json<PostPage>> {
    let channel = channel_id(raw)?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid("limit", "1 to 100"));
    }
    if query.before.is_some_and(|b| b <= 0) {
        return Err(ApiError::invalid("before", "a positive message id"));
    }
    followed(&state, &caller, channel).await?;
    let posts = state.repo.channel_posts_before(channel, query.before, limit + 1).await?;
    let next_before = (posts.len() > limit).then(|| posts[limit - 1].key.message_id);
    let posts = posts
        .into_iter()
        .take(limit)
        .map(|p| PostView {
            message_id: p.key.message_id,
            date: p.date.0,
            text: p.text,
            link: p.link,
            views: p.views,
            tags: p.tags,
            edited_at: p.edited_at.map(|t| t.0),
        })
        .collect();
    Ok(Json(PostPage { posts, next_before }))
}
