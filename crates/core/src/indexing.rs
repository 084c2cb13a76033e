//! The indexer use case: a post from the posts queue is stored (once), tagged, its links read,
//! chunked (its links' text as extra chunks of the post), embedded and upserted into the index;
//! an edit re-indexes, a deletion removes it from both.
//! Every step is idempotent, so a redelivered message changes nothing the second time.

use crate::consume::{HandleError, MessageHandler};
use crate::messages::{Event, PostMessage};
use crate::model::{LinkText, Post, PostKey, links_in};
use crate::ports::{
    ChunkPayload, CollectionInfo, EmbedError, EmbedKind, Embedder, IndexError, IndexedChunk, KeywordEncoder, LinkError, LinkReader,
    OutgoingMessage, Queue, QueueError, ReceivedMessage, SearchIndex, Tagger,
};
use crate::repo::{PostInsert, RepoError, Repository};
use crate::retrieval::{CHUNK_CHARS, CHUNK_OVERLAP, Chunk, chunk_text};
use async_trait::async_trait;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum IndexingError {
    #[error("malformed posts-queue message: {0}")]
    Malformed(String),
    #[error("post {0} belongs to a channel this system does not know")]
    UnknownChannel(PostKey),
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error("events queue: {0}")]
    Events(#[from] QueueError),
}

/// What applying one message did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexOutcome {
    Indexed { chunks: u32, edited: bool },
    /// The same version was already stored and indexed.
    Unchanged,
    Removed,
}

/// Embeddings through a cache in the table store (keyed by model, kind and the exact text).
pub struct CachedEmbedder {
    inner: Arc<dyn Embedder>,
    repo: Repository,
}

impl CachedEmbedder {
    pub fn new(inner: Arc<dyn Embedder>, repo: Repository) -> Self {
        CachedEmbedder { inner, repo }
    }
}

#[async_trait]
impl Embedder for CachedEmbedder {
    fn model(&self) -> &str {
        self.inner.model()
    }
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }
    async fn embed(&self, texts: &[String], kind: EmbedKind) -> Result<Vec<Vec<f32>>, EmbedError> {
        let kind_name = if kind == EmbedKind::Query { "q" } else { "p" };
        let model = self.inner.model().to_owned();
        // Looked up and written side by side: the writes of one batch share a commit.
        let cached = futures_util::future::join_all(texts.iter().map(|t| self.repo.cached_embedding(&model, kind_name, t))).await;
        // A cache that cannot be read is only slower.
        let mut out: Vec<Option<Vec<f32>>> = cached.into_iter().map(|v| v.ok().flatten().filter(|v| v.len() == self.dimension())).collect();
        let missing: Vec<usize> = (0..texts.len()).filter(|i| out[*i].is_none()).collect();
        crate::telemetry::embeddings(missing.len(), texts.len() - missing.len());
        if !missing.is_empty() {
            let wanted: Vec<String> = missing.iter().map(|i| texts[*i].clone()).collect();
            let started = std::time::Instant::now();
            let fresh = self.inner.embed(&wanted, kind).await?;
            crate::telemetry::embedded(if kind == EmbedKind::Query { "query" } else { "passage" }, started.elapsed());
            let writes = missing.iter().zip(&fresh).map(|(i, v)| self.repo.cache_embedding(&model, kind_name, &texts[*i], v));
            for written in futures_util::future::join_all(writes).await {
                if let Err(e) = written {
                    tracing::warn!(error = %e, "embedding cache write failed");
                }
            }
            for (i, v) in missing.into_iter().zip(fresh) {
                out[i] = Some(v);
            }
        }
        Ok(out.into_iter().map(|v| v.expect("every slot filled")).collect())
    }
}

/// The embedder indexing and retrieval share: `model` through the embedding cache, its vectors
/// (passages and queries alike) made language-neutral (`retrieval::LanguageNeutral`).
pub fn retrieval_embedder(model: Arc<dyn Embedder>, repo: Repository) -> Arc<dyn Embedder> {
    Arc::new(crate::retrieval::LanguageNeutral::new(Arc::new(CachedEmbedder::new(model.clone(), repo))).measured_by(model))
}

/// How often one message may find its post changed under it before it is retried later.
const MAX_PUBLISH_ROUNDS: usize = 8;

/// One pass of `publish`: finished, or to be done again with this version of the post.
enum Published {
    Done(IndexOutcome),
    Again { post: Post, outcome: Option<IndexOutcome> },
}

