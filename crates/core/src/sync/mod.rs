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
        if state.backfill_done || self.depth.is_some_and(|d| state.backfilled >= d) {
            return Ok(BackfillStep::Done);
        }
        let messages = client.history(channel, state.oldest_published, self.page).await?;
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

    async fn announce(&self, event: Event) -> Result<(), QueueError> {
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
            let posts: Vec<PostMessage> = messages.iter().filter_map(|m| message_to_post(channel, m)).map(|post| PostMessage::Publish { post }).collect();
            self.publisher.publish(&posts).await?;
            published += messages.len();
            state.newest_published = state.newest_published.max(messages.iter().map(|m| m.id).max());
            self.repo.save_sync_state(channel.id, &state).await?;
        }
    }

    /// Live events as posts, edits and tombstones on the posts queue.
    pub async fn apply_live(&self, events: Vec<LiveEvent>, channels: &HashMap<ChannelId, RemoteChannel>) -> Result<usize, SyncError> {
        let mut out = Vec::new();
        let mut newest: HashMap<ChannelId, i64> = HashMap::new();
        for event in events {
            match event {
                LiveEvent::New(id, m) | LiveEvent::Edited(id, m) => {
                    let Some(channel) = channels.get(&id) else { continue };
                    let e = newest.entry(id).or_insert(m.id);
                    *e = (*e).max(m.id);
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
