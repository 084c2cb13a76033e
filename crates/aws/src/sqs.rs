//! Queues on SQS: a dead-letter queue per queue (redrive after `max_receives`), FIFO queues with
//! content-based deduplication unless a dedup id is given.

use crate::describe;
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry};
use siftgram_core::trace::TraceId;
use siftgram_core::ports::queue::{MAX_BATCH_MESSAGES, MAX_MESSAGE_BYTES};
use siftgram_core::ports::{OutgoingMessage, Queue, QueueError, QueueSpec, Receipt, ReceivedMessage};
use std::collections::HashMap;
use std::time::Duration;

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
    spec: QueueSpec,
}

fn backend<E: std::error::Error>(e: E) -> QueueError {
    QueueError::Backend(describe(&e))
}

/// `<prefix><name>`, with `.fifo` for FIFO queues as SQS requires.
fn physical_name(prefix: &str, spec: &QueueSpec) -> String {
    format!("{prefix}{}{}", spec.name, if spec.fifo { ".fifo" } else { "" })
}

impl SqsQueue {
    /// Creates (or updates) the queue and its dead-letter queue; idempotent.
    pub async fn ensure(client: &Client, prefix: &str, spec: QueueSpec) -> Result<SqsQueue, QueueError> {
        spec.validate()?;
        let mut attributes = base_attributes(&spec);
        if spec.has_dead_letter_queue() {
            let dlq = spec.dead_letter();
            let dlq_url = create_or_update(client, &physical_name(prefix, &dlq), base_attributes(&dlq)).await?;
            let dlq_arn = queue_arn(client, &dlq_url).await?;
            let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec.max_receives});
            attributes.insert(QueueAttributeName::RedrivePolicy, redrive.to_string());
        }
        let url = create_or_update(client, &physical_name(prefix, &spec), attributes).await?;
        Ok(SqsQueue { client: client.clone(), url, spec })
    }

    /// An existing queue; `NoSuchQueue` if `migrate` has not created it.
    pub async fn open(client: &Client, prefix: &str, spec: QueueSpec) -> Result<SqsQueue, QueueError> {
        spec.validate()?;
        let name = physical_name(prefix, &spec);
        let out = client.get_queue_url().queue_name(&name).send().await.map_err(|e| {
            if e.as_service_error().is_some_and(|s| s.is_queue_does_not_exist()) { QueueError::NoSuchQueue(name.clone()) } else { backend(e) }
        })?;
        let url = out.queue_url().ok_or_else(|| QueueError::NoSuchQueue(name.clone()))?.to_owned();
        Ok(SqsQueue { client: client.clone(), url, spec })
    }

    /// This queue's dead-letter queue.
    pub async fn dead_letter_queue(&self, prefix: &str) -> Result<SqsQueue, QueueError> {
        SqsQueue::open(&self.client, prefix, self.spec.dead_letter()).await
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The queue's ARN (what event-source mappings and redrive policies name).
    pub async fn arn(&self) -> Result<String, QueueError> {
        queue_arn(&self.client, &self.url).await
    }
}

async fn queue_arn(client: &Client, url: &str) -> Result<String, QueueError> {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(backend)?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| QueueError::Backend(format!("{url} has no ARN")))
}

fn base_attributes(spec: &QueueSpec) -> HashMap<QueueAttributeName, String> {
    let mut attributes = HashMap::from([
        (QueueAttributeName::VisibilityTimeout, spec.visibility_timeout.as_secs().to_string()),
        (QueueAttributeName::MessageRetentionPeriod, (14 * 24 * 3600).to_string()),
    ]);
    if spec.fifo {
        attributes.insert(QueueAttributeName::FifoQueue, "true".into());
        attributes.insert(QueueAttributeName::ContentBasedDeduplication, "true".into());
    }
    attributes
}

async fn create_or_update(client: &Client, name: &str, attributes: HashMap<QueueAttributeName, String>) -> Result<String, QueueError> {
    let created = client.create_queue().queue_name(name).set_attributes(Some(attributes.clone())).send().await;
    match created {
        Ok(out) => out.queue_url().map(str::to_owned).ok_or_else(|| QueueError::Backend("no queue URL".into())),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_queue_name_exists()) => {
            // Exists with other settings: bring them up to date (FifoQueue cannot change; leave it out).
            let url = client.get_queue_url().queue_name(name).send().await.map_err(backend)?.queue_url().unwrap_or_default().to_owned();
            let mut attributes = attributes;
            attributes.remove(&QueueAttributeName::FifoQueue);
            client.set_queue_attributes().queue_url(&url).set_attributes(Some(attributes)).send().await.map_err(backend)?;
            Ok(url)
        }
        Err(e) => Err(backend(e)),
    }
}

/// The message attribute carrying the sender's trace id (`siftgram_core::trace`).
pub const TRACE_ATTRIBUTE: &str = "trace_id";