pub struct Indexer {
    pub repo: Repository,
    pub index: Arc<dyn SearchIndex>,
    pub embedder: Arc<dyn Embedder>,
    pub keywords: Arc<dyn KeywordEncoder>,
    /// Tags from a model; when it fails (or is absent) `fallback_tagger` is asked.
    pub tagger: Option<Arc<dyn Tagger>>,
    pub fallback_tagger: Arc<dyn Tagger>,
    /// Where `post_indexed` events go (outgoing webhooks); None to emit nothing.
    pub events: Option<Arc<dyn Queue>>,
    /// Reads the pages posts link to; None leaves links unread.
    pub links: Option<Arc<dyn LinkReader>>,
}

impl Indexer {
    /// The collection this indexer writes: its embedding model and dimension.
    pub fn collection(&self) -> CollectionInfo {
        CollectionInfo { model: self.embedder.model().to_owned(), dimension: self.embedder.dimension() }
    }

    pub async fn apply(&self, message: PostMessage) -> Result<IndexOutcome, IndexingError> {
        let outcome = self.apply_message(message).await?;
        crate::telemetry::post(match outcome {
            IndexOutcome::Indexed { edited: false, .. } => "indexed",
            IndexOutcome::Indexed { edited: true, .. } => "edited",
            IndexOutcome::Unchanged => "unchanged",
            IndexOutcome::Removed => "removed",
        });
        Ok(outcome)
    }

    async fn apply_message(&self, message: PostMessage) -> Result<IndexOutcome, IndexingError> {
        match message {
            PostMessage::Publish { post } => self.publish(post, false).await,
            PostMessage::Delete { key } => {
                self.index.delete_post(key).await?;
                self.repo.remove_deleted_post(key).await?;
                self.emit(Event::PostRemoved { key }).await?;
                Ok(IndexOutcome::Removed)
            }
        }
    }

    async fn tags_for(&self, text: &str) -> Vec<String> {
        if text.trim().is_empty() {
            return Vec::new();
        }
        if let Some(tagger) = &self.tagger {
            match tagger.tags(text).await {
                Ok(tags) => return tags,
                Err(e) => tracing::warn!(error = %e, "tagging model failed; using keyword tags"),
            }
        }
        self.fallback_tagger.tags(text).await.unwrap_or_default()
    }

