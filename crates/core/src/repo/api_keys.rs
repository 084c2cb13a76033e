//! API keys for automation: stored by their public id with a hash of the secret (the secret
//! itself is shown once and never stored), revocable, with the time each was last used.

use super::codec::{decode, item_of, padded};
use super::{RepoError, Repository};
use crate::Timestamp;
use crate::model::UserId;
use crate::ports::table_store::query_all;
use crate::ports::{Condition, Key, Query};
use serde::{Deserialize, Serialize};

/// Longest name an API key may be given (to tell keys apart in the panel).
pub const MAX_API_KEY_NAME_CHARS: usize = 64;

/// `last_used_at` is written at most this often per key, so busy automation does not cost a
/// write per request.
const LAST_USED_EVERY_SECS: i64 = 60;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Public part of the key (in the key itself, in lists and logs).
    pub id: String,
    /// Whose requests the key makes.
    pub user: UserId,
    pub name: String,
    /// Hash of the secret part, hex (computed by the API; opaque here).
    pub secret_hash: String,
    pub created_at: Timestamp,
    pub created_by: UserId,
    #[serde(default)]
    pub last_used_at: Option<Timestamp>,
    #[serde(default)]
    pub revoked_at: Option<Timestamp>,
}

fn api_key_key(id: &str) -> Key {
    Key::new(format!("apikey#{id}"), "apikey")
}

fn api_key_item(key: &ApiKey) -> crate::ports::Item {
    item_of(api_key_key(&key.id), key).with_index(Key::new("apikeys", format!("{}#{}#{}", padded(key.user.get()), padded(key.created_at.0), key.id)))
}

impl Repository {
    pub async fn create_api_key(&self, key: &ApiKey) -> Result<(), RepoError> {
        match self.store.put(api_key_item(key), Condition::NotExists).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_condition_failure() => Err(RepoError::AlreadyExists("api key")),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get_api_key(&self, id: &str) -> Result<Option<ApiKey>, RepoError> {
        match self.store.get(&api_key_key(id)).await? {
            Some(item) => Ok(Some(decode("api key", &item)?)),
            None => Ok(None),
        }
    }

    /// Every key, or only `user`'s, oldest first (revoked ones included: the panel shows them).
    pub async fn list_api_keys(&self, user: Option<UserId>) -> Result<Vec<ApiKey>, RepoError> {
        let mut query = Query::index_partition("apikeys");
        if let Some(user) = user {
            query = query.prefix(format!("{}#", padded(user.get())));
        }
        query_all(&*self.store, query).await?.iter().map(|i| decode("api key", i)).collect()
    }

    /// Revokes key `id`; false when it was revoked already. `NotFound` for an unknown id.
    pub async fn revoke_api_key(&self, id: &str) -> Result<bool, RepoError> {
        let key = api_key_key(id);
        self.rewrite(&key, "api key", |current, now| {
            let mut api_key: ApiKey = decode("api key", current.ok_or(RepoError::NotFound("api key"))?)?;
            if api_key.revoked_at.is_some() {
                return Ok((None, false));
            }
            api_key.revoked_at = Some(now);
            Ok((Some(api_key_item(&api_key)), true))
        })
        .await
    }

    /// Notes that key `id` was used now (at most once a minute).
    pub async fn touch_api_key(&self, id: &str) -> Result<(), RepoError> {
        let key = api_key_key(id);
        self.rewrite(&key, "api key", |current, now| {
            let Some(current) = current else { return Ok((None, ())) };
            let mut api_key: ApiKey = decode("api key", current)?;
            if api_key.last_used_at.is_some_and(|at| now.0 - at.0 < LAST_USED_EVERY_SECS) {
                return Ok((None, ()));
            }
            api_key.last_used_at = Some(now);
            Ok((Some(api_key_item(&api_key)), ()))
        })
        .await
    }
}
