//! The link-reading port: the readable text of a page a post links to (an SSRF-safe fetcher
//! with a readability extractor in the adapters).

use crate::model::LinkText;
use async_trait::async_trait;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// Never fetched: not http(s), an address that is not public, or robots.txt says no.
    #[error("not fetched: {0}")]
    Refused(String),
    /// Fetched, but nothing readable came of it (a network error, a status, a content type,
    /// too large, too slow, no text).
    #[error("unreadable: {0}")]
    Unreadable(String),
}

#[async_trait]
pub trait LinkReader: Send + Sync {
    async fn read(&self, url: &str) -> Result<LinkText, LinkError>;
}
