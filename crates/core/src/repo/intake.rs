//! Bot intake state: which Telegram updates were already taken in (a redelivered webhook is a
//! no-op) and each user's rate-limit token bucket.

use super::codec::{decode, item_of};
use super::users::user_pk;
use super::{MAX_ATTEMPTS, RepoError, Repository};
use crate::Timestamp;
use crate::model::UserId;
use crate::ports::{Attrs, Condition, Item, Key, StoreError};
use crate::rules::{RateDecision, RateLimit, TokenBucket};

/// Telegram gives up redelivering an update well within a day; a week is a wide margin.
const UPDATE_CLAIM_TTL_SECS: i64 = 7 * 24 * 3600;

fn update_key(update_id: u32) -> Key {
    Key::new(format!("update#{update_id}"), "update")
}

impl Repository {
    /// Records that update `update_id` is being handled. False when it already was (a retried
    /// webhook delivery or a second poller): the caller must then do nothing.
    pub async fn claim_update(&self, update_id: u32) -> Result<bool, RepoError> {
        let mut attrs = Attrs::new();
        attrs.insert("at".into(), self.clock.now().0.into());
        let item = Item::new(update_key(update_id), attrs).expiring_at(self.clock.now().plus_secs(UPDATE_CLAIM_TTL_SECS));
        match self.store.put(item, Condition::NotExists).await {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Forgets a claim whose handling failed, so Telegram's redelivery is handled again.
    pub async fn release_update(&self, update_id: u32) -> Result<(), RepoError> {
        Ok(self.store.delete(&update_key(update_id), Condition::Always).await?)
    }

    /// Takes one token from `user`'s bucket.
    pub async fn take_rate_token(&self, user: UserId, limit: RateLimit) -> Result<RateDecision, RepoError> {
        let key = Key::new(user_pk(user), "ratelimit");
        for _ in 0..MAX_ATTEMPTS {
            let now = self.clock.now();
            let current = self.store.get(&key).await?;
            let mut bucket = match &current {
                Some(item) => decode::<TokenBucket>("rate bucket", item)?,
                None => TokenBucket::full(limit, now),
            };
            let decision = bucket.take(limit, now);
            if decision == (RateDecision::Limited { warn: false }) {
                // Nothing changed that matters; spare the write while someone floods.
                return Ok(decision);
            }
            let condition = current.as_ref().map_or(Condition::NotExists, |i| Condition::Version(i.version));
            // An idle bucket is full again after burst/per_minute minutes; let it expire by then.
            let full_after = i64::from(limit.burst) * 60 / i64::from(limit.per_minute.max(1)) + 60;
            let item = item_of(key.clone(), &bucket).expiring_at(Timestamp(now.0 + full_after));
            match self.store.put(item, condition).await {
                Ok(_) => return Ok(decision),
                Err(StoreError::ConditionFailed(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RepoError::Contended("rate bucket"))
    }
}
