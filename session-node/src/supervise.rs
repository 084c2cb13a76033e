//! Supervised background tasks: a task that fails or panics is logged and restarted with
//! backoff; all stop when shutdown is signalled.

use siftgram_core::consume::BatchReport;
use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Runs `make()` again and again until `shutdown` turns true. Each run that ends early (error or
/// panic) is logged and followed by a backoff of 1 s doubling to 60 s; a clean run resets it.
pub fn supervise<F, Fut, E>(name: &'static str, mut shutdown: watch::Receiver<bool>, mut make: F) -> JoinHandle<()>
where
    F: FnMut(watch::Receiver<bool>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    tokio::spawn(async move {
        let mut backoff = Duration::from_secs(1);
        while !*shutdown.borrow() {
            let run = tokio::spawn(make(shutdown.clone()));
            match run.await {
                Ok(Ok(())) => backoff = Duration::from_secs(1),
                Ok(Err(e)) => tracing::error!(task = name, error = %e, "task failed; restarting"),
                Err(e) => tracing::error!(task = name, error = %e, "task panicked; restarting"),
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(60));
        }
        tracing::debug!(task = name, "stopped");
    })
}


/// `step` now and then every `period` until shutdown, supervised (a failed step is logged and
/// the loop restarted with backoff).
pub fn every<F, Fut, E>(name: &'static str, period: Duration, shutdown: watch::Receiver<bool>, step: F) -> JoinHandle<()>
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    supervise(name, shutdown, move |mut stop| {
        let step = step.clone();
        async move {
            loop {
                // A tick's work (e.g. the digests it enqueues) is one trace.
                siftgram_core::trace::traced(Some(siftgram_core::trace::TraceId::fresh("tick")), step()).await?;
                tokio::select! {
                    _ = tokio::time::sleep(period) => {}
                    _ = stop.wait_for(|s| *s) => return Ok::<(), E>(()),
                }
            }
        }
    })
}

/// A supervised consumer of the queue `queue` (a name from the schema): batches of 10 to
/// `handler` until shutdown.
pub fn consume_queue(
    name: &'static str,
    backend: crate::Backend,
    queue: &'static str,
    handler: std::sync::Arc<dyn siftgram_core::consume::MessageHandler>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    consume_queue_in(name, backend, queue, handler, Handling::InOrder, shutdown)
}

/// Messages handled side by side at once: the embedded queue gives this many, SQS at most 10.
/// More at once means fuller embedding batches and fewer commits per post (one channel's
/// posts share a transaction, everyone's writes a group commit).
pub const SIDE_BY_SIDE_BATCH: usize = 32;

/// How a batch of a standard (non-FIFO) queue is handled; FIFO queues always go group by group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handling {
    InOrder,
    /// All of a batch's messages at once (`siftgram_core::consume::process_batch_side_by_side`).
    SideBySide,
}

pub fn consume_queue_in(
    name: &'static str,
    backend: crate::Backend,
    queue: &'static str,
    handler: std::sync::Arc<dyn siftgram_core::consume::MessageHandler>,
    handling: Handling,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    supervise(name, shutdown, move |mut stop| {
        let (backend, handler) = (backend.clone(), handler.clone());
        async move {
            let spec = siftgram_core::schema::queue_spec(queue).map_err(|e| e.to_string())?;
            let fifo = spec.fifo;
            let queue = backend.queue(spec).await.map_err(|e| e.to_string())?;
            loop {
                let batch = async {
                    if fifo {
                        process_batch_by_group(&queue, &handler, 10, Duration::from_secs(2)).await.map(|_| ())
                    } else if handling == Handling::SideBySide {
                        siftgram_core::consume::process_batch_side_by_side(&*queue, &*handler, SIDE_BY_SIDE_BATCH, Duration::from_secs(2)).await.map(|_| ())
                    } else {
                        siftgram_core::consume::process_batch(&*queue, &*handler, 10, Duration::from_secs(2)).await.map(|_| ())
                    }
                };
                tokio::select! {
                    r = batch => { r.map_err(|e| e.to_string())?; }
                    _ = stop.wait_for(|s| *s) => return Ok::<(), String>(()),
                }
            }
        }
    })
}

/// One batch of a FIFO queue: each message group (one user's commands) in order, the groups
/// side by side, so one user's slow command does not hold up everyone else's while the rest of
/// the batch sits out its visibility timeout.
pub async fn process_batch_by_group(
    queue: &std::sync::Arc<dyn siftgram_core::ports::Queue>,
    handler: &std::sync::Arc<dyn siftgram_core::consume::MessageHandler>,
    max: usize,
    wait: Duration,
) -> Result<BatchReport, siftgram_core::ports::QueueError> {
    let messages = queue.receive(max, wait).await?;
    let mut report = BatchReport { received: messages.len(), ..Default::default() };
    let mut groups: Vec<(Option<String>, Vec<siftgram_core::ports::ReceivedMessage>)> = Vec::new();
    for message in messages {
        match groups.iter_mut().find(|(g, _)| *g == message.group) {
            Some((_, list)) => list.push(message),
            None => groups.push((message.group.clone(), vec![message])),
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (_, list) in groups {
        let (queue, handler) = (queue.clone(), handler.clone());
        tasks.spawn(async move {
            let (mut acked, mut failed) = (0, 0);
            for message in &list {
                let handled = siftgram_core::trace::traced(message.trace.clone(), handler.handle(message)).await;
                match siftgram_core::consume::settle(&*queue, message, handled).await? {
                    true => acked += 1,
                    false => failed += 1,
                }
            }
            Ok::<_, siftgram_core::ports::QueueError>((acked, failed))
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (acked, failed) = done.map_err(|e| siftgram_core::ports::QueueError::Backend(format!("a command task died: {e}")))??;
        report.acked += acked;
        report.failed += failed;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_failing_or_panicking_task_is_restarted_until_shutdown() {
        let (tx, rx) = watch::channel(false);
        let runs = Arc::new(AtomicU32::new(0));
        let counter = runs.clone();
        let handle = supervise("flaky", rx, move |_| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    panic!("first run panics");
                }
                Err::<(), _>("later runs fail")
            }
        });
        // Runs at 0 s (panics), 1 s and 3 s (fail): backoff doubles between restarts.
        tokio::time::sleep(Duration::from_millis(3500)).await;
        assert!(runs.load(Ordering::SeqCst) >= 3, "restarted after panic and errors");
        tx.send(true).unwrap();
        handle.await.unwrap();
    }
}
