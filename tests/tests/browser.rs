//! The Mini Apps in a real headless Chromium, against the standalone node with the recorded
//! Telegram and the fake Bot API: a user signs in by QR code with two-step verification, an
//! admin changes a tier in the panel, and a forged launch is turned away. Screenshots of each
//! page are written to `target/screenshots/`.

use siftgram_core::model::{Invite, InviteCode, Tier, UserId};
use siftgram_core::repo::LoginState;
use siftgram_core::{Clock, SystemClock};
use siftgram_fake_telegram::FakeTelegram;
use siftgram_session_node::config::TelegramSource;
use siftgram_session_node::{App, RunningApp};
use siftgram_tests::browser::{Browser, qr_codes};
use std::time::{Duration, Instant};

const ADMIN: i64 = 900_001;
const READER: i64 = 900_002;
const PASSWORD: &str = "correct horse battery";
/// Far above what any of these waits takes on a loaded 2-core machine.
const PATIENCE: Duration = Duration::from_secs(60);

fn launch_data(id: i64, lang: &str) -> String {
    let user = serde_json::json!({"id": id, "first_name": "Вера", "username": format!("u{id}"), "language_code": lang}).to_string();
    siftgram_api::auth::sign_init_data(&user, SystemClock.now().0, FakeTelegram::TOKEN)
}

struct Node {
    app: RunningApp,
    telegram: FakeTelegram,
    world: siftgram_recorded_telegram::RecordedTelegram,
    _data: tempfile::TempDir,
}

async fn start_node() -> Node {
    let telegram = FakeTelegram::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut config = siftgram_tests::standalone_config(data.path(), &telegram, &[("SIFTGRAM_ADMIN_IDS", ADMIN.to_string())]);
    let world = siftgram_recorded_telegram::RecordedTelegram::new();
    world.add_account(READER, Some(PASSWORD));
    config.telegram = Some(TelegramSource::Recorded(world.clone()));
    let app = App::start(config).await.unwrap();
    Node { app, telegram, world, _data: data }
}

async fn eventually<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn current_qr_url(node: &Node) -> Option<String> {
    match node.app.backend.repo.login_state(UserId::new(READER).unwrap()).await.unwrap() {
        Some(LoginState::Waiting { url, .. }) => Some(url),
        _ => None,
    }
}

