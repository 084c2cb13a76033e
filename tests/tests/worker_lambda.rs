//! The worker Lambda with real SQS events from LocalStack: a job from the jobs queue (the bot
//! put it there) answered through the fake Bot API with a fake chat provider, and the events
//! queue's records delivered to a webhook receiver — one function, two event sources.

use siftgram_core::Clock;
use siftgram_core::messages::PostMessage;
use siftgram_core::model::Tier;
use siftgram_core::ports::OutgoingMessage;
use siftgram_core::schema::queue_spec;
use siftgram_fake_openai::{API_KEY, FakeOpenAi};
use siftgram_fake_web::WebhookReceiver;
use siftgram_tests::TestSystem;
use siftgram_tests::lambda::sqs_records;
use siftgram_tests::bot::TestBot;
use siftgram_tests::search::TestSearch;
use std::collections::HashMap;
use std::sync::Arc;

mod localstack {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_are_answered_and_events_become_webhooks_in_one_function() {
        siftgram_models::install_tls_provider();
        let sys = TestSystem::localstack().await;
        let bot = TestBot::start(&sys).await;
        let search = TestSearch::start(&sys).await;
        let provider = FakeOpenAi::start(8).await.unwrap();
        let receiver = WebhookReceiver::start().await.unwrap();
        let (sdk, table, prefix) = sys.aws_parts().unwrap();
        let env = HashMap::from([
            ("SIFTGRAM_TABLE", table.to_owned()),
            ("SIFTGRAM_RESOURCE_PREFIX", prefix.to_owned()),
            ("TELEGRAM_BOT_TOKEN", siftgram_fake_telegram::FakeTelegram::TOKEN.to_owned()),
            ("TELEGRAM_API_URL", bot.telegram.api_url()),
            ("SIFTGRAM_CHAT_1_URL", provider.url().to_owned()),
            ("SIFTGRAM_CHAT_1_MODEL", "gigachat".to_owned()),
            ("SIFTGRAM_CHAT_1_API_KEY", API_KEY.to_owned()),
            ("SIFTGRAM_WEBHOOK_URLS", receiver.url().to_owned()),
            ("SIFTGRAM_WEBHOOK_SECRET_KEY", "lambda-webhook-key-0123456789".to_owned()),
        ]);
        let config = siftgram_fn_worker::Config::from_lookup(|k| env.get(k).cloned()).unwrap();
        let services = siftgram_fn_worker::build_with(config, sdk, Arc::new(search.index.clone())).await.expect("the function builds");

        let anna = bot.member(301, Tier::Basic).await;
        let channel = bot.follows(&anna, 7001, "rocket_news", "Космос").await;
        let post = search.post(channel, 1, "Запуск ракеты перенесли на пятницу из-за погоды.", 0, sys.clock.now());
        search.publish(&PostMessage::Publish { post }).await;
        assert_eq!(search.index_all().await, 1);
        provider.answer_next("Запуск перенесли на пятницу [1].");
        let waiting = bot.says(&anna, "/ask когда запуск ракеты?").await;
        let jobs = sys.queue(queue_spec("jobs").unwrap()).await;
        jobs.send(OutgoingMessage::new("{\"not\": \"a job\"}")).await.unwrap();

        let mut all = sqs_records(sdk, prefix, "jobs", 2).await;
        all.extend(sqs_records(sdk, prefix, "events", 1).await);
        assert_eq!(all.len(), 3, "two jobs-queue records and the post's event");
        let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(serde_json::json!({"Records": all})).unwrap();
        let response = siftgram_fn_worker::handle(&services, event.clone()).await;
        assert!(response.batch_item_failures.is_empty(), "a malformed job is dropped, not retried: {:?}", response.batch_item_failures);

        // The job came from an update, under its trace id (an SQS message attribute, which the
        // function hands its handler as the message's trace).
        let trace_of = |record: &serde_json::Value| record["messageAttributes"]["trace_id"]["stringValue"].as_str().map(str::to_owned);
        let job_trace = all.iter().filter(|r| r["body"].as_str().unwrap_or("").contains("когда запуск")).find_map(trace_of).expect("the job carries its update's trace");
        assert!(job_trace.starts_with("tg"), "{job_trace}");
        assert_eq!(all.iter().filter(|r| r["body"].as_str().unwrap_or("").contains("not")).find_map(trace_of), None, "a message sent outside any trace has none");

        let answered = bot.telegram.chat(anna.id).into_iter().find(|m| m.message_id == waiting.message_id).unwrap();
        assert!(answered.edited && answered.text.contains("Запуск перенесли на пятницу [1]."), "{}", answered.text);
        let names: Vec<String> = receiver.deliveries().iter().map(|d| d.json()["event"].as_str().unwrap().to_owned()).collect();
        assert!(names.contains(&"new_post".to_owned()) && names.contains(&"post_indexed".to_owned()), "{names:?}");

        // The whole batch again (a timed-out invocation): nothing is said or sent twice.
        let (edits, deliveries) = (bot.telegram.calls_to("editMessageText").len(), receiver.deliveries().len());
        let again = siftgram_fn_worker::handle(&services, event).await;
        assert!(again.batch_item_failures.is_empty());
        assert_eq!(bot.telegram.calls_to("editMessageText").len(), edits);
        assert_eq!(receiver.deliveries().len(), deliveries);
        sys.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_index_built_by_another_embedding_model_stops_the_cold_start_with_the_reason() {
        let sys = TestSystem::localstack().await;
        sys.queue(queue_spec("events").unwrap()).await;
        let (sdk, table, prefix) = sys.aws_parts().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let index = siftgram_search::EmbeddedIndex::open_dir(dir.path()).unwrap();
        let other = siftgram_core::ports::CollectionInfo { model: "text-embedding-3-small".into(), dimension: 1536 };
        siftgram_core::ports::SearchIndex::open_collection(&index, &other).await.unwrap();
        let env = HashMap::from([
            ("SIFTGRAM_TABLE", table.to_owned()),
            ("SIFTGRAM_RESOURCE_PREFIX", prefix.to_owned()),
            ("TELEGRAM_BOT_TOKEN", siftgram_fake_telegram::FakeTelegram::TOKEN.to_owned()),
        ]);
        let config = siftgram_fn_worker::Config::from_lookup(|k| env.get(k).cloned()).unwrap();
        let refused = siftgram_fn_worker::build_with(config, sdk, Arc::new(index)).await.err().expect("questions embedded by another model than the index's are refused");
        assert!(refused.to_string().contains("text-embedding-3-small") && refused.to_string().contains("reindex"), "{refused}");
        sys.cleanup().await;
    }
}
