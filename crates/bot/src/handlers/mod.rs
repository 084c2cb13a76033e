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
