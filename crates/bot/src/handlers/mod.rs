//! One small function per command. Each takes the services, the caller and the command's raw
//! argument text, answers in the caller's language and enqueues anything slow.

pub mod admin;
pub mod channels;
pub mod digest;
pub mod requests;
pub mod start;

use crate::error::HandlerResult;
use crate::services::{Caller, Services};
use std::sync::Arc;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo};

/// Help — also the answer to unknown commands, plain text, and admin commands from non-admins.
pub async fn help(services: Arc<Services>, caller: Caller) -> HandlerResult {
    services.out.send(caller.chat, caller.texts().help(caller.user.is_admin()), None).await?;
    Ok(())
}

/// A member-only command from someone who has not signed in yet.
pub async fn need_login(services: Arc<Services>, caller: Caller) -> HandlerResult {
    services.out.send(caller.chat, caller.texts().need_login(), None).await?;
    Ok(())
}

/// A button pressed by someone without access (blocked, or signed out): nothing changes.
pub async fn refuse_button(services: Arc<Services>, caller: Caller, query: teloxide::types::CallbackQuery) -> HandlerResult {
    services.out.answer_callback(&query.id, Some(caller.texts().no_access_button())).await
}

/// Sends the reply that the update's queued work will edit ("⏳ …"), once per update: handled
/// again after a failure (its job or command could not be queued), the update finds the message
/// its first try sent instead of sending another. None when the user blocked the bot.
pub(crate) async fn send_once(services: &Services, caller: &Caller, text: String, markup: Option<InlineKeyboardMarkup>) -> Result<Option<teloxide::types::MessageId>, crate::error::BotError> {
    let work = caller.work_id();
    if let Some(id) = services.repo.sent_for_work(&work, "reply").await? {
        return Ok(Some(teloxide::types::MessageId(id as i32)));
    }
    let Some(sent) = services.out.send(caller.chat, text, markup).await? else { return Ok(None) };
    services.repo.record_sent_for_work(&work, "reply", i64::from(sent.id.0)).await?;
    Ok(Some(sent.id))
}

/// A one-button keyboard opening a Mini App page.
pub(crate) fn web_app_button(text: String, url: &str) -> Option<InlineKeyboardMarkup> {
    match url::Url::parse(url) {
        Ok(url) => Some(InlineKeyboardMarkup::new([[InlineKeyboardButton::web_app(text, WebAppInfo { url })]])),
        Err(e) => {
            // Settings are validated at start-up; this only guards against a later change.
            tracing::error!(error = %e, "Mini App URL is invalid; sending without a button");
            None
        }
    }
}
