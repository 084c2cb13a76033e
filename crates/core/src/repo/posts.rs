//! Posts, stored once per channel and keyed by (channel id, message id), with per-channel
//! counters kept exact by storing/removing a post and counting it in one transaction.

use super::codec::{decode, item_of, padded};
use super::{MAX_ATTEMPTS, RepoError, Repository};
use crate::Timestamp;
use crate::model::{ChannelId, Post, PostKey};
use crate::ports::table_store::MAX_TRANSACTION_WRITES;
use crate::ports::{Condition, Cursor, Item, Key, Query, StoreError, Write};
use std::sync::Arc;
use serde::{Deserialize, Serialize};

fn post_key(key: PostKey) -> Key {
    Key::new(format!("post#{}", key.channel_id), padded(key.message_id))
}
/// Remembers a post deleted in Telegram, so a late or replayed copy of it is not stored again.
fn gone_key(key: PostKey) -> Key {
    Key::new(format!("gone#{}", key.channel_id), padded(key.message_id))
}
/// How long a deletion is remembered: far beyond any redelivery or update replay.
const GONE_TTL_SECS: i64 = 30 * 86_400;
fn stats_key(channel: ChannelId) -> Key {
    Key::new(format!("channel#{channel}"), "stats")
}

/// What is stored about a channel's posts (kept apart from the channel record, which the session
/// node rewrites when it syncs).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelStats {
    pub post_count: u64,
    pub newest_message_id: Option<i64>,
    pub newest_post_at: Option<Timestamp>,
    /// Bumped by every insert, update and delete: cached answers over the channel compare it.
    #[serde(default)]
    pub revision: u64,
}

/// Lets the other futures polled with this one run up to their next wait.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

/// A channel's turn: its lock, and the post writes waiting for it.
#[derive(Default)]
pub(super) struct ChannelTurn {
    pub(super) lock: futures_util::lock::Mutex<()>,
    waiting: std::sync::Mutex<Vec<Waiting>>,
}

type Answer = Arc<std::sync::Mutex<Option<Result<Written, RepoError>>>>;

struct Waiting {
    write: PostWrite,
    answer: Answer,
}

/// A write that counts in its channel's stats.
#[derive(Clone)]
enum PostWrite {
    /// Store the post unless stored (or deleted in Telegram); counted.
    Insert(Post),
    /// Write the post if the condition holds for the stored one.
    PutIf(Post, Condition),
}

/// What a `PostWrite` did.
enum Written {
    Insert(PostInsert),
    PutIf(bool),
}

impl PostWrite {
    fn post(&self) -> &Post {
        match self {
            PostWrite::Insert(post) | PostWrite::PutIf(post, _) => post,
        }
    }

    /// How many items it writes or checks.
    fn writes(&self) -> usize {
        match self {
            PostWrite::Insert(_) => 2,
            PostWrite::PutIf(..) => 1,
        }
    }

    /// Its writes, its change counted in `stats`.
    fn apply(&self, stats: &mut ChannelStats) -> Vec<Write> {
        stats.revision += 1;
        match self {
            PostWrite::Insert(post) => {
                stats.post_count += 1;
                if stats.newest_message_id.is_none_or(|m| m < post.key.message_id) {
                    stats.newest_message_id = Some(post.key.message_id);
                    stats.newest_post_at = Some(post.date);
                }
                vec![Write::Put(item_of(post_key(post.key), post), Condition::NotExists), Write::Check(gone_key(post.key), Condition::NotExists)]
            }
            PostWrite::PutIf(post, condition) => vec![Write::Put(item_of(post_key(post.key), post), condition.clone())],
        }
    }

    fn done(&self) -> Written {
        match self {
            PostWrite::Insert(_) => Written::Insert(PostInsert::Inserted),
            PostWrite::PutIf(..) => Written::PutIf(true),
        }
    }

    /// Its own condition failed: on its post (`first`), or (an insert) on the deletion check.
    fn refused(&self, first: bool) -> Written {
        match self {
            PostWrite::Insert(_) if first => Written::Insert(PostInsert::AlreadyStored),
            PostWrite::Insert(_) => Written::Insert(PostInsert::Deleted),
            PostWrite::PutIf(..) => Written::PutIf(false),
        }
    }
}

/// What storing a post did. A redelivered post is `AlreadyStored`, never a second copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostInsert {
    Inserted,
    AlreadyStored,
    /// Telegram deleted this post (`remove_deleted_post`); nothing was stored.
    Deleted,
}

