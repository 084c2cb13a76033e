//! The search index port: one point per post chunk with a dense vector (semantic) and a sparse
//! keyword vector, filtered by channel, date and tags, ranked by Reciprocal Rank Fusion of the
//! dense and keyword lists. Adapters: Qdrant (server) and the embedded index.

use crate::Timestamp;
use crate::model::{ChannelId, Language, PostKey};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// A sparse vector: strictly increasing term ids with their weights.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SparseVector {
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl SparseVector {
    /// From (term, weight) pairs in any order; repeated terms are summed.
    pub fn from_pairs(mut pairs: Vec<(u32, f32)>) -> SparseVector {
        pairs.sort_unstable_by_key(|p| p.0);
        let mut out = SparseVector::default();
        for (i, v) in pairs {
            if out.indices.last() == Some(&i) {
                *out.values.last_mut().expect("same length") += v;
            } else {
                out.indices.push(i);
                out.values.push(v);
            }
        }
        out
    }
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

/// What a point carries besides its vectors (the post key is its identity).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChunkPayload {
    pub date: Timestamp,
    pub tags: Vec<String>,
    pub language: Language,
}

/// One chunk of a post, ready to index.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexedChunk {
    pub post: PostKey,
    pub chunk: u32,
    pub dense: Vec<f32>,
    pub sparse: SparseVector,
    pub payload: ChunkPayload,
}

/// Filters applied before ranking.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IndexFilter {
    /// Only these channels (never empty in a search: an empty list matches nothing).
    pub channels: Vec<ChannelId>,
    /// Inclusive lower bound on the post date.
    pub since: Option<Timestamp>,
    /// Exclusive upper bound on the post date.
    pub until: Option<Timestamp>,
    /// Any of these tags (empty: no tag filter).
    pub tags: Vec<String>,
}

impl IndexFilter {
    /// The date and tag conditions (channel membership is checked by the index, which keeps
    /// points per channel).
    pub fn admits(&self, payload: &ChunkPayload) -> bool {
        self.admits_date(payload.date) && self.admits_tags(&payload.tags)
    }

    /// The date window alone (an index that keeps dates apart from payloads checks it first).
    pub fn admits_date(&self, date: Timestamp) -> bool {
        self.since.is_none_or(|s| date >= s) && self.until.is_none_or(|u| date < u)
    }

