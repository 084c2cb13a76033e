//! The API fuzzed from its own OpenAPI document: schemathesis (from PyPI; the test script
//! installs it into a cached venv and sets SIFTGRAM_SCHEMATHESIS) against the standalone node,
//! as an admin with Mini App launch data and as automation with an API key. No response may be
//! a server error, or fall outside the status codes, content types and schemas documented.

use siftgram_core::model::{Channel, ChannelId, Invite, InviteCode, MediaKind, Post, PostKey, Tier, UserId, Username};
use siftgram_core::{Clock, SystemClock};
use siftgram_fake_telegram::FakeTelegram;
use siftgram_session_node::App;
use std::process::Command;
use std::time::Duration;

const ADMIN: i64 = 910_001;
const MEMBER: i64 = 910_002;

fn schemathesis() -> std::path::PathBuf {
    std::env::var_os("SIFTGRAM_SCHEMATHESIS").map(Into::into).unwrap_or_else(|| {
        let cached = std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/siftgram-schemathesis/venv/bin/schemathesis");
        assert!(cached.is_file(), "schemathesis is not installed: scripts/test-all.sh installs it (or set SIFTGRAM_SCHEMATHESIS)");
        cached
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_holds_to_its_openapi_document_under_fuzzing() {
    siftgram_tests::logs::capture();
    let tool = schemathesis();
    let telegram = FakeTelegram::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let config = siftgram_tests::standalone_config(
        data.path(),
        &telegram,
        &[
            ("SIFTGRAM_ADMIN_IDS", ADMIN.to_string()),
            ("SIFTGRAM_BOT_USERNAME", "siftgram_fuzz_bot".into()),
            ("SIFTGRAM_API_KEY_BURST", "100000".into()),
            ("SIFTGRAM_API_KEY_PER_MINUTE", "100000".into()),
        ],
    );
    let app = App::start(config).await.unwrap();
    let repo = app.backend.repo.clone();
    let now = SystemClock.now();
    // Something to find: an admin, a member with a channel of posts, an invite, an API key.
    for (id, name) in [(ADMIN, "Admin"), (MEMBER, "Member")] {
        repo.create_user(&siftgram_core::model::User::new(UserId::new(id).unwrap(), name, Default::default(), now).unwrap()).await.unwrap();
    }
    let code = InviteCode::parse("FUZZ00000001").unwrap();
    repo.create_invite(&Invite::new(code.clone(), UserId::new(ADMIN).unwrap(), now, Tier::Premium, None, 1, None).unwrap()).await.unwrap();
    repo.redeem_invite(code.as_str(), UserId::new(MEMBER).unwrap()).await.unwrap();
    let channel = ChannelId::new(9001).unwrap();
    let name = Username::parse("fuzz_news").unwrap();
    repo.save_channel(&Channel::new(channel, Some(name.clone()), "Fuzz News").unwrap()).await.unwrap();
    repo.subscribe(UserId::new(MEMBER).unwrap(), channel).await.unwrap();
    for m in 1..=30 {
        repo.insert_post(&Post::new(PostKey::new(channel, m).unwrap(), Some(&name), &format!("Пост {m}"), now, MediaKind::None).unwrap()).await.unwrap();
    }
    let (_, key) = siftgram_api::auth::api_keys::create(&repo, UserId::new(MEMBER).unwrap(), UserId::new(ADMIN).unwrap(), "fuzz").await.unwrap();
    let admin = format!("tma {}", siftgram_api::auth::sign_init_data(&format!(r#"{{"id":{ADMIN},"first_name":"Admin","language_code":"en"}}"#), now.0, FakeTelegram::TOKEN));
    let schema = data.path().join("openapi.json");
    std::fs::write(&schema, serde_json::to_vec(&siftgram_api::openapi()).unwrap()).unwrap();
    let report = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/schemathesis");

    // Automation first: the admin's run then blocks, re-tiers and revokes at random.
    for (who, authorization) in [("api-key", format!("Bearer {key}")), ("admin", admin.clone())] {
        let tool = tool.clone();
        let (schema, base, report) = (schema.clone(), app.url(""), report.join(who));
        let run = tokio::task::spawn_blocking(move || {
            Command::new(tool)
                .arg("run")
                .arg(&schema)
                .args(["--url", &base])
                .args(["--header", &format!("Authorization: {authorization}")])
                .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection"])
                .args(["--phases", "examples,coverage,fuzzing", "--max-examples", "20", "--seed", "1", "--workers", "2"])
                .args(["--generation-database", "none", "--no-color", "--request-timeout", "30"])
                .args(["--report", "junit", "--report-dir"])
                .arg(&report)
                .output()
                .expect("schemathesis runs")
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout);
        println!("--- schemathesis as {who} ---\n{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
        assert!(run.status.success(), "schemathesis found problems as {who} (report in target/schemathesis/{who}):\n{stdout}");
    }
    app.shutdown(Duration::from_secs(10)).await;
    // Thousands of requests carried the key and the launch data: none reached the logs.
    let secret = key.splitn(3, '_').nth(2).unwrap().to_owned();
    siftgram_tests::logs::assert_no_secrets(&[("API key", &key), ("API key secret", &secret), ("admin launch data", &admin[4..60]), ("bot token", FakeTelegram::TOKEN.split_once(':').unwrap().1)]);
}
