//! `/ask`, `/search`, `/recommend`: validate, count the daily quota, show "⏳" and
//! enqueue the job; a worker edits the "⏳" message with the result.

use crate::error::HandlerResult;
use crate::services::{Caller, Services};
use siftgram_core::messages::{Delivery, Job, JobRequest};
use siftgram_core::ports::OutgoingMessage;
use siftgram_core::repo::RepoError;
use siftgram_core::rules::{DailyQuota, LimitError};
use std::sync::Arc;
use teloxide::types::{Message, MessageId};

pub use siftgram_core::rules::MAX_QUESTION_CHARS as MAX_QUERY_CHARS;

pub async fn ask(services: Arc<Services>, caller: Caller, question: String, message: Message) -> HandlerResult {
    let t = caller.texts();
    let Some(question) = checked_text(&services, &caller, &question, t.ask_usage()).await? else { return Ok(()) };
    let question = with_the_question_it_follows(&services, &caller, &message, question).await?;
    ask_checked(&services, &caller, question).await
}

/// A plain message replying to one of the bot's answers: a follow-up, asked together with the
/// question that answer answered ("почему подорожал доллар?" → reply "а евро?"). A reply to
/// anything else gets the help, as any plain text does.
pub async fn follow_up(services: Arc<Services>, caller: Caller, message: Message) -> HandlerResult {
    let text = message.text().unwrap_or_default().to_owned();
    let Some(replied) = message.reply_to_message().filter(|m| m.from.as_ref().is_some_and(|f| f.is_bot)) else { return super::help(services, caller).await };
    let Some(previous) = services.repo.asked(caller.user.id, i64::from(replied.id.0)).await? else { return super::help(services, caller).await };
    let Some(text) = checked_text(&services, &caller, &text, caller.texts().ask_usage()).await? else { return Ok(()) };
    ask_checked(&services, &caller, follow_up_question(&previous, &text)).await
}

/// `/ask …` sent as a reply to an answer is a follow-up too.
async fn with_the_question_it_follows(services: &Services, caller: &Caller, message: &Message, question: String) -> Result<String, crate::BotError> {
    let Some(replied) = message.reply_to_message().filter(|m| m.from.as_ref().is_some_and(|f| f.is_bot)) else { return Ok(question) };
    Ok(match services.repo.asked(caller.user.id, i64::from(replied.id.0)).await? {
        Some(previous) => follow_up_question(&previous, &question),
        None => question,
    })
}

/// The follow-up with the question it follows, within the question length limit (the earlier
/// question is shortened, never the new one).
fn follow_up_question(previous: &str, follow_up: &str) -> String {
    let room = MAX_QUERY_CHARS.saturating_sub(follow_up.chars().count() + 3);
    let previous: String = previous.chars().take(room).collect();
    if previous.trim().is_empty() { follow_up.to_owned() } else { format!("{} — {follow_up}", previous.trim()) }
}

async fn ask_checked(services: &Services, caller: &Caller, question: String) -> HandlerResult {
    let request = JobRequest::Ask { question: question.clone() };
    match enqueue_with_quota(services, caller, request, caller.texts().working_ask()).await? {
        Some(shown) => services.repo.record_asked(caller.user.id, i64::from(shown.0), &question).await.map_err(Into::into),
        None => Ok(()),
    }
}

pub async fn search(services: Arc<Services>, caller: Caller, query: String) -> HandlerResult {
    let t = caller.texts();
    let Some(query) = checked_text(&services, &caller, &query, t.search_usage()).await? else { return Ok(()) };
    enqueue_with_quota(&services, &caller, JobRequest::Search { query }, t.working_search()).await.map(drop)
}

pub async fn recommend(services: Arc<Services>, caller: Caller) -> HandlerResult {
    enqueue_with_quota(&services, &caller, JobRequest::Recommend, caller.texts().working_recommend()).await.map(drop)
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
/// Returns the "⏳" message the job will edit (None: refused, or the user blocked the bot).
pub(crate) async fn enqueue_with_quota(services: &Services, caller: &Caller, request: JobRequest, working: String) -> Result<Option<MessageId>, crate::BotError> {
    match services.repo.consume_daily_quota_once(caller.user.id, DailyQuota::RagQueries, &caller.work_id()).await {
        Ok(_) => enqueue(services, caller, request, working).await,
        Err(RepoError::Limit(LimitError::Daily { tier, limit, .. })) => {
            services.out.send(caller.chat, caller.texts().daily_limit(tier, limit), None).await?;
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Shows "⏳" (once per update, see `send_once`) and queues the job that will edit it.
pub(crate) async fn enqueue(services: &Services, caller: &Caller, request: JobRequest, working: String) -> Result<Option<MessageId>, crate::BotError> {
    let Some(shown) = super::send_once(services, caller, working, None).await? else { return Ok(None) };
    let job = Job { id: caller.work_id(), user: caller.user.id, reply: caller.reply_to(shown), request, delivery: Delivery::Chat };
    let body = serde_json::to_string(&job).expect("jobs serialize");
    services.jobs.send(OutgoingMessage::new(body)).await?;
    Ok(Some(shown))
}
