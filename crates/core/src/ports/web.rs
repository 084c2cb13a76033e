//! The web-search port (a SearXNG instance in the adapters).

use crate::model::Language;
use async_trait::async_trait;

#[derive(Clone, Debug, PartialEq)]
pub struct WebResult {
    pub title: String,
    pub url: String,
    pub snippet: String,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("web search unavailable: {0}")]
pub struct WebSearchError(pub String);

#[async_trait]
pub trait WebSearch: Send + Sync {
    /// The best `limit` results for `query`, best first.
    async fn search(&self, query: &str, language: Language, limit: usize) -> Result<Vec<WebResult>, WebSearchError>;
}
