//! One update's way through the standalone node, found in the logs by one id: the trace id
//! born with the Telegram update travels with the job (or session command) it queues, so the
//! bot's, the worker's and the session node's JSON log lines for it all carry `trace_id`.
//! (Its own test binary: the log capture is global to the process.)

use serde_json::Value;
use siftgram_core::model::{Invite, InviteCode, Tier, UserId};
use siftgram_core::{Clock, SystemClock};
use siftgram_fake_telegram::FakeTelegram;
use siftgram_session_node::App;
use siftgram_session_node::config::TelegramSource;
use std::time::{Duration, Instant};

const ADMIN: i64 = 960_001;
const READER: i64 = 960_002;

/// The targets (modules) of every captured log line that carries `trace_id`.
fn targets_of(trace: &str) -> Vec<String> {
    siftgram_tests::logs::captured()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|line| line["spans"].as_array().is_some_and(|spans| spans.iter().any(|s| s["trace_id"] == trace)))
        .map(|line| line["target"].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_updates_log_lines_on_every_hop_share_its_trace_id() {
    siftgram_tests::logs::capture();
    siftgram_models::install_tls_provider();
    let telegram = FakeTelegram::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut config = siftgram_tests::standalone_config(data.path(), &telegram, &[("SIFTGRAM_ADMIN_IDS", ADMIN.to_string())]);
    let world = siftgram_recorded_telegram::RecordedTelegram::new();
    world.add_account(READER, None);
    config.telegram = Some(TelegramSource::Recorded(world));
    let app = App::start(config).await.unwrap();

    // A question: bot → jobs queue → worker → the reply.
    let admin = telegram.user(ADMIN, "en");
    telegram.push_update(admin.says("/start"));
    eventually("the greeting", || telegram.bot_messages(ADMIN).len() == 1).await;
    let repo = app.backend.repo.clone();
    let channel = siftgram_core::model::ChannelId::new(9603).unwrap();
    repo.save_channel(&siftgram_core::model::Channel::new(channel, None, "Traces").unwrap()).await.unwrap();
    repo.subscribe(UserId::new(ADMIN).unwrap(), channel).await.unwrap();
    let ask = admin.says("/ask what is new?");
    let ask_trace = format!("tg{}", ask["update_id"]);
    telegram.push_update(ask);
    eventually("the answer", || telegram.bot_messages(ADMIN).len() == 2 && !telegram.bot_messages(ADMIN)[1].text.starts_with('⏳')).await;
    eventually("the worker's log line", || targets_of(&ask_trace).iter().any(|t| t.starts_with("siftgram_worker"))).await;
    let targets = targets_of(&ask_trace);
    assert!(targets.iter().any(|t| t.starts_with("siftgram_bot")), "the bot's lines: {targets:?}");

    // A sign-in: bot → commands queue → the session node.
    let code = InviteCode::parse("TRACES000001").unwrap();
    app.backend.repo.create_invite(&Invite::new(code, UserId::new(ADMIN).unwrap(), SystemClock.now(), Tier::Trial, None, 1, None).unwrap()).await.unwrap();
    let reader = telegram.user(READER, "en");
    telegram.push_update(reader.says("/start"));
    let login = reader.says("/login TRACES000001");
    let login_trace = format!("tg{}", login["update_id"]);
    telegram.push_update(login);
    eventually("the session node's log line", || targets_of(&login_trace).iter().any(|t| t.starts_with("siftgram_session_node"))).await;
    assert!(targets_of(&login_trace).iter().all(|t| !t.starts_with("siftgram_worker")), "no other update's work under it");
    assert!(targets_of(&ask_trace).iter().all(|t| !t.starts_with("siftgram_session_node")), "and the question's trace holds only its own");
    app.shutdown(Duration::from_secs(10)).await;
}
