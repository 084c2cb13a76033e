//! A durable queue in the same redb file: messages survive restarts, an unacknowledged message
//! becomes visible again after its visibility timeout, and a message received `max_receives`
//! times without an ack moves to the dead-letter queue. FIFO queues deliver each group in order
//! with one batch in flight per group, and drop a repeated dedup id within five minutes.

use crate::db::{EmbeddedDb, backend};
use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use siftgram_core::ports::{OutgoingMessage, Queue, QueueError, QueueSpec, Receipt, ReceivedMessage};
use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

/// Key: queue name, NUL, sequence number (big-endian, so byte order is send order).
const MESSAGES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("queue_messages");
const SEQUENCES: TableDefinition<&str, u64> = TableDefinition::new("queue_sequences");
/// Key: queue name, NUL, dedup id. Value: when the id may be used again (ms).
const DEDUP: TableDefinition<&[u8], u64> = TableDefinition::new("queue_dedup");
const DEDUP_WINDOW_MS: u64 = 5 * 60 * 1000;

/// Wakes receivers waiting on a queue when a message is sent to it in this process.
#[derive(Default)]
pub struct Wakeups(Mutex<HashMap<String, Arc<Notify>>>);

impl Wakeups {
    fn for_queue(&self, name: &str) -> Arc<Notify> {
        self.0.lock().expect("wakeups lock").entry(name.to_owned()).or_default().clone()
    }
}

#[derive(Serialize, Deserialize)]
struct StoredMessage {
    body: String,
    group: Option<String>,
    receive_count: u32,
    /// Epoch milliseconds when the message may be received (again).
    visible_at: u64,
    /// Changes on every delivery; only the newest receipt acknowledges.
    delivery: u64,
    /// The sender's trace id (absent in messages stored before traces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    trace: Option<String>,
}

#[derive(Clone)]
pub struct EmbeddedQueue {
    db: EmbeddedDb,
    spec: QueueSpec,
    notify: Arc<Notify>,
}

impl EmbeddedQueue {
    /// The queue named by `spec` (created on first send). Its dead letters go to `spec.dead_letter()`.
    pub fn open(db: &EmbeddedDb, spec: QueueSpec) -> Result<Self, QueueError> {
        spec.validate()?;
        let notify = db.queue_wakeups.for_queue(&spec.name);
        Ok(EmbeddedQueue { db: db.clone(), spec, notify })
    }

    pub fn dead_letter_queue(&self) -> Result<EmbeddedQueue, QueueError> {
        EmbeddedQueue::open(&self.db, self.spec.dead_letter())
    }

    async fn blocking<T, F>(&self, work: F) -> Result<T, QueueError>
    where
        T: Send + 'static,
        F: FnOnce(&redb::Database, &QueueSpec, u64) -> Result<T, QueueError> + Send + 'static,
    {
        let db = self.db.db.clone();
        let spec = self.spec.clone();
        tokio::task::spawn_blocking(move || work(&db, &spec, now_ms()))
            .await
            .map_err(|e| QueueError::Backend(backend(e)))?
    }

