//! `/add_channel`, `/my_channels`, `/remove_channel` and its confirm buttons.

use super::start::enqueue_command;
use crate::error::HandlerResult;
use crate::services::{Caller, Services};
use siftgram_core::messages::SessionCommand;
use siftgram_core::model::{Channel, ChannelId, Username};
use siftgram_core::repo::RepoError;
use siftgram_core::rules::{self, LimitError};
use crate::paging::{MAX_MESSAGE_UTF16, button_caption, clamp_page, nav_row, page_of, paginate, utf16_len};
use std::sync::Arc;
use teloxide::types::{CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup};
use teloxide::utils::html::escape;

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
        let Some(sent) = super::send_once(&services, &caller, format!("{} {}", t.already_following(&channel.title), t.checking_for_posts()), None).await? else { return Ok(()) };
        let command = SessionCommand::SyncChannel { id: caller.work_id(), user: caller.user.id, channel: channel.id, reply: caller.reply_to(sent) };
        return enqueue_command(&services, &command).await;
    }
    let now = services.repo.clock().now();
    if let Err(LimitError::Channels { tier, limit }) = rules::check_can_add_channel(&caller.user, services.repo.catalog(), now) {
        reply(t.channel_limit(tier, limit)).await?;
        return Ok(());
    }
    let Some(sent) = super::send_once(&services, &caller, t.resolving_channel(username.as_str()), None).await? else { return Ok(()) };
    let command = SessionCommand::ResolveChannel { id: caller.work_id(), user: caller.user.id, username, reply: caller.reply_to(sent) };
    enqueue_command(&services, &command).await
}

async fn follows(services: &Services, caller: &Caller, channel: ChannelId) -> Result<bool, RepoError> {
    services.repo.follows(caller.user.id, channel).await
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

/// Channels on one page of `/my_channels`; fewer when their titles are long.
const CHANNELS_PER_PAGE: usize = 15;
/// What a page's channel lines may add up to, leaving room for the header.
const CHANNEL_LIST_BUDGET: usize = MAX_MESSAGE_UTF16 - 200;
/// A channel line without its title and username: bullet, counts, times, history, limits.
const CHANNEL_LINE_EXTRA: usize = 260;
const LIST_PAGE: &str = "mc:";

/// The user's channels with how many posts are kept and when each was last synced, a page at
/// a time with ◀ ▶ buttons when they do not fit one message.
pub async fn my_channels(services: Arc<Services>, caller: Caller) -> HandlerResult {
    let (text, markup) = channels_page(&services, &caller, 0).await?;
    services.out.send(caller.chat, text, markup).await?;
    Ok(())
}

async fn channels_page(services: &Services, caller: &Caller, page: usize) -> Result<(String, Option<InlineKeyboardMarkup>), RepoError> {
    let t = caller.texts();
    let channels = followed_channels(services, caller).await?;
    if channels.is_empty() {
        return Ok((t.no_channels(), None));
    }
    // Page bounds come from what the lines can grow to, so only the shown page's stats are read.
    let sizes: Vec<usize> = channels
        .iter()
        .map(|c| utf16_len(&escape(&c.title)) + c.username.as_ref().map_or(0, |u| u.as_str().len()) + CHANNEL_LINE_EXTRA)
        .collect();
    let pages = paginate(&sizes, CHANNELS_PER_PAGE, CHANNEL_LIST_BUDGET);
    let page = clamp_page(page, pages.len());
    let tier = caller.user.effective_tier(services.repo.clock().now());
    let limit = services.repo.catalog().limits(tier).max_channels;
    let mut lines = vec![t.channels_header(channels.len(), limit)];
    for c in &channels[pages[page].clone()] {
        let posts = services.repo.channel_stats(c.id).await?.post_count;
        let mut line = t.channel_line(&c.title, c.username.as_ref().map(Username::as_str), posts, c.last_synced_at);
        let sync = services.repo.sync_state(c.id).await?;
        match sync.history_limit {
            Some(kept) => line.push_str(&t.history_limited(kept)),
            None => {
                if let Some(share) = sync.history_loaded(posts, c.last_message_id) {
                    line.push_str(&t.history_loading(share));
                }
            }
        }
        let today = services.repo.kept_today(c.id).await?;
        if today.not_kept > 0 {
            line.push_str(&t.not_kept_today(today.not_kept));
        }
        lines.push(line);
    }
    let markup = (pages.len() > 1).then(|| InlineKeyboardMarkup::new([nav_row(LIST_PAGE, page, pages.len())]));
    Ok((lines.join("\n"), markup))
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

/// Channel buttons on one page of `/remove_channel` (Telegram caps a keyboard at 100 buttons).
const REMOVE_PER_PAGE: usize = 10;
const REMOVE_PAGE: &str = "rmp:";

fn remove_keyboard(channels: &[Channel], page: usize) -> InlineKeyboardMarkup {
    let pages = channels.len().div_ceil(REMOVE_PER_PAGE).max(1);
    let page = clamp_page(page, pages);
    let mut rows: Vec<Vec<InlineKeyboardButton>> = channels
        .iter()
        .skip(page * REMOVE_PER_PAGE)
        .take(REMOVE_PER_PAGE)
        .map(|c| vec![InlineKeyboardButton::callback(button_caption(&c.title), format!("{PICK}{}", c.id))])
        .collect();
    if pages > 1 {
        rows.push(nav_row(REMOVE_PAGE, page, pages));
    }
    InlineKeyboardMarkup::new(rows)
}

/// Page `page` of the channels to pick from, or "no channels" once there are none.
fn remove_view(caller: &Caller, channels: &[Channel], page: usize) -> (String, Option<InlineKeyboardMarkup>) {
    let t = caller.texts();
    if channels.is_empty() {
        return (t.no_channels(), None);
    }
    (t.choose_channel_to_remove(), Some(remove_keyboard(channels, page)))
}

/// Shows the channels as buttons, a page at a time (or goes straight to the confirmation for
/// `/remove_channel @name`).
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
    let (text, markup) = remove_view(&caller, &channels, 0);
    services.out.send(caller.chat, text, markup).await?;
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
    } else if let Some(page) = page_of(data, LIST_PAGE) {
        let (text, markup) = channels_page(&services, &caller, page).await?;
        edit(text, markup).await?;
    } else if let Some(page) = page_of(data, REMOVE_PAGE) {
        let (text, markup) = remove_view(&caller, &followed_channels(&services, &caller).await?, page);
        edit(text, markup).await?;
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
