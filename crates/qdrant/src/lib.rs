//! The search index on a Qdrant server (gRPC through qdrant-client): one point per post chunk
//! with a named dense vector (`dense`, cosine) and a named sparse vector (`keywords`, IDF
//! modifier — the same keyword scoring as the embedded index), payload indexes on channel, date
//! and tags, and hybrid search as one Query API call: two prefetches under the filter, fused
//! by weighted RRF on the server (the weights of the embedded index). The collection's model and dimension live in its metadata.

use async_trait::async_trait;
use qdrant_client::Qdrant;
use qdrant_client::qdrant::{
    Condition, CountPointsBuilder, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder, DeletePointsBuilder, Distance,
    FieldType, Filter, Modifier, NamedVectors, PointStruct, PrefetchQueryBuilder, Query, QueryPointsBuilder, Range, Rrf,
    SparseVectorParamsBuilder, SparseVectorsConfigBuilder, UpsertPointsBuilder, Value, VectorParamsBuilder, VectorsConfigBuilder,
    value::Kind,
};
use siftgram_core::Timestamp;
use siftgram_core::model::{ChannelId, PostKey};
use siftgram_core::ports::index::{FUSION_WEIGHTS, RRF_K};
use siftgram_core::ports::{CollectionInfo, IndexError, IndexFilter, IndexHit, IndexQuery, IndexedChunk, SearchIndex};
use std::collections::HashMap;

pub mod serve;

const DENSE: &str = "dense";
const KEYWORDS: &str = "keywords";
/// Candidates each prefetch contributes per result wanted (as in the embedded index).
const CANDIDATES_PER_RESULT: u64 = 4;
const MIN_CANDIDATES: u64 = 50;
/// `RRF_K` in Qdrant's formula (its ranks count from 0).
pub const QDRANT_RRF_K: u32 = RRF_K as u32 + 1;

pub struct QdrantIndex {
    client: Qdrant,
    collection: String,
    /// The collection as last opened here: vectors of another dimension are refused before a
    /// request is sent, with the port's error rather than Qdrant's text.
    opened: std::sync::RwLock<Option<CollectionInfo>>,
}

fn backend(e: impl std::fmt::Display) -> IndexError {
    IndexError::Backend(e.to_string())
}

/// Qdrant's answer in the port's terms: a collection that does not exist is one not opened.
fn grpc(e: qdrant_client::QdrantError) -> IndexError {
    match &e {
        qdrant_client::QdrantError::ResponseError { status } if status.code() == tonic::Code::NotFound => IndexError::NotOpen,
        _ => backend(e),
    }
}

/// A stable point id for (channel, message, chunk): FNV-1a over the three numbers.
pub fn point_id(post: PostKey, chunk: u32) -> u64 {
    siftgram_core::hash::fnv64(post.channel_id.get().to_le_bytes().into_iter().chain(post.message_id.to_le_bytes()).chain(chunk.to_le_bytes()))
}

fn int(v: &Value) -> Option<i64> {
    match v.kind {
        Some(Kind::IntegerValue(i)) => Some(i),
        Some(Kind::DoubleValue(d)) => Some(d as i64),
        _ => None,
    }
}

fn post_filter(post: PostKey) -> Filter {
    Filter::must([Condition::matches("channel_id", post.channel_id.get()), Condition::matches("message_id", post.message_id)])
}

/// The filter as Qdrant conditions; applied inside both prefetches, i.e. before ranking.
pub fn to_filter(f: &IndexFilter) -> Filter {
    let mut must = vec![Condition::matches("channel_id", f.channels.iter().map(|c| c.get()).collect::<Vec<i64>>())];
    if f.since.is_some() || f.until.is_some() {
        let range = Range { gte: f.since.map(|t| t.0 as f64), lt: f.until.map(|t| t.0 as f64), ..Range::default() };
        must.push(Condition::range("date", range));
    }
    if !f.tags.is_empty() {
        must.push(Condition::matches("tags", f.tags.clone()));
    }
    Filter::must(must)
}

