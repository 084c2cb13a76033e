//! `/metrics` scraped during a story on the standalone node: the counters moved by exactly
//! what the story did. (Its own test binary: the recorder is per process.)

use siftgram_core::messages::PostMessage;
use siftgram_core::model::{Channel, ChannelId, MediaKind, Post, PostKey, UserId, Username};
use siftgram_core::ports::OutgoingMessage;
use siftgram_core::schema::queue_spec;
use siftgram_fake_telegram::FakeTelegram;
use siftgram_session_node::{App, Config};
use std::collections::HashMap;
use std::time::{Duration, Instant};

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The value of `name{labels…}` in Prometheus text (0 when the series is absent).
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| labels.iter().all(|(k, v)| l.contains(&format!("{k}=\"{v}\""))))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counters_move_by_exactly_what_a_story_did() {
    siftgram_models::install_tls_provider();
    let telegram = FakeTelegram::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let vars: HashMap<&str, String> = HashMap::from([
        ("SIFTGRAM_DATA_DIR", data.path().display().to_string()),
        ("SIFTGRAM_HTTP_ADDR", "127.0.0.1:0".into()),
        ("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN.into()),
        ("TELEGRAM_API_URL", telegram.api_url()),
        ("SIFTGRAM_ADMIN_IDS", "802".into()),
        ("SIFTGRAM_OPS_TOKEN", "metrics-test-ops-token".into()),
    ]);
    let mut config = Config::from_lookup(|k| vars.get(k).cloned()).expect("valid config");
    let world = siftgram_recorded_telegram::RecordedTelegram::new();
    world.add_account(803, None);
    config.telegram = Some(siftgram_session_node::config::TelegramSource::Recorded(world.clone()));
    let app = App::start(config).await.unwrap();
    let repo = app.backend.repo.clone();
    let http = reqwest::Client::new();
    let scrape = || async {
        let response = http.get(app.url("/metrics")).bearer_auth("metrics-test-ops-token").send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        response.text().await.unwrap()
    };
    assert_eq!(http.get(app.url("/metrics")).send().await.unwrap().status(), 401, "behind the operator token");

    let admin = telegram.user(802, "en");
    for text in ["/start", "/help", "hello there"] {
        let before = telegram.bot_messages(802).len();
        telegram.push_update(admin.says(text));
        wait_for(text, || telegram.bot_messages(802).len() > before).await;
    }
    let channel = ChannelId::new(9002).unwrap();
    let username = Username::parse("metrics_news").unwrap();
    repo.save_channel(&Channel::new(channel, Some(username.clone()), "Metrics").unwrap()).await.unwrap();
    repo.subscribe(UserId::new(802).unwrap(), channel).await.unwrap();
    let key = PostKey::new(channel, 1).unwrap();
    let post = Post::new(key, Some(&username), "The bridge reopens on Monday after the repairs.", repo.clock().now(), MediaKind::None).unwrap();
    let posts = app.backend.queue(queue_spec("posts").unwrap()).await.unwrap();
    posts.send(OutgoingMessage::new(serde_json::to_string(&PostMessage::Publish { post }).unwrap())).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !repo.get_post(key).await.unwrap().is_some_and(|p| p.indexed) {
        assert!(Instant::now() < deadline, "the post was not indexed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    telegram.push_update(admin.says("/ask When does the bridge reopen?"));
    wait_for("the answer", || telegram.bot_messages(802).iter().any(|m| m.text.contains("Monday"))).await;

    let text = scrape().await;
    let updates = |command: &str| value(&text, "siftgram_updates_total", &[("command", command), ("outcome", "handled")]);
    assert_eq!((updates("start"), updates("help"), updates("text"), updates("ask")), (1.0, 1.0, 1.0, 1.0), "{text}");
    assert_eq!(value(&text, "siftgram_updates_total", &[]), 4.0, "nothing else was taken in");
    assert_eq!(value(&text, "siftgram_update_duration_seconds_count", &[("command", "ask")]), 1.0);
    assert_eq!(value(&text, "siftgram_posts_total", &[("outcome", "indexed")]), 1.0);
    assert_eq!(value(&text, "siftgram_questions_total", &[("kind", "extractive"), ("cached", "no")]), 1.0);
    assert_eq!(value(&text, "siftgram_questions_total", &[]), 1.0);
    assert!(value(&text, "siftgram_embeddings_total", &[("source", "computed")]) >= 2.0, "the post and the question");
    assert_eq!(value(&text, "siftgram_search_duration_seconds_count", &[]), 1.0, "one retrieval, for the question");
    assert_eq!(value(&text, "siftgram_embed_duration_seconds_count", &[("kind", "query")]), 1.0, "the question embedded once");
    assert!(value(&text, "siftgram_embed_duration_seconds_count", &[("kind", "passage")]) >= 1.0, "the post's chunks");
    assert_eq!(value(&text, "siftgram_queue_dead_letters", &[("queue", "jobs")]), 0.0);
    assert!(text.contains("siftgram_queue_messages{queue=\"commands\"}"), "every queue's depth is reported");
    // Only what this story exercised has series yet (no chat model, webhooks or sessions here);
    // every name is described.
    for name in siftgram_core::telemetry::ALL {
        assert!(text.contains(&format!("# HELP {name} ")) || !text.contains(name), "{name} is described");
    }

    // A reader signs in (a session driver starts), then ends the session from another device.
    let reader = telegram.user(803, "en");
    let code = siftgram_core::model::InviteCode::parse("METRICS00001").unwrap();
    let invite = siftgram_core::model::Invite::new(code, UserId::new(802).unwrap(), repo.clock().now(), siftgram_core::model::Tier::Trial, None, 1, None).unwrap();
    repo.create_invite(&invite).await.unwrap();
    telegram.push_update(reader.says("/start"));
    telegram.push_update(reader.says("/login METRICS00001"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let url = loop {
        if let Some(siftgram_core::repo::LoginState::Waiting { url, .. }) = repo.login_state(UserId::new(803).unwrap()).await.unwrap() {
            break url;
        }
        assert!(Instant::now() < deadline, "no QR login");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    world.scan(&url, 803);
    let drivers = |text: &str, state: &str| value(text, "siftgram_session_drivers", &[("state", state)]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while drivers(&scrape().await, "running") != 1.0 {
        assert!(Instant::now() < deadline, "no session driver running");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    world.revoke(803);
    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        let text = scrape().await;
        if value(&text, "siftgram_sessions_signed_out_total", &[]) >= 1.0 && drivers(&text, "running") == 0.0 {
            break text;
        }
        assert!(Instant::now() < deadline, "the revoked session was not noticed: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(value(&text, "siftgram_sessions_signed_out_total", &[]), 1.0);
    assert_eq!(drivers(&text, "flood_waiting"), 0.0);
    app.shutdown(Duration::from_secs(10)).await;
}
