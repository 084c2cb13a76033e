//! Cases every `SearchIndex` adapter must pass (tiny 4-d vectors so the expected order is obvious).

use siftgram_core::Timestamp;
use siftgram_core::model::{ChannelId, Language, PostKey};
use siftgram_core::ports::{ChunkPayload, CollectionInfo, IndexError, IndexFilter, IndexQuery, IndexedChunk, SearchIndex, SparseVector};
use std::sync::Arc;

/// An index under test; `reopen` rebuilds it from what is durable (None if not durable).
pub struct IndexUnderTest {
    pub index: Arc<dyn SearchIndex>,
    pub reopen: Option<Box<dyn Fn() -> Arc<dyn SearchIndex> + Send + Sync>>,
    pub _guard: Option<tempfile::TempDir>,
}

#[macro_export]
macro_rules! index_conformance {
    ($make:path) => {
        $crate::index_conformance!(@cases $make;
            a_collection_remembers_its_model_and_refuses_another,
            the_nearest_vector_and_the_matching_keyword_rank_first,
            filters_apply_before_ranking,
            upserting_a_post_replaces_its_chunks_and_delete_removes_them,
            vectors_of_the_wrong_dimension_are_refused,
            points_survive_a_reopen,
            recreating_the_collection_drops_everything,
            a_deleted_posts_place_holds_the_next_posts_vector,
            a_recreated_collection_takes_vectors_of_its_new_dimension,
        );
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let under_test = $make().await;
                $crate::conformance::index::$case(&under_test).await;
            }
        )*
    };
}

pub fn info() -> CollectionInfo {
    CollectionInfo { model: "test-model".into(), dimension: 4 }
}

fn key(channel: i64, message: i64) -> PostKey {
    PostKey::new(ChannelId::new(channel).unwrap(), message).unwrap()
}

fn chunk(post: PostKey, n: u32, dense: [f32; 4], terms: &[u32], day: i64, tags: &[&str]) -> IndexedChunk {
    IndexedChunk {
        post,
        chunk: n,
        dense: dense.to_vec(),
        sparse: SparseVector::from_pairs(terms.iter().map(|t| (*t, 1.0)).collect()),
        payload: ChunkPayload { date: Timestamp(day * 86_400), tags: tags.iter().map(|t| t.to_string()).collect(), language: Language::Ru },
    }
}

fn query(dense: [f32; 4], terms: &[u32], channels: &[i64]) -> IndexQuery {
    IndexQuery {
        dense: dense.to_vec(),
        sparse: SparseVector::from_pairs(terms.iter().map(|t| (*t, 1.0)).collect()),
        filter: IndexFilter { channels: channels.iter().map(|c| ChannelId::new(*c).unwrap()).collect(), ..IndexFilter::default() },
        limit: 10,
    }
}

async fn messages(index: &dyn SearchIndex, q: &IndexQuery) -> Vec<i64> {
    index.search(q).await.unwrap().iter().map(|h| h.post.message_id).collect()
}

/// Three posts in channel 1, one in channel 2.
async fn seed(index: &dyn SearchIndex) {
    index.open_collection(&info()).await.unwrap();
    index.upsert_post(key(1, 1), vec![chunk(key(1, 1), 0, [1.0, 0.0, 0.0, 0.0], &[10, 11], 100, &["economy"])]).await.unwrap();
    index.upsert_post(key(1, 2), vec![chunk(key(1, 2), 0, [0.0, 1.0, 0.0, 0.0], &[20], 101, &["sport"])]).await.unwrap();
    index.upsert_post(key(1, 3), vec![chunk(key(1, 3), 0, [0.0, 0.0, 1.0, 0.0], &[30, 10], 102, &["economy", "tech"])]).await.unwrap();
    index.upsert_post(key(2, 1), vec![chunk(key(2, 1), 0, [1.0, 0.0, 0.0, 0.0], &[10], 103, &["economy"])]).await.unwrap();
}

