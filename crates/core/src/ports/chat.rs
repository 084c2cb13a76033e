//! The chat-model port (OpenAI-compatible `/v1/chat/completions` providers in the adapters).

use async_trait::async_trait;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage { role: Role::System, content: content.into() }
    }
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage { role: Role::User, content: content.into() }
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ChatError {
    /// No provider configured, or every provider failed or is cooling down.
    #[error("no chat model available: {0}")]
    Unavailable(String),
    #[error("the chat model refused: {0}")]
    Refused(String),
}

#[async_trait]
pub trait ChatModel: Send + Sync {
    /// The assistant's answer to `messages`, and which model gave it.
    async fn complete(&self, messages: &[ChatMessage]) -> Result<ChatAnswer, ChatError>;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatAnswer {
    pub content: String,
    pub provider: String,
}
