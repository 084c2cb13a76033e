//! Consuming a queue at least once with exactly-once effects: a message is acknowledged only
//! after its handler succeeded; a failed message is released with backoff and, after the
//! queue's receive limit, dead-lettered by the queue itself. Handlers must be idempotent.

use crate::ports::{Queue, QueueError, ReceivedMessage};
use async_trait::async_trait;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct HandleError {
    pub reason: String,
    /// When to try again; None = the default backoff for this delivery.
    pub retry_after: Option<Duration>,
}

impl HandleError {
    pub fn retry(reason: impl Into<String>) -> Self {
        HandleError { reason: reason.into(), retry_after: None }
    }
}

#[async_trait]
pub trait MessageHandler: Send + Sync {
    async fn handle(&self, message: &ReceivedMessage) -> Result<(), HandleError>;
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub received: usize,
    pub acked: usize,
    pub failed: usize,
}

/// Backoff for a failed delivery: 1 s, 2 s, 4 s … capped at five minutes.
pub fn backoff(receive_count: u32) -> Duration {
    Duration::from_secs(1u64 << receive_count.saturating_sub(1).min(8)).min(Duration::from_secs(300))
}

/// Receives one batch (waiting up to `wait`) and handles its messages one by one.
pub async fn process_batch(
    queue: &dyn Queue,
    handler: &dyn MessageHandler,
    max: usize,
    wait: Duration,
) -> Result<BatchReport, QueueError> {
    let messages = queue.receive(max, wait).await?;
    let mut handled = Vec::with_capacity(messages.len());
    for message in &messages {
        handled.push(crate::trace::traced(message.trace.clone(), handler.handle(message)).await);
    }
    settle_all(queue, &messages, handled).await
}

/// Settles a batch's messages side by side: their acks can share one commit (the embedded
/// queue's group commit) instead of waiting in a row.
async fn settle_all(queue: &dyn Queue, messages: &[ReceivedMessage], handled: Vec<Result<(), HandleError>>) -> Result<BatchReport, QueueError> {
    let settled = futures_util::future::join_all(messages.iter().zip(handled).map(|(message, handled)| settle(queue, message, handled))).await;
    let mut report = BatchReport { received: messages.len(), ..Default::default() };
    for acked in settled {
        if acked? {
            report.acked += 1;
        } else {
            report.failed += 1;
        }
    }
    Ok(report)
}

/// Receives one batch and handles its messages side by side, each settled on its own — for a
/// queue whose messages need no order among themselves and whose handler is safe to run
/// concurrently (the posts queue: the indexer resolves concurrent versions of a post, as it
/// must for Lambda's concurrent batches anyway). The embedder then has a batch's posts to
/// spread over its workers instead of one at a time.
pub async fn process_batch_side_by_side(
    queue: &dyn Queue,
    handler: &dyn MessageHandler,
    max: usize,
    wait: Duration,
) -> Result<BatchReport, QueueError> {
    let messages = queue.receive(max, wait).await?;
    let handled = futures_util::future::join_all(messages.iter().map(|m| crate::trace::traced(m.trace.clone(), handler.handle(m)))).await;
    settle_all(queue, &messages, handled).await
}

/// Acknowledges a handled message, or releases a failed one for its retry; true if acked.
pub async fn settle(queue: &dyn Queue, message: &ReceivedMessage, handled: Result<(), HandleError>) -> Result<bool, QueueError> {
    match handled {
        Ok(()) => {
            queue.ack(&message.receipt).await?;
            Ok(true)
        }
        Err(error) => {
            let delay = error.retry_after.unwrap_or_else(|| backoff(message.receive_count));
            queue.release(&message.receipt, delay).await?;
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(4), Duration::from_secs(8));
        assert_eq!(backoff(50), Duration::from_secs(256));
    }
}
