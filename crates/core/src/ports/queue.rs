//! The queue: at-least-once delivery with a visibility timeout, acknowledgement, redelivery,
//! dead-lettering after N receives and (for FIFO queues) in-order delivery per message group.
//!
//! SQS semantics; the embedded durable queue implements the same, and one conformance suite (in
//! `tests/`) runs against both. Consumers must be idempotent: a message may arrive twice.

use async_trait::async_trait;
use std::time::Duration;

/// SQS's limit for one message, and for one batch.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
pub const MAX_BATCH_MESSAGES: usize = 10;

/// How a queue behaves; applied when the queue is created (by `migrate`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueSpec {
    /// Logical name (`jobs`, `commands`, `posts`, `events`); backends may add a prefix or suffix.
    pub name: String,
    pub visibility_timeout: Duration,
    /// Receives without an ack after which a message goes to the dead-letter queue.
    pub max_receives: u32,
    /// In-order delivery per group; messages need a group.
    pub fifo: bool,
}

impl QueueSpec {
    pub fn standard(name: impl Into<String>) -> Self {
        QueueSpec { name: name.into(), visibility_timeout: Duration::from_secs(60), max_receives: 5, fifo: false }
    }
    pub fn fifo(name: impl Into<String>) -> Self {
        QueueSpec { fifo: true, ..QueueSpec::standard(name) }
    }
    pub fn visibility(mut self, timeout: Duration) -> Self {
        self.visibility_timeout = timeout;
        self
    }
    pub fn max_receives(mut self, n: u32) -> Self {
        self.max_receives = n;
        self
    }
    /// The logical name of this queue's dead-letter queue.
    pub fn dead_letter_name(&self) -> String {
        format!("{}-dlq", self.name)
    }
    /// The dead-letter queue's own spec: it keeps messages however often they are received.
    pub fn dead_letter(&self) -> QueueSpec {
        QueueSpec { name: self.dead_letter_name(), max_receives: Self::NEVER_DEAD_LETTER, ..self.clone() }
    }

    /// `max_receives` of a queue that has no dead-letter queue (dead-letter queues themselves).
    pub const NEVER_DEAD_LETTER: u32 = u32::MAX;

    pub fn has_dead_letter_queue(&self) -> bool {
        self.max_receives != Self::NEVER_DEAD_LETTER
    }

    pub fn validate(&self) -> Result<(), QueueError> {
        let ok_chars = self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if self.name.is_empty() || self.name.len() > 60 || !ok_chars {
            return Err(QueueError::Invalid(format!("queue name {:?} must be 1-60 of [A-Za-z0-9_-]", self.name)));
        }
        if !(1..=1000).contains(&self.max_receives) && self.has_dead_letter_queue() {
            return Err(QueueError::Invalid("max_receives must be 1 to 1000".into()));
        }
        if self.visibility_timeout > Duration::from_secs(12 * 3600) {
            return Err(QueueError::Invalid("visibility timeout over 12 hours".into()));
        }
        Ok(())
    }

    pub fn validate_message(&self, message: &OutgoingMessage) -> Result<(), QueueError> {
        if message.body.is_empty() {
            return Err(QueueError::Invalid("empty message body".into()));
        }
        if message.body.len() > MAX_MESSAGE_BYTES {
            return Err(QueueError::Invalid(format!(
                "message of {} bytes is over the {MAX_MESSAGE_BYTES}-byte limit",
                message.body.len()
            )));
        }
        if self.fifo && message.group.as_deref().is_none_or(str::is_empty) {
            return Err(QueueError::Invalid(format!("FIFO queue {} needs a message group", self.name)));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub body: String,
    /// FIFO queues: messages of one group are delivered in order, one in flight at a time.
    pub group: Option<String>,
    /// FIFO queues: a second message with the same id within five minutes is dropped.
    pub dedup_id: Option<String>,
    /// The trace of the work that sent it (`crate::trace`); taken from the sender's context.
    pub trace: Option<crate::trace::TraceId>,
}

impl OutgoingMessage {
    pub fn new(body: impl Into<String>) -> Self {
        OutgoingMessage { body: body.into(), group: None, dedup_id: None, trace: crate::trace::current() }
    }
    pub fn in_group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }
    pub fn dedup(mut self, id: impl Into<String>) -> Self {
        self.dedup_id = Some(id.into());
        self
    }
}

/// Proof of one delivery; acknowledging needs the newest one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Receipt(pub String);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub id: String,
    pub body: String,
    pub receipt: Receipt,
    /// 1 on first delivery.
    pub receive_count: u32,
    pub group: Option<String>,
    /// The trace it was sent under, handled under again.
    pub trace: Option<crate::trace::TraceId>,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum QueueError {
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("no queue named {0}; run `siftgram migrate`")]
    NoSuchQueue(String),
    #[error("queue backend: {0}")]
    Backend(String),
}

#[async_trait]
pub trait Queue: Send + Sync {
    fn spec(&self) -> &QueueSpec;
    /// Sends all messages (chunked as the backend needs); validates all before sending any.
    async fn send_batch(&self, messages: Vec<OutgoingMessage>) -> Result<(), QueueError>;
    /// Up to `max` visible messages, waiting up to `wait` for the first to arrive.
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<ReceivedMessage>, QueueError>;
    /// Deletes a received message. A receipt from an older delivery may be ignored.
    async fn ack(&self, receipt: &Receipt) -> Result<(), QueueError>;
    /// Makes a received message visible again after `delay` (zero: at once).
    async fn release(&self, receipt: &Receipt, delay: Duration) -> Result<(), QueueError>;
    /// Messages waiting or in flight (approximate on SQS).
    async fn approximate_len(&self) -> Result<usize, QueueError>;

    async fn send(&self, message: OutgoingMessage) -> Result<(), QueueError> {
        self.send_batch(vec![message]).await
    }
}
