use super::error::check_len;
use super::{UserId, ValidationError};
use crate::Timestamp;
use serde::{Deserialize, Serialize};

pub const MAX_QUERY_CHARS: usize = 2_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryKind {
    Ask,
    Search,
    Recommend,
}

impl QueryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QueryKind::Ask => "ask",
            QueryKind::Search => "search",
            QueryKind::Recommend => "recommend",
        }
    }
}

/// One question a user asked; feeds `/recommend` and the admin statistics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryRecord {
    pub user: UserId,
    pub kind: QueryKind,
    pub text: String,
    pub at: Timestamp,
}

impl QueryRecord {
    pub fn new(user: UserId, kind: QueryKind, text: &str, at: Timestamp) -> Result<Self, ValidationError> {
        let text = text.trim();
        check_len("query", text, MAX_QUERY_CHARS)?;
        Ok(QueryRecord { user, kind, text: text.to_owned(), at })
    }
}