    /// Writes through the database's group commit (`crate::GroupCommit`); `work` may run more
    /// than once, each time in a fresh transaction.
    async fn write<T, F>(&self, mut work: F) -> Result<T, QueueError>
    where
        T: Send + 'static,
        F: FnMut(&redb::WriteTransaction, &QueueSpec, u64) -> Result<T, QueueError> + Send + 'static,
    {
        let spec = self.spec.clone();
        let now = now_ms();
        self.db.writer.write(move |txn| work(txn, &spec, now)).await.map_err(be)?
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn be<E: std::fmt::Display>(e: E) -> QueueError {
    QueueError::Backend(backend(e))
}

fn message_key(queue: &str, seq: u64) -> Vec<u8> {
    [queue.as_bytes(), &[0], &seq.to_be_bytes()].concat()
}

fn queue_bounds(queue: &str) -> (Vec<u8>, Vec<u8>) {
    (message_key(queue, 0), message_key(queue, u64::MAX))
}

fn seq_of(key: &[u8]) -> u64 {
    let tail: [u8; 8] = key[key.len() - 8..].try_into().expect("8-byte sequence");
    u64::from_be_bytes(tail)
}

fn parse_receipt(receipt: &Receipt) -> Result<(u64, u64), QueueError> {
    let invalid = || QueueError::Invalid("malformed receipt".into());
    let (seq, delivery) = receipt.0.split_once(':').ok_or_else(invalid)?;
    Ok((seq.parse().map_err(|_| invalid())?, delivery.parse().map_err(|_| invalid())?))
}

fn append(txn: &redb::WriteTransaction, queue: &str, message: &StoredMessage) -> Result<u64, QueueError> {
    let mut sequences = txn.open_table(SEQUENCES).map_err(be)?;
    let seq = sequences.get(queue).map_err(be)?.map_or(1, |v| v.value());
    sequences.insert(queue, seq + 1).map_err(be)?;
    let mut messages = txn.open_table(MESSAGES).map_err(be)?;
    let bytes = serde_json::to_vec(message).map_err(be)?;
    messages.insert(message_key(queue, seq).as_slice(), bytes.as_slice()).map_err(be)?;
    Ok(seq)
}

/// Receives up to `max` messages in one write transaction.
fn take_visible(txn: &redb::WriteTransaction, spec: &QueueSpec, now: u64, max: usize) -> Result<Vec<ReceivedMessage>, QueueError> {
    let mut out = Vec::new();
    let mut dead = Vec::new();
    {
        let mut messages = txn.open_table(MESSAGES).map_err(be)?;
        let (lo, hi) = queue_bounds(&spec.name);
        let mut blocked_groups = HashSet::new();
        let mut updates = Vec::new();
        for entry in messages.range::<&[u8]>(lo.as_slice()..=hi.as_slice()).map_err(be)? {
            if updates.len() >= max {
                break;
            }
            let (key, value) = entry.map_err(be)?;
            let seq = seq_of(key.value());
            let mut message: StoredMessage = serde_json::from_slice(value.value()).map_err(be)?;
            let group = message.group.clone().filter(|_| spec.fifo);
            if group.as_ref().is_some_and(|g| blocked_groups.contains(g)) {
                continue;
            }
            if message.visible_at > now {
                // In flight (or delayed): later messages of its group must wait for it.
                blocked_groups.extend(group);
                continue;
            }
            if message.receive_count >= spec.max_receives {
                dead.push((seq, message));
                continue;
            }
            message.receive_count += 1;
            message.visible_at = now + spec.visibility_timeout.as_millis() as u64;
            message.delivery = message.delivery.wrapping_add(1);
            updates.push((seq, message));
        }
        for (seq, message) in &updates {
            let bytes = serde_json::to_vec(message).map_err(be)?;
            messages.insert(message_key(&spec.name, *seq).as_slice(), bytes.as_slice()).map_err(be)?;
            out.push(ReceivedMessage {
                id: format!("{}-{seq}", spec.name),
                body: message.body.clone(),
                receipt: Receipt(format!("{seq}:{}", message.delivery)),
                receive_count: message.receive_count,
                group: message.group.clone(),
                trace: message.trace.as_deref().and_then(siftgram_core::trace::TraceId::parse),
            });
        }
        for (seq, _) in &dead {
            messages.remove(message_key(&spec.name, *seq).as_slice()).map_err(be)?;
        }
    }
    let dlq = spec.dead_letter_name();
    for (_, mut message) in dead {
        tracing::warn!(queue = %spec.name, receives = message.receive_count, "message moved to the dead-letter queue");
        message.receive_count = 0;
        message.visible_at = 0;
        append(txn, &dlq, &message)?;
    }
    Ok(out)
}

/// Changes a delivered message if `receipt` is its newest; `change` None deletes it.
fn with_delivery(
    txn: &redb::WriteTransaction,
    spec: &QueueSpec,
    receipt: &Receipt,
    change: impl FnOnce(&mut StoredMessage) -> bool,
) -> Result<(), QueueError> {
    let (seq, delivery) = parse_receipt(receipt)?;
    {
        let mut messages = txn.open_table(MESSAGES).map_err(be)?;
        let key = message_key(&spec.name, seq);
        let current = messages.get(key.as_slice()).map_err(be)?.map(|v| serde_json::from_slice::<StoredMessage>(v.value()));
        if let Some(message) = current {
            let mut message = message.map_err(be)?;
            if message.delivery == delivery {
                if change(&mut message) {
                    let bytes = serde_json::to_vec(&message).map_err(be)?;
                    messages.insert(key.as_slice(), bytes.as_slice()).map_err(be)?;
                } else {
                    messages.remove(key.as_slice()).map_err(be)?;
                }
            }
        }
    }
    Ok(())
}

#[async_trait]
impl Queue for EmbeddedQueue {
    fn spec(&self) -> &QueueSpec {
        &self.spec
    }

    async fn send_batch(&self, messages: Vec<OutgoingMessage>) -> Result<(), QueueError> {
        for message in &messages {
            self.spec.validate_message(message)?;
        }
        self.write(move |txn, spec, now| {
            for message in &messages {
                if spec.fifo
                    && let Some(id) = &message.dedup_id
                {
                    let mut dedup = txn.open_table(DEDUP).map_err(be)?;
                    let key = [spec.name.as_bytes(), &[0], id.as_bytes()].concat();
                    let seen = dedup.get(key.as_slice()).map_err(be)?.map(|v| v.value());
                    if seen.is_some_and(|until| until > now) {
                        continue;
                    }
                    dedup.insert(key.as_slice(), now + DEDUP_WINDOW_MS).map_err(be)?;
                }
                let trace = message.trace.as_ref().map(|t| t.as_str().to_owned());
                let stored = StoredMessage { body: message.body.clone(), group: message.group.clone(), receive_count: 0, visible_at: 0, delivery: 0, trace };
                append(txn, &spec.name, &stored)?;
            }
            Ok(())
        })
        .await?;
        self.notify.notify_waiters();
        Ok(())
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<ReceivedMessage>, QueueError> {
        if max == 0 {
            return Err(QueueError::Invalid("receive of 0 messages".into()));
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Register interest before looking, so a send between the look and the wait wakes us.
            let notified = self.notify.notified();
            let got = self.write(move |txn, spec, now| take_visible(txn, spec, now, max)).await?;
            let now = tokio::time::Instant::now();
            if !got.is_empty() || now >= deadline {
                return Ok(got);
            }
            // In-flight messages become visible again without a send: look again at least every 200 ms.
            let nap = (deadline - now).min(Duration::from_millis(200));
            let _ = tokio::time::timeout(nap, notified).await;
        }
    }

    async fn ack(&self, receipt: &Receipt) -> Result<(), QueueError> {
        let receipt = receipt.clone();
        self.write(move |txn, spec, _| with_delivery(txn, spec, &receipt, |_| false)).await
    }

    async fn release(&self, receipt: &Receipt, delay: Duration) -> Result<(), QueueError> {
        let receipt = receipt.clone();
        self.write(move |txn, spec, now| {
            with_delivery(txn, spec, &receipt, |m| {
                m.visible_at = now + delay.as_millis() as u64;
                true
            })
        })
        .await
    }

    async fn approximate_len(&self) -> Result<usize, QueueError> {
        self.blocking(|db, spec, _| {
            let txn = db.begin_read().map_err(be)?;
            let messages = match txn.open_table(MESSAGES) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
                Err(e) => return Err(be(e)),
            };
            let (lo, hi) = queue_bounds(&spec.name);
            let bounds: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Included(&lo), Bound::Included(&hi));
            Ok(messages.range::<&[u8]>(bounds).map_err(be)?.count())
        })
        .await
    }
}
