//! The fake answers like Telegram: result shapes, error codes and descriptions.

use serde_json::{Value, json};
use siftgram_fake_telegram::{FakeTelegram, Failure};

async fn call(fake: &FakeTelegram, token: &str, method: &str, params: Value) -> (u16, Value) {
    let url = format!("{}bot{token}/{method}", fake.api_url());
    // reqwest is built with rustls but no default provider in this workspace (ring only).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::Client::new().post(url).json(&params).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn errors_carry_telegrams_codes_and_descriptions() {
    let fake = FakeTelegram::start().await.unwrap();
    let t = FakeTelegram::TOKEN;
    assert_eq!(call(&fake, "1:wrong", "getMe", json!({})).await.0, 401);
    assert_eq!(call(&fake, t, "getMe", json!({})).await.1["result"]["username"], "siftgram_test_bot");
    assert_eq!(call(&fake, t, "noSuchMethod", json!({})).await.0, 404);
    let (code, body) = call(&fake, t, "sendMessage", json!({"chat_id": 5, "text": "hi"})).await;
    assert_eq!((code, body["description"].as_str()), (400, Some("Bad Request: chat not found")));

    let user = fake.user(5, "ru");
    user.says("/start");
    let (_, sent) = call(&fake, t, "SendMessage", json!({"chat_id": 5, "text": "<b>x</b> &amp; y", "parse_mode": "HTML"})).await;
    assert_eq!(sent["result"]["text"], "x & y", "method names are case-insensitive; markup is rendered");
    let id = sent["result"]["message_id"].as_i64().unwrap();
    let (code, body) = call(&fake, t, "sendMessage", json!({"chat_id": 5, "text": "a < b", "parse_mode": "HTML"})).await;
    assert!(code == 400 && body["description"].as_str().unwrap().contains("can't parse entities"));
    let (code, body) = call(&fake, t, "sendMessage", json!({"chat_id": 5, "text": "я".repeat(4097)})).await;
    assert_eq!((code, body["description"].as_str()), (400, Some("Bad Request: message is too long")));
    let (code, body) = call(&fake, t, "editMessageText", json!({"chat_id": 5, "message_id": id, "text": "x & y"})).await;
    assert!(code == 400 && body["description"].as_str().unwrap().starts_with("Bad Request: message is not modified"));
    let (code, _) = call(&fake, t, "deleteMessage", json!({"chat_id": 5, "message_id": id})).await;
    assert_eq!(code, 200);
    let (code, body) = call(&fake, t, "deleteMessage", json!({"chat_id": 5, "message_id": id})).await;
    assert_eq!((code, body["description"].as_str()), (400, Some("Bad Request: message to delete not found")));

    fake.fail_next("sendMessage", Failure::TooManyRequests { retry_after: 7 });
    let (code, body) = call(&fake, t, "sendMessage", json!({"chat_id": 5, "text": "hi"})).await;
    assert_eq!((code, body["parameters"]["retry_after"].as_i64()), (429, Some(7)));
    fake.block_bot(5);
    let (code, body) = call(&fake, t, "sendMessage", json!({"chat_id": 5, "text": "hi"})).await;
    assert_eq!((code, body["description"].as_str()), (403, Some("Forbidden: bot was blocked by the user")));
}

#[tokio::test]
async fn get_updates_serves_injected_updates_and_conflicts_with_a_webhook() {
    let fake = FakeTelegram::start().await.unwrap();
    let t = FakeTelegram::TOKEN;
    let user = fake.user(9, "en");
    fake.push_update(user.says("one"));
    fake.push_update(user.says("two"));
    let (_, body) = call(&fake, t, "getUpdates", json!({"timeout": 0})).await;
    let updates = body["result"].as_array().unwrap().clone();
    assert_eq!(updates.len(), 2);
    let next = updates[1]["update_id"].as_i64().unwrap() + 1;
    let (_, body) = call(&fake, t, "getUpdates", json!({"offset": next, "timeout": 0})).await;
    assert_eq!(body["result"], json!([]), "the offset confirms what came before");

    let (code, _) = call(&fake, t, "setWebhook", json!({"url": "http://plain.example"})).await;
    assert_eq!(code, 400, "HTTPS only");
    call(&fake, t, "setWebhook", json!({"url": "https://bot.example/hook", "secret_token": "s3cret_value"})).await;
    let (code, _) = call(&fake, t, "getUpdates", json!({})).await;
    assert_eq!(code, 409);
}
