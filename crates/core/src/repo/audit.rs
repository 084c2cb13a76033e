//! The audit trail of admin changes (who, when, what), newest first in the admin panel.

use super::codec::{decode, item_of, padded};
use super::{MAX_ATTEMPTS, RepoError, Repository};
use crate::Timestamp;
use crate::model::UserId;
use crate::ports::{Condition, Key, Query, StoreError};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub by: UserId,
    /// What was done, e.g. `tier`, `block`, `invite_create`, `api_key_revoke`.
    pub action: String,
    /// What it was done to (a user id, an invite code, a key id).
    pub target: String,
    /// The change, for people (`free → pro for 30 days`).
    pub detail: String,
}

const AUDIT_PK: &str = "audit";

impl Repository {
    pub async fn record_audit(&self, entry: &AuditEntry) -> Result<(), RepoError> {
        let prefix = padded(entry.at.0);
        for n in 0..MAX_ATTEMPTS * 4 {
            let key = Key::new(AUDIT_PK, format!("{prefix}#{n:04}"));
            match self.store.put(item_of(key, entry), Condition::NotExists).await {
                Ok(_) => return Ok(()),
                Err(StoreError::ConditionFailed(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RepoError::Contended("audit trail"))
    }

    /// The latest `limit` entries, newest first.
    pub async fn recent_audit(&self, limit: usize) -> Result<Vec<AuditEntry>, RepoError> {
        let page = self.store.query(Query::partition(AUDIT_PK).descending().limit(limit)).await?;
        page.items.iter().map(|i| decode("audit entry", i)).collect()
    }
}
