//! Reading recorded channels: Telegram Desktop's JSON export (`result.json`, one chat or a full
//! export) and a plain JSONL of posts. Used by the eval command, the demo and the recorded
//! Telegram source.

use crate::Timestamp;
use crate::model::{ChannelId, MediaKind, Post, PostKey, ValidationError};
use serde_json::Value;

/// One channel's recorded posts.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedChannel {
    pub id: ChannelId,
    pub title: String,
    pub posts: Vec<Post>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("line {line}: {why}")]
    Line { line: usize, why: String },
    #[error("export: {0}")]
    Shape(String),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

/// `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM[:SS]` (UTC), or unix seconds.
pub fn parse_date(value: &Value) -> Option<Timestamp> {
    if let Some(n) = value.as_i64() {
        return Some(Timestamp(n));
    }
    let s = value.as_str()?.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Some(Timestamp(n));
    }
    let (date, time) = s.split_once(['T', ' ']).unwrap_or((s, "00:00:00"));
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let mut t = time.trim_end_matches('Z').split(':').map(|p| p.parse::<i64>().ok());
    let (h, mi, sec) = (t.next().flatten().unwrap_or(0), t.next().flatten().unwrap_or(0), t.next().flatten().unwrap_or(0));
    Some(Timestamp(Timestamp::from_utc_date(y, m as u32, day as u32).0 + h * 3600 + mi * 60 + sec))
}

/// Export text is a string or an array of strings and entity objects (`{"type":…, "text":…}`).
fn export_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().map(|p| p.as_str().map(str::to_owned).unwrap_or_else(|| p["text"].as_str().unwrap_or("").to_owned())).collect(),
        _ => String::new(),
    }
}

fn export_media(m: &Value) -> MediaKind {
    if m.get("photo").is_some() {
        MediaKind::Photo
    } else if let Some(kind) = m["media_type"].as_str() {
        match kind {
            "video_file" | "animation" | "video_message" => MediaKind::Video,
            "audio_file" => MediaKind::Audio,
            "voice_message" => MediaKind::Voice,
            _ => MediaKind::Other,
        }
    } else if m.get("poll").is_some() {
        MediaKind::Poll
    } else if m.get("file").is_some() {
        MediaKind::Document
    } else {
        MediaKind::None
    }
}

fn export_chat(chat: &Value) -> Result<RecordedChannel, ExportError> {
    let raw_id = chat["id"].as_i64().ok_or_else(|| ExportError::Shape("a chat has no id".into()))?;
    // Exports of channels carry the bare id; Bot API style ids are -100<id>.
    let id = ChannelId::new(raw_id.abs() % 1_000_000_000_000)?;
    let title = chat["name"].as_str().unwrap_or("").to_owned();
    let mut posts = Vec::new();
    for m in chat["messages"].as_array().into_iter().flatten() {
        if m["type"].as_str() != Some("message") {
            continue; // service messages (pins, joins, …)
        }
        let Some(message_id) = m["id"].as_i64() else { continue };
        let date = parse_date(m.get("date_unixtime").unwrap_or(&m["date"])).ok_or_else(|| ExportError::Shape(format!("message {message_id}: bad date")))?;
        let text = export_text(&m["text"]);
        let media = export_media(m);
        // Telegram allows empty messages only with media; skip anything else quietly.
        let Ok(mut post) = Post::new(PostKey::new(id, message_id)?, None, &text, date, media) else { continue };
        post.edited_at = m.get("edited_unixtime").or(m.get("edited")).and_then(parse_date);
        post.views = m["views"].as_u64();
        posts.push(post);
    }
    Ok(RecordedChannel { id, title, posts })
}

/// A Telegram Desktop export: one chat (`{"name", "id", "messages"}`) or a full export
/// (`{"chats": {"list": [...]}}`).
pub fn read_desktop_export(json: &str) -> Result<Vec<RecordedChannel>, ExportError> {
    let root: Value = serde_json::from_str(json).map_err(|e| ExportError::Json(e.to_string()))?;
    match root["chats"]["list"].as_array() {
        Some(chats) => chats.iter().map(export_chat).collect(),
        None if root.get("messages").is_some() => Ok(vec![export_chat(&root)?]),
        None => Err(ExportError::Shape("neither a chat export nor a full export".into())),
    }
}

