//! Repositories: users, invites, tier history, channels, subscriptions, posts, query history,
//! usage quotas, digest settings, leases and applied migrations — written once against the
//! `TableStore` port, so DynamoDB and the embedded store behave the same.
//!
//! Single-table layout (partition key / sort key; `index` is the secondary index):
//!
//! | item | pk | sk | index pk / sk |
//! |---|---|---|---|
//! | user | `user#<id>` | `profile` | `users` / `<id:020>` |
//! | tier change | `user#<id>` | `tier#<at:020>#<from>-<to>` | |
//! | subscription | `user#<id>` | `sub#<channel:020>` | `followers#<channel>` / `<user:020>` |
//! | query | `user#<id>` | `q#<at:020>#<n:06>` | |
//! | cached answer | `user#<id>` | `answer#<question hash>` (TTL) | |
//! | seen post | `user#<id>` | `seen#<channel>:<message>` (TTL) | |
//! | digest sent | `user#<id>` | `digestsent#<due or job id>` (TTL) | |
//! | digest due | `digestdue` | `<due:020>#<user>` | |
//! | job done | `job#<id>` | `job` (TTL) | |
//! | webhook delivered | `hook#<event id>` | `<target url hash>` (TTL) | |
//! | usage counter | `user#<id>` | `usage#<utc day>#<quota>` (TTL) | |
//! | digest settings | `user#<id>` | `digest` | |
//! | invite | `invite#<code>` | `invite` | `invites` / `<created:020>#<code>` |
//! | channel | `channel#<id>` | `channel` | `channels` / `<id:020>` |
//! | channel stats | `channel#<id>` | `stats` | |
//! | sync cursor | `channel#<id>` | `sync` | |
//! | new posts kept today | `channel#<id>` | `kept#<utc day>` (TTL) | |
//! | user session | `user#<id>` | `session` (encrypted) | `sessions` / `<id:020>` |
//! | login state | `user#<id>` | `login` (TTL 10 min) | |
//! | wrong 2FA passwords | `user#<id>` | `pwfail` (TTL 15 min after the last) | |
//! | login block | `user#<id>` | `loginblock` (TTL: until the block ends) | |
//! | username pointer | `chname#<username>` | `channel` | |
//! | post | `post#<channel>` | `<message:020>` | |
//! | rate bucket | `user#<id>` | `ratelimit` (TTL) | |
//! | update claim | `update#<update id>` | `update` (TTL) | |
//! | embedding cache | `emb#<model>` | `<kind>#<hash>#<len>` (TTL) | |
//! | linked page read | `link#<url hash>` | `page` (TTL: a week, a day if unreadable) | |
//! | lease | `lease#<resource>` | `lease` (TTL) | |
//! | migration | `meta#migrations` | `<version:06>` | |
//! | password sealing key (public) | `meta#keys` | `password` | |
//! | audit entry | `audit` | `<at:020>#<n:04>` | |
//! | API key | `apikey#<id>` | `apikey` | `apikeys` / `<user:020>#<created:020>#<id>` |
//! | API key rate bucket | `apikey#<id>` | `ratelimit` (TTL) | |
//! | job result (for the API) | `user#<id>` | `result#<job id>` (TTL) | |

mod allowance;
mod answers;
mod api_keys;
mod audit;
mod channels;
mod codec;
mod digests;
mod done;
mod embeddings;
mod error;
mod history;
mod intake;
mod leases;
mod links;
mod migrations;
mod posts;
mod sessions;
mod sync;
mod users;

pub use allowance::KeptToday;
pub use api_keys::{ApiKey, MAX_API_KEY_NAME_CHARS};
pub use audit::AuditEntry;
pub use answers::JobResult;
pub use error::RepoError;
pub use intake::{UpdateClaim, UpdateFailure};
pub use digests::DigestProgress;
pub use migrations::AppliedMigration;
pub use posts::{ChannelStats, PostInsert};
pub use sessions::{LOGIN_STATE_TTL_SECS, LoginState, StoredSession};
pub use sync::SyncState;

use crate::model::TierCatalog;
use crate::ports::{Condition, Item, Key, StoreError, TableStore};
use crate::{Clock, Timestamp};
use std::sync::Arc;

/// How many times an optimistic read-modify-write is retried when another writer got there first.
const MAX_ATTEMPTS: usize = 8;

/// The repositories over one table store.
#[derive(Clone)]
pub struct Repository {
    store: Arc<dyn TableStore>,
    clock: Arc<dyn Clock>,
    catalog: Arc<TierCatalog>,
    /// Writes that bump a channel's stats item take its stripe's turn first: concurrent writers
    /// in one process (a batch of posts indexed side by side) then queue instead of failing each
    /// other's conditional writes — and whoever has the turn writes every post write waiting
    /// for that channel in one transaction with one stats update (`posts::PostWrite`). Other
    /// processes are still handled by the retries.
    channel_turns: Arc<[posts::ChannelTurn]>,
}

const CHANNEL_WRITER_STRIPES: usize = 64;

impl Repository {
    pub fn new(store: Arc<dyn TableStore>, clock: Arc<dyn Clock>, catalog: TierCatalog) -> Self {
        let channel_turns = (0..CHANNEL_WRITER_STRIPES).map(|_| posts::ChannelTurn::default()).collect();
        Repository { store, clock, catalog: Arc::new(catalog), channel_turns }
    }

    /// The turn `channel`'s stats writers take (see `channel_turns`).
    fn channel_turn(&self, channel: crate::model::ChannelId) -> &posts::ChannelTurn {
        &self.channel_turns[(channel.get().unsigned_abs() % CHANNEL_WRITER_STRIPES as u64) as usize]
    }

    /// This process's turn to write `channel`'s stats.
    async fn channel_writer(&self, channel: crate::model::ChannelId) -> futures_util::lock::MutexGuard<'_, ()> {
        self.channel_turn(channel).lock.lock().await
    }
    pub fn store(&self) -> &Arc<dyn TableStore> {
        &self.store
    }
    pub fn catalog(&self) -> &TierCatalog {
        &self.catalog
    }
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// One item rewritten under optimistic concurrency: `next` is shown the item as stored
    /// (None: absent) and the time, and gives the item to store (None: nothing to write) and
    /// the result; if another writer got there first, it is shown what that writer stored.
    async fn rewrite<T>(
        &self,
        key: &Key,
        what: &'static str,
        mut next: impl FnMut(Option<&Item>, Timestamp) -> Result<(Option<Item>, T), RepoError>,
    ) -> Result<T, RepoError> {
        for _ in 0..MAX_ATTEMPTS {
            let now = self.clock.now();
            let current = self.store.get(key).await?;
            let (item, result) = next(current.as_ref(), now)?;
            let Some(item) = item else { return Ok(result) };
            let condition = current.as_ref().map_or(Condition::NotExists, |i| Condition::Version(i.version));
            match self.store.put(item, condition).await {
                Ok(_) => return Ok(result),
                Err(StoreError::ConditionFailed(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RepoError::Contended(what))
    }
}
