use crate::TestSystem;
use serde_json::json;
use siftgram_core::consume::{HandleError, MessageHandler, process_batch};
use siftgram_core::ports::{Attrs, Condition, Item, Key, OutgoingMessage, Queue, QueueError, QueueSpec, ReceivedMessage, StoreError, TableStore, Write};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(1);

/// Receives until `want` messages arrived or `rounds` receives came back empty.
async fn receive_n(queue: &dyn Queue, want: usize, rounds: usize) -> Vec<ReceivedMessage> {
    let mut got = Vec::new();
    let mut empty = 0;
    while got.len() < want && empty < rounds {
        let batch = queue.receive(10, WAIT).await.unwrap();
        if batch.is_empty() {
            empty += 1;
        }
        got.extend(batch);
    }
    got
}

fn bodies(messages: &[ReceivedMessage]) -> Vec<String> {
    messages.iter().map(|m| m.body.clone()).collect()
}

pub async fn sent_messages_are_received_and_acked(sys: &mut TestSystem) {
    let queue = sys.queue(QueueSpec::standard("jobs").visibility(Duration::from_secs(30))).await;
    let sent: Vec<OutgoingMessage> = (0..15).map(|i| OutgoingMessage::new(format!("{{\"job\":{i}}}"))).collect();
    queue.send_batch(sent).await.unwrap();
    let got = receive_n(queue.as_ref(), 15, 5).await;
    let expected: BTreeSet<String> = (0..15).map(|i| format!("{{\"job\":{i}}}")).collect();
    assert_eq!(bodies(&got).into_iter().collect::<BTreeSet<_>>(), expected);
    assert!(got.iter().all(|m| m.receive_count == 1));
    for m in &got {
        queue.ack(&m.receipt).await.unwrap();
    }
    assert!(queue.receive(10, WAIT).await.unwrap().is_empty());
    assert_eq!(queue.approximate_len().await.unwrap(), 0);
}

pub async fn unacked_messages_come_back_after_the_visibility_timeout(sys: &mut TestSystem) {
    let queue = sys.queue(QueueSpec::standard("jobs").visibility(Duration::from_secs(1))).await;
    queue.send(OutgoingMessage::new("retry me")).await.unwrap();
    let first = receive_n(queue.as_ref(), 1, 3).await;
    assert_eq!(bodies(&first), ["retry me"]);
    assert!(queue.receive(10, Duration::ZERO).await.unwrap().is_empty(), "invisible while in flight");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = receive_n(queue.as_ref(), 1, 3).await;
    assert_eq!(bodies(&again), ["retry me"]);
    assert_eq!(again[0].receive_count, 2);
    // The old receipt no longer acknowledges; the new one does.
    queue.ack(&first[0].receipt).await.unwrap();
    queue.ack(&again[0].receipt).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(queue.receive(10, WAIT).await.unwrap().is_empty());
}

pub async fn released_messages_are_visible_at_once(sys: &mut TestSystem) {
    let queue = sys.queue(QueueSpec::standard("jobs").visibility(Duration::from_secs(60))).await;
    queue.send(OutgoingMessage::new("try again")).await.unwrap();
    let first = receive_n(queue.as_ref(), 1, 3).await;
    queue.release(&first[0].receipt, Duration::ZERO).await.unwrap();
    let again = receive_n(queue.as_ref(), 1, 3).await;
    assert_eq!(bodies(&again), ["try again"]);
    queue.ack(&again[0].receipt).await.unwrap();
}

pub async fn messages_dead_letter_after_max_receives(sys: &mut TestSystem) {
    let spec = QueueSpec::standard("posts").visibility(Duration::from_secs(30)).max_receives(2);
    let queue = sys.queue(spec.clone()).await;
    let dead = sys.dead_letters(&spec).await;
    queue.send(OutgoingMessage::new("poison")).await.unwrap();
    queue.send(OutgoingMessage::new("fine")).await.unwrap();
    for round in 1..=2 {
        let got = receive_n(queue.as_ref(), 2, 3).await;
        assert_eq!(got.len(), 2, "round {round}");
        for m in got {
            if m.body == "fine" && round == 2 {
                queue.ack(&m.receipt).await.unwrap();
            } else {
                queue.release(&m.receipt, Duration::ZERO).await.unwrap();
            }
        }
    }
    // The third receive moves "poison" (received twice without an ack) to the dead-letter queue.
    let third = queue.receive(10, WAIT).await.unwrap();
    assert!(third.is_empty(), "got {:?}", bodies(&third));
    let dead_letters = receive_n(dead.as_ref(), 1, 5).await;
    assert_eq!(bodies(&dead_letters), ["poison"]);
}

