use siftgram_core::ports::QueueError;
use siftgram_core::repo::RepoError;
use teloxide::RequestError;

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
}

pub type HandlerResult = Result<(), BotError>;
