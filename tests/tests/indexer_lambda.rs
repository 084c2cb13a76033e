//! The indexer Lambda with a real SQS event: messages sent to LocalStack's posts queue, received
//! back from SQS, turned into the event the Lambda service would deliver, handled by the
//! function's own `handle` over LocalStack's DynamoDB (the index is the embedded one: no Qdrant
//! server can run here; the Qdrant adapter has its own recorded-exchange tests).

use siftgram_core::Clock;
use siftgram_core::messages::PostMessage;
use siftgram_core::model::{Channel, ChannelId, MediaKind, Post, PostKey};
use siftgram_core::ports::{OutgoingMessage, SearchIndex};
use siftgram_core::schema::queue_spec;
use siftgram_search::EmbeddedIndex;
use siftgram_tests::TestSystem;
use siftgram_tests::lambda::sqs_records;
use std::collections::HashMap;
use std::sync::Arc;

mod localstack {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_indexes_good_posts_and_reports_only_the_bad_ones() {
        let sys = TestSystem::localstack().await;
        let posts = sys.queue(queue_spec("posts").unwrap()).await;
        sys.queue(queue_spec("events").unwrap()).await;
        let (sdk, table, prefix) = sys.aws_parts().unwrap();
        let env = HashMap::from([("SIFTGRAM_TABLE", table.to_owned()), ("SIFTGRAM_RESOURCE_PREFIX", prefix.to_owned())]);
        let config = siftgram_fn_indexer::Config::from_lookup(|k| env.get(k).cloned()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let index = EmbeddedIndex::open_dir(dir.path()).unwrap();
        let indexer = siftgram_fn_indexer::build_with(&config, sdk, Arc::new(index.clone())).await.expect("the function builds");

        let channel = ChannelId::new(3001).unwrap();
        sys.repo.save_channel(&Channel::new(channel, None, "Новости").unwrap()).await.unwrap();
        let post = |c: ChannelId, m| Post::new(PostKey::new(c, m).unwrap(), None, "ЦБ повысил ключевую ставку.", sys.clock.now(), MediaKind::None).unwrap();
        let good = serde_json::to_string(&PostMessage::Publish { post: post(channel, 1) }).unwrap();
        let stranger = serde_json::to_string(&PostMessage::Publish { post: post(ChannelId::new(9999).unwrap(), 1) }).unwrap();
        for body in [good.as_str(), "{\"type\": \"publish\"", stranger.as_str()] {
            posts.send(OutgoingMessage::new(body)).await.unwrap();
        }

        // What the Lambda service would hand the function: the messages as SQS returns them.
        let records = sqs_records(sdk, prefix, "posts", 3).await;
        let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(serde_json::json!({"Records": records})).unwrap();
        let ids: HashMap<String, String> = event.records.iter().map(|r| (r.body.clone().unwrap(), r.message_id.clone().unwrap())).collect();

        let response = siftgram_fn_indexer::handle(&indexer, event.clone()).await;
        let mut failed: Vec<String> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
        failed.sort();
        let mut expected = vec![ids["{\"type\": \"publish\""].clone(), ids[&stranger].clone()];
        expected.sort();
        assert_eq!(failed, expected, "only the malformed and the unknown-channel messages fail");
        assert!(sys.repo.get_post(PostKey::new(channel, 1).unwrap()).await.unwrap().unwrap().indexed);
        assert_eq!(index.count().await.unwrap(), 1);

        // Redelivered whole (e.g. the function timed out): nothing changes, the same two fail.
        let again = siftgram_fn_indexer::handle(&indexer, event).await;
        assert_eq!(again.batch_item_failures.len(), 2);
        assert_eq!(index.count().await.unwrap(), 1);
        assert_eq!(sys.repo.channel_stats(channel).await.unwrap().post_count, 1);
        sys.cleanup().await;
    }
}
