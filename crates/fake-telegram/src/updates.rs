//! Updates as Telegram sends them, built for a fake user so tests read like what people do.

use crate::Shared;
use crate::state::SentMessage;
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

/// A Telegram user talking to the bot in a private chat (chat id = user id).
#[derive(Clone)]
pub struct FakeUser {
    shared: Shared,
    pub id: i64,
    pub first_name: String,
    pub language_code: String,
}

pub(crate) fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl FakeUser {
    pub(crate) fn new(shared: Shared, id: i64, language_code: &str) -> FakeUser {
        FakeUser { shared, id, first_name: format!("User{id}"), language_code: language_code.to_owned() }
    }

    pub fn named(mut self, first_name: &str) -> FakeUser {
        self.first_name = first_name.to_owned();
        self
    }

    pub fn user_json(&self) -> Value {
        json!({"id": self.id, "is_bot": false, "first_name": self.first_name, "language_code": self.language_code})
    }

    fn chat_json(&self) -> Value {
        json!({"id": self.id, "first_name": self.first_name, "type": "private"})
    }

    /// The update for the user sending `text` (commands get their `bot_command` entity).
    pub fn says(&self, text: &str) -> Value {
        let mut state = self.shared.state.lock().expect("fake state lock");
        let message_id = state.take_message_id(self.id);
        let update_id = state.take_update_id();
        let visible = SentMessage { message_id, from_bot: false, text: text.to_owned(), reply_markup: None, edited: false, html: None, date: now() };
        state.chats.entry(self.id).or_default().messages.insert(message_id, visible);
        state.version += 1;
        let mut message = json!({
            "message_id": message_id,
            "from": self.user_json(),
            "chat": self.chat_json(),
            "date": now(),
            "text": text,
        });
        if text.starts_with('/') {
            let len = text.split_whitespace().next().unwrap_or("").encode_utf16().count();
            message["entities"] = json!([{"offset": 0, "length": len, "type": "bot_command"}]);
        }
        drop(state);
        self.shared.changed.notify_waiters();
        json!({"update_id": update_id, "message": message})
    }

    /// The update for the user replying with `text` to the message `message_id` in their chat
    /// (Telegram puts the message replied to, as it is now, in `reply_to_message`).
    pub fn replies(&self, message_id: i32, text: &str) -> Value {
        let replied = {
            let state = self.shared.state.lock().expect("fake state lock");
            state.chats.get(&self.id).and_then(|c| c.messages.get(&message_id)).cloned()
        };
        let mut update = self.says(text);
        if let Some(replied) = replied {
            let from = if replied.from_bot {
                json!({"id": crate::BOT_USER_ID, "is_bot": true, "first_name": "Siftgram", "username": crate::BOT_USERNAME})
            } else {
                self.user_json()
            };
            update["message"]["reply_to_message"] = json!({"message_id": message_id, "from": from, "chat": self.chat_json(), "date": replied.date, "text": replied.text});
        }
        update
    }

    /// The update for the user pressing the inline button with `data` under the bot's message
    /// `message_id`.
    pub fn presses(&self, message_id: i32, data: &str) -> Value {
        let mut state = self.shared.state.lock().expect("fake state lock");
        let update_id = state.take_update_id();
        let shown = state.chats.get(&self.id).and_then(|c| c.messages.get(&message_id)).cloned();
        let mut message = json!({
            "message_id": message_id,
            "from": {"id": crate::BOT_USER_ID, "is_bot": true, "first_name": "Siftgram", "username": crate::BOT_USERNAME},
            "chat": self.chat_json(),
            "date": now(),
            "text": shown.as_ref().map(|m| m.text.clone()).unwrap_or_default(),
        });
        if let Some(markup) = shown.and_then(|m| m.reply_markup) {
            message["reply_markup"] = markup;
        }
        json!({
            "update_id": update_id,
            "callback_query": {
                "id": format!("{}{}", self.id, update_id),
                "from": self.user_json(),
                "message": message,
                "chat_instance": format!("ci{}", self.id),
                "data": data,
            }
        })
    }
}
