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
    /// The readable text of the pages the post links to (set by the indexer): searched and
    /// quoted as the post's own, so an answer cites the post for what its link said.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkText>,
}

/// At most this many of a post's links are read.
pub const MAX_LINKS_PER_POST: usize = 3;
/// A linked page's text is kept up to this many characters (its lead carries what it says).
pub const MAX_LINK_TEXT_CHARS: usize = 4_000;

/// What a linked page says: its address (after redirects), title and readable text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkText {
    pub url: String,
    pub title: String,
    pub text: String,
}

impl LinkText {
    /// Trims the title to 300 characters and the text to `MAX_LINK_TEXT_CHARS`, whitespace runs
    /// collapsed; None when nothing readable is left.
    pub fn new(url: &str, title: &str, text: &str) -> Option<LinkText> {
        let squash = |s: &str, max: usize| -> String {
            let mut out = String::new();
            for line in s.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|l| !l.is_empty()) {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&line);
            }
            out.chars().take(max).collect()
        };
        let (title, text) = (squash(title, 300), squash(text, MAX_LINK_TEXT_CHARS));
        (!text.is_empty()).then(|| LinkText { url: url.to_owned(), title, text })
    }

    /// Title and text, as indexed and quoted.
    pub fn readable(&self) -> String {
        if self.title.is_empty() { self.text.clone() } else { format!("{}\n{}", self.title, self.text) }
    }
}

/// The web links in a post's text that are worth reading, in order, each once: `http(s)://`
/// addresses up to 1,000 characters, trailing punctuation dropped, Telegram's own links
/// (`t.me`, `telegram.me`) skipped; at most `MAX_LINKS_PER_POST`.
pub fn links_in(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '«' | '»')) {
        let Some(start) = word.find("http://").or_else(|| word.find("https://")) else { continue };
        let url = word[start..].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '\'', '…']);
        let host = url.split_once("://").map_or("", |(_, rest)| rest).split(['/', '?', '#']).next().unwrap_or("").to_ascii_lowercase();
        let telegram = ["t.me", "telegram.me", "www.t.me", "telegram.org"].contains(&host.as_str());
        if host.is_empty() || telegram || url.len() > 1_000 || found.iter().any(|f| f == url) {
            continue;
        }
        found.push(url.to_owned());
        if found.len() == MAX_LINKS_PER_POST {
            break;
        }
    }
    found
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
            links: Vec::new(),
        })
    }

    /// `https://t.me/<username>/<id>` for public channels, `https://t.me/c/<id>/<msg>` otherwise.
    pub fn link_for(key: PostKey, username: Option<&Username>) -> String {
        match username {
            Some(u) => format!("https://t.me/{u}/{}", key.message_id),
            None => format!("https://t.me/c/{}/{}", key.channel_id, key.message_id),
        }
    }

    /// The post's text followed by what its links say: what retrieval snippets, answers and
    /// their citations read.
    pub fn readable_text(&self) -> std::borrow::Cow<'_, str> {
        if self.links.is_empty() {
            return std::borrow::Cow::Borrowed(&self.text);
        }
        let mut text = self.text.clone();
        for link in &self.links {
            text.push_str("\n\n");
            text.push_str(&link.readable());
        }
        std::borrow::Cow::Owned(text)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_found_once_without_trailing_punctuation_and_telegrams_own_skipped() {
        let text = "Подробности: https://news.example/a/1?x=2. И ещё (https://news.example/b) «https://t.me/durov/1» https://news.example/a/1?x=2 http://other.example/c, https://fourth.example/d";
        assert_eq!(links_in(text), ["https://news.example/a/1?x=2", "https://news.example/b", "http://other.example/c"]);
        assert!(links_in("без ссылок, только http:// и https://").is_empty());
        assert!(links_in(&format!("https://long.example/{}", "a".repeat(1_000))).is_empty());
    }

    #[test]
    fn link_text_is_squashed_bounded_and_read_after_the_post() {
        assert_eq!(LinkText::new("u", "  ", " \n "), None);
        let link = LinkText::new("https://news.example/a", " Заголовок\n статьи ", &format!("Первый   абзац.\n\n\nВторой {}", "я".repeat(5_000))).unwrap();
        assert_eq!(link.title, "Заголовок\nстатьи");
        assert!(link.text.starts_with("Первый абзац.\nВторой я"));
        assert_eq!(link.text.chars().count(), MAX_LINK_TEXT_CHARS);
        let key = PostKey::new(crate::model::ChannelId::new(1).unwrap(), 1).unwrap();
        let mut post = Post::new(key, None, "Пост", Timestamp(0), MediaKind::None).unwrap();
        assert_eq!(post.readable_text(), "Пост");
        post.links.push(LinkText::new("u", "T", "Текст").unwrap());
        assert_eq!(post.readable_text(), "Пост\n\nT\nТекст");
    }
}
