//! The node as a whole: migrations on both backends, authenticated HTTP, and the layout rule
//! that the domain crate depends on no I/O crate.

use siftgram_session_node::backend::{Backend, BackendKind};
use siftgram_session_node::{App, Config, migrate};
use siftgram_tests::localstack_endpoint;
use std::collections::HashMap;

fn config(vars: &[(&str, String)]) -> Config {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    Config::from_lookup(|k| map.get(k).cloned()).expect("valid config")
}

#[tokio::test]
async fn the_standalone_node_migrates_and_answers_health_only_with_the_token() {
    let data = tempfile::tempdir().unwrap();
    let cfg = config(&[("SIFTGRAM_DATA_DIR", data.path().display().to_string()), ("SIFTGRAM_HTTP_ADDR", "127.0.0.1:0".into())]);
    let app = App::start(cfg.clone()).await.unwrap();
    let token = std::fs::read_to_string(data.path().join("ops-token")).expect("token generated");
    assert_eq!(token.trim(), &*app.ops_token);

    siftgram_models::install_tls_provider();
    let http = reqwest::Client::new();
    let anonymous = http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let forged = http.get(app.url("/health")).bearer_auth("x".repeat(token.len())).send().await.unwrap();
    assert_eq!(forged.status(), 401);
    let ok = http.get(app.url("/health")).bearer_auth(token.trim()).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!((body["status"].as_str(), body["schema_version"].as_u64()), (Some("ok"), Some(2)));
    let component = |name: &str| body["components"][name]["status"].as_str().unwrap_or_default().to_owned();
    assert_eq!((component("store"), component("index"), component("embedder"), component("queues")), ("ok".into(), "ok".into(), "ok".into(), "ok".into()), "{body}");
    assert_eq!((component("sessions"), component("bot")), ("off".into(), "off".into()), "no Telegram configured: {body}");
    assert_eq!(body["components"]["queues"]["detail"]["jobs"]["dead_letters"], 0);
    let applied = app.backend.repo.applied_migrations().await.unwrap();
    assert_eq!(applied.iter().map(|m| m.version).collect::<Vec<_>>(), [1, 2]);
    app.shutdown(std::time::Duration::from_secs(10)).await;

    // A restart keeps the token and applies nothing again.
    let again = App::start(cfg).await.unwrap();
    assert_eq!(&*again.ops_token, token.trim());
    let report = migrate::run(&again.backend, &config(&[])).await.unwrap();
    assert_eq!((report.applied, report.schema_version), (vec![], 2));
    again.shutdown(std::time::Duration::from_secs(10)).await;
}

#[tokio::test]
async fn localstack_migrate_creates_table_queues_and_bucket_once() {
    let ns = format!("m{}", std::process::id());
    let cfg = config(&[
        ("SIFTGRAM_BACKEND", "aws".into()),
        ("SIFTGRAM_TABLE", format!("siftgram-{ns}")),
        ("SIFTGRAM_RESOURCE_PREFIX", format!("{ns}-")),
        ("AWS_ENDPOINT_URL", localstack_endpoint()),
    ]);
    // The node reads credentials from the environment; LocalStack accepts any.
    let sdk = siftgram_aws::local_sdk_config(&localstack_endpoint()).await;
    let backend = Backend::connect_with(&cfg, sdk.clone());
    assert_eq!(backend.kind, BackendKind::Aws);
    let first = migrate::run(&backend, &cfg).await.expect("migrate against LocalStack");
    assert_eq!((first.applied.clone(), first.schema_version), (vec![1, 2], 2));
    let second = migrate::run(&backend, &cfg).await.unwrap();
    assert_eq!((second.applied, second.schema_version), (vec![], 2), "idempotent");

    let sqs = aws_sdk_sqs::Client::new(&sdk);
    for name in ["commands.fifo", "commands-dlq.fifo", "posts", "posts-dlq", "jobs", "jobs-dlq", "events", "events-dlq"] {
        let url = sqs.get_queue_url().queue_name(format!("{ns}-{name}")).send().await;
        assert!(url.is_ok(), "queue {name} exists");
    }
    let s3 = siftgram_aws::s3_client(&sdk);
    assert!(s3.head_bucket().bucket(format!("{ns}-miniapp")).send().await.is_ok(), "Mini App bucket exists");
    let queue = backend.queue(siftgram_core::ports::QueueSpec::standard("jobs")).await.unwrap();
    assert_eq!(queue.approximate_len().await.unwrap(), 0);
    let _ = aws_sdk_dynamodb::Client::new(&sdk).delete_table().table_name(format!("siftgram-{ns}")).send().await;
}

#[test]
fn the_domain_crate_depends_on_no_io_crate() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["tree", "-p", "siftgram-core", "-e", "normal", "--prefix", "none", "--offline"])
        .output()
        .expect("cargo tree");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8_lossy(&out.stdout);
    let forbidden = ["aws-", "tokio", "hyper", "reqwest", "redb", "rusqlite", "tonic", "axum", "mio", "socket2", "teloxide", "grammers"];
    for line in tree.lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        assert!(!forbidden.iter().any(|f| name.starts_with(f)), "siftgram-core depends on {name}");
    }
    assert!(tree.contains("serde"), "the tree was read: {tree}");
}

/// The session node in the cloud shape holds the bot's token only to send (login results,
/// sign-outs): the webhook function takes the updates, so the node must neither poll nor, as
/// polling starts with, delete the webhook.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localstack_a_cloud_session_node_leaves_the_bots_webhook_alone() {
    use siftgram_bot::teloxide::requests::Requester;
    let telegram = siftgram_fake_telegram::FakeTelegram::start().await.unwrap();
    let ns = format!("w{}", std::process::id());
    let data = tempfile::tempdir().unwrap();
    let cfg = config(&[
        ("SIFTGRAM_BACKEND", "aws".into()),
        ("SIFTGRAM_TABLE", format!("siftgram-{ns}")),
        ("SIFTGRAM_RESOURCE_PREFIX", format!("{ns}-")),
        ("AWS_ENDPOINT_URL", localstack_endpoint()),
        ("SIFTGRAM_DATA_DIR", data.path().display().to_string()),
        ("SIFTGRAM_HTTP_ADDR", "127.0.0.1:0".into()),
        ("TELEGRAM_BOT_TOKEN", siftgram_fake_telegram::FakeTelegram::TOKEN.into()),
        ("TELEGRAM_API_URL", telegram.api_url()),
    ]);
    assert!(cfg.bot.is_some() && !cfg.bot_polling);
    let bot = cfg.bot.as_ref().unwrap().bot();
    bot.set_webhook("https://bot.example.test/telegram".parse().unwrap()).await.unwrap();
    let sdk = siftgram_aws::local_sdk_config(&localstack_endpoint()).await;
    let backend = Backend::connect_with(&cfg, sdk.clone());
    let app = App::start_on(cfg, backend, |_, _| axum::Router::new()).await.unwrap();
    // Given the time a poller would need to start (it deletes the webhook first thing).
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    app.shutdown(std::time::Duration::from_secs(10)).await;
    assert_eq!(telegram.webhook().map(|w| w.0), Some("https://bot.example.test/telegram".to_owned()), "the webhook is still set");
    assert!(telegram.calls_to("deleteWebhook").is_empty() && telegram.calls_to("getUpdates").is_empty());
    let _ = aws_sdk_dynamodb::Client::new(&sdk).delete_table().table_name(format!("siftgram-{ns}")).send().await;
}
