//! The bot Lambda as API Gateway invokes it: real REST API (v1) and HTTP API (v2) proxy events,
//! built from JSON the way the Lambda runtime receives them, handled by the function's own
//! `build` + `handle` over LocalStack's DynamoDB and SQS.

use serde_json::json;
use siftgram_tests::bot::WEBHOOK_SECRET;
use siftgram_tests::lambda::bot::{deploy, invoke, rest_event};
use std::collections::HashMap;

fn http_v2_event(secret: &str, body: &str) -> String {
    json!({
        "version": "2.0", "routeKey": "POST /telegram", "rawPath": "/telegram", "rawQueryString": "",
        "headers": {"content-type": "application/json", "x-telegram-bot-api-secret-token": secret},
        "requestContext": {
            "accountId": "000000000000", "apiId": "abc", "domainName": "abc.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc", "http": {"method": "POST", "path": "/telegram", "protocol": "HTTP/1.1",
            "sourceIp": "149.154.167.220", "userAgent": ""}, "requestId": "req-2", "routeKey": "POST /telegram",
            "stage": "$default", "time": "21/Nov/2026:09:05:00 +0000", "timeEpoch": 1795251900000i64
        },
        "body": body, "isBase64Encoded": false
    })
    .to_string()
}

mod localstack {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rest_api_event_with_the_secret_reaches_the_handler_tree() {
        let lambda = deploy().await;
        let anna = lambda.telegram.user(601, "ru");
        let update = anna.says("/start").to_string();
        assert_eq!(invoke(&lambda, &rest_event(Some(WEBHOOK_SECRET), &update)).await, 200);
        let reply = lambda.telegram.bot_messages(601).pop().expect("a reply");
        assert!(reply.text.contains("/login"), "{}", reply.text);
        assert_eq!(invoke(&lambda, &rest_event(Some(WEBHOOK_SECRET), &update)).await, 200, "redelivery acknowledged");
        assert_eq!(lambda.telegram.bot_messages(601).len(), 1, "and not answered twice");
        lambda.sys.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_http_api_v2_event_is_accepted_too() {
        let lambda = deploy().await;
        let john = lambda.telegram.user(602, "en");
        assert_eq!(invoke(&lambda, &http_v2_event(WEBHOOK_SECRET, &john.says("/help").to_string())).await, 200);
        assert!(lambda.telegram.bot_messages(602).pop().unwrap().text.contains("Commands"));
        lambda.sys.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn forged_secrets_and_malformed_bodies_are_refused_before_any_write() {
        let lambda = deploy().await;
        let anna = lambda.telegram.user(603, "ru");
        let update = anna.says("/start").to_string();
        assert_eq!(invoke(&lambda, &rest_event(Some("forged-secret-forged-secret"), &update)).await, 403);
        assert_eq!(invoke(&lambda, &rest_event(None, &update)).await, 403);
        assert_eq!(invoke(&lambda, &rest_event(Some(WEBHOOK_SECRET), "{\"update_id\": ")).await, 400);
        assert!(lambda.telegram.calls_to("sendMessage").is_empty());
        let stored = lambda.sys.repo.get_user(siftgram_core::model::UserId::new(603).unwrap()).await.unwrap();
        assert!(stored.is_none(), "nothing was written for refused calls");
        lambda.sys.cleanup().await;
    }
}

#[test]
fn the_function_will_not_start_without_a_webhook_secret() {
    let env = HashMap::from([("TELEGRAM_BOT_TOKEN", "1:abc".to_owned())]);
    let err = siftgram_fn_bot::Config::from_lookup(|k| env.get(k).cloned()).unwrap_err();
    assert!(err.to_string().contains("SIFTGRAM_WEBHOOK_SECRET"), "{err}");
}
