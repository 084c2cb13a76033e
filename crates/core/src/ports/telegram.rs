//! The Telegram user-client port: what the session node needs from a user's MTProto session
//! (grammers in production; a recorded source replaying Telegram Desktop exports in tests).

use crate::Timestamp;
use crate::model::{ChannelId, MediaKind, Username};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A channel as Telegram describes it to the user's account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteChannel {
    pub id: ChannelId,
    pub title: String,
    /// None for private channels.
    pub username: Option<Username>,
    pub access_hash: i64,
    /// The newest message id (how complete a sync is).
    pub latest_message_id: i64,
}

/// One channel message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteMessage {
    pub id: i64,
    pub date: Timestamp,
    pub edited: Option<Timestamp>,
    pub text: String,
    pub media: MediaKind,
    pub views: Option<u64>,
}

/// What happened in a channel the account follows, as it happens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LiveEvent {
    New(ChannelId, RemoteMessage),
    Edited(ChannelId, RemoteMessage),
    Deleted(ChannelId, Vec<i64>),
}

/// Where a QR login stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QrLogin {
    /// Show this `tg://login?token=…` URL as a QR code until `expires`.
    Waiting { url: String, expires: Timestamp },
    /// The account has two-step verification: ask for the password.
    PasswordNeeded { hint: Option<String> },
    /// Signed in as this Telegram account.
    Done { account_id: i64 },
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TelegramError {
    /// FLOOD_WAIT: this client must wait this long before asking again.
    #[error("flood wait {0:?}")]
    FloodWait(Duration),
    /// AUTH_KEY_UNREGISTERED / SESSION_REVOKED: the user is signed out.
    #[error("the session is no longer authorized")]
    Unauthorized,
    #[error("no such channel")]
    ChannelNotFound,
    #[error("the channel is private")]
    ChannelPrivate,
    #[error("wrong two-step verification password")]
    PasswordInvalid,
    #[error("network: {0}")]
    Network(String),
    #[error("telegram: {0}")]
    Other(String),
}

#[async_trait]
pub trait TelegramUser: Send + Sync {
    /// Starts or continues a QR login (call again to see whether the code was scanned).
    async fn qr_login(&self) -> Result<QrLogin, TelegramError>;
    /// The two-step verification password after `PasswordNeeded`; the account id on success.
    async fn check_password(&self, password: &str) -> Result<i64, TelegramError>;
    /// The session as bytes, to be stored (encrypted) and given back to `connect`.
    fn session(&self) -> Vec<u8>;
    async fn resolve(&self, username: &Username) -> Result<RemoteChannel, TelegramError>;
    /// Up to `limit` messages older than `before` (None: the newest), newest first.
    async fn history(&self, channel: &RemoteChannel, before: Option<i64>, limit: usize) -> Result<Vec<RemoteMessage>, TelegramError>;
    /// Up to `limit` messages newer than `after`, oldest first (catch-up after a gap).
    async fn newer(&self, channel: &RemoteChannel, after: i64, limit: usize) -> Result<Vec<RemoteMessage>, TelegramError>;
    /// Live events for followed channels, waiting up to `wait` for the first.
    async fn next_events(&self, wait: Duration) -> Result<Vec<LiveEvent>, TelegramError>;
    async fn leave(&self, channel: &RemoteChannel) -> Result<(), TelegramError>;
    /// The account the session is signed in as, when it is known.
    fn account_id(&self) -> Option<i64>;
    /// Ends the authorization at Telegram (`auth.logOut`): the session's keys stop working.
    async fn log_out(&self) -> Result<(), TelegramError>;
}

/// Opens user clients: from a stored session, or a fresh one for a login.
pub trait TelegramConnector: Send + Sync {
    fn connect(&self, session: Option<&[u8]>) -> Result<Box<dyn TelegramUser>, TelegramError>;
}
