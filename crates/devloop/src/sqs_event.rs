//! SQS messages as the Lambda service hands them to a function: one record per message, with
//! the receive count, message attributes (the trace id travels there) and the queue's ARN.

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use serde_json::{Value, json};

/// The record of `message`, received from the queue `queue_arn` (`arn:aws:sqs:<region>:…`).
pub fn record(message: &Message, queue_arn: &str) -> Value {
    let region = queue_arn.split(':').nth(3).unwrap_or("us-east-1");
    let system = |name: MessageSystemAttributeName| message.attributes().and_then(|a| a.get(&name)).cloned();
    let mut attributes = serde_json::Map::new();
    attributes.insert("ApproximateReceiveCount".into(), json!(system(MessageSystemAttributeName::ApproximateReceiveCount).unwrap_or_else(|| "1".into())));
    for (name, key) in [
        (MessageSystemAttributeName::SentTimestamp, "SentTimestamp"),
        (MessageSystemAttributeName::ApproximateFirstReceiveTimestamp, "ApproximateFirstReceiveTimestamp"),
        (MessageSystemAttributeName::MessageGroupId, "MessageGroupId"),
        (MessageSystemAttributeName::MessageDeduplicationId, "MessageDeduplicationId"),
    ] {
        if let Some(v) = system(name) {
            attributes.insert(key.into(), json!(v));
        }
    }
    let message_attributes: serde_json::Map<String, Value> = message
        .message_attributes()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), json!({"stringValue": v.string_value(), "dataType": v.data_type()}))).collect())
        .unwrap_or_default();
    json!({
        "messageId": message.message_id(),
        "receiptHandle": message.receipt_handle(),
        "body": message.body(),
        "md5OfBody": message.md5_of_body(),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    })
}

/// The event for a batch of records, as the function's `handle` takes it.
pub fn event(records: Vec<Value>) -> SqsEvent {
    serde_json::from_value(json!({"Records": records})).expect("records built by `record` make an SQS event")
}
