//! Per-channel sync cursors: how far back the backfill got and the newest message published, so
//! a sync resumes where it stopped (after a crash, a restart or a lost lease).

use super::codec::{decode, item_of};
use super::{RepoError, Repository};
use crate::model::ChannelId;
use crate::ports::{Condition, Key};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    /// The oldest message id published by the backfill (it continues below this).
    pub oldest_published: Option<i64>,
    /// The backfill reached the beginning of the channel.
    pub backfill_done: bool,
    /// The newest message id published (catch-up continues above this).
    pub newest_published: Option<i64>,
    /// Messages published by the backfill so far.
    pub backfilled: u64,
    /// The backfill stopped here, at the most the channel keeps of its history (its allowance,
    /// or the configured depth); it goes on if that grows. None while it runs or once done.
    #[serde(default)]
    pub history_limit: Option<u64>,
}

impl SyncState {
    /// How much of the channel's history is stored while its backfill runs, in percent (None
    /// once it is complete), given `stored` posts and the channel's newest message id. Message
    /// ids include deleted and service messages, so the newest id only bounds the count: the
    /// share is an estimate, and never shows 100 before the backfill ends.
    pub fn history_loaded(&self, stored: u64, latest_id: Option<i64>) -> Option<u64> {
        if self.backfill_done {
            return None;
        }
        let latest = latest_id.max(self.newest_published).filter(|&id| id > 0)? as u64;
        Some((stored * 100 / latest).min(99))
    }
}

fn sync_key(channel: ChannelId) -> Key {
    Key::new(format!("channel#{channel}"), "sync")
}

impl Repository {
    pub async fn sync_state(&self, channel: ChannelId) -> Result<SyncState, RepoError> {
        match self.store.get(&sync_key(channel)).await? {
            Some(item) => decode("sync state", &item),
            None => Ok(SyncState::default()),
        }
    }

    /// Written only after the messages it covers were published (never ahead of them).
    pub async fn save_sync_state(&self, channel: ChannelId, state: &SyncState) -> Result<(), RepoError> {
        self.store.put(item_of(sync_key(channel), state), Condition::Always).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::SyncState;

    #[test]
    fn the_loaded_share_is_an_estimate_below_100_until_the_backfill_ends() {
        let running = SyncState { oldest_published: Some(50), newest_published: Some(200), backfilled: 150, backfill_done: false, history_limit: None };
        assert_eq!(running.history_loaded(150, Some(200)), Some(75));
        assert_eq!(running.history_loaded(150, Some(120)), Some(75), "the newest published id counts too");
        assert_eq!(running.history_loaded(400, Some(200)), Some(99), "ids bound the count only roughly");
        assert_eq!(SyncState::default().history_loaded(0, None), None, "nothing known yet");
        assert_eq!(SyncState { backfill_done: true, ..running }.history_loaded(150, Some(200)), None);
    }
}
