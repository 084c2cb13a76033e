//! What Siftgram counts and times, by name: the one list every binary records under (the node
//! exports it as Prometheus text, the Lambdas as CloudWatch EMF), and the dashboards and alerts
//! refer to. Recording goes through the `metrics` facade: nothing happens until a binary
//! installs a recorder, and the facade does no I/O.

use std::time::Duration;

/// Telegram updates taken in, by command (`start`, `ask`, … `button`, `text`, `other`) and
/// outcome (`handled`, `duplicate`, `rate_limited`, `refused`, `gave_up`, `ignored`, `failed`).
pub const UPDATES: &str = "siftgram_updates_total";
/// Time to handle an update, by command.
pub const UPDATE_SECONDS: &str = "siftgram_update_duration_seconds";
/// Questions answered, by kind (`model`, `extractive`, `nothing`) and whether from the cache.
pub const QUESTIONS: &str = "siftgram_questions_total";
/// Time to answer a question (retrieval, context, the model), by kind.
pub const ANSWER_SECONDS: &str = "siftgram_answer_duration_seconds";
/// Posts through the indexer, by outcome (`indexed`, `edited`, `unchanged`, `removed`).
pub const POSTS: &str = "siftgram_posts_total";
/// Embeddings asked for, by source (`computed` by the model, `cached`).
pub const EMBEDDINGS: &str = "siftgram_embeddings_total";
/// Outgoing webhook deliveries, by result (`delivered`, `failed`).
pub const WEBHOOK_DELIVERIES: &str = "siftgram_webhook_deliveries_total";
/// Chat model calls, by provider (its place in the chain, `1`, `2`, …) and result (`ok`,
/// `failed`, `skipped` while its circuit breaker is open).
pub const PROVIDER_CALLS: &str = "siftgram_provider_calls_total";
/// 1 while a provider's circuit breaker is open (it is skipped), else 0, by provider.
pub const PROVIDER_BREAKER_OPEN: &str = "siftgram_provider_breaker_open";
/// Channel messages the session node published for indexing, by kind (`post`, `delete`).
pub const SYNC_PUBLISHED: &str = "siftgram_sync_published_total";
/// Messages waiting or in flight on a queue (sampled when scraped), by queue.
pub const QUEUE_MESSAGES: &str = "siftgram_queue_messages";
/// Messages in a queue's dead-letter queue, by queue.
pub const QUEUE_DEAD_LETTERS: &str = "siftgram_queue_dead_letters";
/// Histogram, by `kind` (`query`, `passage`): one call of the embedding model.
pub const EMBED_SECONDS: &str = "siftgram_embed_duration_seconds";
/// Histogram: one retrieval (query embedding, hybrid search, fusion).
pub const SEARCH_SECONDS: &str = "siftgram_search_duration_seconds";
/// Gauge, by `state` (`running`, `flood_waiting`): the users' session drivers on this node.
pub const SESSION_DRIVERS: &str = "siftgram_session_drivers";
/// Counter: sessions Telegram ended (revoked elsewhere), whose users were signed out.
pub const SIGNED_OUT: &str = "siftgram_sessions_signed_out_total";
/// Counter: channel histories loaded to their beginning.
pub const BACKFILLS_COMPLETED: &str = "siftgram_backfills_completed_total";

/// Every metric name above (for exporters' descriptions and the dashboard checks).
pub const ALL: &[&str] = &[
    UPDATES,
    UPDATE_SECONDS,
    QUESTIONS,
    ANSWER_SECONDS,
    POSTS,
    EMBEDDINGS,
    WEBHOOK_DELIVERIES,
    PROVIDER_CALLS,
    PROVIDER_BREAKER_OPEN,
    SYNC_PUBLISHED,
    QUEUE_MESSAGES,
    QUEUE_DEAD_LETTERS,
    EMBED_SECONDS,
    SEARCH_SECONDS,
    SESSION_DRIVERS,
    SIGNED_OUT,
    BACKFILLS_COMPLETED,
];

