//! Leases: one owner per resource (a user's MTProto session) at a time, until expiry.

use super::codec::{decode, item_of};
use super::{RepoError, Repository};
use crate::model::Lease;
use crate::ports::{Condition, Key, StoreError};

fn lease_key(resource: &str) -> Key {
    Key::new(format!("lease#{resource}"), "lease")
}

impl Repository {
    /// Takes the lease on `resource` for `owner` for `ttl_secs`, or renews it if `owner` holds it.
    /// None when another owner holds a live lease.
    pub async fn acquire_lease(&self, resource: &str, owner: &str, ttl_secs: i64) -> Result<Option<Lease>, RepoError> {
        if owner.is_empty() {
            return Err(crate::model::ValidationError::Empty("lease owner").into());
        }
        let lease = Lease { resource: resource.to_owned(), owner: owner.to_owned(), expires_at: self.clock.now().plus_secs(ttl_secs) };
        let item = item_of(lease_key(resource), &lease).expiring_at(lease.expires_at);
        // Absent (or expired) → take it; held by us → renew it. Anything else is someone else's.
        for condition in [Condition::NotExists, Condition::AttrEquals("owner".into(), owner.into())] {
            match self.store.put(item.clone(), condition).await {
                Ok(_) => return Ok(Some(lease)),
                Err(StoreError::ConditionFailed(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }

    /// Gives the lease up if `owner` holds it; true if it did.
    pub async fn release_lease(&self, resource: &str, owner: &str) -> Result<bool, RepoError> {
        match self.store.delete(&lease_key(resource), Condition::AttrEquals("owner".into(), owner.into())).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn current_lease(&self, resource: &str) -> Result<Option<Lease>, RepoError> {
        match self.store.get(&lease_key(resource)).await? {
            Some(item) => Ok(Some(decode("lease", &item)?)),
            None => Ok(None),
        }
    }
}
