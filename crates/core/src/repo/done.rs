//! "Already done" marks that make queue consumers idempotent: a job whose answer was delivered,
//! a webhook delivered to one target. Checked before the work, written after it succeeded.

use super::{RepoError, Repository};
use crate::ports::{Attrs, Condition, Item, Key};

/// Longer than any queue keeps a message (SQS: 14 days at most).
const DONE_TTL_SECS: i64 = 15 * 24 * 3600;

fn done_key(scope: &str, id: &str, part: &str) -> Key {
    Key::new(format!("{scope}#{id}"), if part.is_empty() { scope.to_owned() } else { part.to_owned() })
}

impl Repository {
    /// True when `scope`/`id` (and `part`, e.g. one webhook target) was marked done.
    pub async fn is_done(&self, scope: &str, id: &str, part: &str) -> Result<bool, RepoError> {
        let now = self.clock.now();
        Ok(self.store.get(&done_key(scope, id, part)).await?.is_some_and(|i| i.is_live(now)))
    }

    pub async fn mark_done(&self, scope: &str, id: &str, part: &str) -> Result<(), RepoError> {
        let mut attrs = Attrs::new();
        attrs.insert("at".into(), self.clock.now().0.into());
        let item = Item::new(done_key(scope, id, part), attrs).expiring_at(self.clock.now().plus_secs(DONE_TTL_SECS));
        self.store.put(item, Condition::Always).await?;
        Ok(())
    }
}
