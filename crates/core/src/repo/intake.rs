//! Bot intake state: which Telegram updates were already taken in (a redelivered webhook is a
//! no-op), the messages an update's handling already sent (so handling it again after a failure
//! does not send them twice) and each user's rate-limit token bucket.

use super::codec::{decode, item_of};
use super::users::user_pk;
use super::{RepoError, Repository};
use crate::Timestamp;
use crate::model::UserId;
use crate::ports::{Attrs, Condition, Item, Key, StoreError};
use crate::rules::{RateDecision, RateLimit, TokenBucket};

/// Telegram gives up redelivering an update well within a day; a week is a wide margin.
const UPDATE_CLAIM_TTL_SECS: i64 = 7 * 24 * 3600;

fn sent_key(work: &str, what: &str) -> Key {
    Key::new(format!("work#{work}"), format!("sent#{what}"))
}

fn update_key(update_id: u32) -> Key {
    Key::new(format!("update#{update_id}"), "update")
}

/// What a claim on an update found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateClaim {
    /// Ours to handle: new, failed before `failures` times, or left running by a taker that died.
    Claimed { failures: u32 },
    /// Handled or given up on before (Telegram redelivered it): do nothing.
    Finished,
    /// Another taker holds a claim on it younger than the lease: it may still be handling it, so
    /// the caller must ask for a redelivery later rather than acknowledge it.
    Running,
    /// Its takers died holding it `failures` times (a poison update that kills the process):
    /// given up on now, like one that failed `max_failures` times.
    GaveUp { failures: u32 },
}

/// What became of a failed update's claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateFailure {
    /// Released: a redelivery is handled again. `failures` so far, this one included.
    WillRetry { failures: u32 },
    /// It failed `max` times: kept as taken, so no redelivery runs it again.
    GaveUp { failures: u32 },
}

const RUNNING: &str = "running";
const FAILED: &str = "failed";
const GAVE_UP: &str = "gave-up";
const DONE: &str = "done";

fn claim_item(update_id: u32, state: &str, failures: u32, now: Timestamp) -> Item {
    let mut attrs = Attrs::new();
    attrs.insert("at".into(), now.0.into());
    attrs.insert("state".into(), state.into());
    attrs.insert("failures".into(), failures.into());
    Item::new(update_key(update_id), attrs).expiring_at(now.plus_secs(UPDATE_CLAIM_TTL_SECS))
}

fn claim_state(item: &Item) -> (&str, u32, Timestamp) {
    // Claims written before failures were counted have neither attribute: they are running.
    let state = item.attr("state").and_then(|v| v.as_str()).unwrap_or(RUNNING);
    let failures = item.attr("failures").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
    let at = Timestamp(item.attr("at").and_then(|v| v.as_i64()).unwrap_or(0));
    (state, failures, at)
}