pub async fn a_collection_remembers_its_model_and_refuses_another(t: &IndexUnderTest) {
    let index = &*t.index;
    assert!(matches!(index.search(&query([1.0, 0.0, 0.0, 0.0], &[], &[1])).await, Err(IndexError::NotOpen)));
    index.open_collection(&info()).await.unwrap();
    index.open_collection(&info()).await.expect("same model again is fine");
    let other = CollectionInfo { model: "other-model".into(), dimension: 4 };
    match index.open_collection(&other).await {
        Err(IndexError::ModelMismatch { expected, found }) => assert_eq!((expected, found), (other, info())),
        r => panic!("expected a mismatch, got {r:?}"),
    }
    assert_eq!(index.count().await.unwrap(), 0);
}

pub async fn the_nearest_vector_and_the_matching_keyword_rank_first(t: &IndexUnderTest) {
    let index = &*t.index;
    seed(index).await;
    assert_eq!(index.count().await.unwrap(), 4);
    let by_vector = messages(index, &query([0.0, 0.9, 0.1, 0.0], &[], &[1])).await;
    assert_eq!(by_vector[..2], [2, 3], "nearest first: {by_vector:?}");
    let by_keyword = messages(index, &query([0.0, 0.0, 0.0, 1.0], &[30], &[1])).await;
    assert_eq!(by_keyword[0], 3, "{by_keyword:?}");
    let both = messages(index, &query([1.0, 0.0, 0.0, 0.0], &[10], &[1])).await;
    assert_eq!(both[0], 1, "first in both lists: {both:?}");
    assert_eq!(both.len(), 3, "every candidate of the allowed channel is returned");
}

pub async fn filters_apply_before_ranking(t: &IndexUnderTest) {
    let index = &*t.index;
    seed(index).await;
    assert_eq!(messages(index, &query([1.0, 0.0, 0.0, 0.0], &[10], &[2])).await, [1], "channel 2 only");
    assert!(messages(index, &query([1.0, 0.0, 0.0, 0.0], &[10], &[])).await.is_empty(), "no channels, no results");
    let mut q = query([1.0, 0.0, 0.0, 0.0], &[10], &[1]);
    q.filter.since = Some(Timestamp(101 * 86_400));
    assert_eq!(messages(index, &q).await, [3, 2], "the best match (day 100) is outside the window");
    q.filter.until = Some(Timestamp(102 * 86_400));
    assert_eq!(messages(index, &q).await, [2]);
    let mut q = query([0.0, 1.0, 0.0, 0.0], &[], &[1, 2]);
    q.filter.tags = vec!["economy".into()];
    let mut got = messages(index, &q).await;
    got.sort();
    assert_eq!(got, [1, 1, 3], "post 1 of both channels and post 3");
}

pub async fn upserting_a_post_replaces_its_chunks_and_delete_removes_them(t: &IndexUnderTest) {
    let index = &*t.index;
    seed(index).await;
    let post = key(1, 2);
    index
        .upsert_post(post, vec![chunk(post, 0, [0.0, 0.0, 0.0, 1.0], &[40], 101, &[]), chunk(post, 1, [0.0, 0.0, 0.0, 1.0], &[41], 101, &[])])
        .await
        .unwrap();
    assert_eq!(index.count().await.unwrap(), 5);
    let hits = index.search(&query([0.0, 0.0, 0.0, 1.0], &[41], &[1])).await.unwrap();
    assert_eq!((hits[0].post, hits[0].chunk), (post, 1), "the chunk that matches maps back to its post");
    index.upsert_post(post, vec![chunk(post, 0, [0.0, 0.0, 0.0, 1.0], &[40], 101, &[])]).await.unwrap();
    assert_eq!(index.count().await.unwrap(), 4, "the edit has one chunk now; the stale one is gone");
    let keyword_only = index.search(&query([0.0, 0.0, 0.0, 0.0], &[20], &[1])).await.unwrap();
    assert!(keyword_only.iter().all(|h| h.post != post || h.chunk == 0));
    index.delete_post(post).await.unwrap();
    index.delete_post(post).await.expect("deleting twice is fine");
    assert!(!messages(index, &query([0.0, 0.0, 0.0, 1.0], &[40], &[1])).await.contains(&2));
    assert_eq!(index.count().await.unwrap(), 3);
}

