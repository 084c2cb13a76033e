//! `siftgram demo` as a newcomer meets it, in a real headless Chromium: the chat page stands
//! in for Telegram's app, and everything behind it is the real system (handler tree, queues,
//! workers, session node, index with the local embedding model). The story goes from /start to
//! a cited answer about a post that appeared while the demo ran, and a digest. Screenshots are
//! written to `target/screenshots/demo-*.png`.

use siftgram_core::model::UserId;
use siftgram_core::repo::LoginState;
use siftgram_demo::{DEMO_PASSWORD, DEMO_USER};
use siftgram_session_node::demo::{self, DemoOptions, RunningDemo};
use siftgram_tests::browser::{Browser, qr_codes};
use std::time::{Duration, Instant};

/// Far above what any step takes on a loaded 2-core machine (the backfill embeds ~100 posts).
const PATIENCE: Duration = Duration::from_secs(240);

async fn start_demo(data: &std::path::Path) -> RunningDemo {
    let options = DemoOptions { data: Some(data.to_owned()), addr: "127.0.0.1:0".parse().unwrap(), live_every: Duration::from_secs(2) };
    demo::start(options, |name| std::env::var(name).ok()).await.expect("the demo starts")
}

/// The last bot bubble's text (the chat page's view).
const LAST_BOT_TEXT: &str = "[...document.querySelectorAll('.msg.in')].map(m => m.innerText).pop() || ''";

async fn send(browser: &Browser, text: &str) {
    browser.type_into("#input", text).await;
    browser.click("#send").await;
}

fn any_bot_message(contains: &str) -> String {
    format!("[...document.querySelectorAll('.msg.in .body')].some(m => m.innerText.includes({}))", serde_json::json!(contains))
}

