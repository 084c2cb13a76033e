//! `/ask`, `/search`, `/recommend`: validate, count the daily quota, show "⏳" and
//! enqueue the job; a worker edits the "⏳" message with the result.

use crate::error::HandlerResult;
use crate::services::{Caller, Services};
use siftgram_core::messages::{Delivery, Job, JobRequest};
use siftgram_core::ports::OutgoingMessage;
use siftgram_core::repo::RepoError;
use siftgram_core::rules::{DailyQuota, LimitError};
use std::sync::Arc;

pub use siftgram_core::rules::MAX_QUESTION_CHARS as MAX_QUERY_CHARS;

pub async fn ask(services: Arc<Services>, caller: Caller, question: String) -> HandlerResult {
    let t = caller.texts();
    let Some(question) = checked_text(&services, &caller, &question, t.ask_usage()).await? else { return Ok(()) };
    enqueue_with_quota(&services, &caller, JobRequest::Ask { question }, t.working_ask()).await
}

pub async fn search(services: Arc<Services>, caller: Caller, query: String) -> HandlerResult {
    let t = caller.texts();
    let Some(query) = checked_text(&services, &caller, &query, t.search_usage()).await? else { return Ok(()) };
    enqueue_with_quota(&services, &caller, JobRequest::Search { query }, t.working_search()).await
}

pub async fn recommend(services: Arc<Services>, caller: Caller) -> HandlerResult {
    enqueue_with_quota(&services, &caller, JobRequest::Recommend, caller.texts().working_recommend()).await
}

/// The trimmed text, or None after telling the user what is wrong with it.
async fn checked_text(services: &Services, caller: &Caller, text: &str, usage: String) -> Result<Option<String>, crate::BotError> {
    let text = text.trim();
    let problem = if text.is_empty() {
        Some(usage)
    } else if text.chars().count() > MAX_QUERY_CHARS {
        Some(caller.texts().too_long(MAX_QUERY_CHARS))
    } else {
        None
    };
    match problem {
        Some(p) => {
            services.out.send(caller.chat, p, None).await?;
            Ok(None)
        }
        None => Ok(Some(text.to_owned())),
    }
}

/// Counts one of today's questions (once per update), then enqueues; over the quota the user is told instead.
/// A digest on request counts as a question: it may cost a model call.
pub(crate) async fn enqueue_with_quota(services: &Services, caller: &Caller, request: JobRequest, working: String) -> HandlerResult {
    match services.repo.consume_daily_quota_once(caller.user.id, DailyQuota::RagQueries, &caller.work_id()).await {
        Ok(_) => enqueue(services, caller, request, working).await,
        Err(RepoError::Limit(LimitError::Daily { tier, limit, .. })) => {
            services.out.send(caller.chat, caller.texts().daily_limit(tier, limit), None).await?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Shows "⏳" (once per update, see `send_once`) and queues the job that will edit it.
pub(crate) async fn enqueue(services: &Services, caller: &Caller, request: JobRequest, working: String) -> HandlerResult {
    let Some(shown) = super::send_once(services, caller, working, None).await? else { return Ok(()) };
    let job = Job { id: caller.work_id(), user: caller.user.id, reply: caller.reply_to(shown), request, delivery: Delivery::Chat };
    let body = serde_json::to_string(&job).expect("jobs serialize");
    services.jobs.send(OutgoingMessage::new(body)).await?;
    Ok(())
}