pub async fn fifo_queues_deliver_each_group_in_order(sys: &mut TestSystem) {
    let queue = sys.queue(QueueSpec::fifo("commands").visibility(Duration::from_secs(30))).await;
    let mut sent = Vec::new();
    for i in 0..4 {
        sent.push(OutgoingMessage::new(format!("alice-{i}")).in_group("alice").dedup(format!("a{i}")));
        sent.push(OutgoingMessage::new(format!("bob-{i}")).in_group("bob").dedup(format!("b{i}")));
    }
    // A repeated dedup id within the window is dropped.
    sent.push(OutgoingMessage::new("alice-0 again").in_group("alice").dedup("a0"));
    queue.send_batch(sent).await.unwrap();
    let mut order = std::collections::HashMap::<String, Vec<String>>::new();
    let mut rounds = 0;
    while order.values().map(Vec::len).sum::<usize>() < 8 && rounds < 20 {
        rounds += 1;
        let batch = queue.receive(10, WAIT).await.unwrap();
        for m in &batch {
            order.entry(m.group.clone().expect("group")).or_default().push(m.body.clone());
        }
        // A group with a message in flight holds back the rest of that group.
        if let Some(first) = batch.first() {
            let in_flight = first.group.clone();
            let blocked = queue.receive(10, Duration::ZERO).await.unwrap();
            assert!(blocked.iter().all(|m| m.group != in_flight), "group {in_flight:?} delivered past an in-flight message");
            for m in &blocked {
                queue.release(&m.receipt, Duration::ZERO).await.unwrap();
            }
        }
        for m in &batch {
            queue.ack(&m.receipt).await.unwrap();
        }
    }
    assert_eq!(order["alice"], (0..4).map(|i| format!("alice-{i}")).collect::<Vec<_>>());
    assert_eq!(order["bob"], (0..4).map(|i| format!("bob-{i}")).collect::<Vec<_>>());
    assert!(queue.receive(10, WAIT).await.unwrap().is_empty(), "the duplicate was dropped");
}

pub async fn bad_messages_are_refused_and_nothing_is_sent(sys: &mut TestSystem) {
    let queue = sys.queue(QueueSpec::fifo("commands")).await;
    let too_big = OutgoingMessage::new("x".repeat(256 * 1024 + 1)).in_group("g");
    let batch = vec![OutgoingMessage::new("ok").in_group("g"), too_big];
    assert!(matches!(queue.send_batch(batch).await, Err(QueueError::Invalid(_))));
    assert!(matches!(queue.send(OutgoingMessage::new("no group")).await, Err(QueueError::Invalid(_))));
    assert!(matches!(queue.send(OutgoingMessage::new("").in_group("g")).await, Err(QueueError::Invalid(_))));
    assert!(queue.receive(10, WAIT).await.unwrap().is_empty(), "the valid message of the refused batch was not sent");
}

