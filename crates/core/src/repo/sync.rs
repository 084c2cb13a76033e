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
