//! Trace ids across hops: an id is born with each Telegram update (or schedule tick, or API
//! request), and every queue message sent while handling it carries it along (an SQS message
//! attribute, a field of the embedded queue's record). Whoever consumes the message handles it
//! under the same id, so one update's log lines — bot, session node, indexer, worker — are found
//! by one `trace_id` (a field of the `trace` span, which JSON logs print with each line).
//!
//! The id lives in the handling task's context while `traced` runs its future: each poll sets
//! it for the thread and puts back what was there, as a task-local does. `OutgoingMessage::new`
//! reads it, so no call site passes it by hand. A task spawned from there starts without one.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tracing::Instrument;

/// 1–64 characters of `A-Za-z0-9_-` (it comes back from queues, so it is checked).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TraceId(String);

const MAX_LEN: usize = 64;

impl TraceId {
    /// The id of Telegram update `update_id` (a redelivered update keeps its id).
    pub fn for_update(update_id: u32) -> TraceId {
        TraceId(format!("tg{update_id}"))
    }

    /// A new id starting with `prefix` (`tick`, `api`), random enough to tell requests apart.
    pub fn fresh(prefix: &str) -> TraceId {
        use std::hash::{BuildHasher, Hasher};
        // std's per-process random hasher keys: not for secrets, plenty for ids.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
        let id = format!("{prefix}-{:016x}", hasher.finish());
        TraceId::parse(&id).unwrap_or_else(|| TraceId(format!("{:016x}", hasher.finish())))
    }

    /// An id read back from a queue; None for anything that is not one.
    pub fn parse(s: &str) -> Option<TraceId> {
        let valid = (1..=MAX_LEN).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| TraceId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TraceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

thread_local! {
    static CURRENT: RefCell<Option<TraceId>> = const { RefCell::new(None) };
}

/// The trace of the work being done now, if any.
pub fn current() -> Option<TraceId> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Runs `work` under `trace` (None: none, whatever was current outside), inside a `trace` span
/// whose `trace_id` field the logs print.
pub fn traced<F: Future>(trace: Option<TraceId>, work: F) -> InTrace<tracing::instrument::Instrumented<F>> {
    let span = match &trace {
        Some(id) => tracing::info_span!("trace", trace_id = %id),
        None => tracing::Span::none(),
    };
    InTrace { trace, work: Box::pin(work.instrument(span)) }
}

pub struct InTrace<F> {
    trace: Option<TraceId>,
    work: Pin<Box<F>>,
}

/// Puts the previous value back even if the poll panics.
struct Restore(Option<TraceId>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

impl<F: Future> Future for InTrace<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let _restore = Restore(CURRENT.with(|c| c.replace(this.trace.clone())));
        this.work.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_id_is_current_only_inside_its_work_and_across_awaits() {
        assert_eq!(current(), None);
        let id = TraceId::for_update(42);
        let seen = traced(Some(id.clone()), async {
            let before = current();
            tokio::task::yield_now().await;
            let inner = traced(Some(TraceId::for_update(43)), async { current() }).await;
            (before, inner, current())
        })
        .await;
        assert_eq!(seen, (Some(id), Some(TraceId::for_update(43)), Some(TraceId::for_update(42))));
        assert_eq!(current(), None, "nothing left behind");
        assert_eq!(crate::ports::OutgoingMessage::new("x").trace, None);
        let sent = traced(Some(TraceId::for_update(7)), async { crate::ports::OutgoingMessage::new("x") }).await;
        assert_eq!(sent.trace.as_ref().map(TraceId::as_str), Some("tg7"), "messages pick it up");
    }

    #[test]
    fn ids_from_outside_are_checked() {
        assert!(TraceId::parse("tg100042").is_some());
        assert!(TraceId::parse("api-00ff").is_some());
        for bad in ["", "has space", "ünïcode", "a\nb", &"x".repeat(65)] {
            assert_eq!(TraceId::parse(bad), None, "{bad:?}");
        }
        let (a, b) = (TraceId::fresh("api"), TraceId::fresh("api"));
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("api-"));
    }
}
