//! Embedding and tagging ports.

use async_trait::async_trait;

/// E5-style models embed questions and documents differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EmbedKind {
    Query,
    Passage,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum EmbedError {
    #[error("embedding model unavailable: {0}")]
    Unavailable(String),
    #[error("embedding provider refused the request: {0}")]
    Refused(String),
    #[error("embedding provider answered {got} vectors of {dim} dimensions; expected {expected} of {want}")]
    Shape { got: usize, expected: usize, dim: usize, want: usize },
}

#[async_trait]
pub trait Embedder: Send + Sync {
    /// The model's name as recorded in the collection (a different model needs a reindex).
    fn model(&self) -> &str;
    fn dimension(&self) -> usize;
    /// One L2-normalized vector per text, in order.
    async fn embed(&self, texts: &[String], kind: EmbedKind) -> Result<Vec<Vec<f32>>, EmbedError>;
}

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum TagError {
    #[error("tagger unavailable: {0}")]
    Unavailable(String),
    #[error("tagger answered garbage: {0}")]
    Garbage(String),
}

/// 3–7 short topic tags for a post.
#[async_trait]
pub trait Tagger: Send + Sync {
    async fn tags(&self, text: &str) -> Result<Vec<String>, TagError>;
}