impl Repository {
    /// Records that update `update_id` is being handled. `Finished` when it was handled or given
    /// up on before (a retried webhook delivery, a re-read after a crash past its end): the
    /// caller must then do nothing. An update whose earlier handling failed is claimed again,
    /// with its failure count; so is one whose claim has been running for `lease_secs` or more —
    /// its taker was killed before it finished (a SIGKILL, a Lambda timeout), and that counts as
    /// a failure, so an update that kills its taker every time is given up on after
    /// `max_failures`. A younger running claim is `Running`.
    pub async fn claim_update(&self, update_id: u32, lease_secs: i64, max_failures: u32) -> Result<UpdateClaim, RepoError> {
        let now = self.clock.now();
        match self.store.put(claim_item(update_id, RUNNING, 0, now), Condition::NotExists).await {
            Ok(_) => return Ok(UpdateClaim::Claimed { failures: 0 }),
            Err(StoreError::ConditionFailed(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let Some(current) = self.store.get(&update_key(update_id)).await? else {
            // Expired between the two calls (a week after it was first taken in): long finished.
            return Ok(UpdateClaim::Finished);
        };
        let (state, failures, at) = claim_state(&current);
        let (state, failures) = match state {
            FAILED => (RUNNING, failures),
            RUNNING if now.0 - at.0 >= lease_secs => {
                tracing::warn!(update_id, claimed_secs_ago = now.0 - at.0, "the update's last taker died before finishing it; taken over");
                let failures = failures + 1;
                if failures >= max_failures { (GAVE_UP, failures) } else { (RUNNING, failures) }
            }
            RUNNING => return Ok(UpdateClaim::Running),
            _ => return Ok(UpdateClaim::Finished),
        };
        match self.store.put(claim_item(update_id, state, failures, now), Condition::Version(current.version)).await {
            Ok(_) if state == GAVE_UP => Ok(UpdateClaim::GaveUp { failures }),
            Ok(_) => Ok(UpdateClaim::Claimed { failures }),
            // Another taker claimed it between our read and write: it is theirs.
            Err(StoreError::ConditionFailed(_)) => Ok(UpdateClaim::Running),
            Err(e) => Err(e.into()),
        }
    }

    /// Records that a claimed update was handled (or refused for good) after `failures` earlier
    /// tries (what its claim said): a redelivery, however late, is then a duplicate rather than a
    /// stale claim to take over.
    pub async fn finish_update(&self, update_id: u32, failures: u32) -> Result<(), RepoError> {
        let now = self.clock.now();
        // Only the claim's holder calls this, so a plain put cannot race another writer.
        self.store.put(claim_item(update_id, DONE, failures, now), Condition::Always).await?;
        Ok(())
    }

    /// Records that handling a claimed update failed: released for Telegram's redelivery while
    /// it has failed fewer than `max_failures` times, then kept as taken for good (a poison
    /// update must not hold up everything behind it).
    pub async fn fail_update(&self, update_id: u32, max_failures: u32) -> Result<UpdateFailure, RepoError> {
        let now = self.clock.now();
        let current = self.store.get(&update_key(update_id)).await?;
        let failures = current.as_ref().map_or(0, |i| claim_state(i).1) + 1;
        let (state, outcome) = if failures >= max_failures {
            (GAVE_UP, UpdateFailure::GaveUp { failures })
        } else {
            (FAILED, UpdateFailure::WillRetry { failures })
        };
        // Only the claim's holder calls this, so a plain put cannot race another writer.
        self.store.put(claim_item(update_id, state, failures, now), Condition::Always).await?;
        Ok(outcome)
    }

    /// The message an update's work already sent as `what` (e.g. its "⏳" reply), if any.
    pub async fn sent_for_work(&self, work: &str, what: &str) -> Result<Option<i64>, RepoError> {
        let item = self.store.get(&sent_key(work, what)).await?;
        Ok(item.and_then(|i| i.attr("message_id").and_then(|v| v.as_i64())))
    }

    /// Records that `work` sent `message_id` as `what`, for as long as its update may be retried.
    pub async fn record_sent_for_work(&self, work: &str, what: &str, message_id: i64) -> Result<(), RepoError> {
        let mut attrs = Attrs::new();
        attrs.insert("message_id".into(), message_id.into());
        let item = Item::new(sent_key(work, what), attrs).expiring_at(self.clock.now().plus_secs(UPDATE_CLAIM_TTL_SECS));
        self.store.put(item, Condition::Always).await?;
        Ok(())
    }

    /// Takes one token from `user`'s bucket (their bot updates).
    pub async fn take_rate_token(&self, user: UserId, limit: RateLimit) -> Result<RateDecision, RepoError> {
        self.take_token(Key::new(user_pk(user), "ratelimit"), limit).await
    }

    /// Takes one token from API key `key_id`'s bucket (its requests).
    pub async fn take_api_key_token(&self, key_id: &str, limit: RateLimit) -> Result<RateDecision, RepoError> {
        self.take_token(Key::new(format!("apikey#{key_id}"), "ratelimit"), limit).await
    }

    /// A bucket too contended to write (many requests of one sender at the same moment — a
    /// flood delivered concurrently) limits the request rather than failing it: a failed update
    /// is redelivered, which would only add to the flood.
    async fn take_token(&self, key: Key, limit: RateLimit) -> Result<RateDecision, RepoError> {
        match self.take_token_once(&key, limit).await {
            Err(RepoError::Contended(_)) => {
                tracing::warn!(bucket = %key.pk, "rate bucket contended; the request is limited");
                Ok(RateDecision::Limited { warn: false })
            }
            decided => decided,
        }
    }

    async fn take_token_once(&self, key: &Key, limit: RateLimit) -> Result<RateDecision, RepoError> {
        let key = key.clone();
        self.rewrite(&key, "rate bucket", |current, now| {
            let mut bucket = match current {
                Some(item) => decode::<TokenBucket>("rate bucket", item)?,
                None => TokenBucket::full(limit, now),
            };
            let decision = bucket.take(limit, now);
            if decision == (RateDecision::Limited { warn: false }) {
                // Nothing changed that matters; spare the write while someone floods.
                return Ok((None, decision));
            }
            // An idle bucket is full again after burst/per_minute minutes; let it expire by then.
            let full_after = i64::from(limit.burst) * 60 / i64::from(limit.per_minute.max(1)) + 60;
            Ok((Some(item_of(key.clone(), &bucket).expiring_at(Timestamp(now.0 + full_after))), decision))
        })
        .await
    }
}
