//! Search (answered here, by the same retriever and fusion as `/search`), ask (queued like
//! `/ask`; the worker stores the answer, fetched by id), and the caller's query history.
//! Searches and questions count against the same daily quota as in the bot.

use super::work_id;
use crate::ApiState;
use crate::auth::Member;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Params, PathParam};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use siftgram_core::discover::{FoundSource, Searcher, WebStatus};
use siftgram_core::messages::{Delivery, Job, JobRequest, ReplyTo};
use siftgram_core::ports::OutgoingMessage;
use siftgram_core::repo::JobResult;
use siftgram_core::rules::DailyQuota;
use utoipa::{IntoParams, ToSchema};

use siftgram_core::rules::MAX_QUESTION_CHARS as MAX_QUERY_CHARS;

fn checked_text(field: &str, text: &str) -> ApiResult<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::invalid(field, "empty"));
    }
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::invalid(field, format!("at most {MAX_QUERY_CHARS} characters")));
    }
    Ok(text.to_owned())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// What to look for (1 to 1000 characters).
    #[param(min_length = 1, max_length = 1000)]
    pub q: String,
    /// 1 to 20 results (default 8).
    #[param(minimum = 1, maximum = 20)]
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct Hit {
    /// `post` (one of the caller's channels) or `web`.
    pub source: String,
    pub title: String,
    pub url: String,
    pub snippet: String,
    /// Posts: the channel's title; web pages: the site.
    pub origin: String,
    /// Posts: unix seconds.
    pub date: Option<i64>,
    pub channel_id: Option<i64>,
    pub message_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct SearchResults {
    pub results: Vec<Hit>,
    /// `included`, `not_configured` or `failed`.
    pub web: String,
}

/// Searches the caller's posts (and the web, when configured) in one ranked list.
#[utoipa::path(get, path = "/api/search", tag = "questions", params(SearchQuery), responses((status = 200, body = SearchResults)))]
pub async fn search(State(state): State<ApiState>, Member(caller): Member, Params(query): Params<SearchQuery>) -> ApiResult<Json<SearchResults>> {
    let text = checked_text("q", &query.q)?;
    let limit = query.limit.unwrap_or(8);
    if !(1..=20).contains(&limit) {
        return Err(ApiError::invalid("limit", "1 to 20"));
    }
    let retriever = state.retriever.clone().ok_or_else(|| ApiError::unavailable("search runs where the index is; not here"))?;
    state.repo.consume_daily_quota(caller.id(), DailyQuota::RagQueries).await?;
    let searcher = Searcher { repo: state.repo.clone(), retriever, web: state.web.clone() };
    let outcome = searcher.search(caller.id(), &text, caller.lang, limit).await.map_err(|e| ApiError::internal(&e))?;
    let results = outcome
        .results
        .into_iter()
        .map(|f| {
            let (source, origin, date, key) = match f.source {
                FoundSource::Post { channel_title, date, key } => ("post", channel_title, Some(date.0), Some(key)),
                FoundSource::Web { site } => ("web", site, None, None),
            };
            Hit {
                source: source.into(),
                title: f.title,
                url: f.url,
                snippet: f.snippet,
                origin,
                date,
                channel_id: key.map(|k| k.channel_id.get()),
                message_id: key.map(|k| k.message_id),
            }
        })
        .collect();
    let web = match outcome.web {
        WebStatus::Included => "included",
        WebStatus::NotConfigured => "not_configured",
        WebStatus::Failed => "failed",
    };
    Ok(Json(SearchResults { results, web: web.into() }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AskForm {
    /// The question (1 to 1000 characters).
    #[schema(min_length = 1, max_length = 1000)]
    pub question: String,
}

#[derive(Serialize, ToSchema)]
pub struct AskAccepted {
    /// Fetch the answer at `/api/ask/{id}`.
    pub id: String,
    pub status: &'static str,
}

/// Asks a question about the caller's channels; the answer (with cited sources) is fetched by id.
#[utoipa::path(post, path = "/api/ask", tag = "questions", request_body = AskForm, responses((status = 202, body = AskAccepted)))]
pub async fn ask(State(state): State<ApiState>, Member(caller): Member, Body(form): Body<AskForm>) -> ApiResult<(StatusCode, Json<AskAccepted>)> {
    let question = checked_text("question", &form.question)?;
    state.repo.consume_daily_quota(caller.id(), DailyQuota::RagQueries).await?;
    let id = work_id("ask");
    let job = Job {
        id: id.clone(),
        user: caller.id(),
        reply: ReplyTo { chat_id: caller.id().get(), message_id: None, language: caller.lang },
        request: JobRequest::Ask { question },
        delivery: Delivery::Api,
    };
    state.jobs.send(OutgoingMessage::new(serde_json::to_string(&job).expect("jobs serialize"))).await?;
    Ok((StatusCode::ACCEPTED, Json(AskAccepted { id, status: "pending" })))
}

#[derive(Serialize, ToSchema)]
pub struct SourceView {
    /// The `[n]` the text refers to.
    pub number: usize,
    pub channel_id: i64,
    pub message_id: i64,
    pub channel_title: String,
    pub link: String,
    pub date: i64,
}

#[derive(Serialize, ToSchema)]
pub struct AnswerView {
    /// `pending`, `answered` or `failed`.
    pub status: &'static str,
    /// The answer with `[n]` markers for `sources`.
    pub text: Option<String>,
    /// `model`, `extractive` (sentences from the posts) or `nothing` (no posts matched).
    pub kind: Option<String>,
    pub sources: Vec<SourceView>,
}

/// The answer to a question asked with `POST /api/ask` (pending until the worker is done).
#[utoipa::path(get, path = "/api/ask/{id}", tag = "questions", params(("id" = String, Path)), responses((status = 200, body = AnswerView)))]
pub async fn answer(State(state): State<ApiState>, Member(caller): Member, PathParam(id): PathParam<String>) -> ApiResult<Json<AnswerView>> {
    if !super::is_work_id(&id, "ask") {
        return Err(ApiError::not_found("question"));
    }
    let view = match state.repo.job_result(caller.id(), &id).await? {
        None => AnswerView { status: "pending", text: None, kind: None, sources: Vec::new() },
        Some(JobResult::Failed) => AnswerView { status: "failed", text: None, kind: None, sources: Vec::new() },
        Some(JobResult::Answered { answer }) => AnswerView {
            status: "answered",
            kind: Some(match answer.kind {
                siftgram_core::answer::AnswerKind::Model(_) => "model".into(),
                siftgram_core::answer::AnswerKind::Extractive => "extractive".into(),
                siftgram_core::answer::AnswerKind::Nothing => "nothing".into(),
            }),
            text: Some(answer.text),
            sources: answer
                .sources
                .into_iter()
                .map(|c| SourceView { number: c.number, channel_id: c.key.channel_id.get(), message_id: c.key.message_id, channel_title: c.channel_title, link: c.link, date: c.date.0 })
                .collect(),
        },
    };
    Ok(Json(view))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct QueryView {
    /// `ask`, `search` or `recommend`.
    pub kind: String,
    pub text: String,
    pub at: i64,
}

/// The caller's latest questions and searches, newest first.
#[utoipa::path(get, path = "/api/history", tag = "questions", params(HistoryQuery), responses((status = 200, body = Vec<QueryView>)))]
pub async fn history(State(state): State<ApiState>, Member(caller): Member, Params(query): Params<HistoryQuery>) -> ApiResult<Json<Vec<QueryView>>> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid("limit", "1 to 100"));
    }
    let records = state.repo.recent_queries(caller.id(), limit).await?;
    Ok(Json(records.into_iter().map(|r| QueryView { kind: r.kind.as_str().into(), text: r.text, at: r.at.0 }).collect()))
}
