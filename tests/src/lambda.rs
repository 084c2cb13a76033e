//! What the Lambda service hands an SQS-triggered function: the messages waiting on a queue, as
//! SQS returns them, in the event's record shape (with the queue's ARN as the event source).

/// At least `at_least` records from `<prefix><queue>` (fewer if the queue stays empty ~10 s).
pub async fn sqs_records(sdk: &aws_config::SdkConfig, prefix: &str, queue: &str, at_least: usize) -> Vec<serde_json::Value> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let url = sqs.get_queue_url().queue_name(format!("{prefix}{queue}")).send().await.expect("queue exists").queue_url.expect("url");
    let mut out = Vec::new();
    for _ in 0..10 {
        let got = sqs.receive_message().queue_url(&url).max_number_of_messages(10).wait_time_seconds(1).send().await.expect("receive");
        for m in got.messages.unwrap_or_default() {
            out.push(serde_json::json!({
                "messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body,
                "md5OfBody": m.md5_of_body, "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                "eventSource": "aws:sqs", "eventSourceARN": format!("arn:aws:sqs:us-east-1:000000000000:{prefix}{queue}"), "awsRegion": "us-east-1"
            }));
        }
        if out.len() >= at_least {
            break;
        }
    }
    out
}
