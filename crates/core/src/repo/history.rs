//! Query history: what users asked, for `/recommend` and statistics.

use super::codec::{decode, item_of, padded};
use super::users::user_pk;
use super::{MAX_ATTEMPTS, RepoError, Repository};
use crate::model::{QueryRecord, UserId};
use crate::ports::table_store::query_all;
use crate::ports::{Condition, Key, Query, StoreError};

impl Repository {
    pub async fn record_query(&self, record: &QueryRecord) -> Result<(), RepoError> {
        // Queries of the same second are numbered in the order they came (zero-padded, so the
        // sort key orders them); the next number is one past those already there.
        let prefix = format!("q#{}#", padded(record.at.0));
        let same_second = query_all(&*self.store, Query::partition(user_pk(record.user)).prefix(prefix.clone())).await?.len();
        for n in same_second..same_second + MAX_ATTEMPTS {
            let key = Key::new(user_pk(record.user), format!("{prefix}{n:06}"));
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