    /// What the post's links say, each read once a week at most (the cache), best effort: a
    /// link that cannot be read is left out, and never fails the post.
    async fn read_links(&self, text: &str) -> Vec<LinkText> {
        let Some(reader) = &self.links else { return Vec::new() };
        let reads = links_in(text).into_iter().map(|url| async move {
            match self.repo.cached_link(&url).await {
                Ok(Some(page)) => return page,
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "link cache unreadable; reading the link"),
            }
            let page = match reader.read(&url).await {
                Ok(page) => Some(page),
                Err(LinkError::Refused(why)) => {
                    tracing::info!(why = %why, "link not fetched");
                    None
                }
                Err(LinkError::Unreadable(why)) => {
                    tracing::info!(why = %why, "link unreadable");
                    None
                }
            };
            if let Err(e) = self.repo.cache_link(&url, page.as_ref()).await {
                tracing::warn!(error = %e, "link read but not cached");
            }
            page
        });
        futures_util::future::join_all(reads).await.into_iter().flatten().collect()
    }

    /// Indexes a stored post again whatever its state (the `reindex` command, after the
    /// embedding model changed); its tags are kept.
    pub async fn reindex(&self, post: Post) -> Result<IndexOutcome, IndexingError> {
        self.publish(post, true).await
    }

    /// Stores and indexes `post`, whatever order its versions arrive in: a version older than
    /// the stored one (a late or replayed message) changes nothing, a deleted post is not
    /// brought back, and when another consumer stores a newer version while this one is being
    /// indexed, the newer one is indexed too — so store and index end on Telegram's latest.
    async fn publish(&self, post: Post, force: bool) -> Result<IndexOutcome, IndexingError> {
        let channel = self.repo.get_channel(post.key.channel_id).await?.ok_or(IndexingError::UnknownChannel(post.key))?;
        let mut next = post;
        let mut first: Option<IndexOutcome> = None;
        for _ in 0..MAX_PUBLISH_ROUNDS {
            match self.publish_once(&channel, next, force && first.is_none()).await? {
                Published::Done(outcome) => return Ok(first.unwrap_or(outcome)),
                Published::Again { post, outcome } => {
                    first = first.or(outcome);
                    next = post;
                }
            }
        }
        Err(RepoError::Contended("post versions").into())
    }

    async fn publish_once(&self, channel: &crate::model::Channel, mut post: Post, force: bool) -> Result<Published, IndexingError> {
        let stored = self.repo.get_post_versioned(post.key).await?;
        if let Some((s, _)) = stored.as_ref().filter(|(s, _)| s.edited_at > post.edited_at) {
            tracing::debug!(post = %s.key, "an older version than the stored one; nothing to do");
            return Ok(Published::Done(IndexOutcome::Unchanged));
        }
        let same = stored.as_ref().is_some_and(|(s, _)| s.same_content(&post));
        if let Some((s, _)) = stored.as_ref().filter(|(s, _)| same && s.indexed && !force) {
            tracing::debug!(post = %s.key, "already indexed; nothing to do");
            return Ok(Published::Done(IndexOutcome::Unchanged));
        }
        let tags = match stored.as_ref().filter(|(s, _)| same && !s.tags.is_empty()) {
            Some((s, _)) => s.tags.clone(),
            None => self.tags_for(&post.text).await,
        };
        if let Err(e) = post.set_tags(tags) {
            tracing::warn!(post = %post.key, error = %e, "tags dropped");
        }
        post.links = match stored.as_ref().filter(|(s, _)| same && !s.links.is_empty()) {
            Some((s, _)) => s.links.clone(),
            None => self.read_links(&post.text).await,
        };
        post.link = Post::link_for(post.key, channel.username.as_ref());
        post.indexed = false;
        let edited = stored.as_ref().is_some_and(|(s, _)| !s.same_content(&post));
        match stored {
            None => match self.repo.insert_post(&post).await? {
                PostInsert::Inserted => {}
                // Stored meanwhile by another consumer: compare with that version.
                PostInsert::AlreadyStored => return Ok(Published::Again { post, outcome: None }),
                PostInsert::Deleted => {
                    // A copy indexed before the deletion was (e.g. by a consumer that died after
                    // indexing) goes too.
                    self.index.delete_post(post.key).await?;
                    return Ok(Published::Done(IndexOutcome::Removed));
                }
            },
            Some((_, version)) => {
                if !self.repo.replace_post(&post, version).await? {
                    return Ok(Published::Again { post, outcome: None });
                }
            }
        }
        let mut chunks = chunk_text(&post.text, CHUNK_CHARS, CHUNK_OVERLAP);
        for link in &post.links {
            for c in chunk_text(&link.readable(), CHUNK_CHARS, CHUNK_OVERLAP) {
                chunks.push(Chunk { index: chunks.len() as u32, text: c.text });
            }
        }
        let texts: Vec<String> = chunks.iter().map(|c| c.text.clone()).collect();
        let vectors = self.embedder.embed(&texts, EmbedKind::Passage).await?;
        let payload = ChunkPayload { date: post.date, tags: post.tags.clone(), language: self.keywords.language(&post.text) };
        let points = chunks
            .iter()
            .zip(vectors)
            .map(|(c, dense)| IndexedChunk { post: post.key, chunk: c.index, dense, sparse: self.keywords.document(&c.text), payload: payload.clone() })
            .collect();
        self.index.upsert_post(post.key, points).await?;
        let count = chunks.len() as u32;
        self.emit(Event::PostIndexed { key: post.key, chunks: count, tags: post.tags.clone(), edited }).await?;
        let outcome = IndexOutcome::Indexed { chunks: count, edited };
        // Marked indexed only if the store still holds this very version; otherwise what it
        // holds now is indexed over it (or, deleted meanwhile, removed from the index).
        match self.repo.get_post_versioned(post.key).await? {
            None => {
                self.index.delete_post(post.key).await?;
                Ok(Published::Done(IndexOutcome::Removed))
            }
            Some((now, version)) if now.same_content(&post) => {
                post.indexed = true;
                if self.repo.replace_post(&post, version).await? {
                    Ok(Published::Done(outcome))
                } else {
                    Ok(Published::Again { post, outcome: Some(outcome) })
                }
            }
            Some((now, _)) => Ok(Published::Again { post: now, outcome: Some(outcome) }),
        }
    }

    async fn emit(&self, event: Event) -> Result<(), QueueError> {
        if let Some(events) = &self.events {
            events.send(OutgoingMessage::new(serde_json::to_string(&event).expect("events serialize"))).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl MessageHandler for Indexer {
    async fn handle(&self, message: &ReceivedMessage) -> Result<(), HandleError> {
        let parsed: PostMessage = serde_json::from_str(&message.body).map_err(|e| HandleError::retry(IndexingError::Malformed(e.to_string()).to_string()))?;
        self.apply(parsed).await.map(|_| ()).map_err(|e| HandleError::retry(e.to_string()))
    }
}