/// JSONL posts: `{"channel": id, "id": message id, "date": …, "text": …, "title"?: channel title}`.
pub fn read_posts_jsonl(text: &str) -> Result<Vec<RecordedChannel>, ExportError> {
    let mut channels: Vec<RecordedChannel> = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let bad = |why: String| ExportError::Line { line: n + 1, why };
        let v: Value = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        let channel = ChannelId::new(v["channel"].as_i64().ok_or_else(|| bad("no channel".into()))?).map_err(|e| bad(e.to_string()))?;
        let key = PostKey::new(channel, v["id"].as_i64().ok_or_else(|| bad("no id".into()))?).map_err(|e| bad(e.to_string()))?;
        let date = parse_date(&v["date"]).ok_or_else(|| bad("bad date".into()))?;
        let post = Post::new(key, None, v["text"].as_str().unwrap_or(""), date, MediaKind::None).map_err(|e| bad(e.to_string()))?;
        let i = match channels.iter().position(|c| c.id == channel) {
            Some(i) => i,
            None => {
                let title = v["title"].as_str().map(str::to_owned).unwrap_or_else(|| format!("Channel {channel}"));
                channels.push(RecordedChannel { id: channel, title, posts: Vec::new() });
                channels.len() - 1
            }
        };
        channels[i].posts.push(post);
    }
    Ok(channels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desktop_exports_are_read_with_entity_texts_media_and_edits() {
        let json = r#"{"name": "Рынки", "type": "public_channel", "id": 1234567, "messages": [
            {"id": 1, "type": "service", "date": "2026-11-01T10:00:00", "action": "pin_message"},
            {"id": 2, "type": "message", "date": "2026-11-01T10:00:00", "date_unixtime": "1793527200",
             "text": ["Курс ", {"type": "bold", "text": "доллара"}, " вырос"]},
            {"id": 3, "type": "message", "date": "2026-11-02T11:30:00", "edited": "2026-11-02T12:00:00",
             "photo": "photos/1.jpg", "text": ""},
            {"id": 4, "type": "message", "date": "2026-11-02T11:31:00", "text": ""}
        ]}"#;
        let channels = read_desktop_export(json).unwrap();
        let posts = &channels[0].posts;
        assert_eq!((channels[0].title.as_str(), posts.len()), ("Рынки", 2), "service and empty messages skipped");
        assert_eq!(posts[0].text, "Курс доллара вырос");
        assert_eq!(posts[0].date, Timestamp(1_793_527_200));
        assert_eq!(posts[1].media, MediaKind::Photo);
        assert_eq!(posts[1].edited_at, parse_date(&Value::from("2026-11-02T12:00:00")));
        let full = format!(r#"{{"chats": {{"list": [{json}]}}}}"#);
        assert_eq!(read_desktop_export(&full).unwrap(), channels);
        assert!(read_desktop_export("{}").is_err());
    }

    #[test]
    fn jsonl_posts_group_by_channel_and_bad_lines_are_named() {
        let text = "{\"channel\": 1, \"id\": 1, \"date\": \"2026-11-01\", \"text\": \"a\"}\n\n{\"channel\": 2, \"id\": 5, \"date\": 1793527200, \"text\": \"b\"}\n";
        let channels = read_posts_jsonl(text).unwrap();
        assert_eq!(channels.len(), 2);
        assert_eq!(channels[0].posts[0].date, Timestamp::from_utc_date(2026, 11, 1));
        let err = read_posts_jsonl("{\"channel\": 1, \"id\": 1, \"date\": \"yesterday\", \"text\": \"a\"}").unwrap_err();
        assert!(err.to_string().starts_with("line 1"), "{err}");
    }
}
