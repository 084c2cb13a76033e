use super::error::malformed;
use super::{ChannelId, Username, ValidationError};
use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// Telegram allows 4096 characters (more for premium senders); keep room for those.
pub const MAX_POST_TEXT_CHARS: usize = 16_384;
pub const MAX_TAGS: usize = 16;
pub const MAX_TAG_CHARS: usize = 64;

/// A post is identified by its channel and message id; it is stored once per channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PostKey {
    pub channel_id: ChannelId,
    pub message_id: i64,
}

impl PostKey {
    pub fn new(channel_id: ChannelId, message_id: i64) -> Result<Self, ValidationError> {
        if message_id <= 0 {
            return Err(malformed("message id", format!("{message_id} is not positive")));
        }
        Ok(PostKey { channel_id, message_id })
    }
}

impl std::fmt::Display for PostKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.channel_id, self.message_id)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    #[default]
    None,
    Photo,
    Video,
    Document,
    Audio,
    Voice,
    Poll,
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub key: PostKey,
    pub text: String,
    pub date: Timestamp,
    pub views: Option<u64>,
    pub media: MediaKind,
    pub link: String,
    pub edited_at: Option<Timestamp>,
    pub tags: Vec<String>,
    /// This version of the post is in the search index (set by the indexer, last).
    #[serde(default)]
    pub indexed: bool,
}

impl Post {
    pub fn new(
        key: PostKey,
        username: Option<&Username>,
        text: &str,
        date: Timestamp,
        media: MediaKind,
    ) -> Result<Self, ValidationError> {
        let len = text.chars().count();
        if len > MAX_POST_TEXT_CHARS {
            return Err(ValidationError::TooLong { what: "post text", len, max: MAX_POST_TEXT_CHARS });
        }
        if len == 0 && media == MediaKind::None {
            return Err(ValidationError::Empty("post (no text and no media)"));
        }
        Ok(Post {
            key,
            text: text.to_owned(),
            date,
            views: None,
            media,
            link: Post::link_for(key, username),
            edited_at: None,
            tags: Vec::new(),
            indexed: false,
        })
    }

    /// `https://t.me/<username>/<id>` for public channels, `https://t.me/c/<id>/<msg>` otherwise.
    pub fn link_for(key: PostKey, username: Option<&Username>) -> String {
        match username {
            Some(u) => format!("https://t.me/{u}/{}", key.message_id),
            None => format!("https://t.me/c/{}/{}", key.channel_id, key.message_id),
        }
    }

    /// The same post as Telegram shows it (text, media, edit time), whatever was derived from it.
    pub fn same_content(&self, other: &Post) -> bool {
        self.key == other.key && self.text == other.text && self.media == other.media && self.edited_at == other.edited_at
    }

    pub fn set_tags(&mut self, tags: Vec<String>) -> Result<(), ValidationError> {
        if tags.len() > MAX_TAGS {
            return Err(malformed("tags", format!("{} tags, at most {MAX_TAGS}", tags.len())));
        }
        let mut clean = Vec::with_capacity(tags.len());
        for tag in tags {
            let tag = tag.trim().to_lowercase();
            super::error::check_len("tag", &tag, MAX_TAG_CHARS)?;
            if !clean.contains(&tag) {
                clean.push(tag);
            }
        }
        self.tags = clean;
        Ok(())
    }
}
