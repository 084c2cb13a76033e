//! What travels on the queues between the bot, the session node and the workers. Each message
//! carries an `id` derived from what caused it (the Telegram update), so every consumer can make
//! a redelivery a no-op.

use crate::model::{ChannelId, InviteCode, Language, UserId, Username};
use serde::{Deserialize, Serialize};

/// Where the result of slow work goes: the user's chat and the "⏳" message to edit in place
/// (None for work nobody is waiting on, such as a scheduled digest: its result is sent anew).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTo {
    pub chat_id: i64,
    #[serde(default)]
    pub message_id: Option<i32>,
    pub language: Language,
}

/// Work for the session node, which owns the users' Telegram sessions (the `commands` FIFO queue,
/// grouped by user so one user's commands run in order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionCommand {
    /// Start a QR login for `user` with the invite they reserved; None for a member signing in
    /// again (their session was revoked or signed out), who needs none.
    StartQrLogin {
        id: String,
        user: UserId,
        #[serde(default)]
        invite: Option<InviteCode>,
        reply: ReplyTo,
    },
    /// Find a channel by username and subscribe `user` to it (tier limit checked again then).
    ResolveChannel { id: String, user: UserId, username: Username, reply: ReplyTo },
    /// Check `channel` (followed by `user`) for posts now, instead of waiting for the next pass.
    SyncChannel { id: String, user: UserId, channel: ChannelId, reply: ReplyTo },
    /// `user` no longer follows `channel`; leave it on their account if nothing else needs it.
    LeaveChannel { id: String, user: UserId, channel: ChannelId },
    /// The two-step verification password for the login in progress (from the Mini App),
    /// sealed to the session node: the queue and its dead-letter queue carry only ciphertext.
    SubmitPassword { id: String, user: UserId, password: SealedSecret },
    /// Sign `user` out: the session is dropped and forgotten.
    LogOut { id: String, user: UserId },
}

/// A secret only the session node can open (`siftgram-sealed`): for one user, until
/// `expires_at`, sealed to the node key `key_id`. Plain data here; the sealing is not core's.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    pub key_id: String,
    /// The sender's one-time X25519 public key, base64.
    pub ephemeral: String,
    /// AES-256-GCM ciphertext and tag, base64.
    pub ciphertext: String,
    pub expires_at: crate::Timestamp,
}

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedSecret").field("key_id", &self.key_id).field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// The session node's public key that secrets are sealed to (published in the table store).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordKeyInfo {
    pub key_id: String,
    /// X25519 public key, base64.
    pub public: String,
}

impl SessionCommand {
    pub fn id(&self) -> &str {
        match self {
            SessionCommand::StartQrLogin { id, .. }
            | SessionCommand::ResolveChannel { id, .. }
            | SessionCommand::SyncChannel { id, .. }
            | SessionCommand::LeaveChannel { id, .. }
            | SessionCommand::SubmitPassword { id, .. }
            | SessionCommand::LogOut { id, .. } => id,
        }
    }
    pub fn user(&self) -> UserId {
        match self {
            SessionCommand::StartQrLogin { user, .. }
            | SessionCommand::ResolveChannel { user, .. }
            | SessionCommand::SyncChannel { user, .. }
            | SessionCommand::LeaveChannel { user, .. }
            | SessionCommand::SubmitPassword { user, .. }
            | SessionCommand::LogOut { user, .. } => *user,
        }
    }
}

/// A post from the session node to the indexer (the `posts` queue). The post key is the
/// idempotency key: the same message twice changes nothing the second time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PostMessage {
    /// A new post, or a new version of one (edited in Telegram).
    Publish { post: crate::model::Post },
    /// The post was deleted in Telegram.
    Delete { key: crate::model::PostKey },
}

/// Something that happened, for the events queue (outgoing webhooks and progress).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    PostIndexed { key: crate::model::PostKey, chunks: u32, tags: Vec<String>, edited: bool },
    PostRemoved { key: crate::model::PostKey },
    /// A digest went out (`due` is the scheduled time; None for one asked for with /digest).
    DigestSent { user: UserId, posts: u32, parts: u32, due: Option<crate::Timestamp> },
    LoginFinished { user: UserId },
    LoginFailed { user: UserId, reason: String },
    ChannelResolved { user: UserId, channel: ChannelId },
    ChannelNotFound { user: UserId, username: Username, private: bool },
    /// The backfill of `channel` published `published` messages so far (of ~`latest`).
    SyncProgress { channel: ChannelId, published: u64, latest: i64 },
    SyncFinished { channel: ChannelId, published: u64 },
}

/// A slow user request for the workers (the `jobs` queue).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub user: UserId,
    pub reply: ReplyTo,
    pub request: JobRequest,
    /// Where the result goes (absent on the wire: the chat).
    #[serde(default, skip_serializing_if = "Delivery::is_chat")]
    pub delivery: Delivery,
}

/// Who waits on a job's result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// The user's Telegram chat (`reply`).
    #[default]
    Chat,
    /// An API caller, who fetches the result by the job's id: it is stored, nothing is sent.
    Api,
}

impl Delivery {
    pub fn is_chat(&self) -> bool {
        *self == Delivery::Chat
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobRequest {
    Ask { question: String },
    Search { query: String },
    Recommend,
    /// A digest of what is new, right now, on request.
    Digest,
    /// The user's digest that was due at `due` (enqueued by the scheduler).
    ScheduledDigest { due: crate::Timestamp },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_keep_their_shape_on_the_wire() {
        let job = Job {
            id: "u7".into(),
            user: UserId::new(5).unwrap(),
            reply: ReplyTo { chat_id: 5, message_id: Some(9), language: Language::En },
            request: JobRequest::Ask { question: "что нового?".into() },
            delivery: Delivery::Chat,
        };
        let json = serde_json::to_value(&job).unwrap();
        assert_eq!(json["request"], serde_json::json!({"kind": "ask", "question": "что нового?"}));
        assert!(json.get("delivery").is_none(), "chat delivery stays off the wire: {json}");
        assert_eq!(serde_json::from_value::<Job>(json).unwrap(), job);
        let api = Job { delivery: Delivery::Api, ..job };
        let json = serde_json::to_value(&api).unwrap();
        assert_eq!(json["delivery"], "api");
        assert_eq!(serde_json::from_value::<Job>(json).unwrap(), api);
        let cmd = SessionCommand::LeaveChannel { id: "u8".into(), user: UserId::new(5).unwrap(), channel: ChannelId::new(3).unwrap() };
        let json = serde_json::to_string(&cmd).unwrap();
        assert!(json.contains(r#""type":"leave_channel""#), "{json}");
        assert_eq!(serde_json::from_str::<SessionCommand>(&json).unwrap().id(), "u8");
    }
}
