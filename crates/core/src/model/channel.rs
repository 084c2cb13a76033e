use super::error::malformed;
use super::ValidationError;
use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// A Telegram channel id as MTProto gives it (positive; `-100…` is the Bot API's spelling).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct ChannelId(i64);

impl ChannelId {
    pub fn new(id: i64) -> Result<Self, ValidationError> {
        if id <= 0 {
            return Err(malformed("channel id", format!("{id} is not a positive channel id")));
        }
        Ok(ChannelId(id))
    }
    pub fn get(self) -> i64 {
        self.0
    }
}
impl TryFrom<i64> for ChannelId {
    type Error = ValidationError;
    fn try_from(id: i64) -> Result<Self, Self::Error> {
        ChannelId::new(id)
    }
}
impl From<ChannelId> for i64 {
    fn from(id: ChannelId) -> i64 {
        id.0
    }
}
impl std::fmt::Display for ChannelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A public Telegram username: 5–32 of `[A-Za-z0-9_]`, starting with a letter. Compared
/// case-insensitively, so it is kept lower-case. Accepts `@name` and `t.me/name` links.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub const MIN: usize = 5;
    pub const MAX: usize = 32;

    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let mut s = input.trim();
        for prefix in ["https://", "http://"] {
            s = s.strip_prefix(prefix).unwrap_or(s);
        }
        for prefix in ["www.t.me/", "t.me/", "telegram.me/", "@"] {
            s = s.strip_prefix(prefix).unwrap_or(s);
        }
        let s = s.split(['/', '?']).next().unwrap_or_default();
        if s.is_empty() {
            return Err(ValidationError::Empty("channel username"));
        }
        let len = s.chars().count();
        if len > Self::MAX {
            return Err(ValidationError::TooLong { what: "channel username", len, max: Self::MAX });
        }
        let valid_chars = s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let starts_with_letter = s.starts_with(|c: char| c.is_ascii_alphabetic());
        if len < Self::MIN || !valid_chars || !starts_with_letter {
            return Err(malformed(
                "channel username",
                format!("{s:?}: 5-32 letters, digits or _, starting with a letter"),
            ));
        }
        Ok(Username(s.to_ascii_lowercase()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Username {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Username::parse(&s)
    }
}
impl From<Username> for String {
    fn from(u: Username) -> String {
        u.0
    }
}
impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub const MAX_TITLE_CHARS: usize = 255;

/// A channel, stored once and shared by all its followers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub id: ChannelId,
    /// Public username; None for private channels. May change over time.
    pub username: Option<Username>,
    pub title: String,
    /// MTProto access hash of the channel (needed to address it without resolving again).
    pub access_hash: Option<i64>,
    pub private: bool,
    /// Newest message id seen in the channel (for completeness: stored count vs this).
    pub last_message_id: Option<i64>,
    pub last_synced_at: Option<Timestamp>,
    /// Posts older than this many days are removed; None = keep everything.
    pub retention_days: Option<u32>,
}

impl Channel {
    pub fn new(id: ChannelId, username: Option<Username>, title: &str) -> Result<Self, ValidationError> {
        let title = title.trim();
        super::error::check_len("channel title", title, MAX_TITLE_CHARS)?;
        Ok(Channel {
            id,
            private: username.is_none(),
            username,
            title: title.to_owned(),
            access_hash: None,
            last_message_id: None,
            last_synced_at: None,
            retention_days: None,
        })
    }
}
