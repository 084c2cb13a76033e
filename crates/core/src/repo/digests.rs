//! Digest settings and the schedule: each enabled digest has one `digestdue` item sorted by its
//! due time, so the scheduler reads exactly the due ones; each digest sent is recorded (parts
//! already delivered included) so a redelivered job never sends it twice.

use super::codec::{decode, item_of, padded};
use super::users::user_pk;
use super::{MAX_ATTEMPTS, RepoError, Repository};
use crate::Timestamp;
use crate::digest::next_due;
use crate::model::{DigestSettings, UserId};
use crate::ports::{Condition, Key, Query, StoreError, Write};
use crate::rules;
use serde::{Deserialize, Serialize};

const DUE_PK: &str = "digestdue";
/// Records of sent digests outlive any redelivery by far.
const SENT_RECORD_DAYS: u32 = 30;

fn settings_key(user: UserId) -> Key {
    Key::new(user_pk(user), "digest")
}
fn due_key(user: UserId, due: Timestamp) -> Key {
    Key::new(DUE_PK, format!("{}#{}", padded(due.0), user))
}
fn sent_key(user: UserId, digest: &str) -> Key {
    Key::new(user_pk(user), format!("digestsent#{digest}"))
}

/// How far one digest got: the parts already sent and whether it is complete.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestProgress {
    pub parts_sent: u32,
    pub done: bool,
}

impl Repository {
    async fn digest_settings_versioned(&self, user: UserId) -> Result<(DigestSettings, Condition), RepoError> {
        Ok(match self.store.get(&settings_key(user)).await? {
            Some(item) => (decode("digest settings", &item)?, Condition::Version(item.version)),
            None => (DigestSettings::default_for(user), Condition::NotExists),
        })
    }

    /// The user's digest settings (defaults, disabled, when never saved).
    pub async fn digest_settings(&self, user: UserId) -> Result<DigestSettings, RepoError> {
        Ok(self.digest_settings_versioned(user).await?.0)
    }

    /// Saves digest settings (enabling needs a tier with digests) and reschedules the next one.
    pub async fn save_digest_settings(&self, settings: &DigestSettings) -> Result<DigestSettings, RepoError> {
        settings.validate()?;
        let (user, _) = self.require_user(settings.user).await?;
        let now = self.clock.now();
        if settings.enabled {
            rules::check_can_use_digests(&user, &self.catalog, now)?;
        }
        for _ in 0..MAX_ATTEMPTS {
            let (old, condition) = self.digest_settings_versioned(settings.user).await?;
            let mut new = settings.clone();
            new.last_sent = old.last_sent;
            new.next_due = next_due(&new, now);
            match self.store.transact(schedule_writes(&old, &new, condition)).await {
                Ok(()) => return Ok(new),
                Err(StoreError::TransactionCancelled { .. } | StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RepoError::Contended("digest settings"))
    }

    /// Digests due at or before `now`, earliest first: (user, due time).
    pub async fn due_digests(&self, now: Timestamp, limit: usize) -> Result<Vec<(UserId, Timestamp)>, RepoError> {
        let page = self.store.query(Query::partition(DUE_PK).between(padded(0), format!("{}#~", padded(now.0))).limit(limit)).await?;
        Ok(page
            .items
            .iter()
            .filter_map(|i| {
                let (due, user) = i.key.sk.split_once('#')?;
                Some((UserId::new(user.parse().ok()?).ok()?, Timestamp(due.parse().ok()?)))
            })
            .collect())
    }

    /// Moves the user's schedule past the digest due at `due` (enqueued by the scheduler). A
    /// schedule item that no longer matches the settings is simply removed.
    pub async fn advance_digest(&self, user: UserId, due: Timestamp) -> Result<Option<Timestamp>, RepoError> {
        for _ in 0..MAX_ATTEMPTS {
            let (old, condition) = self.digest_settings_versioned(user).await?;
            if old.next_due != Some(due) {
                self.store.delete(&due_key(user, due), Condition::Always).await?;
                return Ok(old.next_due);
            }
            let mut new = old.clone();
            // A scheduler that was down does not send the missed digests one after another.
            new.next_due = next_due(&new, Timestamp(due.0.max(self.clock.now().0)));
            match self.store.transact(schedule_writes(&old, &new, condition)).await {
                Ok(()) => return Ok(new.next_due),
                Err(StoreError::TransactionCancelled { .. } | StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RepoError::Contended("digest schedule"))
    }

    /// How far the digest `digest` (a due time or a job id) got; starts it when new.
    pub async fn digest_progress(&self, user: UserId, digest: &str) -> Result<DigestProgress, RepoError> {
        match self.store.get(&sent_key(user, digest)).await? {
            Some(item) => decode("digest progress", &item),
            None => Ok(DigestProgress::default()),
        }
    }

    pub async fn record_digest_progress(&self, user: UserId, digest: &str, progress: &DigestProgress) -> Result<(), RepoError> {
        let until = self.clock.now().plus_days(SENT_RECORD_DAYS);
        self.store.put(item_of(sent_key(user, digest), progress).expiring_at(until), Condition::Always).await?;
        Ok(())
    }

    /// The digest is complete: records it and moves `last_sent` so the next covers what follows.
    pub async fn finish_digest(&self, user: UserId, digest: &str, parts: u32, covered_until: Timestamp) -> Result<(), RepoError> {
        self.record_digest_progress(user, digest, &DigestProgress { parts_sent: parts, done: true }).await?;
        for _ in 0..MAX_ATTEMPTS {
            let (mut settings, condition) = self.digest_settings_versioned(user).await?;
            if settings.last_sent.is_some_and(|t| t >= covered_until) {
                return Ok(());
            }
            settings.last_sent = Some(covered_until);
            match self.store.put(item_of(settings_key(user), &settings), condition).await {
                Ok(_) => return Ok(()),
                Err(StoreError::ConditionFailed(_) | StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RepoError::Contended("digest settings"))
    }
}

/// The settings write plus the move of its schedule item, in one transaction.
fn schedule_writes(old: &DigestSettings, new: &DigestSettings, condition: Condition) -> Vec<Write> {
    let mut writes = vec![Write::Put(item_of(settings_key(new.user), new), condition)];
    if old.next_due != new.next_due {
        if let Some(due) = old.next_due {
            writes.push(Write::Delete(due_key(old.user, due), Condition::Always));
        }
        if let Some(due) = new.next_due {
            writes.push(Write::Put(item_of(due_key(new.user, due), &serde_json::json!({})), Condition::Always));
        }
    }
    writes
}