impl Repository {
    async fn stats_versioned(&self, channel: ChannelId) -> Result<(ChannelStats, Condition), RepoError> {
        Ok(match self.store.get(&stats_key(channel)).await? {
            Some(item) => (decode("channel stats", &item)?, Condition::Version(item.version)),
            None => (ChannelStats::default(), Condition::NotExists),
        })
    }

    pub async fn channel_stats(&self, channel: ChannelId) -> Result<ChannelStats, RepoError> {
        Ok(self.stats_versioned(channel).await?.0)
    }

    /// Stores a post unless one with the same key exists (idempotent ingestion), counting it in
    /// the channel's stats in the same transaction.
    pub async fn insert_post(&self, post: &Post) -> Result<PostInsert, RepoError> {
        match self.write_post(PostWrite::Insert(post.clone())).await? {
            Written::Insert(outcome) => Ok(outcome),
            Written::PutIf(_) => unreachable!("an insert is answered as an insert"),
        }
    }

    /// Replaces a stored post (an edit, or tags added); `NotFound` if it was never stored or was deleted.
    pub async fn update_post(&self, post: &Post) -> Result<(), RepoError> {
        match self.put_post_if(post, Condition::Exists).await? {
            true => Ok(()),
            false => Err(RepoError::NotFound("post")),
        }
    }

    /// Writes `post` if `condition` holds for the stored one, bumping the channel's revision in
    /// the same transaction; false if it does not hold.
    async fn put_post_if(&self, post: &Post, condition_on_post: Condition) -> Result<bool, RepoError> {
        match self.write_post(PostWrite::PutIf(post.clone(), condition_on_post)).await? {
            Written::PutIf(done) => Ok(done),
            Written::Insert(_) => unreachable!("a conditional put is answered as one"),
        }
    }

    /// Queues `write` for its channel's turn; whoever gets the turn writes all that wait.
    async fn write_post(&self, write: PostWrite) -> Result<Written, RepoError> {
        let channel = write.post().key.channel_id;
        let turn = self.channel_turn(channel);
        let answer: Answer = Default::default();
        turn.waiting.lock().expect("channel turn").push(Waiting { write, answer: answer.clone() });
        let _turn = turn.lock.lock().await;
        // Writes started with this one (a batch's posts, polled together) queue up first.
        yield_once().await;
        loop {
            if let Some(done) = answer.lock().expect("answer").take() {
                return done;
            }
            // Left in the list until answered, so a turn dropped midway (a cancelled task)
            // leaves them for the next.
            let batch: Vec<(PostWrite, Answer)> = turn
                .waiting
                .lock()
                .expect("channel turn")
                .iter()
                .filter(|w| w.write.post().key.channel_id == channel && w.answer.lock().expect("answer").is_none())
                .map(|w| (w.write.clone(), w.answer.clone()))
                .collect();
            self.write_posts(channel, batch).await;
            turn.waiting.lock().expect("channel turn").retain(|w| w.answer.lock().expect("answer").is_none());
        }
    }

    /// Writes `batch` (all of one channel) in as few transactions as the store's limit allows,
    /// each with one stats update; every write in it is answered. A write whose own condition
    /// fails is answered alone and the rest go on without it.
    async fn write_posts(&self, channel: ChannelId, batch: Vec<(PostWrite, Answer)>) {
        let answer = |slot: &Answer, result: Result<Written, RepoError>| *slot.lock().expect("answer") = Some(result);
        let mut left = batch;
        let mut conflicts = 0;
        // Runs until every write is answered, or until a failure that every write left shares.
        let failure = loop {
            if left.is_empty() {
                return;
            }
            if conflicts == MAX_ATTEMPTS {
                break RepoError::Contended("channel stats");
            }
            let (mut stats, condition) = match self.stats_versioned(channel).await {
                Ok(found) => found,
                Err(e) => break e,
            };
            // One transaction: distinct posts (a transaction touches a key once), within the
            // size limit; what does not fit waits for the next round.
            let mut writes = Vec::new();
            let mut owners: Vec<usize> = Vec::new();
            let mut taken = Vec::new();
            let mut keys = std::collections::HashSet::new();
            for (i, (write, _)) in left.iter().enumerate() {
                if writes.len() + write.writes() + 1 > MAX_TRANSACTION_WRITES || !keys.insert(write.post().key) {
                    continue;
                }
                for w in write.apply(&mut stats) {
                    writes.push(w);
                    owners.push(i);
                }
                taken.push(i);
            }
            let stats_index = writes.len();
            writes.push(Write::Put(item_of(stats_key(channel), &stats), condition));
            match self.store.transact(writes).await {
                Ok(()) => {
                    for &i in taken.iter().rev() {
                        let (write, slot) = left.remove(i);
                        answer(&slot, Ok(write.done()));
                    }
                }
                Err(StoreError::TransactionCancelled { index, .. }) if index < stats_index => {
                    let i = owners[index];
                    // Which of its writes failed: its post's (first) or the deletion check.
                    let first = index == 0 || owners[index - 1] != i;
                    let (write, slot) = left.remove(i);
                    answer(&slot, Ok(write.refused(first)));
                }
                Err(StoreError::TransactionCancelled { .. } | StoreError::Conflict) => conflicts += 1,
                Err(e) => break RepoError::Store(e),
            }
        };
        for (_, slot) in &left {
            answer(slot, Err(failure.clone()));
        }
    }

