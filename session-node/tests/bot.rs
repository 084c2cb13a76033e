//! The bot in standalone mode (long polling over the embedded store) and `siftgram bot setup`,
//! both against the fake Bot API.

use siftgram_fake_telegram::FakeTelegram;
use siftgram_session_node::{App, Config};
use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

const SECRET: &str = "standalone-secret_0123456789";

fn config(vars: &[(&str, String)]) -> Config {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    Config::from_lookup(|k| map.get(k).cloned()).expect("valid config")
}

/// The standalone node with a bot polling the fake Bot API.
async fn start_node(telegram: &FakeTelegram, data: &std::path::Path) -> siftgram_session_node::RunningApp {
    App::start(config(&[
        ("SIFTGRAM_DATA_DIR", data.display().to_string()),
        ("SIFTGRAM_HTTP_ADDR", "127.0.0.1:0".into()),
        ("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN.into()),
        ("TELEGRAM_API_URL", telegram.api_url()),
    ]))
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standalone_node_answers_updates_by_long_polling() {
    let telegram = FakeTelegram::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let app = start_node(&telegram, data.path()).await;
    let anna = telegram.user(701, "ru");
    let update = anna.says("/start");
    telegram.push_update(update.clone());
    let deadline = Instant::now() + Duration::from_secs(15);
    while telegram.bot_messages(701).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let replies = telegram.bot_messages(701);
    assert_eq!(replies.len(), 1, "answered once");
    assert!(replies[0].text.contains("/login"), "{}", replies[0].text);
    assert!(!telegram.calls_to("deleteWebhook").is_empty(), "polling clears any webhook first");
    assert!(app.backend.repo.get_user(siftgram_core::model::UserId::new(701).unwrap()).await.unwrap().is_some());

    // The same update offered again (as after a crash before the offset moved) is not answered twice.
    telegram.push_update(update);
    telegram.push_update(anna.says("/help"));
    let deadline = Instant::now() + Duration::from_secs(15);
    while telegram.bot_messages(701).len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(telegram.bot_messages(701).len(), 2);
    assert!(telegram.bot_messages(701)[1].text.contains("Команды"));

    let stopping = Instant::now();
    app.shutdown(Duration::from_secs(10)).await;
    assert!(stopping.elapsed() < Duration::from_secs(5), "a long poll in progress does not hold up shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_that_keeps_failing_does_not_stop_long_polling() {
    let telegram = FakeTelegram::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let app = start_node(&telegram, data.path()).await;
    // Every answer to Anna's message fails until it is given up on (Telegram asks for a wait
    // longer than the bot may sit out; its 5xx would do the same, after teloxide's own 10 s
    // pause each); Boris writes after her.
    for _ in 0..siftgram_bot::MAX_UPDATE_FAILURES {
        telegram.fail_next("sendMessage", siftgram_fake_telegram::Failure::TooManyRequests { retry_after: 3600 });
    }
    telegram.push_update(telegram.user(702, "ru").says("/help"));
    telegram.push_update(telegram.user(703, "ru").says("/help"));
    // Retries back off 1 + 2 + 4 + 8 s; the deadline is far above that.
    let deadline = Instant::now() + Duration::from_secs(180);
    while telegram.bot_messages(703).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(telegram.bot_messages(703)[0].text.contains("Команды"), "the update behind the failing one is answered");
    let anna = telegram.bot_messages(702);
    assert_eq!(anna.len(), 1, "Anna is told once: {anna:?}");
    assert!(anna[0].text.contains("Что-то пошло не так"));
    app.shutdown(Duration::from_secs(10)).await;
}

fn setup(telegram: &FakeTelegram, secret: Option<&str>, webhook: Option<&str>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_siftgram"));
    command.args(["bot", "setup"]).env("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN).env("TELEGRAM_API_URL", telegram.api_url());
    command.env_remove("SIFTGRAM_WEBHOOK_SECRET");
    if let Some(s) = secret {
        command.env("SIFTGRAM_WEBHOOK_SECRET", s);
    }
    if let Some(url) = webhook {
        command.args(["--webhook-url", url]);
    }
    command.output().expect("the binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_setup_registers_the_menu_in_both_languages_and_the_webhook_with_its_secret() {
    let telegram = FakeTelegram::start().await.unwrap();
    let refused = tokio::task::block_in_place(|| setup(&telegram, None, Some("https://bot.example.test/telegram")));
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("SIFTGRAM_WEBHOOK_SECRET"));
    assert_eq!(telegram.webhook(), None, "no webhook without a secret");

    let done = tokio::task::block_in_place(|| setup(&telegram, Some(SECRET), Some("https://bot.example.test/telegram")));
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(telegram.webhook(), Some(("https://bot.example.test/telegram".into(), Some(SECRET.into()))));
    let ru = telegram.commands("ru");
    let en = telegram.commands("en");
    assert!(ru.contains(&("ask".into(), "Вопрос по моим каналам".into())), "{ru:?}");
    assert!(en.contains(&("ask".into(), "Ask about my channels".into())), "{en:?}");
    assert_eq!(telegram.commands(""), ru, "Russian is the default menu");
    assert!(ru.iter().all(|(c, _)| !c.starts_with("admin")), "admin commands are not advertised");
}

/// The standalone node serves the Mini App pages itself and the API next to them: the bot's
/// /login button opens this node's login page, whose API call the node answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_serves_the_mini_apps_and_the_api_its_buttons_point_at() {
    let telegram = FakeTelegram::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let app = start_node(&telegram, data.path()).await;
    let boris = telegram.user(702, "en");
    let code = siftgram_core::model::InviteCode::parse("NODEAPP00001").unwrap();
    let now = siftgram_core::Clock::now(&siftgram_core::SystemClock);
    let invite = siftgram_core::model::Invite::new(code, siftgram_core::model::UserId::new(1).unwrap(), now, siftgram_core::model::Tier::Trial, None, 1, None).unwrap();
    app.backend.repo.create_invite(&invite).await.unwrap();
    telegram.push_update(boris.says("/start"));
    telegram.push_update(boris.says("/login NODEAPP00001"));
    let deadline = Instant::now() + Duration::from_secs(15);
    while telegram.bot_messages(702).len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let login = telegram.bot_messages(702).pop().expect("the /login reply");
    let page = login.buttons().into_iter().map(|(_, url)| url).find(|u| u.ends_with("login.html")).unwrap_or_else(|| panic!("a Mini App button: {login:?}"));
    assert_eq!(page, app.url("/miniapp/login.html"), "the node's own page");

    siftgram_models::install_tls_provider();
    let http = reqwest::Client::new();
    for (file, kind) in [("login.html", "text/html"), ("admin.html", "text/html"), ("app.js", "text/javascript"), ("telegram-web-app.js", "text/javascript"), ("app.css", "text/css")] {
        let response = http.get(app.url(&format!("/miniapp/{file}"))).send().await.unwrap();
        assert_eq!(response.status(), 200, "{file}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with(kind), "{file}");
        assert!(response.headers().contains_key("content-security-policy"), "{file}");
    }
    assert_eq!(http.get(app.url("/miniapp/../Cargo.toml")).send().await.unwrap().status(), 404);

    let init_data = siftgram_api::auth::sign_init_data(r#"{"id":702,"first_name":"Boris","language_code":"en"}"#, siftgram_core::Clock::now(&siftgram_core::SystemClock).0, FakeTelegram::TOKEN);
    let me = http.get(app.url("/api/me")).header("Authorization", format!("tma {init_data}")).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let trace = me.headers()["x-trace-id"].to_str().unwrap().to_owned();
    assert!(trace.starts_with("api-") && siftgram_core::trace::TraceId::parse(&trace).is_some(), "each request is a trace: {trace}");
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!((me["id"].as_i64(), me["language"].as_str(), me["signed_in"].as_bool()), (Some(702), Some("en"), Some(false)));
    assert_eq!(http.get(app.url("/api/me")).send().await.unwrap().status(), 401);
    let health: serde_json::Value = http.get(app.url("/health")).bearer_auth(&*app.ops_token).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["components"]["bot"]["status"], "ok", "the bot has polled: {health}");
    // The operator's endpoint keeps its own token.
    assert_eq!(http.get(app.url("/health")).header("Authorization", format!("tma {init_data}")).send().await.unwrap().status(), 401);
    app.shutdown(Duration::from_secs(10)).await;
}

/// teloxide's default HTTP client gives up after 17 s; a long poll that finds nothing for longer
/// must end as an empty answer, not as a network error that restarts the polling task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_long_poll_outlasts_the_http_clients_timeout() {
    use siftgram_bot::teloxide::payloads::GetUpdatesSetters;
    use siftgram_bot::teloxide::requests::Requester;
    let telegram = FakeTelegram::start().await.unwrap();
    let url = telegram.api_url();
    let config = siftgram_bot::BotConfig::from_lookup(|k| match k {
        "TELEGRAM_BOT_TOKEN" => Some(FakeTelegram::TOKEN.to_owned()),
        "TELEGRAM_API_URL" => Some(url.clone()),
        _ => None,
    })
    .unwrap()
    .expect("a bot token was given");
    let updates = config.bot().get_updates().timeout(20).await;
    assert!(matches!(&updates, Ok(u) if u.is_empty()), "{updates:?}");
}
