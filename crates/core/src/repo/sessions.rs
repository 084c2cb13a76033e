//! Users' Telegram sessions (sealed by the session node: the table store only ever sees
//! ciphertext) and the state of a login in progress, which the Mini App reads (10-minute TTL).

use super::codec::{decode, item_of, padded};
use super::users::user_pk;
use super::{RepoError, Repository};
use crate::Timestamp;
use crate::model::UserId;
use crate::ports::table_store::query_all;
use crate::ports::{Condition, Item, Key, Query, StoreError, Write};
use serde::{Deserialize, Serialize};

/// How long a login's state stays readable.
pub const LOGIN_STATE_TTL_SECS: i64 = 600;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSession {
    /// The session, encrypted (key id + nonce + ciphertext, base64).
    pub sealed: String,
    /// The Telegram account it is signed in as (always the user's own id).
    pub account_id: i64,
    pub signed_in_at: Timestamp,
}

/// A login in progress, as the Mini App shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LoginState {
    /// Show `url` as a QR code until `expires`.
    Waiting { url: String, expires: Timestamp },
    /// Two-step verification: ask for the password (`failures` wrong ones so far).
    PasswordNeeded { hint: Option<String>, failures: u32 },
    /// Too many wrong passwords: try again after `until`.
    Blocked { until: Timestamp },
    Done,
    /// Refused (for example: signed in with another account than the one that asked).
    Failed { reason: String },
}

fn session_key(user: UserId) -> Key {
    Key::new(user_pk(user), "session")
}
/// A session item, in the `sessions` index (the nodes' work list).
fn session_item(user: UserId, session: &StoredSession) -> Item {
    item_of(session_key(user), session).with_index(Key::new("sessions", padded(user.get())))
}
fn login_key(user: UserId) -> Key {
    Key::new(user_pk(user), "login")
}

fn password_failures_key(user: UserId) -> Key {
    Key::new(user_pk(user), "pwfail")
}
fn login_block_key(user: UserId) -> Key {
    Key::new(user_pk(user), "loginblock")
}

fn password_key_key() -> Key {
    Key::new("meta#keys", "password")
}

impl Repository {
    /// Publishes the session node's public key that 2FA passwords are sealed to.
    pub async fn publish_password_key(&self, key: &crate::messages::PasswordKeyInfo) -> Result<(), RepoError> {
        self.store.put(item_of(password_key_key(), key), Condition::Always).await?;
        Ok(())
    }

    /// The key senders seal passwords to; None until a session node has started.
    pub async fn password_key(&self) -> Result<Option<crate::messages::PasswordKeyInfo>, RepoError> {
        self.store.get(&password_key_key()).await?.map(|i| decode("password key", &i)).transpose()
    }

    pub async fn save_session(&self, user: UserId, session: &StoredSession) -> Result<(), RepoError> {
        self.store.put(session_item(user, session), Condition::Always).await?;
        Ok(())
    }

    /// Stores a newer state of the same session: only while the stored one is still `previous`
    /// (sealed form), so a sign-out or a new login in between is never overwritten. False if
    /// it was not.
    pub async fn replace_session(&self, user: UserId, previous: &str, session: &StoredSession) -> Result<bool, RepoError> {
        match self.store.put(session_item(user, session), Condition::AttrEquals("sealed".into(), previous.into())).await {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn load_session(&self, user: UserId) -> Result<Option<StoredSession>, RepoError> {
        match self.store.get(&session_key(user)).await? {
            Some(item) => Ok(Some(decode("session", &item)?)),
            None => Ok(None),
        }
    }

    /// Signs the user out here: the sealed session is gone.
    pub async fn delete_session(&self, user: UserId) -> Result<(), RepoError> {
        self.store.delete(&session_key(user), Condition::Always).await?;
        Ok(())
    }

    /// Every user with a stored session (the session nodes' work list).
    pub async fn users_with_sessions(&self) -> Result<Vec<UserId>, RepoError> {
        let items = query_all(&*self.store, Query::index_partition("sessions")).await?;
        Ok(items.iter().filter_map(|i| i.attr("account_id").and(Some(i.key.pk.strip_prefix("user#")?.parse().ok()?)).and_then(|id| UserId::new(id).ok())).collect())
    }

    pub async fn save_login_state(&self, user: UserId, state: &LoginState) -> Result<(), RepoError> {
        let item = item_of(login_key(user), state).expiring_at(self.clock.now().plus_secs(LOGIN_STATE_TTL_SECS));
        self.store.put(item, Condition::Always).await?;
        Ok(())
    }

    /// Counts a wrong 2FA password. The count outlives the login it happened in (a new /login
    /// does not reset it) and is forgotten `window_secs` after the last wrong one. Returns the
    /// count, this one included.
    pub async fn count_password_failure(&self, user: UserId, window_secs: i64) -> Result<u32, RepoError> {
        let key = password_failures_key(user);
        self.rewrite(&key, "password failures", |current, now| {
            let failures = current.filter(|i| i.is_live(now)).and_then(|i| i.attr("failures")).and_then(|v| v.as_u64()).unwrap_or(0) as u32 + 1;
            let mut attrs = crate::ports::Attrs::new();
            attrs.insert("failures".into(), failures.into());
            Ok((Some(Item::new(key.clone(), attrs).expiring_at(now.plus_secs(window_secs))), failures))
        })
        .await
    }

    /// Wrong passwords counted and not yet forgotten.
    pub async fn password_failures(&self, user: UserId) -> Result<u32, RepoError> {
        let now = self.clock.now();
        let item = self.store.get(&password_failures_key(user)).await?.filter(|i| i.is_live(now));
        Ok(item.and_then(|i| i.attr("failures").and_then(|v| v.as_u64())).unwrap_or(0) as u32)
    }

    /// No QR login for `user` until `until`; the failure count starts again after it.
    pub async fn block_login(&self, user: UserId, until: Timestamp) -> Result<(), RepoError> {
        let mut attrs = crate::ports::Attrs::new();
        attrs.insert("until".into(), until.0.into());
        let block = Item::new(login_block_key(user), attrs).expiring_at(until);
        self.store.transact(vec![Write::Put(block, Condition::Always), Write::Delete(password_failures_key(user), Condition::Always)]).await?;
        Ok(())
    }

    /// Until when `user` may not log in, if they are blocked now.
    pub async fn login_blocked_until(&self, user: UserId) -> Result<Option<Timestamp>, RepoError> {
        let now = self.clock.now();
        let item = self.store.get(&login_block_key(user)).await?.filter(|i| i.is_live(now));
        Ok(item.and_then(|i| i.attr("until").and_then(|v| v.as_i64())).map(Timestamp))
    }

    /// A login succeeded: earlier wrong passwords no longer count.
    pub async fn clear_password_failures(&self, user: UserId) -> Result<(), RepoError> {
        self.store.delete(&password_failures_key(user), Condition::Always).await?;
        Ok(())
    }

    pub async fn login_state(&self, user: UserId) -> Result<Option<LoginState>, RepoError> {
        let now = self.clock.now();
        match self.store.get(&login_key(user)).await? {
            Some(item) if item.is_live(now) => Ok(Some(decode("login state", &item)?)),
            _ => Ok(None),
        }
    }
}
