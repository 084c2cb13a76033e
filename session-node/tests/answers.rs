//! Standalone mode answers: the node's own worker consumes the embedded jobs queue the polling
//! bot fills, and its webhook dispatcher delivers the indexer's events — one process.

use siftgram_core::messages::PostMessage;
use siftgram_core::model::{Channel, ChannelId, MediaKind, Post, PostKey, UserId, Username};
use siftgram_core::ports::OutgoingMessage;
use siftgram_core::schema::queue_spec;
use siftgram_fake_telegram::FakeTelegram;
use siftgram_fake_web::WebhookReceiver;
use siftgram_session_node::{App, Config};
use std::collections::HashMap;
use std::time::{Duration, Instant};

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standalone_node_answers_questions_and_calls_webhooks() {
    let telegram = FakeTelegram::start().await.unwrap();
    let receiver = WebhookReceiver::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let vars: HashMap<&str, String> = HashMap::from([
        ("SIFTGRAM_DATA_DIR", data.path().display().to_string()),
        ("SIFTGRAM_HTTP_ADDR", "127.0.0.1:0".into()),
        ("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN.into()),
        ("TELEGRAM_API_URL", telegram.api_url()),
        ("SIFTGRAM_ADMIN_IDS", "801".into()),
        ("SIFTGRAM_WEBHOOK_URLS", receiver.url().to_owned()),
        ("SIFTGRAM_WEBHOOK_SECRET_KEY", "standalone-webhook-key-0123".into()),
    ]);
    let app = App::start(Config::from_lookup(|k| vars.get(k).cloned()).expect("valid config")).await.unwrap();
    let repo = app.backend.repo.clone();

    // The admin (access without an invite) follows a channel the session node has synced.
    let admin = telegram.user(801, "en");
    telegram.push_update(admin.says("/start"));
    wait_for("the welcome", || !telegram.bot_messages(801).is_empty()).await;
    let channel = ChannelId::new(9001).unwrap();
    let username = Username::parse("launch_news").unwrap();
    repo.save_channel(&Channel::new(channel, Some(username.clone()), "Launches").unwrap()).await.unwrap();
    repo.subscribe(UserId::new(801).unwrap(), channel).await.unwrap();
    let key = PostKey::new(channel, 1).unwrap();
    let post = Post::new(key, Some(&username), "The rocket launch moved to Friday because of the weather.", repo.clock().now(), MediaKind::None).unwrap();
    let posts = app.backend.queue(queue_spec("posts").unwrap()).await.unwrap();
    posts.send(OutgoingMessage::new(serde_json::to_string(&PostMessage::Publish { post }).unwrap())).await.unwrap();
    let mut indexed = false;
    for _ in 0..300 {
        indexed = repo.get_post(key).await.unwrap().is_some_and(|p| p.indexed);
        if indexed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(indexed, "the node's indexer took the post");

    telegram.push_update(admin.says("/ask when is the rocket launch?"));
    wait_for("the answer", || telegram.bot_messages(801).iter().any(|m| m.edited && m.text.contains("Sources"))).await;
    let answer = telegram.bot_messages(801).into_iter().find(|m| m.edited).unwrap();
    assert!(answer.text.contains("The rocket launch moved to Friday because of the weather. [1]"), "{}", answer.text);
    wait_for("the webhook", || receiver.deliveries().iter().any(|d| d.json()["event"] == "new_post")).await;
    app.shutdown(Duration::from_secs(10)).await;
}
