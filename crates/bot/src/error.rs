use siftgram_core::ports::QueueError;
use siftgram_core::repo::RepoError;
use teloxide::{ApiError, RequestError};

/// Why handling an update failed. Any of these makes the webhook answer 500, so Telegram
/// delivers the update again (the claim on it is released first).
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("Telegram Bot API: {0}")]
    Telegram(#[from] RequestError),
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
    /// Another delivery of the same update holds a fresh claim on it.
    #[error("the update is being handled by another delivery")]
    StillRunning,
}

impl BotError {
    /// Whether trying again cannot help: Telegram refused the request itself (a 400 "Bad
    /// Request" such as "message is too long", a 403 such as "bot was blocked"). 429s that
    /// outlast the budget, Telegram's 5xx, network failures and store or queue errors pass.
    pub fn is_final(&self) -> bool {
        match self {
            BotError::Telegram(RequestError::Api(ApiError::Unknown(description))) => {
                ["Bad Request", "Forbidden"].iter().any(|p| description.starts_with(p))
            }
            // A wrong token or a second poller: every update would fail, none is to blame.
            BotError::Telegram(RequestError::Api(ApiError::InvalidToken | ApiError::TerminatedByOtherGetUpdates | ApiError::CantGetUpdates)) => false,
            // Every other error teloxide names is one of Telegram's 400s or 403s.
            BotError::Telegram(RequestError::Api(_) | RequestError::MigrateToChatId(_)) => true,
            _ => false,
        }
    }
}

pub type HandlerResult = Result<(), BotError>;
