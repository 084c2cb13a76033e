//! The dev loop's stand-ins on LocalStack: the event-source bridge invokes a function with SQS
//! events as the mapping declares (batch size, partial batch failures, redelivery, the queue's
//! own dead-lettering), and refuses a mapping to a queue that does not exist; the API Gateway
//! stand-in turns HTTP into REST proxy events for the bot function and answers unknown routes as
//! API Gateway does. (The cold-start tool's own test lives beside the binary it starts:
//! functions/bot/tests/lambda_start.rs.)

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use siftgram_core::ports::{OutgoingMessage, QueueSpec};
use siftgram_core::schema::QueueTrigger;
use siftgram_devloop::{ApiGateway, EventSourceBridge, HttpFunction, PollReport, SqsFunction};
use siftgram_tests::TestSystem;
use siftgram_tests::bot::WEBHOOK_SECRET;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Fails every record whose body is "fail", and the whole invocation for "crash".
#[derive(Default)]
struct Recorder {
    batches: Mutex<Vec<Vec<(String, u32, Option<String>)>>>,
}

#[async_trait]
impl SqsFunction for Recorder {
    async fn invoke(&self, event: SqsEvent) -> Result<SqsBatchResponse, String> {
        let batch: Vec<(String, u32, Option<String>)> = event
            .records
            .iter()
            .map(|r| {
                let count = r.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(0);
                let trace = r.message_attributes.get("trace_id").and_then(|a| a.string_value.clone());
                (r.body.clone().unwrap_or_default(), count, trace)
            })
            .collect();
        self.batches.lock().unwrap().push(batch.clone());
        if batch.iter().any(|(body, ..)| body == "crash") {
            return Err("the function panicked".into());
        }
        let mut response = SqsBatchResponse::default();
        for r in event.records.iter().filter(|r| r.body.as_deref() == Some("fail")) {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = r.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
        Ok(response)
    }
}

mod localstack {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_bridge_invokes_as_the_mapping_declares_and_failures_reach_the_dead_letters() {
        let sys = TestSystem::localstack().await;
        let (sdk, _, prefix) = sys.aws_parts().unwrap();
        // The shipped "jobs" queue's name, with a short visibility so redeliveries come quickly.
        let spec = QueueSpec::standard("jobs").visibility(Duration::from_secs(1)).max_receives(2);
        let queue = sys.queue(spec.clone()).await;
        let dead = sys.dead_letters(&spec).await;
        let bridge = EventSourceBridge::new(sdk, prefix);
        let mapping = bridge.mapping("worker", &QueueTrigger { queue: "jobs".into(), batch_size: 2, batching_window_secs: 0 }).await.unwrap();
        assert!(mapping.queue_arn.ends_with(&format!("{prefix}jobs")), "{}", mapping.queue_arn);

