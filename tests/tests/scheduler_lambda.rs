//! The scheduler Lambda with an EventBridge scheduled event: retention removes old posts from
//! LocalStack's DynamoDB and from the index (embedded here: no Qdrant server can run in CI).

use siftgram_core::Clock;
use siftgram_core::model::{Channel, ChannelId, Language, MediaKind, Post, PostKey};
use siftgram_core::ports::{ChunkPayload, CollectionInfo, IndexedChunk, SearchIndex, SparseVector};
use siftgram_core::Timestamp;
use siftgram_search::EmbeddedIndex;
use siftgram_tests::TestSystem;
use std::sync::Arc;

mod localstack {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_scheduled_event_applies_retention_to_the_store_and_the_index() {
        let sys = TestSystem::localstack().await;
        let (sdk, table, _) = sys.aws_parts().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let index = EmbeddedIndex::open_dir(dir.path()).unwrap();
        index.open_collection(&CollectionInfo { model: "m".into(), dimension: 1 }).await.unwrap();
        let scheduler = siftgram_fn_scheduler::build_with(sdk, table, sys.clock.clone(), Arc::new(index.clone()));

        let channel = ChannelId::new(4001).unwrap();
        let mut ch = Channel::new(channel, None, "Архив").unwrap();
        ch.retention_days = Some(7);
        sys.repo.save_channel(&ch).await.unwrap();
        let now = sys.clock.now();
        for (m, days) in [(1, 30), (2, 1)] {
            let date = Timestamp(now.0 - days * 86_400);
            let key = PostKey::new(channel, m).unwrap();
            sys.repo.insert_post(&Post::new(key, None, "текст", date, MediaKind::None).unwrap()).await.unwrap();
            let payload = ChunkPayload { date, tags: vec![], language: Language::Ru };
            index.upsert_post(key, vec![IndexedChunk { post: key, chunk: 0, dense: vec![1.0], sparse: SparseVector::default(), payload }]).await.unwrap();
        }
        let event = serde_json::json!({
            "version": "0", "id": "e1", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "000000000000", "time": "2026-11-21T00:05:00Z", "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:000000000000:rule/siftgram-retention"], "detail": {"task": "retention"}
        });
        let report = siftgram_fn_scheduler::handle(&scheduler, event.clone()).await.unwrap();
        assert_eq!(report["retention_removed"], 1);
        assert!(sys.repo.get_post(PostKey::new(channel, 1).unwrap()).await.unwrap().is_none());
        assert!(sys.repo.get_post(PostKey::new(channel, 2).unwrap()).await.unwrap().is_some());
        assert_eq!(index.count().await.unwrap(), 1);
        assert_eq!(siftgram_fn_scheduler::handle(&scheduler, event).await.unwrap()["retention_removed"], 0, "a second tick is harmless");
        sys.cleanup().await;
    }
}
