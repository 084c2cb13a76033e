//! Test support for Siftgram's end-to-end tests: `TestSystem` gives each test its own namespace
//! (temp dir, or table and queue names on LocalStack) on either backend, so tests run in
//! parallel; the conformance suites run the same cases against both backends.

pub mod answers;
pub mod api;
pub mod conformance;
pub mod lambda;
pub mod load;
pub mod bot;
pub mod browser;
pub mod logs;
pub mod search;
pub mod sessions;
pub mod stories;
mod recording;
mod system;

pub use recording::RecordingStore;
pub use system::{TestSystem, localstack_endpoint};

/// Expands to one `#[tokio::test]` per case, each on a fresh system from `$make`.
#[macro_export]
macro_rules! suite {
    ($make:path; $module:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                #[allow(unused_mut)]
                let mut system = $make().await;
                { use $module as cases; cases::$case(&mut system).await; }
                system.cleanup().await;
            }
        )*
    };
}

/// Runs `handler` over everything waiting on `queue` (as a consumer would) until it is empty;
/// every message must succeed. Returns how many were handled.
pub async fn handle_all(queue: &dyn siftgram_core::ports::Queue, handler: &dyn siftgram_core::consume::MessageHandler) -> usize {
    drain(queue, handler, false).await
}

/// The same for the posts queue as the node and the indexer Lambda consume it: each batch's
/// messages side by side.
pub async fn index_all(queue: &dyn siftgram_core::ports::Queue, indexer: &dyn siftgram_core::consume::MessageHandler) -> usize {
    drain(queue, indexer, true).await
}

async fn drain(queue: &dyn siftgram_core::ports::Queue, handler: &dyn siftgram_core::consume::MessageHandler, side_by_side: bool) -> usize {
    use siftgram_core::consume::{process_batch, process_batch_side_by_side};
    let mut handled = 0;
    loop {
        let batch = if side_by_side { process_batch_side_by_side(queue, handler, 10, std::time::Duration::ZERO).await } else { process_batch(queue, handler, 10, std::time::Duration::ZERO).await };
        let report = batch.expect("queue works");
        assert_eq!(report.failed, 0, "no message failed");
        if report.received == 0 {
            return handled;
        }
        handled += report.acked;
    }
}

/// The standalone node's configuration as the node tests start it: data in `data`, a random
/// port, the bot polling the fake Bot API `telegram`, plus `extra` variables.
pub fn standalone_config(data: &std::path::Path, telegram: &siftgram_fake_telegram::FakeTelegram, extra: &[(&str, String)]) -> siftgram_session_node::Config {
    let mut vars: std::collections::HashMap<&str, String> = [
        ("SIFTGRAM_DATA_DIR", data.display().to_string()),
        ("SIFTGRAM_HTTP_ADDR", "127.0.0.1:0".into()),
        ("TELEGRAM_BOT_TOKEN", siftgram_fake_telegram::FakeTelegram::TOKEN.into()),
        ("TELEGRAM_API_URL", telegram.api_url()),
    ]
    .into_iter()
    .collect();
    vars.extend(extra.iter().cloned());
    siftgram_session_node::Config::from_lookup(|k| vars.get(k).cloned()).expect("a valid node configuration")
}

/// `text` with one character removed (`how % 3 == 0`), doubled (1) or replaced by `with` (2), at
/// `at` (taken modulo the length): what property tests make of valid input to damage it.
pub fn damaged(text: &str, at: usize, how: u8, with: char) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return text.to_owned();
    }
    let at = at % chars.len();
    match how % 3 {
        0 => {
            chars.remove(at);
        }
        1 => chars.insert(at, chars[at]),
        _ => chars[at] = with,
    }
    chars.into_iter().collect()
}