impl QdrantIndex {
    /// The index named by the environment: `SIFTGRAM_QDRANT_URL` (required, gRPC),
    /// `SIFTGRAM_QDRANT_API_KEY`, `SIFTGRAM_QDRANT_COLLECTION` (default `siftgram_posts`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<QdrantIndex, IndexError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let url = get("SIFTGRAM_QDRANT_URL").ok_or_else(|| IndexError::Backend("SIFTGRAM_QDRANT_URL is required".into()))?;
        let collection = get("SIFTGRAM_QDRANT_COLLECTION").unwrap_or_else(|| "siftgram_posts".into());
        QdrantIndex::connect(&url, get("SIFTGRAM_QDRANT_API_KEY"), &collection)
    }

    /// `url` is the gRPC endpoint (`http://host:6334`); `api_key` for Qdrant Cloud.
    pub fn connect(url: &str, api_key: Option<String>, collection: &str) -> Result<QdrantIndex, IndexError> {
        let client = Qdrant::from_url(url).api_key(api_key).skip_compatibility_check().build().map_err(backend)?;
        Ok(QdrantIndex { client, collection: collection.to_owned(), opened: std::sync::RwLock::new(None) })
    }

    fn remember(&self, info: &CollectionInfo) {
        if let Ok(mut opened) = self.opened.write() {
            *opened = Some(info.clone());
        }
    }

    fn check_dimension(&self, got: usize) -> Result<(), IndexError> {
        match self.opened.read().ok().and_then(|o| o.as_ref().map(|i| i.dimension)) {
            Some(expected) if expected != got => Err(IndexError::Dimension { expected, got }),
            _ => Ok(()),
        }
    }

    async fn create(&self, info: &CollectionInfo) -> Result<(), IndexError> {
        let mut dense = VectorsConfigBuilder::default();
        dense.add_named_vector_params(DENSE, VectorParamsBuilder::new(info.dimension as u64, Distance::Cosine));
        let mut sparse = SparseVectorsConfigBuilder::default();
        sparse.add_named_vector_params(KEYWORDS, SparseVectorParamsBuilder::default().modifier(Modifier::Idf));
        let mut request: qdrant_client::qdrant::CreateCollection =
            CreateCollectionBuilder::new(&self.collection).vectors_config(dense).sparse_vectors_config(sparse).into();
        request.metadata = serve::collection_metadata(info);
        self.client.create_collection(request).await.map_err(grpc)?;
        for (field, kind) in [("channel_id", FieldType::Integer), ("message_id", FieldType::Integer), ("date", FieldType::Integer), ("tags", FieldType::Keyword)] {
            self.client.create_field_index(CreateFieldIndexCollectionBuilder::new(&self.collection, field, kind).wait(true)).await.map_err(grpc)?;
        }
        Ok(())
    }

    async fn stored_info(&self) -> Result<Option<CollectionInfo>, IndexError> {
        if !self.client.collection_exists(&self.collection).await.map_err(grpc)? {
            return Ok(None);
        }
        let info = self.client.collection_info(&self.collection).await.map_err(grpc)?;
        let metadata = info.result.and_then(|r| r.config).map(|c| c.metadata).unwrap_or_default();
        let model = match metadata.get("model").and_then(|v| v.kind.clone()) {
            Some(Kind::StringValue(s)) => s,
            _ => String::new(),
        };
        let dimension = metadata.get("dimension").and_then(int).unwrap_or(0) as usize;
        Ok(Some(CollectionInfo { model, dimension }))
    }

    pub(crate) fn point(c: &IndexedChunk) -> PointStruct {
        let vectors = NamedVectors::default()
            .add_vector(DENSE, qdrant_client::qdrant::Vector::new_dense(c.dense.clone()))
            .add_vector(KEYWORDS, qdrant_client::qdrant::Vector::new_sparse(c.sparse.indices.clone(), c.sparse.values.clone()));
        let payload: HashMap<&str, Value> = HashMap::from([
            ("channel_id", Value::from(c.post.channel_id.get())),
            ("message_id", Value::from(c.post.message_id)),
            ("chunk", Value::from(i64::from(c.chunk))),
            ("date", Value::from(c.payload.date.0)),
            ("tags", Value::from(c.payload.tags.iter().map(|t| Value::from(t.clone())).collect::<Vec<Value>>())),
            ("language", Value::from(format!("{:?}", c.payload.language).to_lowercase())),
        ]);
        PointStruct::new(point_id(c.post, c.chunk), vectors, payload)
    }
}

