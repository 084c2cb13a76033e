//! The record of applied schema migrations, kept in the table itself.

use super::codec::{decode, item_of};
use super::{RepoError, Repository};
use crate::Timestamp;
use crate::ports::table_store::query_all;
use crate::ports::{Condition, Key, Query, StoreError};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedMigration {
    pub version: u32,
    pub name: String,
    pub applied_at: Timestamp,
}

impl Repository {
    /// Applied migrations, in version order.
    pub async fn applied_migrations(&self) -> Result<Vec<AppliedMigration>, RepoError> {
        let items = query_all(self.store.as_ref(), Query::partition("meta#migrations")).await?;
        items.iter().map(|i| decode("migration record", i)).collect()
    }

    /// Records a migration as applied; false if it already was (a racing `migrate` is harmless).
    pub async fn record_migration(&self, version: u32, name: &str) -> Result<bool, RepoError> {
        let record = AppliedMigration { version, name: name.to_owned(), applied_at: self.clock.now() };
        let key = Key::new("meta#migrations", format!("{version:06}"));
        match self.store.put(item_of(key, &record), Condition::NotExists).await {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
