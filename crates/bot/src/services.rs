//! What every handler gets: the services (built once per process) and the caller (per update).

use crate::send::Outbox;
use crate::settings::BotSettings;
use crate::texts::Texts;
use siftgram_core::messages::ReplyTo;
use siftgram_core::model::{Language, User};
use siftgram_core::ports::Queue;
use siftgram_core::repo::Repository;
use std::sync::Arc;
use teloxide::types::{ChatId, MessageId};

#[derive(Clone)]
pub struct Services {
    pub repo: Repository,
    /// Slow user requests for the workers.
    pub jobs: Arc<dyn Queue>,
    /// Work for the session node (FIFO, grouped by user).
    pub commands: Arc<dyn Queue>,
    pub settings: BotSettings,
    pub out: Outbox,
}

/// The user behind an update, as stored, plus where to answer.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: User,
    pub chat: ChatId,
    pub lang: Language,
    pub update_id: u32,
}

impl Caller {
    pub fn texts(&self) -> Texts {
        Texts(self.lang)
    }
    /// The id of work caused by this update: a redelivered update maps to the same id.
    pub fn work_id(&self) -> String {
        format!("u{}", self.update_id)
    }
    pub fn reply_to(&self, message: MessageId) -> ReplyTo {
        ReplyTo { chat_id: self.chat.0, message_id: Some(message.0), language: self.lang }
    }
}
