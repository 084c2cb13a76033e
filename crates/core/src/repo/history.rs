//! Query history: what users asked, for `/recommend` and statistics.

use super::codec::{decode, item_of, padded};
use super::users::user_pk;
use super::{MAX_ATTEMPTS, RepoError, Repository};
use crate::model::{QueryRecord, UserId};
use crate::ports::{Condition, Key, Query, StoreError};

impl Repository {
    pub async fn record_query(&self, record: &QueryRecord) -> Result<(), RepoError> {
        // Several queries in one second differ by their text's hash, the same one by a suffix.
        let hash = crate::hash::fnv64(record.text.bytes());
        for n in 0..MAX_ATTEMPTS {
            let key = Key::new(user_pk(record.user), format!("q#{}#{hash:016x}-{n}", padded(record.at.0)));
            match self.store.put(item_of(key, record), Condition::NotExists).await {
                Ok(_) => return Ok(()),
                Err(StoreError::ConditionFailed(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RepoError::Contended("query history"))
    }

    /// The user's latest queries, newest first.
    pub async fn recent_queries(&self, user: UserId, limit: usize) -> Result<Vec<QueryRecord>, RepoError> {
        let page = self.store.query(Query::partition(user_pk(user)).prefix("q#").descending().limit(limit)).await?;
        page.items.iter().map(|i| decode("query", i)).collect()
    }
}
