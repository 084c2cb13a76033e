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