    pub fn admits_tags(&self, tags: &[String]) -> bool {
        self.tags.is_empty() || tags.iter().any(|t| self.tags.contains(t))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct IndexQuery {
    pub dense: Vec<f32>,
    pub sparse: SparseVector,
    pub filter: IndexFilter,
    /// How many fused hits to return.
    pub limit: usize,
}

/// A ranked chunk. `score` is the fused (RRF) score: only the order is meaningful.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexHit {
    pub post: PostKey,
    pub chunk: u32,
    pub score: f32,
    pub date: Timestamp,
}

/// The embedding model a collection was built with; vectors of another model are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionInfo {
    pub model: String,
    pub dimension: usize,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum IndexError {
    #[error("the index was built with {found:?} but {expected:?} is configured; run `siftgram reindex`")]
    ModelMismatch { expected: CollectionInfo, found: CollectionInfo },
    #[error("a vector has {got} dimensions; the collection has {expected}")]
    Dimension { expected: usize, got: usize },
    #[error("the collection is not open; call open_collection first")]
    NotOpen,
    #[error("invalid index request: {0}")]
    Invalid(String),
    #[error("index backend: {0}")]
    Backend(String),
}

/// Text → keyword vectors (Russian and English stemming lives in the adapter).
pub trait KeywordEncoder: Send + Sync {
    fn document(&self, text: &str) -> SparseVector;
    fn query(&self, text: &str) -> SparseVector;
    fn language(&self, text: &str) -> Language;
}

/// The RRF constant (Qdrant and the literature use 60).
pub const RRF_K: f32 = 60.0;

/// How much each list's ranks count in the fusion: [dense, keyword]. Measured on
/// eval/verkhnekamsk's tuning questions (MRR@10 at keyword weight 0.25, 0.15, 0.1, 0.05: 0.83,
/// 0.85, 0.85, 0.86; at equal weights 0.76–0.80 — paraphrased and cross-lingual questions share no word
/// with their answer but filler with many other posts) and on the shipped sample, whose
/// exact-name questions need the keyword list (all found at 0.05, one lost at 0): 0.1 keeps
/// twice that margin. The keyword list still brings candidates the dense one missed.
pub const FUSION_WEIGHTS: [f32; 2] = [1.0, 0.1];

#[async_trait]
pub trait SearchIndex: Send + Sync {
    /// Creates the collection for `info`, or checks that the existing one was built with the
    /// same model and dimension (`ModelMismatch` otherwise; nothing is changed).
    async fn open_collection(&self, info: &CollectionInfo) -> Result<(), IndexError>;
    /// Drops every point and starts over with `info` (the `reindex` command).
    async fn recreate_collection(&self, info: &CollectionInfo) -> Result<(), IndexError>;
    /// Replaces a post's chunks with `chunks` (all of one post; stale chunks are removed).
    async fn upsert_post(&self, post: PostKey, chunks: Vec<IndexedChunk>) -> Result<(), IndexError>;
    /// Removes every chunk of a post; removing an absent post is fine.
    async fn delete_post(&self, post: PostKey) -> Result<(), IndexError>;
    /// Hybrid search: dense and keyword candidates under the filter, fused by RRF, best first.
    async fn search(&self, query: &IndexQuery) -> Result<Vec<IndexHit>, IndexError>;
    /// How many chunks are indexed.
    async fn count(&self) -> Result<u64, IndexError>;
}

/// One ranked candidate list, best first: chunks as (post, chunk number, post date).
pub type RankedChunks = Vec<(PostKey, u32, Timestamp)>;

/// Weighted Reciprocal Rank Fusion of best-first candidate lists: each list adds
/// `weight / (k + rank)` (Qdrant's weighted RRF computes the same).
pub fn rrf_fuse(lists: &[(f32, RankedChunks)], limit: usize) -> Vec<IndexHit> {
    let mut fused: std::collections::HashMap<(PostKey, u32), IndexHit> = std::collections::HashMap::new();
    for (weight, list) in lists {
        for (rank, (post, chunk, date)) in list.iter().enumerate() {
            let add = weight / (RRF_K + rank as f32 + 1.0);
            fused
                .entry((*post, *chunk))
                .and_modify(|h| h.score += add)
                .or_insert(IndexHit { post: *post, chunk: *chunk, score: add, date: *date });
        }
    }
    let mut hits: Vec<IndexHit> = fused.into_values().collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.date.cmp(&a.date)).then(a.post.cmp(&b.post)).then(a.chunk.cmp(&b.chunk)));
    hits.truncate(limit);
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(m: i64) -> PostKey {
        PostKey::new(ChannelId::new(1).unwrap(), m).unwrap()
    }

    #[test]
    fn rrf_prefers_what_both_lists_agree_on() {
        let t = Timestamp(0);
        let dense = vec![(key(1), 0, t), (key(2), 0, t), (key(3), 0, t)];
        let keyword = vec![(key(3), 0, t), (key(2), 0, t), (key(4), 0, t)];
        let hits = rrf_fuse(&[(1.0, dense.clone()), (1.0, keyword.clone())], 3);
        let order: Vec<i64> = hits.iter().map(|h| h.post.message_id).collect();
        assert_eq!(order, [3, 2, 1], "3 and 2 are in both lists (a first place outweighs two second places)");
    }

    #[test]
    fn a_lighter_list_moves_a_post_fewer_places() {
        let t = Timestamp(0);
        let dense: Vec<_> = (1..=30).map(|m| (key(m), 0, t)).collect();
        let keyword = vec![(key(30), 0, t)];
        let first = |weights: [f32; 2]| rrf_fuse(&[(weights[0], dense.clone()), (weights[1], keyword.clone())], 1)[0].post.message_id;
        assert_eq!(first([1.0, 1.0]), 30, "with equal weights a keyword first place lifts the dense 30th above the dense 1st");
        assert_eq!(first([1.0, 0.25]), 1, "a quarter weight does not");
    }

    #[test]
    fn sparse_vectors_are_sorted_and_merged() {
        let v = SparseVector::from_pairs(vec![(9, 1.0), (2, 0.5), (9, 2.0)]);
        assert_eq!((v.indices, v.values), (vec![2, 9], vec![0.5, 3.0]));
    }
}
