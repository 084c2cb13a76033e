//! `/add_channel`, `/my_channels`, `/remove_channel` and its confirm buttons.

use super::start::enqueue_command;
use crate::error::HandlerResult;
use crate::services::{Caller, Services};
use siftgram_core::messages::SessionCommand;
use siftgram_core::model::{Channel, ChannelId, Username};
use siftgram_core::repo::RepoError;
use siftgram_core::rules::{self, LimitError};
use std::sync::Arc;
use teloxide::types::{CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup};

/// Checks the tier limit, then asks the session node to resolve and subscribe. A channel the
/// user already follows is checked for new posts now instead.
pub async fn add_channel(services: Arc<Services>, caller: Caller, arg: String) -> HandlerResult {
    let t = caller.texts();
    let reply = |text| services.out.send(caller.chat, text, None);
    if arg.trim().is_empty() {
        reply(t.add_channel_usage()).await?;
        return Ok(());
    }
    let username = match Username::parse(&arg) {
        Ok(u) => u,
        Err(e) => {
            reply(t.bad_channel(&e.to_string())).await?;
            return Ok(());
        }
    };
    if let Some(channel) = services.repo.find_channel_by_username(username.as_str()).await?
        && follows(&services, &caller, channel.id).await?
    {
        let Some(sent) = reply(format!("{} {}", t.already_following(&channel.title), t.checking_for_posts())).await? else { return Ok(()) };
        let command = SessionCommand::SyncChannel { id: caller.work_id(), user: caller.user.id, channel: channel.id, reply: caller.reply_to(sent.id) };
        return enqueue_command(&services, &command).await;
    }
    let now = services.repo.clock().now();
    if let Err(LimitError::Channels { tier, limit }) = rules::check_can_add_channel(&caller.user, services.repo.catalog(), now) {
        reply(t.channel_limit(tier, limit)).await?;
        return Ok(());
    }
    let Some(sent) = reply(t.resolving_channel(username.as_str())).await? else { return Ok(()) };
    let command = SessionCommand::ResolveChannel { id: caller.work_id(), user: caller.user.id, username, reply: caller.reply_to(sent.id) };
    enqueue_command(&services, &command).await
}

async fn follows(services: &Services, caller: &Caller, channel: ChannelId) -> Result<bool, RepoError> {
    Ok(services.repo.subscriptions_of(caller.user.id).await?.iter().any(|s| s.channel == channel))
}

async fn followed_channels(services: &Services, caller: &Caller) -> Result<Vec<Channel>, RepoError> {
    let mut out = Vec::new();
    for sub in services.repo.subscriptions_of(caller.user.id).await? {
        if let Some(channel) = services.repo.get_channel(sub.channel).await? {
            out.push(channel);
        }
    }
    Ok(out)
}

/// The user's channels with how many posts are kept and when each was last synced.
pub async fn my_channels(services: Arc<Services>, caller: Caller) -> HandlerResult {
    let t = caller.texts();
    let channels = followed_channels(&services, &caller).await?;
    let text = if channels.is_empty() {
        t.no_channels()
    } else {
        let tier = caller.user.effective_tier(services.repo.clock().now());
        let limit = services.repo.catalog().limits(tier).max_channels;
        let mut lines = vec![t.channels_header(channels.len(), limit)];
        for c in &channels {
            let posts = services.repo.channel_stats(c.id).await?.post_count;
            let mut line = t.channel_line(&c.title, c.username.as_ref().map(Username::as_str), posts, c.last_synced_at);
            let sync = services.repo.sync_state(c.id).await?;
            if let Some(share) = history_loaded(posts, &sync, c.last_message_id) {
                line.push_str(&t.history_loading(share));
            }
            lines.push(line);
        }
        lines.join("\n")
    };
    services.out.send(caller.chat, text, None).await?;
    Ok(())
}

/// How much of a channel's history is stored while its backfill runs, in percent (None once
/// it is complete). Message ids include deleted and service messages, so the newest id only
/// bounds the count: the share is an estimate, and never shows 100 before the backfill ends.
pub fn history_loaded(stored: u64, sync: &siftgram_core::repo::SyncState, latest_id: Option<i64>) -> Option<u64> {
    if sync.backfill_done {
        return None;
    }
    let latest = latest_id.max(sync.newest_published).filter(|&id| id > 0)? as u64;
    Some((stored * 100 / latest).min(99))
}

