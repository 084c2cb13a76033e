//! Telegram's TL objects as the port's values: messages, live updates, channels, errors.
//! Pure functions, so they are tested on constructed TL objects without a network.

use grammers_mtsender::InvocationError;
use grammers_tl_types as tl;
use siftgram_core::Timestamp;
use siftgram_core::model::{ChannelId, MediaKind, Username};
use siftgram_core::ports::{LiveEvent, RemoteChannel, RemoteMessage, TelegramError};
use std::time::Duration;

/// A channel message as the port's message. Service messages (pinned, title changed, …) become
/// empty messages: they carry no post, but keep their id so the backfill cursor moves past them.
/// None for `messageEmpty` (nothing there at all).
pub fn remote_message(message: &tl::enums::Message) -> Option<RemoteMessage> {
    match message {
        tl::enums::Message::Message(m) => {
            let media = m.media.as_ref().map_or(MediaKind::None, media_kind);
            let mut text = m.message.clone();
            if text.is_empty()
                && let Some(tl::enums::MessageMedia::Poll(poll)) = &m.media
            {
                // A poll posted without a caption: its question is what the post says.
                let tl::enums::Poll::Poll(p) = &poll.poll;
                let tl::enums::TextWithEntities::Entities(q) = &p.question;
                text = q.text.clone();
            }
            Some(RemoteMessage {
                id: m.id.into(),
                date: Timestamp(m.date.into()),
                edited: m.edit_date.map(|d| Timestamp(d.into())),
                text,
                media,
                views: m.views.and_then(|v| u64::try_from(v).ok()),
            })
        }
        tl::enums::Message::Service(m) => {
            Some(RemoteMessage { id: m.id.into(), date: Timestamp(m.date.into()), edited: None, text: String::new(), media: MediaKind::None, views: None })
        }
        tl::enums::Message::Empty(_) => None,
    }
}

pub fn media_kind(media: &tl::enums::MessageMedia) -> MediaKind {
    use tl::enums::MessageMedia as M;
    match media {
        M::Empty | M::WebPage(_) => MediaKind::None,
        M::Photo(_) => MediaKind::Photo,
        M::Poll(_) => MediaKind::Poll,
        M::Document(d) => {
            if d.voice {
                return MediaKind::Voice;
            }
            if d.video || d.round {
                return MediaKind::Video;
            }
            let attributes = match &d.document {
                Some(tl::enums::Document::Document(doc)) => doc.attributes.as_slice(),
                _ => &[],
            };
            for attribute in attributes {
                match attribute {
                    tl::enums::DocumentAttribute::Audio(a) => {
                        return if a.voice { MediaKind::Voice } else { MediaKind::Audio };
                    }
                    tl::enums::DocumentAttribute::Video(_) => return MediaKind::Video,
                    _ => {}
                }
            }
            MediaKind::Document
        }
        _ => MediaKind::Other,
    }
}

/// The channel a message was posted in (None outside channels).
pub fn message_channel(message: &tl::enums::Message) -> Option<ChannelId> {
    let peer = match message {
        tl::enums::Message::Message(m) => &m.peer_id,
        tl::enums::Message::Service(m) => &m.peer_id,
        tl::enums::Message::Empty(m) => m.peer_id.as_ref()?,
    };
    match peer {
        tl::enums::Peer::Channel(c) => ChannelId::new(c.channel_id).ok(),
        _ => None,
    }
}

/// A live update as the port's event (None for everything that is not a channel post change).
pub fn live_event(update: &tl::enums::Update) -> Option<LiveEvent> {
    match update {
        tl::enums::Update::NewChannelMessage(u) => Some(LiveEvent::New(message_channel(&u.message)?, remote_message(&u.message)?)),
        tl::enums::Update::EditChannelMessage(u) => Some(LiveEvent::Edited(message_channel(&u.message)?, remote_message(&u.message)?)),
        tl::enums::Update::DeleteChannelMessages(u) => {
            Some(LiveEvent::Deleted(ChannelId::new(u.channel_id).ok()?, u.messages.iter().map(|&id| i64::from(id)).collect()))
        }
        _ => None,
    }
}

/// A broadcast channel as the port's channel; None for groups and forbidden or "min" channels
/// (no usable access hash).
pub fn remote_channel(chat: &tl::enums::Chat, latest_message_id: i64) -> Option<RemoteChannel> {
    let tl::enums::Chat::Channel(c) = chat else {
        return None;
    };
    if !c.broadcast || c.min {
        return None;
    }
    Some(RemoteChannel {
        id: ChannelId::new(c.id).ok()?,
        title: c.title.clone(),
        username: c.username.as_deref().and_then(|u| Username::parse(u).ok()),
        access_hash: c.access_hash?,
        latest_message_id,
    })
}

/// What an invocation error means to the session node.
pub fn telegram_error(error: &InvocationError) -> TelegramError {
    match error {
        InvocationError::Rpc(rpc) => {
            let name = rpc.name.as_str();
            if rpc.code == 420 || name == "FLOOD_WAIT" || name == "FLOOD_PREMIUM_WAIT" {
                return TelegramError::FloodWait(Duration::from_secs(rpc.value.unwrap_or(1).into()));
            }
            if rpc.code == 401 {
                // AUTH_KEY_UNREGISTERED, SESSION_REVOKED, USER_DEACTIVATED, … (SESSION_PASSWORD_NEEDED
                // is 401 too, but the login handles it before it gets here).
                return TelegramError::Unauthorized;
            }
            match name {
                "USERNAME_NOT_OCCUPIED" | "USERNAME_INVALID" | "CHANNEL_INVALID" | "PEER_ID_INVALID" => TelegramError::ChannelNotFound,
                "CHANNEL_PRIVATE" | "CHANNEL_PUBLIC_GROUP_NA" | "INVITE_REQUEST_SENT" => TelegramError::ChannelPrivate,
                "PASSWORD_HASH_INVALID" => TelegramError::PasswordInvalid,
                _ => TelegramError::Other(format!("{} {}", rpc.code, rpc.name)),
            }
        }
        InvocationError::Io(e) => TelegramError::Network(e.to_string()),
        InvocationError::Transport(e) => TelegramError::Network(e.to_string()),
        InvocationError::Dropped(why) => TelegramError::Network(format!("dropped: {why}")),
        other => TelegramError::Other(other.to_string()),
    }
}

#[cfg(test)]
mod tests;