pub async fn vectors_of_the_wrong_dimension_are_refused(t: &IndexUnderTest) {
    let index = &*t.index;
    seed(index).await;
    let post = key(1, 9);
    let mut bad = chunk(post, 0, [1.0, 0.0, 0.0, 0.0], &[], 1, &[]);
    bad.dense.push(0.5);
    assert!(matches!(index.upsert_post(post, vec![bad]).await, Err(IndexError::Dimension { expected: 4, got: 5 })));
    let mut q = query([1.0, 0.0, 0.0, 0.0], &[], &[1]);
    q.dense.pop();
    assert!(matches!(index.search(&q).await, Err(IndexError::Dimension { .. })));
    assert_eq!(index.count().await.unwrap(), 4, "nothing was written");
}

pub async fn points_survive_a_reopen(t: &IndexUnderTest) {
    let Some(reopen) = &t.reopen else { return };
    seed(&*t.index).await;
    let before = messages(&*t.index, &query([1.0, 0.0, 0.0, 0.0], &[10], &[1])).await;
    let again = reopen();
    again.open_collection(&info()).await.unwrap();
    assert_eq!(again.count().await.unwrap(), 4);
    assert_eq!(messages(&*again, &query([1.0, 0.0, 0.0, 0.0], &[10], &[1])).await, before);
}

pub async fn recreating_the_collection_drops_everything(t: &IndexUnderTest) {
    let index = &*t.index;
    seed(index).await;
    let next = CollectionInfo { model: "next-model".into(), dimension: 4 };
    index.recreate_collection(&next).await.unwrap();
    assert_eq!(index.count().await.unwrap(), 0);
    index.open_collection(&next).await.expect("the new model is recorded");
    assert!(index.open_collection(&info()).await.is_err());
}

/// An index may reuse a deleted point's storage: what it then finds must be the new point's.
pub async fn a_deleted_posts_place_holds_the_next_posts_vector(t: &IndexUnderTest) {
    let index = &*t.index;
    seed(index).await;
    index.delete_post(key(1, 2)).await.unwrap();
    index.upsert_post(key(1, 4), vec![chunk(key(1, 4), 0, [0.0, 0.0, 0.0, 1.0], &[50], 104, &[])]).await.unwrap();
    let hits = index.search(&query([0.0, 0.0, 0.0, 1.0], &[], &[1])).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.post.message_id).collect::<Vec<_>>()[0], 4, "{hits:?}");
    let old_vector = messages(index, &query([0.0, 1.0, 0.0, 0.0], &[20], &[1])).await;
    assert!(!old_vector.contains(&2), "the deleted post is gone: {old_vector:?}");
    let by_keyword = messages(index, &query([0.0, 0.0, 0.0, 0.0], &[50], &[1])).await;
    assert_eq!(by_keyword[0], 4, "{by_keyword:?}");
}

pub async fn a_recreated_collection_takes_vectors_of_its_new_dimension(t: &IndexUnderTest) {
    let index = &*t.index;
    seed(index).await;
    let wider = CollectionInfo { model: "wider-model".into(), dimension: 6 };
    index.recreate_collection(&wider).await.unwrap();
    let post = key(1, 1);
    let mut six = chunk(post, 0, [0.0; 4], &[10], 100, &[]);
    six.dense = vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0];
    let mut other = chunk(key(1, 2), 0, [0.0; 4], &[], 100, &[]);
    other.dense = vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    index.upsert_post(post, vec![six]).await.unwrap();
    index.upsert_post(key(1, 2), vec![other]).await.unwrap();
    assert!(matches!(index.upsert_post(key(1, 3), vec![chunk(key(1, 3), 0, [1.0, 0.0, 0.0, 0.0], &[], 1, &[])]).await, Err(IndexError::Dimension { expected: 6, got: 4 })));
    let q = IndexQuery { dense: vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0], ..query([0.0; 4], &[], &[1]) };
    assert_eq!(messages(index, &q).await, [1, 2], "the nearest six-dimensional vector first");
}