fn trace_attribute(trace: &TraceId) -> Result<HashMap<String, MessageAttributeValue>, QueueError> {
    let value = MessageAttributeValue::builder().data_type("String").string_value(trace.as_str()).build().map_err(backend)?;
    Ok(HashMap::from([(TRACE_ATTRIBUTE.to_owned(), value)]))
}

/// Splits messages into SQS batches: at most ten and at most 256 KiB each.
fn batches(messages: Vec<OutgoingMessage>) -> Vec<Vec<OutgoingMessage>> {
    let mut out: Vec<Vec<OutgoingMessage>> = Vec::new();
    let mut size = 0;
    for message in messages {
        // Attributes count toward SQS's size limit too.
        let len = message.body.len() + message.trace.as_ref().map_or(0, |t| TRACE_ATTRIBUTE.len() + "String".len() + t.as_str().len());
        match out.last_mut() {
            Some(batch) if batch.len() < MAX_BATCH_MESSAGES && size + len <= MAX_MESSAGE_BYTES => {
                size += len;
                batch.push(message);
            }
            _ => {
                size = len;
                out.push(vec![message]);
            }
        }
    }
    out
}

#[async_trait]
impl Queue for SqsQueue {
    fn spec(&self) -> &QueueSpec {
        &self.spec
    }

    async fn send_batch(&self, messages: Vec<OutgoingMessage>) -> Result<(), QueueError> {
        for message in &messages {
            self.spec.validate_message(message)?;
        }
        for batch in batches(messages) {
            let mut pending: Vec<(usize, OutgoingMessage)> = batch.into_iter().enumerate().collect();
            for attempt in 0.. {
                let entries = pending
                    .iter()
                    .map(|(i, m)| {
                        SendMessageBatchRequestEntry::builder()
                            .id(i.to_string())
                            .message_body(&m.body)
                            .set_message_group_id(m.group.clone().filter(|_| self.spec.fifo))
                            .set_message_deduplication_id(m.dedup_id.clone().filter(|_| self.spec.fifo))
                            .set_message_attributes(m.trace.as_ref().map(trace_attribute).transpose()?)
                            .build()
                            .map_err(backend)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let out = self.client.send_message_batch().queue_url(&self.url).set_entries(Some(entries)).send().await.map_err(backend)?;
                let failed: Vec<String> = out.failed().iter().map(|f| f.id().to_owned()).collect();
                if failed.is_empty() {
                    break;
                }
                if attempt >= 4 || out.failed().iter().any(|f| f.sender_fault()) {
                    let reasons: Vec<String> = out.failed().iter().map(|f| format!("{}: {}", f.code(), f.message().unwrap_or(""))).collect();
                    return Err(QueueError::Backend(format!("SQS refused messages: {}", reasons.join("; "))));
                }
                pending.retain(|(i, _)| failed.contains(&i.to_string()));
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
        }
        Ok(())
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<ReceivedMessage>, QueueError> {
        if max == 0 {
            return Err(QueueError::Invalid("receive of 0 messages".into()));
        }
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.min(MAX_BATCH_MESSAGES) as i32)
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .message_attribute_names(TRACE_ATTRIBUTE)
            .send()
            .await
            .map_err(backend)?;
        Ok(out
            .messages()
            .iter()
            .map(|m| {
                let attr = |name| m.attributes().and_then(|a| a.get(&name)).cloned();
                ReceivedMessage {
                    id: m.message_id().unwrap_or_default().to_owned(),
                    body: m.body().unwrap_or_default().to_owned(),
                    receipt: Receipt(m.receipt_handle().unwrap_or_default().to_owned()),
                    receive_count: attr(MessageSystemAttributeName::ApproximateReceiveCount).and_then(|c| c.parse().ok()).unwrap_or(1),
                    group: attr(MessageSystemAttributeName::MessageGroupId),
                    trace: m.message_attributes().and_then(|a| a.get(TRACE_ATTRIBUTE)).and_then(|v| v.string_value()).and_then(TraceId::parse),
                }
            })
            .collect())
    }

    async fn ack(&self, receipt: &Receipt) -> Result<(), QueueError> {
        match self.client.delete_message().queue_url(&self.url).receipt_handle(&receipt.0).send().await {
            Ok(_) => Ok(()),
            // Already gone, or redelivered since: the newer delivery will be acknowledged.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_receipt_handle_is_invalid()) => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }

    async fn release(&self, receipt: &Receipt, delay: Duration) -> Result<(), QueueError> {
        let result = self
            .client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(&receipt.0)
            .visibility_timeout(delay.as_secs().min(12 * 3600) as i32)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_message_not_inflight() || s.is_receipt_handle_is_invalid()) => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }

    async fn approximate_len(&self) -> Result<usize, QueueError> {
        let names = [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        ];
        let out = self.client.get_queue_attributes().queue_url(&self.url).set_attribute_names(Some(names.to_vec())).send().await.map_err(backend)?;
        let attributes = out.attributes().cloned().unwrap_or_default();
        Ok(names.iter().filter_map(|n| attributes.get(n)?.parse::<usize>().ok()).sum())
    }
}
