//! What the Lambda service hands an SQS-triggered function: the messages waiting on a queue, as
//! SQS returns them, in the event's record shape (`siftgram_devloop::sqs_event`, the dev loop's
//! bridge builds the same).

/// At least `at_least` records from `<prefix><queue>` (fewer if the queue stays empty ~10 s).
pub async fn sqs_records(sdk: &aws_config::SdkConfig, prefix: &str, queue: &str, at_least: usize) -> Vec<serde_json::Value> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let url = sqs.get_queue_url().queue_name(format!("{prefix}{queue}")).send().await.expect("queue exists").queue_url.expect("url");
    let arn = format!("arn:aws:sqs:us-east-1:000000000000:{prefix}{queue}");
    let mut out = Vec::new();
    for _ in 0..10 {
        let got = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive");
        out.extend(got.messages().iter().map(|m| siftgram_devloop::sqs_event::record(m, &arn)));
        if out.len() >= at_least {
            break;
        }
    }
    out
}

/// The bot function as API Gateway invokes it, deployed on LocalStack.
pub mod bot {
    use crate::TestSystem;
    use crate::bot::WEBHOOK_SECRET;
    use serde_json::{Value, json};
    use siftgram_core::schema::queue_spec;
    use siftgram_fake_telegram::FakeTelegram;
    use std::collections::HashMap;

    pub struct Lambda {
        pub sys: TestSystem,
        pub telegram: FakeTelegram,
        pub service: siftgram_bot::BotService,
    }

    pub async fn deploy() -> Lambda {
        let sys = TestSystem::localstack().await;
        let telegram = FakeTelegram::start().await.unwrap();
        sys.queue(queue_spec("jobs").unwrap()).await;
        sys.queue(queue_spec("commands").unwrap()).await;
        let (sdk, table, prefix) = sys.aws_parts().expect("LocalStack");
        let env: HashMap<&str, String> = HashMap::from([
            ("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN.to_owned()),
            ("TELEGRAM_API_URL", telegram.api_url()),
            ("SIFTGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
            ("SIFTGRAM_TABLE", table.to_owned()),
            ("SIFTGRAM_RESOURCE_PREFIX", prefix.to_owned()),
        ]);
        let config = siftgram_fn_bot::Config::from_lookup(|k| env.get(k).cloned()).expect("config");
        let service = siftgram_fn_bot::build(&config, sdk).await.expect("the function builds");
        Lambda { sys, telegram, service }
    }

    pub fn rest_event(secret: Option<&str>, body: &str) -> String {
        let mut headers = json!({"Content-Type": "application/json", "Host": "abc.execute-api.us-east-1.amazonaws.com"});
        if let Some(s) = secret {
            headers["X-Telegram-Bot-Api-Secret-Token"] = json!(s);
        }
        let multi: Value = headers.as_object().unwrap().iter().map(|(k, v)| (k.clone(), json!([v]))).collect::<serde_json::Map<_, _>>().into();
        json!({
            "resource": "/telegram", "path": "/telegram", "httpMethod": "POST",
            "headers": headers, "multiValueHeaders": multi,
            "queryStringParameters": null, "multiValueQueryStringParameters": null, "pathParameters": null, "stageVariables": null,
            "requestContext": {
                "accountId": "000000000000", "resourceId": "r1", "stage": "prod", "requestId": "req-1",
                "identity": {"sourceIp": "149.154.167.220"}, "resourcePath": "/telegram", "httpMethod": "POST", "apiId": "abc",
                "path": "/prod/telegram", "protocol": "HTTP/1.1", "requestTimeEpoch": 1795251900000i64
            },
            "body": body, "isBase64Encoded": false
        })
        .to_string()
    }

    pub async fn invoke(lambda: &Lambda, event: &str) -> u16 {
        let request = lambda_http::request::from_str(event).expect("API Gateway event parses");
        let response = siftgram_fn_bot::handle(&lambda.service, request).await.expect("handler returns a response");
        response.status().as_u16()
    }
}
