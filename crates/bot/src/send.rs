//! Talking back to Telegram: HTML messages, honouring 429 `retry_after` within a budget, and
//! treating "the user blocked the bot" as nothing to retry.

use crate::error::BotError;
use std::time::Duration;
use teloxide::payloads::{AnswerCallbackQuerySetters, EditMessageTextSetters, SendMessageSetters};
use teloxide::prelude::*;
use teloxide::requests::{Output, Request};
use teloxide::types::{CallbackQueryId, InlineKeyboardMarkup, MessageId, ParseMode};
use teloxide::{ApiError, RequestError};

/// Sends `request`, waiting out 429s as long as the total wait stays within `budget`.
pub async fn with_retry<R>(request: R, budget: Duration) -> Result<Output<R>, RequestError>
where
    R: Request<Err = RequestError> + Send + Sync,
    R::SendRef: Send,
{
    let mut waited = Duration::ZERO;
    loop {
        match request.send_ref().await {
            Err(RequestError::RetryAfter(after)) if waited + after.duration() <= budget => {
                tracing::info!(retry_after = after.seconds(), "Bot API asked to slow down");
                tokio::time::sleep(after.duration()).await;
                waited += after.duration();
            }
            other => return other,
        }
    }
}

/// A reply channel bound to one chat.
#[derive(Clone)]
pub struct Outbox {
    pub bot: Bot,
    pub budget: Duration,
}

fn blocked(e: &RequestError) -> bool {
    matches!(e, RequestError::Api(ApiError::BotBlocked | ApiError::UserDeactivated | ApiError::ChatNotFound))
}

impl Outbox {
    /// Sends an HTML message; None when the user blocked the bot (nothing to retry).
    pub async fn send(&self, chat: ChatId, text: String, markup: Option<InlineKeyboardMarkup>) -> Result<Option<Message>, BotError> {
        let mut request = self.bot.send_message(chat, text).parse_mode(ParseMode::Html);
        if let Some(m) = markup {
            request = request.reply_markup(m);
        }
        match with_retry(request, self.budget).await {
            Ok(message) => Ok(Some(message)),
            Err(e) if blocked(&e) => {
                tracing::info!(chat = chat.0, "user is unreachable; reply dropped");
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces the text (and buttons) of one of the bot's messages. "Not modified" is success.
    pub async fn edit(&self, chat: ChatId, message: MessageId, text: String, markup: Option<InlineKeyboardMarkup>) -> Result<(), BotError> {
        let mut request = self.bot.edit_message_text(chat, message, text).parse_mode(ParseMode::Html);
        if let Some(m) = markup {
            request = request.reply_markup(m);
        }
        match with_retry(request, self.budget).await {
            Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
            Err(e) if blocked(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Stops the button's spinner, optionally with a short notice.
    pub async fn answer_callback(&self, id: &CallbackQueryId, text: Option<String>) -> Result<(), BotError> {
        let mut request = self.bot.answer_callback_query(id.clone());
        if let Some(t) = text {
            request = request.text(t);
        }
        match with_retry(request, self.budget).await {
            Ok(_) => Ok(()),
            // A query older than Telegram's answer window cannot be answered; nothing is lost.
            Err(RequestError::Api(ApiError::InvalidQueryId)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
