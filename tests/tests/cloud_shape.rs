//! One user's way through the cloud shape on LocalStack, every function in play: Telegram's
//! webhook call → API Gateway stand-in → bot function → commands queue → session node (QR login,
//! channel, backfill) → posts queue → event-source bridge → indexer function → index; `/ask` →
//! jobs queue → worker function → the answer with citations; a live post found by the next
//! question; a redelivered update answered once. Only Telegram is recorded (fake Bot API,
//! recorded accounts and channels); SQS and DynamoDB are LocalStack's.

use serde_json::Value;
use siftgram_core::model::{Invite, InviteCode, Tier, UserId};
use siftgram_core::repo::LoginState;
use siftgram_core::{Clock, SystemClock};
use siftgram_fake_telegram::FakeTelegram;
use siftgram_session_node::config::TelegramSource;
use siftgram_session_node::{App, Backend, Config};
use siftgram_tests::TestSystem;
use siftgram_tests::bot::WEBHOOK_SECRET;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const READER: i64 = 970_001;
/// Far above what each step takes on a loaded 2-core machine (the backfill embeds 40 posts
/// with the local model; the session node looks for new sessions every 5 s).
const PATIENCE: Duration = Duration::from_secs(240);

async fn eventually<F: std::future::Future<Output = bool>>(what: &str, mut done: impl FnMut() -> F) {
    let deadline = Instant::now() + PATIENCE;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

mod localstack {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_user_signs_in_adds_a_channel_and_is_answered_through_every_function() {
        siftgram_models::install_tls_provider();
        let sys = TestSystem::localstack().await;
        let (sdk, table, prefix) = sys.aws_parts().unwrap();
        let telegram = FakeTelegram::start().await.unwrap();
        let world = siftgram_recorded_telegram::RecordedTelegram::new();
        let channel = world.add_numbered_channel(8_020, "rust_news", "Rust News", 40);
        world.add_account(READER, None);
        let data = tempfile::tempdir().unwrap();
        let env: HashMap<&str, String> = HashMap::from([
            ("SIFTGRAM_BACKEND", "aws".to_owned()),
            ("SIFTGRAM_TABLE", table.to_owned()),
            ("SIFTGRAM_RESOURCE_PREFIX", prefix.to_owned()),
            ("SIFTGRAM_DATA_DIR", data.path().display().to_string()),
            ("SIFTGRAM_HTTP_ADDR", "127.0.0.1:0".to_owned()),
            ("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN.to_owned()),
            ("TELEGRAM_API_URL", telegram.api_url()),
            ("SIFTGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
        ]);
        // Each function's variables, as Terraform sets them; the model's cache from this machine.
        let lookup = |k: &str| env.get(k).cloned().or_else(|| k.starts_with("SIFTGRAM_MODEL").then(|| std::env::var(k).ok()).flatten());

        // The session node on the cloud backend (its start applies the migrations, creating the
        // queues as `siftgram migrate` does); it sends with the bot's token but does not poll.
        let mut config = Config::from_lookup(lookup).expect("the node's configuration");
        config.telegram = Some(TelegramSource::Recorded(world.clone()));
        let node = App::start_on(config.clone(), Backend::connect_with(&config, sdk.clone()), |_, _| axum::Router::new()).await.unwrap();
        let functions = siftgram_devloop::runner::start(sdk, lookup, "127.0.0.1:0".parse().unwrap(), "127.0.0.1:0".parse().unwrap(), &data.path().join("index")).await.expect("every function builds");

        // Telegram delivering an update to the webhook.
        let http = reqwest::Client::new();
        let webhook = format!("{}/telegram", functions.gateway_url);
        let deliver = |update: Value| {
            let (http, webhook) = (http.clone(), webhook.clone());
            async move { http.post(webhook).header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET).json(&update).send().await.unwrap().status().as_u16() }
        };
        let reader = telegram.user(READER, "en");
        let repo = node.backend.repo.clone();
        let code = InviteCode::parse("CLOUDSHAPE01").unwrap();
        repo.create_invite(&Invite::new(code, UserId::new(1).unwrap(), SystemClock.now(), Tier::Trial, None, 1, None).unwrap()).await.unwrap();

        assert_eq!(deliver(reader.says("/start")).await, 200);
        assert!(telegram.bot_messages(READER)[0].text.contains("/login"), "answered in the webhook call");
        let login = reader.says("/login CLOUDSHAPE01");
        assert_eq!(deliver(login).await, 200);
        let user = UserId::new(READER).unwrap();
        let deadline = Instant::now() + PATIENCE;
        let url = loop {
            if let Some(LoginState::Waiting { url, .. }) = repo.login_state(user).await.unwrap() {
                break url;
            }
            assert!(Instant::now() < deadline, "no QR code: the session node did not take the login");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        world.scan(&url, READER);
        eventually("the sign-in", || async { telegram.bot_messages(READER).iter().any(|m| m.text.contains("Signed in")) }).await;

        // The channel: the session node backfills it to the posts queue; the bridge hands the
        // batches to the indexer function, whose progress the reply shows until it is all in.
        assert_eq!(deliver(reader.says("/add_channel @rust_news")).await, 200);
        eventually("the history loaded", || async { telegram.bot_messages(READER).iter().any(|m| m.text.contains("History loaded: 40 posts")) }).await;
        assert_eq!(repo.channel_stats(channel).await.unwrap().post_count, 40);
        let chunks = siftgram_core::ports::SearchIndex::count(&functions.index).await.unwrap();
        assert!(chunks >= 40, "every post in the index: {chunks} chunks");

        // A question: the bot queues a job; the bridge hands it to the worker function.
        let ask = |question: &'static str| {
            let (telegram, deliver) = (&telegram, &deliver);
            let update = reader.says(question);
            async move {
                let before = telegram.bot_messages(READER).len();
                assert_eq!(deliver(update.clone()).await, 200);
                eventually("the answer", || async {
                    let messages = telegram.bot_messages(READER);
                    messages.len() > before && messages.last().is_some_and(|m| !m.text.starts_with('⏳'))
                })
                .await;
                (update, telegram.bot_messages(READER).pop().unwrap())
            }
        };
        let (asked, answer) = ask("/ask пост номер 7").await;
        assert!(answer.html.as_deref().is_some_and(|h| h.contains("https://t.me/rust_news/")), "cited: {answer:?}");

        // Telegram redelivers the update (its webhook call timed out): nothing is answered twice.
        let answers = telegram.bot_messages(READER).len();
        assert_eq!(deliver(asked).await, 200);
        let (_, help) = ask("/help").await;
        assert!(help.text.contains("Commands"));
        assert_eq!(telegram.bot_messages(READER).len(), answers + 1, "only /help was answered");

        // SQS delivers a posts-queue message again (at least once): the indexer function takes
        // it, and nothing changes.
        let posts = sys.queue(siftgram_core::schema::queue_spec("posts").unwrap()).await;
        let seventh = repo.get_post(siftgram_core::model::PostKey::new(channel, 7).unwrap()).await.unwrap().unwrap();
        let again = siftgram_core::messages::PostMessage::Publish { post: seventh.clone() };
        posts.send(siftgram_core::ports::OutgoingMessage::new(serde_json::to_string(&again).unwrap())).await.unwrap();
        eventually("the redelivery taken", || async { posts.approximate_len().await.unwrap() == 0 }).await;
        assert_eq!(repo.channel_stats(channel).await.unwrap().post_count, 40, "not stored twice");
        assert_eq!(siftgram_core::ports::SearchIndex::count(&functions.index).await.unwrap(), chunks, "not indexed twice");

        // A post published now reaches the index through the same path and the next question.
        let live = world.post(channel, "Rust News: the compiler team ships a borrow checker that explains itself.");
        eventually("the live post indexed", || async { repo.get_post(siftgram_core::model::PostKey::new(channel, live).unwrap()).await.unwrap().is_some_and(|p| p.indexed) }).await;
        let (_, answer) = ask("/ask borrow checker that explains itself").await;
        assert!(answer.html.as_deref().is_some_and(|h| h.contains(&format!("https://t.me/rust_news/{live}"))), "the live post is cited: {answer:?}");

        // A message the indexer cannot take: failed at every receive, it reaches the posts queue's
        // dead letters after the declared receives (five), not before. The visibility of this
        // test's own queue is cut to 1 s so the five receives take seconds rather than minutes.
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let posts_url = siftgram_aws::SqsQueue::open(&sqs, prefix, siftgram_core::schema::queue_spec("posts").unwrap()).await.unwrap().url().to_owned();
        sqs.set_queue_attributes().queue_url(posts_url).attributes(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout, "1").send().await.unwrap();
        posts.send(siftgram_core::ports::OutgoingMessage::new("{\"not\": \"a posts message\"}")).await.unwrap();
        let dead = sys.dead_letters(&siftgram_core::schema::queue_spec("posts").unwrap()).await;
        let deadline = Instant::now() + PATIENCE;
        let buried = loop {
            if let Some(message) = dead.receive(1, Duration::from_secs(1)).await.unwrap().pop() {
                break message;
            }
            assert!(Instant::now() < deadline, "the poison message never reached the dead letters");
        };
        assert_eq!(buried.body, "{\"not\": \"a posts message\"}");
        let declared = siftgram_core::schema::queue_spec("posts").unwrap().max_receives;
        assert!(buried.receive_count > declared, "received {} times (this read included); declared {declared}", buried.receive_count);
        assert_eq!(repo.channel_stats(channel).await.unwrap().post_count, 40 + 1, "nothing stored from it");

        functions.shutdown().await;
        node.shutdown(Duration::from_secs(10)).await;
        sys.cleanup().await;
    }
}
