//! The dev loop's Qdrant: the part of Qdrant's gRPC API the adapter calls
//! (`siftgram_qdrant::serve`) over the embedded index, so the functions reach their index
//! through the same `QdrantIndex` and the same wire as deployed. No Qdrant server can be
//! installed here (../shared/notes/search.md); Qdrant's own answers are pinned by the adapter's
//! recorded-exchange tests. One collection per stand-in.

use siftgram_core::ports::{IndexError, SearchIndex};
use siftgram_core::model::PostKey;
use siftgram_qdrant::serve::{AdapterCalls, collection_metadata, outside_subset, read_collection_info, read_delete, read_points, read_query, scored_point};
use qdrant_client::qdrant as q;
use siftgram_search::EmbeddedIndex;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use tonic::Status;

pub struct EmbeddedQdrant {
    index: EmbeddedIndex,
    collection: String,
    /// Deleted and not yet created again (its points are already gone).
    dropped: AtomicBool,
}

fn status(e: IndexError) -> Status {
    match e {
        IndexError::NotOpen => Status::not_found(e.to_string()),
        IndexError::Backend(_) => Status::internal(e.to_string()),
        IndexError::ModelMismatch { .. } | IndexError::Dimension { .. } | IndexError::Invalid(_) => Status::invalid_argument(e.to_string()),
    }
}

impl EmbeddedQdrant {
    pub fn new(index: EmbeddedIndex, collection: &str) -> EmbeddedQdrant {
        EmbeddedQdrant { index, collection: collection.to_owned(), dropped: AtomicBool::new(false) }
    }

    fn exists(&self) -> bool {
        !self.dropped.load(Ordering::SeqCst) && self.index.collection().is_some()
    }

    /// The collection a request names, if it is this one and it exists (Qdrant's NOT_FOUND otherwise).
    fn ours(&self, collection: &str) -> Result<(), Status> {
        match collection == self.collection && self.exists() {
            true => Ok(()),
            false => Err(Status::not_found(format!("Collection `{collection}` doesn't exist!"))),
        }
    }
}

#[tonic::async_trait]
impl AdapterCalls for EmbeddedQdrant {
    async fn collection_exists(&self, collection: String) -> Result<bool, Status> {
        Ok(collection == self.collection && self.exists())
    }

    async fn collection_metadata(&self, collection: String) -> Result<HashMap<String, q::Value>, Status> {
        self.ours(&collection)?;
        Ok(self.index.collection().map(|info| collection_metadata(&info)).unwrap_or_default())
    }

    async fn create_collection(&self, request: q::CreateCollection) -> Result<(), Status> {
        if request.collection_name != self.collection {
            return Err(outside_subset(format!("a second collection {:?} (this one serves {:?})", request.collection_name, self.collection)));
        }
        if self.exists() {
            return Err(Status::already_exists(format!("Collection `{}` already exists!", self.collection)));
        }
        let info = read_collection_info(&request.metadata)?;
        // A collection created after a delete starts empty; the first one keeps what the
        // index directory already holds only if it was built with the same model.
        match self.dropped.swap(false, Ordering::SeqCst) {
            true => self.index.recreate_collection(&info).await,
            false => self.index.open_collection(&info).await,
        }
        .map_err(status)
    }

    async fn delete_collection(&self, collection: String) -> Result<(), Status> {
        self.ours(&collection)?;
        let info = self.index.collection().ok_or_else(|| Status::not_found("no collection"))?;
        self.index.recreate_collection(&info).await.map_err(status)?;
        self.dropped.store(true, Ordering::SeqCst);
        Ok(())
    }

    async fn create_field_index(&self, request: q::CreateFieldIndexCollection) -> Result<(), Status> {
        self.ours(&request.collection_name)?;
        // The embedded index filters on these natively.
        match request.field_name.as_str() {
            "channel_id" | "message_id" | "date" | "tags" => Ok(()),
            other => Err(outside_subset(format!("a payload index on {other:?}"))),
        }
    }

    /// The embedded index replaces a post's chunks whole, so every post in the upsert must
    /// come with all of its chunks, numbered from 0 — as `QdrantIndex::upsert_post` sends them.
    async fn upsert(&self, request: q::UpsertPoints) -> Result<(), Status> {
        self.ours(&request.collection_name)?;
        let mut posts: BTreeMap<PostKey, Vec<_>> = BTreeMap::new();
        for chunk in read_points(&request)? {
            posts.entry(chunk.post).or_default().push(chunk);
        }
        for (post, chunks) in posts.iter_mut() {
            chunks.sort_by_key(|c| c.chunk);
            if chunks.iter().enumerate().any(|(i, c)| c.chunk as usize != i) {
                return Err(outside_subset(format!("a part of the chunks of {post} (this stand-in replaces posts whole)")));
            }
        }
        self.index.upsert_many(posts.into_iter().collect()).await.map_err(status)
    }

    async fn delete(&self, request: q::DeletePoints) -> Result<(), Status> {
        self.ours(&request.collection_name)?;
        let range = read_delete(&request)?;
        match range.from_chunk {
            0 => self.index.delete_post(range.post).await.map_err(status),
            // The chunks past the ones just upserted: gone already, the post was replaced whole.
            _ => Ok(()),
        }
    }

    async fn query(&self, request: q::QueryPoints) -> Result<Vec<q::ScoredPoint>, Status> {
        self.ours(&request.collection_name)?;
        let query = read_query(&request)?;
        let hits = self.index.search(&query).await.map_err(status)?;
        Ok(hits.iter().map(scored_point).collect())
    }

    async fn count(&self, request: q::CountPoints) -> Result<u64, Status> {
        self.ours(&request.collection_name)?;
        self.index.count().await.map_err(status)
    }
}

/// Serves a stand-in for `collection` over `index` on `listener` (inside a tokio runtime) until
/// `shutdown` completes; returns its gRPC URL.
pub fn spawn(
    index: EmbeddedIndex,
    collection: &str,
    listener: std::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(String, tokio::task::JoinHandle<()>)> {
    let url = format!("http://{}", listener.local_addr()?);
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let standin = std::sync::Arc::new(EmbeddedQdrant::new(index, collection));
    let task = tokio::spawn(async move {
        if let Err(e) = siftgram_qdrant::serve::serve(standin, listener, shutdown).await {
            tracing::error!(error = %e, "the Qdrant stand-in failed");
        }
    });
    Ok((url, task))
}