    /// Replaces a stored post only if it is still at `version` (from `get_post_versioned`);
    /// false if it was changed or removed since.
    pub async fn replace_post(&self, post: &Post, version: u64) -> Result<bool, RepoError> {
        self.put_post_if(post, Condition::Version(version)).await
    }

    /// A post with its item version, for a replacement that must not overwrite a newer write.
    pub async fn get_post_versioned(&self, key: PostKey) -> Result<Option<(Post, u64)>, RepoError> {
        match self.store.get(&post_key(key)).await? {
            Some(item) => Ok(Some((decode("post", &item)?, item.version))),
            None => Ok(None),
        }
    }

    /// A post Telegram deleted: removed, and remembered (30 days) so that a copy of it still on
    /// its way — a redelivered or reordered message, an update replayed after a restart — is
    /// refused by `insert_post` instead of bringing it back. True if it was stored.
    pub async fn remove_deleted_post(&self, key: PostKey) -> Result<bool, RepoError> {
        // The memory first: an insert racing with this removal then fails either way.
        let gone = Item::new(gone_key(key), Default::default()).expiring_at(self.clock().now().plus_secs(GONE_TTL_SECS));
        self.store.put(gone, Condition::Always).await?;
        self.delete_post(key).await
    }

    /// Removes a post (deleted in Telegram, or past retention) and uncounts it. Deleting twice is
    /// fine; true if it was there.
    pub async fn delete_post(&self, key: PostKey) -> Result<bool, RepoError> {
        let _turn = self.channel_writer(key.channel_id).await;
        for _ in 0..MAX_ATTEMPTS {
            let (mut stats, condition) = self.stats_versioned(key.channel_id).await?;
            stats.post_count = stats.post_count.saturating_sub(1);
            stats.revision += 1;
            let writes = vec![
                Write::Delete(post_key(key), Condition::Exists),
                Write::Put(Item::new(stats_key(key.channel_id), super::codec::attrs_of(&stats)), condition),
            ];
            match self.store.transact(writes).await {
                Ok(()) => return Ok(true),
                Err(StoreError::TransactionCancelled { index: 0, .. }) => return Ok(false),
                Err(StoreError::TransactionCancelled { .. } | StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RepoError::Contended("channel stats"))
    }

    pub async fn get_post(&self, key: PostKey) -> Result<Option<Post>, RepoError> {
        match self.store.get(&post_key(key)).await? {
            Some(item) => Ok(Some(decode("post", &item)?)),
            None => Ok(None),
        }
    }

    /// A channel's posts, newest first, a page at a time.
    pub async fn channel_posts(
        &self,
        channel: ChannelId,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<(Vec<Post>, Option<Cursor>), RepoError> {
        let query = Query::partition(format!("post#{channel}")).descending().limit(limit).after(after);
        let page = self.store.query(query).await?;
        let posts = page.items.iter().map(|i| decode("post", i)).collect::<Result<_, _>>()?;
        Ok((posts, page.next))
    }

    /// Up to `limit` of a channel's posts older than message `before` (None: the newest),
    /// newest first. The page boundary is a message id, so callers can hand it out as is.
    pub async fn channel_posts_before(&self, channel: ChannelId, before: Option<i64>, limit: usize) -> Result<Vec<Post>, RepoError> {
        let mut query = Query::partition(format!("post#{channel}")).descending().limit(limit);
        if let Some(before) = before {
            query = query.between(padded(0), padded(before.saturating_sub(1).max(0)));
        }
        let page = self.store.query(query).await?;
        page.items.iter().map(|i| decode("post", i)).collect()
    }

    /// A channel's posts, oldest first, a page at a time (retention walks these).
    pub async fn channel_posts_oldest_first(
        &self,
        channel: ChannelId,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<(Vec<Post>, Option<Cursor>), RepoError> {
        let query = Query::partition(format!("post#{channel}")).limit(limit).after(after);
        let page = self.store.query(query).await?;
        let posts = page.items.iter().map(|i| decode("post", i)).collect::<Result<_, _>>()?;
        Ok((posts, page.next))
    }
}