/// Reads the QR code off a screenshot (retaken until one decodes: the page may be mid-draw).
async fn qr_on_screen(browser: &Browser, name: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let png = browser.screenshot(name).await;
        if let [url] = qr_codes(&png).as_slice() {
            return url.clone();
        }
        assert!(Instant::now() < deadline, "no readable QR code in the screenshot {name}.png");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_signs_in_by_qr_with_two_step_verification_and_an_admin_changes_their_tier() {
    siftgram_tests::logs::capture();
    siftgram_models::install_tls_provider();
    let node = start_node().await;
    let repo = node.app.backend.repo.clone();
    let code = InviteCode::parse("BROWSER00001").unwrap();
    repo.create_invite(&Invite::new(code.clone(), UserId::new(ADMIN).unwrap(), SystemClock.now(), Tier::Trial, None, 1, None).unwrap()).await.unwrap();
    let vera = node.telegram.user(READER, "en");
    node.telegram.push_update(vera.says("/start"));
    node.telegram.push_update(vera.says(&format!("/login {code}")));
    eventually("the QR login to start", || async { current_qr_url(&node).await.is_some() }).await;
    let page = node.telegram.bot_messages(READER).iter().flat_map(|m| m.buttons()).map(|(_, url)| url).find(|u| u.ends_with("/login.html")).expect("the Mini App button");

    let browser = Browser::start().await;
    browser.open_mini_app(&page, &launch_data(READER, "en")).await;
    browser.until("the QR code", PATIENCE, "document.querySelector('#qr svg') !== null").await;
    // What the screenshot shows decodes to exactly the node's current login URL.
    let shown = qr_on_screen(&browser, "login-1-qr").await;
    assert_eq!(Some(shown.clone()), current_qr_url(&node).await);
    let text = browser.eval("document.body.innerText").await;
    assert!(text.as_str().unwrap().contains("Scan the code"), "English, as the user's Telegram: {text}");
    assert_eq!(browser.eval("getComputedStyle(document.body).backgroundColor").await, "rgb(23, 33, 43)", "Telegram's theme colours");

    // Telegram refreshes the token: the page redraws with the new one.
    node.world.expire_login_tokens();
    browser.until("a new QR code", PATIENCE, &format!("document.querySelector('#qr').dataset.url !== {}", serde_json::json!(shown))).await;
    let refreshed = qr_on_screen(&browser, "login-2-refreshed").await;
    assert_ne!(refreshed, shown);
    assert_eq!(Some(refreshed.clone()), current_qr_url(&node).await);

    // The phone scans it; the account has two-step verification.
    node.world.scan(&refreshed, READER);
    browser.until("the password form", PATIENCE, "!document.querySelector('#password-box').hidden").await;
    browser.screenshot("login-3-password").await;
    browser.type_into("#password", "wrong password").await;
    browser.click("#password-submit").await;
    browser.until("the wrong-password message", PATIENCE, "!document.querySelector('#password-error').hidden").await;
    let error = browser.eval("document.querySelector('#password-error').innerText").await;
    assert!(error.as_str().unwrap().contains("Attempts left: 2"), "{error}");
    browser.screenshot("login-4-wrong-password").await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("#password-submit").await;
    browser.until("success", PATIENCE, "document.querySelector('#status').dataset.state === 'done'").await;
    browser.screenshot("login-5-done").await;
    eventually("the bot to tell the user", || async { node.telegram.bot_messages(READER).iter().any(|m| m.text.contains("Signed in")) }).await;
    assert!(repo.get_user(UserId::new(READER).unwrap()).await.unwrap().unwrap().has_access());
    // Opened again later, the page says they are signed in rather than "send /login".
    browser.open_mini_app(&page, &launch_data(READER, "en")).await;
    browser.until("the signed-in notice", PATIENCE, "document.querySelector('#status').dataset.state === 'done'").await;

    // The admin opens the panel, finds the user and gives them a month of premium.
    node.telegram.push_update(node.telegram.user(ADMIN, "ru").says("/start"));
    eventually("the admin to be known", || async { repo.get_user(UserId::new(ADMIN).unwrap()).await.unwrap().is_some() }).await;
    browser.open_mini_app(&page.replace("login.html", "admin.html"), &launch_data(ADMIN, "ru")).await;
    browser.until("the users table", PATIENCE, &format!("document.querySelector('#users tr[data-user=\"{READER}\"]') !== null")).await;
    browser.screenshot("admin-1-users").await;
    browser.click(&format!("#users tr[data-user=\"{READER}\"]")).await;
    browser.until("the user's page", PATIENCE, "document.querySelector('#detail-tier') !== null").await;
    browser.client.find(fantoccini::Locator::Css("#detail-tier")).await.unwrap().select_by_value("premium").await.unwrap();
    browser.type_into("#detail-days", "30").await;
    browser.click("#detail-set-tier").await;
    browser.until("the new tier in the history", PATIENCE, "[...document.querySelectorAll('#detail-history li')].some(li => li.innerText.includes('→ premium'))").await;
    browser.screenshot("admin-2-tier-changed").await;
    let history = repo.tier_history(UserId::new(READER).unwrap()).await.unwrap();
    assert_eq!(history.last().map(|c| c.to), Some(Tier::Premium), "written to the subscription history");
    browser.click("#tab-button-stats").await;
    browser.until("the stats", PATIENCE, "document.querySelectorAll('#stats .card').length > 0").await;
    browser.screenshot("admin-3-stats").await;

    // A reader is not let into the panel; forged launch data gets "open this from Telegram".
    browser.open_mini_app(&page.replace("login.html", "admin.html"), &launch_data(READER, "en")).await;
    browser.until("the refusal", PATIENCE, "!document.querySelector('#fatal').hidden").await;
    assert!(browser.eval("document.querySelector('#fatal').innerText").await.as_str().unwrap().contains("admins only"));
    let forged = launch_data(READER, "en").replace(&READER.to_string(), &ADMIN.to_string());
    browser.open_mini_app(&page, &forged).await;
    browser.until("the refusal", PATIENCE, "document.querySelector('#status').dataset.state === 'unauthorized'").await;
    let message = browser.eval("document.querySelector('#message').innerText").await;
    assert!(message.as_str().unwrap().contains("Open this from Telegram"), "{message}");
    browser.screenshot("login-6-forged").await;

    browser.close().await;
    node.app.shutdown(Duration::from_secs(10)).await;

    // Nothing secret reached the logs (captured at debug level, more than production's), though
    // they cover the password's way.
    assert!(siftgram_tests::logs::captured().contains("2FA password sealed and queued"));
    let read = |name: &str| std::fs::read_to_string(node._data.path().join(name)).unwrap().trim().to_owned();
    let session_key = read("session-keys").split_once(':').map(|(_, key)| key.split(',').next().unwrap().to_owned()).unwrap();
    let launch_hash = url::form_urlencoded::parse(launch_data(ADMIN, "ru").as_bytes()).find(|(k, _)| k == "hash").unwrap().1.into_owned();
    let secrets = [
        ("bot token", FakeTelegram::TOKEN.split_once(':').unwrap().1),
        ("2FA password", PASSWORD),
        ("wrong 2FA password", "wrong password"),
        ("session key", &session_key),
        ("operator token", &read("ops-token")),
        ("launch data signature", &launch_hash[..32]),
    ];
    siftgram_tests::logs::assert_no_secrets(&secrets);
    // Nor is any of it stored: every file the node wrote (store, queues, index, the sealed
    // session), as bytes, but the two files that hold its own keys.
    let (files, bytes) = siftgram_tests::logs::assert_not_stored(node._data.path(), &secrets, &["session-keys", "ops-token"]);
    assert!(files >= 2 && bytes > 10_000, "the node stored something: {files} files, {bytes} bytes");
}