#[async_trait]
impl SearchIndex for QdrantIndex {
    async fn open_collection(&self, info: &CollectionInfo) -> Result<(), IndexError> {
        match self.stored_info().await? {
            None => self.create(info).await?,
            Some(found) if found == *info => {}
            Some(found) => return Err(IndexError::ModelMismatch { expected: info.clone(), found }),
        }
        self.remember(info);
        Ok(())
    }

    async fn recreate_collection(&self, info: &CollectionInfo) -> Result<(), IndexError> {
        if self.client.collection_exists(&self.collection).await.map_err(grpc)? {
            self.client.delete_collection(&self.collection).await.map_err(grpc)?;
        }
        self.create(info).await?;
        self.remember(info);
        Ok(())
    }

    /// New chunks are written first (same ids overwrite), then chunks beyond the new count are
    /// removed: the post is never missing from search while it is replaced.
    async fn upsert_post(&self, post: PostKey, chunks: Vec<IndexedChunk>) -> Result<(), IndexError> {
        if let Some(c) = chunks.iter().find(|c| c.post != post) {
            return Err(IndexError::Invalid(format!("chunk of {} upserted as {post}", c.post)));
        }
        for c in &chunks {
            self.check_dimension(c.dense.len())?;
        }
        if !chunks.is_empty() {
            let points: Vec<PointStruct> = chunks.iter().map(QdrantIndex::point).collect();
            self.client.upsert_points(UpsertPointsBuilder::new(&self.collection, points).wait(true)).await.map_err(grpc)?;
        }
        let mut stale = post_filter(post);
        stale.must.push(Condition::range("chunk", Range { gte: Some(chunks.len() as f64), ..Range::default() }));
        self.client.delete_points(DeletePointsBuilder::new(&self.collection).points(stale).wait(true)).await.map_err(grpc)?;
        Ok(())
    }

    async fn delete_post(&self, post: PostKey) -> Result<(), IndexError> {
        self.client.delete_points(DeletePointsBuilder::new(&self.collection).points(post_filter(post)).wait(true)).await.map_err(grpc)?;
        Ok(())
    }

    async fn search(&self, query: &IndexQuery) -> Result<Vec<IndexHit>, IndexError> {
        if query.filter.channels.is_empty() || query.limit == 0 {
            return Ok(Vec::new());
        }
        self.check_dimension(query.dense.len())?;
        let filter = to_filter(&query.filter);
        let candidates = (query.limit as u64 * CANDIDATES_PER_RESULT).max(MIN_CANDIDATES);
        let mut request = QueryPointsBuilder::new(&self.collection)
            .add_prefetch(PrefetchQueryBuilder::default().query(Query::new_nearest(query.dense.clone())).using(DENSE).filter(filter.clone()).limit(candidates));
        let mut weights = vec![FUSION_WEIGHTS[0]];
        if !query.sparse.is_empty() {
            let sparse = qdrant_client::qdrant::VectorInput::new_sparse(query.sparse.indices.clone(), query.sparse.values.clone());
            request = request.add_prefetch(PrefetchQueryBuilder::default().query(Query::new_nearest(sparse)).using(KEYWORDS).filter(filter).limit(candidates));
            weights.push(FUSION_WEIGHTS[1]);
        }
        // Qdrant scores 1 / (k + rank from 0) with k = 2 unless told; ours is 1 / (60 + rank from
        // 1), i.e. k = 61 in Qdrant's terms.
        let fusion = Rrf { k: Some(QDRANT_RRF_K), weights };
        let request = request.query(Query::new_rrf(fusion)).limit(query.limit as u64).with_payload(true);
        let response = self.client.query(request).await.map_err(grpc)?;
        response
            .result
            .iter()
            .map(|p| {
                let field = |name: &str| p.payload.get(name).and_then(int).ok_or_else(|| backend(format!("a point without {name}")));
                let channel = ChannelId::new(field("channel_id")?).map_err(backend)?;
                Ok(IndexHit {
                    post: PostKey::new(channel, field("message_id")?).map_err(backend)?,
                    chunk: field("chunk")? as u32,
                    score: p.score,
                    date: Timestamp(field("date")?),
                })
            })
            .collect()
    }

    async fn count(&self) -> Result<u64, IndexError> {
        let response = self.client.count(CountPointsBuilder::new(&self.collection).exact(true)).await.map_err(grpc)?;
        Ok(response.result.map_or(0, |r| r.count))
    }
}