/// An idempotent effect: the first delivery of a message records it and bumps a counter in one
/// transaction; later deliveries of the same message change nothing.
struct RecordOnce {
    store: Arc<dyn TableStore>,
    /// Fail (without acking) once this many messages have been handled: a consumer dying mid-batch.
    crash_after: Option<usize>,
    handled: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl MessageHandler for RecordOnce {
    async fn handle(&self, message: &ReceivedMessage) -> Result<(), HandleError> {
        let n = self.handled.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.crash_after.is_some_and(|limit| n >= limit) {
            // Never returns normally: the consumer is killed while holding the rest of the batch.
            std::future::pending::<()>().await;
        }
        for _ in 0..20 {
            let counter = self.store.get(&Key::new("effects", "count")).await.map_err(|e| HandleError::retry(e.to_string()))?;
            let (count, condition) = match &counter {
                Some(c) => (c.attr("n").and_then(|v| v.as_u64()).unwrap_or(0), Condition::Version(c.version)),
                None => (0, Condition::NotExists),
            };
            let mut attrs = Attrs::new();
            attrs.insert("n".into(), json!(count + 1));
            let writes = vec![
                Write::Put(Item::new(Key::new("effects", format!("done#{}", message.body)), Attrs::new()), Condition::NotExists),
                Write::Put(Item::new(Key::new("effects", "count"), attrs), condition),
            ];
            match self.store.transact(writes).await {
                Ok(()) => return Ok(()),
                Err(StoreError::TransactionCancelled { index: 0, .. }) => return Ok(()), // already done
                Err(StoreError::TransactionCancelled { .. } | StoreError::Conflict) => continue,
                Err(e) => return Err(HandleError::retry(e.to_string())),
            }
        }
        Err(HandleError::retry("counter contended"))
    }
}

pub async fn a_consumer_killed_mid_batch_loses_nothing_and_doubles_nothing(sys: &mut TestSystem) {
    let spec = QueueSpec::standard("posts").visibility(Duration::from_secs(2)).max_receives(10);
    let queue = sys.queue(spec.clone()).await;
    let messages: Vec<OutgoingMessage> = (0..20).map(|i| OutgoingMessage::new(format!("post-{i:02}"))).collect();
    queue.send_batch(messages).await.unwrap();

    // The first consumer handles five messages of its batch, then dies holding the rest.
    let handler = Arc::new(RecordOnce { store: sys.store.clone(), crash_after: Some(5), handled: Default::default() });
    let (q, h) = (queue.clone(), handler.clone());
    let consumer = tokio::spawn(async move { process_batch(q.as_ref(), h.as_ref(), 10, Duration::from_secs(2)).await });
    while handler.handled.load(std::sync::atomic::Ordering::SeqCst) <= 5 && !consumer.is_finished() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    consumer.abort();
    let _ = consumer.await;
    drop(queue);
    drop(handler);

    // The process restarts: storage is reopened from disk, a new consumer drains the queue.
    sys.restart().await;
    let queue = sys.queue(spec.clone()).await;
    let handler = RecordOnce { store: sys.store.clone(), crash_after: None, handled: Default::default() };
    let mut idle = 0;
    while idle < 4 {
        let report = process_batch(queue.as_ref(), &handler, 10, Duration::from_secs(1)).await.unwrap();
        assert_eq!(report.failed, 0);
        idle = if report.received == 0 { idle + 1 } else { 0 };
    }
    let count = sys.store.get(&Key::new("effects", "count")).await.unwrap().expect("effects counted");
    assert_eq!(count.attr("n"), Some(&json!(20)), "every message took effect exactly once");
    let done = siftgram_core::ports::table_store::query_all(sys.store.as_ref(), siftgram_core::ports::Query::partition("effects").prefix("done#")).await.unwrap();
    assert_eq!(done.len(), 20);
    assert_eq!(queue.approximate_len().await.unwrap(), 0);
    assert!(sys.dead_letters(&spec).await.receive(10, Duration::ZERO).await.unwrap().is_empty());
}

/// What a handler saw: each body with the trace current while it ran.
#[derive(Default)]
struct TraceRecorder(std::sync::Mutex<Vec<(String, Option<String>)>>);

#[async_trait::async_trait]
impl MessageHandler for TraceRecorder {
    async fn handle(&self, message: &ReceivedMessage) -> Result<(), HandleError> {
        let current = siftgram_core::trace::current().map(|t| t.to_string());
        self.0.lock().unwrap().push((message.body.clone(), current));
        Ok(())
    }
}

pub async fn a_message_carries_its_senders_trace_to_its_handler_and_to_the_dead_letters(sys: &mut TestSystem) {
    use siftgram_core::trace::{TraceId, traced};
    let spec = QueueSpec::standard("jobs").visibility(Duration::from_secs(30)).max_receives(1);
    let queue = sys.queue(spec.clone()).await;
    let dead = sys.dead_letters(&spec).await;
    traced(Some(TraceId::for_update(700_001)), async { queue.send(OutgoingMessage::new("under a trace")).await }).await.unwrap();
    queue.send(OutgoingMessage::new("without one")).await.unwrap();
    let recorder = TraceRecorder::default();
    let mut handled = 0;
    for _ in 0..5 {
        handled += process_batch(queue.as_ref(), &recorder, 10, WAIT).await.unwrap().acked;
        if handled == 2 {
            break;
        }
    }
    let mut seen = recorder.0.lock().unwrap().clone();
    seen.sort();
    assert_eq!(seen, [("under a trace".to_owned(), Some("tg700001".to_owned())), ("without one".to_owned(), None)], "handled under the sender's trace");
    assert_eq!(siftgram_core::trace::current(), None, "and nothing left behind");

    // A message that keeps failing reaches the dead-letter queue with its trace, so its logs
    // can still be found.
    traced(Some(TraceId::for_update(700_002)), async { queue.send(OutgoingMessage::new("poison")).await }).await.unwrap();
    let got = receive_n(queue.as_ref(), 1, 3).await;
    assert_eq!(got[0].trace.as_ref().map(|t| t.as_str()), Some("tg700002"));
    queue.release(&got[0].receipt, Duration::ZERO).await.unwrap();
    assert!(queue.receive(10, WAIT).await.unwrap().is_empty(), "dead-lettered after one receive");
    let dead_letters = receive_n(dead.as_ref(), 1, 5).await;
    assert_eq!(dead_letters.iter().map(|m| (m.body.as_str(), m.trace.as_ref().map(|t| t.to_string()))).collect::<Vec<_>>(), [("poison", Some("tg700002".to_owned()))]);
}

#[macro_export]
macro_rules! queue_conformance {
    ($make:path) => {
        $crate::suite!($make; $crate::conformance::queue;
            sent_messages_are_received_and_acked,
            unacked_messages_come_back_after_the_visibility_timeout,
            released_messages_are_visible_at_once,
            messages_dead_letter_after_max_receives,
            fifo_queues_deliver_each_group_in_order,
            bad_messages_are_refused_and_nothing_is_sent,
            a_consumer_killed_mid_batch_loses_nothing_and_doubles_nothing,
            a_message_carries_its_senders_trace_to_its_handler_and_to_the_dead_letters,
        );
    };
}
