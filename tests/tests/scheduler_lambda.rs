//! The scheduler Lambda with an EventBridge scheduled event: retention removes old posts from
//! LocalStack's DynamoDB and from the index (embedded here: no Qdrant server can run in CI).

use siftgram_core::Clock;
use siftgram_core::messages::{Job, JobRequest};
use siftgram_core::model::{Channel, ChannelId, DigestFrequency, Language, MediaKind, Post, PostKey, Tier, User, UserId};
use siftgram_core::ports::{ChunkPayload, CollectionInfo, IndexedChunk, SearchIndex, SparseVector};
use siftgram_core::Timestamp;
use siftgram_search::EmbeddedIndex;
use siftgram_tests::TestSystem;
use std::sync::Arc;

async fn scheduler(sys: &TestSystem, index: &EmbeddedIndex) -> siftgram_fn_scheduler::Scheduler {
    sys.queue(siftgram_core::schema::queue_spec("jobs").unwrap()).await;
    let (sdk, table, prefix) = sys.aws_parts().unwrap();
    siftgram_fn_scheduler::build_with(sdk, table, prefix, sys.clock.clone(), Arc::new(index.clone()), sys.repo.catalog().clone()).await.unwrap()
}

mod localstack {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_scheduled_event_applies_retention_to_the_store_and_the_index() {
        let sys = TestSystem::localstack().await;
        let dir = tempfile::tempdir().unwrap();
        let index = EmbeddedIndex::open_dir(dir.path()).unwrap();
        index.open_collection(&CollectionInfo { model: "m".into(), dimension: 1 }).await.unwrap();
        let scheduler = scheduler(&sys, &index).await;

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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tick_enqueues_the_digests_that_are_due_once() {
        let sys = TestSystem::localstack().await;
        let dir = tempfile::tempdir().unwrap();
        let index = EmbeddedIndex::open_dir(dir.path()).unwrap();
        let scheduler = scheduler(&sys, &index).await;
        // Monday 2026-11-23, 08:55 UTC; Lena's weekly digest is Mondays 12:00 in Moscow (09:00 UTC).
        let monday = Timestamp::from_utc_date(2026, 11, 23);
        sys.clock.set(monday.plus_secs(8 * 3600 + 55 * 60));
        let lena = UserId::new(401).unwrap();
        sys.repo.create_user(&User::new(lena, "Лена", Language::En, sys.clock.now()).unwrap()).await.unwrap();
        sys.repo.update_user(lena, |u| {
            // A member (signed in with an invite): only members get digests.
            u.tier = Tier::Premium;
            u.invite_code = Some(siftgram_core::model::InviteCode::parse("LENA00000401").unwrap());
            Ok(())
        })
        .await
        .unwrap();
        let mut settings = sys.repo.digest_settings(lena).await.unwrap();
        (settings.enabled, settings.frequency, settings.weekdays, settings.minute_of_day) = (true, DigestFrequency::Weekly, vec![1], 12 * 60);
        sys.repo.save_digest_settings(&settings).await.unwrap();
        let tick = serde_json::json!({"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});

        assert_eq!(siftgram_fn_scheduler::handle(&scheduler, tick.clone()).await.unwrap()["digests_enqueued"], 0);
        sys.clock.set(monday.plus_secs(9 * 3600 + 60));
        assert_eq!(siftgram_fn_scheduler::handle(&scheduler, tick.clone()).await.unwrap()["digests_enqueued"], 1);
        assert_eq!(siftgram_fn_scheduler::handle(&scheduler, tick).await.unwrap()["digests_enqueued"], 0, "once");
        let got = scheduler.jobs.receive(10, std::time::Duration::from_secs(1)).await.unwrap();
        assert_eq!(got.len(), 1);
        let job: Job = serde_json::from_str(&got[0].body).unwrap();
        assert_eq!(job.request, JobRequest::ScheduledDigest { due: monday.plus_secs(9 * 3600) });
        assert_eq!((job.reply.chat_id, job.reply.message_id, job.reply.language), (401, None, Language::En));
        assert_eq!(sys.repo.digest_settings(lena).await.unwrap().next_due, Some(monday.plus_days(7).plus_secs(9 * 3600)), "next Monday");
        sys.cleanup().await;
    }
}