        siftgram_core::trace::traced(Some(siftgram_core::trace::TraceId::for_update(31)), async {
            queue.send_batch(["ok-1", "fail", "ok-2", "crash"].map(OutgoingMessage::new).to_vec()).await
        })
        .await
        .unwrap();
        let recorder = Recorder::default();
        let mut total = PollReport::default();
        let deadline = Instant::now() + Duration::from_secs(60);
        // Until everything was either done or dead-lettered.
        while dead.approximate_len().await.unwrap() < 2 || total.deleted < 2 {
            assert!(Instant::now() < deadline, "not settled: {total:?}, {:?}", recorder.batches.lock().unwrap());
            let report = bridge.poll_once(&mapping, &recorder, Duration::from_secs(1)).await.unwrap();
            total.received += report.received;
            total.deleted += report.deleted;
            total.failed += report.failed;
        }
        let batches = recorder.batches.lock().unwrap().clone();
        assert!(batches.iter().all(|b| !b.is_empty() && b.len() <= 2), "never more than the batch size: {batches:?}");
        assert!(batches.iter().flatten().all(|(_, _, trace)| trace.as_deref() == Some("tg31")), "the sender's trace in every record");
        let deliveries = |body: &str| batches.iter().flatten().filter(|(b, ..)| b == body).map(|(_, count, _)| *count).collect::<Vec<_>>();
        assert_eq!(deliveries("fail"), [1, 2], "a failed record comes back, counted");
        assert_eq!(deliveries("crash"), [1, 2], "a failed invocation leaves its whole batch");
        assert!(!deliveries("ok-1").is_empty() && !deliveries("ok-2").is_empty());
        let mut buried: Vec<String> = Vec::new();
        while buried.len() < 2 {
            buried.extend(dead.receive(10, Duration::from_secs(1)).await.unwrap().into_iter().map(|m| m.body));
        }
        buried.sort();
        assert_eq!(buried, ["crash", "fail"], "after the queue's declared receives");
        assert_eq!(queue.approximate_len().await.unwrap(), 0);
        sys.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_mapping_to_a_queue_that_does_not_exist_is_refused_by_name() {
        let sys = TestSystem::localstack().await;
        let (sdk, _, prefix) = sys.aws_parts().unwrap();
        let bridge = EventSourceBridge::new(sdk, prefix);
        let unknown = bridge.mapping("worker", &QueueTrigger { queue: "nope".into(), batch_size: 1, batching_window_secs: 0 }).await.unwrap_err().to_string();
        assert!(unknown.contains("worker") && unknown.contains("\"nope\"") && unknown.contains("not in the schema"), "{unknown}");
        // In the schema, but not created in this namespace.
        let missing = bridge.mapping("indexer", &QueueTrigger { queue: "posts".into(), batch_size: 10, batching_window_secs: 1 }).await.unwrap_err().to_string();
        assert!(missing.contains("\"posts\"") && missing.contains("siftgram migrate"), "{missing}");
        sys.cleanup().await;
    }

    struct Bot(siftgram_bot::BotService);

    #[async_trait]
    impl HttpFunction for Bot {
        async fn call(&self, request: lambda_http::Request) -> Result<lambda_http::Response<lambda_http::Body>, String> {
            siftgram_fn_bot::handle(&self.0, request).await.map_err(|e| e.to_string())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_gateway_stand_in_hands_the_bot_function_rest_events_and_refuses_other_paths() {
        siftgram_models::install_tls_provider();
        let siftgram_tests::lambda::bot::Lambda { sys, telegram, service } = siftgram_tests::lambda::bot::deploy().await;
        let anna = telegram.user(612, "en");
        let update = anna.says("/help").to_string();
        let bot = Arc::new(Bot(service));
        let refused = ApiGateway::from_manifest("prod", &[("bot", bot.clone())]).err().unwrap_or_default();
        assert!(refused.contains("\"api\""), "every routed function must be given: {refused}");
        struct NoApi;
        #[async_trait]
        impl HttpFunction for NoApi {
            async fn call(&self, _: lambda_http::Request) -> Result<lambda_http::Response<lambda_http::Body>, String> {
                Err("not deployed in this test".into())
            }
        }
        let gateway = ApiGateway::from_manifest("prod", &[("bot", bot.clone()), ("api", Arc::new(NoApi))]).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, gateway.router().into_make_service_with_connect_info::<std::net::SocketAddr>()).await });

        let http = reqwest::Client::new();
        let answered = http.post(format!("{url}/telegram")).header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET).header("content-type", "application/json").body(update).send().await.unwrap();
        assert_eq!(answered.status(), 200);
        assert!(telegram.bot_messages(612).pop().expect("a reply").text.contains("Commands"));
        let forged = http.post(format!("{url}/telegram")).header("X-Telegram-Bot-Api-Secret-Token", "forged-secret-forged").body("{}").send().await.unwrap();
        assert_eq!(forged.status(), 403, "the function's own refusal comes back");
        for (method, path) in [("GET", "/telegram"), ("POST", "/nowhere"), ("GET", "/api/")] {
            let response = http.request(method.parse().unwrap(), format!("{url}{path}")).send().await.unwrap();
            assert_eq!(response.status(), 403, "{method} {path}");
            assert_eq!(response.json::<serde_json::Value>().await.unwrap()["message"], "Missing Authentication Token");
        }
        let failing = http.get(format!("{url}/api/me")).send().await.unwrap();
        assert_eq!(failing.status(), 502, "a failed integration");
        sys.cleanup().await;
    }
}