/// Registers the descriptions (exporters show them as HELP lines).
pub fn describe() {
    metrics::describe_counter!(UPDATES, "Telegram updates taken in, by command and outcome");
    metrics::describe_histogram!(UPDATE_SECONDS, metrics::Unit::Seconds, "Time to handle a Telegram update, by command");
    metrics::describe_counter!(QUESTIONS, "Questions answered, by kind and cache");
    metrics::describe_histogram!(ANSWER_SECONDS, metrics::Unit::Seconds, "Time to answer a question, by kind");
    metrics::describe_counter!(POSTS, "Posts through the indexer, by outcome");
    metrics::describe_counter!(EMBEDDINGS, "Embeddings asked for, by source (computed or cached)");
    metrics::describe_counter!(WEBHOOK_DELIVERIES, "Outgoing webhook deliveries, by result");
    metrics::describe_counter!(PROVIDER_CALLS, "Chat model calls, by provider and result");
    metrics::describe_gauge!(PROVIDER_BREAKER_OPEN, "1 while a chat provider's circuit breaker is open");
    metrics::describe_counter!(SYNC_PUBLISHED, "Channel messages published for indexing, by kind");
    metrics::describe_gauge!(QUEUE_MESSAGES, "Messages waiting or in flight, by queue");
    metrics::describe_gauge!(QUEUE_DEAD_LETTERS, "Messages in the dead-letter queue, by queue");
    metrics::describe_histogram!(EMBED_SECONDS, metrics::Unit::Seconds, "Embedding model calls, by kind (query, passage)");
    metrics::describe_histogram!(SEARCH_SECONDS, metrics::Unit::Seconds, "Retrievals: query embedding, hybrid search and fusion");
    metrics::describe_gauge!(SESSION_DRIVERS, "Users' session drivers on this node, by state (running, flood_waiting)");
    metrics::describe_counter!(SIGNED_OUT, "Sessions Telegram ended; their users were signed out");
    metrics::describe_counter!(BACKFILLS_COMPLETED, "Channel histories loaded to their beginning");
}

pub fn update_handled(command: &'static str, outcome: &'static str, elapsed: Duration) {
    metrics::counter!(UPDATES, "command" => command, "outcome" => outcome).increment(1);
    metrics::histogram!(UPDATE_SECONDS, "command" => command).record(elapsed.as_secs_f64());
}

pub fn question_answered(kind: &'static str, cached: bool, elapsed: Duration) {
    metrics::counter!(QUESTIONS, "kind" => kind, "cached" => if cached { "yes" } else { "no" }).increment(1);
    metrics::histogram!(ANSWER_SECONDS, "kind" => kind).record(elapsed.as_secs_f64());
}

pub fn post(outcome: &'static str) {
    metrics::counter!(POSTS, "outcome" => outcome).increment(1);
}

pub fn embeddings(computed: usize, cached: usize) {
    if computed > 0 {
        metrics::counter!(EMBEDDINGS, "source" => "computed").increment(computed as u64);
    }
    if cached > 0 {
        metrics::counter!(EMBEDDINGS, "source" => "cached").increment(cached as u64);
    }
}

pub fn webhook_delivery(delivered: bool) {
    metrics::counter!(WEBHOOK_DELIVERIES, "result" => if delivered { "delivered" } else { "failed" }).increment(1);
}

pub fn queue_depth(queue: &str, messages: usize, dead_letters: usize) {
    metrics::gauge!(QUEUE_MESSAGES, "queue" => queue.to_owned()).set(messages as f64);
    metrics::gauge!(QUEUE_DEAD_LETTERS, "queue" => queue.to_owned()).set(dead_letters as f64);
}

/// `provider` is its place in the chain, counted from 1.
pub fn provider_call(provider: usize, result: &'static str, breaker_open: bool) {
    let provider = provider.to_string();
    metrics::counter!(PROVIDER_CALLS, "provider" => provider.clone(), "result" => result).increment(1);
    metrics::gauge!(PROVIDER_BREAKER_OPEN, "provider" => provider).set(if breaker_open { 1.0 } else { 0.0 });
}

pub fn sync_published(posts: usize, deletes: usize) {
    if posts > 0 {
        metrics::counter!(SYNC_PUBLISHED, "kind" => "post").increment(posts as u64);
    }
    if deletes > 0 {
        metrics::counter!(SYNC_PUBLISHED, "kind" => "delete").increment(deletes as u64);
    }
}

pub fn embedded(kind: &'static str, elapsed: Duration) {
    metrics::histogram!(EMBED_SECONDS, "kind" => kind).record(elapsed.as_secs_f64());
}

pub fn searched(elapsed: Duration) {
    metrics::histogram!(SEARCH_SECONDS).record(elapsed.as_secs_f64());
}

pub fn signed_out() {
    metrics::counter!(SIGNED_OUT).increment(1);
}

pub fn backfill_completed() {
    metrics::counter!(BACKFILLS_COMPLETED).increment(1);
}

/// Counts one session driver in `state` for as long as it is held.
#[must_use = "the driver counts only while this is held"]
pub struct DriverState(&'static str);

impl DriverState {
    pub fn enter(state: &'static str) -> DriverState {
        metrics::gauge!(SESSION_DRIVERS, "state" => state).increment(1.0);
        DriverState(state)
    }
}

impl Drop for DriverState {
    fn drop(&mut self) {
        metrics::gauge!(SESSION_DRIVERS, "state" => self.0).decrement(1.0);
    }
}
