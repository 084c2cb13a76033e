//! Channel sync that loses nothing: the history is published newest to oldest a page at a time,
//! the cursor saved only after its page is on the posts queue (so a crash repeats a page, never
//! skips one — the indexer ignores repeats); live messages, edits and deletions are published as
//! they come; a catch-up pass fetches everything newer than the newest published id (after a
//! reconnect or a gap, and periodically as a safety net).

mod publish;

pub use publish::{PostPublisher, message_to_post};

use crate::messages::{Event, PostMessage};
use crate::model::{ChannelId, PostKey};
use crate::ports::{LiveEvent, QueueError, RemoteChannel, TelegramError, TelegramUser};
use crate::repo::{RepoError, Repository, SyncState};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Telegram(#[from] TelegramError),
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackfillStep {
    /// A page went out; more may follow.
    Published(usize),
    /// Nothing left to backfill.
    Done,
}

pub struct ChannelSync {
    pub repo: Repository,
    pub publisher: PostPublisher,
    /// Where progress goes (`SyncProgress`, `SyncFinished`); None: not announced.
    pub events: Option<std::sync::Arc<dyn crate::ports::Queue>>,
    /// Messages per history request (Telegram returns at most 100).
    pub page: usize,
    /// Backfill at most this many messages per channel (None: the whole history).
    pub depth: Option<u64>,
}

impl ChannelSync {
    /// One page of history below the cursor, published, then the cursor moved.
    pub async fn backfill_page(&self, client: &dyn TelegramUser, channel: &RemoteChannel) -> Result<BackfillStep, SyncError> {
        let mut state = self.repo.sync_state(channel.id).await?;
        if state.backfill_done {
            return Ok(BackfillStep::Done);
        }
        let bound = self.history_bound(channel.id).await?;
        if state.backfilled >= bound {
            if state.history_limit != Some(bound) {
                state.history_limit = Some(bound);
                self.repo.save_sync_state(channel.id, &state).await?;
            }
            return Ok(BackfillStep::Done);
        }
        state.history_limit = None;
        let want = self.page.min(usize::try_from(bound - state.backfilled).unwrap_or(usize::MAX));
        let messages = client.history(channel, state.oldest_published, want).await?;
        if messages.is_empty() {
            state.backfill_done = true;
            self.repo.save_sync_state(channel.id, &state).await?;
            self.announce(Event::SyncFinished { channel: channel.id, published: state.backfilled }).await?;
            return Ok(BackfillStep::Done);
        }
        let posts: Vec<PostMessage> = messages.iter().filter_map(|m| message_to_post(channel, m)).map(|post| PostMessage::Publish { post }).collect();
        self.publisher.publish(&posts).await?;
        let (lowest, highest) = (messages.iter().map(|m| m.id).min(), messages.iter().map(|m| m.id).max());
        state.oldest_published = lowest;
        state.newest_published = state.newest_published.max(highest);
        state.backfilled += messages.len() as u64;
        if lowest == Some(1) {
            state.backfill_done = true;
        }
        self.repo.save_sync_state(channel.id, &state).await?;
        self.announce(Event::SyncProgress { channel: channel.id, published: state.backfilled, latest: channel.latest_message_id }).await?;
        if state.backfill_done {
            self.announce(Event::SyncFinished { channel: channel.id, published: state.backfilled }).await?;
        }
        Ok(BackfillStep::Published(messages.len()))
    }

    /// How many messages of the channel's history are kept: its allowance (the best plan among
    /// its followers), within the configured depth.
    async fn history_bound(&self, channel: ChannelId) -> Result<u64, RepoError> {
        let allowance = u64::from(self.repo.channel_allowance(channel).await?);
        Ok(self.depth.map_or(allowance, |d| d.min(allowance)))
    }

    /// How many of `wanted` new posts of `channel` today's allowance keeps (the first ones);
    /// the rest are counted as not kept.
    async fn room_for(&self, channel: ChannelId, wanted: u32) -> Result<u32, RepoError> {
        if wanted == 0 {
            return Ok(0);
        }
        let allowance = self.repo.channel_allowance(channel).await?;
        let kept = self.repo.keep_new_posts(channel, wanted, allowance).await?;
        if kept < wanted {
            tracing::info!(channel = %channel, kept, not_kept = wanted - kept, allowance, "over today's allowance: the rest is not kept");
        }
        Ok(kept)
    }

    async fn announce(&self, event: Event) -> Result<(), QueueError> {
        if matches!(event, Event::SyncFinished { .. }) {
            crate::telemetry::backfill_completed();
        }
        match &self.events {
            Some(events) => events.send(crate::ports::OutgoingMessage::new(serde_json::to_string(&event).expect("events serialize"))).await,
            None => Ok(()),
        }
    }

    /// Everything newer than the newest published message, oldest first.
    pub async fn catch_up(&self, client: &dyn TelegramUser, channel: &RemoteChannel) -> Result<usize, SyncError> {
        let mut published = 0;
        loop {
            let mut state = self.repo.sync_state(channel.id).await?;
            let Some(after) = state.newest_published else { return Ok(published) };
            let messages = client.newer(channel, after, self.page).await?;
            if messages.is_empty() {
                return Ok(published);
            }
            let mut posts: Vec<PostMessage> = messages.iter().filter_map(|m| message_to_post(channel, m)).map(|post| PostMessage::Publish { post }).collect();
            posts.truncate(self.room_for(channel.id, posts.len() as u32).await? as usize);
            self.publisher.publish(&posts).await?;
            published += posts.len();
            state.newest_published = state.newest_published.max(messages.iter().map(|m| m.id).max());
            self.repo.save_sync_state(channel.id, &state).await?;
        }
    }

    /// Live events as posts, edits and tombstones on the posts queue, in the order they came.
    /// New posts take room in their channel's allowance for today; edits and deletions of
    /// posts already kept do not.
    pub async fn apply_live(&self, events: Vec<LiveEvent>, channels: &HashMap<ChannelId, RemoteChannel>) -> Result<usize, SyncError> {
        let mut wanted: HashMap<ChannelId, u32> = HashMap::new();
        for event in &events {
            if let LiveEvent::New(id, _) = event
                && channels.contains_key(id)
            {
                *wanted.entry(*id).or_default() += 1;
            }
        }
        let mut room: HashMap<ChannelId, u32> = HashMap::new();
        for (channel, n) in wanted {
            room.insert(channel, self.room_for(channel, n).await?);
        }
        let mut out = Vec::new();
        let mut newest: HashMap<ChannelId, i64> = HashMap::new();
        for event in events {
            let is_new = matches!(event, LiveEvent::New(..));
            match event {
                LiveEvent::New(id, m) | LiveEvent::Edited(id, m) => {
                    let Some(channel) = channels.get(&id) else { continue };
                    let e = newest.entry(id).or_insert(m.id);
                    *e = (*e).max(m.id);
                    if is_new {
                        let left = room.entry(id).or_default();
                        if *left == 0 {
                            continue;
                        }
                        *left -= 1;
                    }
                    if let Some(post) = message_to_post(channel, &m) {
                        out.push(PostMessage::Publish { post });
                    }
                }
                LiveEvent::Deleted(id, ids) => {
                    if !channels.contains_key(&id) {
                        continue;
                    }
                    out.extend(ids.into_iter().filter_map(|m| PostKey::new(id, m).ok()).map(|key| PostMessage::Delete { key }));
                }
            }
        }
        self.publisher.publish(&out).await?;
        for (channel, id) in newest {
            let mut state: SyncState = self.repo.sync_state(channel).await?;
            if state.newest_published.is_none_or(|n| n < id) {
                state.newest_published = Some(id);
                self.repo.save_sync_state(channel, &state).await?;
            }
        }
        Ok(out.len())
    }
}
