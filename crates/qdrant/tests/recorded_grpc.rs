//! The Qdrant adapter against recorded Qdrant gRPC exchanges (a server speaking the real
//! protocol; see `recorded/mod.rs` for why there is no Qdrant server in CI).

mod recorded;

use qdrant_client::qdrant::{self as q, query::Variant, vectors_config};
use recorded::{Call, RecordedQdrant};
use siftgram_core::Timestamp;
use siftgram_core::model::{ChannelId, Language, PostKey};
use siftgram_core::ports::index::FUSION_WEIGHTS;
use siftgram_core::ports::{ChunkPayload, CollectionInfo, IndexError, IndexFilter, IndexQuery, IndexedChunk, SearchIndex, SparseVector};
use siftgram_qdrant::{QdrantIndex, point_id};
use std::collections::HashMap;

fn info() -> CollectionInfo {
    CollectionInfo { model: "multilingual-e5-small".into(), dimension: 4 }
}

fn key(c: i64, m: i64) -> PostKey {
    PostKey::new(ChannelId::new(c).unwrap(), m).unwrap()
}

async fn connect() -> (RecordedQdrant, QdrantIndex) {
    let server = RecordedQdrant::default();
    let url = server.start().await;
    (server.clone(), QdrantIndex::connect(&url, None, "posts").unwrap())
}

#[tokio::test]
async fn a_new_collection_gets_named_dense_and_idf_sparse_vectors_payload_indexes_and_its_model() {
    let (server, index) = connect().await;
    index.open_collection(&info()).await.unwrap();
    let calls = server.take_calls();
    let Call::Create(create) = &calls[1] else { panic!("{calls:?}") };
    assert_eq!(create.collection_name, "posts");
    let Some(vectors_config::Config::ParamsMap(map)) = create.vectors_config.as_ref().and_then(|v| v.config.clone()) else { panic!("named vectors") };
    assert_eq!((map.map["dense"].size, map.map["dense"].distance), (4, q::Distance::Cosine as i32));
    let sparse = &create.sparse_vectors_config.as_ref().unwrap().map["keywords"];
    assert_eq!(sparse.modifier, Some(q::Modifier::Idf as i32));
    assert_eq!(create.metadata["model"], q::Value::from("multilingual-e5-small".to_owned()));
    let indexed: Vec<String> = calls.iter().filter_map(|c| if let Call::FieldIndex(f) = c { Some(f.field_name.clone()) } else { None }).collect();
    assert_eq!(indexed, ["channel_id", "message_id", "date", "tags"]);

    index.open_collection(&info()).await.expect("the same model again");
    let other = CollectionInfo { model: "text-embedding-3-small".into(), dimension: 4 };
    match index.open_collection(&other).await {
        Err(IndexError::ModelMismatch { found, .. }) => assert_eq!(found, info()),
        r => panic!("{r:?}"),
    }
    assert!(!server.take_calls().iter().any(|c| matches!(c, Call::Create(_))), "nothing recreated");
}

#[tokio::test]
async fn upserting_writes_every_chunk_then_removes_stale_ones_and_delete_removes_the_post() {
    let (server, index) = connect().await;
    let post = key(7, 42);
    let chunk = |n: u32| IndexedChunk {
        post,
        chunk: n,
        dense: vec![0.5, 0.5, 0.5, 0.5],
        sparse: SparseVector { indices: vec![3, 9], values: vec![1.0, 0.5] },
        payload: ChunkPayload { date: Timestamp(1_795_000_000), tags: vec!["economy".into()], language: Language::Ru },
    };
    index.upsert_post(post, vec![chunk(0), chunk(1)]).await.unwrap();
    let calls = server.take_calls();
    let [Call::Upsert(upsert), Call::Delete(stale)] = &calls[..] else { panic!("{calls:?}") };
    assert_eq!(upsert.wait, Some(true));
    let ids: Vec<Option<q::PointId>> = upsert.points.iter().map(|p| p.id.clone()).collect();
    assert_eq!(ids, [Some(point_id(post, 0).into()), Some(point_id(post, 1).into())]);
    let payload = &upsert.points[1].payload;
    assert_eq!((payload["channel_id"].clone(), payload["message_id"].clone(), payload["chunk"].clone()), (7i64.into(), 42i64.into(), 1i64.into()));
    let vectors = format!("{:?}", upsert.points[0].vectors);
    assert!(vectors.contains("\"dense\"") && vectors.contains("\"keywords\""), "{vectors}");
    let stale = format!("{stale:?}");
    assert!(stale.contains("\"chunk\"") && stale.contains("gte: Some(2.0)") && stale.contains("\"message_id\""), "{stale}");

    index.delete_post(post).await.unwrap();
    let calls = server.take_calls();
    let [Call::Delete(delete)] = &calls[..] else { panic!("{calls:?}") };
    let delete = format!("{delete:?}");
    assert!(delete.contains("\"channel_id\"") && delete.contains("Integer(7)") && delete.contains("Integer(42)"), "{delete}");
}