const PICK: &str = "rm:";
const CONFIRM: &str = "rmok:";
const CANCEL: &str = "rmno";

fn confirm_buttons(caller: &Caller, channel: ChannelId) -> InlineKeyboardMarkup {
    let t = caller.texts();
    InlineKeyboardMarkup::new([[
        InlineKeyboardButton::callback(t.yes_remove(), format!("{CONFIRM}{channel}")),
        InlineKeyboardButton::callback(t.cancel(), CANCEL),
    ]])
}

/// Shows one button per channel (or goes straight to the confirmation for `/remove_channel @name`).
pub async fn remove_channel(services: Arc<Services>, caller: Caller, arg: String) -> HandlerResult {
    let t = caller.texts();
    let channels = followed_channels(&services, &caller).await?;
    if !arg.trim().is_empty() {
        let wanted = Username::parse(&arg).ok();
        let text_and_buttons = match channels.iter().find(|c| wanted.is_some() && c.username == wanted) {
            Some(c) => (t.confirm_remove(&c.title), Some(confirm_buttons(&caller, c.id))),
            None => (t.not_following(), None),
        };
        services.out.send(caller.chat, text_and_buttons.0, text_and_buttons.1).await?;
        return Ok(());
    }
    if channels.is_empty() {
        services.out.send(caller.chat, t.no_channels(), None).await?;
        return Ok(());
    }
    let rows = channels.iter().map(|c| [InlineKeyboardButton::callback(c.title.clone(), format!("{PICK}{}", c.id))]);
    services.out.send(caller.chat, t.choose_channel_to_remove(), Some(InlineKeyboardMarkup::new(rows))).await?;
    Ok(())
}

/// Inline buttons: pick → confirm → removed, or cancel. Anything else is a stale button.
pub async fn on_callback(services: Arc<Services>, caller: Caller, query: CallbackQuery) -> HandlerResult {
    let t = caller.texts();
    let data = query.data.as_deref().unwrap_or("");
    let Some(message) = query.message.as_ref().map(|m| m.id()) else {
        return services.out.answer_callback(&query.id, Some(t.stale_button())).await;
    };
    let channel_of = |prefix: &str| data.strip_prefix(prefix).and_then(|id| id.parse().ok()).and_then(|id| ChannelId::new(id).ok());
    let edit = |text, markup| services.out.edit(caller.chat, message, text, markup);
    if data == CANCEL {
        edit(t.cancelled(), None).await?;
    } else if let Some(channel) = channel_of(PICK) {
        match services.repo.get_channel(channel).await? {
            Some(c) if follows(&services, &caller, channel).await? => edit(t.confirm_remove(&c.title), Some(confirm_buttons(&caller, channel))).await?,
            _ => edit(t.not_following(), None).await?,
        }
    } else if let Some(channel) = channel_of(CONFIRM) {
        match services.repo.unsubscribe(caller.user.id, channel).await {
            Ok(()) => {
                let title = services.repo.get_channel(channel).await?.map(|c| c.title).unwrap_or_else(|| channel.to_string());
                let leave = SessionCommand::LeaveChannel { id: caller.work_id(), user: caller.user.id, channel };
                enqueue_command(&services, &leave).await?;
                edit(t.removed(&title), None).await?;
            }
            Err(RepoError::NotFound(_)) => edit(t.not_following(), None).await?,
            Err(e) => return Err(e.into()),
        }
    } else {
        return services.out.answer_callback(&query.id, Some(t.stale_button())).await;
    }
    services.out.answer_callback(&query.id, None).await
}

#[cfg(test)]
mod tests {
    use super::history_loaded;
    use siftgram_core::repo::SyncState;

    #[test]
    fn the_loaded_share_is_an_estimate_below_100_until_the_backfill_ends() {
        let running = SyncState { oldest_published: Some(50), newest_published: Some(200), backfilled: 150, backfill_done: false };
        assert_eq!(history_loaded(150, &running, Some(200)), Some(75));
        assert_eq!(history_loaded(150, &running, Some(120)), Some(75), "the newest published id counts too");
        assert_eq!(history_loaded(400, &running, Some(200)), Some(99), "ids bound the count only roughly");
        assert_eq!(history_loaded(0, &SyncState::default(), None), None, "nothing known yet");
        assert_eq!(history_loaded(150, &SyncState { backfill_done: true, ..running }, Some(200)), None);
    }
}
