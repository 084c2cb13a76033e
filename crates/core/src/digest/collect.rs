//! What goes in a digest: the newest posts since the last one from the chosen channels (all
//! followed ones by default, only those included in digests), filtered by tags, at most
//! `max_posts`, grouped by topic (the post's first tag), each with a short extract.

use crate::Timestamp;
use crate::model::{ChannelId, DigestSettings, DigestStyle, Language, Post};
use crate::ports::ChatMessage;
use crate::repo::{RepoError, Repository};
use crate::retrieval::sentences;

#[derive(Clone, Debug, PartialEq)]
pub struct DigestItem {
    pub post: Post,
    pub channel_title: String,
    /// The post's opening sentence (brief) or first few (detailed).
    pub extract: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TopicGroup {
    /// The shared tag; empty for posts without tags.
    pub topic: String,
    pub items: Vec<DigestItem>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DigestContent {
    pub since: Timestamp,
    pub until: Timestamp,
    pub groups: Vec<TopicGroup>,
}

impl DigestContent {
    pub fn post_count(&self) -> usize {
        self.groups.iter().map(|g| g.items.len()).sum()
    }
}

const PAGE: usize = 100;

fn extract(text: &str, style: DigestStyle) -> String {
    let (count, max_chars) = match style {
        DigestStyle::Brief => (1, 200),
        DigestStyle::Detailed => (3, 600),
    };
    let quotable = sentences(text).into_iter().filter(|s| s.chars().any(char::is_alphanumeric)).take(count).collect::<Vec<_>>().join(" ");
    if quotable.chars().count() <= max_chars {
        return quotable;
    }
    let cut: String = quotable.chars().take(max_chars - 1).collect();
    format!("{}…", cut.trim_end())
}

pub async fn collect_digest(repo: &Repository, settings: &DigestSettings, since: Timestamp, until: Timestamp) -> Result<DigestContent, RepoError> {
    let followed: Vec<ChannelId> =
        repo.subscriptions_of(settings.user).await?.into_iter().filter(|s| s.settings.include_in_digest).map(|s| s.channel).collect();
    let channels: Vec<ChannelId> = if settings.channels.is_empty() { followed } else { followed.into_iter().filter(|c| settings.channels.contains(c)).collect() };
    let mut found: Vec<DigestItem> = Vec::new();
    for channel in channels {
        let title = repo.get_channel(channel).await?.map(|c| c.title).unwrap_or_default();
        let mut cursor = None;
        // Newest first; message ids grow with time, so the walk stops at the first older post.
        'pages: loop {
            let (posts, next) = repo.channel_posts(channel, PAGE, cursor).await?;
            for post in posts {
                if post.date <= since {
                    break 'pages;
                }
                let wanted = settings.tags.is_empty() || post.tags.iter().any(|t| settings.tags.iter().any(|w| w.eq_ignore_ascii_case(t)));
                if post.date <= until && wanted {
                    let extract = extract(&post.text, settings.style);
                    found.push(DigestItem { post, channel_title: title.clone(), extract });
                }
            }
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
    }
    found.sort_by(|a, b| b.post.date.cmp(&a.post.date).then(a.post.key.channel_id.cmp(&b.post.key.channel_id)));
    found.truncate(usize::from(settings.max_posts));
    let mut groups: Vec<TopicGroup> = Vec::new();
    for item in found {
        let topic = item.post.tags.first().cloned().unwrap_or_default();
        match groups.iter_mut().find(|g| g.topic == topic) {
            Some(g) => g.items.push(item),
            None => groups.push(TopicGroup { topic, items: vec![item] }),
        }
    }
    // Bigger topics first; untagged posts last.
    groups.sort_by(|a, b| a.topic.is_empty().cmp(&b.topic.is_empty()).then(b.items.len().cmp(&a.items.len())).then(a.topic.cmp(&b.topic)));
    Ok(DigestContent { since, until, groups })
}

/// The prompt for the digest's summary: a short overview of what happened, by topic.
pub fn digest_prompt(content: &DigestContent, language: Language, style: DigestStyle) -> Vec<ChatMessage> {
    let length = match (style, language) {
        (DigestStyle::Brief, Language::Ru) => "3–4 предложения",
        (DigestStyle::Detailed, Language::Ru) => "1–2 абзаца",
        (DigestStyle::Brief, Language::En) => "3–4 sentences",
        (DigestStyle::Detailed, Language::En) => "1–2 paragraphs",
    };
    let system = match language {
        Language::Ru => format!("Ты пишешь краткий обзор новостей из Telegram-каналов пользователя: {length}, только по постам ниже, без выдумок, по-русски, простым текстом без разметки."),
        Language::En => format!("You write a short overview of the news from the user's Telegram channels: {length}, only from the posts below, nothing invented, in English, plain text without markup."),
    };
    let mut posts = String::new();
    for group in &content.groups {
        for item in &group.items {
            posts.push_str(&format!("- {} ({}): {}\n", item.channel_title, group.topic, item.extract));
        }
    }
    vec![ChatMessage::system(system), ChatMessage::user(posts)]
}