fn scored(channel: i64, message: i64, chunk: i64, date: i64, score: f32) -> q::ScoredPoint {
    let payload: HashMap<String, q::Value> = HashMap::from([
        ("channel_id".to_owned(), channel.into()),
        ("message_id".to_owned(), message.into()),
        ("chunk".to_owned(), chunk.into()),
        ("date".to_owned(), date.into()),
    ]);
    q::ScoredPoint { id: Some(point_id(key(channel, message), chunk as u32).into()), payload, score, ..Default::default() }
}

#[tokio::test]
async fn search_is_one_query_with_filtered_dense_and_keyword_prefetches_fused_by_rrf() {
    let (server, index) = connect().await;
    server.state().query_answer = vec![scored(2, 10, 1, 1_795_000_100, 0.032), scored(1, 5, 0, 1_795_000_000, 0.016)];
    let query = IndexQuery {
        dense: vec![1.0, 0.0, 0.0, 0.0],
        sparse: SparseVector { indices: vec![11], values: vec![1.0] },
        filter: IndexFilter {
            channels: vec![ChannelId::new(1).unwrap(), ChannelId::new(2).unwrap()],
            since: Some(Timestamp(1_794_000_000)),
            until: Some(Timestamp(1_796_000_000)),
            tags: vec!["economy".into()],
        },
        limit: 5,
    };
    let hits = index.search(&query).await.unwrap();
    assert_eq!(hits.iter().map(|h| (h.post, h.chunk)).collect::<Vec<_>>(), [(key(2, 10), 1), (key(1, 5), 0)]);
    assert_eq!(hits[0].date, Timestamp(1_795_000_100));
    let calls = server.take_calls();
    let [Call::Query(sent)] = &calls[..] else { panic!("{calls:?}") };
    let Some(Variant::Rrf(rrf)) = sent.query.as_ref().and_then(|q| q.variant.clone()) else { panic!("a weighted RRF fusion: {sent:?}") };
    assert_eq!((rrf.k, rrf.weights), (Some(61), FUSION_WEIGHTS.to_vec()), "the embedded index's fusion (1 / (60 + rank from 1)), computed by the server");
    assert_eq!(sent.limit, Some(5));
    let usings: Vec<Option<String>> = sent.prefetch.iter().map(|p| p.using.clone()).collect();
    assert_eq!(usings, [Some("dense".into()), Some("keywords".into())]);
    for prefetch in &sent.prefetch {
        assert_eq!(prefetch.limit, Some(50));
        let filter = format!("{:?}", prefetch.filter);
        for needle in ["\"channel_id\"", "Integers(RepeatedIntegers { integers: [1, 2] })", "gte: Some(1794000000.0)", "lt: Some(1796000000.0)", "\"economy\""] {
            assert!(filter.contains(needle), "{needle} missing from {filter}");
        }
    }

    let nobody = IndexQuery { filter: IndexFilter::default(), ..query };
    assert!(index.search(&nobody).await.unwrap().is_empty());
    assert!(server.take_calls().is_empty(), "no channels: no request at all");
}

#[tokio::test]
async fn count_reads_the_exact_count() {
    let (server, index) = connect().await;
    server.state().count = 12_345;
    assert_eq!(index.count().await.unwrap(), 12_345);
}

#[tokio::test]
async fn reindexing_drops_and_recreates_the_collection_under_its_name() {
    let (server, index) = connect().await;
    index.open_collection(&info()).await.unwrap();
    server.state().count = 3;
    index.count().await.unwrap();
    let next = CollectionInfo { model: "text-embedding-3-small".into(), dimension: 4 };
    index.recreate_collection(&next).await.unwrap();
    let calls = server.take_calls();
    assert!(calls.iter().any(|c| matches!(c, Call::Drop(name) if name == "posts")), "{calls:?}");
    assert!(calls.iter().all(|c| match c {
        Call::Exists(n) | Call::Info(n) | Call::Drop(n) | Call::Count(n) => n == "posts",
        _ => true,
    }));
    assert_eq!(server.state().metadata["model"], q::Value::from("text-embedding-3-small".to_owned()));
}
