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

    /// The function as deployed over this test's table and queues, on an embedded index.
    async fn deploy(sys: &TestSystem) -> (siftgram_core::indexing::Indexer, EmbeddedIndex, tempfile::TempDir) {
        let (sdk, table, prefix) = sys.aws_parts().unwrap();
        let env = HashMap::from([("SIFTGRAM_TABLE", table.to_owned()), ("SIFTGRAM_RESOURCE_PREFIX", prefix.to_owned())]);
        let config = siftgram_fn_indexer::Config::from_lookup(|k| env.get(k).cloned()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let index = EmbeddedIndex::open_dir(dir.path()).unwrap();
        let indexer = siftgram_fn_indexer::build_with(&config, sdk, Arc::new(index.clone())).await.expect("the function builds");
        (indexer, index, dir)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_indexes_good_posts_and_reports_only_the_bad_ones() {
        let sys = TestSystem::localstack().await;
        let posts = sys.queue(queue_spec("posts").unwrap()).await;
        sys.queue(queue_spec("events").unwrap()).await;
        let (indexer, index, _dir) = deploy(&sys).await;
        let (sdk, _, prefix) = sys.aws_parts().unwrap();

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

    /// SQS events from anywhere (issue 17 item 3): records with missing ids, bodies that are
    /// not posts messages, damaged ones, posts of channels nobody added, garbage attributes.
    /// Whatever deserializes is handled without a panic, every such record is reported failed
    /// (so SQS retries and then dead-letters it), and nothing is stored or indexed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hostile_sqs_events_fail_by_record_and_write_nothing() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let sys = TestSystem::localstack().await;
        sys.queue(queue_spec("events").unwrap()).await;
        let (indexer, index, _dir) = deploy(&sys).await;
        let stranger = ChannelId::new(9999).unwrap();
        let valid = serde_json::to_string(&PostMessage::Publish {
            post: Post::new(PostKey::new(stranger, 1).unwrap(), None, "Пост канала, которого никто не добавил.", sys.clock.now(), MediaKind::None).unwrap(),
        })
        .unwrap();
        let body = prop_oneof![
            "\\PC{0,80}".prop_map(serde_json::Value::from),
            Just(serde_json::Value::from(valid.clone())),
            (any::<usize>(), any::<char>()).prop_map(move |(at, c)| serde_json::Value::from(siftgram_tests::damaged(&valid, at, 2, c))),
            any::<i64>().prop_map(serde_json::Value::from),
        ];
        let record = (proptest::option::of("[a-z0-9-]{1,36}"), body, proptest::option::of("\\PC{0,20}")).prop_map(|(id, body, trace)| {
            let mut r = serde_json::json!({"eventSource": "aws:sqs", "body": body, "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}});
            if let Some(id) = id {
                r["messageId"] = id.into();
            }
            if let Some(trace) = trace {
                r["messageAttributes"]["trace_id"] = serde_json::json!({"stringValue": trace, "dataType": "String"});
            }
            r
        });
        let runtime = tokio::runtime::Handle::current();
        let mut runner = TestRunner::new_with_rng(Config { cases: 120, failure_persistence: None, ..Config::default() }, proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha));
        let (handled, refused) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
        runner
            .run(&proptest::collection::vec(record, 0..6), |records| {
                let Ok(event) = serde_json::from_value::<aws_lambda_events::event::sqs::SqsEvent>(serde_json::json!({"Records": records})) else {
                    refused.set(refused.get() + 1);
                    return Ok(());
                };
                handled.set(handled.get() + 1);
                let with_ids = event.records.iter().filter(|r| r.message_id.is_some()).count();
                let response = tokio::task::block_in_place(|| runtime.block_on(siftgram_fn_indexer::handle(&indexer, event)));
                prop_assert_eq!(response.batch_item_failures.len(), records.len(), "every record fails");
                prop_assert!(with_ids <= response.batch_item_failures.len());
                Ok(())
            })
            .unwrap();
        let (handled, refused) = (handled.get(), refused.get());
        eprintln!("hostile SQS events: {handled} handled, {refused} refused by the event's own shape");
        assert!(handled > 30, "many generated events are well-formed SQS events: {handled}");
        assert_eq!(index.count().await.unwrap(), 0, "nothing indexed");
        assert!(sys.repo.get_post(PostKey::new(stranger, 1).unwrap()).await.unwrap().is_none(), "nothing stored");
        sys.cleanup().await;
    }
}
