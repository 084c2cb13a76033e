//! What the fake remembers: chats and their messages, calls, pending updates, injected failures.

use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

/// One Bot API call as the fake received it.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub params: Value,
    pub at: Instant,
}

/// A message in a chat as the user would see it now.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SentMessage {
    pub message_id: i32,
    pub from_bot: bool,
    /// The visible text (HTML markup removed, as Telegram shows it).
    pub text: String,
    pub reply_markup: Option<Value>,
    pub edited: bool,
    /// The text as sent with `parse_mode: HTML` (already checked to parse), for a page that
    /// shows the formatting; None for plain text.
    pub html: Option<String>,
    /// When it was sent (unix seconds).
    pub date: i64,
}

impl SentMessage {
    /// The inline buttons as (text, callback_data or url/web_app url), row by row flattened.
    pub fn buttons(&self) -> Vec<(String, String)> {
        let rows = self.reply_markup.as_ref().and_then(|m| m["inline_keyboard"].as_array()).cloned().unwrap_or_default();
        rows.iter()
            .flat_map(|row| row.as_array().cloned().unwrap_or_default())
            .map(|b| {
                let target = b["callback_data"].as_str().or(b["url"].as_str()).or(b["web_app"]["url"].as_str()).unwrap_or("");
                (b["text"].as_str().unwrap_or("").to_owned(), target.to_owned())
            })
            .collect()
    }
}

/// An error the next call of a method returns instead of succeeding.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// 429 with `parameters.retry_after`.
    TooManyRequests { retry_after: u32 },
    /// 500 from Telegram's side.
    Internal,
    /// 400 "Bad Request: <description>": Telegram refusing the request itself.
    BadRequest(String),
    /// The call goes through: queued before a failure, it makes a later call fail, not the next.
    Pass,
}

#[derive(Default)]
pub struct Chat {
    pub messages: BTreeMap<i32, SentMessage>,
}

#[derive(Default)]
pub struct State {
    pub calls: Vec<Call>,
    pub chats: HashMap<i64, Chat>,
    /// Message ids are per chat and shared by both sides, as in private chats.
    pub next_message_id: HashMap<i64, i32>,
    pub next_update_id: u32,
    pub pending: Vec<Value>,
    pub failures: Vec<(String, Failure)>,
    pub blocked: HashSet<i64>,
    pub webhook: Option<(String, Option<String>)>,
    pub commands: HashMap<String, Vec<(String, String)>>,
    pub callback_answers: Vec<Value>,
    /// Bumped by every change a chat could show (a message sent, edited or deleted, a chat
    /// action), so a page can wait for the next one.
    pub version: u64,
    /// The last "typing…" chat action per chat.
    pub typing: HashMap<i64, Instant>,
}

impl State {
    pub fn take_message_id(&mut self, chat_id: i64) -> i32 {
        let next = self.next_message_id.entry(chat_id).or_insert(1);
        let id = *next;
        *next += 1;
        id
    }

    pub fn take_update_id(&mut self) -> u32 {
        self.next_update_id += 1;
        // Telegram's update ids are large and increasing; start well above zero.
        100_000 + self.next_update_id
    }

    pub fn take_failure(&mut self, method: &str) -> Option<Failure> {
        let i = self.failures.iter().position(|(m, _)| m == method)?;
        Some(self.failures.remove(i).1)
    }
}
