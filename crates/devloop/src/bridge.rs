//! The event-source bridge: what an SQS event-source mapping with `ReportBatchItemFailures`
//! does, for the mappings in `infra/functions.json`. Each poll receives up to the mapping's batch
//! size (waiting up to its batching window), invokes the function with the records, and deletes
//! the records the function did not report as failed. Failed records, and the whole batch when the
//! invocation itself fails, are left alone: they come back after the queue's visibility timeout,
//! and the queue's own redrive policy moves them to the dead-letter queue after its declared
//! receives — exactly what happens in AWS.

use crate::sqs_event;
use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use siftgram_core::schema::{QueueTrigger, queue_spec};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A function an SQS mapping invokes (the function crate's `handle`).
#[async_trait]
pub trait SqsFunction: Send + Sync {
    /// Err: the invocation failed as a whole (the function panicked or returned an error).
    async fn invoke(&self, event: SqsEvent) -> Result<SqsBatchResponse, String>;
}

#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("{function}: the mapping names the queue {queue:?}, which {why}")]
    NoQueue { function: String, queue: String, why: String },
    #[error("SQS: {0}")]
    Sqs(String),
}

/// One event-source mapping, resolved against the queues that exist.
#[derive(Clone, Debug)]
pub struct Mapping {
    pub function: String,
    pub trigger: QueueTrigger,
    pub queue_url: String,
    pub queue_arn: String,
}

/// What one poll did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollReport {
    pub received: usize,
    pub deleted: usize,
    /// Left on the queue for a later delivery.
    pub failed: usize,
}

#[derive(Clone)]
pub struct EventSourceBridge {
    sqs: Client,
    prefix: String,
}

fn sqs_error(e: impl std::error::Error) -> BridgeError {
    BridgeError::Sqs(siftgram_aws::describe(&e))
}

impl EventSourceBridge {
    pub fn new(sdk: &aws_config::SdkConfig, prefix: &str) -> EventSourceBridge {
        EventSourceBridge { sqs: Client::new(sdk), prefix: prefix.to_owned() }
    }

    /// The mapping of `function` to `trigger`'s queue; refused (naming both) when the queue is
    /// not in the schema or was not created (`siftgram migrate` creates them).
    pub async fn mapping(&self, function: &str, trigger: &QueueTrigger) -> Result<Mapping, BridgeError> {
        let no_queue = |why: String| BridgeError::NoQueue { function: function.to_owned(), queue: trigger.queue.clone(), why };
        let spec = queue_spec(&trigger.queue).map_err(|e| no_queue(format!("is not in the schema ({e})")))?;
        let queue = siftgram_aws::SqsQueue::open(&self.sqs, &self.prefix, spec).await.map_err(|e| no_queue(format!("does not exist ({e}); run `siftgram migrate --backend aws`")))?;
        let arn = queue.arn().await.map_err(|e| BridgeError::Sqs(e.to_string()))?;
        Ok(Mapping { function: function.to_owned(), trigger: trigger.clone(), queue_url: queue.url().to_owned(), queue_arn: arn })
    }

    /// Every mapping of the shipped manifest, resolved.
    pub async fn shipped_mappings(&self) -> Result<Vec<Mapping>, BridgeError> {
        let mut out = Vec::new();
        for (function, trigger) in siftgram_core::schema::queue_triggers().map_err(|e| BridgeError::Sqs(e.to_string()))? {
            out.push(self.mapping(&function, &trigger).await?);
        }
        Ok(out)
    }

    /// One receive → invoke → delete round; `wait` caps the long poll (the batching window, at
    /// least a second, when longer).
    pub async fn poll_once(&self, mapping: &Mapping, function: &dyn SqsFunction, wait: Duration) -> Result<PollReport, BridgeError> {
        let wait = wait.max(Duration::from_secs(u64::from(mapping.trigger.batching_window_secs))).min(Duration::from_secs(20));
        let received = self
            .sqs
            .receive_message()
            .queue_url(&mapping.queue_url)
            .max_number_of_messages(mapping.trigger.batch_size as i32)
            .wait_time_seconds(wait.as_secs() as i32)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(sqs_error)?;
        let messages = received.messages();
        if messages.is_empty() {
            return Ok(PollReport::default());
        }
        let records = messages.iter().map(|m| sqs_event::record(m, &mapping.queue_arn)).collect();
        let failed: Vec<String> = match function.invoke(sqs_event::event(records)).await {
            Ok(response) => response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect(),
            Err(error) => {
                tracing::warn!(function = %mapping.function, queue = %mapping.trigger.queue, %error, "invocation failed; the batch comes back after the visibility timeout");
                messages.iter().filter_map(|m| m.message_id().map(str::to_owned)).collect()
            }
        };
        let done: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .filter(|m| m.message_id().is_none_or(|id| !failed.iter().any(|f| f == id)))
            .enumerate()
            .filter_map(|(i, m)| DeleteMessageBatchRequestEntry::builder().id(i.to_string()).receipt_handle(m.receipt_handle()?).build().ok())
            .collect();
        let deleted = done.len();
        if !done.is_empty() {
            self.sqs.delete_message_batch().queue_url(&mapping.queue_url).set_entries(Some(done)).send().await.map_err(sqs_error)?;
        }
        Ok(PollReport { received: messages.len(), deleted, failed: messages.len() - deleted })
    }

    /// Polls `mapping` into `function` until `stop` turns true.
    pub fn spawn(&self, mapping: Mapping, function: Arc<dyn SqsFunction>, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
        let bridge = self.clone();
        tokio::spawn(async move {
            loop {
                let poll = bridge.poll_once(&mapping, &*function, Duration::from_secs(2));
                let outcome = tokio::select! {
                    outcome = poll => outcome,
                    _ = stop.wait_for(|s| *s) => return,
                };
                if let Err(e) = outcome {
                    tracing::error!(function = %mapping.function, queue = %mapping.trigger.queue, error = %e, "polling failed; trying again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        })
    }
}