async fn qr_url(demo: &RunningDemo) -> Option<String> {
    match demo.app.backend.repo.login_state(UserId::new(DEMO_USER).unwrap()).await.unwrap() {
        Some(LoginState::Waiting { url, .. }) => Some(url),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_signs_in_adds_a_sample_channel_and_gets_a_cited_answer_and_a_digest() {
    siftgram_models::install_tls_provider();
    let data = tempfile::tempdir().unwrap();
    let demo = start_demo(data.path()).await;
    let browser = Browser::start_sized(1100, 760).await;
    browser.open(&demo.page).await;
    browser.until("the hints", PATIENCE, &format!("document.querySelector('#hint-text').innerText.includes({})", serde_json::json!(demo.invite.as_str()))).await;
    browser.click("#lang button[data-lang=\"ru\"]").await;

    // /start and /login with the printed code, typed into the chat.
    send(&browser, "/start").await;
    browser.until("the bot's greeting", PATIENCE, "document.querySelectorAll('.msg.in').length >= 1").await;
    send(&browser, &format!("/login {}", demo.invite.as_str())).await;
    browser.until("the sign-in button", PATIENCE, "document.querySelector('.kb button[data-web-app]') !== null").await;
    let waiting_id = browser.eval("document.querySelector('.kb button[data-web-app]').closest('.kb').dataset.for").await;
    browser.screenshot("demo-1-login").await;

    // The Mini App button opens the real sign-in page in the panel, with signed launch data.
    browser.click(".kb button[data-web-app]").await;
    browser.until("the Mini App panel", PATIENCE, "!document.querySelector('#panel').hidden && document.querySelector('#miniapp').src.includes('login.html#tgWebAppData=')").await;
    browser.in_frame(0, || browser.until("the QR code", PATIENCE, "document.querySelector('#qr svg') !== null")).await;
    let deadline = Instant::now() + PATIENCE;
    let shown = loop {
        let png = browser.screenshot("demo-2-qr").await;
        if let [url] = qr_codes(&png).as_slice() {
            break url.clone();
        }
        assert!(Instant::now() < deadline, "no readable QR code on the demo page");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(Some(shown), qr_url(&demo).await, "the panel shows the node's current login code");

    // "Scan with your phone" plays the recorded account; it has two-step verification.
    browser.click("#scan").await;
    browser.until("the scan note", PATIENCE, &format!("document.querySelector('#scan-note').innerText.includes({})", serde_json::json!(DEMO_PASSWORD))).await;
    browser
        .in_frame(0, || async {
            browser.until("the password form", PATIENCE, "!document.querySelector('#password-box').hidden").await;
            browser.type_into("#password", DEMO_PASSWORD).await;
            browser.click("#password-submit").await;
            browser.until("success", PATIENCE, "document.querySelector('#status').dataset.state === 'done'").await;
        })
        .await;
    browser.screenshot("demo-3-signed-in").await;
    // The "⏳" message of /login is edited in place, as in Telegram.
    let edited = format!("document.querySelector('.msg[data-id=\"{}\"]').innerText", waiting_id.as_str().unwrap());
    browser.until("the in-place edit", PATIENCE, &format!("{edited}.includes('Вход выполнен')")).await;
    browser.click("#panel-close").await;

    // A sample channel: the same message shows the backfill's progress until the history is in.
    send(&browser, "/add_channel @severogorsk_today").await;
    browser.until("the channel added", PATIENCE, &any_bot_message("Северогорск сегодня")).await;
    browser.screenshot("demo-4-backfill").await;
    browser.until("the history loaded", PATIENCE, &any_bot_message("История загружена")).await;
    browser.screenshot("demo-5-history-loaded").await;

    // A post published while the demo runs is found and cited; the citation opens the post.
    let (channel, live) = siftgram_demo::sample::live_posts();
    let world = &demo.demo.world;
    let deadline = Instant::now() + PATIENCE;
    let first_live = loop {
        let found = world.message_ids(channel).into_iter().find(|&id| world.message(channel, id).is_some_and(|(_, m)| m.text.to_string() == live[0]));
        if let Some(id) = found {
            break id;
        }
        assert!(Instant::now() < deadline, "no live post appeared");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let stored = |id: i64| {
        let repo = demo.app.backend.repo.clone();
        async move { repo.get_post(siftgram_core::model::PostKey::new(channel, id).unwrap()).await.unwrap().is_some() }
    };
    let deadline = Instant::now() + PATIENCE;
    while !stored(first_live).await {
        assert!(Instant::now() < deadline, "the live post was not stored");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    send(&browser, "/ask где прорвало трубу теплотрассы?").await;
    let cited = format!("document.querySelector('.msg.in a[href=\"https://t.me/severogorsk_today/{first_live}\"]') !== null");
    browser.until("the cited answer", PATIENCE, &cited).await;
    browser.screenshot("demo-6-answer").await;
    browser.click(&format!(".msg.in a[href=\"https://t.me/severogorsk_today/{first_live}\"]")).await;
    browser.until("the cited post", PATIENCE, "!document.querySelector('#post').hidden").await;
    let post = browser.eval("document.querySelector('#post').innerText").await;
    assert!(post.as_str().unwrap().contains("прорвало трубу"), "{post}");
    browser.screenshot("demo-7-cited-post").await;
    browser.click("#panel-close").await;

    // The digest panel's "send one now" button.
    send(&browser, "/digest").await;
    browser.until("the digest panel", PATIENCE, "[...document.querySelectorAll('.kb button')].some(b => b.innerText.includes('Прислать сейчас'))").await;
    browser.eval("[...document.querySelectorAll('.kb button')].filter(b => b.innerText.includes('Прислать сейчас')).pop().click() || true").await;
    browser.until("the digest", PATIENCE, &any_bot_message("Дайджест ·")).await;
    browser.screenshot("demo-8-digest").await;
    let last = browser.eval(LAST_BOT_TEXT).await;
    assert!(!last.as_str().unwrap().is_empty());

    browser.close().await;
    demo.shutdown(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_api_wants_the_pages_key_and_opens_only_its_own_mini_apps() {
    siftgram_models::install_tls_provider();
    let data = tempfile::tempdir().unwrap();
    let demo = start_demo(data.path()).await;
    let http = reqwest::Client::new();
    let key = demo.page.rsplit("key=").next().unwrap().to_owned();
    let base = demo.app.url("");
    let page = http.get(format!("{base}/demo")).send().await.unwrap();
    assert_eq!(page.status(), 200, "the page itself holds nothing");
    let no_key = http.post(format!("{base}/demo/api/say")).json(&serde_json::json!({"text": "/start"})).send().await.unwrap();
    assert_eq!(no_key.status(), 401);
    let wrong = http.get(format!("{base}/demo/api/chat")).header("x-demo-key", "0".repeat(32)).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(demo.demo.telegram.chat(DEMO_USER).is_empty(), "nothing was sent");

    let with_key = |path: &str| http.post(format!("{base}{path}")).header("x-demo-key", &key);
    let elsewhere = with_key("/demo/api/launch").json(&serde_json::json!({"url": "https://evil.example/login.html"})).send().await.unwrap();
    assert_eq!(elsewhere.status(), 400, "no signed launch data for other sites");
    let own = with_key("/demo/api/launch").json(&serde_json::json!({"url": format!("{base}/miniapp/login.html")})).send().await.unwrap();
    let url = own.json::<serde_json::Value>().await.unwrap()["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{base}/miniapp/login.html#tgWebAppData=")), "{url}");
    let too_long = with_key("/demo/api/say").json(&serde_json::json!({"text": "я".repeat(4097)})).send().await.unwrap();
    assert_eq!(too_long.status(), 400);
    let no_qr = with_key("/demo/api/scan").json(&serde_json::json!({})).send().await.unwrap();
    assert_eq!(no_qr.status(), 409, "nothing to scan before /login");
    let press = with_key("/demo/api/press").json(&serde_json::json!({"message_id": 1, "data": "x"})).send().await.unwrap();
    assert_eq!(press.status(), 404);
    assert!(demo.demo.telegram.chat(DEMO_USER).is_empty(), "refused calls send nothing");
    demo.shutdown(Duration::from_secs(10)).await;
}
